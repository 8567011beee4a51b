"""Logging in with Hugging Face: a logged-in visitor's samples and votes say "hf:<username>",
their limits and caps follow the name (with a higher per-minute limit), and anonymous visitors
keep theirs. Gradio's local stand-in login asks the Hub's whoami, which cannot work here, so the
handlers get a gr.OAuthProfile as Gradio would inject it."""

from __future__ import annotations

import gradio as gr
import pytest

from digit.config import hub_login
from digit.feedback import FeedbackStore, sample_of
from digit.page import actions, check_tab, fool_tab, state, who
from digit.page.flagging import FeedbackFlagging
from helpers import pad_value, stored_samples
from testing.renderings import draw_strokes

ALICE = gr.OAuthProfile({"name": "Alice", "preferred_username": "alice", "profile": "https://huggingface.co/alice",
                         "picture": ""})
BOB = gr.OAuthProfile({"name": "Bob", "preferred_username": "bob", "profile": "https://huggingface.co/bob",
                       "picture": ""})


def request_from(address: str) -> gr.Request:
    return gr.Request(headers={}, client={"host": address})


@pytest.fixture
def store(tmp_path, monkeypatch):
    monkeypatch.setenv("FLAGS_PER_MINUTE", "1")
    monkeypatch.setenv("LOGGED_IN_FLAGS_PER_MINUTE", "3")
    limits = (who._flag_limit, who._logged_in_limit, check_tab._vote_limit)
    for limit in limits:
        limit.cache_clear()
    store = FeedbackStore(tmp_path / "feedback", repo_id="", token="", per_day=4)
    store.setup()
    flagging = FeedbackFlagging(store)
    monkeypatch.setattr(state, "flagging", lambda: flagging)
    monkeypatch.setattr(check_tab, "feedback", lambda: store)
    monkeypatch.setattr(fool_tab, "feedback", lambda: store)
    yield store
    store.close()
    for limit in limits:
        limit.cache_clear()


def reading(digit: int = 3, predicted: int = 3):
    """What a reading keeps of a drawing: the sample a confirmation or a correction stores."""
    return sample_of(draw_strokes(digit, canvas=(256, 256)), predicted=predicted, confidence=0.95, source="sketch")


def test_a_logged_in_visitors_samples_and_votes_carry_their_hub_username(store):
    actions.correct(reading(1, predicted=1), "7", request_from("10.0.0.1"), ALICE)  # against a confident jury
    fool_tab.judge(pad_value(draw_strokes(4, canvas=(256, 256))), 4, request_from("10.0.0.1"), ALICE)
    assert [row["visitor"] for row in stored_samples(store.folder)] == ["hf:alice", "hf:alice"]
    shown = check_tab.next_check(None, request_from("10.0.9.1"), BOB)  # Bob, from another network
    assert shown.current["sample"] is not None
    with pytest.raises(gr.Error, match="your own correction"):  # from any address: the name is the visitor
        check_tab.agree(shown.current, request_from("10.0.0.9"), ALICE)
    check_tab.agree(shown.current, request_from("10.0.9.1"), BOB)
    assert [vote["visitor"] for vote in store.votes_file.read()] == ["hf:bob"]


def test_a_logged_in_visitor_has_a_higher_per_minute_limit_than_an_anonymous_one(store):
    actions.correct(reading(), "5", request_from("10.0.0.2"))
    with pytest.raises(gr.Error, match="at most 1 corrections a minute"):
        actions.correct(reading(), "6", request_from("10.0.0.2"))
    for digit in "567":
        actions.correct(reading(), digit, request_from("10.0.0.2"), ALICE)  # the same address, logged in
    with pytest.raises(gr.Error, match="at most 3 corrections a minute"):
        actions.correct(reading(), "8", request_from("10.0.0.3"), ALICE)  # another address: the same name
    assert [row["visitor"] for row in stored_samples(store.folder)].count("hf:alice") == 3


def a_minute_later() -> None:
    who._flag_limit.cache_clear()
    who._logged_in_limit.cache_clear()


def test_the_daily_cap_follows_the_username_across_addresses(store):
    for index, digit in enumerate("5678"):
        a_minute_later()
        actions.correct(reading(), digit, request_from(f"10.0.1.{index}"), BOB)
    a_minute_later()
    with pytest.raises(gr.Error, match="4 corrections in the last 24 hours"):
        actions.correct(reading(), "9", request_from("10.0.1.99"), BOB)
    actions.confirm(reading(), request_from("10.0.1.99"))  # the same address, anonymous: their own cap


def test_an_anonymous_visitor_is_known_by_their_address_as_before():
    assert who.visitor(request_from("10.0.0.1")).startswith("anon:")
    assert who.visitor(request_from("10.0.0.1"), None) == who.visitor(request_from("10.0.0.1"))
    assert who.visitor(request_from("10.0.0.1"), ALICE) == "hf:alice"


def test_the_page_offers_a_login_only_on_a_space_with_hub_login_on(monkeypatch):
    monkeypatch.delenv("OAUTH_CLIENT_ID", raising=False)
    assert not hub_login()
    monkeypatch.setenv("OAUTH_CLIENT_ID", "client")
    monkeypatch.setenv("SPACE_ID", "user/digit-jury")
    assert hub_login()
