"""The page speaks the visitor's language (English or Swedish), from one table of words; what a
handler says follows the request's Accept-Language; the API's texts stay English."""

from __future__ import annotations

import asyncio
import json
import re
import string

import gradio as gr
import numpy as np
import pytest
from PIL import Image

from helpers import pad_value
from digit.feedback import DailyLimit, DiskFull, DuplicateSample, FeedbackStore, sample_of
from digit.reading.images import BadImage, read_picture
from digit.page import actions, check_tab, dataset_tab, state
from digit.page.flagging import FeedbackFlagging
from digit.page.guard import Guard
from digit.page.languages import I18N, LANGUAGES, PREFIX, REFUSALS, TEXTS, Words, language_of
from digit.reading.preprocess import NO_INK_MESSAGE, NOISE_MESSAGE, TOUCHING_MESSAGE
from digit.rate_window import MINUTE, RateWindow
from testing.languages import is_english, is_swedish
from testing.renderings import draw_strokes

SWEDISH = {"accept-language": "sv-SE,sv;q=0.9,en-US;q=0.8,en;q=0.7"}
FLAGGER, CHECKER = "anon:" + "1" * 16, "anon:" + "2" * 16


def request(headers: dict, address: str = "10.0.0.7") -> gr.Request:
    """A request as Gradio hands it to a handler."""
    return gr.Request(headers=headers, client={"host": address})


