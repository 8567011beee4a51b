"""Readings in worker processes, so that the server's own process keeps its core for HTTP.

One Python process cannot use two cores: Gradio's handling of a request (~5 ms) and the reading
(~12 ms for an 800x800 sketch: decode, normalise, jury) take turns on one lock (the GIL), so a
2-core Space served ~60 readings a second with one core idle. Here each reading goes to one of a
few worker processes; the server only hands pictures over and answers. A bonus: a reading that
crashes or hangs its worker (a hostile file deep in a decoder) costs only that worker, which is
replaced; the visitor is told the picture could not be read.

Each worker is a subprocess (`python -m digit.reading_pool FD`), not multiprocessing: a spawned
child would import the app's main module (app.py, the whole page) again. They talk over a socket
pair with multiprocessing.connection (length-framed pickles): the jury the parent serves (the very
object it checked, pickled once per model and sent to each worker before its next reading), then
pictures in and readings out (with the Sample the feedback would store of it, when asked: digit/sample.py).
"""

from __future__ import annotations

import logging
import os
import pickle
import queue
import socket
import struct
import subprocess
import sys
import threading
from multiprocessing.connection import Connection

from digit.classifier import Classifier
from digit.config import PROJECT_DIR
from digit.images import BadImage, ImageInput, read_picture
from digit.prediction import Prediction
from digit.preprocess import normalize
from digit.sample import Sample
from digit.stroke_features import RawStrokes

