"""The feedback loop end to end: flag a style the jury gets wrong, retrain, see it learned.

These tests train real juries (a few minutes each): the price of proving the loop works.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from gradio_client import Client, handle_file
from PIL import Image

from conftest import PROJECT, running_app
from digit.feedback import FeedbackStore, Sample
from digit.model_store import CARD_FILE, MODEL_FILE, read_card
from training.synthetic import jittered_strokes, sketch_from_mnist

ARTIFACTS = PROJECT / "artifacts"


def bubble_digits(folder: Path, count: int, seed: int) -> list[tuple[str, int]]:
    """Outlined ("bubble") digits: drawn as people do on posters, absent from MNIST."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    files = []
    for index in range(count):
        digit = index % 10
        path = folder / f"bubble_{seed}_{index}.png"
        Image.fromarray(jittered_strokes(digit, rng, width=44, outline=True)).save(path)
        files.append((str(path), digit))
    return files


def run_retrain(feedback: Path, models: Path) -> dict:
    result = subprocess.run([sys.executable, "-m", "training.retrain", "--feedback", str(feedback),
                             "--model-dir", str(models)], cwd=PROJECT, capture_output=True, text=True,
                            timeout=1200)
    assert result.returncode == 0, result.stderr[-2000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


def read_accuracy(client: Client, files: list[tuple[str, int]]) -> float:
    right = sum(client.predict(handle_file(path), api_name="/classify")["label"] == str(digit)
                for path, digit in files)
    return right / len(files)


def test_flagged_samples_of_a_new_style_teach_the_jury(tmp_path):
    fresh = bubble_digits(tmp_path / "fresh", 40, seed=1)
    flagged = bubble_digits(tmp_path / "flagged", 40, seed=2)
    with running_app(tmp_path / "app") as app:
        client = Client(app["url"], verbose=False)
        before = read_accuracy(client, fresh)
        for path, digit in flagged:
            assert client.predict(handle_file(path), digit, api_name="/flag").startswith("Saved")
        card_before = read_card(app["models"])
        report = run_retrain(app["feedback"], app["models"])
        assert report["promoted"], report["reason"]
        after = read_accuracy(client, fresh)  # the running app reloads the promoted model
        card_after = read_card(app["models"])
    figures = {
        "fresh_bubble_accuracy_before": before, "fresh_bubble_accuracy_after": after,
        "mnist_test_before": card_before["metrics"]["mnist_test_accuracy"],
        "mnist_test_after": card_after["metrics"]["mnist_test_accuracy"],
        "validation_before": report["current"]["validation_accuracy"],
        "validation_after": report["candidate"]["validation_accuracy"],
        "held_out_feedback_before": report["current"]["feedback_accuracy"],
        "held_out_feedback_after": report["candidate"]["feedback_accuracy"],
        "flagged": len(flagged), "model_bytes_after": card_after["files"][MODEL_FILE],
    }
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / "feedback_loop.json").write_text(json.dumps(figures, indent=2) + "\n")
    assert before < 0.6
    assert after >= 0.8
    assert figures["mnist_test_after"] >= figures["mnist_test_before"] - 0.001
    assert card_after["version"] != card_before["version"]
    assert card_after["parent_version"] == card_before["version"]
    assert card_after["data"]["feedback"] + card_after["data"]["feedback_held_out"] == len(flagged)


def test_poisoned_feedback_with_random_labels_is_not_promoted(tmp_path, mnist):
    models = tmp_path / "models"
    models.mkdir()
    for name in (MODEL_FILE, CARD_FILE):
        (models / name).write_bytes((PROJECT / "models" / name).read_bytes())
    before = hashlib.sha256((models / MODEL_FILE).read_bytes()).hexdigest()
    store = FeedbackStore(tmp_path / "feedback", repo_id="")
    store.setup()
    rng = np.random.default_rng(5)
    images, labels = mnist.validation.images[:60], mnist.validation.labels[:60]
    for image, label in zip(images, labels):
        wrong = int((label + rng.integers(1, 10)) % 10)  # a random label, never the true one
        store.save(Sample(sketch_from_mnist(image, rng, canvas=300), wrong, source="sketch"))
    report = run_retrain(store.folder, models)
    assert not report["promoted"]
    assert "validation" in report["reason"] or "feedback" in report["reason"]
    assert hashlib.sha256((models / MODEL_FILE).read_bytes()).hexdigest() == before


def test_too_few_feedback_samples_are_not_used(tmp_path):
    store = FeedbackStore(tmp_path / "feedback", repo_id="")
    store.setup()
    store.save(Sample(jittered_strokes(3, np.random.default_rng(0)), 3))
    report = run_retrain(store.folder, PROJECT / "models")
    assert not report["promoted"] and "only 1" in report["reason"]
