"""The SVC alone: which features, how many training digits, virtual support vectors (issue 14)."""

from __future__ import annotations

import time

import numpy as np
from sklearn.base import clone
from sklearn.calibration import CalibratedClassifierCV, _CalibratedClassifier, _SigmoidCalibration
from sklearn.decomposition import PCA
from sklearn.model_selection import cross_val_predict
from sklearn.svm import SVC

from digit.features import GradientDirections
from digit.jurors import DIRECTIONS, PIXELS, SVC_GAMMA_FACTOR, build_front
from experiments.common import Study, accuracy, say
from experiments.knn import power_law


def fit_svc(features: np.ndarray, labels: np.ndarray, gamma_factor: float = SVC_GAMMA_FACTOR, c: float = 10.0,
            gamma: float | None = None) -> SVC:
    """An RBF SVC with gamma at gamma_factor times scikit-learn's "scale" for these features (or as given)."""
    gamma = gamma or gamma_factor / (features.shape[1] * features.var())
    return SVC(C=c, gamma=gamma, cache_size=1000).fit(features, labels)


def svc_features(study: Study, size: int | None = None) -> None:
    """The SVC on the first `size` training digits: the old shape features (PCA-80 of pixels and
    gradient histograms) against gradient direction features (Liu et al. 2003) and their
    variants, and the recipe's [directions | topology]. size: default 15,000 of 50,000."""
    size = min(size or study.scaled(15_000), study.size)
    labels, validation = study.data["train_labels"][:size], study.data["validation_labels"]
    pixels, pixels_validation = study.pixels("train")[:size], study.pixels("validation")

    def report(name, train, held_out, **settings):
        start = time.perf_counter()
        svc = fit_svc(train, labels, **settings)
        right = np.mean(svc.predict(held_out) == validation)
        say(f"SVC on {size} digits, {name}{settings or ''}: validation {right:.2%}, {train.shape[1]} numbers, "
            f"{len(svc.support_)} support vectors, {time.perf_counter() - start:.0f} s")

    histograms = study.histograms
    report("PCA-80 of pixels and gradient histograms (shipped before)", histograms["train"][:size, PIXELS:],
           histograms["validation"][:, PIXELS:])
    for settings in ({"directions": 8}, {"directions": 8, "grid": 5}, {"directions": 8, "power": 1.0},
                     {"directions": 12}, {"directions": 16}, {"directions": 12, "grid": 8}):
        directions = GradientDirections(**settings)
        train, held_out = directions.transform(pixels), directions.transform(pixels_validation)
        report(f"gradient directions {settings}", train, held_out)
        if settings == {"directions": 12}:
            report(f"gradient directions {settings}", train, held_out, gamma_factor=1.0)
            report(f"gradient directions {settings}", train, held_out, c=30.0)
            for components in (60, 100, 150):
                pca = PCA(n_components=min(components, size), svd_solver="covariance_eigh").fit(train)
                report(f"PCA-{components} of gradient directions {settings}", pca.transform(train),
                       pca.transform(held_out))
    # The recipe's columns as its SVC juror reads them: the directions at unit variance, gamma 2 / columns.
    train, held_out = study.features["train"][:size, PIXELS:], study.features["validation"][:, PIXELS:]
    scale = 1.0 / train[:, :DIRECTIONS].std()
    report("the recipe's gradient directions + topology", train * scale, held_out * scale,
           gamma=round(SVC_GAMMA_FACTOR / train.shape[1], 6))


