"""The "Fool the jury" tab: the page names a digit, the visitor draws it so that the jury reads
it wrong, and the verdict says whether it did (Dynabench's and Quick, Draw!'s idea: every drawing
arrives labelled, and the data goes where the jury is weakest).

The digit named is one the jury is fooled on least often so far (at random among them). Each
drawing is stored with the named digit as its label and source `challenge`, through the same
flagging path, limits, caps and duplicate rule as a correction; one that fooled the jury is
contested, so it waits for others' word in "Check these" (a visitor asked for a 4 may draw a 1).
The tab shows, for the jury serving now, how often each digit fooled it, and the visitor's own count.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import gradio as gr
import pandas as pd

from digit.feedback.challenges import ChallengeCounts
from digit.reading.images import BadImage
from digit.reading.pad import PadDrawing
from digit.page.actions import _save
from digit.page.state import feedback, model, read
from digit.page.who import visitor
from digit.page.languages import ENGLISH, Words
from digit.page.texts import problem

PAD_ID = "fool-pad"
# Run in the browser once a drawing is stored: the pad clears itself for the next digit.
CLEAR_PAD = f"() => document.querySelector('#{PAD_ID} .pad-clear').click()"


def counts_table(counts: ChallengeCounts | None, words: Words = ENGLISH) -> pd.DataFrame:
    """Per digit: drawings that fooled the jury, drawings in all, the share; headers in the page's language."""
    rows = [] if counts is None else [
        [digit, counts.fooled[digit], counts.drawn[digit],
         words.percent(counts.share(digit)) if counts.drawn[digit] else "–"] for digit in range(10)]
    return pd.DataFrame(rows, columns=[words("digit"), words("fool_fooled"), words("fool_drawn"),
                                       words("fool_share")])


def mine(fooled: int, drawn: int, words: Words = ENGLISH) -> str:
    return words("fool_mine", fooled=fooled, drawn=drawn) if drawn else words("fool_mine_none")


def verdict(target: int, read_as: int, confidence: float, words: Words = ENGLISH) -> str:
    return words("fool_fooled_verdict" if read_as != target else "fool_not_fooled_verdict", target=target,
                 read_as=read_as, confidence=words.percent(confidence))


class FoolShown(NamedTuple):
    """What the tab shows, in the order of app.py's `fool_shown`."""

    verdict: str | dict
    prompt: str
    counts: pd.DataFrame
    mine: str
    target: int


def _shown(verdict_text: str | dict, who: str, words: Words = ENGLISH) -> FoolShown:
    """The tab with a new digit to draw and the counts as the dataset has them now."""
    counts = feedback().challenge_counts(model().classifier.version, who)
    target = counts.next_target()
    return FoolShown(verdict_text, words("fool_prompt", target=target), counts_table(counts, words),
                     mine(counts.mine_fooled, counts.mine_drawn, words), target)


def show(request: gr.Request | None = None, profile: gr.OAuthProfile | None = None) -> FoolShown:
    """The tab opened: a digit to draw, the counts."""
    return _shown(gr.update(), visitor(request, profile), Words.of(request))


def judge(value: Any, target: int | None, request: gr.Request | None = None,
          profile: gr.OAuthProfile | None = None) -> FoolShown:
    """The visitor's drawing for the named digit: read it, store it labelled so, say whether it fooled the jury."""
    words = Words.of(request)
    if target is None:
        raise gr.Error(words("fool_open_first"), print_exception=False)
    try:
        drawing = PadDrawing.from_value(value)
        if drawing is None:
            raise gr.Error(words("fool_draw_first", target=target), print_exception=False)
        sample, prediction = read(drawing.image, keep="challenge")
    except BadImage as error:
        raise gr.Error(problem(str(error), words).strip("*"), print_exception=False) from None
    if prediction.parts:
        raise gr.Error(words("fool_one_digit", target=target, count=len(prediction.parts)), print_exception=False)
    saved = _save(sample.drawn(drawing.strokes), target, request, profile, words)
    said = f"{verdict(target, prediction.digit, prediction.confidence, words)}\n\n{saved} {words('fool_next')}"
    return _shown(said, visitor(request, profile), words)
