"""What the controls of the reading tab do, and the API; app.py only lays the page out."""

from __future__ import annotations

import math
import threading
import time
from collections import OrderedDict
from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

import gradio as gr
import pandas as pd
from starlette.middleware import Middleware
from gradio.data_classes import FileData

from digit.config import MAX_BODY_BYTES
from digit.config import (classify_per_minute, concurrency, feedback_dir, flags_per_minute, logged_in_flags_per_minute,
                          model_cache_dir, model_poll_minutes, model_repo, proxy_hops, reading_body_seconds,
                          reading_wait_seconds, visitor_key)
from digit.feedback import FeedbackError, FeedbackStore
from digit.feedback.votes import to_check
from digit.reading.images import BadImage, ImageInput
from digit.model.card import read_card
from digit.reading.pad import PadDrawing
from digit.page.components import received
from digit.page.flagging import FeedbackFlagging
from digit.page.guard import Guard
from digit.page.languages import ENGLISH, Words, language_of
from digit.page.texts import (WELCOME, jurors_table, jury_view, label_confidences, model_line, neighbour_tiles,
                              problem, sentence, verdict)
from digit.reading.prediction import Prediction
from digit.reading.pool import NoStartJury, ReadingPool, read_one, return_freed_memory
from digit.rate_window import MINUTE, RateWindow
from digit.reading.sample import Sample
from digit.live.memory import VisitorMemory, page_key
from digit.visitors import UNKNOWN_VISITOR, VisitorIds, is_logged_in, logged_in, visitor_address

if TYPE_CHECKING:  # the server loads the jury (scikit-learn) only after its first answer: see start()
    from digit.reading.classifier import Classifier
    from digit.live.references import LiveReferences
    from digit.model.store import LoadedModel, ModelSlot

EXAMPLES_DIR = Path(__file__).parent / "examples"
NOTHING = "draw a digit or upload a picture of one"

_READERS: list[ReadingPool] = []  # the worker processes that read pictures, once the page is served (start)
MEMORY = VisitorMemory()  # what each visitor taught, for their own next readings (digit/live/memory.py)
LABEL = gr.Label(render=False)  # the API answers in gr.Label's format, as the page shows it
# The server's own copy of the jury: until it is loaded (after the first answer, see start), the reader
# started early reads with the jury it loaded and checked itself (digit/reading/pool.py: start_early).
_OWN_COPY = threading.Event()
_ANSWERED = threading.Event()  # a first reading was answered
_LAST_READING = [0.0]  # when the latest reading began (time.monotonic)
QUIET_SECONDS = 1.0  # after the first answer, the server loads its own copy once readings pause this long,
MOST_WAIT_SECONDS = 30.0  # or this long after start (after the first answer) at the latest


@lru_cache(maxsize=1)
def _slot() -> ModelSlot:
    from digit.model.store import ModelSlot

    return ModelSlot()


@lru_cache(maxsize=1)
def _live() -> LiveReferences:
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
    if not _READERS[0].start(None):  # no reader holds a jury it checked itself: the server's own check decides
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

    every(LIVE_SECONDS, lambda: _live().refresh(model().classifier, store), "live-references")


def load_own_copy() -> Classifier:
    """Load (and check) the server's own copy of the jury, and hand it to the readers."""
    classifier = model().classifier
    if _READERS:
        _READERS[0].hand_over(classifier)
    return_freed_memory()  # what loading and checking it left
    _OWN_COPY.set()
    return classifier


def served() -> Classifier:
    """The jury serving now, with the corrections others confirmed as live references."""
    return _live().served(model().classifier)


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


@lru_cache(maxsize=1)
def _visitor_ids() -> VisitorIds:
    return VisitorIds.from_folder(feedback_dir(), visitor_key())


def visitor_of(headers, peer: str | None) -> str:
    """Who sent a request, as the samples and the limits know them: a keyed hash of the address."""
    return _visitor_ids().of(visitor_address(headers.get("x-forwarded-for"), peer, proxy_hops()))


