"""Retraining from a feedback folder: the gate refuses what does not teach the jury, and no
one visitor steers it.

On a reduced MNIST (helpers.SMALL_MNIST digits; `small_models` in conftest.py): what these
tests check does not need 50,000 digits. `make bench` runs the loop at full size.
"""

from __future__ import annotations

import hashlib
import shutil

import numpy as np

from testing.renderings import jittered_strokes, sketch_from_mnist
from digit.feedback import FeedbackStore, sample_of
from digit.model.store import CARD_FILE, MODEL_FILE, load_model, read_card
import training.retrain as retraining
from helpers import SMALL_MNIST, last_json_line, run_module
from old_feedback import write_old_shard
from training.canvas.shapes import ALLOGRAPHS
from training.canvas.styles import styled_drawings, styled_pixels
from training.retrain import (VISITOR_CAP, VISITOR_CLASS_CAP, Feedback, Verdict, gate, load_feedback,
                              split_feedback, visitor_shares)

ATTACKER, CAROL, DAN = "anon:" + "7" * 16, "anon:" + "c" * 16, "hf:dan"


def retrain(feedback, models) -> dict:
    return last_json_line(run_module("training.retrain", "--feedback", str(feedback), "--model-dir", str(models),
                                     "--mnist-limit", str(SMALL_MNIST)))


def test_poisoned_feedback_with_random_labels_is_not_promoted(tmp_path, mnist, small_models):
    models = tmp_path / "models"
    shutil.copytree(small_models, models)
    before = hashlib.sha256((models / MODEL_FILE).read_bytes()).hexdigest()
    store = FeedbackStore(tmp_path / "feedback", repo_id="")
    store.setup()
    rng = np.random.default_rng(5)
    for image, label in zip(mnist.validation.images[:24], mnist.validation.labels[:24]):
        wrong = int((label + rng.integers(1, 10)) % 10)  # a random label, never the true one
        store.save(sample_of(sketch_from_mnist(image, rng, canvas=300), wrong, source="sketch"))
    report = retrain(store.folder, models)
    assert not report["promoted"]
    # Here the random labels also cost some canvas-style digits, which the gate checks first. The 50 %
    # floor refuses them alone: this run's held-out figures, with validation kept as it was. (The
    # current jury reads none of these labels, so the held-out accuracy did not fall.)
    held_out = report["candidate"]["feedback_accuracy"]
    assert report["current"]["feedback_accuracy"] <= held_out < 0.5
    kept = {**report["current"], "feedback_accuracy": held_out}
    assert gate(report["current"], kept, mnist.validation.labels, np.arange(10)) == Verdict(
        False, f"held-out feedback accuracy is only {held_out:.1%}: the feedback labels are not consistent "
               "(mislabelled or poisoned data?)")
    assert hashlib.sha256((models / MODEL_FILE).read_bytes()).hexdigest() == before
    assert read_card(models) == read_card(small_models)


def test_too_few_feedback_samples_are_not_used(tmp_path, small_models):
    models = tmp_path / "models"
    shutil.copytree(small_models, models)
    store = FeedbackStore(tmp_path / "feedback", repo_id="")
    store.setup()
    store.save(sample_of(jittered_strokes(3, np.random.default_rng(0)), 3))
    # In this process: what the command runs (its output is checked by the tests beside), without its imports.
    report = retraining.retrain(str(store.folder), models, mnist_limit=SMALL_MNIST)
    assert not report["promoted"] and "only 1" in report["reason"]
    assert (models / CARD_FILE).exists()


def test_a_quarter_of_a_small_feedback_set_is_held_out_even_when_it_cannot_hold_every_digit():
    labels = np.array([0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 9])  # 8 and 9 seen once
    split = split_feedback(Feedback(np.arange(len(labels))[:, None].repeat(784, 1), labels))  # one visitor
    learn, held = split.learn, split.held_out
    assert split.by == "sample" and len(held.labels) == 4 and len(learn.labels) == 14
    assert {8, 9} <= set(learn.labels)  # a digit seen once is only learned
    assert sorted(np.concatenate([learn.pixels[:, 0], held.pixels[:, 0]])) == list(range(len(labels)))


