"""Retrain the jury with the feedback dataset and promote it only when it is better.

    python -m training.retrain --feedback data/feedback          # a local folder
    python -m training.retrain --feedback user/digit-feedback    # a Hub dataset repo (online)

Feedback samples are few, so each one trained on is multiplied by small random distortions
and weighted; training digits the current jury finds hard are repeated (hard-negative
mining). No one visitor weighs much: their samples of one digit count as VISITOR_CLASS_CAP
samples at most, all of theirs as VISITOR_CAP (the k-NN keeps as many of them as references),
so 100 consistent wrong flags weigh as 10. A contested correction (digit/feedback/votes.py:
it contradicts a confident jury, or is a prompted drawing that fooled it) is learned from, held
out or kept as a reference only once others confirmed it ("Check these"), and then weighs
CONFIRMED_WEIGHT times as much; until then it is held back (counted in the report and the card as
feedback_unconfirmed); a correction others rejected is left out. About a quarter of the
feedback is held out, as whole visitors: nobody's samples vouch for the model that learned from them.

The candidate replaces the model in MODEL_DIR only if its validation accuracy (split from
MNIST's training set) is at most 0.1 pp below the current model's, no digit of MNIST
validation or of the canvas-style validation part is read right fewer times than the
current model does by more than the bound (CLASS_DROP_DIGITS), and its held-out feedback
accuracy is not lower and plausible, and it then passes the check every Space makes before
it serves a jury (digit/model/check.py, run on the files as saved): one rule decides what may
serve. Otherwise the current model stays and the reason is printed. The MNIST test set is
reported, never used to decide.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import sys
import tempfile
from dataclasses import dataclass, field, replace
from pathlib import Path

import cv2
import numpy as np
from sklearn.model_selection import train_test_split

from digit.reading.classifier import Classifier
from digit.config import hub_endpoint, hub_token, model_dir
from digit.hub.client import hub_api
from digit.jurors import SVC_NAME
from digit.feedback.votes import VOTES, Sender, Standing, read_votes, tallies, to_check
from digit.model.card import ModelCard, history
from digit.model.hub import promote, served_copy
from digit.neighbours import ORIGINS
from digit.visitors import UNKNOWN_VISITOR
from digit.model.store import (CARD_FILE, MODEL_FILE, README_FILE, STROKES_CARD_FILE, STROKES_FILE, ModelError,
                               load_checked_model, load_model, save_model)
from training.canvas.report import canvas_pixels
from training.data import load_mnist, normalized_pixels, normalized_split
from training.evaluate import per_class_accuracy, report_figures
from training.train import TrainingSet, train
from training.train_strokes import COUNT as STROKE_COUNT, MORE_WRITERS, train as train_strokes

HELD_OUT_SHARE = 0.25
MIN_SAMPLES = 8
SMALL_STROKE_COUNT = 600  # the stroke juror's generated drawings when the MNIST part is cut short (trials, tests)
SMALL_MORE_WRITERS = 3  # and the new writers its vote is chosen on beside the validation part
VARIANTS_PER_SAMPLE = 30  # distorted copies of each feedback sample while feedback is scarce...
FEEDBACK_BUDGET = 10_000  # ...then fewer: feedback and copies together stay under this (training time)
KNN_FEEDBACK = 3_000  # feedback samples the k-NN keeps as references at most (file size)
FEEDBACK_WEIGHT = 2.0
HARD_CONFIDENCE = 0.6  # training digits whose true class gets less than this are "hard"
MAX_HARD = 3000  # the hardest ones only: k-NN keeps every extra sample, and size is a feature
MAX_VALIDATION_DROP = 0.001  # 0.1 percentage point (10 digits of 10,000)
MIN_VALIDATION_SLACK = 3  # digits: on a small validation split (trials, tests) 0.1 pp is less than one digit,
                          # and two juries differ by a digit or two by chance alone
MIN_PLAUSIBLE_FEEDBACK_ACCURACY = 0.5  # below this the feedback does not teach a consistent labelling
VISITOR_CLASS_CAP = 10.0  # effective samples one visitor gives one digit at most...
VISITOR_CAP = 50.0  # ...and in all: a person correcting the jury sends a few of each digit
# A confirmed correction has others behind it (two other networks, or a visitor logged in, and
# more agreeing than not: digit/feedback/votes.py): it weighs twice its capped share, as if a
# second person had sent it, and no more, so a visitor with accomplices at most doubles what the
# caps let them weigh (the gate still judges).
CONFIRMED_WEIGHT = 2.0
MAX_HELD_VISITOR_SHARE = 0.5  # a visitor with more of the feedback than this is learned from (capped), never held out
# A digit of MNIST validation or of the canvas validation part may be read right this many
# fewer times than the current jury reads it, or CLASS_DROP_SHARE of its images if more. From
# the spread of honest retrainings on the reduced MNIST (40 bubble digits from one visitor, two
# datasets, seeds 0-4): two candidates differed by 2 digits of a class at most, a candidate and
# the current jury by 3 (the canvas 1s, 17 of them); one visitor's 60-100 footed 1s sent as 7s cost 7-10.
CLASS_DROP_DIGITS = 3
CLASS_DROP_SHARE = 0.005  # 5 of a digit's ~1,000 MNIST validation images at full size (not measured there)


@dataclass(frozen=True)
class Feedback:
    pixels: np.ndarray  # (n, 784) normalised
    labels: np.ndarray
    visitors: np.ndarray | None = None  # who sent each sample (None: all "unknown")
    origin: dict = field(default_factory=dict)  # where it came from, for the model card
    confirmed: np.ndarray | None = None  # whether others confirmed each sample (None: none was)

    def __post_init__(self) -> None:
        if self.visitors is None:
            object.__setattr__(self, "visitors", np.full(len(self.labels), UNKNOWN_VISITOR, dtype=object))
        if self.confirmed is None:
            object.__setattr__(self, "confirmed", np.zeros(len(self.labels), bool))

    def subset(self, keep: np.ndarray) -> "Feedback":
        return Feedback(self.pixels[keep], self.labels[keep], self.visitors[keep], self.origin, self.confirmed[keep])


@dataclass(frozen=True)
class FeedbackSplit:
    learn: Feedback
    held_out: Feedback
    by: str  # "visitor": whole visitors held out; "sample": one visitor only, a share of their samples
    held_visitors: int  # visitors whose samples are held out


def load_feedback(source: str, revision: str | None = None) -> Feedback:
    """A local feedback folder, or a Hub dataset repo id read at a pinned commit (the
    newest unless revision is given), through `datasets`. Each sample once (by id)."""
    from datasets import load_dataset

    if Path(source).is_dir():
        origin = {"feedback_folder": str(source)}
    else:
        revision = revision or hub_api().dataset_info(source).sha
        origin = {"feedback_repo": source, "feedback_revision": revision}
    with tempfile.TemporaryDirectory() as cache:  # never a stale cached copy of a growing dataset
        data = load_dataset(source, split="train", revision=revision, cache_dir=cache, token=hub_token())
        ids = data["id"] if "id" in data.column_names else range(len(data))
        seen: set = set()
        keep = []
        for index, (sample_id, label) in enumerate(zip(ids, data["label"])):
            if label is not None and 0 <= int(label) <= 9 and sample_id not in seen:
                seen.add(sample_id)
                keep.append(index)
        chosen = data.select(keep)
        labels = np.asarray(chosen["label"], np.int64)
        # A dataset from before the visitor column: nothing says its samples came from different
        # people, so together they weigh as one visitor (each its own would escape every cap).
        sent_by = chosen["visitor"] if "visitor" in chosen.column_names else [None] * len(chosen)
        visitors = np.array([visitor or UNKNOWN_VISITOR for visitor in sent_by], dtype=object)
        # One image decoded at a time: 50,000 decoded sketches would not fit in memory at once.
        pixels = normalized_pixels(chosen["image"], "normalise feedback") if keep else np.zeros((0, 784), np.uint8)
        votes = read_votes(vote_files(source, revision, Path(cache)))
        # What decides whether a correction is contested, and who sent it (older datasets lack some).
        columns = {name: chosen[name] if name in chosen.column_names else [None] * len(chosen)
                   for name in ("predicted", "confidence", "source", "network")}
    sample_ids = [str(ids[index]) for index in keep]
    records = [dict(zip(columns, values), label=int(label)) for *values, label in zip(*columns.values(), labels)]
    contested = np.array([to_check(record) for record in records], bool)
    standing = tallies(votes, {sample_id: Sender(visitor, record["network"])
                               for sample_id, visitor, record in zip(sample_ids, visitors, records)})
    said = [standing[sample_id].standing if sample_id in standing else Standing.UNCONFIRMED for sample_id in sample_ids]
    confirmed = contested & np.array([state is Standing.CONFIRMED for state in said], bool)
    rejected = np.array([state is Standing.REJECTED for state in said], bool)
    waiting = contested & ~confirmed & ~rejected  # held back until others confirm them
    waiting |= waits_beside(records, visitors, waiting) & ~confirmed & ~rejected
    origin |= {"feedback_confirmed": int(confirmed.sum()), "feedback_rejected": int(rejected.sum()),
               "feedback_unconfirmed": int(waiting.sum())}
    # No digit (a foreign dataset); more people said it is wrong; or contested and not confirmed yet.
    keep_rows = pixels.any(axis=1) & ~rejected & ~waiting
    return Feedback(pixels[keep_rows], labels[keep_rows], visitors[keep_rows], origin, confirmed[keep_rows])


def waits_beside(records: list[dict], visitors: np.ndarray, waiting: np.ndarray) -> np.ndarray:
    """The corrections that wait beside a visitor's contested ones: any other of theirs that
    contradicts the jury (it read another digit, sure or not) and says the same digit. A style no
    validation set holds is learned from a handful of samples (each distorted into dozens of
    copies), so an attacker's few unsure readings must not teach what their sure ones may not."""
    held = {(visitor, record["label"]) for visitor, record, wait in zip(visitors, records, waiting) if wait}
    return np.array([(visitor, record["label"]) in held and record["predicted"] is not None
                     and record["predicted"] != record["label"] for visitor, record in zip(visitors, records)], bool)


