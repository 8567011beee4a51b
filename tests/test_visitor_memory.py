"""What a visitor taught acts on their own next readings at once, and on nobody else's."""

from __future__ import annotations

import numpy as np
import pytest

from digit.feedback import FeedbackStore
from digit.feedback.samples import sample_of
from digit.page import actions, state
from digit.page.texts import neighbour_tiles, verdict
from digit.reading.preprocess import Normalized, normalize
from digit.live.memory import CHOICE, VisitorMemory, page_key
from testing.local_app import HttpApi, running_app
from testing.renderings import bubble_digits


@pytest.fixture(scope="module")
def bubbles(tmp_path_factory):
    """A hand the shipped jury reads at about 40 %: 20 outlined digits to teach, 20 fresh ones to read."""
    folder = tmp_path_factory.mktemp("bubbles")
    return bubble_digits(folder / "taught", 20, seed=2), bubble_digits(folder / "fresh", 20, seed=1)


def _taught(classifier_, files, key="visitor", memory=None):
    memory = memory or VisitorMemory()
    for path, digit in files:
        memory.teach(key, normalize(path).pixels, digit)
    return memory


def _read(classifier_, files, taught=None):
    return [classifier_.predict_normalized(normalize(path), memory=taught) for path, _ in files]


def test_the_memory_choice_was_made_on_validation_and_lets_examples_vote():
    assert 0 < CHOICE.weight < 1 and CHOICE.near > 0


def test_a_visitors_corrections_read_their_fresh_digits_of_that_hand_right(classifier, bubbles):
    taught, fresh = bubbles
    memory = _taught(classifier, taught)
    before = np.mean([p.digit == d for p, (_, d) in zip(_read(classifier, fresh), fresh)])
    after = np.mean([p.digit == d for p, (_, d) in zip(_read(classifier, fresh, memory.taught("visitor")), fresh)])
    assert before <= 0.6 and after >= 0.8


def test_another_visitors_memory_leaves_a_reading_exactly_as_it_was(classifier, bubbles):
    taught, fresh = bubbles
    memory = _taught(classifier, taught, key="teacher")
    assert memory.taught("someone else") is None
    plain, other = _read(classifier, fresh), _read(classifier, fresh, memory.taught("someone else"))
    assert [p.probabilities for p in plain] == [p.probabilities for p in other]


def test_ordinary_digits_far_from_the_examples_read_as_before(classifier, bubbles, validation_digits):
    memory = _taught(classifier, bubbles[0])
    images, _ = validation_digits
    plain = classifier.predict_proba(images[:30])
    for image, expected in zip(images[:30], plain):
        read = classifier.predict_normalized(Normalized(image.reshape(28, 28), 1, (0, 0, 28, 28)),
                                             memory=memory.taught("visitor"))
        assert read.recalled is None and read.digit == int(np.argmax(expected))


def test_the_page_says_the_example_took_part_and_shows_it_as_yours(classifier, bubbles):
    taught, _ = bubbles
    path, digit = taught[3]
    memory = _taught(classifier, [(path, digit)])
    prediction = classifier.predict_normalized(normalize(path), explain=True, memory=memory.taught("visitor"))
    assert prediction.digit == digit and prediction.recalled is not None
    assert f"Read as {digit}, like the {digit} you taught it." in verdict(prediction)
    assert neighbour_tiles(prediction)[0][1] == f"{digit} · yours"


def test_the_memory_keeps_the_newest_examples_of_the_most_recent_visitors():
    memory = VisitorMemory(examples=3, visitors=2)
    blank = np.zeros((28, 28), np.uint8)
    for label in range(5):
        memory.teach("first", blank, label)
    memory.teach("second", blank, 1)
    memory.taught("first")  # used: the second is now the least recent
    memory.teach("third", blank, 2)
    assert list(memory.taught("first").labels) == [2, 3, 4]
    assert memory.taught("second") is None and list(memory.taught("third").labels) == [2]


