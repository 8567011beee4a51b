"""The feedback dataset on disk: layout, refusals, concurrency, crash safety, the push."""

from __future__ import annotations

import json
import logging
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
from datasets import load_dataset
from PIL import Image

from bench.local_app import free_port
from bench.renderings import draw_strokes
from digit.feedback import FeedbackError, FeedbackStore, Sample
from digit.images import BadImage
from helpers import wait_for
from local_hub import LocalHub


def sketch(digit: int = 3, size: int = 400) -> np.ndarray:
    return draw_strokes(digit, canvas=(size, size))


@pytest.fixture
def store(tmp_path):
    store = FeedbackStore(tmp_path / "feedback", repo_id="", token="")
    store.setup()
    yield store
    store.close()


def test_saved_samples_load_as_a_dataset_with_the_contract_columns(store):
    store.save(Sample(sketch(3), 3, predicted=8, confidence=0.61, model_version="v1", source="sketch"))
    store.save(Sample(sketch(7, size=1200), "7", source="upload"))
    data = load_dataset(str(store.folder), split="train")
    assert len(data) == 2
    assert {"image", "label", "predicted", "confidence", "model_version", "source", "created_at"} <= set(
        data.column_names)
    rows = sorted(data, key=lambda row: row["label"])
    assert [row["label"] for row in rows] == [3, 7]
    assert rows[0]["predicted"] == 8 and rows[0]["source"] == "sketch" and rows[0]["model_version"] == "v1"
    assert rows[0]["image"].mode == "RGBA" and rows[0]["image"].size == (400, 400)
    assert max(rows[1]["image"].size) == 512  # capped from 1200 px


@pytest.mark.parametrize("label", [-1, 10, 3.5, "seven", None, "12"])
def test_a_label_outside_0_to_9_is_refused(store, label):
    with pytest.raises(FeedbackError, match="0-9"):
        store.save(Sample(sketch(), label))
    assert store.count() == 0


def test_a_blank_image_is_refused(store):
    with pytest.raises(FeedbackError, match="no digit"):
        store.save(Sample(np.zeros((300, 300, 4), np.uint8), 4))
    assert store.count() == 0


def test_an_oversized_or_broken_file_is_refused(store, tmp_path):
    huge = tmp_path / "huge.png"
    huge.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * (21 * 1024 * 1024))
    with pytest.raises(BadImage, match="too large"):
        store.save(Sample(str(huge), 4))
    with pytest.raises(BadImage):
        store.save(Sample(b"<html></html>", 4))
    assert store.count() == 0


def test_twenty_people_flagging_at_once_are_each_recorded_exactly_once(store):
    def flag(person: int) -> str:
        return store.save(Sample(sketch(person % 10), person % 10, source="sketch"))

    with ThreadPoolExecutor(max_workers=20) as pool:
        names = list(pool.map(flag, range(20)))
    records = store.records()
    assert sorted(record["file_name"] for record in records) == sorted(names)
    assert len(load_dataset(str(store.folder), split="train")) == 20
    assert store.per_digit() == {digit: 2 for digit in range(10)}


def test_two_processes_write_separate_files_and_both_load(tmp_path):
    first, second = FeedbackStore(tmp_path, repo_id=""), FeedbackStore(tmp_path, repo_id="")
    first.setup()
    second.setup()
    first.save(Sample(sketch(1), 1))
    second.save(Sample(sketch(2), 2))
    assert len(load_dataset(str(tmp_path), split="train")) == 2


def test_a_torn_metadata_line_from_a_crash_is_cut_on_restart(store):
    store.save(Sample(sketch(5), 5))
    metadata = next(store.folder.glob("data/*/metadata.jsonl"))
    with open(metadata, "a") as handle:
        handle.write('{"file_name": "half-writ')  # the process died mid-append: never acknowledged
    FeedbackStore(store.folder, repo_id="").setup()
    assert [record["label"] for record in store.records()] == [5]
    assert len(load_dataset(str(store.folder), split="train")) == 1


def test_the_flagging_callback_interface_returns_the_count(store):
    assert store.flag([sketch(6), 6, 5, 0.4, "v1", "sketch"]) == 1
    assert store.flag([sketch(9), 9]) == 2


def test_push_survives_the_hub_being_down_and_never_sends_a_sample_twice(tmp_path, monkeypatch, caplog):
    token = "hf_secret_token_for_tests"
    hub = LocalHub(free_port(), token)
    monkeypatch.setenv("HF_ENDPOINT", hub.endpoint)
    caplog.set_level(logging.DEBUG)
    store = FeedbackStore(tmp_path / "fb", repo_id="team/feedback", token=token, every_minutes=0.02,
                          retry_seconds=0.5)
    store.setup()  # the Hub is down: the app starts anyway and keeps samples locally
    try:
        for digit in range(3):
            store.save(Sample(sketch(digit), digit))
        assert store.scheduler is None and store.count() == 3
        assert wait_for(lambda: "refused" in (store.push_error or ""), seconds=10)

        hub.start()  # the Hub comes up: the scheduler starts and pushes what was queued
        assert wait_for(lambda: store.scheduler is not None)
        assert wait_for(lambda: _pushed_labels(hub) == [0, 1, 2])

        hub.stop()  # down again, while people keep flagging
        for digit in range(3, 6):
            store.save(Sample(sketch(digit), digit))
        time.sleep(2)
        hub.start()  # back: the next scheduled push catches up
        assert wait_for(lambda: _pushed_labels(hub) == [0, 1, 2, 3, 4, 5], seconds=90)
    finally:
        store.close()
        hub.stop()
    files = hub.state.repos["team/feedback"]
    images = [path for path in files if path.endswith(".png")]
    assert len(images) == len(set(images)) == 6
    pushed_images = [path for commit in hub.state.commits for path in commit["paths"] if path.endswith(".png")]
    assert sorted(pushed_images) == sorted(images)  # each image uploaded exactly once
    assert hub.state.refused == 0 and not hub.state.unknown
    assert token not in caplog.text


def _pushed_labels(hub: LocalHub) -> list[int]:
    files = hub.state.repos.get("team/feedback", {})
    labels = []
    for path, content in files.items():
        if path.endswith("metadata.jsonl"):
            labels += [json.loads(line)["label"] for line in content.decode().splitlines() if line]
    return sorted(labels)


def test_a_wrong_token_keeps_samples_queued_and_is_never_shown(tmp_path, monkeypatch, caplog):
    hub = LocalHub(free_port(), "the-right-token").start()
    monkeypatch.setenv("HF_ENDPOINT", hub.endpoint)
    caplog.set_level(logging.DEBUG)
    store = FeedbackStore(tmp_path / "fb", repo_id="team/feedback", token="hf_wrong_token_value",
                          retry_seconds=0.3)
    store.setup()
    try:
        store.save(Sample(sketch(8), 8))
        assert wait_for(lambda: hub.state.refused >= 2, seconds=30)
        assert store.scheduler is None and store.count() == 1
        assert "hf_wrong_token_value" not in (store.push_error or "")
        assert "hf_wrong_token_value" not in caplog.text and "hf_wrong_token_value" not in repr(store)
    finally:
        store.close()
        hub.stop()
