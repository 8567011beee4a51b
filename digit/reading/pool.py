"""Readings in worker processes, so that the server's own process keeps its core for HTTP.

One Python process cannot use two cores: Gradio's handling of a request (~5 ms) and the reading
(~12 ms for an 800x800 sketch: decode, normalise, jury) take turns on one lock (the GIL), so a
2-core Space served ~60 readings a second with one core idle. Here each reading goes to one of a
few worker processes; the server only hands pictures over and answers. A bonus: a reading that
crashes or hangs its worker (a hostile file deep in a decoder) costs only that worker, which is
replaced; the visitor is told the picture could not be read.

Each worker is a subprocess (`python -m digit.reading.pool FD`), not multiprocessing: a spawned
child would import the app's main module (app.py, the whole page) again. They talk over a socket
pair with multiprocessing.connection (length-framed pickles): the jury the parent serves (the very
object it checked, with the corrections others confirmed, pickled once per model and set of them and
sent to each worker before its next reading), then
pictures in and readings out (with the Sample the feedback would store of it, when asked: digit/reading/sample.py).

At launch one worker starts before the server imports Gradio (`start_early`) and loads and checks the model
folder's jury itself: it answers the first readings while the server has not loaded scikit-learn at all,
until the server hands over its own copy (`ReadingPool.hand_over`) once its first answer is given.
"""

from __future__ import annotations

import ctypes
import logging
import os
import pickle
import queue
import signal
import socket
import struct
import subprocess
import sys
import threading
from multiprocessing.connection import Connection
from pathlib import Path
from typing import TYPE_CHECKING

from digit.config import PROJECT_DIR
from digit.reading.images import BadImage, ImageInput, read_picture
from digit.reading.prediction import Prediction
from digit.reading.preprocess import normalize
from digit.reading.sample import Sample
from digit.stroke_features import RawStrokes

if TYPE_CHECKING:  # the server imports this module first thing (start_early), before scikit-learn
    from digit.reading.classifier import Classifier
    from digit.live.memory import Taught

