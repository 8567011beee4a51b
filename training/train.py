"""Train the jury from scratch: `python -m training.train [--out models/]`.

Two stages. First the jury is fitted on MNIST's training split (plus generated canvas-style
digits) and its voting weights are chosen on the validation split carved from MNIST's
training set and on the validation part of our canvas-style set; on the same digits, the
weights chosen, its vote is calibrated (one temperature) and the confidence below which it
says "unsure" is chosen (digit/calibration.py). Then, the choices made,
the jurors that fit in seconds (the k-NN, which keeps the validation digits as more
references, and the forest) are fitted again on all 60,000 MNIST training digits; the SVC
keeps its first fit (a second would double the training time for a few hundredths of a
point). The MNIST test set is read once at the end, by `training.evaluate`, to report.
"""

from __future__ import annotations

import argparse
import datetime as dt
import itertools
import resource
import time
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
from sklearn.metrics import accuracy_score
from tqdm import tqdm

from digit.calibration import (choose_unsure_below, equal_share_weights, expected_calibration_error, fit_temperature,
                               reliability, unsure_rates)
from digit.config import model_dir
from digit.jurors import FOREST_NAME, KNN_NAME, build_jury, for_serving
from digit.jury import Jury
from digit.model.card import ModelCard
from digit.model.store import save_model
from digit.neighbours import ORIGINS
from training.canvas.report import canvas_pixels
from training.data import Mnist, Split, load_mnist, normalized_split
from training.evaluate import per_class_accuracy, report_figures
from training.stroke_digits import stroke_digits

WEIGHT_GRID = (0.0, 1.0, 2.0, 3.0, 4.0)
MNIST_SLACK = 0.0005  # weights may cost 5 in 10,000 of MNIST validation to read canvas digits better
FINAL_FIT = (KNN_NAME, FOREST_NAME)  # refitted on all of MNIST's training set once the weights are chosen
STROKE_SHARE = 0.2  # canvas-shaped training digits (training/stroke_digits.py) per MNIST training digit:
                    # 10,000 beside MNIST's 50,000 read canvas digits as well as 20,000 did
KNN_STROKE_SHARE = 0.25  # of the stroke digits, the first are k-NN references too: canvas validation
                         # 97.78 -> 98.89 %, MNIST validation 99.55 -> 99.50 % (all of them: 99.00 %,
                         # 99.50 %, but the model file past 20 MB; `python -m experiments knn-canvas`)


@dataclass
class TrainingSet:
    """Images and labels, already normalised; extra sets may be added (feedback, hard cases)."""

    pixels: np.ndarray  # (n, 784) uint8
    labels: np.ndarray
    weights: np.ndarray | None = None  # per-sample weights for the jurors that accept them
    sources: dict[str, int] = field(default_factory=dict)  # name -> count, for the model card
    origins: np.ndarray | None = None  # per sample, digit.neighbours.ORIGINS (None: all MNIST)

    def plus(self, extra: "TrainingSet | None") -> "TrainingSet":
        if extra is None:
            return self

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
    card: ModelCard  # everything known so far; `save_model` writes it


def mnist_set(split: Split, name: str) -> TrainingSet:
    return TrainingSet(normalized_split(split, f"normalise {name}"), split.labels, sources={name: len(split.labels)})


def stroke_set(count: int) -> TrainingSet:
    """Generated canvas-shaped digits: the SVC and the forest learn from all of them, the k-NN
    keeps the first KNN_STROKE_SHARE of them as references (origin "stroke"), the writers they
    were drawn by (the rest: origin "generated")."""
    if count == 0:
        return TrainingSet(np.zeros((0, 784), np.uint8), np.zeros(0, np.int64))
    pixels, labels = stroke_digits(count)
    origins = np.full(count, ORIGINS["generated"], np.int8)
    origins[:round(KNN_STROKE_SHARE * count)] = ORIGINS["stroke"]
    return TrainingSet(pixels, labels, sources={"stroke_digits": count}, origins=origins)