def visitor(request: gr.Request | None, profile: gr.OAuthProfile | None = None) -> str:
    """Who is asking: "hf:<username>" when logged in with Hugging Face, else their address's hash."""
    if profile is not None:
        return logged_in(profile.username)
    if request is None:  # called in process, not through the server
        return UNKNOWN_VISITOR
    return visitor_of(request.headers, request.client.host if request.client else None)


def network(request: gr.Request | None) -> str | None:
    """The network a request came from (a keyed hash of its /24 or /48), from the same address as `visitor`."""
    if request is None:
        return None
    peer = request.client.host if request.client else None
    return _visitor_ids().network(visitor_address(request.headers.get("x-forwarded-for"), peer, proxy_hops()))


_BROWSERS: OrderedDict[str, str] = OrderedDict()  # the page's session -> the browser id its pad sent
_BROWSERS_HELD = 10_000


def page_memory(request: gr.Request | None, browser: str | None = None,
                profile: gr.OAuthProfile | None = None) -> str | None:
    """The page's memory key: the visitor and their browser (the id the pad keeps, remembered for
    the session, so that its corrections teach the same key); the session itself until the pad
    has said it. None when called in process."""
    if request is None:
        return None
    session = getattr(request, "session_hash", None) or ""
    if browser:
        _BROWSERS[session] = browser
        _BROWSERS.move_to_end(session)
        while len(_BROWSERS) > _BROWSERS_HELD:
            _BROWSERS.popitem(last=False)
    return page_key(visitor(request, profile), _BROWSERS.get(session) or (f"session-{session}" if session else None))


def guard(strokes: dict) -> Middleware:
    """The middleware in front of the app: body limit, readings per visitor, readings at once.
    strokes: the pad's event (what sketch.change returned), whose refusals it shows as verdicts."""
    return Middleware(Guard, visitor_of=visitor_of, readings=RateWindow(classify_per_minute(), MINUTE),
                      at_once=concurrency(), wait=reading_wait_seconds(), body_limit=MAX_BODY_BYTES,
                      body_seconds=reading_body_seconds(),
                      answers={"classify": classify}, page_refusals={strokes["id"]: refused_stroke})


def refused_stroke(message: str, headers: Mapping[str, str] | None = None) -> list:
    """What a stroke the guard refused shows, in the order of app.py's `shown`: the refusal as the
    verdict (in the language the request's headers ask for), everything else as it was."""
    words = Words(language_of((headers or {}).get("accept-language")))
    return [problem(message, words), *[{"__type__": "update"}] * (len(Shown._fields) - 1)]


@lru_cache(maxsize=1)
def _flag_limit() -> RateWindow:
    return RateWindow(flags_per_minute(), MINUTE)


@lru_cache(maxsize=None)
def _logged_in_limit(things: str) -> RateWindow:
    return RateWindow(logged_in_flags_per_minute(), MINUTE)


def flag_limit(who: str, anonymous: RateWindow | None = None, things: str = "corrections") -> RateWindow:
    """The per-minute limit a visitor's `things` are held to: a higher one when logged in with
    Hugging Face (LOGGED_IN_FLAGS_PER_MINUTE), else `anonymous` (the flags' FLAGS_PER_MINUTE)."""
    if is_logged_in(who):
        return _logged_in_limit(things)
    return anonymous or _flag_limit()


def example_files() -> list[str]:
    return sorted(str(path) for path in EXAMPLES_DIR.iterdir())


def model_summary(request: gr.Request | None = None) -> str:
    """The model line: the model folder's card until the server holds its own copy of the jury."""
    if not _OWN_COPY.is_set():
        return model_line(read_card(), Words.of(request), 0)
    return model_line(model().card, Words.of(request), _live().count(model().classifier))


def no_jurors(request: gr.Request | None = None) -> pd.DataFrame:
    """The jurors' table before any reading: no rows, its column names in the visitor's language."""
    return jurors_table(None, Words.of(request))


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


class Shown(NamedTuple):
    """Everything a reading changes on the page, named once: app.py lists its outputs as a Shown of
    components, the handlers return a Shown of values."""

    verdict: str
    confidences: dict | None
    view: list | None
    jurors: list[list] | None
    neighbours: list | None
    unsure: dict
    first: dict
    second: dict
    saved: str
    last: Sample | None

    @classmethod
    def nothing(cls, message: str = WELCOME, words: Words = ENGLISH) -> "Shown":
        hidden = gr.update(visible=False)
        return cls(message, None, None, jurors_table(None, words), None, hidden, gr.update(), gr.update(), "", None)


