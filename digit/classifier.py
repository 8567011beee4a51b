"""Pictures in, readings out: the one preprocessing function plus the trained jury."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace

import numpy as np

from digit.images import ImageInput
from digit.jurors import KNN_NAME
from digit.jury import Jury
from digit.neighbours import ORIGINS, ExtraReferences
from digit.prediction import Neighbour, Prediction
from digit.preprocess import Normalized, normalize
from digit.visitor_memory import Taught, blended, recall

NEIGHBOURS = 5  # training digits shown as the k-NN's reasons


class Classifier:
    """The trained jury behind two doors: pictures one at a time (`predict`), for the app
    and the CLI, and normalised 28x28 digits in batches (`predict_proba`,
    `juror_probabilities`), for training and evaluation."""

    def __init__(self, jury: Jury, version: str = "unknown", live: ExtraReferences | None = None):
        """live: references the k-NN consults beside its fitted ones (corrections others
        confirmed: digit/live_references.py)."""
        self.jury = jury
        self.version = version
        self.live = live

    def juror_probabilities(self, pixels: np.ndarray, only: Iterable[str] | None = None) -> dict[str, np.ndarray]:
        """Each juror's probabilities for a batch of normalised digits, (n, 28, 28) or (n, 784)."""
        if self.live is None:
            return self.jury.juror_probabilities(pixels, only)
        return self._probabilities(self.jury.features(pixels), only)

    def predict_proba(self, pixels: np.ndarray) -> np.ndarray:
        """The jury's probabilities for a batch of normalised digits, (n, 10)."""
        if self.live is None:
            return self.jury.predict_proba(pixels)
        return self.jury.vote(self.juror_probabilities(pixels))

    def _probabilities(self, features: np.ndarray, only: Iterable[str] | None = None) -> dict[str, np.ndarray]:
        """Each juror's probabilities from the front's output, the k-NN's with the live references."""
        names = list(self.jury.jurors_) if only is None else list(only)
        by_juror = self.jury.probabilities_of_features(features, [name for name in names if name != KNN_NAME or
                                                                  self.live is None])
        if self.live is not None and KNN_NAME in names:
            by_juror[KNN_NAME] = self.jury.jurors_[KNN_NAME].predict_proba_with(features, self.live)
        return {name: by_juror[name] for name in names}

    def predict_normalized(self, normalized: Normalized, explain: bool = False, memory: Taught | None = None) -> Prediction:
        """memory: the visitor's own examples: one near enough takes its digit into the vote."""
        digits = normalized.parts or [normalized.pixels]
        features = self.jury.features(np.stack(digits))
        by_juror = self._probabilities(features)
        voted = self.jury.vote(by_juror)
        recalled = self._recalled(features, memory)
        for index, found in enumerate(recalled):
            if found is not None:
                voted[index] = blended(voted[index], found.label)
        unsure = self.jury.unsure(voted)
        nearest = self._neighbours(features) if explain else [()] * len(digits)
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

    def _recalled(self, features: np.ndarray, memory: Taught | None) -> list[Neighbour | None]:
        """Per digit, the visitor's own example near enough to vote (shown as theirs), or None."""
        knn = self.jury.jurors_.get(KNN_NAME)
        if memory is None or knn is None:
            return [None] * len(features)
        return [None if found is None else Neighbour(found.image, found.label, False, yours=True)
                for found in recall(knn, features, memory)]

    def predict(self, image: ImageInput, explain: bool = False) -> Prediction:
        """Read one picture; raises BadImage (NoDigit when it holds no digit) with a message for
        people. explain: also find the k-NN's closest training digits (~2 ms more)."""
        return self.predict_normalized(normalize(image), explain)

    def _neighbours(self, features: np.ndarray) -> list[tuple[Neighbour, ...]]:
        knn = self.jury.jurors_.get(KNN_NAME)
        if knn is None:
            return [()] * len(features)
        indices, _ = knn.nearest(features, NEIGHBOURS)
        found = []
        for row in indices:
            references = [knn.reference(int(index)) for index in row]
            found.append(tuple(Neighbour(image, label, origin == ORIGINS["feedback"])
                               for image, label, origin in references))
        return found
