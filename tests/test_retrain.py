"""The feedback loop end to end: flag a style the jury gets wrong, retrain, see it learned.

On a reduced MNIST (helpers.SMALL_MNIST digits): what these tests check (a new style is
learned, the gate refuses poison, the running app takes the promoted model) does not need
50,000 digits. `make bench` runs the same loop at full size and reports its figures.
"""

from __future__ import annotations

import hashlib
import shutil

import numpy as np
import pytest
from gradio_client import Client, handle_file

from bench.local_app import running_app
from bench.renderings import bubble_digits, jittered_strokes, sketch_from_mnist
from digit.feedback import FeedbackStore, Sample
from digit.model_store import CARD_FILE, MODEL_FILE, read_card
from helpers import SMALL_MNIST, last_json_line, run_module


@pytest.fixture(scope="module")
def small_models(tmp_path_factory):
    """A jury trained on the reduced MNIST: the model these retrainings start from."""
    folder = tmp_path_factory.mktemp("small") / "models"
    run_module("training.train", "--out", str(folder), "--mnist-limit", str(SMALL_MNIST))
    return folder


def retrain(feedback, models) -> dict:
    return last_json_line(run_module("training.retrain", "--feedback", str(feedback), "--model-dir", str(models),
                                     "--mnist-limit", str(SMALL_MNIST)))


def read_accuracy(client: Client, files: list[tuple[str, int]]) -> float:
    right = sum(client.predict(handle_file(path), api_name="/classify")["label"] == str(digit)
                for path, digit in files)
    return right / len(files)


def test_flagged_samples_of_a_new_style_teach_the_running_app(tmp_path, small_models):
    fresh = bubble_digits(tmp_path / "fresh", 40, seed=1)
    flagged = bubble_digits(tmp_path / "flagged", 40, seed=2)
    with running_app(tmp_path / "app", models=small_models) as app:
        client = Client(app["url"], verbose=False)
        before = read_accuracy(client, fresh)
        for path, digit in flagged:
            assert client.predict(handle_file(path), digit, api_name="/flag").startswith("Saved")
        card_before = read_card(app["models"])
        report = retrain(app["feedback"], app["models"])
        assert report["promoted"], report["reason"]
        after = read_accuracy(client, fresh)  # the running app reloads the promoted model
        card_after = read_card(app["models"])
    assert before < 0.6 <= 0.8 <= after, (before, after)
    assert report["candidate"]["feedback_accuracy"] > report["current"]["feedback_accuracy"]
    assert card_after["version"] != card_before["version"]
    assert card_after["parent_version"] == card_before["version"]
    assert card_after["data"]["feedback"] + card_after["data"]["feedback_held_out"] == len(flagged)
    assert card_after["files"][MODEL_FILE] == (app["models"] / MODEL_FILE).stat().st_size


def test_poisoned_feedback_with_random_labels_is_not_promoted(tmp_path, mnist, small_models):
    models = tmp_path / "models"
    shutil.copytree(small_models, models)
    before = hashlib.sha256((models / MODEL_FILE).read_bytes()).hexdigest()
    store = FeedbackStore(tmp_path / "feedback", repo_id="")
    store.setup()
    rng = np.random.default_rng(5)
    for image, label in zip(mnist.validation.images[:60], mnist.validation.labels[:60]):
        wrong = int((label + rng.integers(1, 10)) % 10)  # a random label, never the true one
        store.save(Sample(sketch_from_mnist(image, rng, canvas=300), wrong, source="sketch"))
    report = retrain(store.folder, models)
    assert not report["promoted"]
    assert "validation" in report["reason"] or "feedback" in report["reason"]
    assert hashlib.sha256((models / MODEL_FILE).read_bytes()).hexdigest() == before
    assert read_card(models) == read_card(small_models)


def test_too_few_feedback_samples_are_not_used(tmp_path, small_models):
    store = FeedbackStore(tmp_path / "feedback", repo_id="")
    store.setup()
    store.save(Sample(jittered_strokes(3, np.random.default_rng(0)), 3))
    report = retrain(store.folder, small_models)
    assert not report["promoted"] and "only 1" in report["reason"]
    assert (small_models / CARD_FILE).exists()
