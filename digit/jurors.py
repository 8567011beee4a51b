"""The recipe: the jury's feature steps and its three untrained jurors."""

from __future__ import annotations

from sklearn import config_context
from sklearn.base import BaseEstimator
from sklearn.calibration import CalibratedClassifierCV
from sklearn.decomposition import PCA
from sklearn.ensemble import RandomForestClassifier
from sklearn.pipeline import FeatureUnion, Pipeline
from sklearn.svm import SVC

from digit.features import Columns, Deskew, PixelsAndGradients
from digit.jury import Jury
from digit.neighbours import DeformationNeighbours

PIXELS = 28 * 28  # the front's output starts with the deskewed pixels, then the shape features
SHAPE_COMPONENTS = 80
SVC_GAMMA = 2.0 / SHAPE_COMPONENTS  # on unit-variance features: 2x scikit-learn's "scale", chosen on validation


def build_front(components: int = SHAPE_COMPONENTS) -> Pipeline:
    """Deskew, then [pixels | PCA of pixels + gradient histograms].

    The SVC and the forest read the shape features; the k-NN compares the pixels themselves.
    """
    shape = Pipeline([("features", PixelsAndGradients()),
                      ("pca", PCA(n_components=components, svd_solver="covariance_eigh"))])
    return Pipeline([
        ("deskew", Deskew()),
        ("views", FeatureUnion([("pixels", "passthrough"), ("shape", shape)])),
    ])


def build_jurors(svc_c: float = 10.0, forest_trees: int = 25, forest_leaves: int = 1000,
                 n_jobs: int = 2) -> list[tuple[str, BaseEstimator]]:
    """The untrained jurors, sized so that all model files stay under 20 MB.

    The SVC and the forest request sample weights, the k-NN each reference's origin
    (metadata routing).
    """
    with config_context(enable_metadata_routing=True):
        svc = SVC(C=svc_c, gamma=SVC_GAMMA, cache_size=1000).set_fit_request(sample_weight=True)
        # Probabilities from calibration on out-of-fold decisions: SVC(probability=True) is deprecated.
        calibrated = CalibratedClassifierCV(svc, ensemble=False, cv=3, n_jobs=n_jobs).set_fit_request(
            sample_weight=True)
        # A forest grows with its leaves: capping them keeps it a few MB instead of ~190 MB.
        forest = RandomForestClassifier(n_estimators=forest_trees, max_leaf_nodes=forest_leaves, n_jobs=n_jobs,
                                        random_state=0).set_fit_request(sample_weight=True)
        # The k-NN takes no weights; it keeps where each reference came from, to show it.
        knn = DeformationNeighbours(pixels=PIXELS).set_fit_request(origin=True)
    return [
        ("svc", Pipeline([("shape", Columns(PIXELS, unit_variance=True)), ("svc", calibrated)])),
        ("knn", knn),
        ("rf", Pipeline([("shape", Columns(PIXELS)), ("rf", forest)])),
    ]


def build_jury(**juror_options) -> Jury:
    return Jury(front=build_front(), jurors=build_jurors(**juror_options))
