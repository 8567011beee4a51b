"""The feedback dataset on disk: layout, refusals, visitors and their limits, concurrency,
crash safety, merging, older layouts. (A full disk: tests/test_feedback_disk.py.)"""

from __future__ import annotations

import io
import json
import multiprocessing
from concurrent.futures import ThreadPoolExecutor
from multiprocessing.synchronize import Event as EventType
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest
from datasets import load_dataset
from PIL import Image

from testing.renderings import draw_strokes, jittered_strokes
from digit.feedback import DailyLimit, DuplicateSample, FeedbackError, FeedbackStore, sample_of
from digit.feedback.merging import FANOUT, SHARD_ROWS, merge_plan
from digit.feedback.samples import rows_in, shard_name
from digit.reading.images import BadImage
from helpers import stored_samples
from old_feedback import write_old_shard

ALICE, BOB = "anon:0123456789abcdef", "hf:bob"


def sketch(digit: int = 3, size: int = 400) -> np.ndarray:
    return draw_strokes(digit, canvas=(size, size))


def png(pixels: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="PNG")
    return buffer.getvalue()


@pytest.fixture
def store(tmp_path):
    store = FeedbackStore(tmp_path / "feedback", repo_id="", token="")
    store.setup()
    return store


def test_saved_samples_load_as_a_dataset_with_the_contract_columns(store):
    store.save(sample_of(sketch(3), 3, predicted=8, confidence=0.61, model_version="v1", source="sketch"))
    store.save(sample_of(sketch(7, size=1200), "7", source="upload"))
    data = load_dataset(str(store.folder), split="train")
    assert len(data) == 2
    assert {"image", "label", "predicted", "confidence", "model_version", "source", "created_at"} <= set(
        data.column_names)
    assert data.features["label"].names == [str(digit) for digit in range(10)]  # a ClassLabel
    rows = sorted(data, key=lambda row: row["label"])
    assert [row["label"] for row in rows] == [3, 7]
    assert rows[0]["predicted"] == 8 and rows[0]["source"] == "sketch" and rows[0]["model_version"] == "v1"
    assert rows[0]["image"].mode == "RGBA" and rows[0]["image"].size == (400, 400)
    assert max(rows[1]["image"].size) == 512  # capped from 1200 px


def test_the_stored_image_is_the_input_as_sent(store):
    picture = sketch(5)
    sample_id = store.save(sample_of(picture, 5))
    stored = np.asarray(Image.open(__import__("io").BytesIO(store.images([sample_id])[sample_id])))
    assert np.array_equal(stored, picture)


@pytest.mark.parametrize("label", [-1, 10, 3.5, 0.5, -0.4, 9.4, True, False, float("nan"), float("inf"), "seven",
                                   "3.5", "", " ", None, "12", [3], {"digit": 3}])
def test_a_digit_that_is_not_exactly_0_to_9_is_refused_with_the_reason(store, label):
    with pytest.raises(FeedbackError, match="0-9|missing") as error:
        store.save(sample_of(sketch(), label))
    assert str(error.value)  # never an empty reason
    assert store.count() == 0


@pytest.mark.parametrize("label, stored", [(4, 4), (4.0, 4), ("4", 4), (" 4 ", 4), (np.int64(4), 4), (0, 0), ("9", 9)])
def test_a_digit_given_as_a_number_or_a_string_is_stored_as_that_digit(store, label, stored):
    store.save(sample_of(sketch(), label))
    assert store.records()[-1]["label"] == stored


def test_a_blank_image_is_refused(store):
    with pytest.raises(FeedbackError, match="no digit"):
        store.save(sample_of(np.zeros((300, 300, 4), np.uint8), 4))
    assert store.count() == 0


def test_an_oversized_or_broken_file_is_refused(store, tmp_path):
    huge = tmp_path / "huge.png"
    huge.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * (21 * 1024 * 1024))
    with pytest.raises(BadImage, match="too large"):
        store.save(sample_of(str(huge), 4))
    with pytest.raises(BadImage):
        store.save(sample_of(b"<html></html>", 4))
    assert store.count() == 0


