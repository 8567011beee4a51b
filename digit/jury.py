"""The jury: three classical models voting with their probabilities on one digit."""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
from sklearn.calibration import CalibratedClassifierCV
from sklearn.decomposition import PCA
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.ensemble import RandomForestClassifier
from sklearn.pipeline import FeatureUnion, Pipeline
from sklearn.svm import SVC

from digit.features import Columns, Deskew, PixelsAndGradients
from digit.neighbours import DeformationNeighbours
from digit.preprocess import BadImage, ImageInput, Normalized, normalize

JURORS = ("svc", "knn", "rf")


class NoDigit(BadImage):
    """The image was read but holds no digit (blank canvas, white page, noise)."""


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
        if self.warning:
            result["warning"] = self.warning
        if self.parts:
            result["number"] = self.number
            result["digits"] = [{"digit": part.digit, "confidence": round(part.confidence, 6),
                                 "jurors": dict(part.jurors)} for part in self.parts]
        return result


class Jury(ClassifierMixin, BaseEstimator):
    """Soft voting like VotingClassifier(voting="soft"), over jurors that may be fitted apart.

    VotingClassifier refits every juror on one training set; we give the SVC extra virtual
    samples and keep k-NN on the plain set (it stores every sample), so training fits the
    jurors itself and hands them over with `from_fitted`. `fit` still fits all on one set.
    """

    def __init__(self, estimators: list[tuple[str, BaseEstimator]], weights: list[float] | None = None):
        self.estimators = estimators
        self.weights = weights

    def fit(self, X, y):
        self.estimators_ = [clone(estimator).fit(X, y) for _, estimator in self.estimators]
        self.classes_ = np.unique(y)
        return self

    @classmethod
    def from_fitted(cls, estimators: list[tuple[str, BaseEstimator]], weights: list[float] | None = None) -> "Jury":
        jury = cls(estimators, weights)
        jury.estimators_ = [estimator for _, estimator in estimators]
        jury.classes_ = estimators[0][1].classes_
        return jury

    @property
    def named_estimators_(self) -> dict[str, BaseEstimator]:
        return {name: fitted for (name, _), fitted in zip(self.estimators, self.estimators_)}

    def juror_probabilities(self, X) -> dict[str, np.ndarray]:
        return {name: estimator.predict_proba(X) for name, estimator in self.named_estimators_.items()}

    def vote(self, by_juror: dict[str, np.ndarray]) -> np.ndarray:
        """The weighted mean of the jurors' probabilities."""
        return np.average(np.stack([by_juror[name] for name, _ in self.estimators]), axis=0, weights=self.weights)

    def predict_proba(self, X) -> np.ndarray:
        return self.vote(self.juror_probabilities(X))

    def predict(self, X) -> np.ndarray:
        return self.classes_[np.argmax(self.predict_proba(X), axis=1)]


PIXELS = 28 * 28  # the front's output starts with the deskewed pixels, then the shape features


def build_front(pca_components: int = 80) -> Pipeline:
    """The shared feature steps: deskew, then [pixels | PCA of pixels + gradient histograms].

    The SVC and the forest read the shape features; the k-NN compares the pixels themselves.
    """
    shape = Pipeline([("features", PixelsAndGradients()),
                      ("pca", PCA(n_components=pca_components, svd_solver="covariance_eigh"))])
    return Pipeline([
        ("deskew", Deskew()),
        ("views", FeatureUnion([("pixels", "passthrough"), ("shape", shape)])),
    ])


def build_jurors(svc_c: float = 10.0, svc_gamma: float | str = "scale", forest_trees: int = 25,
                 forest_leaves: int = 1000, n_jobs: int = 2) -> dict[str, BaseEstimator]:
    """The untrained jurors, sized so that all model files stay under 20 MB."""
    return {
        # Probabilities from calibration on out-of-fold decisions: SVC(probability=True) is deprecated.
        "svc": Pipeline([("shape", Columns(PIXELS)),
                         ("svc", CalibratedClassifierCV(SVC(C=svc_c, gamma=svc_gamma, cache_size=1000),
                                                        ensemble=False, cv=3, n_jobs=n_jobs))]),
        "knn": DeformationNeighbours(pixels=PIXELS),
        # A forest grows with its leaves: capping them keeps it a few MB instead of ~190 MB.
        "rf": Pipeline([("shape", Columns(PIXELS)),
                        ("rf", RandomForestClassifier(n_estimators=forest_trees, max_leaf_nodes=forest_leaves,
                                                      n_jobs=n_jobs, random_state=0))]),
    }


class Classifier:
    """Image in, Prediction out: preprocessing plus the trained jury."""

    def __init__(self, model: Pipeline, version: str = "unknown"):
        self.model = model
        self.version = version
        self._front, self._jury = model[:-1], model[-1]  # sliced once, not per request

    def predict_normalized(self, normalized: Normalized) -> Prediction:
        if normalized.blank:
            raise NoDigit(normalized.message)
        digits = normalized.parts or [normalized.pixels]
        by_juror = self._jury.juror_probabilities(self._front.transform(np.stack(digits).reshape(len(digits), -1)))
        voted = self._jury.vote(by_juror)
        readings = tuple(
            Prediction(
                digit=int(np.argmax(voted[index])),
                confidence=float(np.max(voted[index])),
                probabilities=[float(p) for p in voted[index]],
                jurors={name: int(np.argmax(p[index])) for name, p in by_juror.items()},
                view=pixels,
            )
            for index, pixels in enumerate(digits)
        )
        if len(readings) == 1:
            return replace(readings[0], warning=normalized.message)
        first = readings[0]
        return Prediction(first.digit, first.confidence, first.probabilities, first.jurors,
                          np.hstack([part.view for part in readings]), readings)

    def predict(self, image: ImageInput) -> Prediction:
        """Classify one image; raises BadImage (or NoDigit) with a message for people."""
        return self.predict_normalized(normalize(image))
