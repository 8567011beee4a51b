"""Saving and loading the jury with skops, which refuses to build types we did not list.

A pickle (or joblib) file can run any code when it is loaded; a skops file only builds
the types named in TRUSTED_TYPES below, so a model file from elsewhere cannot run code.
What it builds is then checked (digit/model/check.py): its structure at every load, and
before the app serves it, that it reads the reference digits in a child process.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
import time
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from digit.atomic import write_text, written_whole
from digit.reading.classifier import Classifier
from digit.config import model_dir
from digit.jury import Jury
from digit.model.card import CARD_FILE, ModelCard, hub_readme, read_card
from digit.model.check import (READ_SECONDS, ReadingTrial, Refused, check_reading, check_stroke_juror,
                               check_structure, read_references)
from digit.stroke_juror import StrokeJuror

log = logging.getLogger(__name__)
MODEL_FILE = "jury.skops"
README_FILE = "README.md"  # the card for people, and for the Hub's model page
STROKES_FILE = "strokes.skops"  # the stroke juror, for pad readings; optional: without it the jury reads alone
STROKES_CARD_FILE = "strokes_card.json"  # its own small card (training/train_strokes.py writes both)
# A jury's files: what a promotion commits and a follower fetches (digit/model/hub.py; the stroke juror's
# when validation chose one beside the jury); the reference and gate digits made in models/ are not part of it.
JURY_FILES = (MODEL_FILE, README_FILE, CARD_FILE, STROKES_FILE, STROKES_CARD_FILE)

# The types the jury file holds beyond what skops trusts by itself (scikit-learn's public
# estimators, numpy arrays and dtypes): checked on save, enforced on load, and a test keeps
# this list equal to what the shipped file holds.
TRUSTED_TYPES = [
    "digit.fast_svc.FastRBFSVC",
    "digit.features.Columns",
    "digit.features.Deskew",
    "digit.features.GradientDirections",
    "digit.features.Slant",
    "digit.jury.Jury",
    "digit.neighbours.DeformationNeighbours",
    "digit.neighbours.NearestNeighbours",
    "sklearn.calibration._CalibratedClassifier",
    "sklearn.calibration._SigmoidCalibration",
    "digit.topology.Topology",
    "sklearn.tree._tree.Tree",
]

# The types the stroke juror's file holds beyond what skops trusts by itself.
STROKE_TRUSTED_TYPES = [
    "digit.fast_svc.FastRBFSVC",
    "digit.stroke_juror.StrokeJuror",
    "sklearn.calibration._CalibratedClassifier",
    "sklearn.calibration._SigmoidCalibration",
]


class ModelError(RuntimeError):
    """The model folder is missing, incomplete, or holds a file we will not load."""


@dataclass(frozen=True)
class LoadedModel:
    classifier: Classifier
    card: ModelCard
    seconds: float  # how long loading (and the reading trial, when made) took
    digest: str  # of the very bytes loaded (the jury's file) and the card read: what a reading trial vouches for


def save_model(jury: Jury, folder: Path, card: ModelCard) -> ModelCard:
    """Write the jury and its card (JSON and README) into folder: the one place a card is
    written. Refuses types we would not load back. Each file is renamed into place whole,
    the card last: a reader that sees a new card finds its model. Returns the card."""
    folder.mkdir(parents=True, exist_ok=True)
    size = _dump_checked(_without_routing_requests(jury), folder / MODEL_FILE, TRUSTED_TYPES,
                         "the model holds types missing from TRUSTED_TYPES")
    card = replace(card, files={MODEL_FILE: size})
    write_text(folder / README_FILE, hub_readme(card))
    write_text(folder / CARD_FILE, card.to_json())
    return card


def _without_routing_requests(jury: Jury) -> Jury:
    """Drop the sample-weight requests (metadata routing) from every fitted part: they wire
    up fitting, predicting never reads them, and skops cannot store them."""
    seen: set[int] = set()

    def strip(node) -> None:
        if id(node) in seen:
            return
        seen.add(id(node))
        if isinstance(node, (list, tuple)):
            for item in node:
                strip(item)
        elif isinstance(node, dict):
            for item in node.values():
                strip(item)
        elif type(node).__module__.startswith(("sklearn.", "digit.")) and hasattr(node, "__dict__"):
            node.__dict__.pop("_metadata_request", None)
            for item in vars(node).values():
                strip(item)

    strip(jury)
    return jury


def model_bytes(folder: Path | None = None) -> int:
    """The size of the jury's files in folder (default: MODEL_DIR or models/)."""
    folder = folder or model_dir()
    return sum((folder / name).stat().st_size for name in JURY_FILES if (folder / name).exists())


