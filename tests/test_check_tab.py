"""Confirmation by others ("Check these"): a flag that contradicts a confident jury is put to
other visitors; their word is stored durably beside the samples, the flagger's own never counts,
the retraining weighs confirmed flags more and drops rejected ones, and the tab shows only what
the jury saw."""

from __future__ import annotations

import gradio as gr
import numpy as np
import pytest

from testing.renderings import draw_strokes
from digit.feedback import DailyLimit, DiskFull, FeedbackStore, Standing, VoteRefused, sample_of
from digit.feedback.votes import tallies
from digit.page import check_tab, dataset_tab
from digit.preprocess import normalize
from training.retrain import CONFIRMED_WEIGHT, feedback_training_set, load_feedback

FLAGGER, OTHER, THIRD, FOURTH = (f"anon:{index:016x}" for index in range(1, 5))


@pytest.fixture
def store(tmp_path, monkeypatch):
    store = FeedbackStore(tmp_path / "feedback", repo_id="", token="")
    store.setup()
    monkeypatch.setattr(check_tab, "feedback", lambda: store)  # the tab reads the store the page writes
    monkeypatch.setattr(dataset_tab, "feedback", lambda: store)
    yield store
    store.close()


def contradicting_flag(store, digit: int, label: int, visitor: str = FLAGGER, image=None) -> str:
    """A correction against a confident jury (it read `digit` at 95 %); returns the sample's id."""
    image = draw_strokes(digit, canvas=(300, 300)) if image is None else image
    store.save(sample_of(image, label, predicted=digit, confidence=0.95, model_version="test", source="sketch",
                         visitor=visitor))
    return store.records()[-1]["id"]


def request_from(address: str) -> gr.Request:
    """A request as Gradio hands it to a handler, from this address (no proxy in front)."""
    return gr.Request(headers={}, client={"host": address})


def test_a_flag_confirmed_by_another_visitor_weighs_more_in_the_retraining_set(store):
    confirmed = contradicting_flag(store, 1, 7)
    contradicting_flag(store, 3, 4)  # unconfirmed: today's weight
    store.vote(confirmed, OTHER, agree=True)
    feedback = load_feedback(str(store.folder))
    assert feedback.origin["feedback_confirmed"] == 1
    training = feedback_training_set(feedback, np.random.default_rng(0))
    weight_of = {label: training.weights[training.labels == label].sum() for label in (7, 4)}
    assert weight_of[7] == pytest.approx(CONFIRMED_WEIGHT * weight_of[4])


def test_a_flag_more_visitors_reject_than_confirm_is_left_out_of_the_retraining(store):
    rejected = contradicting_flag(store, 1, 7)
    contradicting_flag(store, 3, 4)
    store.vote(rejected, OTHER, agree=False)
    store.vote(rejected, THIRD, agree=False)
    assert store.vote(rejected, FOURTH, agree=True).standing is Standing.REJECTED  # 1 agree, 2 disagree
    feedback = load_feedback(str(store.folder))
    assert list(feedback.labels) == [4] and feedback.origin["feedback_rejected"] == 1


def test_the_flagger_cannot_confirm_their_own_flag_nor_anyone_vote_twice(store):
    sample = contradicting_flag(store, 1, 7)
    with pytest.raises(VoteRefused, match="your own correction"):
        store.vote(sample, FLAGGER, agree=True)
    store.vote(sample, OTHER, agree=False)
    with pytest.raises(VoteRefused, match="already"):
        store.vote(sample, OTHER, agree=True)
    assert store.tallies()[sample].standing is Standing.REJECTED
    # A dataset from elsewhere may hold such votes: the tally never counts them.
    written = [{"sample": sample, "visitor": FLAGGER, "agree": True},
               {"sample": sample, "visitor": OTHER, "agree": True},
               {"sample": sample, "visitor": OTHER, "agree": False}]
    assert tallies(written, {sample: FLAGGER})[sample].agree == 1