def test_twenty_people_flagging_at_once_are_each_recorded_exactly_once(store):
    def flag(person: int) -> str:
        return store.save(sample_of(sketch(person % 10), person % 10, source="sketch", visitor=f"anon:{person:016x}"))

    with ThreadPoolExecutor(max_workers=20) as pool:
        ids = list(pool.map(flag, range(20)))
    assert sorted(record["id"] for record in store.records()) == sorted(ids)
    data = load_dataset(str(store.folder), split="train")
    assert sorted(data["id"]) == sorted(ids)
    labels = dict(zip(data["visitor"], data["label"]))
    assert labels == {f"anon:{person:016x}": person % 10 for person in range(20)}  # each with the label they sent


def _flag_in_this_process(folder: Path, digit: int, start: EventType) -> None:
    store = FeedbackStore(folder, repo_id="")
    store.setup()
    start.wait(30)
    store.save(sample_of(sketch(digit), digit))


def test_two_processes_write_separate_files_and_both_load(tmp_path):
    # Forked, not spawned: a child starts in milliseconds with the imports done, and is still
    # another process with its own store, lock and memory.
    context = multiprocessing.get_context("fork")
    start = context.Event()
    writers = [context.Process(target=_flag_in_this_process, args=(tmp_path, digit, start)) for digit in (1, 2)]
    for writer in writers:
        writer.start()
    start.set()  # both write at once
    for writer in writers:
        writer.join(60)
    assert [writer.exitcode for writer in writers] == [0, 0]
    assert sorted(rows_in(name) for name in FeedbackStore(tmp_path, repo_id="").shards()) == [1, 1]
    assert sorted(load_dataset(str(tmp_path), split="train")["label"]) == [1, 2]
    here = FeedbackStore(tmp_path, repo_id="")
    here.setup()
    assert sorted(record["label"] for record in here.records()) == [1, 2]


def test_the_count_is_kept_not_recounted(store):
    for digit in range(3):
        store.save(sample_of(sketch(digit), digit))
    for path in store.data.glob("*.parquet"):
        path.unlink()  # the count does not read the files again
    assert store.count() == 3


def test_a_half_written_shard_from_a_crash_is_dropped_on_restart(store):
    store.save(sample_of(sketch(5), 5))
    (store.data / ".20261127T000000000000Z-deadbeef-r1.parquet.tmp").write_bytes(b"PAR1 half")
    (store.folder / ".sync").mkdir()
    (store.folder / ".sync" / "state.tmp").write_text('{"repo_id": "x", "pus')
    (store.folder / ".sync" / ".state.json.0123abcd.tmp").write_text('{"repo_id": "x", "pus')
    (store.folder / ".votes-writer.0123abcd.tmp").write_text("0123")  # digit/atomic.py's temporary names
    again = FeedbackStore(store.folder, repo_id="")
    again.setup()
    assert [record["label"] for record in again.records()] == [5]
    assert not [path for path in store.folder.rglob("*") if path.name.endswith(".tmp")]
    assert len(load_dataset(str(store.folder), split="train")) == 1


def test_a_merge_interrupted_after_writing_is_finished_on_restart(store):
    for digit in range(4):
        store.save(sample_of(sketch(digit), digit))
    inputs = store.shards()
    with store.folder_lock():
        merged = store.merge(inputs)
    for name in inputs:  # as if the process died after writing the merged shard, before deleting
        table = pq.read_table(store.data / merged).slice(0, 1)
        pq.write_table(table, store.data / name)
    again = FeedbackStore(store.folder, repo_id="")
    again.setup()
    assert again.shards() == [merged]
    assert sorted(record["label"] for record in again.records()) == [0, 1, 2, 3]


def test_many_flags_end_in_few_files(store):
    for index in range(3 * FANOUT + 3):
        store.save(sample_of(sketch(index % 10), index % 10))
    assert store.count() == 3 * FANOUT + 3
    assert len(store.shards()) < 2 * FANOUT
    assert sum(rows_in(name) for name in store.shards()) == store.count()
    assert len(load_dataset(str(store.folder), split="train")) == store.count()


