""""Fool the jury": the page names a digit, every drawing is stored labelled with it (source
challenge) through the flagging path; one that fooled the jury is contested and put to others;
the counts per digit are the dataset's, for the jury serving now."""

from __future__ import annotations

import random

import gradio as gr
import pytest

from digit.feedback import FeedbackStore, sample_of
from digit.feedback.challenges import challenge_counts
from digit.page import check_tab, fool_tab, state, who
from digit.page.flagging import FeedbackFlagging
from helpers import pad_value, stored_samples
from testing.renderings import draw_strokes

SERVING = state.model().classifier.version


def request_from(address: str) -> gr.Request:
    return gr.Request(headers={}, client={"host": address})


@pytest.fixture
def store(tmp_path, monkeypatch):
    store = FeedbackStore(tmp_path / "feedback", repo_id="", token="")
    store.setup()
    flagging = FeedbackFlagging(store)
    monkeypatch.setattr(state, "flagging", lambda: flagging)  # the page's one flagging path, into this store
    monkeypatch.setattr(fool_tab, "feedback", lambda: store)
    monkeypatch.setattr(check_tab, "feedback", lambda: store)
    yield store
    store.close()


def record(label: int, predicted: int, version: str = "v1", visitor: str = "anon:0000000000000001",
           source: str = "challenge") -> dict:
    return {"label": label, "predicted": predicted, "model_version": version, "visitor": visitor, "source": source}


def test_the_counts_are_per_digit_for_one_jury_and_the_visitors_own():
    records = [record(4, 9), record(4, 4), record(4, 4, visitor="anon:0000000000000002"), record(7, 1),
               record(4, 9, version="v0"), record(3, 8, source="sketch")]
    counts = challenge_counts(records, "v1", "anon:0000000000000001")
    assert (counts.fooled[4], counts.drawn[4], counts.fooled[7], counts.drawn[7]) == (1, 3, 1, 1)
    assert sum(counts.drawn) == 4 and counts.drawn[3] == 0  # another jury's, and a correction, not counted
    assert (counts.mine_fooled, counts.mine_drawn) == (2, 3)


def test_the_digit_named_is_one_the_jury_is_fooled_on_least_often():
    counts = challenge_counts([record(digit, (digit + 1) % 10) for digit in range(10) if digit != 6]
                              + [record(6, 6)], "v1")
    assert counts.least_fooled() == [6]
    even = challenge_counts([], "v1")
    assert even.least_fooled() == list(range(10))
    assert len({even.next_target(random.Random(seed)) for seed in range(40)}) > 3  # at random among them


def test_a_drawing_read_right_is_stored_with_the_named_label_and_not_put_to_others(store):
    shown = fool_tab.judge(pad_value(draw_strokes(4, canvas=(256, 256))), 4, request_from("10.0.0.1"))
    assert "Not fooled" in shown.verdict and "Saved as a 4" in shown.verdict
    (row,) = stored_samples(store.folder)
    assert (row["label"], row["predicted"], row["source"], row["model_version"]) == (4, 4, "challenge", SERVING)
    assert row["strokes"] == pad_value(draw_strokes(4))["strokes"]
    assert store.next_to_check(who.visitor(request_from("10.0.9.2"))) is None
    assert shown.counts.iloc[4].tolist()[1:3] == [0, 1] and "0 of your 1 drawings" in shown.mine


def test_a_drawing_that_fools_the_jury_is_stored_and_put_to_others_to_check(store):
    shown = fool_tab.judge(pad_value(draw_strokes(7, canvas=(256, 256))), 4, request_from("10.0.0.1"))
    assert "Fooled!" in shown.verdict and "as a **7**" in shown.verdict
    (row,) = stored_samples(store.folder)
    assert (row["label"], row["predicted"], row["source"]) == (4, 7, "challenge")
    check = check_tab.next_check(None, request_from("10.0.9.2"))
    assert check.current["sample"] == row["id"] and "**4**" in check.question
    assert check_tab.next_check(None, request_from("10.0.0.1")).current["sample"] is None  # not to its drawer
    assert shown.counts.iloc[4].tolist()[1:3] == [1, 1] and shown.target != 4  # 4 fools it now: another digit is named


def test_a_challenge_is_held_to_the_duplicate_rule_as_corrections_are(store):
    value = pad_value(draw_strokes(4, canvas=(256, 256)))
    fool_tab.judge(value, 4, request_from("10.0.0.1"))
    with pytest.raises(gr.Error, match="already sent this drawing as a 4"):
        fool_tab.judge(value, 4, request_from("10.0.0.1"))
    assert store.count() == 1


@pytest.mark.parametrize("value, target, words", [
    (None, 4, "Draw a 4 on the pad first"),
    (pad_value(draw_strokes(4, canvas=(256, 256))), None, "Open the tab"),
    ({"image": "data:image/png;base64,AA==", "strokes": []}, 4, "Not a drawing from the pad"),
])
def test_nothing_is_stored_without_a_drawing_or_a_named_digit(store, value, target, words):
    with pytest.raises(gr.Error, match=words):
        fool_tab.judge(value, target, request_from("10.0.0.1"))
    assert store.count() == 0


def test_the_tab_names_a_digit_and_shows_the_datasets_counts(store):
    store.save(sample_of(draw_strokes(7, canvas=(256, 256)), 4, predicted=7, confidence=0.9, model_version=SERVING,
                         source="challenge", visitor=who.visitor(request_from("10.0.0.1"))))
    shown = fool_tab.show(request_from("10.0.0.1"))
    assert shown.prompt.startswith("## Draw a ") and shown.target != 4
    assert shown.counts.iloc[4].tolist() == [4, 1, 1, "100%"] and "1 of your 1 drawings" in shown.mine


def test_the_retraining_learns_challenges_read_right_and_holds_back_unconfirmed_fooling_ones(store):
    from training.retrain import load_feedback

    fool_tab.judge(pad_value(draw_strokes(4, canvas=(256, 256))), 4, request_from("10.0.0.1"))
    fool_tab.judge(pad_value(draw_strokes(7, canvas=(256, 256))), 1, request_from("10.0.0.1"))
    feedback = load_feedback(str(store.folder))
    assert list(feedback.labels) == [4] and feedback.pixels.shape == (1, 784)
    assert feedback.origin["feedback_unconfirmed"] == 1  # the 7 drawn for a 1 waits for others' word
