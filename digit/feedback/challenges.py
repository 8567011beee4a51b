""""Fool the jury" in numbers: per named digit, how many drawings the jury read wrong out of how
many were drawn for it (Dynabench's model error rate per target), for one jury.

A challenge sample (source `challenge`) is labelled with the digit the page named; the jury was
fooled when it read another digit (`predicted != label`). Such a sample is contested: it waits
for other visitors' word ("Check these"), as a correction against a confident jury does.
"""

from __future__ import annotations

import random
from collections.abc import Iterable
from dataclasses import dataclass

CHALLENGE = "challenge"


def fooled(record: dict) -> bool:
    """Whether a challenge sample fooled the jury: it read another digit than the one named."""
    return record["predicted"] is not None and record["predicted"] != record["label"]


@dataclass(frozen=True)
class ChallengeCounts:
    """One jury's challenges: per digit 0-9, drawings that fooled it and drawings in all; and one
    visitor's own."""

    fooled: tuple[int, ...]
    drawn: tuple[int, ...]
    mine_fooled: int = 0
    mine_drawn: int = 0

    def share(self, digit: int) -> float:
        """How often the jury was fooled on this digit (0 while none was drawn)."""
        return self.fooled[digit] / self.drawn[digit] if self.drawn[digit] else 0.0

    def least_fooled(self) -> list[int]:
        """The digits the jury is fooled on least often so far: where the next challenge goes."""
        lowest = min(self.share(digit) for digit in range(10))
        return [digit for digit in range(10) if self.share(digit) == lowest]

    def next_target(self, rng: random.Random | None = None) -> int:
        """A digit to name next: one of the least fooled, at random."""
        return (rng or random).choice(self.least_fooled())


def challenge_counts(records: Iterable[dict], model_version: str, visitor: str | None = None) -> ChallengeCounts:
    """Count the challenge samples answered by the jury `model_version` (and `visitor`'s among them)."""
    fooled_by, drawn, mine_fooled, mine_drawn = [0] * 10, [0] * 10, 0, 0
    for record in records:
        if record["source"] != CHALLENGE or record["model_version"] != model_version:
            continue
        label, wrong = int(record["label"]), fooled(record)
        drawn[label] += 1
        fooled_by[label] += wrong
        if visitor is not None and record["visitor"] == visitor:
            mine_drawn += 1
            mine_fooled += wrong
    return ChallengeCounts(tuple(fooled_by), tuple(drawn), mine_fooled, mine_drawn)
