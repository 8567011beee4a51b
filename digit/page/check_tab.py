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
from digit.page.actions import feedback, flag_limit, hold_to, visitor
from digit.page.texts import sentence
from digit.rate_limits import RateLimit

NOTHING_LEFT = ("Nothing to check right now: every correction that contradicts a confident jury has your word "
                "already, or there is none. Thank you!")


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


def next_check(current: dict | None = None, request: gr.Request | None = None,
               profile: gr.OAuthProfile | None = None) -> CheckShown:
    """The next flag for this visitor to check (none skipped, none of theirs, none they voted on)."""
    return _next(current, visitor(request, profile), "")


def _next(current: dict | None, who: str, said: str) -> CheckShown:
    store = feedback()
    skipped = list((current or {}).get("skipped", []))
    record = store.next_to_check(who, skip=set(skipped))
    if record is None:
        hidden = gr.update(visible=False)
        return CheckShown(said, None, NOTHING_LEFT, {"sample": None, "skipped": skipped}, hidden, hidden)
    digit = store.digits([record["id"]]).get(record["id"], np.zeros((28, 28), np.uint8))
    question = (f"Someone says this is a **{record['label']}**; the jury read it as a {record['predicted']} "
                f"({record['confidence']:.0%} sure). Is it a {record['label']}?")
    return CheckShown(said, [(255 - digit, "")], question, {"sample": record["id"], "skipped": skipped},
                      gr.update(value=f"Yes, it is a {record['label']}", visible=True),
                      gr.update(value=f"No, it is not a {record['label']}", visible=True))


def _vote(current: dict | None, agree: bool, request: gr.Request | None,
          profile: gr.OAuthProfile | None) -> CheckShown:
    sample = (current or {}).get("sample")
    if not sample:
        raise gr.Error("Open the tab to see a correction to check first.", print_exception=False)
    who = visitor(request, profile)
    hold_to(flag_limit(who, _vote_limit(), "answers"), who, "Not counted", "answers")
    try:
        tally = feedback().vote(sample, who, agree)
    except FeedbackError as error:
        raise gr.Error(f"Not counted: {sentence(str(error))}", print_exception=False) from None
    standing = {Standing.CONFIRMED: "it counts as confirmed", Standing.REJECTED: "it counts as rejected",
                Standing.UNCONFIRMED: "it is not settled yet"}[tally.standing]
    said = f"Thank you: {tally.agree} agree, {tally.disagree} disagree so far; {standing}."
    return _next(current, who, said)


def agree(current: dict | None, request: gr.Request | None = None,
          profile: gr.OAuthProfile | None = None) -> CheckShown:
    return _vote(current, True, request, profile)


def disagree(current: dict | None, request: gr.Request | None = None,
             profile: gr.OAuthProfile | None = None) -> CheckShown:
    return _vote(current, False, request, profile)


def skip(current: dict | None, request: gr.Request | None = None,
         profile: gr.OAuthProfile | None = None) -> CheckShown:
    """Cannot tell: show another one (this one again only once the others are done)."""
    sample = (current or {}).get("sample")
    skipped = list((current or {}).get("skipped", [])) + ([sample] if sample else [])
    shown = next_check({"skipped": skipped}, request, profile)
    if shown.current["sample"] is None and skipped:  # all skipped: start over
        return next_check(None, request, profile)
    return shown