def test_the_page_keys_its_memory_by_browser_and_a_login_by_the_person():
    assert page_key("anon:0123456789abcdef", "pupil-1") != page_key("anon:0123456789abcdef", "pupil-2")
    assert page_key("anon:0123456789abcdef", None) == "anon:0123456789abcdef"


def test_the_memory_is_rebuilt_from_the_feedback_store(tmp_path, bubbles):
    store = FeedbackStore(tmp_path / "feedback", repo_id="", per_day=0)
    store.setup()
    (path, digit), (other, _) = bubbles[0][:2]
    store.save(sample_of(path, digit, source="api", visitor="anon:00000000000000aa"))
    store.save(sample_of(other, 1, source="sketch", visitor="anon:00000000000000bb"))  # which browser? unknown
    store.save(sample_of(other, 2, source="sketch", visitor="hf:someone"))
    assert state.remember_taught(store) == 2
    assert list(state.MEMORY.taught("anon:00000000000000aa").labels) == [digit]
    assert state.MEMORY.taught("anon:00000000000000bb") is None
    assert list(state.MEMORY.taught("hf:someone").labels) == [2]
    state.MEMORY.rebuild([])


def test_corrections_through_the_api_change_that_visitors_readings_only(tmp_path, bubbles):
    """Two visitors behind the proxy (PROXY_HOPS=1): one teaches 20 bubble digits; the fresh ones
    read right for them at once, exactly as before for the other."""
    taught, fresh = bubbles
    with running_app(tmp_path, environment={"PROXY_HOPS": "1", "FLAGS_PER_MINUTE": "0",
                                            "CLASSIFY_PER_MINUTE": "0"}) as app:
        teacher = HttpApi(app["url"], headers={"X-Forwarded-For": "203.0.113.7"})
        other = HttpApi(app["url"], headers={"X-Forwarded-For": "198.51.100.9"})
        try:
            other_before = [other.predict(path, api_name="classify") for path, _ in fresh]
            for path, digit in taught:
                teacher.predict(path, digit, api_name="flag")
            after = [teacher.predict(path, api_name="classify")["label"] for path, _ in fresh]
            other_after = [other.predict(path, api_name="classify") for path, _ in fresh]
        finally:
            teacher.close()
            other.close()
    assert np.mean([label == str(digit) for label, (_, digit) in zip(after, fresh)]) >= 0.8
    assert other_after == other_before
    assert np.mean([answer["label"] == str(digit) for answer, (_, digit) in zip(other_before, fresh)]) <= 0.6


def test_on_the_page_one_pupils_corrections_never_change_anothers_readings(tmp_path, monkeypatch, bubbles):
    """Two browsers behind one school address: what one teaches reads for that one only."""
    import gradio as gr

    from digit.page.flagging import FeedbackFlagging

    store = FeedbackStore(tmp_path / "feedback", repo_id="", per_day=0)
    store.setup()
    monkeypatch.setattr(state, "flagging", lambda: FeedbackFlagging(store))
    monkeypatch.setattr(state, "MEMORY", VisitorMemory())
    school = {"headers": {}, "client": {"host": "192.0.2.50"}}
    first, second = gr.Request(session_hash="pupil-1", **school), gr.Request(session_hash="pupil-2", **school)
    taught, fresh = bubbles
    for path, digit in taught:
        shown = actions.show_upload(path, first)
        actions.correct(shown.last, str(digit), first)
    first_read = [actions.show_upload(path, first) for path, _ in fresh]
    second_read = [actions.show_upload(path, second) for path, _ in fresh]
    plain = [state.read(path)[1] for path, _ in fresh]
    assert np.mean([shown.confidences == {str(d): p for d, p in enumerate(reading.probabilities)}
                    for shown, reading in zip(second_read, plain)]) == 1.0
    right = [max(shown.confidences, key=shown.confidences.get) == str(digit)
             for shown, (_, digit) in zip(first_read, fresh)]
    assert np.mean(right) >= 0.8
    assert any("you taught it" in shown.verdict for shown in first_read)
    assert any(caption.endswith("· yours") for shown in first_read for _, caption in shown.neighbours)
