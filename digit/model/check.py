"""A jury is served only after it reads: its structure checked, then reference digits read by a child process.

skops builds only the types it is told to trust, but it trusts every scikit-learn estimator and numpy
function by itself: a jury whose forest was swapped for a constant-7 `DummyClassifier` behind
`FunctionTransformer(np.negative)` loads; so does a tree whose child index points past its nodes
(scikit-learn's tree code does not check it: SIGSEGV on the first reading) or back at its root (an endless
loop). So a loaded jury passes two checks before it replaces the one serving:

1. `check_structure`, in the process (a few ms): only the types digit/jurors.py builds, in the places it
   builds them, and every tree's arrays in range, each node the child of exactly one earlier node (so no loop).
2. `ReadingTrial`: a child process reads the reference digits (REFERENCE_FILE: 60 plain digits of our
   canvas set's validation writers, normalised as the app does: `python -m training.reference_digits`)
   through the page's own path, within a time limit. The jury and each juror must read them at most MARGIN
   below their card's canvas validation figures, and never below FLOOR. A crash or a hang costs only the child.
"""

from __future__ import annotations

import json
import os
import pickle
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from sklearn.calibration import CalibratedClassifierCV, _CalibratedClassifier, _SigmoidCalibration
from sklearn.decomposition import PCA
from sklearn.ensemble import RandomForestClassifier
from sklearn.pipeline import FeatureUnion, Pipeline
from sklearn.preprocessing import FunctionTransformer, StandardScaler
from sklearn.svm import SVC
from sklearn.tree import DecisionTreeClassifier
from sklearn.tree._tree import Tree

from digit.config import PROJECT_DIR
from digit.fast_svc import FastRBFSVC
from digit.jurors import FOREST_NAME, JURORS, KNN_NAME, SVC_NAME
from digit.features import Columns, Deskew, GradientDirections, Slant
from digit.jury import Jury
from digit.neighbours import DeformationNeighbours, NearestNeighbours
from digit.stroke_features import N_FEATURES, features_of
from digit.stroke_juror import StrokeJuror
from digit.topology import Topology

if TYPE_CHECKING:  # the child that reads the reference digits imports this module: no Hub client there
    from digit.model.card import ModelCard

# Shipped beside the jury, read from the project, never from MODEL_DIR: a model must not bring its own exam.
REFERENCE_FILE = PROJECT_DIR / "models" / "reference_digits.npz"
READ_SECONDS = 30.0  # the child takes ~2 s (mostly imports); a loaded machine may take a few times that
MARGIN = 0.10  # 60 digits: 10 points is ~3.5 standard deviations for a juror at 95 %
FLOOR = 0.80  # whatever its card claims: every jury we train reads these plain digits better (the tests' small
# jury, 800 MNIST digits: 88-100 % per juror)
NAMES = [juror.name for juror in JURORS]  # in the jury's order
DIGITS = np.arange(10)

# Every type a jury from digit/jurors.py holds (the sklearn ones beyond TRUSTED_TYPES are what skops trusts
# by itself); `check_structure` then says where each may be. SVC is only the unfitted template of the
# calibration: the fitted SVC is shipped as FastRBFSVC.
KNOWN_TYPES = {Jury, Pipeline, FeatureUnion, FunctionTransformer, Deskew, GradientDirections, Topology, Slant, Columns,
               CalibratedClassifierCV, _CalibratedClassifier, _SigmoidCalibration, SVC, FastRBFSVC,
               DeformationNeighbours, NearestNeighbours, PCA, RandomForestClassifier, DecisionTreeClassifier, Tree}
PLAIN_TYPES = (type(None), bool, int, float, str)


class Refused(Exception):
    """The jury is not one we serve; the message says why, for the log."""


# -- 1. structure ---------------------------------------------------------------------------------

def check_structure(jury: object) -> None:
    """Raise Refused unless jury is built as digit/jurors.py builds it, with sound trees."""
    _refused_unless_built_as_ours(_check_structure, jury, "it")


