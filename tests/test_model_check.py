"""A jury is served only after it reads: tampered juries, made for real from the small test jury
(`small_models`) and written with skops itself, are refused by the real loading paths, and a crash
or a hang while reading costs only the child process that reads."""

from __future__ import annotations

import logging
import re
import shutil
from pathlib import Path

import numpy as np
import pytest
import skops.io as sio
from huggingface_hub import HfApi
from sklearn.dummy import DummyClassifier
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer

from digit.jurors import build_front, build_jurors, for_serving
from digit.jury import Jury
from digit.model.card import ModelCard
from digit.model.check import FLOOR, ReadingTrial, Refused, check_reading, check_structure, reference_digits
from digit.model.hub import HubModelFollower, refused_commits
from testing.hub import LocalHub
from testing.local_app import free_port, running_app
from digit.model.store import (CARD_FILE, MODEL_FILE, README_FILE, TRUSTED_TYPES, ModelError, ModelSlot,
                               _without_routing_requests, load_checked_here, load_checked_model, load_model)
from training.reference_digits import reference_digits as made_reference_digits

TOKEN = "hf_model_check_token_for_tests"


# -- tampering, as a hostile model repo or a damaged file would -------------------------------------

def jury_of(folder: Path) -> Jury:
    """A fresh copy of a folder's jury, to tamper with."""
    return sio.load(folder / MODEL_FILE, trusted=TRUSTED_TYPES)


def saved(jury: Jury, source: Path, folder: Path) -> Path:
    """The jury written by skops itself (not our save_model, which would refuse it) beside source's card."""
    folder.mkdir(parents=True, exist_ok=True)
    sio.dump(jury, folder / MODEL_FILE)
    for name in (CARD_FILE, README_FILE):
        shutil.copy(source / name, folder / name)
    return folder


def constant_seven(jury: Jury) -> Jury:
    """The issue's jury: the forest swapped for a constant-7 DummyClassifier behind
    FunctionTransformer(np.negative), and given the whole vote."""
    width = jury.jurors_["rf"].steps[1][1].n_features_in_
    dummy = DummyClassifier(strategy="constant", constant=7).fit(np.zeros((10, width)), np.arange(10))
    jury.jurors_["rf"] = Pipeline([("shape", FunctionTransformer(np.negative)), ("rf", dummy)])
    jury.weights = [0.0, 0.0, 1.0]
    return jury


def with_root_children(jury: Jury, child: int) -> Jury:
    """The first tree's root pointing at child on both sides."""
    tree = jury.jurors_["rf"].steps[1][1].estimators_[0].tree_
    state = tree.__getstate__()
    nodes = state["nodes"].copy()
    nodes["left_child"][0] = nodes["right_child"][0] = child
    tree.__setstate__({**state, "nodes": nodes})
    return jury


def pointing_outside(jury: Jury) -> Jury:
    return with_root_children(jury, 1 << 40)  # far past the nodes: scikit-learn follows it unchecked


def root_its_own_child(jury: Jury) -> Jury:
    return with_root_children(jury, 0)  # every reading goes round forever


def forest_reading_the_next_digit(jury: Jury) -> Jury:
    """Sound trees whose leaves vote for the next digit: nothing but reading shows it."""
    for estimator in jury.jurors_["rf"].steps[1][1].estimators_:
        state = estimator.tree_.__getstate__()
        estimator.tree_.__setstate__({**state, "values": np.ascontiguousarray(np.roll(state["values"], 1, axis=2))})
    return jury


# -- the checks ---------------------------------------------------------------------------------------

def test_the_reference_digits_are_our_own_plain_drawings_normalised_as_the_app_does():
    pixels, labels = reference_digits()
    made = made_reference_digits()
    assert np.array_equal(pixels, made["pixels"]) and np.array_equal(labels, made["labels"])
    assert np.bincount(labels).tolist() == [6] * 10


def test_the_shipped_jury_is_built_as_we_build_it(classifier):
    check_structure(classifier.jury)


