"""Pictures in, readings out: the one preprocessing function plus the trained jury."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace

import numpy as np

from digit.reading.images import ImageInput
from digit.jurors import KNN_NAME
from digit.jury import Jury
from digit.neighbours import ORIGINS, ExtraReferences, Neighbourhood
from digit.reading.prediction import Neighbour, Prediction
from digit.reading.preprocess import Normalized, normalize
from digit.stroke_features import RawStrokes
from digit.stroke_juror import STROKES_NAME, StrokeJuror
from digit.live.memory import Recalled, Taught, blended, recall

NEIGHBOURS = 5  # training digits shown as the k-NN's reasons


@dataclass(frozen=True)
class Confirmed:
    """Corrections other visitors confirmed, as every reading consults them (digit/live/references.py):
    references of the k-NN beside its fitted ones, and the same digits as examples that a reading
    near one takes into the vote, as a visitor's own do (digit/live/memory.py)."""

    references: ExtraReferences
    examples: Taught  # prepared: their deskewed pixels made once

    def __len__(self) -> int:
        return len(self.examples)


class Classifier:
    """The trained jury behind two doors: pictures one at a time (`predict`), for the app
    and the CLI, and normalised 28x28 digits in batches (`predict_proba`,
    `juror_probabilities`), for training and evaluation. With a stroke juror, a picture that
    comes with its strokes (the pad's) is read by it too (digit/stroke_juror.py)."""

    def __init__(self, jury: Jury, version: str = "unknown", live: Confirmed | None = None,
                 stroke_juror: StrokeJuror | None = None):
        """live: corrections others confirmed, consulted beside what the jury learned. stroke_juror:
        reads the pad's strokes beside the jury (digit/stroke_juror.py)."""
        self.jury = jury
        self.version = version
        self.live = live
        self.stroke_juror = stroke_juror

    def juror_probabilities(self, pixels: np.ndarray, only: Iterable[str] | None = None) -> dict[str, np.ndarray]:
        """Each juror's probabilities for a batch of normalised digits, (n, 28, 28) or (n, 784)."""
        if self.live is None:
            return self.jury.juror_probabilities(pixels, only)
        return self._probabilities(self.jury.features(pixels), only)

    def predict_proba(self, pixels: np.ndarray) -> np.ndarray:
        """The jury's probabilities for a batch of normalised digits, (n, 10)."""
        if self.live is None:
            return self.jury.predict_proba(pixels)
        return self.voted(self.jury.features(pixels))[1]

    def voted(self, features: np.ndarray, memory: Taught | None = None
              ) -> tuple[dict[str, np.ndarray], np.ndarray, list[Neighbour | None]]:
        """From the front's output: each juror's probabilities, the vote, and per row the example
        (the visitor's own in memory, or a confirmed correction) that took part in it."""
        return self._voted(features, memory)[:3]

    def _voted(self, features: np.ndarray, memory: Taught | None = None
               ) -> tuple[dict[str, np.ndarray], np.ndarray, list[Neighbour | None], Neighbourhood | None]:
        """voted, and what the k-NN's one search found (None without a k-NN), for the neighbours shown."""
        by_juror, found = self._with_neighbourhood(features)
        voted = self.jury.vote(by_juror)
        recalled = self._recalled(features, memory, found)
        for index, example in enumerate(recalled):
            if example is not None:
                voted[index] = blended(voted[index], example.label)
        return by_juror, voted, recalled, found

    def _probabilities(self, features: np.ndarray, only: Iterable[str] | None = None) -> dict[str, np.ndarray]:
        """Each juror's probabilities from the front's output, the k-NN's with the live references."""
        return self._with_neighbourhood(features, only)[0]

    def _with_neighbourhood(self, features: np.ndarray, only: Iterable[str] | None = None
                            ) -> tuple[dict[str, np.ndarray], Neighbourhood | None]:
        """_probabilities, and the k-NN's neighbourhood of each row (its one search: the vote, the
        neighbours shown, the live references its candidates hold)."""
        names = list(self.jury.jurors_) if only is None else list(only)
        knn = self.jury.jurors_.get(KNN_NAME) if KNN_NAME in names else None
        by_juror = self.jury.probabilities_of_features(features, [name for name in names
                                                                  if name != KNN_NAME or knn is None])
        found = None
        if knn is not None:
            found = knn.neighbourhood(features, None if self.live is None else self.live.references)
            by_juror[KNN_NAME] = found.probabilities
        return {name: by_juror[name] for name in names}, found

    def predict_normalized(self, normalized: Normalized, explain: bool = False, memory: Taught | None = None,
                           strokes: RawStrokes | None = None) -> Prediction:
        """memory: the visitor's own examples: one near enough takes its digit into the vote.
        strokes: the pad's pen path, read by the stroke juror for a single digit."""
        digits = normalized.parts or [normalized.pixels]
        features = self.jury.features(np.stack(digits))
        by_juror, voted, recalled, found = self._voted(features, memory)
        unsure = self.jury.unsure(voted)
        drawn = self.stroke_juror.read(strokes) if self.stroke_juror is not None and not normalized.parts else None
        if drawn is not None:
            pixel_vote = self.jury.raw_vote(by_juror)
            voted = self.stroke_juror.vote(pixel_vote, drawn[None])
            unsure = self.stroke_juror.unsure(voted, pixel_vote, drawn[None])
            if recalled[0] is not None:  # an example near enough still takes its digit into the vote, as above
                voted[0] = blended(voted[0], recalled[0].label)
                unsure = self.jury.unsure(voted)
            by_juror = {**by_juror, STROKES_NAME: drawn[None]}
        nearest = self._neighbours(found) if explain and found is not None else [()] * len(digits)
        readings = tuple(
            Prediction(
                digit=int(np.argmax(voted[index])),
                confidence=float(np.max(voted[index])),
                probabilities=[float(p) for p in voted[index]],
                jurors={name: int(np.argmax(p[index])) for name, p in by_juror.items()},
                view=pixels,
                unsure=bool(unsure[index]),
                juror_probabilities={name: [float(v) for v in p[index]] for name, p in by_juror.items()},
                neighbours=nearest[index] if recalled[index] is None or not explain
                else (recalled[index], *nearest[index][:NEIGHBOURS - 1]),
                recalled=recalled[index],
            )
            for index, pixels in enumerate(digits)
        )
        if len(readings) == 1:
            return replace(readings[0], warning=normalized.warning)
        first = readings[0]
        return Prediction(first.digit, first.confidence, first.probabilities, first.jurors,
                          np.hstack([part.view for part in readings]), readings)

    def _recalled(self, features: np.ndarray, memory: Taught | None,
                  neighbourhood: Neighbourhood | None) -> list[Neighbour | None]:
        """Per digit, the nearer of the visitor's own example and a confirmed correction near
        enough to vote (as a neighbour: the visitor's marked theirs), or None. neighbourhood:
        what the k-NN's search found for these digits (None without a k-NN)."""
        knn = self.jury.jurors_.get(KNN_NAME)
        found: list[Recalled | None] = [None] * len(features)
        if knn is None or neighbourhood is None:
            return found
        if memory is not None:
            found = recall(knn, features, memory, found=neighbourhood)
        if self.live is not None and len(self.live):
            reaching = neighbourhood.reaching
            for row in np.flatnonzero(reaching.any(axis=1)):
                confirmed = recall(knn, features[row:row + 1], self.live.examples.subset(reaching[row]), yours=False,
                                   found=neighbourhood.rows([row]))[0]
                if confirmed is not None and (found[row] is None or confirmed.nearness < found[row].nearness):
                    found[row] = confirmed
        return [None if one is None else Neighbour(one.image, one.label, learned=not one.yours, yours=one.yours)
                for one in found]

    def predict(self, image: ImageInput, explain: bool = False, strokes: RawStrokes | None = None) -> Prediction:
        """Read one picture; raises BadImage (NoDigit when it holds no digit) with a message for
        people. explain: also give the k-NN's closest training digits (found by the search that voted).
        strokes: the pen's path on the pad (Quick, Draw!'s raw format), read by the stroke juror when there is one."""
        return self.predict_normalized(normalize(image), explain, strokes=strokes)

    def _neighbours(self, neighbourhood: Neighbourhood) -> list[tuple[Neighbour, ...]]:
        """The k-NN's closest training digits for each digit read, from the search that voted."""
        knn = self.jury.jurors_[KNN_NAME]
        found = []
        for row in knn.closest(neighbourhood, NEIGHBOURS):
            references = [knn.reference(int(index)) for index in row]
            found.append(tuple(Neighbour(image, label, origin == ORIGINS["feedback"])
                               for image, label, origin in references))
        return found
