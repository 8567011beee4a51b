"""Confirmation by others ("Check these"): a contested correction is put to other visitors; their
word is stored durably beside the samples, the flagger's own never counts, nor their network's,
one network counts once, a correction is confirmed by two other networks or one visitor logged
in; the votes kept are bounded; the retraining learns a contested correction only once confirmed
(weighed more), drops rejected ones; the tab and the API obey the same rules and show only what
the jury saw."""

from __future__ import annotations

import json

import gradio as gr
import numpy as np
import pytest

from testing.renderings import draw_strokes
from digit.feedback import DailyLimit, DiskFull, FeedbackStore, Standing, VoteRefused, sample_of
from digit.feedback import votes
from digit.feedback.votes import VOTES_PER_SAMPLE, Sender, Tally, tallies, vote_record
from digit.page import check_tab, dataset_tab
from digit.reading.preprocess import normalize
from helpers import SMALL_MNIST, last_json_line, run_module
from training.retrain import CONFIRMED_WEIGHT, feedback_training_set, load_feedback

FLAGGER, OTHER, THIRD, FOURTH = (f"anon:{index:016x}" for index in range(1, 5))
HOME, NET_B, NET_C, NET_D = (f"net:{index:016x}" for index in range(1, 5))  # the flagger's network, then others


@pytest.fixture
def store(tmp_path, monkeypatch):
    store = FeedbackStore(tmp_path / "feedback", repo_id="", token="")
    store.setup()
    monkeypatch.setattr(check_tab, "feedback", lambda: store)  # the tab reads the store the page writes
    monkeypatch.setattr(dataset_tab, "feedback", lambda: store)
    yield store
    store.close()


def contradicting_flag(store, digit: int, label: int, visitor: str = FLAGGER, image=None, network: str = HOME,
                       confidence: float = 0.95, source: str = "sketch") -> str:
    """A correction against a confident jury (it read `digit` at 95 %); returns the sample's id."""
    image = draw_strokes(digit, canvas=(300, 300)) if image is None else image
    store.save(sample_of(image, label, predicted=digit, confidence=confidence, model_version="test", source=source,
                         visitor=visitor, network=network))
    return store.records()[-1]["id"]


def request_from(address: str) -> gr.Request:
    """A request as Gradio hands it to a handler, from this address (no proxy in front)."""
    return gr.Request(headers={}, client={"host": address})


def test_a_contested_correction_is_learned_only_once_two_other_networks_confirm_it_and_then_weighs_more(store):
    confirmed = contradicting_flag(store, 1, 7)
    waiting = contradicting_flag(store, 3, 4)  # contested, one network's word only: held back
    contradicting_flag(store, 5, 6, confidence=0.6)  # the jury was unsure: uncontested, learned as today
    store.vote(waiting, OTHER, agree=True, network=NET_B)
    assert store.vote(confirmed, OTHER, agree=True, network=NET_B).standing is Standing.UNCONFIRMED
    assert store.vote(confirmed, THIRD, agree=True, network=NET_C).standing is Standing.CONFIRMED
    assert [record["id"] for record in store.confirmed_corrections()] == [confirmed]
    feedback = load_feedback(str(store.folder))
    assert sorted(feedback.labels) == [6, 7]
    assert (feedback.origin["feedback_confirmed"], feedback.origin["feedback_unconfirmed"]) == (1, 1)
    training = feedback_training_set(feedback, np.random.default_rng(0))
    weight_of = {label: training.weights[training.labels == label].sum() for label in (7, 6)}
    assert weight_of[7] == pytest.approx(CONFIRMED_WEIGHT * weight_of[6])


def test_a_visitors_unsure_corrections_to_a_digit_wait_beside_their_contested_ones(store):
    contradicting_flag(store, 4, 9)  # contested: the jury was sure of the 4
    contradicting_flag(store, 1, 9, confidence=0.6)  # unsure, but it says 9 as the waiting one does
    contradicting_flag(store, 3, 5, confidence=0.6)  # unsure, another digit: learned as today
    contradicting_flag(store, 2, 9, confidence=0.6, visitor=OTHER, network=NET_B)  # someone else's 9: learned
    feedback = load_feedback(str(store.folder))
    assert sorted(feedback.labels) == [5, 9] and feedback.origin["feedback_unconfirmed"] == 2