def choose_weights(mnist: dict[str, np.ndarray], labels: np.ndarray, canvas: dict[str, np.ndarray] | None = None,
                   canvas_labels: np.ndarray | None = None) -> list[float]:
    """The voting weights: the best canvas validation accuracy among those within MNIST_SLACK
    of the best MNIST validation accuracy (ties: the better MNIST, then the more even)."""
    names = list(mnist)
    scored = []
    for weights in itertools.product(WEIGHT_GRID, repeat=len(names)):
        if not any(weights):
            continue
        on_mnist = _accuracy(weights, mnist, names, labels)
        on_canvas = _accuracy(weights, canvas, names, canvas_labels) if canvas is not None else 0.0
        evenness = -float(np.std(weights) / np.mean(weights))
        scored.append((on_canvas, on_mnist, evenness, list(weights)))
    best_mnist = max(on_mnist for _, on_mnist, _, _ in scored)
    return max(item for item in scored if item[1] >= best_mnist - MNIST_SLACK)[3]


def _accuracy(weights, by_juror: dict[str, np.ndarray], names: list[str], labels: np.ndarray) -> float:
    mixed = np.tensordot(np.asarray(weights), np.stack([by_juror[name] for name in names]), axes=1)
    return accuracy_score(labels, np.argmax(mixed, axis=1))


def calibrate(jury: Jury, by_juror: list[dict[str, np.ndarray]], labels: list[np.ndarray]) -> dict:
    """Set the jury's temperature and unsure threshold from its jurors' probabilities on validation
    sets (MNIST validation, the canvas-style validation part), each set weighing the same; the
    weights must be chosen already. Returns the figures for the card."""
    raw = np.concatenate([jury.raw_vote(each) for each in by_juror])
    truth = np.concatenate(labels)
    weights = equal_share_weights(*(len(each) for each in labels))
    jury.set_params(temperature=fit_temperature(raw, truth, weights))
    voted = [jury.vote(each) for each in by_juror]
    jury.set_params(unsure_below=choose_unsure_below(np.concatenate(voted), truth, weights))
    figures = {"temperature": jury.temperature, "unsure_below": jury.unsure_below}
    for name, probabilities, truth in zip(("validation", "canvas_validation"), voted, labels):
        figures[f"{name}_ece"] = round(expected_calibration_error(truth, probabilities), 4)
        figures[f"{name}_unsure"] = unsure_rates(truth, probabilities, jury.unsure_below)
        figures[f"{name}_reliability"] = reliability(truth, probabilities)  # bench.calibration draws it
    return figures


def _metadata(train_set: TrainingSet) -> dict:
    metadata = {} if train_set.weights is None else {"sample_weight": train_set.weights}
    if train_set.origins is not None:
        metadata["origin"] = train_set.origins
    return metadata


def fit_jury(train_set: TrainingSet) -> Jury:
    return build_jury().fit(train_set.pixels, train_set.labels, **_metadata(train_set))


def validation_figures(jury: Jury, pixels: np.ndarray, labels: np.ndarray, name: str) -> tuple[dict, dict]:
    by_juror = jury.juror_probabilities(pixels)
    return by_juror, {f"{name}_juror_accuracy": {juror: round(accuracy_score(labels, np.argmax(p, 1)), 6)
                                                 for juror, p in by_juror.items()}}


def peak_memory_mb() -> float:
    """Peak resident memory of this process and its worker processes, in MB (Linux: KiB units)."""
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return (own + children) / 1024