def vote_files(source: str, revision: str | None, scratch: Path) -> list[Path]:
    """The votes files beside the samples: votes/*.jsonl of the folder, or of the repo at revision."""
    if Path(source).is_dir():
        return sorted((Path(source) / VOTES).glob("*.jsonl"))
    from huggingface_hub import hf_hub_download

    api = hub_api()
    names = [name for name in api.list_repo_files(source, repo_type="dataset", revision=revision)
             if name.startswith(f"{VOTES}/") and name.endswith(".jsonl")]
    return [Path(hf_hub_download(source, name, repo_type="dataset", revision=revision, local_dir=scratch / "votes",
                                 endpoint=hub_endpoint(), token=hub_token())) for name in names]


def split_feedback(feedback: Feedback, seed: int = 0) -> FeedbackSplit:
    """Hold out whole visitors, in a random order, until about a quarter of the samples are
    held out; a visitor holding more than half of the feedback is only learned from (capped).

    With a single visitor (or none small enough) a quarter of the samples is held out instead,
    stratified by digit while there are enough of them; a digit seen once is only learned.
    Those held-out samples come from the person the candidate learned from, so they only show
    it learned their labelling: the per-digit bounds on validation are what judge it then."""
    names, counts = np.unique(feedback.visitors.astype(str), return_counts=True)
    eligible = [name for name, count in zip(names, counts) if count <= MAX_HELD_VISITOR_SHARE * len(feedback.labels)]
    if len(names) < 2 or not eligible:
        held = _held_samples(feedback.labels, seed)
        return FeedbackSplit(feedback.subset(~held), feedback.subset(held), "sample", int(held.any()))
    sizes = dict(zip(names, counts))
    chosen: list[str] = []
    for name in np.random.default_rng(seed).permutation(eligible):
        if sum(sizes[held_name] for held_name in chosen) >= HELD_OUT_SHARE * len(feedback.labels):
            break
        chosen.append(str(name))
    held = np.isin(feedback.visitors.astype(str), chosen)
    return FeedbackSplit(feedback.subset(~held), feedback.subset(held), "visitor", len(chosen))


