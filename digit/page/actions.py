"""What the controls of the reading tab do, and the API; app.py only lays the page out. The
page's state (the jury serving, the readers, the memory, the feedback) is in state.py, who is
asking in who.py."""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any, NamedTuple

import gradio as gr
import pandas as pd
from starlette.middleware import Middleware
from gradio.data_classes import FileData

from digit.config import MAX_BODY_BYTES, classify_per_minute, concurrency, reading_body_seconds, reading_wait_seconds
from digit.feedback import FeedbackError
from digit.feedback.votes import to_check
from digit.reading.images import BadImage
from digit.model.card import read_card
from digit.reading.pad import PadDrawing
from digit.page.components import received
from digit.page import state, who
from digit.page.guard import Guard
from digit.page.languages import ENGLISH, Words, language_of
from digit.page.texts import (WELCOME, jurors_table, jury_view, label_confidences, model_line, neighbour_tiles,
                              problem, sentence, verdict)
from digit.rate_window import MINUTE, RateWindow
from digit.reading.sample import Sample

EXAMPLES_DIR = Path(__file__).parent / "examples"
LABEL = gr.Label(render=False)  # the API answers in gr.Label's format, as the page shows it


def guard(strokes: dict) -> Middleware:
    """The middleware in front of the app: body limit, readings per visitor, readings at once.
    strokes: the pad's event (what sketch.change returned), whose refusals it shows as verdicts."""
    return Middleware(Guard, visitor_of=who.visitor_of, readings=RateWindow(classify_per_minute(), MINUTE),
                      at_once=concurrency(), wait=reading_wait_seconds(), body_limit=MAX_BODY_BYTES,
                      body_seconds=reading_body_seconds(),
                      answers={"classify": classify}, page_refusals={strokes["id"]: refused_stroke})


def refused_stroke(message: str, headers: Mapping[str, str] | None = None) -> list:
    """What a stroke the guard refused shows, in the order of app.py's `shown`: the refusal as the
    verdict (in the language the request's headers ask for), everything else as it was."""
    words = Words(language_of((headers or {}).get("accept-language")))
    return [problem(message, words), *[{"__type__": "update"}] * (len(Shown._fields) - 1)]


def example_files() -> list[str]:
    return sorted(str(path) for path in EXAMPLES_DIR.iterdir())


def model_summary(request: gr.Request | None = None) -> str:
    """The model line: the model folder's card until the server holds its own copy of the jury."""
    if not state.has_own_copy():
        return model_line(read_card(), Words.of(request), 0)
    return model_line(state.model().card, Words.of(request), state.live().count(state.model().classifier))


def no_jurors(request: gr.Request | None = None) -> pd.DataFrame:
    """The jurors' table before any reading: no rows, its column names in the visitor's language."""
    return jurors_table(None, Words.of(request))


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
        last, prediction = state.read(image, explain=True, keep=source, memory=memory,
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
    memory = who.page_memory(request, drawing.browser if drawing else None, profile)
    return _show(drawing and drawing.image, "sketch", drawing, words, memory)


def show_upload(path: str | bytes | None, request: gr.Request | None = None,
                profile: gr.OAuthProfile | None = None) -> Shown:
    return _show(path, "upload", words=Words.of(request), memory=who.page_memory(request, profile=profile))


def hold_to(limit: RateWindow, sender: str, refusal: str, things: str, words: Words = ENGLISH) -> None:
    """Count one more of a visitor's `things` against limit; over it, refuse clearly ("Not saved:
    at most 30 corrections a minute from one visitor. Try again in 40 s."); refusal and things
    in the words' language."""
    wait = limit.admit(sender)
    if wait:
        raise gr.Error(words("too_many", refusal=refusal, limit=limit.most, things=things,
                             seconds=math.ceil(wait)), print_exception=False)


def _save(sample: Sample, label, request: gr.Request | None, profile: gr.OAuthProfile | None = None,
          words: Words = ENGLISH, memory: str | None = None) -> str:
    """Store the sample a reading kept with the digit a person says it is; once stored, it takes
    part in the readings of that memory key (the page's visitor and browser, or the API's visitor)."""
    sender = who.visitor(request, profile)
    hold_to(who.flag_limit(sender), sender, words("not_saved"), words("corrections"), words)
    try:
        total = state.flagging().flag([sample.sent_from(who.network(request)), label], username=sender)
    except FeedbackError as error:
        raise gr.Error(words("not_saved_because", reason=sentence(words.refusal(str(error)))),
                       print_exception=False) from None
    if memory is not None:
        state.MEMORY.teach(memory, sample.digit, int(label))
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
    return _save(last, last.predicted, request, profile, words, who.page_memory(request, profile=profile))


def correct(last: Sample | None, digit: str | int | None, request: gr.Request | None = None,
            profile: gr.OAuthProfile | None = None) -> tuple[str, None]:
    """The jury was wrong: store the sample with the digit the person picked, clear the pick."""
    words = Words.of(request)
    if not last:
        raise gr.Error(words("correct_first"), print_exception=False)
    return _save(last, digit, request, profile, words, who.page_memory(request, profile=profile)), None


def _choose(last: Sample | None, which: int, request: gr.Request | None,
            profile: gr.OAuthProfile | None) -> tuple[str, dict]:
    """An unsure reading: the person says which of the two candidates they meant."""
    words = Words.of(request)
    if not last:
        raise gr.Error(words("choose_first"), print_exception=False)
    return (_save(last, last.candidates[which], request, profile, words, who.page_memory(request, profile=profile)),
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
        _, prediction = state.read(uploaded(image), memory=api_memory(request))
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
        sample, _ = state.read(uploaded(image), keep="api")
    except BadImage as error:
        raise gr.Error(f"Not saved: {sentence(str(error))}", print_exception=False) from None
    return _save(sample, digit, request, memory=api_memory(request))


def api_memory(request: gr.Request | None) -> str | None:
    """The API's (and MCP's) memory key: the visitor; None when called in process."""
    return None if request is None else who.visitor(request)
