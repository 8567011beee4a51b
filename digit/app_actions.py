"""What each control of the Gradio page does; app.py only lays the page out."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import gradio as gr
import numpy as np

from digit.model_store import LoadedModel, load_model
from digit.preprocess import MAX_FILE_BYTES
from digit.reading import Reading, jury_view, label_confidences, read, verdict

EXAMPLES_DIR = Path(__file__).parent / "examples"
MAX_UPLOAD = MAX_FILE_BYTES
WELCOME = "**Draw a digit and press “Read my digit”, or upload a picture.**"

Shown = tuple[str, dict[str, float] | None, np.ndarray | None]


@lru_cache(maxsize=1)
def model() -> LoadedModel:
    """The jury from MODEL_DIR, loaded once per process."""
    return load_model()


def example_files() -> list[str]:
    return sorted(str(path) for path in EXAMPLES_DIR.iterdir())


def model_summary() -> str:
    card = model().card
    test = card.get("metrics", {}).get("mnist_test_accuracy")
    figure = f", {test:.2%} on the MNIST test set" if test is not None else ""
    return f"<small>Model {card.get('version', 'unknown')}{figure}.</small>"


def _show(reading: Reading) -> Shown:
    if reading.prediction is None:
        return verdict(reading), None, None
    return verdict(reading), label_confidences(reading.prediction), jury_view(reading)


def show_sketch(sketch: dict | None) -> Shown:
    """The Sketchpad sends layers; the composite is RGBA with a transparent background."""
    composite = sketch.get("composite") if isinstance(sketch, dict) else None
    return _show(read(model().classifier, composite))


def show_upload(path: str | None) -> Shown:
    return _show(read(model().classifier, path))


def classify(path: str | None) -> dict[str, float]:
    """API: one image file -> the confidence of each digit. Bad input raises a clear gr.Error."""
    reading = read(model().classifier, path)
    if reading.prediction is None:
        raise gr.Error(reading.message, print_exception=False)
    return label_confidences(reading.prediction)
