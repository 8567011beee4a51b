"""What each control of the Gradio page does; app.py only lays the page out."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

import gradio as gr
import numpy as np
from gradio.data_classes import FileData
from gradio.utils import get_upload_folder

from digit.config import model_cache_dir, model_poll_minutes, model_repo
from digit.feedback import FeedbackError, FeedbackStore
from digit.feedback.samples import MAX_SIDE as STORED_SIDE
from digit.images import BadImage, ImageInput, Picture, read_picture
from digit.model_hub import HubModelFollower
from digit.model_store import LoadedModel, ModelSlot
from digit.page.texts import jury_view, label_confidences, problem, sentence, verdict
from digit.prediction import Prediction

EXAMPLES_DIR = Path(__file__).parent / "examples"
WELCOME = "**Draw a digit and press “Read my digit”, or upload a picture.**"
NOTHING = "draw a digit or upload a picture of one"

Shown = tuple[str, dict[str, float] | None, np.ndarray | None, dict | None]

_MODEL = ModelSlot()
LABEL = gr.Label(render=False)  # the API answers in gr.Label's format, as the page shows it


def model() -> LoadedModel:
    """The jury from MODEL_DIR, loaded once and again after a promotion replaces it."""
    return _MODEL.get()


def start() -> FeedbackStore:
    """Before the first visitor: follow MODEL_REPO if set, open (and start pushing) the feedback."""
    repo = model_repo()
    if repo:
        HubModelFollower(_MODEL, repo, model_cache_dir(), model_poll_minutes()).start()
    return feedback()


@lru_cache(maxsize=1)
def feedback() -> FeedbackStore:
    """The feedback dataset in FEEDBACK_DIR, pushed to FEEDBACK_REPO when HF_TOKEN is set.

    The page flags through it as Gradio's flagging callbacks are used (setup once, flag per click)."""
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


def read(image: ImageInput | None) -> tuple[Picture, Prediction]:
    """Decode an input from the page or the API once and read it; raises BadImage with a
    message for people. The Picture is what a confirmation or a correction stores."""
    if image is None:
        raise BadImage(NOTHING)
    picture = read_picture(image)
    return picture, model().classifier.predict(picture)


def _show(image, source: str) -> Shown:
    """Read an input; also return what a later confirmation or correction needs (the last input)."""
    try:
        picture, prediction = read(image)
    except BadImage as error:
        return problem(str(error)), None, None, None
    # Kept in the session until the next reading: only what the feedback store would keep.
    last = {"image": picture.capped(STORED_SIDE), "source": source, "predicted": prediction.digit,
            "confidence": prediction.confidence}
    return verdict(prediction), label_confidences(prediction), jury_view(prediction), last


def show_sketch(sketch: dict | None) -> Shown:
    """The Sketchpad sends layers; the composite is RGBA with a transparent background."""
    composite = sketch.get("composite") if isinstance(sketch, dict) else None
    return _show(composite, "sketch")


def show_upload(path: str | None) -> Shown:
    return _show(path, "upload")


def _save(image, label, source: str, predicted: int | None, confidence: float | None) -> str:
    try:
        total = feedback().flag([image, label, predicted, confidence, model().classifier.version, source])
    except (FeedbackError, BadImage) as error:
        raise gr.Error(f"Not saved: {sentence(str(error))}", print_exception=False) from None
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


def dataset_summary() -> str:
    """The Dataset tab: samples per digit, how many corrected the jury, where they are pushed, the card."""
    store = feedback()
    records = store.records()
    corrected = sum(record["predicted"] is not None and record["predicted"] != record["label"] for record in records)
    counts = store.per_digit(records)
    table = "| digit | " + " | ".join(map(str, counts)) + " |\n|" + "---|" * 11 + "\n| samples | " + \
        " | ".join(str(n) for n in counts.values()) + " |"
    card = model().card
    metrics = card.get("metrics", {})
    if store.sync is not None:
        pushed = (f"shared on the Hub as `{store.repo_id}`" if store.sync.error is None else
                  f"waiting to be pushed to `{store.repo_id}` ({store.sync.error})")
    else:
        pushed = "kept locally (set FEEDBACK_REPO and HF_TOKEN to share it)"
    return (f"### Feedback dataset\n{len(records)} samples, {pushed}. "
            f"**{corrected}** of them corrected the jury.\n\n{table}\n\n"
            f"### Current model\nVersion `{card.get('version', 'unknown')}`, trained {card.get('date', '?')}; "
            f"MNIST test accuracy {metrics.get('mnist_test_accuracy', float('nan')):.2%}, validation "
            f"{metrics.get('validation_accuracy', float('nan')):.2%}; data: {card.get('data', {})}.")


# -- the API ("Use via API"): plain functions typed for gr.api --------------------------------

def uploaded(file: FileData | dict | None) -> str | None:
    """The path of a file a client uploaded; refuses any other path on this machine.

    gr.api hands the payload over as sent, so the check Gradio makes for component inputs
    (only files in its upload folder) is made here."""
    if file is None:
        return None
    path = file.get("path") if isinstance(file, dict) else getattr(file, "path", None)
    if not isinstance(path, str) or not path:
        raise gr.Error("Send the image as a file (gradio_client's handle_file, or the upload route).",
                       print_exception=False)
    resolved = Path(path).resolve()
    if not resolved.is_relative_to(Path(get_upload_folder()).resolve()):
        raise gr.Error("Upload the image first: only uploaded files are read.", print_exception=False)
    return str(resolved)


def classify(image: FileData) -> dict[str, Any]:
    """One image file -> the confidence of each digit, as gr.Label shows it."""
    try:
        _, prediction = read(uploaded(image))
    except BadImage as error:
        raise gr.Error(sentence(str(error)), print_exception=False) from None
    return LABEL.postprocess(label_confidences(prediction)).model_dump()


def flag(image: FileData, digit: Any) -> str:
    """One image file and the correct digit (0-9) -> a short confirmation."""
    try:
        picture, prediction = read(uploaded(image))
    except BadImage as error:
        raise gr.Error(f"Not saved: {sentence(str(error))}", print_exception=False) from None
    return _save(picture, digit, "api", prediction.digit, prediction.confidence)