def _refused_unless_built_as_ours(check: Callable[[object], None], model: object, what: str) -> None:
    """check(model), any failure of it a Refused: a missing attribute or a malformed list means
    the model is not built as ours."""
    try:
        check(model)
    except Refused:
        raise
    except Exception as error:  # noqa: BLE001 - whatever it is, the file is not one we serve
        raise Refused(f"{what} is not built as ours ({type(error).__name__}: {str(error)[:200]})") from None


def _check_structure(jury: object) -> None:
    _only_known_types(jury)
    _expect(jury, Jury, "the file")
    deskewed = _front(jury.front_)
    _pipeline(deskewed, "the front", [("deskew", Deskew), ("views", FeatureUnion)])
    views = deskewed.steps[1][1]
    parts = [(name, "passthrough" if _is_passthrough(part) else type(part)) for name, part in views.transformer_list]
    if parts != [("pixels", "passthrough"), ("directions", GradientDirections), ("topology", Topology)] \
            or views.transformer_weights is not None:
        raise Refused(f"its front's views are {parts}, not pixels, gradient directions and topology")
    if not isinstance(jury.jurors_, dict) or list(jury.jurors_) != NAMES:
        raise Refused(f"its jurors are {_names(jury.jurors_)}, not {NAMES}")
    weights = np.asarray(jury.weights if jury.weights is not None else [1.0] * len(JURORS), dtype=float)
    if weights.shape != (len(JURORS),) or not np.all(np.isfinite(weights)) or weights.min() < 0 or weights.sum() <= 0:
        raise Refused(f"its voting weights {jury.weights} are not {len(JURORS)} non-negative numbers")
    _classes(jury, "the jury")
    _check_svc(jury.jurors_[SVC_NAME])
    _check_knn(jury.jurors_[KNN_NAME])
    _check_forest(jury.jurors_[FOREST_NAME])


def _front(front: object) -> object:
    """The front's deskewed part: the front itself for a jury trained before the slant (issue 21),
    else the first of [deskewed views | slant]."""
    if isinstance(front, Pipeline):
        return front
    _expect(front, FeatureUnion, "the front")
    parts = [(name, type(part)) for name, part in front.transformer_list]
    if parts != [("deskewed", Pipeline), ("slant", Slant)] or front.transformer_weights is not None:
        raise Refused(f"its front is {parts}, not the deskewed views and the slant")
    weight = front.transformer_list[1][1].weight
    if type(weight) not in (int, float) or not np.isfinite(weight):
        raise Refused(f"its slant weight {weight!r} is not a finite number")
    return front.transformer_list[0][1]


def _only_known_types(root: object, known: set = KNOWN_TYPES, name: str = "jury") -> None:
    """Every object reachable from root is plain data or of `known`: no functions, no other estimator."""
    seen, stack = set(), [(root, name)]
    while stack:
        node, where = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        kind = type(node)
        if kind in PLAIN_TYPES or (isinstance(node, np.generic) and node.dtype.kind in "biuf"):
            continue
        if kind is np.ndarray:
            if node.dtype.kind not in "biuf":
                raise Refused(f"{where} is an array of {node.dtype}")
        elif kind in (list, tuple):
            stack.extend((item, f"{where}[{index}]") for index, item in enumerate(node))
        elif kind is dict:
            if not all(type(key) is str for key in node):
                raise Refused(f"{where} has keys that are not names")
            stack.extend((item, f"{where}[{key!r}]") for key, item in node.items())
        elif kind not in known:
            raise Refused(f"{where} is a {kind.__module__}.{kind.__qualname__}, which this project does not build")
        elif kind is FunctionTransformer and not _is_passthrough(node):
            raise Refused(f"{where} is a FunctionTransformer calling {node.func!r}")
        elif kind is not Tree:  # compiled, no __dict__: its arrays are checked by tree_problem
            stack.extend((item, f"{where}.{name}") for name, item in vars(node).items())


def _is_passthrough(part: object) -> bool:
    """'passthrough', or the identity FunctionTransformer a fitted FeatureUnion stores for it."""
    return part == "passthrough" if isinstance(part, str) else (
        type(part) is FunctionTransformer and part.func is None and part.inverse_func is None)


