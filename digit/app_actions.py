"""What each control of the Gradio page does; app.py only lays the page out."""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path

import gradio as gr
import numpy as np

from digit.feedback import FeedbackError, FeedbackStore, Sample
from digit.model_store import LoadedModel, ModelSlot
from digit.preprocess import MAX_FILE_BYTES, BadImage
from digit.reading import Reading, jury_view, label_confidences, read, verdict

EXAMPLES_DIR = Path(__file__).parent / "examples"
MAX_UPLOAD = MAX_FILE_BYTES
# Requests run at once (see README, "Serving"); DIGIT_CONCURRENCY overrides for measuring.
CONCURRENCY = int(os.environ.get("DIGIT_CONCURRENCY", "2"))
WELCOME = "**Draw a digit and press “Read my digit”, or upload a picture.**"

Shown = tuple[str, dict[str, float] | None, np.ndarray | None, dict | None]


_MODEL = ModelSlot()


def model() -> LoadedModel:
    """The jury from MODEL_DIR, loaded once and again after a promotion replaces it."""
    return _MODEL.get()


@lru_cache(maxsize=1)
def feedback() -> FeedbackStore:
    """The feedback dataset in FEEDBACK_DIR, pushed to FEEDBACK_REPO when HF_TOKEN is set."""
    store = FeedbackStore()
    store.setup()
    return store


def example_files() -> list[str]:
    return sorted(str(path) for path in EXAMPLES_DIR.iterdir())


def model_summary() -> str:
    card = model().card
    test = card.get("metrics", {}).get("mnist_test_accuracy")
    figure = f", {test:.2%} on the MNIST test set" if test is not None else ""
    return f"<small>Model {card.get('version', 'unknown')}{figure}.</small>"


def _show(image, source: str) -> Shown:
    """Read an input; also return what a later confirmation or correction needs (the last input)."""
    reading = read(model().classifier, image)
    if reading.prediction is None:
        return verdict(reading), None, None, None
    last = {"image": image, "source": source, "predicted": reading.prediction.digit,
            "confidence": reading.prediction.confidence}
    return verdict(reading), label_confidences(reading.prediction), jury_view(reading), last


def show_sketch(sketch: dict | None) -> Shown:
    """The Sketchpad sends layers; the composite is RGBA with a transparent background."""
    composite = sketch.get("composite") if isinstance(sketch, dict) else None
    return _show(composite, "sketch")


def show_upload(path: str | None) -> Shown:
    return _show(path, "upload")


def _save(image, label, source: str, predicted: int | None, confidence: float | None) -> str:
    store = feedback()
    try:
        store.save(Sample(image, label, predicted, confidence, model().classifier.version, source))
    except (FeedbackError, BadImage) as error:
        raise gr.Error(f"Not saved: {error}.", print_exception=False) from None
    total = store.count()
    return f"Saved as a {int(label)} — thank you. The feedback dataset now holds {total} sample{'s' * (total != 1)}."


def confirm(last: dict | None) -> str:
    """The jury was right: store the sample with its predicted digit."""
    if not last:
        raise gr.Error("Read a digit first, then confirm it.", print_exception=False)
    return _save(last["image"], last["predicted"], last["source"], last["predicted"], last["confidence"])


def correct(last: dict | None, digit: str | int | None) -> tuple[str, None]:
    """The jury was wrong: store the sample with the digit the person picked, clear the pick."""
    if not last:
        raise gr.Error("Read a digit first, then pick the right one.", print_exception=False)
    return _save(last["image"], digit, last["source"], last["predicted"], last["confidence"]), None


def flag(path: str | None, digit: float | int | str | None) -> str:
    """API: one image file and the correct digit (0-9) -> a short confirmation."""
    reading = read(model().classifier, path)
    if reading.prediction is None:
        raise gr.Error(f"Not saved: {reading.message}", print_exception=False)
    return _save(path, digit, "api", reading.prediction.digit, reading.prediction.confidence)


def dataset_summary() -> str:
    """The Dataset tab: samples per digit, how many the current model still gets wrong, the card."""
    store, classifier = feedback(), model().classifier
    records = store.records()
    wrong = 0
    for record in records:
        try:
            wrong += classifier.predict(record["path"]).digit != record["label"]
        except BadImage:
            wrong += 1
    counts = store.per_digit(records)
    table = "| digit | " + " | ".join(map(str, counts)) + " |\n|" + "---|" * 11 + "\n| samples | " + \
        " | ".join(str(n) for n in counts.values()) + " |"
    card = model().card
    metrics = card.get("metrics", {})
    pushed = (f"pushed to `{store.repo_id}`" if store.scheduler else
              f"waiting to push to `{store.repo_id}` ({store.push_error or 'starting'})") if store.repo_id \
        else "kept locally (set FEEDBACK_REPO and HF_TOKEN to share it)"
    return (f"### Feedback dataset\n{len(records)} samples, {pushed}. "
            f"The current model gets **{wrong}** of them wrong.\n\n{table}\n\n"
            f"### Current model\nVersion `{card.get('version', 'unknown')}`, trained {card.get('date', '?')}; "
            f"MNIST test accuracy {metrics.get('mnist_test_accuracy', float('nan')):.2%}, validation "
            f"{metrics.get('validation_accuracy', float('nan')):.2%}; data: {card.get('data', {})}.")


def classify(path: str | None) -> dict[str, float]:
    """API: one image file -> the confidence of each digit. Bad input raises a clear gr.Error."""
    reading = read(model().classifier, path)
    if reading.prediction is None:
        raise gr.Error(reading.message, print_exception=False)
    return label_confidences(reading.prediction)