def _show(image, source: str, drawing: PadDrawing | None = None, words: Words = ENGLISH,
          memory: str | None = None) -> Shown:
    """Read an input and say why; keep what a confirmation or a correction needs (the last input,
    with the pad's strokes when drawn); memory: whose examples take part (page_memory)."""
    try:
        # Kept in the session until the next reading: only what the feedback store would keep.
        last, prediction = read(image, explain=True, keep=source, memory=memory,
                                strokes=drawing and drawing.strokes)
    except BadImage as error:
        return Shown.nothing(words("welcome") if image is None else problem(str(error), words), words)
    if drawing is not None:
        last = last.drawn(drawing.strokes)
    unsure = prediction.unsure and not prediction.parts
    first, second = prediction.candidates
    return Shown(verdict(prediction, words), label_confidences(prediction, words), jury_view(prediction),
                 jurors_table(prediction, words), neighbour_tiles(prediction, words), gr.update(visible=unsure),
                 gr.update(value=words("its_a", digit=first)), gr.update(value=words("its_a", digit=second)), "", last)


def show_sketch(value: Any, request: gr.Request | None = None, profile: gr.OAuthProfile | None = None) -> Shown:
    """Each finished stroke: read the pad's drawing (digit/reading/pad.py; an empty pad clears the verdict)."""
    words = Words.of(request)
    try:
        drawing = PadDrawing.from_value(value)
    except BadImage as error:
        return Shown.nothing(problem(str(error), words), words)
    memory = page_memory(request, drawing.browser if drawing else None, profile)
    return _show(drawing and drawing.image, "sketch", drawing, words, memory)


def show_upload(path: str | bytes | None, request: gr.Request | None = None,
                profile: gr.OAuthProfile | None = None) -> Shown:
    return _show(path, "upload", words=Words.of(request), memory=page_memory(request, profile=profile))


def hold_to(limit: RateWindow, who: str, refusal: str, things: str, words: Words = ENGLISH) -> None:
    """Count one more of a visitor's `things` against limit; over it, refuse clearly ("Not saved:
    at most 30 corrections a minute from one visitor. Try again in 40 s."); refusal and things
    in the words' language."""
    wait = limit.admit(who)
    if wait:
        raise gr.Error(words("too_many", refusal=refusal, limit=limit.most, things=things,
                             seconds=math.ceil(wait)), print_exception=False)


def _save(sample: Sample, label, request: gr.Request | None, profile: gr.OAuthProfile | None = None,
          words: Words = ENGLISH, memory: str | None = None) -> str:
    """Store the sample a reading kept with the digit a person says it is; once stored, it takes
    part in the readings of that memory key (the page's visitor and browser, or the API's visitor)."""
    who = visitor(request, profile)
    hold_to(flag_limit(who), who, words("not_saved"), words("corrections"), words)
    try:
        total = flagging().flag([sample.sent_from(network(request)), label], username=who)
    except FeedbackError as error:
        raise gr.Error(words("not_saved_because", reason=sentence(words.refusal(str(error)))),
                       print_exception=False) from None
    if memory is not None:
        MEMORY.teach(memory, sample.digit, int(label))
    saved = words("saved", digit=int(label), total=total, samples=words("sample" if total == 1 else "samples"))
    if to_check({"label": int(label), "predicted": sample.predicted, "confidence": sample.confidence,
                 "source": sample.source}):
        saved += " " + words("contested_saved", digit=sample.predicted)
    return saved


def confirm(last: Sample | None, request: gr.Request | None = None, profile: gr.OAuthProfile | None = None) -> str:
    """The jury was right: store the sample with its predicted digit."""
    words = Words.of(request)
    if not last:
        raise gr.Error(words("confirm_first"), print_exception=False)
    return _save(last, last.predicted, request, profile, words, page_memory(request, profile=profile))


