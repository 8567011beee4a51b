"""One flagged sample, as one value from the reading to the shard.

The reading the page shows keeps what the feedback dataset would store of it (`read_one(...,
keep=source)`, in a worker process when served): the picture as sent, capped to STORED_SIDE,
and the normalised 28x28 digit the jury read (so it holds a digit), with what the jury said;
a drawing from the pad also its strokes (`drawn`). The page keeps it in the session (a
gr.State) until the next reading; a confirmation or a correction adds the label and who sent
it (`flagged`), and the feedback store writes it as one row (digit/feedback/samples.py).
Nothing on the way decodes or normalises the picture again.

Light on purpose (numpy and the Picture): the reading workers build it without importing the
feedback store.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from digit.config import STORED_SIDE
from digit.reading.images import Picture
from digit.reading.prediction import Prediction
from digit.visitors import UNKNOWN_VISITOR



@dataclass(frozen=True, eq=False)
class Sample:
    """What the feedback dataset stores of one reading, and once flagged, its label and sender."""

    picture: Picture  # the input as sent (uint8 L, RGB or RGBA, upright), at most STORED_SIDE
    digit: np.ndarray  # the normalised 28x28 digit the jury read (white ink on black)
    predicted: int | None = None  # the jury's digit (the first one, for a number)
    confidence: float | None = None
    model_version: str = "unknown"
    source: str = "upload"  # sketch / upload / api / challenge
    candidates: tuple[int, ...] = ()  # the two likeliest digits, which an unsure reading offers (not stored)
    label: Any = None  # the digit it is, as the person said: checked when stored (exactly 0-9)
    visitor: str = UNKNOWN_VISITOR  # a visitor id (digit/visitors.py)
    network: str | None = None  # the id of the sender's network (digit/visitors.py)
    # The pad's strokes as drawn (digit/reading/pad.py: per stroke [[x...], [y...], [t...]]); none for a picture
    strokes: list[list[list[int]]] = field(default_factory=list)

    @classmethod
    def of_reading(cls, picture: Picture, digit: np.ndarray, prediction: Prediction, model_version: str,
                   source: str) -> Sample:
        """The sample a reading keeps: its picture capped for storage, the digit the jury read."""
        return cls(picture.capped(STORED_SIDE), digit, prediction.digit, prediction.confidence, model_version, source,
                   prediction.candidates)

    def drawn(self, strokes: list[list[list[int]]]) -> Sample:
        """This sample with the strokes the pad drew it with."""
        return replace(self, strokes=strokes)

    def flagged(self, label: Any, visitor: str | None = None) -> Sample:
        """This sample with the digit a person says it is, and who they are (None: unknown)."""
        return replace(self, label=label, visitor=UNKNOWN_VISITOR if visitor is None else visitor)

    def sent_from(self, network: str | None) -> Sample:
        """This sample with the sender's network (a correction's flagger's votes from it never count)."""
        return replace(self, network=network)
