"""What the page says about a reading, in words and pictures."""

from __future__ import annotations

import numpy as np
import pandas as pd

from digit.model.card import ModelCard
from digit.page.languages import ENGLISH, TEXTS, Words
from digit.reading.prediction import Neighbour, Prediction

WELCOME = ENGLISH("welcome")


def label_confidences(prediction: Prediction, words: Words = ENGLISH) -> dict[str, float]:
    """What gr.Label shows: each digit's probability under the soft vote; for a number,
    each position's digit and its confidence."""
    if prediction.parts:
        return {words("number_part", digit=part.digit, index=index): part.confidence
                for index, part in enumerate(prediction.parts, 1)}
    return {str(digit): probability for digit, probability in enumerate(prediction.probabilities)}


def verdict(prediction: Prediction, words: Words = ENGLISH) -> str:
    """A short Markdown verdict: the digit, how sure, how each juror voted; "5 or 6?" when unsure."""
    if prediction.parts:
        each = " · ".join(f"**{part.digit}**{'?' if part.unsure else ''} {words.percent(part.confidence)}"
                          for part in prediction.parts)
        return words("number", number=prediction.number, count=len(prediction.parts), each=each)
    votes = " · ".join(f"{juror_name(name, words)}: **{digit}**" for name, digit in prediction.jurors.items())
    agreement = words("unanimous" if len(set(prediction.jurors.values())) == 1 else "split_vote")
    warning = f"\n\n⚠️ {sentence(words.refusal(prediction.warning))}" if prediction.warning else ""
    warning += f"\n\n{recalled_line(prediction.recalled, words)}" if _recalled_it(prediction) else ""
    if prediction.unsure:
        first, second = prediction.candidates
        return words("unsure", first=first, second=second, confidence=words.percent(prediction.confidence),
                     other=words.percent(prediction.probabilities[second]), votes=votes, warning=warning)
    return words("sure", digit=prediction.digit, confidence=words.percent(prediction.confidence, 1),
                 agreement=agreement, votes=votes, warning=warning)


def juror_name(name: str, words: Words = ENGLISH) -> str:
    """What the page calls a juror (SVC, k-NN, forest), in the page's language."""
    return words(f"juror_{name}") if f"juror_{name}" in TEXTS else name


def _recalled_it(prediction: Prediction) -> bool:
    return prediction.recalled is not None and prediction.recalled.label == prediction.digit


def recalled_line(example: Neighbour, words: Words = ENGLISH) -> str:
    """Said when an example took part in the reading and it agrees: the visitor's own, or a
    correction others confirmed."""
    return words("recalled_yours" if example.yours else "recalled_confirmed", digit=example.label)


def jurors_table(prediction: Prediction | None, words: Words = ENGLISH) -> pd.DataFrame:
    """Each juror's two likeliest digits with their probabilities: a table for a gr.Dataframe,
    its column names in the page's language (no rows without a reading)."""
    rows = []
    for name, probabilities in (prediction.juror_probabilities.items() if prediction else ()):
        first, second = np.argsort(probabilities)[::-1][:2]
        rows.append([juror_name(name, words), f"{first} ({words.percent(probabilities[first])})",
                     f"{second} ({words.percent(probabilities[second])})"])
    return pd.DataFrame(rows, columns=[words("juror"), words("first"), words("second")])


def neighbour_tiles(prediction: Prediction, words: Words = ENGLISH) -> list[tuple[np.ndarray, str]]:
    """The k-NN's closest training digits as (28x28 picture, caption), dark ink on white."""
    return [(255 - neighbour.image, f"{neighbour.label}" + (words("yours_tile") if neighbour.yours else "")
             + (words("from_feedback") if neighbour.learned else ""))
            for neighbour in prediction.neighbours]


def jury_view(prediction: Prediction) -> list[tuple[np.ndarray, str]]:
    """The 28x28 picture the jury read (28 px high, wider for a number), dark ink on white."""
    return [(255 - prediction.view, "")]


def model_line(card: ModelCard, words: Words = ENGLISH, live: int = 0) -> str:
    """The model serving; live: how many corrections others confirmed its k-NN holds besides."""
    test = card.metric("mnist_test_accuracy")
    figure = words("model_test", test=words.percent(test, 2)) if test is not None else ""
    if live:
        figure += words("live_line", live=live)
    return words("model_line", version=card.version or words("unknown_version"), figure=figure)


def problem(message: str, words: Words = ENGLISH) -> str:
    """The verdict when there is no reading: why (a refusal of the library's, said in the page's
    language), in bold."""
    return f"**{sentence(words.refusal(message))}**"


def sentence(message: str) -> str:
    return message[:1].upper() + message[1:] + ("" if message.endswith(".") else ".")
