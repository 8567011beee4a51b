"""Saving and loading the jury with skops, which refuses to build types we did not list.

A pickle (or joblib) file can run any code when it is loaded; a skops file only builds
the types named in TRUSTED_TYPES below, so a model file from elsewhere cannot run code.
"""

from __future__ import annotations

import json
import logging
import threading
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path

import skops.io as sio
from sklearn.pipeline import Pipeline

from digit.config import model_dir
from digit.jury import Classifier

log = logging.getLogger(__name__)
MODEL_FILE = "jury.skops"
CARD_FILE = "model_card.json"

# Every non-builtin type the jury file holds; checked on save, enforced on load.
TRUSTED_TYPES = [
    "digit.features.Columns",
    "digit.features.Deskew",
    "digit.features.PixelsAndGradients",
    "digit.jury.Jury",
    "digit.neighbours.DeformationNeighbours",
    "digit.neighbours.NearestNeighbours",
    "numpy.dtype",
    "numpy.ndarray",
    "numpy.float64",
    "numpy.int64",
    "sklearn.calibration.CalibratedClassifierCV",
    "sklearn.calibration._CalibratedClassifier",
    "sklearn.calibration._SigmoidCalibration",
    "sklearn.decomposition._pca.PCA",
    "sklearn.ensemble._forest.RandomForestClassifier",
    "sklearn.ensemble._voting.VotingClassifier",
    "sklearn.pipeline.FeatureUnion",
    "sklearn.pipeline.Pipeline",
    "sklearn.preprocessing._label.LabelEncoder",
    "sklearn.svm._classes.SVC",
    "sklearn.tree._classes.DecisionTreeClassifier",
    "sklearn.tree._tree.Tree",
    "sklearn.utils._bunch.Bunch",
]


class ModelError(RuntimeError):
    """The model folder is missing, incomplete, or holds a file we will not load."""


@dataclass(frozen=True)
class LoadedModel:
    classifier: Classifier
    card: dict
    seconds: float  # how long loading took


def save_model(model: Pipeline, folder: Path, card: dict) -> Path:
    """Write the jury and its card into folder; refuse to write types we would not load back."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / MODEL_FILE
    temporary = path.with_suffix(".tmp")
    sio.dump(model, temporary, compression=zipfile.ZIP_DEFLATED, compresslevel=9)
    unknown = sorted(set(sio.get_untrusted_types(file=temporary)) - set(TRUSTED_TYPES))
    if unknown:
        temporary.unlink()
        raise ModelError(f"the model holds types missing from TRUSTED_TYPES: {unknown}")
    temporary.replace(path)
    card = {**card, "files": {MODEL_FILE: path.stat().st_size}}
    (folder / CARD_FILE).write_text(json.dumps(card, indent=2) + "\n")
    return path


def read_card(folder: Path | None = None) -> dict:
    folder = folder or model_dir()
    try:
        return json.loads((folder / CARD_FILE).read_text())
    except (OSError, ValueError):
        return {}


def load_model(folder: Path | None = None) -> LoadedModel:
    """Load the jury from folder (default MODEL_DIR), building only trusted types."""
    folder = folder or model_dir()
    path = folder / MODEL_FILE
    if not path.is_file():
        raise ModelError(f"no trained jury at {path}: run `make train` first")
    start = time.perf_counter()
    try:
        unknown = sorted(set(sio.get_untrusted_types(file=path)) - set(TRUSTED_TYPES))
        if unknown:
            raise ModelError(f"refusing {path}: it holds types this project did not write: {unknown}")
        model = sio.load(path, trusted=TRUSTED_TYPES)
    except ModelError:
        raise
    except Exception as error:  # a corrupt or foreign file must not crash with a traceback
        raise ModelError(f"cannot load {path}: {error}") from None
    card = read_card(folder)
    return LoadedModel(Classifier(model, str(card.get("version", "unknown"))), card,
                       time.perf_counter() - start)


class ModelSlot:
    """The jury in a folder, reloaded when a promotion replaces its file: no restart needed.

    A stat per request is the whole cost. A replacement that fails to load is reported
    once and the model already serving stays.
    """

    def __init__(self, folder: Path | None = None):
        self.folder = folder
        self._lock = threading.Lock()
        self._loaded: LoadedModel | None = None
        self._stamp: tuple[int, int] | None = None

    def get(self) -> LoadedModel:
        folder = self.folder or model_dir()
        try:
            stat = (folder / MODEL_FILE).stat()
            stamp = (stat.st_mtime_ns, stat.st_size)
        except OSError:
            stamp = None
        if self._loaded is None or stamp != self._stamp:
            with self._lock:
                if self._loaded is None or stamp != self._stamp:
                    try:
                        self._loaded = load_model(folder)
                    except ModelError as error:
                        if self._loaded is None:
                            raise
                        log.error("kept model %s: %s", self._loaded.classifier.version, error)
                    self._stamp = stamp
        return self._loaded
