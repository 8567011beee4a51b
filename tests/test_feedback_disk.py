"""A full disk, for real: the feedback folder on a 3 MB tmpfs filled by flags.

Needs root to mount (CI runs as root); elsewhere the test skips and says why (the small_disk fixture is in conftest.py).
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

from testing.renderings import jittered_strokes
from digit.feedback import DiskFull, FeedbackStore, sample_of
from digit.feedback.merging import FANOUT, merge_plan
from helpers import stored_samples

DISK_FULL = "the server's disk is full; your correction was not saved"


def temporary_files(folder: Path) -> list[Path]:
    return [path for path in folder.rglob("*") if path.name.endswith(".tmp")]


def test_a_full_disk_refuses_flags_clearly_loses_nothing_acknowledged_and_recovers(small_disk, caplog):
    store = FeedbackStore(small_disk / "feedback", repo_id="", token="", per_day=0)
    store.setup()
    ballast = small_disk / "ballast"
    with open(ballast, "wb") as handle:  # most of the disk taken: a few dozen flags fill the rest
        handle.write(b"\0" * (2_700 * 1024))
    rng = np.random.default_rng(0)
    acknowledged, refusals = [], []
    with caplog.at_level(logging.WARNING, logger="digit.feedback.store"):
        while len(refusals) < 5:
            index = len(acknowledged) + len(refusals)
            try:
                acknowledged.append(store.save(sample_of(jittered_strokes(index % 10, rng, canvas=300), index % 10,
                                                      visitor=f"anon:{index:016x}")))
            except DiskFull as error:
                refusals.append(str(error))
            assert not temporary_files(small_disk), "a temporary file was left behind"
            assert index < 400, "the disk never filled"
    assert refusals == [DISK_FULL] * 5  # every failure says so, in words
    merges_failed = [record for record in caplog.records if "merging feedback shards failed" in record.message]
    assert merges_failed, "the disk filled before any merge failed: the test did not reach the merge path"
    assert len(acknowledged) >= FANOUT  # flags were acknowledged while merges were failing
    assert store.count() == len(acknowledged)
    assert set(store.images(acknowledged[-1:])) == set(acknowledged[-1:])  # reading goes on

    ballast.unlink()  # space freed: flags succeed again, and the postponed merges are done
    for digit in range(3):
        acknowledged.append(store.save(sample_of(jittered_strokes(digit, rng, canvas=300), digit, visitor="hf:after")))
    assert not merge_plan(store.shards()) and not temporary_files(small_disk)
    restarted = FeedbackStore(small_disk / "feedback", repo_id="", token="")
    restarted.setup()
    assert sorted(record["id"] for record in restarted.records()) == sorted(acknowledged)
    assert sorted(row["id"] for row in stored_samples(small_disk / "feedback")) == sorted(acknowledged)
