"""One rule decides whether a jury may serve: the retraining runs the Space's serving check
(digit/model/check.py) on its candidate before it saves or promotes it, and the baseline of a
retraining is never a commit the Spaces refused.

On a reduced MNIST (helpers.SMALL_MNIST digits; `small_models` in conftest.py)."""

from __future__ import annotations

import hashlib
import shutil

import numpy as np
from huggingface_hub import HfApi

import training.retrain as retraining
from digit.feedback import FeedbackStore, sample_of
from digit.model.hub import served_copy
from digit.model.store import CARD_FILE, MODEL_FILE, read_card
from helpers import HUB_TOKEN, SMALL_MNIST
from test_model_check import jury_of, pointing_outside, saved
from testing.hub import LocalHub
from testing.local_app import free_port
from testing.renderings import bubble_digits


def digest(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def with_a_nan_inside_a_tree(jury):
    """A forest whose first tree holds NaN at its root, an inner node: every reading is as before
    (predictions read leaves only), so the gate's figures are the candidate's own, but the
    serving check refuses a tree with values that are not finite."""
    tree = jury.jurors_["rf"].steps[1][1].estimators_[0].tree_
    state = tree.__getstate__()
    values = state["values"].copy()
    values[0] = np.nan
    tree.__setstate__({**state, "values": values})
    return jury


def test_a_candidate_that_passes_the_gate_but_not_the_serving_check_is_neither_saved_nor_promoted(
        tmp_path, small_models, monkeypatch):
    models = tmp_path / "models"
    shutil.copytree(small_models, models)
    before = digest(models / MODEL_FILE)
    store = FeedbackStore(tmp_path / "feedback", repo_id="")
    store.setup()
    for path, digit in bubble_digits(tmp_path / "bubbles", 40, seed=2):  # a style the small jury misreads
        store.save(sample_of(path, digit, source="sketch"))
    real_train = retraining.train

    def train_then_tamper(*args, **kwargs):
        trained = real_train(*args, **kwargs)
        with_a_nan_inside_a_tree(trained.jury)
        return trained

    monkeypatch.setattr(retraining, "train", train_then_tamper)
    report = retraining.retrain(str(store.folder), models, mnist_limit=SMALL_MNIST)
    assert not report["promoted"] and "version" not in report
    # Only a candidate the gate promoted reaches the check: its reason replaces the gate's.
    assert report["reason"].startswith("the serving check refused the candidate"), report["reason"]
    assert "not finite" in report["reason"]
    assert report["candidate"]["feedback_accuracy"] > report["current"]["feedback_accuracy"]
    assert digest(models / MODEL_FILE) == before and read_card(models) == read_card(small_models)
    assert sorted(path.name for path in tmp_path.iterdir()) == ["bubbles", "feedback", "models"]  # nothing staged left


def test_a_commit_the_spaces_refuse_is_never_the_baseline_of_the_next_retraining(tmp_path, small_models,
                                                                                  monkeypatch):
    hub = LocalHub(free_port(), HUB_TOKEN).start()
    try:
        for key, value in {**hub.env(), "HF_TOKEN": HUB_TOKEN}.items():
            monkeypatch.setenv(key, value)
        api = HfApi(endpoint=hub.endpoint, token=HUB_TOKEN)
        api.create_repo("team/jury")
        api.upload_folder(folder_path=small_models, repo_id="team/jury")
        api.upload_folder(folder_path=saved(pointing_outside(jury_of(small_models)), small_models, tmp_path / "bad"),
                          repo_id="team/jury")  # newer, and refused by every Space
        baseline = served_copy("team/jury", tmp_path / "current")
    finally:
        hub.stop()
    assert digest(baseline / MODEL_FILE) == digest(small_models / MODEL_FILE)
    assert (baseline / CARD_FILE).read_text() == (small_models / CARD_FILE).read_text()
