"""Ideas tried for accuracy and dropped, re-runnable: `python -m training.experiments {augment,tta,idm}`.

Validation split only (the MNIST test set is not read here). Each prints one line per variant;
README's "Limits" section quotes them.

    augment  the SVC on the 50k training digits plus 50k distorted copies (elastic, rotated, thicker)
    tta      the shipped jury averaged over rotated, scaled, shifted, thickened copies of each digit
    idm      the shipped k-NN's re-ranking with other blurs, contexts, warps, channels, candidates
"""

from __future__ import annotations

import argparse
import time

import cv2
import numpy as np
from sklearn.svm import SVC

from digit.jurors import PIXELS, SVC_GAMMA
from digit.model_store import load_model
from digit.neighbours import _gradients, _idm
from digit.preprocess import to_mnist
from training.data import load_mnist, normalized_pixels
from training.train import choose_weights


def _renormalise(image: np.ndarray) -> np.ndarray:
    """A distorted 28x28 digit back through the MNIST recipe (size 20 px, centre of mass)."""
    ys, xs = np.nonzero(image > 20)
    if len(xs) == 0:
        return image
    return to_mnist(image[ys.min():ys.max() + 1, xs.min():xs.max() + 1].astype(np.float32))


def _elastic(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    field = [cv2.GaussianBlur(rng.uniform(-1, 1, (28, 28)).astype(np.float32), (0, 0), 4.0) * 6.0 for _ in "xy"]
    matrix = cv2.getRotationMatrix2D((14, 14), rng.uniform(-6, 6), rng.uniform(0.92, 1.05))
    grid_x, grid_y = np.meshgrid(np.arange(28, dtype=np.float32), np.arange(28, dtype=np.float32))
    turned = cv2.warpAffine(image, matrix, (28, 28), flags=cv2.INTER_LINEAR)
    return cv2.remap(turned, grid_x + field[0], grid_y + field[1], cv2.INTER_LINEAR)


def _rotated(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    matrix = cv2.getRotationMatrix2D((14, 14), rng.uniform(-10, 10), 1.0)
    return _renormalise(cv2.warpAffine(image, matrix, (28, 28), flags=cv2.INTER_LINEAR))


def _thicker_or_thinner(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    kernel = np.ones((2, 2), np.uint8)
    return _renormalise(cv2.dilate(image, kernel) if rng.random() < 0.5 else cv2.erode(image, kernel))


def augment(mnist) -> None:
    train = normalized_pixels(mnist.train.images, "normalise train")
    validation = normalized_pixels(mnist.validation.images, "normalise validation")
    jury = load_model().classifier.jury
    shape = jury.features(train)[:, PIXELS:]
    scale = 1.0 / shape.std()  # the SVC juror reads its features at unit variance
    shape_validation = jury.features(validation)[:, PIXELS:] * scale

    def fit(features, labels, name):
        start = time.perf_counter()
        svc = SVC(C=10, gamma=SVC_GAMMA, cache_size=2000).fit(features * scale, labels)
        accuracy = np.mean(svc.predict(shape_validation) == mnist.validation.labels)
        print(f"{name}: SVC validation {accuracy:.2%}, {len(svc.support_)} support vectors, "
              f"{time.perf_counter() - start:.0f} s", flush=True)

    fit(shape, mnist.train.labels, "50k training digits")
    rng = np.random.default_rng(0)
    for name, distortion in (("elastic", _elastic), ("rotated 10 degrees", _rotated),
                             ("thicker or thinner", _thicker_or_thinner)):
        copies = np.stack([distortion(image.reshape(28, 28), rng) for image in train]).reshape(len(train), -1)
        fit(np.vstack([shape, jury.features(copies)[:, PIXELS:]]), np.tile(mnist.train.labels, 2),
            f"+ 50k {name} copies")


def _variants(image: np.ndarray) -> dict[str, np.ndarray]:
    out = {"as read": image}
    for angle in (-4, 4):
        out[f"rotated {angle}"] = cv2.warpAffine(image, cv2.getRotationMatrix2D((14, 14), angle, 1.0), (28, 28))
    for scale in (0.9, 1.1):
        out[f"scaled {scale}"] = cv2.warpAffine(image, cv2.getRotationMatrix2D((14, 14), 0, scale), (28, 28))
    for dx, dy in ((1, 0), (-1, 0), (0, 1), (0, -1)):
        out[f"shifted {dx},{dy}"] = cv2.warpAffine(image, np.float32([[1, 0, dx], [0, 1, dy]]), (28, 28))
    out["thicker"], out["thinner"] = cv2.dilate(image, np.ones((2, 2), np.uint8)), cv2.erode(image, np.ones((2, 2), np.uint8))
    return out


def test_time_augmentation(mnist) -> None:
    validation = normalized_pixels(mnist.validation.images, "normalise validation")
    classifier = load_model().classifier
    copies = [_variants(image.reshape(28, 28)) for image in validation]
    voted = {name: classifier.predict_proba(np.stack([c[name] for c in copies])) for name in copies[0]}
    groups = {"as read": ["as read"], "rotations": ["as read", "rotated -4", "rotated 4"],
              "scales": ["as read", "scaled 0.9", "scaled 1.1"],
              "shifts": ["as read"] + [name for name in voted if name.startswith("shifted")],
              "thickness": ["as read", "thicker", "thinner"], "all": list(voted)}
    for group, names in groups.items():
        accuracy = np.mean(np.argmax(sum(voted[name] for name in names), axis=1) == mnist.validation.labels)
        print(f"test-time augmentation, {group} ({len(names)} copies): jury validation {accuracy:.2%}", flush=True)


def _idm_variant(query, samples, blur: float, context: int, warp: int, pixel_channel: bool) -> np.ndarray:
    """IDM with a chosen blur, context size (1: 3x3, 2: 5x5), warp and optional pixel channel."""
    def channels(images):
        if blur == 0.75 and not pixel_channel:
            return _gradients(images)
        n, margin = len(images), 5
        stacked = np.zeros((n, 28 + 2 * margin, 28 + 2 * margin), np.float32)
        stacked[:, margin:-margin, margin:-margin] = images.reshape(n, 28, 28)
        tall = cv2.GaussianBlur(stacked.reshape(-1, 28 + 2 * margin), (0, 0), blur)
        maps = [cv2.Sobel(tall, cv2.CV_32F, 1, 0, ksize=3), cv2.Sobel(tall, cv2.CV_32F, 0, 1, ksize=3)]
        if pixel_channel:
            maps.append(tall * 4.0)
        inner = (slice(None), slice(margin, -margin), slice(margin, -margin))
        return np.stack([m.reshape(n, 28 + 2 * margin, -1)[inner] for m in maps], axis=1)

    query, samples = channels(query[None])[0], channels(samples)
    if context == 1:
        return _idm(query, samples, warp)
    reach, width = warp + context, 28 + 2 * context
    padded = np.pad(samples, ((0, 0), (0, 0), (reach, reach), (reach, reach)))
    centre = np.pad(query, ((0, 0), (context, context), (context, context)))
    best = None
    for dy in range(-warp, warp + 1):
        for dx in range(-warp, warp + 1):
            squared = np.square(centre - padded[:, :, warp + dy:warp + dy + width, warp + dx:warp + dx + width]).sum(1)
            sums = np.cumsum(np.cumsum(np.pad(squared, ((0, 0), (1, 0), (1, 0))), 1), 2)
            side = 2 * context + 1
            box = sums[:, side:, side:] - sums[:, :-side, side:] - sums[:, side:, :-side] + sums[:, :-side, :-side]
            best = box if best is None else np.minimum(best, box)
    return best.sum(axis=(1, 2))


def idm(mnist) -> None:
    validation = normalized_pixels(mnist.validation.images, "normalise validation")
    classifier = load_model().classifier
    features = classifier.jury.features(validation)
    by_juror = classifier.juror_probabilities(validation)
    knn = classifier.jury.jurors_["knn"]  # its re-ranking is what is varied here
    stored = knn.images_.astype(np.float32) / (knn.levels - 1)
    variants = {"shipped (blur 0.75, 3x3, warp 2, 20 candidates)": {},
                "blur 0.5": {"blur": 0.5}, "blur 1.0": {"blur": 1.0}, "5x5 contexts": {"context": 2},
                "warp 3, 5x5 contexts": {"warp": 3, "context": 2}, "pixel channel": {"pixel_channel": True},
                "warp 1": {"warp": 1}, "30 candidates": {"candidates": 30}}
    for name, change in variants.items():
        settings = {"blur": 0.75, "context": 1, "warp": 2, "pixel_channel": False, "candidates": 20, **change}
        knn.search_.n_neighbors = settings.pop("candidates")
        candidates = knn.candidates_of(features)
        distances = np.stack([_idm_variant(features[row, :PIXELS], stored[candidates[row]], **settings)
                              for row in range(len(features))])
        probabilities = knn.votes(distances, knn.search_.codes_[candidates])
        alone = np.mean(np.argmax(probabilities, axis=1) == mnist.validation.labels)
        weights, together = choose_weights({**by_juror, "knn": probabilities}, mnist.validation.labels)
        print(f"IDM {name}: k-NN validation {alone:.2%}, jury {together:.2%} (weights {weights})", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description="Re-run the dropped accuracy ideas on the validation split.")
    parser.add_argument("experiment", choices=["augment", "tta", "idm"])
    experiment = parser.parse_args().experiment
    {"augment": augment, "tta": test_time_augmentation, "idm": idm}[experiment](load_mnist())


if __name__ == "__main__":
    main()