def load_model(folder: Path | None = None) -> LoadedModel:
    """Load the jury from folder (default MODEL_DIR), building only trusted types, and check
    that it is built as ours (a tampered tree would crash or hang the first reading)."""
    folder = folder or model_dir()
    path = folder / MODEL_FILE
    if not path.is_file():
        raise ModelError(f"no trained jury at {path}: run `make train` first")
    start = time.perf_counter()
    data = path.read_bytes()
    jury = _load_checked(path, data, TRUSTED_TYPES, check_structure)
    card = read_card(folder)
    version = card.version or "unknown"
    digest = hashlib.sha256(hashlib.sha256(data).digest() + card.to_json().encode()).hexdigest()
    return LoadedModel(Classifier(jury, version, stroke_juror=_stroke_juror_for(folder, version)), card,
                       time.perf_counter() - start, digest)


def _stroke_juror_for(folder: Path, version: str) -> StrokeJuror | None:
    """The stroke juror beside the jury, if it was chosen with this very jury (its weight and
    temperature were fitted to that jury's vote); else None, and the jury reads pad readings alone."""
    try:
        strokes = load_stroke_juror(folder)
    except ModelError as error:
        log.error("%s; pad readings go without the stroke juror", error)
        return None
    if strokes is None:
        return None
    try:
        chosen_with = json.loads((folder / STROKES_CARD_FILE).read_text()).get("jury_version")
    except (OSError, ValueError, AttributeError):
        chosen_with = None
    if chosen_with != version:
        log.warning("the stroke juror in %s was chosen with jury %s, not %s: pad readings go without it "
                    "until `python -m training.train_strokes` chooses it again", folder, chosen_with, version)
        return None
    return strokes


def save_stroke_juror(juror: StrokeJuror, folder: Path, card: dict) -> dict:
    """Write the stroke juror and its own card into folder (renamed into place whole, the card last);
    refuses types we would not load back. Returns the card, with the file's size."""
    folder.mkdir(parents=True, exist_ok=True)
    size = _dump_checked(juror, folder / STROKES_FILE, STROKE_TRUSTED_TYPES,
                         "the stroke juror holds types missing from STROKE_TRUSTED_TYPES")
    card = {**card, "files": {STROKES_FILE: size}}
    write_text(folder / STROKES_CARD_FILE, json.dumps(card, indent=2) + "\n")
    return card


def load_stroke_juror(folder: Path) -> StrokeJuror | None:
    """The stroke juror beside the jury in folder, built only from trusted types and checked; None
    when there is none. A file we will not serve is refused (ModelError), as the jury's would be."""
    path = folder / STROKES_FILE
    return _load_checked(path, path.read_bytes(), STROKE_TRUSTED_TYPES, check_stroke_juror) if path.is_file() else None


def _dump_checked(thing: object, path: Path, trusted: list[str], refusal: str) -> int:
    """Write thing to path with skops, whole (digit/atomic.py), only if it holds no type beyond
    trusted (else ModelError(refusal), and path is as it was); returns the file's size."""
    import skops.io as sio

    with written_whole(path) as staged:
        sio.dump(thing, staged, compression=zipfile.ZIP_DEFLATED, compresslevel=9)
        unknown = sorted(set(sio.get_untrusted_types(file=staged)) - set(trusted))
        if unknown:
            raise ModelError(f"{refusal}: {unknown}")
        return staged.stat().st_size


def _load_checked(path: Path, data: bytes, trusted: list[str], check: Callable[[object], None]) -> Any:
    """A skops file's bytes (data, read from path) built only from trusted types, then checked as ours;
    else ModelError."""
    import skops.io as sio  # here: its import scans every loaded module (~1.5 s in a server that imported Gradio)
    from skops.io.exceptions import UntrustedTypesFoundException

    try:
        loaded = sio.loads(data, trusted=trusted)  # builds nothing when the file holds a type not trusted
    except UntrustedTypesFoundException:
        unknown = sorted(set(sio.get_untrusted_types(data=data)) - set(trusted))
        raise ModelError(f"refusing {path}: it holds types this project did not write: {unknown}") from None
    except Exception as error:  # noqa: BLE001 - a corrupt or foreign file must not crash with a traceback
        raise ModelError(f"cannot load {path}: {error}") from None
    try:
        check(loaded)
    except Refused as error:
        raise ModelError(f"refusing {path}: {error}") from None
    return loaded