def test_a_constant_seven_forest_behind_a_function_transformer_is_refused_at_load(small_models, tmp_path):
    folder = saved(constant_seven(jury_of(small_models)), small_models, tmp_path)
    assert not set(sio.get_untrusted_types(file=folder / MODEL_FILE)) - set(TRUSTED_TYPES)  # skops lets it in
    with pytest.raises(ModelError, match="DummyClassifier, which this project does not build"):
        load_checked_model(folder)


def test_a_jury_trained_before_the_slant_is_still_built_as_we_build_it():
    # Promotions on the Hub from before issue 21's slant have the deskewed views as their whole front.
    pixels, labels = reference_digits()  # 6 of each digit
    front = build_front().transformer_list[0][1]
    old = Jury(front=front, jurors=build_jurors(knn_candidates=5, n_jobs=1)).fit(pixels, labels)
    check_structure(_without_routing_requests(for_serving(old)))  # as save_model writes it


def test_a_slant_weight_that_is_not_a_number_is_refused_at_load(small_models, tmp_path):
    jury = jury_of(small_models)
    jury.front_.transformer_list[1][1].weight = float("nan")
    with pytest.raises(ModelError, match="slant weight nan is not a finite number"):
        load_checked_model(saved(jury, small_models, tmp_path))


def _knn_with(**settings) -> callable:
    def tamper(jury: Jury) -> Jury:
        knn = jury.jurors_["knn"]
        for name, value in settings.items():
            setattr(knn, name, value)
        return jury
    return tamper


@pytest.mark.parametrize("tamper, reason", [
    (_knn_with(doubt=2.0), "trained with {'doubt': 2.0, 'slant': 0.0}, settings this code no longer reads"),
    (_knn_with(slant=1.0), "trained with {'doubt': None, 'slant': 1.0}, settings this code no longer reads"),
    (_knn_with(doubt=None, slant=0.0, typical_distance_=3.5), None),  # as older files hold them: read
], ids=["doubting", "leaning", "neutral"])
def test_a_knn_trained_with_the_retired_doubt_or_slant_is_refused_at_load(small_models, tmp_path, tamper, reason):
    folder = saved(tamper(jury_of(small_models)), small_models, tmp_path)
    if reason is None:
        assert load_checked_model(folder).classifier.jury.jurors_["knn"].doubt is None
        return
    with pytest.raises(ModelError, match=re.escape(reason)):
        load_checked_model(folder)


@pytest.mark.parametrize("tamper, reason", [(pointing_outside, "child index outside its"),
                                            (root_its_own_child, "at or before its parent")])
def test_a_tree_that_would_crash_or_hang_is_refused_before_it_is_read(small_models, tmp_path, tamper, reason):
    with pytest.raises(ModelError, match=reason):
        load_checked_model(saved(tamper(jury_of(small_models)), small_models, tmp_path))


def test_a_crash_or_a_hang_while_reading_costs_only_the_child(small_models):
    # Past the structure check, as a flaw it did not foresee would be: both children run at once.
    crashing, looping = ReadingTrial(), ReadingTrial()
    with pytest.raises(Refused, match="crashed its process .SIGSEGV"):
        crashing.read(pointing_outside(jury_of(small_models)))
    with pytest.raises(Refused, match="did not read the reference digits within 2 s"):
        looping.read(root_its_own_child(jury_of(small_models)), seconds=2)


def test_a_card_claiming_poor_figures_does_not_lower_the_bar_below_the_floor():
    check_reading({"jury": 0.9, "rf": 0.9}, ModelCard(metrics={"canvas_validation_accuracy": 0.95}))
    with pytest.raises(Refused, match="the jury reads 80% .*card says 99.6%; 90% needed"):
        check_reading({"jury": 0.8}, ModelCard(metrics={"canvas_validation_accuracy": 0.996}))
    with pytest.raises(Refused, match="the rf juror reads 60%"):
        check_reading({"jury": 0.95, "rf": 0.6}, ModelCard(metrics={"canvas_validation_accuracy": 0.95,
                                                                    "canvas_validation_juror_accuracy": {"rf": 0.1}}))
    with pytest.raises(Refused, match="gives no figure"):
        check_reading({"jury": FLOOR - 0.01}, ModelCard())


