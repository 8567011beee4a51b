"""The jury and its hand-written jurors keep scikit-learn's conventions: unfitted, they say so;
weights that do not match the jurors are refused before anything is fitted."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.exceptions import NotFittedError

from digit.fast_svc import FastRBFSVC
from digit.jurors import build_jury, build_jurors
from digit.neighbours import DeformationNeighbours, NearestNeighbours

DIGITS = np.zeros((4, 784), np.uint8)


def test_weights_that_do_not_match_the_jurors_are_refused_before_fitting():
    jury = build_jury().set_params(weights=[1.0, 2.0])
    with pytest.raises(ValueError, match="2 weights for 3 jurors"):
        jury.fit(DIGITS, np.arange(4))
    assert not hasattr(jury, "front_")


@pytest.mark.parametrize("estimator", [build_jury(), NearestNeighbours(), DeformationNeighbours(), FastRBFSVC()],
                         ids=["jury", "nearest", "deformation", "fast-svc"])
def test_an_unfitted_estimator_says_so(estimator):
    with pytest.raises(NotFittedError):
        estimator.predict(DIGITS)


def test_the_jurors_are_the_table_s(classifier):
    assert [name for name, _ in build_jurors()] == list(classifier.jury.jurors_) == ["svc", "knn", "rf"]
