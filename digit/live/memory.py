"""What a visitor taught, for that visitor, at once: their own corrections (and readings they
marked right) take part in their next readings, no retraining.

Two halves. `VisitorMemory`, in the server's process, holds each visitor's few examples (the
normalised 28x28 digit and its label), bounded: the newest EXAMPLES per visitor, the VISITORS
used most recently. A reading hands that visitor's examples (`Taught`) to the process that reads
(digit/reading/pool.py), never anyone else's. There `recall` finds the example nearest the digit
read, by the k-NN's own image distortion distance (IDM, digit/neighbours.py), and compares it
with the nearest of the k-NN's references: when the visitor's example is at most `near` times as
far, its digit joins the vote with weight `weight` (`blended`). Both were chosen on the canvas
set's validation writers (a writer's earlier drawings as the memory, their later ones as the
readings): `python -m training.memory_choice`, which writes MEMORY_FILE.

Memory keys are strings: the visitor id for the API and MCP, the visitor and the browser on the
page (`page_key`), so that one pupil behind a school's address never changes another's readings.
"""

from __future__ import annotations

import json
import threading
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:  # the server holds the memory; the readings (scikit-learn) are made in its workers
    from digit.neighbours import DeformationNeighbours, Neighbourhood

MEMORY_FILE = Path(__file__).with_name("memory.json")  # the choice training.memory_choice made
EXAMPLES = 40  # per visitor, the newest: a reading compares with all of them (few, so it stays fast)
VISITORS = 1000  # held at once, the most recently used: 40 x 784 bytes each, ~31 MB at most
SHORTLIST = 4  # the visitor's examples nearest in pixels, measured by IDM
REFERENCES = 8  # the k-NN's first candidates, measured by IDM: the nearest reference the example must beat


@dataclass(frozen=True)
class MemoryChoice:
    """How near a visitor's example must be, and how much its digit weighs."""

    near: float  # the example's IDM distance over the nearest reference's, at most
    weight: float  # its digit's share of the vote: (1 - weight) x the jury's + weight x the example's


def load_choice(path: Path = MEMORY_FILE) -> MemoryChoice:
    """The choice written by training.memory_choice; none (weight 0: the memory stays silent) if missing."""
    try:
        chosen = json.loads(path.read_text())["chosen"]
        return MemoryChoice(float(chosen["near"]), float(chosen["weight"]))
    except (OSError, ValueError, KeyError, TypeError):
        return MemoryChoice(near=0.0, weight=0.0)


CHOICE = load_choice()


@dataclass(frozen=True)
class Taught:
    """Examples as a reading needs them: one visitor's few, newest last (or the corrections others
    confirmed, digit/live/references.py, shown to everyone)."""

    digits: np.ndarray  # (n, 28, 28) uint8, normalised as the jury reads (white ink on black)
    labels: np.ndarray  # (n,) the digits they are
    deskewed: np.ndarray | None = None  # (n, 784) as the k-NN compares them (`prepared`), when made ahead

    def __len__(self) -> int:
        return len(self.labels)

    def prepared(self, levels: int) -> "Taught":
        """The same examples with their deskewed pixels made (once, for a set read many times)."""
        if self.deskewed is not None:
            return self
        from digit.features import Deskew

        pixels = quantised(Deskew().transform(self.digits.reshape(len(self), -1)), levels).astype(np.float32)
        return Taught(self.digits, self.labels, pixels)

    def subset(self, rows: np.ndarray) -> "Taught":
        return Taught(self.digits[rows], self.labels[rows], None if self.deskewed is None else self.deskewed[rows])


@dataclass(frozen=True)
class Recalled:
    """The visitor's own example a reading came near, and what it did to the vote."""

    label: int
    image: np.ndarray  # 28x28 uint8, deskewed as the k-NN compares digits
    nearness: float  # its IDM distance over the nearest reference's (below `near`: it votes)
    yours: bool = True  # the visitor's own, not a correction others confirmed


def page_key(visitor: str, browser: str | None) -> str:
    """The page's memory key: the visitor and, when the pad says it, their browser."""
    return f"{visitor}/{browser}" if browser else visitor


