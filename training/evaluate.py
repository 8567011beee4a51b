"""Report a jury's figures: `python -m training.evaluate [--json] [--model-dir DIR]`.

This is the one place (with the benchmark, which calls it) that reads the MNIST test
set, and it only reports: nothing here feeds back into training or model choice.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
from sklearn.metrics import accuracy_score, recall_score

from digit.config import model_dir
from digit.jury import Jury
from digit.model_store import load_model
from training.data import Mnist, Split, load_mnist, normalized_pixels

LATENCY_SAMPLES = 300


def split_figures(jury: Jury, split: Split, name: str) -> dict:
    """The jury's and each juror's accuracy on a split, and the accuracy on each digit."""
    by_juror = jury.juror_probabilities(normalized_pixels(split.images, f"normalise {name}"))
    predicted = np.argmax(jury.vote(by_juror), axis=1)
    return {
        f"{name}_accuracy": round(accuracy_score(split.labels, predicted), 6),
        f"{name}_juror_accuracy": {juror: round(accuracy_score(split.labels, np.argmax(p, 1)), 6)
                                   for juror, p in by_juror.items()},
        # Recall per class is the share of each digit's images read right.
        f"{name}_per_class_accuracy": {str(digit): round(float(value), 6) for digit, value in
                                       enumerate(recall_score(split.labels, predicted, average=None, labels=range(10)))},
    }


def test_figures(jury: Jury, mnist: Mnist) -> dict:
    """MNIST test figures for a model card: reported only."""
    figures = split_figures(jury, mnist.test, "mnist_test")
    return {key: figures[key] for key in ("mnist_test_accuracy", "mnist_test_juror_accuracy")}


def evaluate(folder: Path | None = None) -> dict:
    folder = folder or model_dir()
    loaded = load_model(folder)
    mnist = load_mnist()
    report: dict = {"model_version": loaded.classifier.version}
    report.update(split_figures(loaded.classifier.jury, mnist.test, "mnist_test"))
    report.update(split_figures(loaded.classifier.jury, mnist.validation, "validation"))
    report["model_bytes"] = sum(path.stat().st_size for path in folder.iterdir() if path.suffix == ".skops")
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