def test_the_merge_plan_keeps_fewer_than_fanout_shards_per_size_class():
    names = [shard_name(rows) for rows in [1] * 25 + [40] * 9 + [300] * 12]
    plan = merge_plan(names)
    merged = {name for group in plan for name in group}
    assert len(plan) == 2 and len(merged) == 25 + 12  # the singles and the 300s; the nine 40s wait
    final = [shard_name(SHARD_ROWS) for _ in range(FANOUT + 5)]
    assert merge_plan(final) == []  # full shards are never merged again
    # However many samples, the files stay few: simulate 100,000 flags merged as they come.
    shards: list[int] = []
    for _ in range(100_000 // 50):
        shards.append(50)  # a push of 50 samples
        while True:
            plan = merge_plan([shard_name(rows) for rows in shards])
            if not plan:
                break
            group = [rows_in(name) for name in plan[0]]
            for rows in group:
                shards.remove(rows)
            shards.append(sum(group))
    assert len(shards) <= 100_000 / SHARD_ROWS + 3 * FANOUT


def test_the_old_image_folder_layout_is_converted_once(tmp_path):
    old = tmp_path / "data" / "20261127-120000-abcd1234"
    old.mkdir(parents=True)
    lines = []
    for index, digit in enumerate((4, 7)):
        Image.fromarray(sketch(digit)).save(old / f"{index:032x}.png")
        lines.append(json.dumps({"file_name": f"{index:032x}.png", "label": digit, "predicted": 1, "confidence": 0.5,
                                 "model_version": "old", "source": "sketch", "created_at": "2026-11-27T12:00:00"}))
    (old / "metadata.jsonl").write_text("\n".join(lines) + "\n" + '{"file_name": "torn')
    store = FeedbackStore(tmp_path, repo_id="")
    store.setup()
    assert not old.exists()
    assert sorted(record["label"] for record in store.records()) == [4, 7]
    assert len(load_dataset(str(tmp_path), split="train")) == 2


def test_each_sample_says_who_sent_it_and_loads_with_a_visitor_column(store):
    store.save(sample_of(sketch(3), 3, predicted=8, confidence=0.6, source="sketch", visitor=ALICE))
    store.save(sample_of(sketch(4), 4, predicted=9, confidence=0.5, source="api", visitor=BOB))
    store.save(sample_of(sketch(5), 5, predicted=5, confidence=0.9, source="sketch"))  # a caller that says no one
    rows = sorted(stored_samples(store.folder), key=lambda row: row["label"])
    assert [row["visitor"] for row in rows] == [ALICE, BOB, "unknown"]
    assert all(len(row["digit_hash"]) == 64 for row in rows)
    assert [record["visitor"] for record in store.records()] == [ALICE, BOB, "unknown"]


@pytest.mark.parametrize("visitor", ["203.0.113.7", "anon:203.0.113.7", "anon:XYZ", "hf:", "hf:a b", "", 7])
def test_a_visitor_that_is_not_a_hash_or_a_username_is_refused_without_repeating_it(store, visitor):
    with pytest.raises(ValueError) as error:
        store.save(sample_of(sketch(), 3, visitor=visitor))
    assert "203.0.113.7" not in str(error.value)  # never echo what may be an address
    assert store.count() == 0


def test_a_visitor_past_the_daily_cap_is_told_why_and_others_are_not_held(tmp_path):
    store = FeedbackStore(tmp_path, repo_id="", per_day=5)
    store.setup()
    rng = np.random.default_rng(0)
    refusals = []
    for index in range(8):
        try:
            store.save(sample_of(jittered_strokes(index % 10, rng), index % 10, visitor=ALICE))
        except DailyLimit as error:
            refusals.append(str(error))
    assert store.count() == 5 and len(refusals) == 3
    assert all("5 corrections in the last 24 hours" in reason for reason in refusals)
    store.save(sample_of(jittered_strokes(1, rng), 1, visitor=BOB))  # another person
    for index in range(6):  # nobody to hold to a cap: the retraining weighs "unknown" as one visitor
        store.save(sample_of(jittered_strokes(index, rng), index))
    again = FeedbackStore(tmp_path, repo_id="", per_day=5)  # a restart keeps the count
    again.setup()
    with pytest.raises(DailyLimit):
        again.save(sample_of(jittered_strokes(9, rng), 9, visitor=ALICE))
    assert again.count() == 12


def test_the_same_drawing_sent_again_by_one_visitor_is_kept_once_and_they_are_told(store):
    drawing = sketch(7)
    first = store.save(sample_of(png(drawing), 7, visitor=ALICE))
    jpeg = io.BytesIO()
    Image.fromarray(255 - drawing[..., 3]).save(jpeg, format="JPEG", quality=95)  # re-encoded: the same digit
    for again in (png(drawing), jpeg.getvalue()):
        with pytest.raises(DuplicateSample, match="already sent this drawing as a 7") as error:
            store.save(sample_of(again, "7", visitor=ALICE))
        assert error.value.sample_id == first
    store.save(sample_of(png(drawing), 1, visitor=ALICE))  # the same drawing said to be another digit
    store.save(sample_of(png(drawing), 7, visitor=BOB))  # someone else's
    store.save(sample_of(png(sketch(1)), 7, visitor=ALICE))  # another drawing
    assert store.count() == 4
    again = FeedbackStore(store.folder, repo_id="")
    again.setup()
    with pytest.raises(DuplicateSample):  # known after a restart too
        again.save(sample_of(png(drawing), 7, visitor=ALICE))


def test_shards_from_before_the_visitor_column_are_rewritten_and_the_folder_still_loads(tmp_path):
    for index, digit in enumerate((2, 6)):
        write_old_shard(tmp_path, [sketch(digit)], [digit], prefix=f"old{index}-")
    store = FeedbackStore(tmp_path, repo_id="")
    store.setup()
    store.save(sample_of(sketch(4), 4, visitor=ALICE))
    rows = sorted(stored_samples(tmp_path), key=lambda row: row["label"])  # datasets refuses mixed columns
    assert [(row["id"], row["visitor"]) for row in rows[::2]] == [("old0-0", "unknown"), ("old1-0", "unknown")]
    assert rows[1]["visitor"] == ALICE and len(store.shards()) == 3


def test_a_sample_is_stored_as_its_reading_kept_it_without_normalising_it_again(store, monkeypatch):
    kept = sample_of(sketch(3), predicted=3, confidence=0.9, source="sketch")  # as a reading keeps it: no label yet
    monkeypatch.setattr("digit.feedback.samples.normalize", lambda *_: pytest.fail("normalised again"))
    monkeypatch.setattr("digit.feedback.samples.read_picture", lambda *_: pytest.fail("decoded again"))
    sample_id = store.save(kept.flagged("3", ALICE))
    (row,) = stored_samples(store.folder)
    assert (row["id"], row["label"], row["visitor"], row["predicted"]) == (sample_id, 3, ALICE, 3)
    assert np.array_equal(np.asarray(row["digit"]), kept.digit)


STROKES_DRAWN = [[[200, 210, 300], [100, 101, 102], [0, 16, 40]], [[250, 240], [90, 300], [400, 480]]]


def test_a_drawings_strokes_are_stored_as_drawn_and_a_picture_has_none(store):
    store.save(sample_of(sketch(7), 7, source="sketch", visitor=ALICE).drawn(STROKES_DRAWN))
    store.save(sample_of(sketch(4), 4, source="upload", visitor=ALICE))
    rows = sorted(stored_samples(store.folder), key=lambda row: row["label"])
    assert [row["strokes"] for row in rows] == [[], STROKES_DRAWN]


def test_strokes_the_pad_would_not_send_are_refused_and_nothing_is_stored(store):
    with pytest.raises(FeedbackError, match="times go back"):
        store.save(sample_of(sketch(7), 7, source="sketch").drawn([[[1, 2], [1, 2], [9, 3]]]))
    assert store.count() == 0


def test_shards_from_before_the_strokes_column_gain_it_empty_and_the_folder_still_loads(tmp_path):
    write_old_shard(tmp_path, [sketch(2)], [2])
    store = FeedbackStore(tmp_path, repo_id="")
    store.setup()
    store.save(sample_of(sketch(4), 4, visitor=ALICE).drawn(STROKES_DRAWN))
    rows = sorted(stored_samples(tmp_path), key=lambda row: row["label"])
    assert [row["strokes"] for row in rows] == [[], STROKES_DRAWN]