def _names(value: object) -> list:
    return list(value) if isinstance(value, dict) else [type(value).__name__]


def _expect(value: object, kind: type, where: str) -> None:
    if type(value) is not kind:
        raise Refused(f"{where} holds a {type(value).__name__} where we build a {kind.__name__}")


def _pipeline(value: object, where: str, steps: list[tuple[str, type]]) -> None:
    _expect(value, Pipeline, where)
    found = [(name, type(step)) for name, step in value.steps]
    if found != steps:
        raise Refused(f"{where} has the steps {[(name, kind.__name__) for name, kind in found]}, "
                      f"not {[(name, kind.__name__) for name, kind in steps]}")


def _classes(estimator: object, where: str) -> None:
    classes = getattr(estimator, "classes_", None)
    if not isinstance(classes, np.ndarray) or not np.array_equal(classes, DIGITS):
        raise Refused(f"{where} does not read the digits 0-9 (classes {classes})")


def _check_svc(juror: object) -> None:
    _pipeline(juror, "the svc juror", [("shape", Columns), (SVC_NAME, CalibratedClassifierCV)])
    _calibrated_svc(juror.steps[1][1], "the svc juror")


def _calibrated_svc(calibrated: CalibratedClassifierCV, where: str) -> FastRBFSVC:
    """The one FastRBFSVC inside a CalibratedClassifierCV(ensemble=False) of ten sigmoids, as the svc
    juror and the stroke juror are built; else Refused."""
    _classes(calibrated, where)
    members = calibrated.calibrated_classifiers_
    if type(members) is not list or len(members) != 1:
        raise Refused(f"{where} is not one calibrated model")
    member = members[0]
    _expect(member, _CalibratedClassifier, f"{where}'s calibration")
    _expect(member.estimator, FastRBFSVC, f"{where}'s model")
    _classes(member.estimator, f"{where}'s model")
    if member.method != "sigmoid" or not np.array_equal(member.classes, DIGITS) or len(member.calibrators) != 10 \
            or any(type(calibrator) is not _SigmoidCalibration for calibrator in member.calibrators):
        raise Refused(f"{where}'s calibration is not ten sigmoids, one per digit")
    return member.estimator


def _check_knn(juror: object) -> None:
    _expect(juror, DeformationNeighbours, "the knn juror")
    _expect(juror.pca_, PCA, "the knn juror's projection")
    _expect(juror.search_, NearestNeighbours, "the knn juror's search")
    _classes(juror, "the knn juror")
    # Older files may hold these two settings: this code reads neither, so only their neutral values read as trained.
    retired = {"doubt": getattr(juror, "doubt", None), "slant": getattr(juror, "slant", 0.0)}
    if retired["doubt"] is not None or retired["slant"] != 0:
        raise Refused(f"the knn juror was trained with {retired}, settings this code no longer reads")


def _check_forest(juror: object) -> None:
    _pipeline(juror, "the rf juror", [("shape", Columns), (FOREST_NAME, RandomForestClassifier)])
    forest = juror.steps[1][1]
    _classes(forest, "the rf juror")
    if forest.n_outputs_ != 1 or type(forest.estimators_) is not list or not forest.estimators_:
        raise Refused("the rf juror is not a forest of single-output trees")
    for index, tree in enumerate(forest.estimators_):
        _expect(tree, DecisionTreeClassifier, f"the rf juror's tree {index}")
        _expect(tree.tree_, Tree, f"the rf juror's tree {index}")
        problem = tree_problem(tree.tree_, forest.n_features_in_)
        if problem:
            raise Refused(f"the rf juror's tree {index} {problem}")