log = logging.getLogger(__name__)
READ_SECONDS = 20.0  # a reading takes ~10 ms; one that takes this long is stuck: its worker is replaced
# What one reading may compute in its worker (CPU time, so a busy machine does not cut readings short):
# whatever a picture passed the decoder's limits with (digit/reading/images.py), past this the worker is killed.
CPU_SECONDS = 2.0
START_SECONDS = 120.0  # a worker's imports take a second or two, far longer on a machine under load
ONE_THREAD = {"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}  # one digit's
# matrices are small: BLAS threads in each worker would only fight the other workers for the cores
START_JURY = 0  # the model folder's jury, which a worker started early loaded and checked itself (start_early)


class NoStartJury(BadImage):
    """No worker holds the model folder's jury (none was started early, or it refused or lost it):
    a reading needs the server's own copy (ReadingPool.read with a classifier)."""


class ReadingFailed(BadImage):
    """The worker reading a picture crashed or hung on it (it was replaced)."""


class _Worker:
    """One worker process and the model it holds (the id of the pickled jury it was last sent)."""

    def __init__(self, cpu_seconds: float, folder: Path | None = None) -> None:
        ours, theirs = socket.socketpair()
        # A write to a worker that stopped reading fails after a while instead of blocking the server's thread.
        ours.setsockopt(socket.SOL_SOCKET, socket.SO_SNDTIMEO, struct.pack("ll", int(READ_SECONDS), 0))
        self.process = subprocess.Popen([sys.executable, "-m", "digit.reading.pool", str(theirs.fileno()),
                                         str(cpu_seconds), *([str(folder)] if folder else [])],
                                        pass_fds=(theirs.fileno(),), cwd=PROJECT_DIR, env={**os.environ, **ONE_THREAD})
        theirs.close()
        self.connection = Connection(ours.detach())
        self.holds: int | None = None
        self.start_version: str | None = None  # the version of the jury it loaded itself, if it did,
        self.start_digest: str | None = None  # and the digest of what it checked (model.store.LoadedModel)
        self.ready = False
        self.cpu_seconds = cpu_seconds

    def give(self) -> tuple[bytes, str, str] | None:
        """What this worker loaded and checked itself at launch, while it holds it: the jury pickled as `hand`
        sends one, its card (JSON) and digest; None once it holds another jury."""
        self.connection.send(("give", None))
        if not self.connection.poll(START_SECONDS):
            raise ReadingFailed(f"the reader did not give its jury within {START_SECONDS:g} s")
        return self.connection.recv()[1]

    def wait_ready(self) -> None:
        """Wait for the worker's imports (it says "ready"), apart from any reading's time limit; a worker
        started with a model folder has then loaded and checked its jury (it holds START_JURY), or refused it."""
        if not self.ready:
            if not self.connection.poll(START_SECONDS):
                raise ReadingFailed(f"the reader did not start within {START_SECONDS:g} s")
            _, self.start_version, self.start_digest = self.connection.recv()
            self.ready = True
            if self.start_version is not None:
                self.holds = START_JURY

    def hand(self, jury: tuple[int, bytes]) -> None:
        """Send the jury to serve unless this worker holds it already, and wait until it is loaded
        (apart from any reading's time limit: loading takes longer than a reading). START_JURY without
        its bytes (before the server holds its own copy) cannot be sent: only a worker that loaded it holds it."""
        if self.holds != jury[0]:
            if not jury[1]:
                raise NoStartJury("this reader holds no jury it checked itself")
            self.connection.send(("jury", jury[1]))
            if not self.connection.poll(START_SECONDS):
                raise ReadingFailed(f"the reader did not load the jury within {START_SECONDS:g} s")
            self.connection.recv()
            self.holds = jury[0]

    def read(self, jury: tuple[int, bytes], request: tuple, seconds: float) -> tuple[Sample | None, Prediction]:
        try:
            self.wait_ready()
            self.hand(jury)  # NoStartJury passes through: the worker is fine, the reading needs another jury
            self.connection.send(("read", request))
            if not self.connection.poll(seconds):
                raise ReadingFailed(f"reading this picture took over {seconds:g} s and was stopped")
            outcome, value = self.connection.recv()
        except (OSError, EOFError):  # the worker died (its exit code says how)
            if self._exit_code() == -signal.SIGPROF:
                raise ReadingFailed(f"reading this picture took over {self.cpu_seconds:g} s of computing and was stopped; "
                                    "send a smaller or simpler picture") from None
            raise ReadingFailed("reading this picture failed (the reader stopped); try another picture") from None
        if outcome == "bad":
            kind, message = value
            raise kind(message)
        if outcome == "error":
            log.error("a reading failed in its worker: %s", value)
            raise ReadingFailed("reading this picture failed; try another picture")
        return value

    def _exit_code(self) -> int | None:
        try:
            return self.process.wait(timeout=1)
        except subprocess.TimeoutExpired:
            return None

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()

    def close(self) -> None:
        self.connection.close()
        self.stop()


_EARLY: list[_Worker] = []  # started by start_early, adopted by the pool that starts next


def start_early(folder: Path | None = None) -> None:
    """Start one reading worker now, first thing at launch: its imports (scikit-learn, OpenCV: seconds)
    run on the other core while the server imports Gradio and builds the page. With folder, it also loads
    the jury there and checks it as every served jury is (digit/model/store.py: load_checked_here), and
    reads with it (START_JURY) until the server hands it the server's own copy: the server need not load
    scikit-learn before its first answer."""
    _EARLY.append(_Worker(CPU_SECONDS, folder))


class ReadingPool:
    """At most `size` worker processes (one started with the server, the others after the first
    reading or as readings overlap); each reads one picture at a time. A caller waits for an idle worker: the callers are already bounded (Gradio's queue
    and the guard's turns). A worker that dies (crashed, killed after a hung reading, or by anyone)
    is replaced at once, in the background, by the thread that started it: the pool stays full."""

    def __init__(self, size: int, seconds: float = READ_SECONDS, cpu_seconds: float = CPU_SECONDS):
        self.size = max(1, size)
        self.seconds = seconds
        self.cpu_seconds = cpu_seconds
        self._idle: queue.SimpleQueue[_Worker] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._started = 0
        self._starting = 0  # workers started but not yet idle
        self._workers: list[_Worker] = []
        self._classifier: Classifier | None = None
        self._jury: tuple[int, bytes] = (START_JURY, b"")
        self._numbered = START_JURY  # the juries pickled so far (each one's number: START_JURY + its rank)
        self._closed = False

    def start(self, classifier: Classifier | None) -> str | None:
        """Take in the worker started early (start_early) and hand it this classifier's jury, or start
        one, in the background while the server starts: the first visitor does not wait for a worker to
        start. The others start once the first reading with a classifier is answered (on a small
        machine, starting them at once would only slow the server's own start).
        Without a classifier, waits for the early worker's check of the model folder's jury: the digest
        of what it checked when it holds it (it reads with it until `hand_over`; the server need not
        read those bytes again: model.store.load_checked_model), None when it refused it or none was started."""
        if classifier is not None:
            self._pickled(classifier)
        holds = None
        while _EARLY and self._started < self.size:
            worker = _EARLY.pop()
            if classifier is None:
                try:
                    worker.wait_ready()
                except (ReadingFailed, OSError, EOFError):
                    pass  # put back dead: the first reading with the server's jury starts another
                if worker.holds == START_JURY:
                    holds = worker.start_digest
            self._grow(even_if_starting=True, worker=worker)
        if not self._started:
            self._grow(even_if_starting=True)
        return holds

    def hand_over(self, classifier: Classifier) -> None:
        """The server's own copy of the jury is ready: hand it to the idle workers (in the background;
        not to those that loaded this very version from the model folder) and fill the pool."""
        with self._lock:
            versions = {worker.start_version for worker in self._workers}
        jury = self._pickled(classifier, same_as_start=classifier.version in versions and not classifier.live)

        def hand() -> None:
            for worker in self._all_idle():
                try:
                    if worker.process.poll() is None:
                        worker.wait_ready()
                        worker.hand(jury)
                except (ReadingFailed, OSError, EOFError):
                    worker.stop()  # its thread replaces it
                self._idle.put(worker)
            self._grow()

        threading.Thread(target=hand, daemon=True, name="reader-hand-over").start()

    def read(self, classifier: Classifier | None, source: ImageInput, explain: bool = False,
             keep: str | None = None, memory: Taught | None = None,
             strokes: RawStrokes | None = None) -> tuple[Sample | None, Prediction]:
        """Read one picture with this classifier's jury in a worker: the Sample the feedback would
        store of it (with keep, its source: sketch, upload or api; None without it) and the
        reading. Raises BadImage like classifier.predict (ReadingFailed when the worker crashed
        or hung: it is replaced). memory: the visitor's own examples, sent with the picture;
        strokes: the pad's, for the stroke juror. classifier None: the jury the early worker
        loaded itself (NoStartJury when no worker holds it)."""
        if classifier is None:
            if not self._started:
                raise NoStartJury("no reader was started with the model folder")
            jury = (START_JURY, b"")
        else:
            jury = self._pickled(classifier)
        worker, failed = self._take(), False
        try:
            return worker.read(jury, (source, explain, keep, memory, strokes), self.seconds)
        except ReadingFailed:
            failed = True
            raise
        finally:
            self._give_back(worker, failed)
            if self._started < self.size:
                self._grow()  # the pool fills up after the first reading with the server's jury

    def checked_copy(self) -> tuple[Classifier, str, str] | None:
        """The jury the reader started early loaded and checked, as that reader holds it, with its card (JSON)
        and digest: the server's own copy without reading the model file again (skops' import alone took
        ~1.5 s of CPU in a server that has imported Gradio). None when no idle reader holds it."""
        given = None
        for worker in self._all_idle():
            if given is None and worker.holds == START_JURY and worker.process.poll() is None:
                try:
                    given = worker.give()
                except (ReadingFailed, OSError, EOFError):
                    worker.stop()  # its thread replaces it
            self._idle.put(worker)
        if given is None:
            return None
        pickled, card, digest = given
        classifier = unpickled_jury(pickled)
        with self._lock:  # the readers that start next are sent these very bytes (_pickled)
            self._classifier, self._jury = classifier, (START_JURY, pickled)
        return classifier, card, digest

    def close(self) -> None:
        with self._lock:
            self._closed = True
            for worker in self._workers:
                worker.close()
            self._workers.clear()

    def _pickled(self, classifier: Classifier, same_as_start: bool = False) -> tuple[int, bytes]:
        """The jury to serve, pickled once per model (a promotion hands over a new classifier);
        same_as_start: it is the model folder's jury that workers started early hold (START_JURY)."""
        with self._lock:
            if classifier is not self._classifier:
                if not same_as_start:
                    self._numbered += 1
                self._jury = (START_JURY if same_as_start else self._numbered, pickled_jury(classifier))
                self._classifier = classifier
            return self._jury

    def _all_idle(self) -> list[_Worker]:
        """Every idle worker, taken (the caller puts each back)."""
        taken = []
        while True:
            try:
                taken.append(self._idle.get_nowait())
            except queue.Empty:
                return taken

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
                return worker  # else it died while idle: its thread is replacing it

    def _grow(self, even_if_starting: bool = False, worker: _Worker | None = None) -> None:
        """Start one more worker in the background, if fewer than size run; it joins the idle
        ones once it has loaded the jury, and its thread waits for it to end to replace it.
        worker: one already started (start_early) to take in instead of a new one."""
        with self._lock:
            if self._closed or self._started >= self.size or (self._starting and not even_if_starting) \
                    or (worker is None and self._classifier is None):  # a new worker needs a jury to be handed
                return
            self._started += 1
            self._starting += 1
            jury = self._jury

        def warm(worker: _Worker | None) -> None:
            try:
                worker = worker or _Worker(self.cpu_seconds)
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
            except NoStartJury:
                pass  # started early but holds no jury: the first reading with the server's jury hands it one
            except (ReadingFailed, OSError, EOFError, TypeError):  # TypeError: the pool closed it meanwhile
                worker.stop()  # put back dead: the reading that takes it starts another
            with self._lock:
                self._starting -= 1
            self._idle.put(worker)
            self._forget(worker, worker.process.wait())

        threading.Thread(target=warm, args=(worker,), daemon=True, name="reader-start").start()

    def _give_back(self, worker: _Worker, failed: bool = False) -> None:
        if failed:
            worker.close()  # its thread replaces it
        else:
            self._idle.put(worker)

    def _forget(self, worker: _Worker, code: int) -> None:
        """A worker ended: forget it, and start another unless the pool is closing (or the worker
        never loaded a jury: the next reading tries again, rather than a loop of failing starts)."""
        with self._lock:
            if worker not in self._workers:
                return
            self._workers.remove(worker)
            self._started -= 1
            replace = not self._closed and worker.holds is not None
        worker.connection.close()
        if replace:
            log.error("a reading worker ended (exit code %s); starting another", code)
            self._grow(even_if_starting=True)


def pickled_jury(classifier: Classifier) -> bytes:
    """A classifier as the server sends it to a worker (and a worker started early gives it back)."""
    return pickle.dumps((classifier.jury, classifier.version, classifier.live, classifier.stroke_juror),
                        pickle.HIGHEST_PROTOCOL)


def unpickled_jury(pickled: bytes) -> Classifier:
    """The classifier pickled_jury made."""
    from digit.reading.classifier import Classifier

    jury, version, live, strokes = pickle.loads(pickled)
    return Classifier(jury, version, live, stroke_juror=strokes)


def return_freed_memory() -> None:
    """Give the heap's freed pages back to the system (glibc's malloc_trim): loading a jury leaves
    tens of MB of freed temporaries that the process would otherwise keep at rest."""
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):  # not glibc: nothing to do
        pass