def test_a_promotion_that_misreads_is_refused_in_one_line_and_the_jury_serving_stays(small_models, tmp_path, caplog):
    folder = tmp_path / "models"
    shutil.copytree(small_models, folder)
    slot = ModelSlot(folder)
    slot.serve(folder, load_model(folder))
    serving = slot.get()
    saved(forest_reading_the_next_digit(jury_of(small_models)), small_models, tmp_path / "next")
    shutil.copy(tmp_path / "next" / MODEL_FILE, folder / MODEL_FILE)
    (folder / CARD_FILE).write_text((folder / CARD_FILE).read_text() + "\n")  # a new card: a promotion
    caplog.clear()
    with caplog.at_level(logging.ERROR, logger="digit.model.store"):
        assert slot.get() is serving
        assert slot.get() is serving  # refused once, not checked again at every request
    (line,) = caplog.messages
    # The rf juror reads 10 %; so does the jury when its weights lean on the forest (they are chosen on validation).
    assert re.search(r"(the jury|the rf juror) reads \d+% of the reference digits", line)
    assert f"still serving model {serving.classifier.version}" in line


def test_the_reading_trial_is_skipped_only_for_the_very_jury_and_card_a_reader_checked(small_models, tmp_path):
    vouched = load_checked_here(small_models).digest  # as the reader started at launch checks the folder's jury
    assert load_checked_model(small_models, checked=vouched).digest == vouched
    misreading = saved(forest_reading_the_next_digit(jury_of(small_models)), small_models, tmp_path / "bad")
    with pytest.raises(ModelError, match="reads .* of the reference digits"):  # other bytes: read again, refused
        load_checked_model(misreading, checked=vouched)
    # The digest is a reader's word for the bytes it read: for those, the server does not read them again.
    its_own = load_model(misreading).digest
    assert load_checked_model(misreading, checked=its_own).digest == its_own
    card = misreading / CARD_FILE
    card.write_text(card.read_text().replace('"version": "', '"version": "x'))
    assert load_model(misreading).digest != its_own  # the card is part of what was checked


def test_a_refused_model_repo_commit_is_never_fetched_again(small_models, tmp_path, monkeypatch, caplog):
    # (A sound jury promoted to the repo is served: tests/test_retrain_hub.py.)
    hub = LocalHub(free_port(), TOKEN).start()
    try:
        for key, value in {**hub.env(), "HF_TOKEN": TOKEN}.items():
            monkeypatch.setenv(key, value)
        api = HfApi(endpoint=hub.endpoint, token=TOKEN)
        api.create_repo("team/jury")
        api.upload_folder(folder_path=saved(pointing_outside(jury_of(small_models)), small_models, tmp_path / "bad"),
                          repo_id="team/jury")
        bad = hub.head("team/jury", "model")
        cache, shipped = tmp_path / "cache", ModelSlot(small_models)

        with caplog.at_level(logging.ERROR, logger="digit.model.hub"):
            follower = HubModelFollower(shipped, "team/jury", cache, poll_minutes=60)
            assert not follower.check() and not follower.check()  # at start, then a poll
            assert not HubModelFollower(shipped, "team/jury", cache, poll_minutes=60).check()  # a restart
        assert hub.state.requests["cdn"] == 1 and "child index outside" in refused_commits(cache)[bad]
        assert [path.name for path in cache.iterdir()] == ["refused.json"]  # the refused files are gone
        assert len(caplog.messages) == 2 and "will not be fetched again" in caplog.messages[0]
        assert "was refused before" in caplog.messages[1] and shipped.folder == small_models
        assert not hub.state.unknown
    finally:
        hub.stop()


def test_an_app_whose_only_jury_is_tampered_exits_with_one_clear_line(small_models, tmp_path):
    bad = saved(constant_seven(jury_of(small_models)), small_models, tmp_path / "bad")
    with pytest.raises(RuntimeError, match="exited with 1"):
        with running_app(tmp_path / "app", models=bad):
            pass
    lines = (tmp_path / "app" / "app.log").read_text().strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("not starting: refusing ") and "DummyClassifier" in lines[0], lines
