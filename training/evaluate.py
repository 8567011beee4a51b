"""Report the shipped jury's figures: `python -m training.evaluate [--json]`.

This is the one place (with the benchmark) that reads the MNIST test set, and it only
reports: nothing here feeds back into training or model choice.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from digit.config import model_dir
from digit.model_store import CARD_FILE, MODEL_FILE, load_model
from training.data import load_mnist
from training.train import normalize_all

LATENCY_SAMPLES = 300


def _accuracy(predicted: np.ndarray, labels: np.ndarray) -> float:
    return round(float(np.mean(predicted == labels)), 6)


def evaluate(folder: Path | None = None) -> dict:
    folder = folder or model_dir()
    loaded = load_model(folder)
    model = loaded.classifier.model
    mnist = load_mnist()
    report: dict = {"model_version": loaded.classifier.version}
    for split_name, split in (("mnist_test", mnist.test), ("validation", mnist.validation)):
        pixels = normalize_all(split.images, f"normalise {split_name}")
        jury = model[-1]
        by_juror = jury.juror_probabilities(model[:-1].transform(pixels))
        predicted = np.argmax(jury.vote(by_juror), axis=1)
        report[f"{split_name}_accuracy"] = _accuracy(predicted, split.labels)
        report[f"{split_name}_juror_accuracy"] = {name: _accuracy(np.argmax(p, 1), split.labels)
                                                  for name, p in by_juror.items()}
        if split_name == "mnist_test":
            report["mnist_test_per_class_accuracy"] = {
                str(digit): _accuracy(predicted[split.labels == digit], digit) for digit in range(10)}
    report["model_bytes"] = sum(path.stat().st_size for path in folder.iterdir() if path.is_file())
    report["load_seconds"] = round(loaded.seconds, 3)
    latencies = []
    for image in mnist.test.images[:LATENCY_SAMPLES]:
        start = time.perf_counter()
        loaded.classifier.predict(image)
        latencies.append((time.perf_counter() - start) * 1000)
    report["latency_ms_p50"] = round(float(np.percentile(latencies, 50)), 2)
    report["latency_ms_p99"] = round(float(np.percentile(latencies, 99)), 2)
    return report


def evaluate_and_record(folder: Path) -> dict:
    """Evaluate, then write the test and validation figures into the model card."""
    report = evaluate(folder)
    card_path = folder / CARD_FILE
    card = json.loads(card_path.read_text())
    card.setdefault("metrics", {}).update({
        "mnist_test_accuracy": report["mnist_test_accuracy"],
        "mnist_test_juror_accuracy": report["mnist_test_juror_accuracy"],
        "validation_accuracy": report["validation_accuracy"],
    })
    card["files"] = {MODEL_FILE: (folder / MODEL_FILE).stat().st_size}
    card_path.write_text(json.dumps(card, indent=2) + "\n")
    print(json.dumps(report))
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