def test_a_challenge_drawing_that_fooled_the_jury_waits_for_confirmation_however_unsure_the_jury_was(store):
    fooled = contradicting_flag(store, 1, 7, confidence=0.3, source="challenge")
    contradicting_flag(store, 3, 3, confidence=0.3, source="challenge")  # read right: nothing to check
    assert store.next_to_check(OTHER, network=NET_B)["id"] == fooled
    assert list(load_feedback(str(store.folder)).labels) == [3]
    store.vote(fooled, "hf:carol", agree=True, network=NET_B)  # one visitor logged in confirms it
    assert sorted(load_feedback(str(store.folder)).labels) == [3, 7]


def test_a_retraining_with_only_unconfirmed_contested_corrections_learns_nothing_and_says_how_many_wait(
        store, tmp_path):
    for digit in range(9):
        contradicting_flag(store, digit, (digit + 1) % 10, visitor=f"anon:{0xabc0 + digit:016x}")
    report = last_json_line(run_module("training.retrain", "--feedback", str(store.folder), "--model-dir",
                                       str(tmp_path / "models"), "--mnist-limit", str(SMALL_MNIST)))
    assert not report["promoted"] and report["reason"] == "only 0 feedback samples (need 8)"
    assert report["feedback_unconfirmed"] == 9 and report["feedback_confirmed"] == 0


def test_one_network_counts_once_however_many_addresses_vote_from_it(store):
    sample = contradicting_flag(store, 1, 7)
    store.vote(sample, OTHER, agree=True, network=NET_B)
    for index in range(20):  # a new address (a new visitor id) per vote, all in one /24 or /48
        with pytest.raises(VoteRefused, match="(?i)someone on your network"):
            store.vote(sample, f"anon:{0xbad000 + index:016x}", agree=True, network=NET_B)
    assert store.tallies()[sample] == Tally(agree=1, disagree=0, agreeing_networks=1, agreeing_accounts=0)
    assert store.tallies()[sample].standing is Standing.UNCONFIRMED
    assert store.next_to_check(FOURTH, network=NET_B) is None  # nothing offered to that network again
    # A votes file written by hand (another disk's) counts the same: the first of a network only.
    written = [vote_record(sample, f"anon:{index:016x}", True, NET_B) for index in range(10, 40)]
    assert tallies(written, {sample: Sender(FLAGGER, HOME)})[sample].standing is Standing.UNCONFIRMED


def test_votes_from_the_flaggers_own_network_never_count_logged_in_or_not(store):
    sample = contradicting_flag(store, 1, 7)
    for voter in (OTHER, "hf:mallory"):
        with pytest.raises(VoteRefused, match="from your network"):
            store.vote(sample, voter, agree=True, network=HOME)
    assert sample not in store.tallies() and store.next_to_check(OTHER, network=HOME) is None
    written = [vote_record(sample, voter, True, HOME) for voter in (OTHER, THIRD, "hf:mallory")]
    assert tallies(written, {sample: Sender(FLAGGER, HOME)})[sample].agree == 0


