"""What the page says about a reading, in words and pictures."""

from __future__ import annotations

import cv2
import numpy as np

from digit.prediction import Prediction

JUROR_NAMES = {"svc": "SVC", "knn": "k-NN", "rf": "forest"}


def label_confidences(prediction: Prediction) -> dict[str, float]:
    """What gr.Label shows: each digit's probability under the soft vote; for a number,
    each position's digit and its confidence."""
    if prediction.parts:
        return {f"{part.digit} (digit {index})": part.confidence for index, part in enumerate(prediction.parts, 1)}
    return {str(digit): probability for digit, probability in enumerate(prediction.probabilities)}


def verdict(prediction: Prediction) -> str:
    """A short Markdown verdict: the digit and how each juror voted."""
    if prediction.parts:
        each = " · ".join(f"**{part.digit}** {part.confidence:.0%}" for part in prediction.parts)
        return f"## {prediction.number}\n{len(prediction.parts)} digits, read left to right — {each}"
    votes = " · ".join(f"{JUROR_NAMES.get(name, name)}: **{digit}**" for name, digit in prediction.jurors.items())
    agreement = "unanimous" if len(set(prediction.jurors.values())) == 1 else "split vote"
    warning = f"\n\n⚠️ {sentence(prediction.warning)}" if prediction.warning else ""
    return f"## {prediction.digit}\n{prediction.confidence:.1%} confident, {agreement} — {votes}{warning}"


def problem(message: str) -> str:
    """The verdict when there is no reading: why, in bold."""
    return f"**{sentence(message)}**"


def jury_view(prediction: Prediction, size: int = 168) -> np.ndarray:
    """The 28x28 image the jury read, enlarged with visible pixels, dark ink on white."""
    view = prediction.view
    return cv2.resize(255 - view, (size * view.shape[1] // 28, size), interpolation=cv2.INTER_NEAREST)


def sentence(message: str) -> str:
    return message[:1].upper() + message[1:] + ("" if message.endswith(".") else ".")