def _held_samples(labels: np.ndarray, seed: int) -> np.ndarray:
    """A quarter of the samples, stratified by digit where it can be: a mask."""
    digits, counts = np.unique(labels, return_counts=True)
    shared = np.flatnonzero(np.isin(labels, digits[counts >= 2]))
    held = np.zeros(len(labels), bool)
    if len(shared) >= 2:
        classes = len(np.unique(labels[shared]))
        stratify = labels[shared] if len(shared) * HELD_OUT_SHARE >= classes else None
        _, chosen = train_test_split(shared, test_size=HELD_OUT_SHARE, stratify=stratify, random_state=seed)
        held[chosen] = True
    return held


def visitor_shares(labels: np.ndarray, visitors: np.ndarray) -> np.ndarray:
    """Each sample's share of a full feedback weight: one visitor's samples of one digit share
    VISITOR_CLASS_CAP at most, all their samples VISITOR_CAP at most. A person's few
    corrections count in full; a hundred consistent flags of one style count as ten."""
    shares = np.ones(len(labels))
    for visitor in np.unique(visitors.astype(str)):
        mine = visitors.astype(str) == visitor
        for digit in np.unique(labels[mine]):
            these = mine & (labels == digit)
            shares[these] = min(1.0, VISITOR_CLASS_CAP / these.sum())
        total = shares[mine].sum()
        if total > VISITOR_CAP:
            shares[mine] *= VISITOR_CAP / total
    return shares