def tree_problem(tree: Tree, n_features: int) -> str | None:
    """What makes a fitted tree unsafe to evaluate (its predict does not check indices), or None.

    scikit-learn numbers a node's children after it, and -1 on both sides marks a leaf; a child
    numbered at or before its parent is how a loop would be made."""
    count = tree.node_count
    if not 1 <= count <= tree.capacity:
        return f"claims {count} nodes in room for {tree.capacity}"
    if tree.n_features != n_features or tree.n_outputs != 1 or list(tree.n_classes) != [10]:
        return f"reads {tree.n_features} features into {list(tree.n_classes)} classes, not {n_features} into [10]"
    left, right, feature = tree.children_left, tree.children_right, tree.feature
    leaf = left == -1
    if not np.array_equal(leaf, right == -1):
        return "has a node with one child"
    inner = np.flatnonzero(~leaf)
    children = np.concatenate([left[inner], right[inner]])
    if children.size and (children.min() < 0 or children.max() >= count):
        return f"has a child index outside its {count} nodes"
    if np.any(left[inner] <= inner) or np.any(right[inner] <= inner):
        return "has a child numbered at or before its parent (a loop)"
    if not np.array_equal(np.bincount(children, minlength=count), np.r_[0, np.ones(count - 1, np.int64)]):
        return "is not a tree: a node with no parent or with two"
    if feature[inner].size and (feature[inner].min() < 0 or feature[inner].max() >= n_features):
        return f"splits on a feature outside its {n_features}"
    if tree.value.shape != (count, 1, 10) or not np.all(np.isfinite(tree.value)):
        return f"has leaf values of shape {tree.value.shape} or not finite"
    return None


# -- 2. reading -----------------------------------------------------------------------------------

def reference_file() -> Path:
    """REFERENCE_FILE, or why it is missing: training makes it (make app, test, bench and deploy do),
    git does not carry it."""
    if not REFERENCE_FILE.is_file():
        raise FileNotFoundError(f"no reference digits at {REFERENCE_FILE}: run `python -m training.reference_digits`")
    return REFERENCE_FILE


def reference_digits() -> tuple[np.ndarray, np.ndarray]:
    """The reference digits (n, 784) uint8 as the jury reads them, and their labels."""
    with np.load(reference_file()) as data:
        return data["pixels"], data["labels"]


class ReadingTrial:
    """A child process that reads the reference digits with a jury and reports each one's accuracy.

    Started before the jury is loaded, so that its imports (a second or two) overlap the load.
    It is handed the very jury the process would serve, pickled through a pipe: built by skops
    and passed by check_structure, it holds nothing but the types listed there. A subprocess,
    not multiprocessing: a spawned child would import the app's main module (app.py) again.
    """

    def __init__(self):
        one_thread = {"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"}  # leave the other core to the requests
        self._process = subprocess.Popen([sys.executable, "-m", "digit.model.check"], cwd=PROJECT_DIR,
                                         stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                         env={**os.environ, **one_thread})

    def read(self, jury: Jury, seconds: float = READ_SECONDS) -> dict[str, float]:
        """Accuracy of the jury ("jury") and of each juror on the reference digits; raises Refused
        when the child fails, crashes or takes longer than seconds."""
        try:
            out, err = self._process.communicate(pickle.dumps(jury, protocol=pickle.HIGHEST_PROTOCOL),
                                                 timeout=seconds)
        except subprocess.TimeoutExpired:
            self.cancel()
            raise Refused(f"it did not read the reference digits within {seconds:g} s (stopped)") from None
        code = self._process.returncode
        if code < 0:
            raise Refused(f"reading the reference digits crashed its process ({signal.Signals(-code).name})")
        lines = out.decode(errors="replace").strip().splitlines()
        report = json.loads(lines[-1]) if code == 0 and lines else {"error": _last_line(err)}
        if report.get("error"):
            raise Refused(f"it failed reading the reference digits: {report['error']}")
        return report["accuracy"]

    def cancel(self) -> None:
        """Stop the child if it still runs (the jury was refused before it was read, or took too long)."""
        if self._process.returncode is None:
            self._process.kill()
            self._process.communicate()


def _last_line(err: bytes) -> str:
    lines = err.decode(errors="replace").strip().splitlines()
    return lines[-1][:300] if lines else "no output"


