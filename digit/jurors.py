"""The recipe: the jury's feature steps and its three untrained jurors.

Chosen on MNIST's validation split and the validation part of our canvas-style set
(`python -m experiments ...` and `python -m experiments.canvas ...` re-run
the comparisons, `topology-weights` the one behind TOPOLOGY_WEIGHT; README "How it works"
gives the figures):
- gradient directions (Liu et al. 2003) under the SVC: 99.45 % alone against 99.30 % for the
  gradient histograms it replaces;
- topology (holes, stroke ends, junctions) beside them: what a canvas digit's shape is made
  of survives flat tops and boxy strokes that pixels and gradients do not;
- the k-NN searches its candidates among the directions and re-ranks 50 of them; it keeps
  MNIST and feedback digits as references and a quarter of the stroke digits
  (`python -m experiments knn-canvas`). With stroke digits among them, fading its vote for
  digits unlike every reference (1-4 typical distances) read MNIST validation no better than
  not (same experiment); stretching each IDM distance by exp(slant x the difference in lean)
  read canvas validation 99.44 % at 0 and 0.5, 99.28 % at 1-4, with no fewer 1s read as 7
  (`python -m experiments knn-slant`). It does neither.
"""

from __future__ import annotations

from dataclasses import dataclass

from sklearn import config_context
from sklearn.base import BaseEstimator
from sklearn.calibration import CalibratedClassifierCV
from sklearn.ensemble import RandomForestClassifier
from sklearn.pipeline import FeatureUnion, Pipeline
from sklearn.svm import SVC

from digit.fast_svc import FastRBFSVC
from digit.features import Columns, Deskew, GradientDirections, Slant
from digit.jury import Jury
from digit.neighbours import DeformationNeighbours
from digit.topology import Topology

@dataclass(frozen=True)
class Juror:
    """One juror as the rest of the project names it: its key in the jury and the model file, and
    what it does (the page's words for it, per language, are in digit/page/languages.py)."""

    name: str
    role: str


SVC_JUROR = Juror("svc", "a calibrated RBF SVC on the gradient directions and topology")
KNN_JUROR = Juror("knn", "3 nearest references re-ranked by image distortion; shown as the reasons")
FOREST_JUROR = Juror("rf", "a random forest on the same features")
JURORS = (SVC_JUROR, KNN_JUROR, FOREST_JUROR)  # the jury's order
SVC_NAME, KNN_NAME, FOREST_NAME = (juror.name for juror in JURORS)

PIXELS = 28 * 28  # the front's output starts with the deskewed pixels,
DIRECTIONS = GradientDirections().n_features  # then the gradient directions (as build_front makes them),
TOPOLOGY_WEIGHT = 0.25  # then the topology features, times this weight (0.1-0.5 read alike on validation)
# then the slant, times this weight: 1.7 is 10 after the SVC's unit-variance scaling (x5.8), the best
# of 0, 3, 10 and 20 for the SVC on validation (`python -m experiments svc-slant`).
SLANT_WEIGHT = 1.7
SVC_GAMMA_FACTOR = 2.0  # times scikit-learn's "scale": 2 / (features x variance), here on unit variance
KNN_ORIGINS = ("mnist", "feedback", "stroke")  # the digits it keeps as references (training marks which strokes)


def build_front(topology_weight: float = TOPOLOGY_WEIGHT, slant_weight: float = SLANT_WEIGHT) -> FeatureUnion:
    """[deskewed pixels | gradient directions | topology | slant]: all but the slant read the
    deskewed digit (the slant is what deskewing takes away)."""
    deskewed = Pipeline([
        ("deskew", Deskew()),
        ("views", FeatureUnion([("pixels", "passthrough"), ("directions", GradientDirections()),
                                ("topology", Topology(weight=topology_weight))])),
    ])
    return FeatureUnion([("deskewed", deskewed), ("slant", Slant(weight=slant_weight))])


def build_jurors(svc_c: float = 10.0, forest_trees: int = 25, forest_leaves: int = 1000, knn_candidates: int = 50,
                 n_jobs: int = 2) -> list[tuple[str, BaseEstimator]]:
    """The untrained jurors, sized so that all model files stay under 20 MB.

    The SVC and the forest request sample weights, the k-NN each digit's origin (metadata
    routing): it keeps MNIST, feedback and stroke digits as references, not other generated ones.
    """
    shape_columns = DIRECTIONS + Topology().n_features
    with config_context(enable_metadata_routing=True):
        svc = SVC(C=svc_c, gamma=SVC_GAMMA_FACTOR / shape_columns, cache_size=2000).set_fit_request(sample_weight=True)
        # Probabilities from calibration on out-of-fold decisions: SVC(probability=True) is deprecated.
        calibrated = CalibratedClassifierCV(svc, ensemble=False, cv=3, n_jobs=n_jobs).set_fit_request(
            sample_weight=True)
        # A forest grows with its leaves: capping them keeps it a few MB instead of ~190 MB.
        forest = RandomForestClassifier(n_estimators=forest_trees, max_leaf_nodes=forest_leaves, n_jobs=n_jobs,
                                        random_state=0).set_fit_request(sample_weight=True)
        knn = DeformationNeighbours(pixels=PIXELS, search=DIRECTIONS, candidates=knn_candidates, n_neighbors=3,
                                    tau=0.2, origins=KNN_ORIGINS).set_fit_request(origin=True)
    return [
        (SVC_NAME, Pipeline([("shape", Columns(PIXELS, unit_variance=True, reference=DIRECTIONS)),
                             (SVC_NAME, calibrated)])),
        (KNN_NAME, knn),
        (FOREST_NAME, Pipeline([("shape", Columns(PIXELS)), (FOREST_NAME, forest)])),
    ]


def build_jury(**juror_options) -> Jury:
    return Jury(front=build_front(), jurors=build_jurors(**juror_options))


def for_serving(jury: Jury) -> Jury:
    """The fitted jury as it is shipped: one thread per juror (a request is one image), and
    the SVC's decision as two matrix products with float16 support vectors (FastRBFSVC: the
    same answers, a quarter of libsvm's file and faster for one digit)."""
    for juror in jury.jurors_.values():
        juror.set_params(**{key: 1 for key in juror.get_params() if key.endswith("n_jobs")})
    calibrated = jury.jurors_[SVC_NAME].named_steps[SVC_NAME]
    for member in calibrated.calibrated_classifiers_:
        if isinstance(member.estimator, SVC):
            member.estimator = FastRBFSVC.from_svc(member.estimator)
    return jury
