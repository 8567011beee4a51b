"""Retraining from a feedback folder: the gate refuses what does not teach the jury.

On a reduced MNIST (helpers.SMALL_MNIST digits; `small_models` in conftest.py): what these
tests check does not need 50,000 digits. `make bench` runs the loop at full size.
"""

from __future__ import annotations

import hashlib
import shutil

import numpy as np

from bench.renderings import jittered_strokes, sketch_from_mnist
from digit.feedback import FeedbackStore, Sample
from digit.model_store import CARD_FILE, MODEL_FILE, read_card
from helpers import SMALL_MNIST, last_json_line, run_module


def retrain(feedback, models) -> dict:
    return last_json_line(run_module("training.retrain", "--feedback", str(feedback), "--model-dir", str(models),
                                     "--mnist-limit", str(SMALL_MNIST)))


def test_poisoned_feedback_with_random_labels_is_not_promoted(tmp_path, mnist, small_models):
    models = tmp_path / "models"
    shutil.copytree(small_models, models)
    before = hashlib.sha256((models / MODEL_FILE).read_bytes()).hexdigest()
    store = FeedbackStore(tmp_path / "feedback", repo_id="")
    store.setup()
    rng = np.random.default_rng(5)
    for image, label in zip(mnist.validation.images[:24], mnist.validation.labels[:24]):
        wrong = int((label + rng.integers(1, 10)) % 10)  # a random label, never the true one
        store.save(Sample(sketch_from_mnist(image, rng, canvas=300), wrong, source="sketch"))
    report = retrain(store.folder, models)
    assert not report["promoted"]
    assert "validation" in report["reason"] or "feedback" in report["reason"]
    assert hashlib.sha256((models / MODEL_FILE).read_bytes()).hexdigest() == before
    assert read_card(models) == read_card(small_models)


def test_too_few_feedback_samples_are_not_used(tmp_path, small_models):
    models = tmp_path / "models"
    shutil.copytree(small_models, models)
    store = FeedbackStore(tmp_path / "feedback", repo_id="")
    store.setup()
    store.save(Sample(jittered_strokes(3, np.random.default_rng(0)), 3))
    report = retrain(store.folder, models)
    assert not report["promoted"] and "only 1" in report["reason"]
    assert (models / CARD_FILE).exists()


def test_a_quarter_of_a_small_feedback_set_is_held_out_even_when_it_cannot_hold_every_digit():
    from training.retrain import Feedback, split_feedback

    labels = np.array([0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 9])  # 8 and 9 seen once
    learn, held = split_feedback(Feedback(np.arange(len(labels))[:, None].repeat(784, 1), labels))
    assert len(held.labels) == 4 and len(learn.labels) == 14
    assert {8, 9} <= set(learn.labels)  # a digit seen once is only learned
    assert sorted(np.concatenate([learn.pixels[:, 0], held.pixels[:, 0]])) == list(range(len(labels)))
