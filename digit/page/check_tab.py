"""The "Check these" tab: visitors give their word on others' corrections that contradict a
confident jury ("the digit is 7: yes / no"), one at a time.

What is shown is what the jury saw (the normalised 28x28 digit stored with the sample), never
the picture as sent. The store refuses a voter's own flag and a second vote; votes are limited
per visitor a minute (FLAGS_PER_MINUTE, here) and a day (FLAGS_PER_DAY, in the store), as flags are.
"""

from __future__ import annotations

from functools import lru_cache
from typing import NamedTuple

import gradio as gr
import numpy as np

from digit.config import flags_per_minute
from digit.feedback import FeedbackError, Standing
from digit.page.actions import feedback, hold_to, visitor
from digit.page.languages import Words
from digit.page.texts import sentence
from digit.rate_limits import RateLimit


class CheckShown(NamedTuple):
    """What the tab shows, in the order of app.py's `checked`."""

    said: str
    picture: list[tuple[np.ndarray, str]] | None  # InlinePictures: the 28x28 digit, dark on white
    question: str
    current: dict
    agree: dict
    disagree: dict


@lru_cache(maxsize=1)
def _vote_limit() -> RateLimit:
    return RateLimit(flags_per_minute())


def next_check(current: dict | None = None, request: gr.Request | None = None) -> CheckShown:
    """The next flag for this visitor to check (none skipped, none of theirs, none they voted on)."""
    return _next(current, request, "")


def _next(current: dict | None, request: gr.Request | None, said: str) -> CheckShown:
    words = Words.of(request)
    store = feedback()
    skipped = list((current or {}).get("skipped", []))
    record = store.next_to_check(visitor(request), skip=set(skipped))
    if record is None:
        hidden = gr.update(visible=False)
        return CheckShown(said, None, words("nothing_left"), {"sample": None, "skipped": skipped}, hidden, hidden)
    digit = store.digits([record["id"]]).get(record["id"], np.zeros((28, 28), np.uint8))
    question = words("check_question", label=record["label"], predicted=record["predicted"],
                     confidence=words.percent(record["confidence"]))
    return CheckShown(said, [(255 - digit, "")], question, {"sample": record["id"], "skipped": skipped},
                      gr.update(value=words("yes_it_is", label=record["label"]), visible=True),
                      gr.update(value=words("no_it_is_not", label=record["label"]), visible=True))


def _vote(current: dict | None, agree: bool, request: gr.Request | None) -> CheckShown:
    words = Words.of(request)
    sample = (current or {}).get("sample")
    if not sample:
        raise gr.Error(words("open_tab_first"), print_exception=False)
    who = visitor(request)
    hold_to(_vote_limit(), who, words("not_counted"), words("answers"), words)
    try:
        tally = feedback().vote(sample, who, agree)
    except FeedbackError as error:
        raise gr.Error(words("not_counted_because", reason=sentence(words.refusal(str(error)))),
                       print_exception=False) from None
    standing = words({Standing.CONFIRMED: "confirmed", Standing.REJECTED: "rejected",
                      Standing.UNCONFIRMED: "unsettled"}[tally.standing])
    said = words("vote_thanks", agree=tally.agree, disagree=tally.disagree, standing=standing)
    return _next(current, request, said)


def agree(current: dict | None, request: gr.Request | None = None) -> CheckShown:
    return _vote(current, True, request)


def disagree(current: dict | None, request: gr.Request | None = None) -> CheckShown:
    return _vote(current, False, request)


def skip(current: dict | None, request: gr.Request | None = None) -> CheckShown:
    """Cannot tell: show another one (this one again only once the others are done)."""
    sample = (current or {}).get("sample")
    skipped = list((current or {}).get("skipped", [])) + ([sample] if sample else [])
    shown = next_check({"skipped": skipped}, request)
    if shown.current["sample"] is None and skipped:  # all skipped: start over
        return next_check(None, request)
    return shown