def check_reading(accuracy: dict[str, float], card: ModelCard) -> None:
    """Raise Refused when the jury or a juror reads the reference digits worse than its card says of
    the canvas validation part (by more than MARGIN) or worse than FLOOR."""
    jurors = card.metrics.get("canvas_validation_juror_accuracy")
    figures = {"jury": card.metric("canvas_validation_accuracy"), **(jurors if isinstance(jurors, dict) else {})}
    for name, read in accuracy.items():
        figure = figures.get(name)
        figure = float(figure) if isinstance(figure, (int, float)) and not isinstance(figure, bool) else None
        needed = max(FLOOR, (figure or 0.0) - MARGIN)
        if read < needed:
            said = f"its card says {figure:.1%}" if figure is not None else "its card gives no figure"
            raise Refused(f"{'the jury' if name == 'jury' else f'the {name} juror'} reads {read:.0%} of the "
                          f"reference digits right ({said}; {needed:.0%} needed)")


def _read(jury: Jury, pixels: np.ndarray, labels: np.ndarray) -> dict[str, float]:
    """In the child: read the digits as the page does (as one number of many digits), the
    first few with their neighbours, and the k-NN's re-ranking for those even where its
    candidates agree (every loop the model's settings drive runs here, not in a request)."""
    from digit.reading.classifier import Classifier
    from digit.direct import transformed
    from digit.reading.preprocess import Normalized

    shape, forest = jury.jurors_[FOREST_NAME].steps[0][1], jury.jurors_[FOREST_NAME].steps[1][1]
    features = jury.features(pixels[:3])
    if transformed(shape, features).shape[1] != forest.n_features_in_:  # the trees would read past each row
        raise ValueError(f"the rf juror's trees read {forest.n_features_in_} features of "
                         f"{transformed(shape, features).shape[1]}")
    knn = jury.jurors_[KNN_NAME]
    knn.idm_distances(features, knn.candidates_of(features))
    classifier = Classifier(jury)
    images = [row.reshape(28, 28) for row in pixels]
    classifier.predict_normalized(Normalized(images[0], 3, (0, 0, 28, 28), parts=images[:3]), explain=True)
    reading = classifier.predict_normalized(Normalized(images[0], len(images), (0, 0, 28, 28), parts=images))
    accuracy = {"jury": np.mean(np.array([part.digit for part in reading.parts]) == labels)}
    for name in jury.jurors_:
        probabilities = np.array([part.juror_probabilities[name] for part in reading.parts])
        if probabilities.shape != (len(labels), 10) or not np.all(np.isfinite(probabilities)) \
                or not np.allclose(probabilities.sum(axis=1), 1, atol=1e-3):
            raise ValueError(f"the {name} juror's probabilities are not ten shares of one per digit")
        accuracy[name] = np.mean(probabilities.argmax(axis=1) == labels)
    return {name: float(value) for name, value in accuracy.items()}


def read_references(jury: Jury) -> dict[str, float]:
    """The jury's and each juror's accuracy on the reference digits, read in this process."""
    return _read(jury, *reference_digits())


def _child() -> None:
    """python -m digit.model.check: a pickled jury on stdin, one JSON line on stdout."""
    data = sys.stdin.buffer.read()
    if not data:  # cancelled before it was handed a jury
        return
    jury = pickle.loads(data)
    try:
        report = {"accuracy": read_references(jury)}
    except Exception as error:  # noqa: BLE001 - any failure is the jury's: report it, the parent refuses
        report = {"error": f"{type(error).__name__}: {str(error)[:300]}"}
    print(json.dumps(report), flush=True)


if __name__ == "__main__":
    _child()


# -- the stroke juror (its own file beside the jury) ------------------------------------------------

