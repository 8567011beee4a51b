import numpy as np
from sklearn.svm import SVC

from digit.fast_svc import FastRBFSVC
from digit.features import GradientDirections


def test_fast_svc_answers_as_libsvm_does():
    rng = np.random.default_rng(0)
    X = rng.random((300, 20)).astype(np.float32)
    y = rng.integers(0, 4, 300)
    X[np.arange(300), y] += 1.0  # learnable
    svc = SVC(C=10, gamma=0.1, decision_function_shape="ovo").fit(X, y)
    fast = FastRBFSVC.from_svc(svc)
    queries = rng.random((50, 20)).astype(np.float32)
    # float16 support vectors: the one-vs-one decisions agree closely (a decision within that of
    # zero may flip one vote of the one-vs-rest scores, so those are not compared exactly).
    assert np.abs(fast.one_vs_one(queries) - svc.decision_function(queries)).max() < 1e-2
    assert np.mean(fast.predict(queries) == svc.predict(queries)) >= 0.95


def test_gradient_directions_one_digit_as_in_a_batch():
    rng = np.random.default_rng(1)
    digits = np.zeros((3, 28, 28), np.float32)
    digits[:, 4:24, 12:16] = rng.random((3, 20, 4))
    features = GradientDirections().transform(digits.reshape(3, -1))
    assert features.shape == (3, 12 * 7 * 7)
    assert np.allclose(GradientDirections().transform(digits[1].reshape(1, -1)), features[1:2], atol=1e-6)