def test_only_flags_against_a_confident_jury_are_put_to_others(store):
    # an unsure jury, then a jury that was right
    store.save(sample_of(draw_strokes(1, canvas=(300, 300)), 7, predicted=1, confidence=0.55, visitor=FLAGGER))
    store.save(sample_of(draw_strokes(7, canvas=(300, 300)), 7, predicted=7, confidence=0.95, visitor=FLAGGER))
    assert store.next_to_check(OTHER) is None
    with pytest.raises(VoteRefused, match="not one of those to check"):
        store.vote(store.records()[0]["id"], OTHER, agree=True)


def test_a_vote_is_durable_a_new_store_reads_it_and_a_torn_line_is_cut(store):
    sample = contradicting_flag(store, 1, 7)
    store.vote(sample, OTHER, agree=True)
    with open(store.votes_file.path, "a") as handle:  # a crash in the middle of the next vote's write
        handle.write('{"id": "torn", "sam')
    again = FeedbackStore(store.folder, repo_id="", token="")
    again.setup()
    assert again.tallies()[sample].agree == 1
    assert again.next_to_check(OTHER) is None  # they gave their word already
    again.vote(sample, THIRD, agree=True)
    third = FeedbackStore(store.folder, repo_id="", token="")
    third.setup()
    assert third.tallies()[sample].agree == 2


def test_the_tab_shows_what_the_jury_saw_never_the_upload_and_counts_a_vote(store):
    upload = np.full((300, 400, 3), (200, 30, 30), np.uint8)  # a red picture...
    upload[:, 100:] = draw_strokes(1, canvas=(300, 300))[..., :3] // 4 + 190  # ...around a dark 1
    contradicting_flag(store, 1, 7, image=upload)
    shown = check_tab.next_check(None, request_from("10.0.0.2"))
    [(picture, _)] = shown.picture
    assert picture.shape == (28, 28)  # grey: no colour, no canvas around the digit
    assert np.array_equal(255 - picture, normalize(upload).pixels)  # exactly what the jury read
    assert "**7**" in shown.question and "read it as a 1" in shown.question
    after = check_tab.agree(shown.current, request_from("10.0.0.2"))
    assert "1 agree, 0 disagree" in after.said and after.picture is None  # nothing else to check
    assert store.tallies()[shown.current["sample"]].standing is Standing.CONFIRMED
    with pytest.raises(gr.Error, match="already"):  # the same visitor cannot say it twice
        check_tab.agree(shown.current, request_from("10.0.0.2"))


def test_the_public_gallery_shows_a_confirmed_correction_as_the_jury_saw_it(store):
    sample = contradicting_flag(store, 1, 7)
    contradicting_flag(store, 3, 4)  # unconfirmed: stays out of the gallery
    assert dataset_tab.latest(store, store.records()) == []
    store.vote(sample, OTHER, agree=True)
    gallery = dataset_tab.latest(store, store.records())
    assert [caption for _, caption in gallery] == ["7 ✓ (confirmed)"]


def test_a_vote_on_a_full_disk_is_refused_clearly_and_leaves_no_partial_line(small_disk):
    store = FeedbackStore(small_disk / "feedback", repo_id="", token="")
    store.setup()
    sample = contradicting_flag(store, 1, 7)
    ballast = small_disk / "ballast"
    with open(ballast, "wb", buffering=0) as handle:  # every page of the disk taken
        try:
            while True:
                handle.write(b"\0" * 4096)
        except OSError:
            pass
    with pytest.raises(DiskFull, match="your vote was not saved"):
        store.vote(sample, OTHER, agree=True)
    assert not store.votes_file.path.exists() or store.votes_file.path.read_bytes() == b""
    ballast.unlink()  # space freed: the vote goes through, once
    assert store.vote(sample, OTHER, agree=True).agree == 1
    again = FeedbackStore(store.folder, repo_id="", token="")
    again.setup()
    assert again.tallies()[sample].agree == 1


def test_votes_are_held_to_the_daily_cap_as_flags_are(tmp_path):
    store = FeedbackStore(tmp_path / "feedback", repo_id="", token="", per_day=1)
    store.setup()
    first, second = contradicting_flag(store, 1, 7), contradicting_flag(store, 3, 4, visitor=THIRD)
    store.vote(first, OTHER, agree=True)
    with pytest.raises(DailyLimit, match="1 votes in the last 24 hours"):
        store.vote(second, OTHER, agree=True)
    assert second not in store.tallies()