# The stroke juror's exam, in the project's code (a model must not bring its own): ten plain drawings,
# one per digit, as most people draw them (control points, x right and y down in a 6x10 box, per stroke).
# A well-formed file with scrambled numbers reads about one in ten of them.
STROKE_EXAM = {
    0: [[(3, 0), (0.5, 1.5), (0, 5), (0.5, 8.5), (3, 10), (5.5, 8.5), (6, 5), (5.5, 1.5), (3, 0)]],
    1: [[(1.5, 2), (3.5, 0), (3.5, 10)]],
    2: [[(0.3, 2), (2, 0), (4.5, 0), (6, 2), (5.5, 4.5), (0, 10), (6, 10)]],
    3: [[(0, 1), (2, 0), (5, 0), (6, 2), (5, 4), (2, 5), (5, 5.5), (6, 7.5), (5, 9.5), (2, 10), (0, 9)]],
    4: [[(4, 0), (0, 7), (6, 7)], [(4.5, 2), (4.5, 10)]],
    5: [[(6, 0), (1, 0), (0.5, 4.5), (3, 4), (5.5, 5), (6, 7.5), (5, 9.5), (2, 10), (0, 9)]],
    6: [[(5, 0), (2, 1), (0, 5), (0.5, 9), (3, 10), (5.5, 9), (6, 7), (4.5, 5), (2, 5), (0.3, 6.5)]],
    7: [[(0, 0), (6, 0), (2.5, 10)]],
    8: [[(5.5, 1), (3, 0), (0.5, 1), (0.5, 3.5), (5.5, 7), (5.5, 9), (3, 10), (0.5, 9), (0.5, 7), (5.5, 3.5),
         (5.5, 1)]],
    9: [[(6, 2), (4.5, 0), (1.5, 0), (0, 2), (1, 4.5), (4, 5), (6, 3), (6, 10)]],
}
STROKE_EXAM_PASS = 8  # of the ten


def stroke_exam() -> tuple[list, np.ndarray]:
    """STROKE_EXAM as pad strokes (30 pad pixels a unit, Quick, Draw!'s raw format) and their digits."""
    drawings = [[[[30.0 * x for x, _ in stroke], [30.0 * y for _, y in stroke]] for stroke in strokes]
                for strokes in STROKE_EXAM.values()]
    return drawings, np.array(list(STROKE_EXAM))


STROKE_TYPES = {StrokeJuror, Pipeline, StandardScaler, CalibratedClassifierCV, _CalibratedClassifier,
                _SigmoidCalibration, SVC, FastRBFSVC}


def check_stroke_juror(juror: object) -> None:
    """Raise Refused unless juror is a StrokeJuror built as digit/stroke_juror.py builds it: scaled
    stroke features into one calibrated FastRBFSVC, and its place in the vote numbers in range."""
    _refused_unless_built_as_ours(_check_stroke_juror, juror, "the stroke juror")


def _check_stroke_juror(juror: object) -> None:
    _only_known_types(juror, STROKE_TYPES, "the stroke juror")  # only known types and plain data, as for the jury
    _expect(juror, StrokeJuror, "the stroke file")
    numbers = {"weight": juror.weight, "temperature": juror.temperature, "unsure_below": juror.unsure_below,
               "pixels_unsure_below": juror.pixels_unsure_below}
    if any(type(value) not in (int, float) or not np.isfinite(value) for value in numbers.values()) \
            or not 0 <= juror.weight <= 1 or juror.temperature <= 0 or not 0 <= juror.unsure_below <= 1 \
            or not 0 <= juror.pixels_unsure_below <= 1 \
            or type(juror.doubt_disagreement) is not bool:
        raise Refused(f"the stroke juror's place in the vote {numbers} is out of range")
    _pipeline(juror.model_, "the stroke juror", [("scale", StandardScaler), ("svc", CalibratedClassifierCV)])
    scaler, calibrated = juror.model_.steps[0][1], juror.model_.steps[1][1]
    if scaler.mean_.shape != (N_FEATURES,) or scaler.scale_.shape != (N_FEATURES,):
        raise Refused(f"the stroke juror does not read the {N_FEATURES} stroke features")
    _classes(juror, "the stroke juror")
    svc = _calibrated_svc(calibrated, "the stroke juror")
    count = len(svc.support_vectors_)
    if svc.support_vectors_.shape != (count, N_FEATURES) or svc.coefficients_.shape != (count, 45) \
            or svc.intercept_.shape != (45,) or not np.isfinite(svc.gamma_):
        raise Refused("the stroke juror's support vectors are not shaped for the stroke features")
    drawings, digits = stroke_exam()
    right = int(np.sum(juror.predict(features_of(drawings)) == digits))
    if right < STROKE_EXAM_PASS:
        raise Refused(f"the stroke juror reads {right} of the ten plain drawings right ({STROKE_EXAM_PASS} needed)")
