"""The jury's features and its jurors' probabilities computed straight from fitted estimators.

For one digit, scikit-learn spends most of a call on checks and dispatch, not arithmetic:
~1.3 ms in the forest's `predict_proba` (25 trees through joblib, a warnings filter per
tree), ~1.5 ms around the SVC's calibration (ten calibrators, each validating its column),
~0.7 ms in the front's FeatureUnion (joblib again). The same arithmetic on the same arrays
takes a tenth of that. `transformed` and `probabilities` do it for the estimators the jury
holds and hand anything else to the estimator's own method; tests/test_direct.py checks
them against scikit-learn's answers.
"""

from __future__ import annotations

import numpy as np
from scipy.sparse import issparse
from scipy.special import expit
# _SigmoidCalibration is private: it is only recognised here (a calibrator of another type, e.g. isotonic,
# is handed to scikit-learn), and tests/test_direct.py compares the figures with scikit-learn's own.
from sklearn.calibration import CalibratedClassifierCV, _SigmoidCalibration
from sklearn.ensemble import RandomForestClassifier
from sklearn.pipeline import FeatureUnion, Pipeline


def transformed(estimator, X: np.ndarray) -> np.ndarray:
    """estimator.transform(X), the same figures, without the per-call dispatch."""
    if isinstance(estimator, Pipeline):
        return _through(estimator.steps, X)
    if isinstance(estimator, FeatureUnion) and estimator.transformer_weights is None:
        return np.hstack([_step(part, X) for _, part in estimator.transformer_list if part != "drop"])
    return estimator.transform(X)


def _step(step, X: np.ndarray) -> np.ndarray:
    return X if step is None or step == "passthrough" else transformed(step, X)


def _through(steps: list[tuple[str, object]], X: np.ndarray) -> np.ndarray:
    """X through a pipeline's (name, step) pairs in order."""
    for _, step in steps:
        X = _step(step, X)
    return X


def probabilities(estimator, X: np.ndarray) -> np.ndarray:
    """estimator.predict_proba(X), the same figures, without the per-call checks."""
    if issparse(X):
        return estimator.predict_proba(X)
    if isinstance(estimator, Pipeline):
        return probabilities(estimator.steps[-1][1], _through(estimator.steps[:-1], X))
    if isinstance(estimator, RandomForestClassifier) and estimator.n_outputs_ == 1:
        return _forest(estimator, X)
    if _plain_sigmoid_calibration(estimator):
        return _calibrated(estimator, X)
    return estimator.predict_proba(X)


def _forest(forest: RandomForestClassifier, X: np.ndarray) -> np.ndarray:
    """The mean of the trees' leaf class fractions (scikit-learn stores them normalised)."""
    X = np.ascontiguousarray(X, dtype=np.float32)  # what the trees are evaluated on
    total = np.zeros((len(X), forest.n_classes_))
    for tree in forest.estimators_:
        total += tree.tree_.predict(X)[:, :forest.n_classes_]
    return total / len(forest.estimators_)


def _plain_sigmoid_calibration(estimator) -> bool:
    """One calibrated model (ensemble=False) that has a decision function, sigmoid calibrators,
    more than two classes, and its classes in the calibration's order: what `_calibrated` computes."""
    if not isinstance(estimator, CalibratedClassifierCV) or len(getattr(estimator, "calibrated_classifiers_", [])) != 1:
        return False
    member = estimator.calibrated_classifiers_[0]
    return (member.method == "sigmoid" and len(member.classes) > 2 and hasattr(member.estimator, "decision_function")
            and all(isinstance(calibrator, _SigmoidCalibration) for calibrator in member.calibrators)
            and np.array_equal(member.estimator.classes_, member.classes))


def _calibrated(estimator: CalibratedClassifierCV, X: np.ndarray) -> np.ndarray:
    """Each class's decision through its sigmoid, normalised to sum to one (uniform when all
    are zero), as scikit-learn's _CalibratedClassifier does."""
    member = estimator.calibrated_classifiers_[0]
    decisions = member.estimator.decision_function(X)
    if decisions.ndim != 2 or decisions.shape[1] != len(member.calibrators):  # e.g. one-vs-one decisions
        return estimator.predict_proba(X)
    a = np.array([calibrator.a_ for calibrator in member.calibrators])
    b = np.array([calibrator.b_ for calibrator in member.calibrators])
    proba = expit(-(a * decisions + b))
    total = proba.sum(axis=1, keepdims=True)
    proba = np.divide(proba, total, out=np.full_like(proba, 1 / proba.shape[1]), where=total != 0)
    proba[(1.0 < proba) & (proba <= 1.0 + 1e-5)] = 1.0
    return proba