def train(mnist: Mnist, extra: TrainingSet | None = None, strokes: int | None = None,
          final_fit: bool = True) -> Trained:
    """Choose on validation, then fit on all of MNIST's training set (unless final_fit is off).

    extra: more training digits (feedback, hard cases), in both stages. The card holds the
    first stage's validation figures: those of a jury that never saw the validation split.
    """
    start = time.perf_counter()
    with tqdm(total=5 if final_fit else 4, desc="training", unit="step") as progress:
        progress.set_postfix_str("data")
        generated = stroke_set(round(STROKE_SHARE * len(mnist.train.labels)) if strokes is None else strokes)
        train_split, validation = mnist_set(mnist.train, "mnist_train"), mnist_set(mnist.validation, "mnist_validation")
        canvas_pixels_, canvas_labels = canvas_pixels("validation", most=len(mnist.validation.labels))
        progress.update()
        progress.set_postfix_str(f"fit on {len(train_split.labels) + len(generated.labels)} digits")
        chosen = train_split.plus(generated).plus(extra)
        jury = fit_jury(chosen)
        progress.update()
        progress.set_postfix_str("weights")
        on_mnist, mnist_figures = validation_figures(jury, validation.pixels, validation.labels, "validation")
        on_canvas, canvas_figures = validation_figures(jury, canvas_pixels_, canvas_labels, "canvas_validation")
        weights = choose_weights(on_mnist, validation.labels, on_canvas, canvas_labels)
        jury.set_params(weights=weights)
        read_mnist, read_canvas = np.argmax(jury.vote(on_mnist), 1), np.argmax(jury.vote(on_canvas), 1)
        figures = {  # the jury's vote on the probabilities already computed: no second reading
            "validation_accuracy": round(accuracy_score(validation.labels, read_mnist), 6),
            "canvas_validation_accuracy": round(accuracy_score(canvas_labels, read_canvas), 6),
            # Per digit too: the retraining's gate lets no digit fall (training/retrain.py).
            "validation_per_class_accuracy": per_class_accuracy(validation.labels, read_mnist),
            "canvas_validation_per_class_accuracy": per_class_accuracy(canvas_labels, read_canvas),
            **mnist_figures, **canvas_figures, "weights": dict(zip(jury.jurors_, weights)),
        }
        progress.update()
        progress.set_postfix_str("calibration")
        # On the first stage's probabilities: the final fit keeps the validation digits as k-NN references.
        figures.update(calibrate(jury, [on_mnist, on_canvas], [validation.labels, canvas_labels]))
        progress.update()
        data = chosen.sources
        if final_fit:
            progress.set_postfix_str("k-NN and forest on all of MNIST")
            final = train_split.plus(validation).plus(generated).plus(extra)
            jury.refit(FINAL_FIT, final.pixels, final.labels, **_metadata(final))
            progress.update()
        now = dt.datetime.now(dt.timezone.utc)
        card = ModelCard(
            version=now.strftime("%Y%m%d-%H%M%S"),
            date=now.isoformat(timespec="seconds"),
            # The validation digits chose the weights, then (final_fit) taught the jurors listed.
            data={"feedback": 0, **data, "mnist_validation": len(validation.labels),
                  "final_fit": list(FINAL_FIT) if final_fit else []},
            metrics=figures,
            training={"seconds": round(time.perf_counter() - start, 1), "peak_memory_mb": round(peak_memory_mb())},
        )
    return Trained(for_serving(jury), card)


def main() -> None:
    parser = argparse.ArgumentParser(description="Train the digit jury from MNIST and generated canvas digits.")
    parser.add_argument("--out", type=Path, default=None, help="model folder (default: MODEL_DIR or models/)")
    parser.add_argument("--mnist-limit", type=int, default=None, metavar="N",
                        help="train on N MNIST digits only (quick trials and tests; not for shipping)")
    parser.add_argument("--strokes", type=int, default=None,
                        help="generated canvas-style training digits (default: a fifth of the MNIST training digits)")
    parser.add_argument("--no-final-fit", action="store_true", help="ship the first stage (quick trials)")
    arguments = parser.parse_args()
    out = arguments.out or model_dir()
    mnist = load_mnist(arguments.mnist_limit)
    trained = train(mnist, strokes=arguments.strokes, final_fit=not arguments.no_final_fit)
    card = replace(trained.card, metrics={**trained.card.metrics,
                                          **report_figures(trained.jury, mnist)})  # reported, never used to choose
    card = save_model(trained.jury, out, card)
    metrics = card.metrics
    print(f"validation {metrics['validation_accuracy']:.2%}, canvas validation {metrics['canvas_validation_accuracy']:.2%}, "
          f"MNIST test {metrics['mnist_test_accuracy']:.2%}, canvas report {metrics['canvas_report_accuracy']:.2%}, "
          f"weights {metrics['weights']}, temperature {metrics['temperature']}, unsure below {metrics['unsure_below']}, "
          f"ECE validation {metrics['validation_ece']:.2%}, canvas report {metrics['canvas_report_ece']:.2%}, "
          f"{card.training['seconds']:.0f} s, "
          f"peak {card.training['peak_memory_mb']} MB -> {out}")


if __name__ == "__main__":
    main()