def reference_picks(labels: np.ndarray, visitors: np.ndarray, shares: np.ndarray,
                    rng: np.random.Generator) -> np.ndarray:
    """Which samples the k-NN keeps as references: of one visitor's samples of one digit as
    many as they weigh (rounded up), at random, and KNN_FEEDBACK in all at most. The k-NN
    votes with references, not weights, so its cap is a count."""
    picks = []
    for visitor in np.unique(visitors.astype(str)):
        for digit in np.unique(labels):
            these = np.flatnonzero((visitors.astype(str) == visitor) & (labels == digit))
            if len(these):
                picks.append(rng.permutation(these)[:math.ceil(shares[these].sum() - 1e-9)])
    chosen = np.concatenate(picks) if picks else np.zeros(0, int)
    return rng.permutation(chosen)[:KNN_FEEDBACK]


def distort(pixels: np.ndarray, count: int | np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """count random small affine distortions of each 28x28 digit (rotation, scale, shear, shift),
    in order: all of the first digit's, then the second's; count may differ per digit."""
    images = pixels.reshape(-1, 28, 28)
    counts = np.broadcast_to(np.asarray(count, int), len(images))
    out = []
    for image, copies in zip(images, counts):
        for _ in range(copies):
            angle, scale = rng.uniform(-12, 12), rng.uniform(0.85, 1.1)
            matrix = cv2.getRotationMatrix2D((14, 14), angle, scale)
            matrix[0, 1] += rng.uniform(-0.2, 0.2)
            matrix[:, 2] += rng.uniform(-1.5, 1.5, size=2)
            out.append(cv2.warpAffine(image, matrix, (28, 28), flags=cv2.INTER_LINEAR))
    return np.asarray(out, np.uint8).reshape(-1, 784) if out else np.zeros((0, 784), np.uint8)


def hard_training_digits(current: Classifier, pixels: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Indices of training digits whose true class the current SVC gives little probability.

    The SVC judges, not the whole jury: the k-NN holds these very digits and calls each one easy."""
    truth = current.juror_probabilities(pixels, only=[SVC_NAME])[SVC_NAME][np.arange(len(labels)), labels]
    hard = np.flatnonzero(truth < HARD_CONFIDENCE)
    return hard[np.argsort(truth[hard])][:MAX_HARD]


def read_per_class(classifier: Classifier, pixels: np.ndarray, labels: np.ndarray) -> dict[str, float]:
    return per_class_accuracy(labels, np.argmax(classifier.predict_proba(pixels), axis=1))


def accuracy(classifier: Classifier, pixels: np.ndarray, labels: np.ndarray) -> float:
    if len(labels) == 0:
        return float("nan")
    return float(np.mean(np.argmax(classifier.predict_proba(pixels), axis=1) == labels))


@dataclass(frozen=True)
class Verdict:
    promoted: bool
    reason: str


def class_drops(current: dict[str, float] | None, candidate: dict[str, float], labels: np.ndarray) -> list[str]:
    """The digits the candidate reads right fewer times than the current jury by more than
    the bound, in words (none when the current jury's figures are unknown)."""
    drops = []
    for digit in range(10):
        size = int(np.sum(labels == digit))
        if not current or str(digit) not in current or size == 0:
            continue
        before, after = round(current[str(digit)] * size), round(candidate[str(digit)] * size)
        allowed = max(CLASS_DROP_DIGITS, math.floor(CLASS_DROP_SHARE * size))
        if before - after > allowed:
            drops.append(f"the {digit}s read right fell from {before} to {after} of {size} (at most {allowed} may)")
    return drops


def gate(current: dict, candidate: dict, validation_labels: np.ndarray, canvas_labels: np.ndarray) -> Verdict:
    """Promote only a model that keeps MNIST and the canvas-style digits, digit by digit, and
    learns the feedback."""
    drop = current["validation_accuracy"] - candidate["validation_accuracy"]
    limit = max(MAX_VALIDATION_DROP, MIN_VALIDATION_SLACK / len(validation_labels))
    if drop > limit + 1e-6:  # cards round accuracies to 6 places
        return Verdict(False, f"validation accuracy fell by {drop:.2%} (limit {limit:.2%})")
    for name, key, labels in (("MNIST validation", "validation_per_class", validation_labels),
                              ("canvas-style validation", "canvas_per_class", canvas_labels)):
        drops = class_drops(current.get(key), candidate[key], labels)
        if drops:
            return Verdict(False, f"{name}: {'; '.join(drops)}")
    if candidate["feedback_accuracy"] < current["feedback_accuracy"]:
        return Verdict(False, f"held-out feedback accuracy fell from {current['feedback_accuracy']:.1%} "
                              f"to {candidate['feedback_accuracy']:.1%}")
    if candidate["feedback_accuracy"] < MIN_PLAUSIBLE_FEEDBACK_ACCURACY:
        return Verdict(False, f"held-out feedback accuracy is only {candidate['feedback_accuracy']:.1%}: the "
                              "feedback labels are not consistent (mislabelled or poisoned data?)")
    return Verdict(True, "better on held-out feedback, and as good on MNIST and canvas-style validation, digit by digit")


def feedback_training_set(learn: Feedback, rng: np.random.Generator) -> TrainingSet:
    """The feedback to learn from, bounded however much there is: each sample with up to
    VARIANTS_PER_SAMPLE distorted copies while they fit in FEEDBACK_BUDGET, then fewer copies,
    then a random share of the samples; each weighed by its visitor's share (visitor_shares),
    and the k-NN keeps as references what each visitor weighs, KNN_FEEDBACK at most."""
    count = len(learn.labels)
    if count > FEEDBACK_BUDGET:
        learn, count = learn.subset(rng.choice(count, FEEDBACK_BUDGET, replace=False)), FEEDBACK_BUDGET
    copies = int(np.clip(FEEDBACK_BUDGET // max(count, 1) - 1, 0, VARIANTS_PER_SAMPLE))
    shares = visitor_shares(learn.labels, learn.visitors) * np.where(learn.confirmed, CONFIRMED_WEIGHT, 1.0)
    # A sample at a fraction of full weight gets that fraction of the copies, each weighed so that
    # the sample weighs what its share says: a flood costs training time as little as it weighs.
    each = np.clip(np.rint((1 + copies) * shares).astype(int) - 1, 0, copies)
    row_weights = FEEDBACK_WEIGHT * shares * (1 + copies) / (1 + each)
    pixels = np.concatenate([learn.pixels, distort(learn.pixels, each, rng)])
    labels = np.concatenate([learn.labels, np.repeat(learn.labels, each)])
    weights = np.concatenate([row_weights, np.repeat(row_weights, each)])  # copies in the order distort makes them
    origins = np.full(len(labels), ORIGINS["generated"], np.int8)  # copies are never references
    origins[reference_picks(learn.labels, learn.visitors, shares, rng)] = ORIGINS["feedback"]
    return TrainingSet(pixels, labels, weights,
                       {"feedback": count, "feedback_variants": int(each.sum()),
                        "feedback_visitors": len(np.unique(learn.visitors.astype(str))),
                        "feedback_confirmed": int(learn.confirmed.sum()),
                        "feedback_effective": round(float(shares.sum()), 2)}, origins)


def retrain(source: str, folder: Path, seed: int = 0, mnist_limit: int | None = None,
            revision: str | None = None) -> dict:
    """Train a candidate with the feedback; promote it into folder if the gate passes.

    The gate compares what both juries read before their final fit: validation accuracy
    (the current one's from its card) and the held-out quarter of the feedback."""
    feedback = load_feedback(source, revision)
    if len(feedback.labels) < MIN_SAMPLES:
        return {"promoted": False, "reason": f"only {len(feedback.labels)} feedback samples (need {MIN_SAMPLES})",
                **feedback.origin}
    split = split_feedback(feedback, seed)
    learn, held_out = split.learn, split.held_out
    current = load_model(folder)
    mnist = load_mnist(mnist_limit)
    rng = np.random.default_rng(seed)

    train_pixels = normalized_split(mnist.train, "normalise train")
    hard = hard_training_digits(current.classifier, train_pixels, mnist.train.labels)
    hard_set = TrainingSet(distort(train_pixels[hard], 1, rng), mnist.train.labels[hard],
                           sources={"hard_negatives": int(len(hard))},
                           origins=np.full(len(hard), ORIGINS["generated"], np.int8))
    extra = feedback_training_set(learn, rng).plus(hard_set)
    extra.sources["feedback_held_out"] = len(held_out.labels)

    trained = train(mnist, extra=extra)
    candidate = Classifier(trained.jury, trained.card.version)
    # MNIST validation as each jury read it before its final fit (which learns the validation
    # digits): from the cards. The canvas validation part no jury learns: both read it now.
    canvas, canvas_labels = canvas_pixels("validation", most=len(mnist.validation.labels))
    current_metrics, candidate_metrics = current.card.metrics, trained.card.metrics
    figures = {
        "current": {"validation_accuracy": current_metrics.get("validation_accuracy", 0.0),
                    "feedback_accuracy": accuracy(current.classifier, held_out.pixels, held_out.labels),
                    "validation_per_class": current_metrics.get("validation_per_class_accuracy"),
                    "canvas_per_class": read_per_class(current.classifier, canvas, canvas_labels)},
        "candidate": {"validation_accuracy": candidate_metrics["validation_accuracy"],
                      "feedback_accuracy": accuracy(candidate, held_out.pixels, held_out.labels),
                      "validation_per_class": candidate_metrics["validation_per_class_accuracy"],
                      "canvas_per_class": read_per_class(candidate, canvas, canvas_labels)},
    }
    verdict = gate(figures["current"], figures["candidate"], mnist.validation.labels, canvas_labels)
    promoted, reason = verdict.promoted, verdict.reason
    if figures["current"]["validation_per_class"] is None:
        reason += " (the current card has no per-digit MNIST validation figures: checked overall only)"
    report = {"promoted": promoted, "reason": reason, **figures,
              "feedback_samples": len(feedback.labels), "held_out": len(held_out.labels),
              "held_out_by": split.by, "held_out_visitors": split.held_visitors,
              "feedback_visitors": len(np.unique(feedback.visitors.astype(str))),
              "hard_negatives": int(len(hard)), **feedback.origin,
              "training_seconds": trained.card.training["seconds"]}
    if promoted:
        card = replace(
            trained.card,
            data={**trained.card.data, **feedback.origin, "feedback_held_out_by": split.by},
            parent_version=current.card.version,
            history=history(current.card),  # every version before this one, for the page
            metrics={**trained.card.metrics,
                     "feedback_held_out_accuracy": figures["candidate"]["feedback_accuracy"],
                     "canvas_validation_served_per_class_accuracy": figures["candidate"]["canvas_per_class"],
                     **report_figures(trained.jury, mnist)})  # reported, never used to decide
        try:
            # The stroke juror's weight is chosen beside the jury it joins: chosen again for this one.
            pad = StrokeTraining(feedback=Path(source) if Path(source).is_dir() else None,
                                 count=STROKE_COUNT if mnist_limit is None else SMALL_STROKE_COUNT,
                                 validation_most=None if mnist_limit is None else len(mnist.validation.labels),
                                 more=MORE_WRITERS if mnist_limit is None else SMALL_MORE_WRITERS)
            save_served(trained.jury, folder, card, pad)
            report["version"] = card.version
        except ModelError as error:
            report |= {"promoted": False, "reason": f"the serving check refused the candidate: {error}"}
    return report


@dataclass(frozen=True)
class StrokeTraining:
    """How the stroke juror is trained beside a promoted jury (training/train_strokes.py)."""

    feedback: Path | None  # a local feedback folder: its pad samples with strokes, by the trust rule
    count: int = STROKE_COUNT
    validation_most: int | None = None
    more: int = MORE_WRITERS  # new writers of the canvas generator the vote is chosen on


def save_served(jury, folder: Path, card: ModelCard, strokes: StrokeTraining | None = None) -> ModelCard:
    """Save a promoted jury into folder only if a Space would serve it: written beside folder
    first, with a stroke juror chosen beside it (when validation says so), checked there as the
    app checks what it loads (load_checked_model), then moved in (the card last, as save_model
    does); a stroke juror of the jury before goes. Raises ModelError, and then folder is as it was."""
    staged = Path(tempfile.mkdtemp(prefix=f".{folder.name}-candidate-", dir=folder.parent))
    try:
        card = save_model(jury, staged, card)
        if strokes is not None:
            train_strokes(strokes.count, strokes.feedback, staged, strokes.validation_most, more=strokes.more)
        load_checked_model(staged)
        folder.mkdir(parents=True, exist_ok=True)
        for name in (STROKES_FILE, STROKES_CARD_FILE):
            (folder / name).unlink(missing_ok=True)
        moved = [name for name in (STROKES_FILE, STROKES_CARD_FILE) if (staged / name).exists()]
        for name in (*moved, MODEL_FILE, README_FILE, CARD_FILE):
            os.replace(staged / name, folder / name)
        return card
    finally:
        shutil.rmtree(staged, ignore_errors=True)


def main() -> int:
    parser = argparse.ArgumentParser(description="Retrain the jury with feedback; promote if better.")
    parser.add_argument("--feedback", required=True, help="feedback folder or Hub dataset repo id")
    parser.add_argument("--revision", default=None, help="the dataset repo's commit to read (default: the newest)")
    parser.add_argument("--model-dir", type=Path, default=None,
                        help="the current jury, replaced on promotion (default: MODEL_DIR or models/; with "
                             "--push-model and no --model-dir: the jury the model repo serves)")
    parser.add_argument("--push-model", metavar="REPO_ID", help="upload a promoted jury to this Hub model repo")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--mnist-limit", type=int, default=None, metavar="N",
                        help="train on N MNIST digits only (quick trials and tests; not for shipping)")
    arguments = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        if arguments.push_model and arguments.model_dir is None:
            folder = served_copy(arguments.push_model, Path(scratch) / "current")
        else:
            folder = arguments.model_dir or model_dir()
        report = retrain(arguments.feedback, folder, arguments.seed, arguments.mnist_limit, arguments.revision)
        if report["promoted"] and arguments.push_model:
            report["pushed"] = promote(folder, arguments.push_model)
    print(json.dumps(report))
    verdict = f"promoted version {report['version']}" if report["promoted"] else "kept the current model"
    print(f"{verdict}: {report['reason']}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