def test_the_votes_kept_are_bounded_per_correction_per_hour_and_per_network(store, monkeypatch):
    first, second = contradicting_flag(store, 1, 7), contradicting_flag(store, 3, 4)
    flood = [(f"anon:{index:016x}", f"net:{0xf00d0000 + index:016x}") for index in range(100, 160)]
    kept = 0
    for voter, network in flood:  # a new address on a new network each: the bound, not the rule, stops it
        try:
            store.vote(first, voter, agree=True, network=network)
            kept += 1
        except VoteRefused as error:
            assert "enough people" in str(error)
    assert kept == VOTES_PER_SAMPLE
    assert len(store.votes_file.path.read_text().splitlines()) == VOTES_PER_SAMPLE
    monkeypatch.setattr(votes, "VOTES_PER_HOUR", VOTES_PER_SAMPLE + 5)
    store.reload()  # the bounds are read when the store loads its votes
    for voter, network in flood[:10]:
        try:
            store.vote(second, voter, agree=True, network=network)
        except VoteRefused as error:
            assert "an hour from everyone" in str(error)
    assert len(store.votes_file.path.read_text().splitlines()) == VOTES_PER_SAMPLE + 5  # the hour's bound
    monkeypatch.setattr(votes, "VOTES_PER_HOUR", 10_000)
    monkeypatch.setattr(votes, "NETWORK_VOTES_PER_HOUR", 1)
    store.reload()
    third = contradicting_flag(store, 5, 6)
    store.vote(third, "hf:alice", agree=True, network=NET_D)
    with pytest.raises(VoteRefused, match="from one network"):
        store.vote(third, "hf:bob", agree=True, network=NET_D)
    # Another disk's file (fetched from the Hub) with a flood on one correction: only what counts is kept.
    foreign = [vote_record(third, f"anon:{index:016x}", True, f"net:{0xbeef0000 + index:016x}") for index in range(200)]
    (store.votes_file.folder / "other-disk.jsonl").write_text("".join(json.dumps(vote) + "\n" for vote in foreign))
    again = FeedbackStore(store.folder, repo_id="", token="")
    again.setup()
    assert sum(len(said) for said in again._votes.values()) == 2 * VOTES_PER_SAMPLE + 5  # in memory: bounded
    assert again.tallies()[third].agree == VOTES_PER_SAMPLE


def test_a_flag_more_networks_reject_than_confirm_is_left_out_of_the_retraining(store):
    rejected = contradicting_flag(store, 1, 7)
    contradicting_flag(store, 3, 4, confidence=0.5)
    store.vote(rejected, OTHER, agree=False, network=NET_B)
    store.vote(rejected, THIRD, agree=False, network=NET_C)
    assert store.vote(rejected, FOURTH, agree=True, network=NET_D).standing is Standing.REJECTED  # 1 agree, 2 no
    feedback = load_feedback(str(store.folder))
    assert list(feedback.labels) == [4] and feedback.origin["feedback_rejected"] == 1


def test_the_flagger_cannot_confirm_their_own_flag_nor_anyone_vote_twice(store):
    sample = contradicting_flag(store, 1, 7)
    with pytest.raises(VoteRefused, match="your own correction"):
        store.vote(sample, FLAGGER, agree=True, network=NET_B)
    store.vote(sample, OTHER, agree=False, network=NET_B)
    with pytest.raises(VoteRefused, match="already"):
        store.vote(sample, OTHER, agree=True, network=NET_C)
    assert store.tallies()[sample].standing is Standing.REJECTED
    # A dataset from elsewhere may hold such votes: the tally never counts them.
    written = [{"sample": sample, "visitor": FLAGGER, "agree": True, "network": NET_B},
               {"sample": sample, "visitor": OTHER, "agree": True, "network": NET_C},
               {"sample": sample, "visitor": OTHER, "agree": False, "network": NET_D}]
    assert tallies(written, {sample: Sender(FLAGGER, HOME)})[sample].agree == 1


def test_only_flags_against_a_confident_jury_are_put_to_others(store):
    # an unsure jury, then a jury that was right
    store.save(sample_of(draw_strokes(1, canvas=(300, 300)), 7, predicted=1, confidence=0.55, visitor=FLAGGER))
    store.save(sample_of(draw_strokes(7, canvas=(300, 300)), 7, predicted=7, confidence=0.95, visitor=FLAGGER))
    assert store.next_to_check(OTHER) is None
    with pytest.raises(VoteRefused, match="not one of those to check"):
        store.vote(store.records()[0]["id"], OTHER, agree=True)


