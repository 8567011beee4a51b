"""Train the jury from scratch: `python -m training.train [--out models/]`.

MNIST's official 60k training images are split into train and validation; voting weights
are chosen on the validation split. The test set is read once at the end, by
`training.evaluate`, to report (never to choose); the model and its card are then saved.
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
from sklearn.metrics import accuracy_score
from tqdm import tqdm

from digit.config import model_dir
from digit.jurors import build_jury
from digit.jury import Jury
from digit.model_store import save_model
from training.data import Mnist, load_mnist, normalized_pixels
from training.evaluate import test_figures

WEIGHT_GRID = (0.0, 1.0, 2.0, 3.0, 4.0)


@dataclass
class TrainingSet:
    """Images and labels, already normalised; extra sets may be added (feedback, hard cases)."""

    pixels: np.ndarray  # (n, 784) uint8
    labels: np.ndarray
    weights: np.ndarray | None = None  # per-sample weights for the jurors that accept them
    sources: dict[str, int] = field(default_factory=dict)  # name -> count, for the model card
    origins: np.ndarray | None = None  # per sample, digit.neighbours.ORIGINS (None: all MNIST)

    def plus(self, extra: "TrainingSet") -> "TrainingSet":
        def filled(values: np.ndarray | None, count: int, default: float) -> np.ndarray:
            return values if values is not None else np.full(count, default)

        mine, theirs = len(self.labels), len(extra.labels)
        return TrainingSet(np.concatenate([self.pixels, extra.pixels]), np.concatenate([self.labels, extra.labels]),
                           np.concatenate([filled(self.weights, mine, 1.0), filled(extra.weights, theirs, 1.0)]),
                           {**self.sources, **extra.sources},
                           np.concatenate([filled(self.origins, mine, 0), filled(extra.origins, theirs, 0)]).astype(np.int8))


@dataclass(frozen=True)
class Trained:
    jury: Jury
    card: dict  # everything known so far; `save_model` writes it


def choose_weights(by_juror: dict[str, np.ndarray], labels: np.ndarray) -> tuple[list[float], float]:
    """The voting weights with the best validation accuracy (ties: the more even weights)."""
    names = list(by_juror)
    best: tuple[float, float, list[float]] | None = None
    for weights in itertools.product(WEIGHT_GRID, repeat=len(names)):
        if not any(weights):
            continue
        mixed = np.tensordot(np.asarray(weights), np.stack([by_juror[name] for name in names]), axes=1)
        accuracy = accuracy_score(labels, np.argmax(mixed, axis=1))
        evenness = -float(np.std(weights) / max(np.mean(weights), 1e-9))
        if best is None or (accuracy, evenness) > best[:2]:
            best = (accuracy, evenness, list(weights))
    return best[2], best[0]


def fit_jury(train_set: TrainingSet, validation_pixels: np.ndarray, validation_labels: np.ndarray) -> tuple[Jury, dict]:
    """Fit the feature steps and the jurors, then pick the voting weights on validation."""
    jury = build_jury()
    metadata = {} if train_set.weights is None else {"sample_weight": train_set.weights}
    if train_set.origins is not None:
        metadata["origin"] = train_set.origins
    jury.fit(train_set.pixels, train_set.labels, **metadata)
    for juror in jury.jurors_.values():  # one request is one image: threads cost more than they save
        juror.set_params(**{key: 1 for key in juror.get_params() if key.endswith("n_jobs")})
    by_juror = jury.juror_probabilities(validation_pixels)
    chosen, accuracy = choose_weights(by_juror, validation_labels)
    jury.set_params(weights=chosen)
    figures = {
        "validation_accuracy": round(accuracy, 6),
        "validation_juror_accuracy": {name: round(accuracy_score(validation_labels, np.argmax(p, 1)), 6)
                                      for name, p in by_juror.items()},
        "weights": dict(zip(jury.jurors_, chosen)),
    }
    return jury, figures


def peak_memory_mb() -> float:
    """Peak resident memory of this process and its worker processes, in MB (Linux: KiB units)."""
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return (own + children) / 1024


def mnist_training_set(mnist: Mnist) -> TrainingSet:
    return TrainingSet(normalized_pixels(mnist.train.images, "normalise train"), mnist.train.labels,
                       sources={"mnist_train": len(mnist.train.labels)})


def train(mnist: Mnist, base: TrainingSet | None = None, extra: TrainingSet | None = None) -> Trained:
    """Train from MNIST (plus an optional extra set); the card holds the validation figures.

    base: MNIST's training split already normalised, when the caller has it.
    """
    start = time.perf_counter()
    with tqdm(total=3, desc="training", unit="step") as progress:
        progress.set_postfix_str("data")
        train_set = base or mnist_training_set(mnist)
        if extra is not None:
            train_set = train_set.plus(extra)
        validation = normalized_pixels(mnist.validation.images, "normalise validation")
        progress.update()
        progress.set_postfix_str(f"fit on {len(train_set.labels)} digits")
        jury, figures = fit_jury(train_set, validation, mnist.validation.labels)
        progress.update()
        now = dt.datetime.now(dt.timezone.utc)
        card = {
            "version": now.strftime("%Y%m%d-%H%M%S"),
            "date": now.isoformat(timespec="seconds"),
            "data": {"feedback": 0, **train_set.sources, "mnist_validation": len(mnist.validation.labels),
                     "mnist_test": len(mnist.test.labels)},
            "metrics": figures,
            "training": {"seconds": round(time.perf_counter() - start, 1), "peak_memory_mb": round(peak_memory_mb())},
        }
        progress.update()
    return Trained(jury, card)


def main() -> None:
    parser = argparse.ArgumentParser(description="Train the digit jury from MNIST.")
    parser.add_argument("--out", type=Path, default=None, help="model folder (default: MODEL_DIR or models/)")
    parser.add_argument("--mnist-limit", type=int, default=None, metavar="N",
                        help="train on N MNIST digits only (quick trials and tests; not for shipping)")
    arguments = parser.parse_args()
    out = arguments.out or model_dir()
    mnist = load_mnist(arguments.mnist_limit)
    trained = train(mnist)
    card = trained.card
    card["metrics"].update(test_figures(trained.jury, mnist))  # reported, never used to choose
    save_model(trained.jury, out, card)
    metrics = card["metrics"]
    print(f"validation accuracy {metrics['validation_accuracy']:.2%}, MNIST test {metrics['mnist_test_accuracy']:.2%}, "
          f"weights {metrics['weights']}, {card['training']['seconds']:.0f} s, "
          f"peak {card['training']['peak_memory_mb']} MB -> {out}")


if __name__ == "__main__":
    main()
