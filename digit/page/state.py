"""The page's state, held once per server: the jury serving (the reader started at launch until the
server's own copy is loaded after the first answer), the reading workers, the live references, the
visitors' memory and the feedback store the page flags into. The handlers (actions.py and the tabs)
read through it; app.py starts it (start) once the page is laid out."""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from functools import lru_cache
from typing import TYPE_CHECKING

from digit.config import concurrency, model_cache_dir, model_poll_minutes, model_repo
from digit.feedback import FeedbackStore
from digit.live.memory import VisitorMemory
from digit.page.flagging import FeedbackFlagging
from digit.reading.images import BadImage, ImageInput
from digit.reading.pool import NoStartJury, ReadingPool, read_one, return_freed_memory
from digit.reading.prediction import Prediction
from digit.reading.sample import Sample
from digit.visitors import UNKNOWN_VISITOR, is_logged_in

if TYPE_CHECKING:  # the server loads the jury (scikit-learn) only after its first answer: see start()
    from digit.live.references import LiveReferences
    from digit.model.store import LoadedModel, ModelSlot
    from digit.reading.classifier import Classifier

NOTHING = "draw a digit or upload a picture of one"

_READERS: list[ReadingPool] = []  # the worker processes that read pictures, once the page is served (start)
MEMORY = VisitorMemory()  # what each visitor taught, for their own next readings (digit/live/memory.py)
# The server's own copy of the jury: until it is loaded (after the first answer, see start), the reader
# started early reads with the jury it loaded and checked itself (digit/reading/pool.py: start_early).
_OWN_COPY = threading.Event()
_ANSWERED = threading.Event()  # a first reading was answered
_LAST_READING = [0.0]  # when the latest reading began (time.monotonic)
_CHECKED: list[str | None] = [None]  # the digest of the jury the reader started early checked (ReadingPool.start)
QUIET_SECONDS = 1.0  # after the first answer, the server loads its own copy once readings pause this long,
MOST_WAIT_SECONDS = 30.0  # or this long after start (after the first answer) at the latest


@lru_cache(maxsize=1)
def _slot() -> ModelSlot:
    from digit.model.store import ModelSlot

    return ModelSlot(checked=_CHECKED[0])


@lru_cache(maxsize=1)
def live() -> LiveReferences:
    """Corrections others confirmed, for everyone (digit/live/references.py)."""
    from digit.live.references import LiveReferences

    return LiveReferences()


def model() -> LoadedModel:
    """The jury serving now: from MODEL_DIR (reloaded after a promotion), or from MODEL_REPO."""
    from digit.model.store import ModelError

    try:
        return _slot().get()
    except ModelError as error:  # only when no jury was ever served: the app stops in one line, not a traceback
        raise SystemExit(f"not starting: {error}") from None


def start() -> FeedbackStore:
    """Before the first visitor: the reader started early takes the first readings with the jury it
    loaded itself; the feedback opens (and starts pushing); the visitors' memory is rebuilt. The rest
    waits until the first answer (and a pause in the readings): the server's own copy of the jury,
    which the other readers, the live references and a new model from MODEL_REPO need."""
    _READERS.append(ReadingPool(concurrency()))
    _CHECKED[0] = _READERS[0].start(None)  # the server's own copy then skips the reading trial for those bytes
    if _CHECKED[0] is None:  # no reader holds a jury it checked itself: the server's own check decides
        load_own_copy()  # (and stops the app with why, when it refuses the only jury there is)
    store = feedback()
    # Before any visitor teaches: a rebuild starts the memory again from the store.
    threading.Thread(target=remember_taught, args=(store,), daemon=True, name="visitor-memory").start()
    threading.Thread(target=_after_first_answer, args=(store,), daemon=True, name="after-first-answer").start()
    return store


def _after_first_answer(store: FeedbackStore) -> None:
    """What can wait until the first reading is answered and the readings pause: nothing here
    should take the cores from the first visitor."""
    began = time.monotonic()
    _ANSWERED.wait(MOST_WAIT_SECONDS)
    while time.monotonic() - max(_LAST_READING[0], began) < QUIET_SECONDS \
            and time.monotonic() - began < MOST_WAIT_SECONDS:
        time.sleep(QUIET_SECONDS / 4)
    load_own_copy()
    repo = model_repo()
    if repo:
        from digit.model.hub import HubModelFollower

        HubModelFollower(_slot(), repo, model_cache_dir(), model_poll_minutes()).start()
    from digit.live.references import LIVE_SECONDS, every

    every(LIVE_SECONDS, lambda: live().refresh(model().classifier, store), "live-references")


