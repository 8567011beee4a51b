"""Corrections others confirmed join the served k-NN's references within a refresh, after a gate."""

from __future__ import annotations

import numpy as np
import pytest

from digit.feedback import FeedbackStore
from digit.feedback.samples import sample_of
from digit.jurors import KNN_NAME
from digit.live.references import MOST, PER_VISITOR, PER_VISITOR_DIGIT, LiveReferences, capped
from digit.model.check import reference_digits
from digit.page.texts import verdict
from digit.reading.preprocess import normalize
from testing.renderings import bubble_digits

FLAGGER, VOTERS = "anon:00000000000000f1", ("anon:00000000000000a1", "anon:00000000000000a2", "anon:00000000000000a3")


def _confirmed_flag(store: FeedbackStore, picture, label: int, classifier, agree: bool = True) -> str:
    """Flag a picture the jury reads confidently as something else, and have three others vote on it."""
    reading = classifier.predict(picture)
    sample_id = store.save(sample_of(picture, label, predicted=reading.digit, confidence=reading.confidence,
                                     source="api", visitor=FLAGGER))
    for number, voter in enumerate(VOTERS):  # each from a network of their own
        store.vote(sample_id, voter, agree, f"net:{number:016x}")
    return sample_id


@pytest.fixture
def store(tmp_path):
    store = FeedbackStore(tmp_path / "feedback", repo_id="", per_day=0)
    store.setup()
    return store


def test_the_caps_are_retrainings_own():
    from training.retrain import KNN_FEEDBACK, VISITOR_CAP, VISITOR_CLASS_CAP

    assert (PER_VISITOR_DIGIT, PER_VISITOR, MOST) == (VISITOR_CLASS_CAP, VISITOR_CAP, KNN_FEEDBACK)


def test_one_visitors_confirmed_flags_count_within_retrainings_caps():
    records = [{"id": str(n), "visitor": "anon:1", "label": 7} for n in range(30)]
    records += [{"id": f"b{n}", "visitor": "anon:2", "label": n % 10} for n in range(80)]
    kept = capped(records)
    assert sum(record["visitor"] == "anon:1" for record in kept) == PER_VISITOR_DIGIT
    assert sum(record["visitor"] == "anon:2" for record in kept) == PER_VISITOR


def test_a_confirmed_correction_is_read_so_for_everyone_after_a_refresh(store, classifier, tmp_path):
    pictures = [(path, digit) for path, digit in bubble_digits(tmp_path / "bubbles", 30, seed=4)
                if (reading := classifier.predict(path)).digit != digit and reading.confidence >= 0.8]
    assert pictures, "the jury reads some bubble digits confidently wrong"
    ids = [_confirmed_flag(store, path, digit, classifier) for path, digit in pictures]
    live = LiveReferences(gate=reference_digits())
    assert live.served(classifier) is classifier  # nothing live before the first refresh
    state = live.refresh(classifier, store)
    assert set(state.ids) == set(ids) and live.count(classifier) == len(ids)
    served = live.served(classifier)
    for path, digit in pictures:  # the k-NN holds each as a reference, and it reads so for anyone
        reading = served.predict(path, explain=True)
        assert reading.jurors[KNN_NAME] == digit and reading.digit == digit
        assert f"like a {digit} other visitors confirmed" in verdict(reading)
    pixels, labels = reference_digits()
    assert (served.predict_proba(pixels).argmax(1) == labels).sum() >= (classifier.predict_proba(pixels).argmax(1)
                                                                        == labels).sum()


def test_a_rejected_flag_never_becomes_a_live_reference(store, classifier, tmp_path):
    path, digit = bubble_digits(tmp_path / "bubbles", 1, seed=4)[0]
    reading = classifier.predict(path)
    sample_id = store.save(sample_of(path, (reading.digit + 1) % 10, predicted=reading.digit, confidence=0.99,
                                     source="api", visitor=FLAGGER))
    for number, voter in enumerate(VOTERS):
        store.vote(sample_id, voter, False, f"net:{number:016x}")
    assert LiveReferences(gate=reference_digits()).refresh(classifier, store).ids == ()


def test_the_gate_refuses_a_confirmed_correction_that_would_misread_a_validation_digit(store, classifier):
    """A reference digit (the canvas set's validation writers') that the jury reads right but would
    read as its second candidate if the k-NN said so, flagged as that digit and confirmed."""
    pixels, labels = reference_digits()
    jury = classifier.jury
    by_juror = jury.juror_probabilities(pixels)
    voted = jury.vote(by_juror)
    victim = second = None
    for index in np.flatnonzero(voted.argmax(1) == labels):
        other = int(np.argsort(voted[index])[-2])
        swayed = {name: votes[index:index + 1].copy() for name, votes in by_juror.items()}
        swayed[KNN_NAME][:] = np.eye(10)[other]
        if jury.vote(swayed).argmax() == other:
            victim, second = index, other
            break
    assert victim is not None, "some reference digit turns with the k-NN's vote"
    picture = 255 - pixels[victim].reshape(28, 28)  # dark ink on white, as sent
    refused = _confirmed_flag(store, picture, second, classifier)
    live = LiveReferences(gate=(pixels, labels))
    state = live.refresh(classifier, store)
    assert state.refused == (refused,) and state.ids == ()
    assert live.served(classifier).predict_normalized(normalize(picture)).digit == labels[victim]
