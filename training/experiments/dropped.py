"""Ideas tried for accuracy and dropped: augmented training digits, test-time augmentation,
other IDM settings. README's "Limits" quotes them."""

from __future__ import annotations

import time

import cv2
import numpy as np
from sklearn.pipeline import Pipeline
from sklearn.svm import SVC

from digit.features import Columns
from digit.jurors import DIRECTIONS, PIXELS, SVC_GAMMA_FACTOR, build_front
from digit.neighbours import _gradients, _idm
from digit.reading.preprocess import to_mnist
from digit.topology import Topology
from experiments.common import Study, accuracy, choose, say


def recipe_svc(c: float = 10.0) -> Pipeline:
    """The recipe's SVC juror without its calibration: the plain SVC's own answer is compared."""
    shape_columns = DIRECTIONS + Topology().n_features
    return Pipeline([("shape", Columns(PIXELS, unit_variance=True, reference=DIRECTIONS)),
                     ("svc", SVC(C=c, gamma=SVC_GAMMA_FACTOR / shape_columns, cache_size=2000))])


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


def augment(study: Study) -> None:
    """The recipe's SVC on the MNIST training digits plus as many distorted copies."""
    train, labels = study.data["train"], study.data["train_labels"]
    front = build_front().fit(train)  # stateless steps: fitting reads nothing
    features, held_out = study.features["train"], study.features["validation"]
    size = len(labels)

    def fit(rows: np.ndarray, row_labels: np.ndarray, name: str) -> None:
        start = time.perf_counter()
        svc = recipe_svc().fit(rows, row_labels)
        right = np.mean(svc.predict(held_out) == study.data["validation_labels"])
        say(f"{name}: SVC validation {right:.2%}, {len(svc.named_steps['svc'].support_)} support vectors, "
            f"{time.perf_counter() - start:.0f} s")

    fit(features, labels, f"{size} training digits")
    rng = np.random.default_rng(0)
    for name, distortion in (("elastic", _elastic), ("rotated 10 degrees", _rotated),
                             ("thicker or thinner", _thicker_or_thinner)):
        copies = np.stack([distortion(image.reshape(28, 28), rng) for image in train]).reshape(size, -1)
        fit(np.vstack([features, front.transform(copies).astype(np.float32)]), np.tile(labels, 2),
            f"+ {size} {name} copies")


def _variants(image: np.ndarray) -> dict[str, np.ndarray]:
    out = {"as read": image}
    for angle in (-4, 4):
        out[f"rotated {angle}"] = cv2.warpAffine(image, cv2.getRotationMatrix2D((14, 14), angle, 1.0), (28, 28))
    for scale in (0.9, 1.1):
        out[f"scaled {scale}"] = cv2.warpAffine(image, cv2.getRotationMatrix2D((14, 14), 0, scale), (28, 28))
    for dx, dy in ((1, 0), (-1, 0), (0, 1), (0, -1)):
        out[f"shifted {dx},{dy}"] = cv2.warpAffine(image, np.float32([[1, 0, dx], [0, 1, dy]]), (28, 28))
    kernel = np.ones((2, 2), np.uint8)
    out["thicker"], out["thinner"] = cv2.dilate(image, kernel), cv2.erode(image, kernel)
    return out


def test_time_augmentation(study: Study) -> None:
    """The studied jury averaged over rotated, scaled, shifted, thickened copies of each digit."""
    copies = [_variants(image.reshape(28, 28)) for image in study.data["validation"]]
    labels = study.data["validation_labels"]
    voted = {name: study.jury.predict_proba(np.stack([c[name] for c in copies])) for name in copies[0]}
    groups = {"as read": ["as read"], "rotations": ["as read", "rotated -4", "rotated 4"],
              "scales": ["as read", "scaled 0.9", "scaled 1.1"],
              "shifts": ["as read"] + [name for name in voted if name.startswith("shifted")],
              "thickness": ["as read", "thicker", "thinner"], "all": list(voted)}
    for group, names in groups.items():
        say(f"test-time augmentation, {group} ({len(names)} copies): jury validation "
            f"{accuracy(sum(voted[name] for name in names), labels):.2%}")


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


def idm(study: Study) -> None:
    """The studied k-NN's re-ranking with other blurs, contexts, warps, channels, candidates;
    the jury's weights chosen again on MNIST validation for each."""
    jury, labels = study.jury, study.data["validation_labels"]
    features = jury.features(study.data["validation"])
    knn = jury.jurors_["knn"]  # its re-ranking is what is varied here
    stored = knn.images_.astype(np.float32) / (knn.levels - 1)
    recipe = knn.search_.n_neighbors
    variants = {f"recipe (blur 0.75, 3x3, warp 2, {recipe} candidates)": {},
                "blur 0.5": {"blur": 0.5}, "blur 1.0": {"blur": 1.0}, "5x5 contexts": {"context": 2},
                "warp 3, 5x5 contexts": {"warp": 3, "context": 2}, "pixel channel": {"pixel_channel": True},
                "warp 1": {"warp": 1}, "20 candidates (shipped before)": {"candidates": 20}}
    for name, change in variants.items():
        settings = {"blur": 0.75, "context": 1, "warp": 2, "pixel_channel": False, "candidates": recipe, **change}
        knn.search_.n_neighbors = settings.pop("candidates")
        candidates = knn.candidates_of(features)
        distances = np.stack([_idm_variant(features[row, :PIXELS], stored[candidates[row]], **settings)
                              for row in range(len(features))])
        probabilities = knn.votes(distances, knn.search_.codes_[candidates])
        weights, together = choose({**study.jury_probabilities, "knn": probabilities}, labels)
        say(f"IDM {name}: k-NN validation {accuracy(probabilities, labels):.2%}, "
            f"jury {together:.2%} (weights {weights})")
    knn.search_.n_neighbors = recipe