def read_one(classifier: Classifier, source: ImageInput, explain: bool = False,
             keep: str | None = None, memory: Taught | None = None,
             strokes: RawStrokes | None = None) -> tuple[Sample | None, Prediction]:
    """What a worker does with a picture (and the server's process, when it reads without them):
    decode it once, normalise it once, read it; with keep (the sample's source), also the Sample
    the feedback would store: the picture capped for storage and the digit the jury read; with memory,
    the visitor's own examples take part (digit/live/memory.py); with strokes (the pad's), the
    stroke juror."""
    picture = read_picture(source)
    normalized = normalize(picture)
    prediction = classifier.predict_normalized(normalized, explain=explain, memory=memory, strokes=strokes)
    kept = Sample.of_reading(picture, normalized.pixels, prediction, classifier.version, keep) if keep else None
    return kept, prediction


def _serve(connection: Connection, cpu_seconds: float, folder: Path | None = None) -> None:
    """The worker's loop: take a jury or a picture, answer each picture with a reading (within cpu_seconds).
    Says "ready" once its imports are made; with folder, once it loaded and checked the jury there too
    (or with why it refused it)."""
    import digit.reading.classifier  # noqa: F401 - before "ready": at launch, beside the server's own imports

    classifier, digest, card = None, None, None
    if folder is not None:
        from digit.model.store import ModelError, load_checked_here

        try:
            loaded = load_checked_here(folder)
            classifier, digest, card = loaded.classifier, loaded.digest, loaded.card.to_json()
        except ModelError:  # the server's own check says why, and serves nothing it refuses
            pass
        return_freed_memory()
    connection.send(("ready", None if classifier is None else classifier.version, digest))
    checked = classifier  # the jury this worker loaded and checked itself, while it holds it
    while True:
        try:
            kind, payload = connection.recv()
        except EOFError:  # the server is gone
            return
        if kind == "give":  # the server's own copy: a pickle of what was checked here, not a second load
            connection.send(("given", None if checked is None or classifier is not checked
                             else (pickled_jury(classifier), card, digest)))
            continue
        if kind == "jury":
            classifier = unpickled_jury(payload)
            del payload  # its pickle (~70 MB) need not wait for the next message to be freed
            return_freed_memory()  # nor the jury held before
            connection.send(("held", None))
            continue
        signal.setitimer(signal.ITIMER_PROF, cpu_seconds)  # past it, SIGPROF ends this process
        try:
            answer = ("ok", read_one(classifier, *payload))
        except BadImage as error:
            answer = ("bad", (type(error), str(error)))
        except Exception as error:  # noqa: BLE001 - reported to the server, which logs it and tells the visitor
            answer = ("error", f"{type(error).__name__}: {error}"[:300])
        finally:
            signal.setitimer(signal.ITIMER_PROF, 0)
        connection.send(answer)


if __name__ == "__main__":
    try:
        _serve(Connection(int(sys.argv[1])), float(sys.argv[2]), Path(sys.argv[3]) if len(sys.argv) > 3 else None)
    except (BrokenPipeError, ConnectionResetError):  # the server went away as this worker answered it
        pass
