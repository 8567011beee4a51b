"""Retrain the jury with the feedback dataset and promote it only when it is better.

    python -m training.retrain --feedback data/feedback          # a local folder
    python -m training.retrain --feedback user/digit-feedback    # a Hub dataset repo (online)

Feedback samples are few, so each one trained on is multiplied by small random distortions
and weighted; training digits the current jury finds hard are repeated (hard-negative
mining). A quarter of the feedback is held out. The candidate replaces the model in
MODEL_DIR only if its validation accuracy (split from MNIST's training set) is at most
0.1 pp below the current model's and its held-out feedback accuracy is not lower and
plausible; otherwise the current model stays and the reason is printed. The MNIST test set
is reported, never used to decide.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np
from huggingface_hub import HfApi
from sklearn.model_selection import train_test_split

from digit.classifier import Classifier
from digit.config import hub_endpoint, hub_token, model_dir
from digit.model_card import history
from digit.model_hub import fetch, newest_revision
from digit.neighbours import ORIGINS
from digit.model_store import CARD_FILE, MODEL_FILE, README_FILE, load_model, read_card, save_model
from training.data import load_mnist, normalized_pixels, normalized_split
from training.evaluate import report_figures
from training.train import TrainingSet, train

HELD_OUT_SHARE = 0.25
MIN_SAMPLES = 8
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


@dataclass(frozen=True)
class Feedback:
    pixels: np.ndarray  # (n, 784) normalised
    labels: np.ndarray
    origin: dict = field(default_factory=dict)  # where it came from, for the model card


def load_feedback(source: str, revision: str | None = None) -> Feedback:
    """A local feedback folder, or a Hub dataset repo id read at a pinned commit (the
    newest unless revision is given), through `datasets`. Each sample once (by id)."""
    from datasets import load_dataset

    if Path(source).is_dir():
        origin = {"feedback_folder": str(source)}
    else:
        revision = revision or HfApi(endpoint=hub_endpoint(), token=hub_token()).dataset_info(source).sha
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
        # One image decoded at a time: 50,000 decoded sketches would not fit in memory at once.
        pixels = normalized_pixels(chosen["image"], "normalise feedback") if keep else np.zeros((0, 784), np.uint8)
    inked = pixels.any(axis=1)  # the store refuses pictures without a digit; a foreign dataset may not
    return Feedback(pixels[inked], labels[inked], origin)


def split_feedback(feedback: Feedback, seed: int = 0) -> tuple[Feedback, Feedback]:
    """Hold out a quarter of the samples, stratified by digit while there are enough of them
    (a quarter holding each digit once at least); a digit seen once is only learned."""
    digits, counts = np.unique(feedback.labels, return_counts=True)
    shared = np.flatnonzero(np.isin(feedback.labels, digits[counts >= 2]))
    held = np.zeros(len(feedback.labels), bool)
    if len(shared) >= 2:
        classes = len(np.unique(feedback.labels[shared]))
        stratify = feedback.labels[shared] if len(shared) * HELD_OUT_SHARE >= classes else None
        _, chosen = train_test_split(shared, test_size=HELD_OUT_SHARE, stratify=stratify, random_state=seed)
        held[chosen] = True
    return (Feedback(feedback.pixels[~held], feedback.labels[~held]),
            Feedback(feedback.pixels[held], feedback.labels[held]))


def distort(pixels: np.ndarray, count: int, rng: np.random.Generator) -> np.ndarray:
    """count random small affine distortions of each 28x28 digit (rotation, scale, shear, shift)."""
    images = pixels.reshape(-1, 28, 28)
    out = []
    for image in images:
        for _ in range(count):
            angle, scale = rng.uniform(-12, 12), rng.uniform(0.85, 1.1)
            matrix = cv2.getRotationMatrix2D((14, 14), angle, scale)
            matrix[0, 1] += rng.uniform(-0.2, 0.2)
            matrix[:, 2] += rng.uniform(-1.5, 1.5, size=2)
            out.append(cv2.warpAffine(image, matrix, (28, 28), flags=cv2.INTER_LINEAR))
    return np.asarray(out, np.uint8).reshape(-1, 784)


def hard_training_digits(current: Classifier, pixels: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Indices of training digits whose true class the current SVC gives little probability.

    The SVC judges, not the whole jury: the k-NN holds these very digits and calls each one easy."""
    truth = current.juror_probabilities(pixels, only=["svc"])["svc"][np.arange(len(labels)), labels]
    hard = np.flatnonzero(truth < HARD_CONFIDENCE)
    return hard[np.argsort(truth[hard])][:MAX_HARD]


def accuracy(classifier: Classifier, pixels: np.ndarray, labels: np.ndarray) -> float:
    if len(labels) == 0:
        return float("nan")
    return float(np.mean(np.argmax(classifier.predict_proba(pixels), axis=1) == labels))


def gate(current: dict, candidate: dict, validation_size: int = 10_000) -> tuple[bool, str]:
    """Promote only a model that keeps MNIST and learns the feedback."""
    drop = current["validation_accuracy"] - candidate["validation_accuracy"]
    limit = max(MAX_VALIDATION_DROP, MIN_VALIDATION_SLACK / validation_size)
    if drop > limit + 1e-6:  # cards round accuracies to 6 places
        return False, f"validation accuracy fell by {drop:.2%} (limit {limit:.2%})"
    if candidate["feedback_accuracy"] < current["feedback_accuracy"]:
        return False, (f"held-out feedback accuracy fell from {current['feedback_accuracy']:.1%} "
                       f"to {candidate['feedback_accuracy']:.1%}")
    if candidate["feedback_accuracy"] < MIN_PLAUSIBLE_FEEDBACK_ACCURACY:
        return False, (f"held-out feedback accuracy is only {candidate['feedback_accuracy']:.1%}: the "
                       "feedback labels are not consistent (mislabelled or poisoned data?)")
    return True, "better on held-out feedback and as good on MNIST validation"


