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

    @property
    def ok(self) -> bool:
        return self.prediction is not None


def read(classifier: Classifier, image: ImageInput | None) -> Reading:
    """Classify an input from the page; never raises for bad input."""
    if image is None:
        return Reading(None, "Draw a digit or upload a picture of one.")
    try:
        return Reading(classifier.predict(image))
    except BadImage as error:
        return Reading(None, _sentence(str(error)))


def label_confidences(prediction: Prediction) -> dict[str, float]:
    """What gr.Label shows: each digit's probability under the soft vote."""
    return {str(digit): probability for digit, probability in enumerate(prediction.probabilities)}


def verdict(reading: Reading) -> str:
    """A short Markdown verdict: the digit and how each juror voted, or the message."""
    if reading.prediction is None:
        return f"**{reading.message}**"
    prediction = reading.prediction
    votes = " · ".join(f"{JUROR_NAMES.get(name, name)}: **{digit}**" for name, digit in prediction.jurors.items())
    agreement = "unanimous" if len(set(prediction.jurors.values())) == 1 else "split vote"
    return f"## {prediction.digit}\n{prediction.confidence:.1%} confident, {agreement} — {votes}"


def jury_view(reading: Reading, size: int = 168) -> np.ndarray | None:
    """The 28x28 image the jury read, enlarged with visible pixels, dark ink on white."""
    if reading.prediction is None:
        return None
    return cv2.resize(255 - reading.prediction.view, (size, size), interpolation=cv2.INTER_NEAREST)


def _sentence(message: str) -> str:
    return message[:1].upper() + message[1:] + ("" if message.endswith(".") else ".")
