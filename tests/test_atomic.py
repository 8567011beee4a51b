"""A file is written whole or not at all (digit/atomic.py), and no temporary file stays behind."""

from __future__ import annotations

import errno
import os
import subprocess
import sys

import pytest

from digit.atomic import write_text, written_whole


def test_a_failed_write_keeps_the_old_content_and_leaves_no_temporary_file(tmp_path):
    path = tmp_path / "state.json"
    write_text(path, "old")
    with pytest.raises(OSError, match="No space"):
        with written_whole(path) as staged:
            staged.write_text("half of the n")
            raise OSError(errno.ENOSPC, "No space left on device")
    assert path.read_text() == "old"
    assert [child.name for child in tmp_path.iterdir()] == ["state.json"]


def test_a_whole_write_replaces_the_file_and_a_linked_one_is_new(tmp_path):
    write_text(tmp_path / "key", "one")
    write_text(tmp_path / "key", "two")
    with written_whole(tmp_path / "new", replace=False) as staged:
        staged.write_bytes(b"three")
    assert (tmp_path / "key").read_text() == "two" and (tmp_path / "new").read_bytes() == b"three"
    assert sorted(child.name for child in tmp_path.iterdir()) == ["key", "new"]


def test_linking_never_replaces_an_existing_file(tmp_path):
    path = tmp_path / "shard.parquet"
    path.write_text("first")
    with pytest.raises(FileExistsError):
        with written_whole(path, replace=False) as staged:
            staged.write_text("second")
    assert path.read_text() == "first" and [child.name for child in tmp_path.iterdir()] == ["shard.parquet"]


def test_opening_a_feedback_folder_keeps_another_processs_write_in_flight_and_drops_a_dead_ones(tmp_path):
    from digit.atomic import temporary_name
    from digit.feedback import FeedbackStore

    FeedbackStore(tmp_path).setup()  # the folder's layout
    writer = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    try:
        shard = tmp_path / "data" / "20261207T000000000000Z-0123abcd-r1.parquet"
        alive = temporary_name(shard).name.replace(f".{os.getpid()}.", f".{writer.pid}.")
        dead = temporary_name(shard).name.replace(f".{os.getpid()}.", f".{gone.stdout.strip()}.")
        for name in (alive, dead):
            (tmp_path / "data" / name).write_bytes(b"PAR1 half")
        FeedbackStore(tmp_path).setup()  # a second process opening the folder runs recovery
        assert (tmp_path / "data" / alive).exists() and not (tmp_path / "data" / dead).exists()
    finally:
        writer.kill()
        writer.wait()
