"""What the app does with an input: read it, and say the result in words and pictures."""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from digit.jury import Classifier, Prediction
from digit.preprocess import BadImage, ImageInput

JUROR_NAMES = {"svc": "SVC", "knn": "k-NN", "rf": "forest"}


@dataclass(frozen=True)
class Reading:
    """One request's outcome: a prediction, or a message saying why there is none."""

    prediction: Prediction | None
    message: str = ""


def read(classifier: Classifier, image: ImageInput | None) -> Reading:
    """Classify an input from the page; never raises for bad input."""
    if image is None:
        return Reading(None, "Draw a digit or upload a picture of one.")
    try:
        return Reading(classifier.predict(image))
    except BadImage as error:
        return Reading(None, _sentence(str(error)))


def label_confidences(prediction: Prediction) -> dict[str, float]:
    """What gr.Label shows: each digit's probability under the soft vote; for a number,
    each position's digit and its confidence."""
    if prediction.parts:
        return {f"{part.digit} (digit {index})": part.confidence for index, part in enumerate(prediction.parts, 1)}
    return {str(digit): probability for digit, probability in enumerate(prediction.probabilities)}


def verdict(reading: Reading) -> str:
    """A short Markdown verdict: the digit and how each juror voted, or the message."""
    if reading.prediction is None:
        return f"**{reading.message}**"
    prediction = reading.prediction
    if prediction.parts:
        each = " · ".join(f"**{part.digit}** {part.confidence:.0%}" for part in prediction.parts)
        return f"## {prediction.number}\n{len(prediction.parts)} digits, read left to right — {each}"
    votes = " · ".join(f"{JUROR_NAMES.get(name, name)}: **{digit}**" for name, digit in prediction.jurors.items())
    agreement = "unanimous" if len(set(prediction.jurors.values())) == 1 else "split vote"
    warning = f"\n\n⚠️ {_sentence(prediction.warning)}" if prediction.warning else ""
    return f"## {prediction.digit}\n{prediction.confidence:.1%} confident, {agreement} — {votes}{warning}"


def jury_view(reading: Reading, size: int = 168) -> np.ndarray | None:
    """The 28x28 image the jury read, enlarged with visible pixels, dark ink on white."""
    if reading.prediction is None:
        return None
    view = reading.prediction.view
    return cv2.resize(255 - view, (size * view.shape[1] // 28, size), interpolation=cv2.INTER_NEAREST)


def _sentence(message: str) -> str:
    return message[:1].upper() + message[1:] + ("" if message.endswith(".") else ".")
