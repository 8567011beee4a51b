"""The stroke juror: reads how a digit was drawn on the pad, and joins the vote for pad readings.

The pixel jurors share one front (the picture) and err together: a long-flag 1 that looks like
a 7 is a 7 to all three. The pen's path (digit/stroke_features.py) tells them apart where the
pixels do not, and errs elsewhere. For a reading that comes with its strokes the vote becomes

    calibrated((1 - weight) x the pixel jury's raw vote + weight x the stroke juror's, temperature)

and the reading is unsure below `unsure_below`, or (`doubt_disagreement`, as trained) when the
pixel jury and the stroke juror name different digits (the page then asks "7 or 1?"), or when
the pixel jury's own raw vote is below `pixels_unsure_below`: where the pictures of a slanted
long-flag 1 and an upright 7 are alike, their pen paths are alike too, and the stroke juror
agrees with the torn pixel jury at 98 % however wrong. weight, temperature and both thresholds
are chosen on the canvas set's validation part with more writers of its generator, read with
their strokes (training/train_strokes.py). Uploads and API pictures have no
strokes: their reading is the pixel jury's alone.
"""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.calibration import CalibratedClassifierCV
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC
from sklearn.utils.validation import check_is_fitted

from digit.calibration import calibrated
from digit.direct import probabilities
from digit.fast_svc import FastRBFSVC
from digit.stroke_features import BadStrokes, RawStrokes, stroke_features

STROKES_NAME = "strokes"  # its key among the jurors' votes, and what the page calls it


class StrokeJuror(ClassifierMixin, BaseEstimator):
    """A calibrated RBF SVC on the stroke features (rows of `digit.stroke_features.features_of`),
    with how its probabilities join the pixel jury's vote."""

    # A juror saved before the pixel rule existed holds no such attribute: it loads as "no pixel rule".
    pixels_unsure_below = 0.0

    def __init__(self, *, svc_c: float = 10.0, weight: float = 0.5, temperature: float = 1.0,
                 unsure_below: float = 0.0, doubt_disagreement: bool = True, pixels_unsure_below: float = 0.0):
        self.svc_c = svc_c
        self.weight = weight
        self.temperature = temperature
        self.unsure_below = unsure_below
        self.doubt_disagreement = doubt_disagreement
        self.pixels_unsure_below = pixels_unsure_below

    def fit(self, X, y) -> "StrokeJuror":
        svc = SVC(C=self.svc_c, gamma="scale", cache_size=1000)
        self.model_ = Pipeline([("scale", StandardScaler()),
                                ("svc", CalibratedClassifierCV(svc, ensemble=False, cv=3))]).fit(X, y)
        self.classes_ = self.model_.classes_
        return self

    def for_serving(self) -> "StrokeJuror":
        """The fitted SVC as FastRBFSVC: float16 support vectors (a quarter of libsvm's file), the
        same answers, faster for one drawing."""
        check_is_fitted(self)
        for member in self.model_.named_steps["svc"].calibrated_classifiers_:
            if isinstance(member.estimator, SVC):
                member.estimator = FastRBFSVC.from_svc(member.estimator)
        return self

    def predict_proba(self, X) -> np.ndarray:
        check_is_fitted(self)
        # StandardScaler's arithmetic and the calibrated SVC's, without scikit-learn's per-call checks.
        scale, svc = self.model_.named_steps["scale"], self.model_.named_steps["svc"]
        scaled = (np.asarray(X, np.float32) - scale.mean_) / scale.scale_
        return probabilities(svc, scaled.astype(np.float32))

    def predict(self, X) -> np.ndarray:
        return self.classes_[np.argmax(self.predict_proba(X), axis=1)]

    def read(self, strokes: RawStrokes | None) -> np.ndarray | None:
        """The ten probabilities for one drawing's strokes; None when there are none to read."""
        if not strokes:
            return None
        try:
            features = stroke_features(strokes)
        except BadStrokes:  # not a drawing we can read: the pixels alone decide
            return None
        return self.predict_proba(features[None])[0]

    def vote(self, pixel_vote: np.ndarray, strokes: np.ndarray) -> np.ndarray:
        """The calibrated joint vote from the pixel jury's raw (uncalibrated) vote and this juror's
        probabilities, row by row."""
        mixed = (1.0 - self.weight) * np.asarray(pixel_vote) + self.weight * np.asarray(strokes)
        return calibrated(mixed, self.temperature)

    def unsure(self, voted: np.ndarray, pixel_vote: np.ndarray, strokes: np.ndarray) -> np.ndarray:
        """Per row: below the threshold, or (doubt_disagreement) pixels and strokes name different digits,
        or the pixel jury's raw vote below its own threshold."""
        doubted = (np.max(voted, axis=1) < self.unsure_below) | (np.max(pixel_vote, axis=1) < self.pixels_unsure_below)
        if self.doubt_disagreement:
            doubted |= np.argmax(pixel_vote, axis=1) != np.argmax(strokes, axis=1)
        return doubted
