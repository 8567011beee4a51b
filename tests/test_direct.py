"""The direct computations (digit/direct.py) give scikit-learn's answers: on the shipped jury,
and on estimators as training fits them (libsvm's SVC, a fresh forest), one digit or many."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.calibration import CalibratedClassifierCV
from sklearn.ensemble import RandomForestClassifier
from sklearn.pipeline import FeatureUnion, Pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC

from digit.direct import probabilities, transformed


def test_the_shipped_jury_reads_the_same_figures_as_scikit_learn(classifier, validation_digits):
    images, _ = validation_digits
    jury = classifier.jury
    rows = images.reshape(len(images), -1)
    features = jury.front_.transform(rows).astype(np.float32)
    np.testing.assert_array_equal(transformed(jury.front_, rows).astype(np.float32), features)
    for name, juror in jury.jurors_.items():
        for batch in (features[:1], features):  # one digit, as the app asks; many, as training does
            np.testing.assert_allclose(probabilities(juror, batch), juror.predict_proba(batch), rtol=0, atol=1e-12,
                                       err_msg=name)


@pytest.fixture(scope="module")
def digits(mnist):
    pixels = mnist.train.images[:400].reshape(400, -1).astype(np.float32) / 255
    return pixels, mnist.train.labels[:400], mnist.validation.images[:50].reshape(50, -1).astype(np.float32) / 255


@pytest.mark.parametrize("model, computed", [
    (CalibratedClassifierCV(SVC(), ensemble=False, cv=3), True),
    (Pipeline([("scale", StandardScaler()), ("svc", CalibratedClassifierCV(SVC(), ensemble=False, cv=3))]), True),
    (RandomForestClassifier(n_estimators=5, max_leaf_nodes=50, random_state=0), True),
    (CalibratedClassifierCV(SVC(), ensemble=False, cv=3, method="isotonic"), False),
    (CalibratedClassifierCV(SVC(), ensemble=True, cv=3), False),  # three calibrated models
    (CalibratedClassifierCV(RandomForestClassifier(n_estimators=3, random_state=0), ensemble=False, cv=3), False),
], ids=["calibrated SVC", "pipeline", "forest", "isotonic", "ensemble", "no decision function"])
def test_estimators_as_training_fits_them_read_the_same(digits, model, computed):
    pixels, labels, queries = digits
    model.fit(pixels, labels)
    expected = model.predict_proba(queries)
    if computed:  # the figures must come from the arrays, not from scikit-learn's method
        last = model.steps[-1][1] if isinstance(model, Pipeline) else model
        last.predict_proba = lambda X: pytest.fail("handed over to predict_proba")
    np.testing.assert_allclose(probabilities(model, queries), expected, rtol=0, atol=1e-12)


def test_two_classes_are_handed_over_to_scikit_learn(digits):
    pixels, labels, queries = digits
    two = np.isin(labels, (3, 8))
    model = CalibratedClassifierCV(SVC(), ensemble=False, cv=3).fit(pixels[two], labels[two])
    np.testing.assert_allclose(probabilities(model, queries), model.predict_proba(queries), rtol=0, atol=1e-12)


def test_a_feature_union_with_weights_is_handed_over(digits):
    pixels, _, _ = digits
    union = FeatureUnion([("a", StandardScaler()), ("b", "passthrough")], transformer_weights={"a": 2.0}).fit(pixels)
    np.testing.assert_array_equal(transformed(union, pixels), union.transform(pixels))
