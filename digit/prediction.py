"""What a reading of one picture says: the digit, how sure, each juror's vote, what was read."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass(frozen=True)
class Neighbour:
    """A training digit the k-NN juror found close to the one read."""

    image: np.ndarray  # 28x28 uint8, white ink on black, deskewed as the k-NN compares digits
    label: int
    learned: bool  # it came from the feedback dataset, not from MNIST
    yours: bool = False  # the visitor's own example (digit/live/memory.py), not a training digit


@dataclass(frozen=True)
class Prediction:
    """One reading. For several digits, digit and its fields describe the first (leftmost)
    digit, number holds them all and parts each digit's own reading."""

    digit: int
    confidence: float
    probabilities: list[float]  # ten floats summing to 1, index = digit
    jurors: dict[str, int]  # each juror's own vote
    view: np.ndarray  # the 28x28 image the jury read (side by side for several digits)
    parts: tuple["Prediction", ...] = ()
    warning: str = ""  # e.g. touching digits read as one
    unsure: bool = False  # the calibrated confidence is below the jury's unsure_below: say so
    juror_probabilities: dict[str, list[float]] = field(default_factory=dict)  # each juror's ten probabilities
    neighbours: tuple[Neighbour, ...] = ()  # the k-NN's closest training digits, when explained
    recalled: Neighbour | None = None  # the visitor's own example that took part in the vote

    @property
    def candidates(self) -> tuple[int, int]:
        """The two likeliest digits, likeliest first."""
        first, second = np.argsort(self.probabilities)[::-1][:2]
        return int(first), int(second)

    @property
    def number(self) -> str | None:
        return "".join(str(part.digit) for part in self.parts) if self.parts else None

    def as_json(self) -> dict:
        result = {
            "digit": self.digit,
            "confidence": round(self.confidence, 6),
            "probabilities": [round(p, 6) for p in self.probabilities],
            "jurors": dict(self.jurors),
        }
        if self.unsure:
            result["unsure"] = True
            result["candidates"] = list(self.candidates)
        if self.warning:
            result["warning"] = self.warning
        if self.parts:
            result["number"] = self.number
            result["digits"] = [{"digit": part.digit, "confidence": round(part.confidence, 6),
                                 "jurors": dict(part.jurors), **({"unsure": True} if part.unsure else {})}
                                for part in self.parts]
        return result