def feedback_training_set(learn: Feedback, rng: np.random.Generator) -> TrainingSet:
    """The feedback to learn from, bounded however much there is: each sample with up to
    VARIANTS_PER_SAMPLE distorted copies while they fit in FEEDBACK_BUDGET, then fewer copies,
    then a random share of the samples; the k-NN keeps at most KNN_FEEDBACK of them."""
    count = len(learn.labels)
    if count > FEEDBACK_BUDGET:
        chosen = rng.choice(count, FEEDBACK_BUDGET, replace=False)
        learn, count = Feedback(learn.pixels[chosen], learn.labels[chosen], learn.origin), FEEDBACK_BUDGET
    copies = int(np.clip(FEEDBACK_BUDGET // max(count, 1) - 1, 0, VARIANTS_PER_SAMPLE))
    pixels = np.concatenate([learn.pixels, distort(learn.pixels, copies, rng)])
    labels = np.concatenate([learn.labels, np.repeat(learn.labels, copies)])
    origins = np.full(len(labels), ORIGINS["generated"], np.int8)  # copies are never references
    origins[rng.permutation(count)[:KNN_FEEDBACK]] = ORIGINS["feedback"]
    return TrainingSet(pixels, labels, np.full(len(labels), FEEDBACK_WEIGHT),
                       {"feedback": count, "feedback_variants": count * copies}, origins)


def retrain(source: str, folder: Path, seed: int = 0, mnist_limit: int | None = None,
            revision: str | None = None) -> dict:
    """Train a candidate with the feedback; promote it into folder if the gate passes.

    The gate compares what both juries read before their final fit: validation accuracy
    (the current one's from its card) and the held-out quarter of the feedback."""
    feedback = load_feedback(source, revision)
    if len(feedback.labels) < MIN_SAMPLES:
        return {"promoted": False, "reason": f"only {len(feedback.labels)} feedback samples (need {MIN_SAMPLES})"}
    learn, held_out = split_feedback(feedback, seed)
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
    candidate = Classifier(trained.jury, trained.card["version"])
    figures = {
        "current": {"validation_accuracy": current.card.get("metrics", {}).get("validation_accuracy", 0.0),
                    "feedback_accuracy": accuracy(current.classifier, held_out.pixels, held_out.labels)},
        "candidate": {"validation_accuracy": trained.card["metrics"]["validation_accuracy"],
                      "feedback_accuracy": accuracy(candidate, held_out.pixels, held_out.labels)},
    }
    promoted, reason = gate(figures["current"], figures["candidate"], len(mnist.validation.labels))
    report = {"promoted": promoted, "reason": reason, **figures,
              "feedback_samples": len(feedback.labels), "held_out": len(held_out.labels),
              "hard_negatives": int(len(hard)), **feedback.origin,
              "training_seconds": trained.card["training"]["seconds"]}
    if promoted:
        card = trained.card
        card["data"].update(feedback.origin)
        card["parent_version"] = current.card.get("version")
        card["history"] = history(current.card)  # every version before this one, for the page
        card["metrics"]["feedback_held_out_accuracy"] = figures["candidate"]["feedback_accuracy"]
        card["metrics"].update(report_figures(trained.jury, mnist))  # reported, never used to decide
        save_model(trained.jury, folder, card)
        report["version"] = card["version"]
    return report


def push_model(folder: Path, repo_id: str) -> str:
    """Upload the promoted model folder to a Hub model repo (token from HF_TOKEN); the Space
    that follows the repo serves it. Returns the commit's URL."""
    api = HfApi(endpoint=hub_endpoint(), token=hub_token())
    api.create_repo(repo_id, repo_type="model", exist_ok=True)
    version = read_card(folder).get("version", "?")
    info = api.upload_folder(folder_path=folder, repo_id=repo_id, repo_type="model",
                             allow_patterns=[MODEL_FILE, CARD_FILE, README_FILE],
                             commit_message=f"Promote jury {version}")
    return info.commit_url


def current_model(repo_id: str, scratch: Path) -> Path:
    """A copy of the jury a model repo serves now (the shipped models/ while it has none),
    to compare a candidate with and to promote into."""
    folder = scratch / "current"
    revision = newest_revision(repo_id) if repo_exists(repo_id) else None
    shutil.copytree(fetch(repo_id, revision, scratch / "hub") if revision else model_dir(), folder,
                    ignore=shutil.ignore_patterns(".*"))
    return folder


def repo_exists(repo_id: str) -> bool:
    return HfApi(endpoint=hub_endpoint(), token=hub_token()).repo_exists(repo_id, repo_type="model")


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
            folder = current_model(arguments.push_model, Path(scratch))
        else:
            folder = arguments.model_dir or model_dir()
        report = retrain(arguments.feedback, folder, arguments.seed, arguments.mnist_limit, arguments.revision)
        if report["promoted"] and arguments.push_model:
            report["pushed"] = push_model(folder, arguments.push_model)
    print(json.dumps(report))
    verdict = f"promoted version {report['version']}" if report["promoted"] else "kept the current model"
    print(f"{verdict}: {report['reason']}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
