"""What the page says about a reading, in words and pictures."""

from __future__ import annotations

import numpy as np

from digit.jurors import SHOWN
from digit.prediction import Neighbour, Prediction

WELCOME = "**Draw a digit: the jury reads it as you draw. Or upload a picture of one.**"


def label_confidences(prediction: Prediction) -> dict[str, float]:
    """What gr.Label shows: each digit's probability under the soft vote; for a number,
    each position's digit and its confidence."""
    if prediction.parts:
        return {f"{part.digit} (digit {index})": part.confidence for index, part in enumerate(prediction.parts, 1)}
    return {str(digit): probability for digit, probability in enumerate(prediction.probabilities)}


def verdict(prediction: Prediction) -> str:
    """A short Markdown verdict: the digit, how sure, how each juror voted; "5 or 6?" when unsure."""
    if prediction.parts:
        each = " · ".join(f"**{part.digit}**{'?' if part.unsure else ''} {part.confidence:.0%}"
                          for part in prediction.parts)
        return f"## {prediction.number}\n{len(prediction.parts)} digits, read left to right — {each}"
    votes = " · ".join(f"{SHOWN.get(name, name)}: **{digit}**" for name, digit in prediction.jurors.items())
    agreement = "unanimous" if len(set(prediction.jurors.values())) == 1 else "split vote"
    warning = f"\n\n⚠️ {sentence(prediction.warning)}" if prediction.warning else ""
    warning += f"\n\n{recalled_line(prediction.recalled)}" if _recalled_it(prediction) else ""
    if prediction.unsure:
        first, second = prediction.candidates
        return (f"## {first} or {second}?\nNot sure: {prediction.confidence:.0%} for {first}, "
                f"{prediction.probabilities[second]:.0%} for {second} — {votes}{warning}")
    return f"## {prediction.digit}\n{prediction.confidence:.1%} confident, {agreement} — {votes}{warning}"


def _recalled_it(prediction: Prediction) -> bool:
    return prediction.recalled is not None and prediction.recalled.label == prediction.digit


def recalled_line(example: Neighbour) -> str:
    """Said when an example took part in the reading and it agrees: the visitor's own, or a
    correction others confirmed."""
    if example.yours:
        return f"Read as {example.label}, like the {example.label} you taught it."
    return f"Read as {example.label}, like a {example.label} other visitors confirmed."


def jurors_table(prediction: Prediction) -> list[list]:
    """Each juror's two likeliest digits with their probabilities: rows for a gr.Dataframe."""
    rows = []
    for name, probabilities in prediction.juror_probabilities.items():
        first, second = np.argsort(probabilities)[::-1][:2]
        rows.append([SHOWN.get(name, name), f"{first} ({probabilities[first]:.0%})",
                     f"{second} ({probabilities[second]:.0%})"])
    return rows


def neighbour_tiles(prediction: Prediction) -> list[tuple[np.ndarray, str]]:
    """The k-NN's closest training digits as (28x28 picture, caption), dark ink on white."""
    return [(255 - neighbour.image, f"{neighbour.label}" + (" · yours" if neighbour.yours else "")
             + (" · from feedback" if neighbour.learned else ""))
            for neighbour in prediction.neighbours]


def jury_view(prediction: Prediction) -> list[tuple[np.ndarray, str]]:
    """The 28x28 picture the jury read (28 px high, wider for a number), dark ink on white."""
    return [(255 - prediction.view, "")]


def model_line(card: dict, live: int = 0) -> str:
    """The model serving; live: how many corrections others confirmed its k-NN holds besides."""
    test = card.get("metrics", {}).get("mnist_test_accuracy")
    figure = f", {test:.2%} on the MNIST test set" if test is not None else ""
    return f"<small>Model {card.get('version', 'unknown')}{figure}.{live_line(live)}</small>"


def live_line(live: int) -> str:
    """The live references, in the model line (nothing when there are none)."""
    if not live:
        return ""
    return (f" Its k-NN also holds {live} live reference{'s' * (live != 1)}: "
            f"corrections other visitors confirmed, until the next retraining takes them in.")


def problem(message: str) -> str:
    """The verdict when there is no reading: why, in bold."""
    return f"**{sentence(message)}**"


def sentence(message: str) -> str:
    return message[:1].upper() + message[1:] + ("" if message.endswith(".") else ".")
