"""The "Check these" tab, and its API: visitors give their word on others' contested corrections
("the digit is 7: yes / no"), one at a time.

What is shown is what the jury saw (the normalised 28x28 digit stored with the sample), never
the picture as sent. The store refuses what votes.py's rule does not count (a voter's own
correction or their network's, a second word, the bounds); votes are limited per visitor a
minute (FLAGS_PER_MINUTE, here) and a day (FLAGS_PER_DAY, in the store), as flags are. The API
(`next_correction`, `check`) goes through the very same calls as the buttons.
"""

from __future__ import annotations

import base64
from functools import lru_cache
from typing import Any, NamedTuple

import gradio as gr
import numpy as np

from digit.config import flags_per_minute
from digit.feedback import FeedbackError, Standing
from digit.feedback.samples import png_bytes
from digit.page.actions import hold_to
from digit.page.state import feedback
from digit.page.who import flag_limit, network, visitor
from digit.page.languages import ENGLISH, Words
from digit.page.texts import sentence
from digit.rate_window import MINUTE, RateWindow


class CheckShown(NamedTuple):
    """What the tab shows, in the order of app.py's `checked`."""

    said: str
    picture: list[tuple[np.ndarray, str]] | None  # InlinePictures: the 28x28 digit, dark on white
    question: str
    current: dict
    agree: dict
    disagree: dict


@lru_cache(maxsize=1)
def _vote_limit() -> RateWindow:
    return RateWindow(flags_per_minute(), MINUTE)


def next_check(current: dict | None = None, request: gr.Request | None = None,
               profile: gr.OAuthProfile | None = None) -> CheckShown:
    """The next flag for this visitor to check (none skipped, none of theirs, none they voted on)."""
    return _next(current, visitor(request, profile), network(request), "", Words.of(request))


def _next(current: dict | None, who: str, where: str | None, said: str, words: Words = ENGLISH) -> CheckShown:
    store = feedback()
    skipped = list((current or {}).get("skipped", []))
    record = store.next_to_check(who, skip=set(skipped), network=where)
    if record is None:
        hidden = gr.update(visible=False)
        return CheckShown(said, None, words("nothing_left"), {"sample": None, "skipped": skipped}, hidden, hidden)
    digit = store.digits([record["id"]]).get(record["id"], np.zeros((28, 28), np.uint8))
    question = words("check_question", label=record["label"], predicted=record["predicted"],
                     confidence=words.percent(record["confidence"]))
    return CheckShown(said, [(255 - digit, "")], question, {"sample": record["id"], "skipped": skipped},
                      gr.update(value=words("yes_it_is", label=record["label"]), visible=True),
                      gr.update(value=words("no_it_is_not", label=record["label"]), visible=True))


def _answer(sample: str, agree: bool, request: gr.Request | None, profile: gr.OAuthProfile | None = None,
            words: Words = ENGLISH) -> str:
    """Count one visitor's word on a correction, by every rule; what to tell them. Raises gr.Error."""
    who = visitor(request, profile)
    hold_to(flag_limit(who, _vote_limit(), "answers"), who, words("not_counted"), words("answers"), words)
    try:
        tally = feedback().vote(sample, who, agree, network(request))
    except FeedbackError as error:
        raise gr.Error(words("not_counted_because", reason=sentence(words.refusal(str(error)))),
                       print_exception=False) from None
    standing = words({Standing.CONFIRMED: "confirmed", Standing.REJECTED: "rejected",
                      Standing.UNCONFIRMED: "unsettled"}[tally.standing])
    return words("vote_thanks", agree=tally.agree, disagree=tally.disagree, standing=standing)


def _vote(current: dict | None, agree: bool, request: gr.Request | None,
          profile: gr.OAuthProfile | None) -> CheckShown:
    words = Words.of(request)
    sample = (current or {}).get("sample")
    if not sample:
        raise gr.Error(words("open_tab_first"), print_exception=False)
    said = _answer(sample, agree, request, profile, words)
    return _next(current, visitor(request, profile), network(request), said, words)


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


# -- the API ("Use via API"; also MCP tools): the same rules as the buttons ----------------------

def next_correction(request: gr.Request | None = None) -> dict[str, Any]:
    """The next correction for you to check: one that contradicts a confident jury, not yours, not
    from your network, that you have not answered.

    Returns:
        {"sample": its id, "label": the digit the flagger says it is, "predicted": what the jury read,
        "confidence": how sure the jury was, "digit": the 28x28 digit the jury saw, as a PNG data URL
        (dark on white)}; or {"sample": null, "message": why there is none}.
    """
    store = feedback()
    record = store.next_to_check(visitor(request), network=network(request))
    if record is None:
        return {"sample": None, "message": ENGLISH("nothing_left")}
    digit = store.digits([record["id"]]).get(record["id"], np.zeros((28, 28), np.uint8))
    return {"sample": record["id"], "label": record["label"], "predicted": record["predicted"],
            "confidence": record["confidence"],
            "digit": "data:image/png;base64," + base64.b64encode(png_bytes(255 - digit)).decode()}


def check(sample: str, agree: Any, request: gr.Request | None = None) -> str:
    """Give your word on a correction next_correction offered: is the digit what the flagger says?

    Args:
        sample: the correction's id, as next_correction gave it.
        agree: true if the digit is what the flagger says, false if not.

    Returns:
        What was counted and where the correction stands ("Thank you: 2 agree, 0 disagree so far; ..."),
        or an error saying why the answer was not counted (your own correction, a second answer, the limits).
    """
    if not isinstance(sample, str) or not sample:
        raise gr.Error("Not counted: say which correction (its id, from next_correction).", print_exception=False)
    if not isinstance(agree, bool):
        raise gr.Error("Not counted: agree must be true or false.", print_exception=False)
    return _answer(sample, agree, request)