def load_checked_model(folder: Path | None = None, seconds: float = READ_SECONDS,
                       checked: str | None = None) -> LoadedModel:
    """load_model, then the reading trial: a child process reads the reference digits with the
    jury, within seconds, at about its card's figures. What the app serves comes through here.
    checked: the digest of a jury and card a reading worker already put through the same trial
    (digit/reading/pool.py: the reader started at launch); those very bytes are not read again."""
    folder = folder or model_dir()
    start = time.perf_counter()
    trial = None if checked else ReadingTrial()  # started first: its imports overlap our load
    try:
        loaded = load_model(folder)
        if loaded.digest != checked:
            trial = trial or ReadingTrial()
            check_reading(trial.read(loaded.classifier.jury, seconds), loaded.card)
    except Refused as error:
        raise ModelError(f"refusing {folder / MODEL_FILE}: {error}") from None
    finally:
        if trial:
            trial.cancel()
    return replace(loaded, seconds=time.perf_counter() - start)


def load_checked_here(folder: Path | None = None) -> LoadedModel:
    """load_model, then the reading trial in this very process: for a reading worker, which is itself
    the child whose crash or hang costs nothing else (digit/reading/pool.py). Raises ModelError."""
    loaded = load_model(folder)
    try:
        check_reading(read_references(loaded.classifier.jury), loaded.card)
    except Refused as error:
        raise ModelError(f"refusing {(folder or model_dir()) / MODEL_FILE}: {error}") from None
    except Exception as error:  # noqa: BLE001 - any failure to read is the jury's: it is not served
        raise ModelError(f"refusing {(folder or model_dir()) / MODEL_FILE}: it failed reading the reference "
                         f"digits: {type(error).__name__}: {str(error)[:300]}") from None
    return loaded


class ModelSlot:
    """The jury the app serves, from a folder that a promotion may replace: reloaded when its
    card (written last) changes, no restart needed. A stat per request is the whole cost.
    Every jury is checked before it is served (load_checked_model); a replacement that fails
    is reported in one log line and the model already serving stays.
    `serve` hands over a jury checked elsewhere (a newer one from the Hub); checked: the digest of
    the folder's jury as the reader started at launch checked it (load_checked_model).
    """

    def __init__(self, folder: Path | None = None, checked: str | None = None):
        self.folder = folder
        self.checked = checked
        self._lock = threading.Lock()
        self._loaded: LoadedModel | None = None
        self._stamp: tuple[int, int] | None = None

    def adopt(self, loaded: LoadedModel) -> bool:
        """Serve a jury loaded and checked from this slot's folder elsewhere (the reader started at launch:
        digit/reading/pool.py), unless the slot serves one already or the folder's card is no longer the
        one that reader read (a promotion since: then `get` loads it). True when adopted."""
        folder = self.folder or model_dir()
        with self._lock:
            stamp = self._card_stamp(folder)
            if self._loaded is not None or read_card(folder) != loaded.card:
                return False
            self._loaded, self._stamp = loaded, stamp
        return True

    def _card_stamp(self, folder: Path) -> tuple[int, int] | None:
        try:
            stat = (folder / CARD_FILE).stat()
            return stat.st_mtime_ns, stat.st_size
        except OSError:
            return None

    def get(self) -> LoadedModel:
        folder = self.folder or model_dir()
        stamp = self._card_stamp(folder)
        if self._loaded is None or stamp != self._stamp:
            with self._lock:
                if self._loaded is None or stamp != self._stamp:
                    try:
                        self._loaded = load_checked_model(folder, checked=self.checked)
                    except ModelError as error:
                        if self._loaded is None:
                            raise
                        log.error("%s; still serving model %s", error, self._loaded.classifier.version)
                    self._stamp = stamp
        return self._loaded

    def serve(self, folder: Path, loaded: LoadedModel) -> None:
        """Serve this jury, loaded from folder, from now on."""
        with self._lock:
            self.folder, self._loaded, self._stamp = folder, loaded, self._card_stamp(folder)
        log.warning("serving model %s from %s", loaded.classifier.version, folder)