def correct(last: Sample | None, digit: str | int | None, request: gr.Request | None = None,
            profile: gr.OAuthProfile | None = None) -> tuple[str, None]:
    """The jury was wrong: store the sample with the digit the person picked, clear the pick."""
    words = Words.of(request)
    if not last:
        raise gr.Error(words("correct_first"), print_exception=False)
    return _save(last, digit, request, profile, words, page_memory(request, profile=profile)), None


def _choose(last: Sample | None, which: int, request: gr.Request | None,
            profile: gr.OAuthProfile | None) -> tuple[str, dict]:
    """An unsure reading: the person says which of the two candidates they meant."""
    words = Words.of(request)
    if not last:
        raise gr.Error(words("choose_first"), print_exception=False)
    return (_save(last, last.candidates[which], request, profile, words, page_memory(request, profile=profile)),
            gr.update(visible=False))


def choose_first(last: Sample | None, request: gr.Request | None = None,
                 profile: gr.OAuthProfile | None = None) -> tuple[str, dict]:
    return _choose(last, 0, request, profile)


def choose_second(last: Sample | None, request: gr.Request | None = None,
                  profile: gr.OAuthProfile | None = None) -> tuple[str, dict]:
    return _choose(last, 1, request, profile)


# -- the API ("Use via API"): plain functions typed for gr.api --------------------------------

def uploaded(file: FileData | dict | None) -> str | bytes | None:
    """What a client sent: the path of a file it uploaded, or the bytes of a data URL
    ({"url": "data:image/png;base64,...", "meta": {"_type": "gradio.FileData"}}: one request,
    no upload); refuses any other path on this machine.

    gr.api hands the payload over as sent, so the check Gradio makes for component inputs
    (only files in its upload folder) is made here."""
    if file is None:
        return None
    path = file.get("path") if isinstance(file, dict) else getattr(file, "path", None)
    url = file.get("url") if isinstance(file, dict) else getattr(file, "url", None)
    sent = received(path if isinstance(path, str) else None, url)
    if sent is None:
        raise gr.Error("Send the image as a data URL ({\"url\": \"data:image/png;base64,...\"}) or a file "
                       "(gradio_client's handle_file, or the upload route).", print_exception=False)
    return sent


def classify(image: FileData, request: gr.Request | None = None) -> dict[str, Any]:
    """Read a handwritten or drawn digit (or a number of separated digits) in a picture.

    Args:
        image: a PNG, JPEG, WebP, BMP or GIF picture of the digit: an image URL or a data URL
            ("data:image/png;base64,..."); over HTTP, {"url": "data:...", "meta": {"_type": "gradio.FileData"}}.

    Returns:
        What gr.Label shows: {"label": "7", "confidences": [{"label": "7", "confidence": 0.98}, ...]}, each
        digit's probability under the jury's soft vote (for a number, each position's digit); or an error
        saying why the picture could not be read.
    """
    try:
        _, prediction = read(uploaded(image), memory=api_memory(request))
    except BadImage as error:
        raise gr.Error(sentence(str(error)), print_exception=False) from None
    return LABEL.postprocess(label_confidences(prediction)).model_dump()


def flag(image: FileData, digit: Any, request: gr.Request | None = None) -> str:
    """Store a correction (a digit and what it really is) in the feedback dataset that trains the next jury.

    Args:
        image: the picture of one handwritten or drawn digit: an image URL or a data URL
            ("data:image/png;base64,..."), as for classify.
        digit: the correct digit, exactly one of the integers 0-9 (a number or a string).

    Returns:
        A short confirmation ("Saved as a 7 — thank you. ..."), or an error saying why the sample was not
        saved (not an image, no digit in it, a wrong label, too many corrections).
    """
    try:
        sample, _ = read(uploaded(image), keep="api")
    except BadImage as error:
        raise gr.Error(f"Not saved: {sentence(str(error))}", print_exception=False) from None
    return _save(sample, digit, request, memory=api_memory(request))


def api_memory(request: gr.Request | None) -> str | None:
    """The API's (and MCP's) memory key: the visitor; None when called in process."""
    return None if request is None else visitor(request)