def test_the_held_out_feedback_is_whole_visitors_and_never_the_one_who_sent_most():
    visitors = np.array([ATTACKER] * 60 + [CAROL] * 10 + [DAN] * 8 + ["hf:erin"] * 6, dtype=object)
    labels = np.arange(len(visitors)) % 10
    feedback = Feedback(np.arange(len(labels))[:, None].repeat(784, 1), labels, visitors)
    for seed in range(5):
        split = split_feedback(feedback, seed)
        held = set(split.held_out.visitors)
        assert split.by == "visitor" and ATTACKER not in held and held  # more than half of it: learned, capped
        assert not held & set(split.learn.visitors)  # nobody on both sides
        assert len(split.held_out.labels) >= 0.25 * len(labels) or held == {CAROL, DAN, "hf:erin"}


def test_one_visitors_weight_is_capped_per_digit_and_in_all():
    visitors = np.array([ATTACKER] * 100 + [CAROL] * 3 + [DAN] * 200, dtype=object)
    labels = np.r_[np.full(100, 7), [1, 2, 3], np.arange(200) % 10]
    shares = visitor_shares(labels, visitors)
    assert np.isclose(shares[:100].sum(), VISITOR_CLASS_CAP)  # a hundred 7s weigh as ten
    assert np.all(shares[100:103] == 1.0)  # a person's few corrections count in full
    assert np.isclose(shares[103:].sum(), VISITOR_CAP) and shares[103:].max() < 1.0


def test_an_old_dataset_without_visitors_loads_as_one_unknown_visitor(tmp_path):
    rng = np.random.default_rng(3)
    write_old_shard(tmp_path, [jittered_strokes(digit % 10, rng) for digit in range(12)], [d % 10 for d in range(12)])
    feedback = load_feedback(str(tmp_path))
    assert len(feedback.labels) == 12 and set(feedback.visitors) == {"unknown"}
    assert split_feedback(feedback).by == "sample"  # one visitor: a share of its samples is held out


def test_one_visitors_footed_ones_sent_as_sevens_are_not_what_the_served_jury_learns(tmp_path, small_models):
    """Issue 20's backdoor on small data: one visitor sends 60 drawn 1s with a foot (half with a
    flag too) labelled 7 and 4 honest flags; two other people send 3 honest flags each. The
    candidate, trained on the capped attack, reads the canvas-style 1s as 7s; the gate sees the
    canvas validation 1s fall and keeps the current jury, which reads fresh footed 1s as 1s."""
    models = tmp_path / "models"
    shutil.copytree(small_models, models)
    before = hashlib.sha256((models / MODEL_FILE).read_bytes()).hexdigest()
    store = FeedbackStore(tmp_path / "feedback", repo_id="")
    store.setup()
    for drawing in styled_drawings(1, ("foot", "flag_foot"), 60, first_writer=1000):
        store.save(sample_of(drawing.image(), 7, source="api", visitor=ATTACKER))
    honest = [(ATTACKER, digit) for digit in (0, 4, 8, 2)] + [(CAROL, digit) for digit in (3, 5, 9)] + [
        (DAN, digit) for digit in (6, 7, 1)]
    for index, (visitor, digit) in enumerate(honest):
        drawing = styled_drawings(digit, (ALLOGRAPHS[digit][0].name,), 1, first_writer=3000 + index)[0]
        store.save(sample_of(drawing.image(), digit, source="sketch", visitor=visitor))
    report = retraining.retrain(str(store.folder), models, mnist_limit=SMALL_MNIST)  # in this process: see above
    # The attacker was learned from (capped), the two others held out: the gate's figures decided.
    assert report["feedback_visitors"] == 3 and report["held_out_by"] == "visitor" and report["held_out"] == 6
    canvas_ones = report["current"]["canvas_per_class"]["1"], report["candidate"]["canvas_per_class"]["1"]
    assert canvas_ones[1] < canvas_ones[0] - 0.2, canvas_ones  # the candidate did learn the backdoor
    assert not report["promoted"]
    assert report["reason"].startswith("canvas-style validation: the 1s read right fell"), report["reason"]
    assert hashlib.sha256((models / MODEL_FILE).read_bytes()).hexdigest() == before
    served = load_model(models).classifier
    fresh = styled_pixels(1, ("foot", "flag_foot"), 200, first_writer=2000)
    read_as_seven = float(np.mean(served.predict_proba(fresh).argmax(axis=1) == 7))
    assert read_as_seven <= 0.05, read_as_seven