log = logging.getLogger(__name__)
READ_SECONDS = 20.0  # a reading takes ~10 ms; one that takes this long is stuck: its worker is replaced
START_SECONDS = 120.0  # a worker's imports take a second or two, far longer on a machine under load
ONE_THREAD = {"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}  # one digit's
# matrices are small: BLAS threads in each worker would only fight the other workers for the cores


class ReadingFailed(BadImage):
    """The worker reading a picture crashed or hung on it (it was replaced)."""


class _Worker:
    """One worker process and the model it holds (the id of the pickled jury it was last sent)."""

    def __init__(self) -> None:
        ours, theirs = socket.socketpair()
        # A write to a worker that stopped reading fails after a while instead of blocking the server's thread.
        ours.setsockopt(socket.SOL_SOCKET, socket.SO_SNDTIMEO, struct.pack("ll", int(READ_SECONDS), 0))
        self.process = subprocess.Popen([sys.executable, "-m", "digit.reading_pool", str(theirs.fileno())],
                                        pass_fds=(theirs.fileno(),), cwd=PROJECT_DIR, env={**os.environ, **ONE_THREAD})
        theirs.close()
        self.connection = Connection(ours.detach())
        self.holds: int | None = None
        self.ready = False

    def wait_ready(self) -> None:
        """Wait for the worker's imports (it says "ready"), apart from any reading's time limit."""
        if not self.ready:
            if not self.connection.poll(START_SECONDS):
                raise ReadingFailed(f"the reader did not start within {START_SECONDS:g} s")
            self.connection.recv()
            self.ready = True

    def hand(self, jury: tuple[int, bytes]) -> None:
        """Send the jury to serve unless this worker holds it already."""
        if self.holds != jury[0]:
            self.connection.send(("jury", jury[1]))
            self.holds = jury[0]

    def read(self, jury: tuple[int, bytes], request: tuple, seconds: float) -> tuple[Sample | None, Prediction]:
        try:
            self.wait_ready()
            self.hand(jury)
            self.connection.send(("read", request))
            if not self.connection.poll(seconds):
                raise ReadingFailed(f"reading this picture took over {seconds:g} s and was stopped")
            outcome, value = self.connection.recv()
        except (OSError, EOFError):  # the worker died (its exit code says how)
            raise ReadingFailed("reading this picture failed (the reader stopped); try another picture") from None
        if outcome == "bad":
            kind, message = value
            raise kind(message)
        if outcome == "error":
            log.error("a reading failed in its worker: %s", value)
            raise ReadingFailed("reading this picture failed; try another picture")
        return value

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()

    def close(self) -> None:
        self.connection.close()
        self.stop()


class ReadingPool:
    """At most `size` worker processes, started as readings first overlap; each reads one picture
    at a time. A caller waits for an idle worker: the callers are already bounded (Gradio's queue
    and the guard's turns)."""

    def __init__(self, size: int, seconds: float = READ_SECONDS):
        self.size = max(1, size)
        self.seconds = seconds
        self._idle: queue.SimpleQueue[_Worker] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._started = 0
        self._starting = 0  # workers started but not yet idle
        self._workers: list[_Worker] = []
        self._classifier: Classifier | None = None
        self._jury: tuple[int, bytes] = (0, b"")

    def start(self, classifier: Classifier) -> None:
        """Start every worker and hand it the jury now, in the background while the server
        starts: neither the first visitor nor the first crowd waits for a worker to start."""
        self._pickled(classifier)
        for _ in range(self.size):
            self._grow(at_launch=True)

    def read(self, classifier: Classifier, source: ImageInput, explain: bool = False,
             keep: str | None = None, strokes: RawStrokes | None = None) -> tuple[Sample | None, Prediction]:
        """Read one picture with this classifier's jury in a worker: the Sample the feedback would
        store of it (with keep, its source: sketch, upload or api; None without it) and the
        reading (strokes: the pad's, for the stroke juror). Raises BadImage like classifier.predict
        (ReadingFailed when the worker crashed or hung: it is replaced)."""
        jury = self._pickled(classifier)
        worker, failed = self._take(), False
        try:
            return worker.read(jury, (source, explain, keep, strokes), self.seconds)
        except ReadingFailed:
            failed = True
            raise
        finally:
            self._give_back(worker, failed)

    def close(self) -> None:
        with self._lock:
            for worker in self._workers:
                worker.close()
            self._workers.clear()

    def _pickled(self, classifier: Classifier) -> tuple[int, bytes]:
        """The jury to serve, pickled once per model (a promotion hands over a new classifier)."""
        with self._lock:
            if classifier is not self._classifier:
                number = self._jury[0] + 1
                self._jury = (number, pickle.dumps((classifier.jury, classifier.version, classifier.stroke_juror),
                                                   pickle.HIGHEST_PROTOCOL))
                self._classifier = classifier
            return self._jury

    def _take(self) -> _Worker:
        """An idle worker that is alive (one that died while idle is replaced: not this reading's
        fault). With none idle, another starts in the background while fewer than size run, and
        the reading takes whichever is idle first: the busy one is done in milliseconds, a new
        one takes seconds to start."""
        while True:
            try:
                worker = self._idle.get_nowait()
            except queue.Empty:
                self._grow()
                try:
                    worker = self._idle.get(timeout=START_SECONDS)
                except queue.Empty:
                    raise ReadingFailed("no reader is available; try again in a moment") from None
            if worker.process.poll() is None:
                return worker
            self._give_back(worker, failed=True)

    def _grow(self, at_launch: bool = False) -> None:
        """Start one more worker in the background, if fewer than size run; it joins the idle
        ones once it has loaded the jury."""
        with self._lock:
            if self._started >= self.size or (self._starting and not at_launch):  # the one starting will do
                return
            self._started += 1
            self._starting += 1
            jury = self._jury

        def warm() -> None:
            try:
                worker = _Worker()
            except OSError as error:
                log.error("a reading worker could not start: %s", error)
                with self._lock:
                    self._started -= 1
                    self._starting -= 1
                return
            with self._lock:
                self._workers.append(worker)
            try:
                worker.wait_ready()
                worker.hand(jury)
            except (ReadingFailed, OSError):
                worker.stop()  # put back dead: the reading that takes it starts another
            with self._lock:
                self._starting -= 1
            self._idle.put(worker)

        threading.Thread(target=warm, daemon=True, name="reader-start").start()

    def _give_back(self, worker: _Worker, failed: bool = False) -> None:
        if not failed:
            self._idle.put(worker)
            return
        code = worker.process.poll()  # a failed worker is stopped and forgotten; the next reading starts another
        log.error("a reading worker %s; starting another", f"died ({code})" if code is not None else "hung: stopped")
        worker.close()
        with self._lock:
            self._workers.remove(worker)
            self._started -= 1


def read_one(classifier: Classifier, source: ImageInput, explain: bool = False,
             keep: str | None = None, strokes: RawStrokes | None = None) -> tuple[Sample | None, Prediction]:
    """What a worker does with a picture (and the server's process, when it reads without them):
    decode it once, normalise it once, read it (with its strokes, when the pad sent them); with keep
    (the sample's source), also the Sample the feedback would store: the picture capped for storage
    and the digit the jury read."""
    picture = read_picture(source)
    normalized = normalize(picture)
    prediction = classifier.predict_normalized(normalized, explain=explain, strokes=strokes)
    kept = Sample.of_reading(picture, normalized.pixels, prediction, classifier.version, keep) if keep else None
    return kept, prediction


def _serve(connection: Connection) -> None:
    """The worker's loop: take a jury or a picture, answer each picture with a reading."""
    classifier = None
    connection.send(("ready", None))
    while True:
        try:
            kind, payload = connection.recv()
        except EOFError:  # the server is gone
            return
        if kind == "jury":
            classifier = Classifier(*pickle.loads(payload))
            continue
        try:
            answer = ("ok", read_one(classifier, *payload))
        except BadImage as error:
            answer = ("bad", (type(error), str(error)))
        except Exception as error:  # noqa: BLE001 - reported to the server, which logs it and tells the visitor
            answer = ("error", f"{type(error).__name__}: {error}"[:300])
        connection.send(answer)


if __name__ == "__main__":
    _serve(Connection(int(sys.argv[1])))