def svc_sizes(study: Study) -> None:
    """The gradient-direction SVC (uncalibrated) on the first fifth, two fifths and three fifths
    of the training digits, and a power law through its errors to all of them and 6/5 of them."""
    directions, labels = study.directions("train"), study.data["train_labels"]
    validation = study.data["validation_labels"]
    sizes, errors = [], []
    for size in [study.size * fifths // 5 for fifths in (1, 2, 3)]:
        start = time.perf_counter()
        svc = fit_svc(directions[:size], labels[:size])
        right = float(np.mean(svc.predict(study.directions("validation")) == validation))
        sizes.append(size)
        errors.append(1 - right)
        say(f"SVC on gradient directions, {size} digits: validation {right:.2%}, {len(svc.support_)} support vectors, "
            f"{time.perf_counter() - start:.0f} s")
    power_law(sizes, errors, (study.size, study.size * 6 // 5), "digits")


def svc_grid(study: Study) -> None:
    """The gradient-direction SVC on all training digits, 7x7 (calibrated, cached and shared with
    `combine`) against 8x8 sampling points (uncalibrated: the plain SVC's own answer)."""
    labels, validation = study.data["train_labels"], study.data["validation_labels"]
    cached = calibrated_svc(study, "directions", study.directions("train"), labels, study.directions("validation"))
    seven = cached["model"].calibrated_classifiers_[0].estimator
    say(f"SVC on {study.size} digits, gradient directions 12 x 7 x 7: validation "
        f"{np.mean(seven.predict(study.directions('validation')) == validation):.2%} "
        f"(calibrated {accuracy(cached['validation'], validation):.2%}), {len(seven.support_)} support vectors")
    eight = GradientDirections(grid=8)
    start = time.perf_counter()
    svc = fit_svc(eight.transform(study.pixels("train")), labels)
    right = np.mean(svc.predict(eight.transform(study.pixels("validation"))) == validation)
    say(f"SVC on {study.size} digits, gradient directions 12 x 8 x 8: validation {right:.2%}, "
        f"{len(svc.support_)} support vectors, {time.perf_counter() - start:.0f} s")


def _shifted(images: np.ndarray, dx: int, dy: int) -> np.ndarray:
    """(n, 784) digits moved by dx, dy pixels (zeros come in)."""
    out = np.zeros((len(images), 28, 28), images.dtype)
    source = images.reshape(-1, 28, 28)[:, max(-dy, 0):28 - max(dy, 0), max(-dx, 0):28 - max(dx, 0)]
    out[:, max(dy, 0):28 - max(-dy, 0), max(dx, 0):28 - max(-dx, 0)] = source
    return out.reshape(len(images), -1)


def virtual_support_vectors(study: Study, size: int | None = None) -> None:
    """DeCoste & Schoelkopf's virtual SVM on gradient directions: train, shift the support vectors'
    deskewed digits, train again on the support vectors and their shifted copies (default: all digits)."""
    size = min(size or study.size, study.size)
    labels, validation = study.data["train_labels"][:size], study.data["validation_labels"]
    pixels = study.pixels("train")[:size]
    directions = GradientDirections()
    train, held_out = directions.transform(pixels), study.directions("validation")
    start = time.perf_counter()
    svc = fit_svc(train, labels)
    say(f"SVC on {size} digits, gradient directions: validation {np.mean(svc.predict(held_out) == validation):.2%}, "
        f"{len(svc.support_)} support vectors, {time.perf_counter() - start:.0f} s")
    support = svc.support_
    ones = [(dx, dy) for dx in (-1, 0, 1) for dy in (-1, 0, 1) if dx or dy]
    for name, shifts in (("4 shifts by 1 px", [(1, 0), (-1, 0), (0, 1), (0, -1)]), ("8 shifts by 1 px", ones),
                         ("8 shifts by 2 px", [(2 * dx, 2 * dy) for dx, dy in ones])):
        virtual = np.vstack([train[support]] + [directions.transform(_shifted(pixels[support], dx, dy))
                                                for dx, dy in shifts])
        start = time.perf_counter()
        # gamma as for the first SVC: the same kernel, whatever the variance of the new set
        svc = fit_svc(virtual, np.tile(labels[support], len(shifts) + 1),
                      gamma_factor=SVC_GAMMA_FACTOR * virtual.var() / train.var())
        say(f"SVC on {size} digits' support vectors + {name}: "
            f"validation {np.mean(svc.predict(held_out) == validation):.2%}, "
            f"{len(svc.support_)} support vectors, {time.perf_counter() - start:.0f} s")


def calibrated_svc(study: Study, name: str, train: np.ndarray, labels: np.ndarray, held_out: np.ndarray,
                   gamma: float | None = None) -> dict:
    """What CalibratedClassifierCV(SVC, ensemble=False, cv=3) computes, keeping its by-products:
    3-fold out-of-fold decisions on the training set -> one sigmoid per digit; the SVC refitted on
    all. Returns calibrated probabilities out of fold ("train") and on held_out ("validation"),
    and the fitted CalibratedClassifierCV ("model"). gamma: default SVC_GAMMA_FACTOR x "scale"."""
    def fit() -> dict:
        start = time.perf_counter()
        svc = SVC(C=10, gamma=gamma or SVC_GAMMA_FACTOR / (train.shape[1] * train.var()), cache_size=1000)
        out_of_fold = cross_val_predict(svc, train, labels, cv=3, method="decision_function", n_jobs=2)
        svc.fit(train, labels)
        calibrators = [_SigmoidCalibration().fit(out_of_fold[:, digit], (labels == digit).astype(int))
                       for digit in range(10)]
        model = CalibratedClassifierCV(clone(svc), ensemble=False, cv=3)
        model.calibrated_classifiers_ = [_CalibratedClassifier(svc, calibrators, classes=np.arange(10),
                                                               method="sigmoid")]
        model.classes_, model.n_features_in_ = np.arange(10), train.shape[1]
        p = np.column_stack([c.predict(out_of_fold[:, digit]) for digit, c in enumerate(calibrators)])
        return {"model": model, "train": p / p.sum(axis=1, keepdims=True), "validation": model.predict_proba(held_out),
                "support_vectors": len(svc.support_), "seconds": time.perf_counter() - start}
    return study.pickled(f"svc_{name}", fit)


def svc_slant(study: Study, size: int | None = None) -> None:
    """The SVC on the recipe's [directions | topology], with the deskew's slant as one more column
    at several weights: deskewing makes a 7's slanting stem upright, and a 1 with a long, nearly
    level flag then looks like it (issue 21). Trained on the first `size` MNIST training digits
    (default 12,000 of 50,000) plus a fifth as many stroke digits; read on MNIST validation and
    the canvas validation part."""
    from training.stroke_digits import stroke_digits

    size = min(size or study.scaled(12_000), study.size)
    strokes, stroke_labels = stroke_digits(size // 5)
    front = build_front(slant_weight=1.0).fit(study.data["train"][:size])  # the slant, last, is weighed below
    train_pixels = np.concatenate([study.data["train"][:size], strokes])
    labels = np.concatenate([study.data["train_labels"][:size], stroke_labels])
    canvas, canvas_labels = study.canvas
    parts = {"train": train_pixels, "validation": study.data["validation"], "canvas": canvas}
    outputs = {name: front.transform(pixels).astype(np.float32) for name, pixels in parts.items()}
    shapes = {name: output[:, PIXELS:-1] for name, output in outputs.items()}
    slants = {name: output[:, -1] for name, output in outputs.items()}
    scale = 1.0 / shapes["train"][:, :DIRECTIONS].std()
    gamma = SVC_GAMMA_FACTOR / shapes["train"].shape[1]
    for weight in (0.0, 3.0, 10.0, 20.0):
        def columns(name: str) -> np.ndarray:
            return np.hstack([shapes[name] * scale, weight * slants[name][:, None]]) if weight else shapes[name] * scale
        start = time.perf_counter()
        svc = SVC(C=10.0, gamma=gamma, cache_size=1000).fit(columns("train"), labels)
        on_mnist, on_canvas = svc.predict(columns("validation")), svc.predict(columns("canvas"))
        mnist_labels = study.data["validation_labels"]
        say(f"SVC on {size} + {len(stroke_labels)} stroke digits, slant weight {weight:g}: validation "
            f"{np.mean(on_mnist == mnist_labels):.2%}, canvas validation {np.mean(on_canvas == canvas_labels):.2%} "
            f"(1 read as 7: {np.sum((canvas_labels == 1) & (on_canvas == 7))}, 7 as 1: "
            f"{np.sum((canvas_labels == 7) & (on_canvas == 1))}), {time.perf_counter() - start:.0f} s")
