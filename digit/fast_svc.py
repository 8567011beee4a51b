"""A fitted RBF SVC's decision function as two matrix products, for one digit at a time.

libsvm computes the kernel with a plain loop over the support vectors (~2.6 us each for 588
numbers on this machine); NumPy's BLAS does the same kernel row in a fraction of that. The
file keeps the support vectors in float16 (a quarter of libsvm's float64): their values are
in 0..1.5, where float16 keeps 3 significant digits.
"""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.svm import SVC
# scikit-learn's private one-vs-one vote, the very function SVC.decision_function ends with: the same
# answers by construction (tests/test_fast_svc.py compares them with the SVC it was made from).
from sklearn.utils.multiclass import _ovr_decision_function
from sklearn.utils.validation import check_is_fitted

from digit.float_rows import Float32Rows


class FastRBFSVC(Float32Rows, ClassifierMixin, BaseEstimator):
    """The decision function of a fitted SVC(kernel="rbf"), one-vs-one votes turned into
    one-vs-rest scores as SVC(decision_function_shape="ovr") does. Not trainable: `from_svc`."""

    def fit(self, X, y):
        raise NotImplementedError("build it from a fitted SVC with FastRBFSVC.from_svc")

    @classmethod
    def from_svc(cls, svc: SVC) -> "FastRBFSVC":
        if svc.kernel != "rbf":
            raise ValueError("only the RBF kernel")
        fast = cls()
        fast.classes_ = svc.classes_
        fast.gamma_ = float(svc._gamma)
        fast.support_vectors_ = svc.support_vectors_.astype(np.float16)
        n_classes = len(svc.classes_)
        starts = np.concatenate([[0], np.cumsum(svc.n_support_)])
        pairs = [(i, j) for i in range(n_classes) for j in range(i + 1, n_classes)]
        # One column per pair (i, j): the coefficients of i's support vectors against j, and j's against i.
        coefficients = np.zeros((len(svc.support_vectors_), len(pairs)), np.float32)
        for column, (i, j) in enumerate(pairs):
            coefficients[starts[i]:starts[i + 1], column] = svc.dual_coef_[j - 1, starts[i]:starts[i + 1]]
            coefficients[starts[j]:starts[j + 1], column] = svc.dual_coef_[i, starts[j]:starts[j + 1]]
        fast.coefficients_ = coefficients
        fast.intercept_ = svc.intercept_.astype(np.float32)
        fast.n_features_in_ = svc.support_vectors_.shape[1]
        return fast

    def one_vs_one(self, X) -> np.ndarray:
        check_is_fitted(self)
        X = np.atleast_2d(np.asarray(X, dtype=np.float32))
        vectors, norms = self._float32_rows(self.support_vectors_)
        squared = np.maximum(norms[None, :] - 2.0 * (X @ vectors.T) + np.einsum("ij,ij->i", X, X)[:, None], 0)
        return np.exp(-self.gamma_ * squared) @ self.coefficients_ + self.intercept_

    def decision_function(self, X) -> np.ndarray:
        decisions = self.one_vs_one(X).astype(np.float64)
        return _ovr_decision_function(decisions < 0, -decisions, len(self.classes_))

    def predict(self, X) -> np.ndarray:
        scores = self.decision_function(X)  # checks it is fitted before classes_ is read
        return self.classes_[np.argmax(scores, axis=1)]
