"""Train the jury from scratch: `python -m training.train [--out models/]`.

MNIST's official 60k training images are split into train and validation; the test set is
not read here. Voting weights are chosen on the validation split.
"""

from __future__ import annotations

import argparse
import datetime as dt
import itertools
import resource
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from sklearn.pipeline import Pipeline
from tqdm import tqdm

from digit.config import model_dir
from digit.jury import PIXELS, Jury, build_front, build_jurors
from digit.model_store import save_model
from digit.preprocess import normalize
from training.data import Mnist, load_mnist

WEIGHT_GRID = (0.0, 1.0, 2.0, 3.0, 4.0)
SVC_GAMMA_FACTOR = 2.0  # times sklearn's "scale"; chosen on the validation split


@dataclass
class TrainingSet:
    """Images and labels, already normalised; extra sets may be added (feedback, hard cases)."""

    pixels: np.ndarray  # (n, 784) uint8
    labels: np.ndarray
    weights: np.ndarray | None = None  # per-sample weights for the jurors that accept them
    sources: dict[str, int] = field(default_factory=dict)  # name -> count, for the model card


def normalize_all(images, description: str) -> np.ndarray:
    """Run every image through the one preprocessing function the app uses."""
    return np.stack([normalize(image).pixels for image in tqdm(images, desc=description, unit="img",
                                                                 leave=False, mininterval=1.0)]).reshape(len(images), -1)


def choose_weights(by_juror: dict[str, np.ndarray], labels: np.ndarray) -> tuple[list[float], float]:
    """The voting weights with the best validation accuracy (ties: the more even weights)."""
    names = list(by_juror)
    best: tuple[float, float, list[float]] | None = None
    for weights in itertools.product(WEIGHT_GRID, repeat=len(names)):
        if not any(weights):
            continue
        mixed = np.tensordot(np.asarray(weights), np.stack([by_juror[name] for name in names]), axes=1)
        accuracy = float(np.mean(np.argmax(mixed, axis=1) == labels))
        evenness = -float(np.std(weights) / max(np.mean(weights), 1e-9))
        if best is None or (accuracy, evenness) > best[:2]:
            best = (accuracy, evenness, list(weights))
    return best[2], best[0]


def fit_jury(train: TrainingSet, validation_pixels: np.ndarray, validation_labels: np.ndarray,
             progress: tqdm) -> tuple[Pipeline, dict]:
    """Fit the feature steps and the jurors, then pick the voting weights on validation."""
    front = build_front()
    progress.set_postfix_str("features")
    features = front.fit_transform(train.pixels).astype(np.float32)
    shape = features[:, PIXELS:]
    gamma = SVC_GAMMA_FACTOR / (shape.shape[1] * shape.var())
    jurors = build_jurors(svc_gamma=gamma)
    progress.update()
    fitted = []
    for name, juror in jurors.items():
        progress.set_postfix_str(name)
        if train.weights is not None and isinstance(juror, Pipeline):  # k-NN takes no sample weights
            juror.fit(features, train.labels, **{f"{juror.steps[-1][0]}__sample_weight": train.weights})
        else:
            juror.fit(features, train.labels)
        # One request is one image: threads cost more than they save.
        juror.set_params(**{key: 1 for key in juror.get_params() if key.endswith("n_jobs")})
        fitted.append((name, juror))
        progress.update()
    progress.set_postfix_str("weights")
    jury = Jury.from_fitted(fitted)
    by_juror = jury.juror_probabilities(front.transform(validation_pixels).astype(np.float32))
    weights, accuracy = choose_weights(by_juror, validation_labels)
    jury.weights = weights
    progress.update()
    figures = {
        "validation_accuracy": accuracy,
        "validation_juror_accuracy": {name: float(np.mean(np.argmax(p, 1) == validation_labels))
                                      for name, p in by_juror.items()},
        "weights": dict(zip(jury.named_estimators_, weights)),
    }
    return Pipeline(list(front.steps) + [("jury", jury)]), figures


def peak_memory_mb() -> float:
    """Peak resident memory of this process and its worker processes, in MB (Linux: KiB units)."""
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return (own + children) / 1024


def mnist_training_set(mnist: Mnist) -> TrainingSet:
    return TrainingSet(normalize_all(mnist.train.images, "normalise train"), mnist.train.labels,
                       sources={"mnist_train": len(mnist.train.labels)})


def train(out: Path, version: str | None = None, base: TrainingSet | None = None,
          extra: TrainingSet | None = None) -> dict:
    """Train from MNIST (plus an optional extra set), save into out, return the model card.

    base: MNIST's training split already normalised, when the caller has it.
    """
    start = time.perf_counter()
    with tqdm(total=7, desc="training", unit="step") as progress:
        progress.set_postfix_str("data")
        mnist = load_mnist()
        train_set = base or mnist_training_set(mnist)
        if extra is not None:
            train_set = merge(train_set, extra)
        validation = normalize_all(mnist.validation.images, "normalise validation")
        progress.update()
        model, figures = fit_jury(train_set, validation, mnist.validation.labels, progress)
        progress.set_postfix_str("save")
        card = {
            "version": version or dt.datetime.now(dt.timezone.utc).strftime("%Y%m%d-%H%M%S"),
            "date": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
            "data": {"feedback": 0, **train_set.sources, "mnist_validation": len(mnist.validation.labels)},
            "metrics": figures,
            "training": {"seconds": round(time.perf_counter() - start, 1), "peak_memory_mb": round(peak_memory_mb())},
        }
        save_model(model, out, card)
        progress.update()
    return card


def merge(base: TrainingSet, extra: TrainingSet) -> TrainingSet:
    base_weights = base.weights if base.weights is not None else np.ones(len(base.labels))
    extra_weights = extra.weights if extra.weights is not None else np.ones(len(extra.labels))
    return TrainingSet(
        np.concatenate([base.pixels, extra.pixels]),
        np.concatenate([base.labels, extra.labels]),
        np.concatenate([base_weights, extra_weights]),
        {**base.sources, **extra.sources},
    )


def main() -> None:
    parser = argparse.ArgumentParser(description="Train the digit jury from MNIST.")
    parser.add_argument("--out", type=Path, default=None, help="model folder (default: MODEL_DIR or models/)")
    parser.add_argument("--no-evaluate", action="store_true", help="skip the test-set report at the end")
    arguments = parser.parse_args()
    out = arguments.out or model_dir()
    card = train(out)
    print(f"validation accuracy {card['metrics']['validation_accuracy']:.4%}, "
          f"weights {card['metrics']['weights']}, {card['training']['seconds']:.0f} s, "
          f"peak {card['training']['peak_memory_mb']} MB -> {out}")
    if not arguments.no_evaluate:
        from training.evaluate import evaluate_and_record

        evaluate_and_record(out)


if __name__ == "__main__":
    main()
