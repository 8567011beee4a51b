"""What the controls of the reading tab do, and the API; app.py only lays the page out."""

from __future__ import annotations

import math
from functools import lru_cache
from pathlib import Path
from typing import Any, NamedTuple

import gradio as gr
from starlette.middleware import Middleware
from gradio.data_classes import FileData

from digit.config import (classify_per_minute, concurrency, feedback_dir, flags_per_minute, logged_in_flags_per_minute,
                          model_cache_dir, model_poll_minutes, model_repo, proxy_hops, reading_body_seconds,
                          reading_wait_seconds, visitor_key)
from digit.feedback import FeedbackError, FeedbackStore
from digit.feedback.votes import to_check
from digit.images import MAX_FILE_BYTES, BadImage, ImageInput
from digit.model_hub import HubModelFollower
from digit.model_store import LoadedModel, ModelError, ModelSlot
from digit.pad import PadDrawing
from digit.page.components import received
from digit.page.flagging import FeedbackFlagging
from digit.page.guard import Guard
from digit.page.texts import (WELCOME, jurors_table, jury_view, label_confidences, model_line, neighbour_tiles,
                              problem, sentence, verdict)
from digit.prediction import Prediction
from digit.rate_limits import RateLimit
from digit.reading_pool import ReadingPool, read_one
from digit.sample import Sample
from digit.visitors import VisitorIds, visitor_address

EXAMPLES_DIR = Path(__file__).parent / "examples"
LOGGED_IN = "hf:"  # a visitor logged in with Hugging Face: "hf:<username>"
NOTHING = "draw a digit or upload a picture of one"

# A request body may carry a file at the upload limit as base64 (4/3 of it) and a little JSON.
MAX_BODY_BYTES = MAX_FILE_BYTES * 4 // 3 + 2**20

_MODEL = ModelSlot()
_READERS: list[ReadingPool] = []  # the worker processes that read pictures, once the page is served (start)
LABEL = gr.Label(render=False)  # the API answers in gr.Label's format, as the page shows it


def model() -> LoadedModel:
    """The jury serving now: from MODEL_DIR (reloaded after a promotion), or from MODEL_REPO."""
    try:
        return _MODEL.get()
    except ModelError as error:  # only when no jury was ever served: the app stops in one line, not a traceback
        raise SystemExit(f"not starting: {error}") from None


def start() -> FeedbackStore:
    """Before the first visitor: follow MODEL_REPO if set, open (and start pushing) the feedback."""
    repo = model_repo()
    if repo:
        HubModelFollower(_MODEL, repo, model_cache_dir(), model_poll_minutes()).start()
    _READERS.append(ReadingPool(concurrency()))
    _READERS[0].start(model().classifier)  # a reader warm before the first visitor
    return feedback()


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
        return f"{LOGGED_IN}{profile.username}"
    if request is None:  # called in process, not through the server
        return "unknown"
    return visitor_of(request.headers, request.client.host if request.client else None)


def network(request: gr.Request | None) -> str | None:
    """The network a request came from (a keyed hash of its /24 or /48), from the same address as `visitor`."""
    if request is None:
        return None
    peer = request.client.host if request.client else None
    return _visitor_ids().network(visitor_address(request.headers.get("x-forwarded-for"), peer, proxy_hops()))


def guard(strokes: dict) -> Middleware:
    """The middleware in front of the app: body limit, readings per visitor, readings at once.
    strokes: the pad's event (what sketch.change returned), whose refusals it shows as verdicts."""
    return Middleware(Guard, visitor_of=visitor_of, readings=RateLimit(classify_per_minute()),
                      at_once=concurrency(), wait=reading_wait_seconds(), body_limit=MAX_BODY_BYTES,
                      body_seconds=reading_body_seconds(),
                      answers={"classify": classify}, page_refusals={strokes["id"]: refused_stroke})


def refused_stroke(message: str) -> list:
    """What a stroke the guard refused shows, in the order of app.py's `shown`: the refusal as the
    verdict, everything else as it was."""
    return [problem(message), *[{"__type__": "update"}] * (len(Shown._fields) - 1)]


@lru_cache(maxsize=1)
def _flag_limit() -> RateLimit:
    return RateLimit(flags_per_minute())


@lru_cache(maxsize=None)
def _logged_in_limit(things: str) -> RateLimit:
    return RateLimit(logged_in_flags_per_minute())


def flag_limit(who: str, anonymous: RateLimit | None = None, things: str = "corrections") -> RateLimit:
    """The per-minute limit a visitor's `things` are held to: a higher one when logged in with
    Hugging Face (LOGGED_IN_FLAGS_PER_MINUTE), else `anonymous` (the flags' FLAGS_PER_MINUTE)."""
    if who.startswith(LOGGED_IN):
        return _logged_in_limit(things)
    return anonymous or _flag_limit()


def example_files() -> list[str]:
    return sorted(str(path) for path in EXAMPLES_DIR.iterdir())


def model_summary() -> str:
    return model_line(model().card)


