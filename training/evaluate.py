"""Report a jury's figures: `python -m training.evaluate [--json] [--model-dir DIR]`.

This is the one place (with the benchmark, which calls it) that reads the MNIST test
set and the report part of the canvas-style set, and it only reports: nothing here feeds
back into training or model choice. (The validation figure is the first training stage's,
from the card: the shipped jury was refitted on the validation split too.)
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
from sklearn.metrics import accuracy_score, recall_score

from digit.calibration import expected_calibration_error, unsure_rates
from digit.config import model_dir
from digit.jury import Jury
from digit.model.store import load_model, model_bytes
from training.canvas.report import canvas_pixels, canvas_tags, confident_wrong
from training.data import Mnist, Split, load_mnist, normalized_split

LATENCY_SAMPLES = 300
# The canvas set's rows for the hands of issue 21: style tags and allographs (training/canvas/).
HANDS = ("flag", "short_flag", "long_flag", "narrow", "wide", "7_plain", "7_crossed", "4_closed", "4_open",
         "9_straight_tail", "9_curved_tail")


def per_class_accuracy(labels: np.ndarray, predicted: np.ndarray) -> dict[str, float]:
    """The share of each digit's images read right (recall per class), keyed "0".."9"."""
    return {str(digit): round(float(value), 6) for digit, value in
            enumerate(recall_score(labels, predicted, average=None, labels=range(10), zero_division=0))}


def split_figures(jury: Jury, split: Split, name: str) -> dict:
    """The jury's and each juror's accuracy on a split, and the accuracy on each digit."""
    by_juror = jury.juror_probabilities(normalized_split(split, f"normalise {name}"))
    voted = jury.vote(by_juror)
    predicted = np.argmax(voted, axis=1)
    return {
        f"{name}_accuracy": round(accuracy_score(split.labels, predicted), 6),
        f"{name}_ece": round(expected_calibration_error(split.labels, voted), 4),
        f"{name}_juror_accuracy": {juror: round(accuracy_score(split.labels, np.argmax(p, 1)), 6)
                                   for juror, p in by_juror.items()},
        f"{name}_per_class_accuracy": per_class_accuracy(split.labels, predicted),
    }


def canvas_figures(jury: Jury, part: str, most: int | None = None) -> dict:
    """Accuracy on a part of our canvas-style set (at most `most` of its drawings), the share of
    its wrong answers given with >= 80 % confidence, the calibration error (15 bins) and what
    the jury's "unsure" catches and doubts."""
    pixels, labels = canvas_pixels(part, most)
    probabilities = jury.predict_proba(pixels)
    right, tags = probabilities.argmax(axis=1) == labels, canvas_tags(part, most)
    hands = {tag: np.array([tag in each for each in tags]) for tag in HANDS}
    return {f"canvas_{part}_accuracy": round(accuracy_score(labels, probabilities.argmax(axis=1)), 6),
            # For the flagged 1s that is "read as 1"; a narrow digit is one of any class.
            f"canvas_{part}_hands": {tag: {"accuracy": round(float(right[mask].mean()), 4), "count": int(mask.sum())}
                                     for tag, mask in hands.items() if mask.any()},
            f"canvas_{part}_confident_wrong": confident_wrong(labels, probabilities),
            f"canvas_{part}_ece": round(expected_calibration_error(labels, probabilities), 4),
            f"canvas_{part}_unsure": unsure_rates(labels, probabilities, jury.unsure_below)}


def report_figures(jury: Jury, mnist: Mnist) -> dict:
    """For a model card: MNIST test and the canvas set's report part, reported only."""
    figures = split_figures(jury, mnist.test, "mnist_test")
    return {**{key: figures[key] for key in ("mnist_test_accuracy", "mnist_test_juror_accuracy")},
            **canvas_figures(jury, "report", most=len(mnist.test.labels))}


def evaluate(folder: Path | None = None) -> dict:
    folder = folder or model_dir()
    loaded = load_model(folder)
    mnist = load_mnist()
    report: dict = {"model_version": loaded.classifier.version}
    report.update(split_figures(loaded.classifier.jury, mnist.test, "mnist_test"))
    for part in ("validation", "report"):
        report.update(canvas_figures(loaded.classifier.jury, part))
    for key in ("validation_accuracy", "validation_ece", "validation_unsure", "temperature", "unsure_below"):
        report[key] = loaded.card.metrics.get(key)  # the first stage's, on digits the final fit then learned
    report["model_bytes"] = model_bytes(folder)
    report["load_seconds"] = round(loaded.seconds, 3)
    latencies = []
    for image in mnist.test.images[:LATENCY_SAMPLES]:
        start = time.perf_counter()
        loaded.classifier.predict(image)
        latencies.append((time.perf_counter() - start) * 1000)
    report["latency_ms_p50"] = round(float(np.percentile(latencies, 50)), 2)
    report["latency_ms_p99"] = round(float(np.percentile(latencies, 99)), 2)
    return report


def main() -> None:
    parser = argparse.ArgumentParser(description="Report the jury's figures on MNIST.")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--model-dir", type=Path, default=None)
    arguments = parser.parse_args()
    report = evaluate(arguments.model_dir)
    if arguments.json:
        print(json.dumps(report))
        return
    for key, value in report.items():
        print(f"{key:34} {value}")


if __name__ == "__main__":
    main()