class VisitorMemory:
    """Each visitor's newest examples, for the visitors seen most recently; thread-safe."""

    def __init__(self, examples: int = EXAMPLES, visitors: int = VISITORS):
        self.examples = examples
        self.visitors = visitors
        self._lock = threading.Lock()
        self._held: OrderedDict[str, list[tuple[np.ndarray, int]]] = OrderedDict()

    def teach(self, key: str, digit: np.ndarray, label: int) -> None:
        """Keep one example for this key (the oldest beyond `examples` goes; the least recent
        visitor beyond `visitors` goes)."""
        example = (np.asarray(digit, np.uint8).reshape(28, 28).copy(), int(label))
        with self._lock:
            held = self._held.setdefault(key, [])
            held.append(example)
            del held[:-self.examples]
            self._held.move_to_end(key)
            while len(self._held) > self.visitors:
                self._held.popitem(last=False)

    def taught(self, key: str | None) -> Taught | None:
        """This key's examples (None for none), and it counts as recently used."""
        if not key:
            return None
        with self._lock:
            held = self._held.get(key)
            if not held:
                return None
            self._held.move_to_end(key)
            held = list(held)
        return Taught(np.stack([digit for digit, _ in held]), np.array([label for _, label in held], np.int16))

    def rebuild(self, examples: Iterable[tuple[str, np.ndarray, int]]) -> int:
        """Start again from (key, digit, label) oldest first (the feedback store's samples); returns
        how many keys are held."""
        with self._lock:
            self._held.clear()
        for key, digit, label in examples:
            self.teach(key, digit, label)
        return len(self)

    def __len__(self) -> int:
        return len(self._held)


def recall(knn: DeformationNeighbours, features: np.ndarray, taught: Taught | None,
           choice: MemoryChoice = CHOICE, yours: bool = True, found: Neighbourhood | None = None
           ) -> list[Recalled | None]:
    """For each row of features (the jury's front's output), the example it comes near enough to
    take into the vote, or None. found: the k-NN's neighbourhood of those rows, when the reading
    searched already."""
    if taught is None or not len(taught) or choice.weight <= 0:
        return [None] * len(features)
    return [example if example.nearness <= choice.near else None
            for example in nearest_taught(knn, features, taught, yours, found)]


def nearest_taught(knn: DeformationNeighbours, features: np.ndarray, taught: Taught,
                   yours: bool = True, found: Neighbourhood | None = None) -> list[Recalled]:
    """For each row of features, the example nearest by IDM and how near it is, relative to the
    nearest of the k-NN's first REFERENCES candidates (what training.memory_choice measures).
    found: the k-NN's neighbourhood of those rows (its candidates and the IDM distances its vote
    measured), else the k-NN searches here."""
    features = np.asarray(features, np.float32)
    examples = taught.prepared(knn.levels).deskewed
    pixels = features[:, :knn.pixels]
    to_references = knn.nearest_reference(features, REFERENCES, found)
    nearest = []
    for row, query in enumerate(pixels):
        shortlist = np.argsort(np.square(examples - query).sum(axis=1))[:SHORTLIST]
        distances = knn.idm_to(query, examples[shortlist])
        best = int(shortlist[np.argmin(distances)])
        image = np.rint(examples[best].reshape(28, 28) * 255).astype(np.uint8)
        nearest.append(Recalled(int(taught.labels[best]), image,
                                float(distances.min() / max(float(to_references[row]), 1e-9)), yours))
    return nearest


def quantised(pixels: np.ndarray, levels: int) -> np.ndarray:
    """Pixels in 0..1 kept in `levels` grey levels, as the k-NN keeps its references."""
    return np.rint(np.asarray(pixels, np.float32) * (levels - 1)) / (levels - 1)


def blended(voted: np.ndarray, label: int, weight: float = CHOICE.weight) -> np.ndarray:
    """The jury's (calibrated) ten probabilities with the visitor's example's digit taken in."""
    taught = np.zeros_like(voted)
    taught[label] = 1.0
    return (1 - weight) * voted + weight * taught