def read(image: ImageInput | None, explain: bool = False, keep: str | None = None,
         strokes: list | None = None) -> tuple[Sample | None, Prediction]:
    """Decode an input from the page or the API once and read it, in a worker process when served; raises
    BadImage with a message for people. keep: the input's source (sketch, upload, api), to also return
    the Sample the feedback would store of it (what a confirmation or a correction saves). strokes: the
    pad's pen path, read by the stroke juror (pad readings only)."""
    if image is None:
        raise BadImage(NOTHING)
    if _READERS:
        return _READERS[0].read(model().classifier, image, explain, keep, strokes)
    return read_one(model().classifier, image, explain, keep, strokes)  # called in process, not served


class Shown(NamedTuple):
    """Everything a reading changes on the page, in the order of app.py's `shown`."""

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
    def nothing(cls, message: str = WELCOME) -> "Shown":
        hidden = gr.update(visible=False)
        return cls(message, None, None, None, None, hidden, gr.update(), gr.update(), "", None)


def _show(image, source: str, drawing: PadDrawing | None = None) -> Shown:
    """Read an input and say why; keep what a confirmation or a correction needs (the last input,
    with the pad's strokes when drawn)."""
    try:
        # Kept in the session until the next reading: only what the feedback store would keep.
        last, prediction = read(image, explain=True, keep=source, strokes=drawing and drawing.strokes)
    except BadImage as error:
        return Shown.nothing(WELCOME if image is None else problem(str(error)))
    if drawing is not None:
        last = last.drawn(drawing.strokes)
    unsure = prediction.unsure and not prediction.parts
    first, second = prediction.candidates
    return Shown(verdict(prediction), label_confidences(prediction), jury_view(prediction), jurors_table(prediction),
                 neighbour_tiles(prediction), gr.update(visible=unsure), gr.update(value=f"It's a {first}"),
                 gr.update(value=f"It's a {second}"), "", last)


def show_sketch(value: Any) -> Shown:
    """Each finished stroke: read the pad's drawing (digit/pad.py; an empty pad clears the verdict)."""
    try:
        drawing = PadDrawing.from_value(value)
    except BadImage as error:
        return Shown.nothing(problem(str(error)))
    return _show(drawing and drawing.image, "sketch", drawing)


def show_upload(path: str | bytes | None) -> Shown:
    return _show(path, "upload")


def hold_to(limit: RateLimit, who: str, refusal: str, things: str) -> None:
    """Count one more of a visitor's `things` against limit; over it, refuse clearly ("Not saved:
    at most 30 corrections a minute from one visitor. Try again in 40 s.")."""
    wait = limit.wait(who)
    if wait:
        raise gr.Error(f"{refusal}: at most {limit.per_minute} {things} a minute from one visitor. "
                       f"Try again in {math.ceil(wait)} s.", print_exception=False)


def _save(sample: Sample, label, request: gr.Request | None, profile: gr.OAuthProfile | None = None) -> str:
    """Store the sample a reading kept with the digit a person says it is."""
    who = visitor(request, profile)
    hold_to(flag_limit(who), who, "Not saved", "corrections")
    try:
        total = flagging().flag([sample.sent_from(network(request)), label], username=who)
    except FeedbackError as error:
        raise gr.Error(f"Not saved: {sentence(str(error))}", print_exception=False) from None
    saved = f"Saved as a {int(label)} — thank you. The feedback dataset now holds {total} sample{'s' * (total != 1)}."
    if to_check({"label": int(label), "predicted": sample.predicted, "confidence": sample.confidence,
                 "source": sample.source}):
        saved += (f" The jury was sure it read a {sample.predicted}, so others will check your correction "
                  "(\"Check these\"): it teaches the jury once they confirm it.")
    return saved


def confirm(last: Sample | None, request: gr.Request | None = None, profile: gr.OAuthProfile | None = None) -> str:
    """The jury was right: store the sample with its predicted digit."""
    if not last:
        raise gr.Error("Draw or upload a digit first, then confirm it.", print_exception=False)
    return _save(last, last.predicted, request, profile)


def correct(last: Sample | None, digit: str | int | None, request: gr.Request | None = None,
            profile: gr.OAuthProfile | None = None) -> tuple[str, None]:
    """The jury was wrong: store the sample with the digit the person picked, clear the pick."""
    if not last:
        raise gr.Error("Draw or upload a digit first, then pick the right one.", print_exception=False)
    return _save(last, digit, request, profile), None


def _choose(last: Sample | None, which: int, request: gr.Request | None,
            profile: gr.OAuthProfile | None) -> tuple[str, dict]:
    """An unsure reading: the person says which of the two candidates they meant."""
    if not last:
        raise gr.Error("Draw or upload a digit first.", print_exception=False)
    return _save(last, last.candidates[which], request, profile), gr.update(visible=False)


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


def classify(image: FileData) -> dict[str, Any]:
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
        _, prediction = read(uploaded(image))
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
    return _save(sample, digit, request)
