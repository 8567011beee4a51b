"""The jury: jurors reading shared features of a digit, voting with their probabilities."""

from __future__ import annotations

from collections.abc import Iterable
from contextlib import contextmanager

import numpy as np
from joblib import parallel_config
from sklearn import config_context
from sklearn.base import BaseEstimator, ClassifierMixin, MetaEstimatorMixin, clone
from sklearn.utils.metadata_routing import MetadataRouter, MethodMapping, process_routing
from sklearn.utils.validation import check_is_fitted

from digit.calibration import calibrated
from digit.direct import probabilities, transformed


@contextmanager
def _fitting():
    """Fitting's settings, whatever the caller's: metadata routing on, and the jurors' parallel parts
    (the SVC's calibration folds) in threads: libsvm fits without the GIL, where each of joblib's
    worker processes would first import scikit-learn and be sent a copy of the digits (a small
    training took 7.2 s of CPU instead of 4.0, the same probabilities)."""
    with config_context(enable_metadata_routing=True), parallel_config(prefer="threads"):
        yield


class Jury(ClassifierMixin, MetaEstimatorMixin, BaseEstimator):
    """Soft voting like VotingClassifier(voting="soft"), over features computed once.

    VotingClassifier hands every juror the raw input; ours read views of one set of
    features (deskewed pixels, gradient histograms, PCA), so `front` computes them once
    for all. Input rows are flat 28x28 digits (n, 784) as `digit.reading.preprocess` makes them.
    Sample weights given to `fit` reach the jurors that request them (metadata routing).

    weights, temperature and unsure_below are chosen on validation once the jurors are fitted
    (training/train.py): the vote's weights, the temperature that calibrates it
    (digit/calibration.py) and the calibrated confidence below which a reading is unsure.
    """

    def __init__(self, *, front: BaseEstimator, jurors: list[tuple[str, BaseEstimator]],
                 weights: list[float] | None = None, temperature: float = 1.0, unsure_below: float = 0.0):
        self.front = front
        self.jurors = jurors
        self.weights = weights
        self.temperature = temperature
        self.unsure_below = unsure_below

    def __setstate__(self, state: dict) -> None:
        # A jury saved before calibration existed (an older promotion on the Hub) votes as it did, never unsure.
        super().__setstate__({"temperature": 1.0, "unsure_below": 0.0, **state})

    def fit(self, X, y, **fit_params) -> "Jury":
        if self.weights is not None and len(self.weights) != len(self.jurors):
            raise ValueError(f"{len(self.weights)} weights for {len(self.jurors)} jurors")
        with _fitting():
            routed = process_routing(self, "fit", **fit_params)
            self.front_ = clone(self.front).fit(np.asarray(X).reshape(len(X), -1))
            features = self.features(X)
            self.jurors_ = {name: clone(juror).fit(features, y, **routed[name].fit) for name, juror in self.jurors}
        self.classes_ = np.unique(y)
        return self

    def refit(self, names: Iterable[str], X, y, **fit_params) -> "Jury":
        """Fit the named jurors again on (X, y), keeping the others and the weights: the last
        stage of training gives the jurors that fit in seconds the digits used to choose."""
        check_is_fitted(self)
        names = set(names)
        with _fitting():
            routed = process_routing(self, "fit", **fit_params)
            features = self.features(X)
            for name, juror in self.jurors:
                if name in names:
                    self.jurors_[name] = clone(juror).fit(features, y, **routed[name].fit)
        return self

    def get_metadata_routing(self) -> MetadataRouter:
        router = MetadataRouter(owner=self)
        for name, juror in self.jurors:
            router.add(**{name: juror}, method_mapping=MethodMapping().add(caller="fit", callee="fit"))
        return router

    def features(self, X) -> np.ndarray:
        """The front's output, the jurors' input: [deskewed pixels | shape features]."""
        check_is_fitted(self, "front_")
        return transformed(self.front_, np.asarray(X).reshape(len(X), -1)).astype(np.float32)

    def juror_probabilities(self, X, only: Iterable[str] | None = None) -> dict[str, np.ndarray]:
        """Each juror's class probabilities for each row of X (only the named jurors, if given)."""
        check_is_fitted(self)
        return self.probabilities_of_features(self.features(X), only)

    def probabilities_of_features(self, features: np.ndarray, only: Iterable[str] | None = None) -> dict[str, np.ndarray]:
        """As juror_probabilities, from the front's output (when the caller needs it too)."""
        names = list(self.jurors_) if only is None else list(only)
        return {name: probabilities(self.jurors_[name], features) for name in names}

    def vote(self, by_juror: dict[str, np.ndarray]) -> np.ndarray:
        """The weighted mean of the jurors' probabilities, calibrated by the temperature."""
        return calibrated(self.raw_vote(by_juror), self.temperature)

    def raw_vote(self, by_juror: dict[str, np.ndarray]) -> np.ndarray:
        """The weighted mean of the jurors' probabilities, as the temperature is fitted on."""
        return np.average(np.stack([by_juror[name] for name in self.jurors_]), axis=0, weights=self.weights)

    def unsure(self, voted: np.ndarray) -> np.ndarray:
        """Per row of the (calibrated) vote: is its confidence below the threshold chosen on validation?"""
        return np.max(voted, axis=1) < self.unsure_below

    def predict_proba(self, X) -> np.ndarray:
        return self.vote(self.juror_probabilities(X))

    def predict(self, X) -> np.ndarray:
        scores = self.predict_proba(X)  # checks it is fitted before classes_ is read
        return self.classes_[np.argmax(scores, axis=1)]