def load_own_copy() -> Classifier:
    """Load (and check) the server's own copy of the jury, and hand it to the readers: while the reader
    started early holds the folder's jury it checked, the server takes that reader's copy."""
    if _READERS and _CHECKED[0]:
        _adopt_checked_copy()
    classifier = model().classifier
    if _READERS:
        _READERS[0].hand_over(classifier)
    return_freed_memory()  # what loading and checking it left
    _OWN_COPY.set()
    return classifier


def _adopt_checked_copy() -> None:
    from digit.model.card import ModelCard
    from digit.model.store import LoadedModel

    start = time.perf_counter()
    copy = _READERS[0].checked_copy()
    if copy is not None and copy[2] == _CHECKED[0]:
        classifier, card, digest = copy
        _slot().adopt(LoadedModel(classifier, ModelCard.from_json(card), time.perf_counter() - start, digest))


def served() -> Classifier:
    """The jury serving now, with the corrections others confirmed as live references."""
    return live().served(model().classifier)


def remember_taught(store: FeedbackStore) -> int:
    """Rebuild what visitors taught from the feedback dataset's samples (at start): their newest
    per visitor, under the key their next readings use. A page sample of an anonymous visitor says
    who but not which browser sent it: it is not given back to any browser."""
    keys = {}
    for record in store.records():
        key = taught_key(record)
        if key is not None:
            keys[record["id"]] = (key, record["label"])
    newest: OrderedDict[str, list[str]] = OrderedDict()
    for sample_id, (key, _) in keys.items():  # records come oldest first: the most recent visitors end last
        newest.setdefault(key, []).append(sample_id)
        newest.move_to_end(key)
    recent = list(newest.values())[-MEMORY.visitors:]
    order = {sample_id: position for position, sample_id in enumerate(keys)}
    wanted = sorted((sample_id for ids in recent for sample_id in ids[-MEMORY.examples:]), key=order.__getitem__)
    digits = store.digits(wanted) if wanted else {}
    return MEMORY.rebuild((keys[sample_id][0], digits[sample_id], keys[sample_id][1])
                          for sample_id in wanted if sample_id in digits)


def taught_key(record: dict) -> str | None:
    """The memory key a stored sample teaches: its visitor's for the API (and a logged-in visitor's
    anywhere), none for the unknown or an anonymous page sample."""
    who = record.get("visitor") or UNKNOWN_VISITOR
    if who == UNKNOWN_VISITOR or (record.get("source") != "api" and not is_logged_in(who)):
        return None
    return who


@lru_cache(maxsize=1)
def flagging() -> FeedbackFlagging:
    """The page's flagging callback: app.py sets it up with the components it saves, the events
    below flag through it, as Gradio's flagging callbacks are used (setup once, flag per click)."""
    return FeedbackFlagging()


def feedback() -> FeedbackStore:
    """The feedback dataset the page flags into: FEEDBACK_DIR, pushed to FEEDBACK_REPO when
    HF_TOKEN is set (opened at its first use)."""
    return flagging().store()


def read(image: ImageInput | None, explain: bool = False, keep: str | None = None,
         memory: str | None = None, strokes: list | None = None) -> tuple[Sample | None, Prediction]:
    """Decode an input from the page or the API once and read it, in a worker process when served; raises
    BadImage with a message for people. keep: the input's source (sketch, upload, api), to also return
    the Sample the feedback would store of it (what a confirmation or a correction saves); memory: the
    key of what the visitor taught (their examples take part in the reading); strokes: the pad's pen
    path, read by the stroke juror (pad readings only)."""
    if image is None:
        raise BadImage(NOTHING)
    taught = MEMORY.taught(memory)
    if not _READERS:
        return read_one(served(), image, explain, keep, taught, strokes)  # called in process, not served
    _LAST_READING[0] = time.monotonic()
    try:
        if not _OWN_COPY.is_set():
            try:
                return _READERS[0].read(None, image, explain, keep, taught, strokes)
            except NoStartJury:  # the reader started early refused or lost its jury: the server's own check decides
                load_own_copy()
        return _READERS[0].read(served(), image, explain, keep, taught, strokes)
    finally:
        _ANSWERED.set()


def has_own_copy() -> bool:
    """Whether the server holds its own copy of the jury yet (after the first answer)."""
    return _OWN_COPY.is_set()
