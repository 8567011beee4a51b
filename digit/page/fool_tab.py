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

from digit.images import BadImage
from digit.pad import PadDrawing
from digit.page.actions import _save, feedback, model, read, visitor
from digit.page.texts import problem

# What the tab says, in one place.
TITLE = "Fool the jury"
INTRO = ("The jury is asked to read a digit you draw. Can you draw it so that it reads it wrong, and a person "
         "would still read it right? Every drawing goes into the dataset labelled with the digit asked for; "
         "the ones that fool the jury are checked by other visitors first.")
PAD_LABEL = "Draw the digit asked for"
SUBMIT = "Show the jury"
COUNTS_LABEL = "How often each digit fooled the jury serving now"
COUNTS_HEADERS = ["digit", "fooled", "drawn", "fooled share"]
NEXT = "The pad is clear for the next one."
PAD_ID = "fool-pad"
# Run in the browser once a drawing is stored: the pad clears itself for the next digit.
CLEAR_PAD = f"() => document.querySelector('#{PAD_ID} .pad-clear').click()"


def prompt(target: int) -> str:
    return f"## Draw a {target} the jury reads wrong"


def mine(fooled: int, drawn: int) -> str:
    if not drawn:
        return "You have not drawn for this jury yet."
    return f"You fooled this jury {fooled} time{'s' * (fooled != 1)} out of {drawn}."


def verdict(target: int, read_as: int, confidence: float) -> str:
    if read_as != target:
        return (f"## Fooled!\nThe jury read your {target} as a **{read_as}** ({confidence:.0%} sure). "
                "Other visitors will check that it is a fair " + str(target) + ".")
    return f"## Not fooled\nThe jury read your {target} as a **{read_as}** ({confidence:.0%} sure)."


class FoolShown(NamedTuple):
    """What the tab shows, in the order of app.py's `fool_shown`."""

    verdict: str | dict
    prompt: str
    counts: list[list]
    mine: str
    target: int


def _shown(verdict_text: str | dict, who: str) -> FoolShown:
    """The tab with a new digit to draw and the counts as the dataset has them now."""
    counts = feedback().challenge_counts(model().classifier.version, who)
    target = counts.next_target()
    rows = [[digit, counts.fooled[digit], counts.drawn[digit], f"{counts.share(digit):.0%}" if counts.drawn[digit]
             else "–"] for digit in range(10)]
    return FoolShown(verdict_text, prompt(target), rows, mine(counts.mine_fooled, counts.mine_drawn), target)


def show(request: gr.Request | None = None, profile: gr.OAuthProfile | None = None) -> FoolShown:
    """The tab opened: a digit to draw, the counts."""
    return _shown(gr.update(), visitor(request, profile))


def judge(value: Any, target: int | None, request: gr.Request | None = None,
          profile: gr.OAuthProfile | None = None) -> FoolShown:
    """The visitor's drawing for the named digit: read it, store it labelled so, say whether it fooled the jury."""
    if target is None:
        raise gr.Error("Open the tab to be given a digit to draw first.", print_exception=False)
    try:
        drawing = PadDrawing.from_value(value)
        if drawing is None:
            raise gr.Error(f"Draw a {target} on the pad first.", print_exception=False)
        sample, prediction = read(drawing.image, keep="challenge")
    except BadImage as error:
        raise gr.Error(problem(str(error)).strip("*"), print_exception=False) from None
    if prediction.parts:
        raise gr.Error(f"Draw one digit, a {target}, not {len(prediction.parts)}.", print_exception=False)
    saved = _save(sample.drawn(drawing.strokes), target, request, profile)
    said = f"{verdict(target, prediction.digit, prediction.confidence)}\n\n{saved} {NEXT}"
    return _shown(said, visitor(request, profile))