def test_a_vote_is_durable_a_new_store_reads_it_and_a_torn_line_is_cut(store):
    sample = contradicting_flag(store, 1, 7)
    store.vote(sample, OTHER, agree=True, network=NET_B)
    with open(store.votes_file.path, "a") as handle:  # a crash in the middle of the next vote's write
        handle.write('{"id": "torn", "sam')
    again = FeedbackStore(store.folder, repo_id="", token="")
    again.setup()
    assert again.tallies()[sample].agree == 1
    assert again.next_to_check(OTHER, network=NET_D) is None  # they gave their word already
    again.vote(sample, THIRD, agree=True, network=NET_C)
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
    assert "1 agree, 0 disagree" in after.said and "not settled" in after.said
    assert after.picture is None  # nothing else to check
    with pytest.raises(gr.Error, match="already"):  # the same visitor cannot say it twice
        check_tab.agree(shown.current, request_from("10.0.0.2"))
    with pytest.raises(gr.Error, match="(?i)someone on your network"):  # nor another address of their /24
        check_tab.agree(shown.current, request_from("10.0.0.77"))
    settled = check_tab.agree(check_tab.next_check(None, request_from("10.0.9.2")).current, request_from("10.0.9.2"))
    assert "2 agree, 0 disagree" in settled.said and "confirmed" in settled.said
    assert store.tallies()[shown.current["sample"]].standing is Standing.CONFIRMED


def test_the_api_offers_the_next_correction_and_counts_an_answer_under_the_buttons_rules(store):
    sample = contradicting_flag(store, 1, 7, network=None)
    offered = check_tab.next_correction(request_from("2001:db8:1:1::5"))
    assert (offered["sample"], offered["label"], offered["predicted"]) == (sample, 7, 1)
    assert offered["digit"].startswith("data:image/png;base64,")
    assert "1 agree" in check_tab.check(sample, True, request_from("2001:db8:1:1::5"))
    # Another address of the same /64 is the same visitor; of the same /48, the same network.
    for address, refusal in (("2001:db8:1:1::9", "already"), ("2001:db8:1:2::9", "(?i)someone on your network")):
        with pytest.raises(gr.Error, match=refusal):
            check_tab.check(sample, True, request_from(address))
    assert check_tab.next_correction(request_from("2001:db8:1:2::9"))["sample"] is None
    for bad in ("yes", 1, None):
        with pytest.raises(gr.Error, match="agree must be true or false"):
            check_tab.check(sample, bad, request_from("192.0.2.1"))
    with pytest.raises(gr.Error, match="not one of those to check"):
        check_tab.check("0" * 32, True, request_from("192.0.2.1"))
    assert "confirmed" in check_tab.check(sample, True, request_from("192.0.2.1"))


def test_the_public_gallery_shows_a_confirmed_correction_as_the_jury_saw_it(store):
    sample = contradicting_flag(store, 1, 7)
    contradicting_flag(store, 3, 4)  # unconfirmed: stays out of the gallery
    assert dataset_tab.latest(store, store.records()) == []
    store.vote(sample, OTHER, agree=True, network=NET_B)
    store.vote(sample, THIRD, agree=True, network=NET_C)
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
        store.vote(sample, OTHER, agree=True, network=NET_B)
    assert not store.votes_file.path.exists() or store.votes_file.path.read_bytes() == b""
    ballast.unlink()  # space freed: the vote goes through, once
    assert store.vote(sample, OTHER, agree=True, network=NET_B).agree == 1
    again = FeedbackStore(store.folder, repo_id="", token="")
    again.setup()
    assert again.tallies()[sample].agree == 1


def test_votes_are_held_to_the_daily_cap_as_flags_are(tmp_path):
    store = FeedbackStore(tmp_path / "feedback", repo_id="", token="", per_day=1)
    store.setup()
    first, second = contradicting_flag(store, 1, 7), contradicting_flag(store, 3, 4, visitor=THIRD)
    store.vote(first, OTHER, agree=True, network=NET_B)
    with pytest.raises(DailyLimit, match="1 votes in the last 24 hours"):
        store.vote(second, OTHER, agree=True, network=NET_B)
    assert second not in store.tallies()
