"""Readings in worker processes (digit/reading/pool.py): the same answers as in process, and a
worker that dies or hangs costs one reading at most, never the server."""

from __future__ import annotations

import io
import os
import signal
import time

import numpy as np
import pytest
from PIL import Image

from digit.reading.images import BadImage, NoDigit
from digit.reading.preprocess import normalize
from digit.reading.pool import ReadingFailed, ReadingPool
from testing.renderings import sketch_from_mnist


@pytest.fixture(scope="module")
def pool(classifier):
    readers = ReadingPool(1, seconds=1.5)
    readers.start(classifier)  # as the app does at start
    yield readers
    readers.close()


@pytest.fixture(scope="module")
def sketches(validation_digits):
    images, labels = validation_digits
    rng = np.random.default_rng(5)
    return [sketch_from_mnist(image, rng, canvas=400) for image in images[:6]], labels[:6]


def encoded(sketch: np.ndarray) -> bytes:
    """As a browser exports a canvas: nothing under the transparent pixels (a small PNG)."""
    sketch = sketch.copy()
    sketch[sketch[..., 3] == 0] = 0
    buffer = io.BytesIO()
    Image.fromarray(sketch).save(buffer, format="PNG")
    return buffer.getvalue()


def the_worker(pool: ReadingPool) -> int:
    (worker,) = pool._workers
    return worker.process.pid


def test_a_worker_reads_as_the_server_process_would(pool, classifier, sketches):
    pictures, _ = sketches
    for sketch in pictures:
        kept, remote = pool.read(classifier, sketch, explain=True, keep="sketch")
        local = classifier.predict(sketch, explain=True)
        assert (remote.digit, remote.jurors) == (local.digit, local.jurors)
        assert np.allclose(remote.probabilities, local.probabilities, atol=1e-9)  # BLAS: one thread there, several here
        assert [n.label for n in remote.neighbours] == [n.label for n in local.neighbours]
        # what the feedback would store of it: the picture as sent, the digit the jury read, what it said
        assert np.array_equal(kept.picture.pixels, sketch) and np.array_equal(kept.digit, normalize(sketch).pixels)
        assert (kept.predicted, kept.candidates, kept.source, kept.model_version) == (
            local.digit, local.candidates, "sketch", classifier.version)
        assert kept.label is None and kept.visitor == "unknown"  # added when flagged
    assert len(pool._workers) == 1  # the one started at launch read them all


def test_what_cannot_be_read_is_refused_with_the_readers_own_message(pool, classifier):
    with pytest.raises(NoDigit):
        pool.read(classifier, np.full((50, 50), 255, np.uint8))
    with pytest.raises(BadImage, match="not an image"):
        pool.read(classifier, b"<html>, or so it says")
    with pytest.raises(BadImage, match="broken image: image not found in GIF frame"):
        pool.read(classifier, b"GIF89a, or so it says")


def replaced(pool: ReadingPool, gone: int, seconds: float = 60) -> int:
    """Wait until the pool holds as many workers as its size again, none of them `gone`, all started."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        workers = list(pool._workers)
        if len(workers) == pool.size and all(w.ready and w.process.pid != gone for w in workers):
            return workers[0].process.pid
        time.sleep(0.05)
    pytest.fail(f"the pool was not full again within {seconds} s")


def test_a_worker_killed_while_idle_is_replaced_at_once_without_a_reading(pool, classifier, sketches):
    pictures, labels = sketches
    pool.read(classifier, pictures[0])
    first = the_worker(pool)
    os.kill(first, signal.SIGKILL)
    replaced(pool, first)  # no reading asked for it
    assert pool.read(classifier, pictures[1])[1].digit == labels[1]


def test_a_reading_that_computes_past_its_budget_ends_its_worker(classifier, sketches):
    pictures, _ = sketches
    readers = ReadingPool(1, seconds=60, cpu_seconds=0.001)  # a budget no reading fits in
    readers.start(classifier)
    try:
        replaced(readers, gone=0)
        (worker,) = readers._workers
        with pytest.raises(ReadingFailed, match="took over 0.001 s of computing and was stopped"):
            readers.read(classifier, pictures[0])
        assert worker.process.returncode == -signal.SIGPROF  # ended; replaced as any ended worker is
    finally:
        readers.close()


def test_a_hung_reading_is_stopped_and_its_worker_replaced(pool, classifier, sketches):
    pictures, labels = sketches
    pool.read(classifier, pictures[0])
    stuck = the_worker(pool)
    os.kill(stuck, signal.SIGSTOP)  # as a reading that never ends would look from outside
    png = encoded(pictures[2])  # what the server sends: a file's bytes or path, within the socket's buffer
    with pytest.raises(ReadingFailed, match="took over 1.5 s"):
        pool.read(classifier, png)
    assert pool.read(classifier, png)[1].digit == labels[2]
    assert the_worker(pool) != stuck
