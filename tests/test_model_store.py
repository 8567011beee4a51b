"""The shipped jury: small, described by its card, and safe to load. (How quickly it loads is
measured, not tested here: `python -m training.evaluate --json` reports it, on a quiet machine.)"""

from __future__ import annotations

import json
import shutil
import zipfile

import pytest
import skops.io as sio
from sklearn.preprocessing import FunctionTransformer

from digit.config import model_dir
from digit.model.card import ModelCard
from digit.model.hub import HubModelFollower
from testing.local_app import free_port
from digit.model.store import (CARD_FILE, MODEL_FILE, README_FILE, TRUSTED_TYPES, ModelError, ModelSlot, load_model,
                               read_card)


def test_shipped_model_files_are_small_and_described_by_the_card():
    folder = model_dir()
    total = sum(path.stat().st_size for path in folder.iterdir() if path.is_file())
    assert total <= 20 * 1024 * 1024
    card = read_card(folder)
    assert card.version
    assert card.files[MODEL_FILE] == (folder / MODEL_FILE).stat().st_size
    assert card.metric("mnist_test_accuracy") >= 0.99
    assert 0.98 <= card.metric("validation_accuracy") <= 1
    assert card.data["mnist_train"] + card.data["mnist_validation"] == 60_000  # all of MNIST's training set
    assert card.data["final_fit"] == ["knn", "rf"]
    assert card.metric("canvas_report_accuracy") >= 0.95


def test_every_card_written_so_far_loads_and_is_written_back_as_it_was():
    shipped = json.loads((model_dir() / CARD_FILE).read_text())
    promoted = {**shipped, "data": {**shipped["data"], "feedback_repo": "team/feedback", "feedback_revision": "abc"},
                "parent_version": "20261101-000000", "history": [{"version": "20261101-000000", "test": 0.99}],
                "a_key_of_a_later_version": {"kept": True}}
    for raw in (shipped, promoted):
        card = ModelCard.from_json(json.dumps(raw))
        assert card.to_dict() == raw and json.loads(card.to_json()) == raw
    card = ModelCard.from_json(json.dumps(promoted))
    assert card.parent_version == "20261101-000000" and card.history[0]["test"] == 0.99


def test_a_card_missing_keys_or_holding_wrong_types_loads_with_defaults():
    assert ModelCard.from_json("not json") == ModelCard() == ModelCard.from_dict([1, 2])
    card = ModelCard.from_dict({"version": 7, "metrics": {"validation_accuracy": True, "mnist_test_accuracy": 0.99},
                                "history": "none", "files": None})
    assert card.version is None and card.history == () and card.files == {}
    assert card.metric("validation_accuracy") is None and card.metric("mnist_test_accuracy") == 0.99


def test_a_model_file_with_foreign_types_is_refused(tmp_path):
    # A FunctionTransformer can call any function on load-time use: exactly what we refuse.
    sio.dump(FunctionTransformer(print), tmp_path / MODEL_FILE)
    with pytest.raises(ModelError, match="did not write"):
        load_model(tmp_path)


def test_a_corrupt_model_file_gives_a_clear_error(tmp_path):
    shutil.copy(model_dir() / CARD_FILE, tmp_path / CARD_FILE)
    (tmp_path / MODEL_FILE).write_bytes(b"PK\x03\x04 this is not a zip archive")
    with pytest.raises(ModelError, match="cannot load"):
        load_model(tmp_path)


def test_a_missing_model_says_how_to_make_one(tmp_path):
    with pytest.raises(ModelError, match="make train"):
        load_model(tmp_path)


def test_the_shipped_file_is_a_skops_archive_not_a_pickle():
    assert zipfile.is_zipfile(model_dir() / MODEL_FILE)


def test_the_trusted_types_are_exactly_those_the_shipped_file_holds():
    assert sorted(sio.get_untrusted_types(file=model_dir() / MODEL_FILE)) == sorted(TRUSTED_TYPES)


def test_the_model_card_is_also_a_hub_readme_with_the_figures():
    readme = (model_dir() / README_FILE).read_text()
    card = read_card()
    assert readme.startswith("---\n") and "model-index" in readme and "library_name: sklearn" in readme
    assert card.version in readme
    assert f"{card.metric('mnist_test_accuracy'):.2%}" in readme


def test_with_the_model_repo_unreachable_the_shipped_jury_keeps_serving(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_ENDPOINT", f"http://127.0.0.1:{free_port()}")  # nothing listens there: the Hub is down
    slot = ModelSlot()  # as the app's: MODEL_DIR until a jury comes from the Hub
    follower = HubModelFollower(slot, "team/jury", tmp_path / "cache", poll_minutes=60)
    assert not follower.check()  # at start: no exception, nothing fetched, the reason kept for the log
    assert follower.error.startswith("ConnectError") and follower.revision is None, follower.error
    assert slot.folder is None and not (tmp_path / "cache").exists()