def fields(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def test_every_text_has_words_in_every_language_with_the_same_fields():
    for key, words in TEXTS.items():
        assert len(words) == len(LANGUAGES) and all(words), key
        assert all(fields(each) == fields(words[0]) for each in words), key
    for pattern, words in REFUSALS:
        assert len(words) == len(LANGUAGES) - 1
        assert all(fields(each) <= set(pattern.groupindex) for each in words), pattern.pattern
    # Gradio's frontend gets every language, each key with the page's prefix
    assert set(I18N.translations_dict) == set(LANGUAGES)
    assert all(len(table) == len(TEXTS) and all(key.startswith(PREFIX) for key in table)
               for table in I18N.translations_dict.values())


def test_no_swedish_text_is_english_and_no_english_text_swedish():
    assert [words[1] for words in TEXTS.values() if is_english(words[1])] == []
    assert [words[0] for words in TEXTS.values() if is_swedish(words[0])] == []
    assert [words[0] for _, words in REFUSALS if is_english(words[0])] == []


@pytest.mark.parametrize("header, language", [
    ("sv-SE,sv;q=0.9,en-US;q=0.8,en;q=0.7", "sv"), ("sv", "sv"), ("SV-fi", "sv"), ("en-US,en;q=0.9,sv;q=0.8", "en"),
    ("de-DE,de;q=0.9", "en"), ("en;q=0.5, sv;q=0.8", "sv"), ("", "en"), (None, "en"), ("*", "en"), ("sv;q=0, en;q=0.1", "en"),
])
def test_the_language_is_the_browsers_first_choice_when_the_page_speaks_it(header, language):
    assert language_of(header) == language


def library_refusals() -> list[str]:
    """Refusals the library says, as it says them."""
    said = [NO_INK_MESSAGE, NOISE_MESSAGE, TOUCHING_MESSAGE, str(DailyLimit(20)), str(DailyLimit(20, "answers")),
            str(DuplicateSample(7, "x")), str(DiskFull()), str(DiskFull("vote"))]
    for sent in (b"shopping list: milk, eggs", b"", b"%PDF-1.4 not a picture"):
        with pytest.raises(BadImage) as refused:
            read_picture(sent)
        said.append(str(refused.value))
    return said


def test_the_librarys_refusals_are_said_in_swedish_on_a_swedish_page():
    swedish, english = Words("sv"), Words("en")
    for message in library_refusals():
        assert english.refusal(message) == message
        assert swedish.refusal(message) != message, message
    assert swedish.refusal("you already sent this drawing as a 7; it is kept once").startswith(
        "du har redan skickat den här teckningen som en 7:a")
    assert swedish.refusal("something new the table does not know") == "something new the table does not know"


@pytest.fixture
def page(tmp_path, monkeypatch):
    """The page's handlers with the shipped jury and a feedback store in tmp_path."""
    monkeypatch.setenv("GRADIO_TEMP_DIR", str(tmp_path / "uploads"))
    store = FeedbackStore(tmp_path / "feedback", repo_id="", token="")
    store.setup()
    flagging = FeedbackFlagging(store)
    for module in (state, check_tab, dataset_tab):
        monkeypatch.setattr(module, "feedback", lambda: store)
    monkeypatch.setattr(state, "flagging", lambda: flagging)
    yield store
    store.close()


def test_a_reading_and_its_saving_are_said_in_the_visitors_language(page, tmp_path):
    path = tmp_path / "seven.png"
    Image.fromarray(draw_strokes(7, canvas=(300, 300))).save(path)
    swedish = actions.show_upload(str(path), request(SWEDISH))
    assert re.search(r"säker, (enhälligt|delade röster)", swedish.verdict), swedish.verdict
    assert list(swedish.jurors.columns) == ["jurymedlem", "1:a", "2:a"]
    assert "skog" in set(swedish.jurors["jurymedlem"])
    assert actions.confirm(swedish.last, request(SWEDISH)).startswith("Sparad som en 7:a — tack!")
    english = actions.show_upload(str(path), request({"accept-language": "en-GB"}))
    assert "confident" in english.verdict and list(english.jurors.columns) == ["juror", "1st", "2nd"]
    empty = actions.show_sketch("", request(SWEDISH))
    assert empty.verdict.startswith("**Rita en siffra") and list(empty.jurors.columns) == ["jurymedlem", "1:a", "2:a"]
    with pytest.raises(gr.Error) as refused:
        actions.confirm(None, request(SWEDISH))
    assert refused.value.message == "Rita eller ladda upp en siffra först, bekräfta den sedan."
    assert actions.model_summary(request(SWEDISH)).startswith("<small>Modell ")


def test_a_picture_without_a_digit_is_refused_in_swedish(page):
    white = pad_value(np.full((200, 200), 255, np.uint8))
    shown = actions.show_sketch(white, request(SWEDISH))
    assert shown.verdict == "**Inget bläck hittades: rita en siffra eller ladda upp en bild av en.**"


def _png(image: Image.Image) -> bytes:
    import io

    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def test_the_check_tab_asks_and_thanks_in_swedish(page):
    page.save(sample_of(draw_strokes(1, canvas=(300, 300)), 7, predicted=1, confidence=0.95, model_version="test",
                        source="sketch", visitor=FLAGGER))
    swedish = request(SWEDISH, "10.0.0.2")
    shown = check_tab.next_check(None, swedish)
    assert shown.question.startswith("Någon säger att det här är en **7:a**; juryn läste den som en 1:a")
    assert shown.agree["value"] == "Ja, det är en 7:a" and shown.disagree["value"] == "Nej, det är inte en 7:a"
    after = check_tab.agree(shown.current, swedish)
    assert after.said == "Tack! Hittills håller 1 med och 0 inte; den är inte avgjord än."  # one network is not enough
    assert after.question.startswith("Inget att granska just nu")
    with pytest.raises(gr.Error) as refused:
        check_tab.agree(shown.current, swedish)
    assert refused.value.message.startswith("Inte räknad: ")


def test_the_dataset_tab_is_said_in_swedish(page):
    page.save(sample_of(draw_strokes(7, canvas=(300, 300)), 7, predicted=7, confidence=0.95, model_version="test",
                        source="sketch", visitor=FLAGGER))
    summary, _, _, gallery, history = dataset_tab.dataset_view(request(SWEDISH))
    assert summary.startswith("**1** prov, sparade på den här datorn")
    assert [caption for _, caption in gallery] == ["7 ✓"]
    assert list(history.columns)[:3] == ["version", "tränad", "prov från besökare"]


def test_a_stroke_the_guard_refuses_is_said_in_the_visitors_language():
    # The guard in front of the app, as app.py sets it up, with one reading a minute: the page's
    # second stroke is refused, its verdict in the language the browser asked for.
    async def app(scope, receive, send):  # the app behind the guard: any reading it lets through is answered
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"{}"})

    guard = Guard(app, visitor_of=lambda headers, peer: "anon:" + "3" * 16, readings=RateWindow(1, MINUTE), at_once=1,
                  wait=0, body_limit=2**20, page_refusals={4: actions.refused_stroke})

    async def stroke(headers: dict) -> tuple[int, bytes]:
        body = b'{"fn_index": 4, "data": [""]}'
        scope = {"type": "http", "method": "POST", "path": "/gradio_api/run/predict", "client": ("10.0.0.5", 1),
                 "headers": [(name.encode(), value.encode()) for name, value in
                             {**headers, "content-length": str(len(body))}.items()]}
        sent = []

        async def receive():
            return {"type": "http.request", "body": body, "more_body": False}

        async def send(message):
            sent.append(message)

        await guard(scope, receive, send)
        return sent[0]["status"], sent[1]["body"]

    async def strokes() -> list[tuple[int, bytes]]:
        return [await stroke(SWEDISH), await stroke(SWEDISH), await stroke({})]

    (first, _), (second, swedish), (_, english) = asyncio.run(strokes())
    assert first == second == 200
    assert re.match(r"\*\*För många läsningar: högst 1 i minuten från en besökare\. Försök igen om \d+ s\.\*\*$",
                    json.loads(swedish)["data"][0])
    assert json.loads(english)["data"][0].startswith("**Too many readings: at most 1 a minute from one visitor.")


def test_the_api_flag_thanks_in_english_whatever_language_the_client_asks_for(page, tmp_path):
    path = tmp_path / "uploads" / "four.png"
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(draw_strokes(4, canvas=(300, 300))).save(path)
    assert actions.flag({"path": str(path)}, 9, request(SWEDISH)).startswith("Saved as a 9 — thank you.")

