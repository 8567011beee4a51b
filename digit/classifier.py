"""Pictures in, readings out: the one preprocessing function plus the trained jury."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace

import numpy as np

from digit.images import ImageInput
from digit.jurors import KNN_NAME
from digit.jury import Jury
from digit.neighbours import ORIGINS
from digit.prediction import Neighbour, Prediction
from digit.preprocess import Normalized, normalize
from digit.stroke_features import RawStrokes
from digit.stroke_juror import STROKES_NAME, StrokeJuror

NEIGHBOURS = 5  # training digits shown as the k-NN's reasons


class Classifier:
    """The trained jury behind two doors: pictures one at a time (`predict`), for the app
    and the CLI, and normalised 28x28 digits in batches (`predict_proba`,
    `juror_probabilities`), for training and evaluation. With a stroke juror, a picture that
    comes with its strokes (the pad's) is read by it too (digit/stroke_juror.py)."""

    def __init__(self, jury: Jury, version: str = "unknown", stroke_juror: StrokeJuror | None = None):
        self.jury = jury
        self.version = version
        self.stroke_juror = stroke_juror

    def juror_probabilities(self, pixels: np.ndarray, only: Iterable[str] | None = None) -> dict[str, np.ndarray]:
        """Each juror's probabilities for a batch of normalised digits, (n, 28, 28) or (n, 784)."""
        return self.jury.juror_probabilities(pixels, only)

    def predict_proba(self, pixels: np.ndarray) -> np.ndarray:
        """The jury's probabilities for a batch of normalised digits, (n, 10)."""
        return self.jury.predict_proba(pixels)

    def predict_normalized(self, normalized: Normalized, explain: bool = False,
                           strokes: RawStrokes | None = None) -> Prediction:
        digits = normalized.parts or [normalized.pixels]
        features = self.jury.features(np.stack(digits))
        by_juror = self.jury.probabilities_of_features(features)
        # The strokes are one drawing's: they join the vote for a single digit only.
        drawn = self.stroke_juror.read(strokes) if self.stroke_juror is not None and not normalized.parts else None
        if drawn is None:
            voted = self.jury.vote(by_juror)
            unsure = self.jury.unsure(voted)
        else:
            pixel_vote = self.jury.raw_vote(by_juror)
            voted = self.stroke_juror.vote(pixel_vote, drawn[None])
            unsure = self.stroke_juror.unsure(voted, pixel_vote, drawn[None])
            by_juror = {**by_juror, STROKES_NAME: drawn[None]}
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
                neighbours=nearest[index],
            )
            for index, pixels in enumerate(digits)
        )
        if len(readings) == 1:
            return replace(readings[0], warning=normalized.warning)
        first = readings[0]
        return Prediction(first.digit, first.confidence, first.probabilities, first.jurors,
                          np.hstack([part.view for part in readings]), readings)

    def predict(self, image: ImageInput, explain: bool = False, strokes: RawStrokes | None = None) -> Prediction:
        """Read one picture; raises BadImage (NoDigit when it holds no digit) with a message for
        people. explain: also find the k-NN's closest training digits (~2 ms more). strokes: the
        pen's path on the pad (Quick, Draw!'s raw format), read by the stroke juror when there is one."""
        return self.predict_normalized(normalize(image), explain, strokes)

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
