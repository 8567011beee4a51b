"""Corrections others confirmed, for everyone within minutes, no retraining: live references.

A flag that other visitors confirmed (the store's tally says so: `confirmed`, the one place that
asks) joins the served k-NN's references at read time (`DeformationNeighbours.neighbourhood`:
nothing fitted changes, the model file stays as it was), after two checks:

- the caps retraining puts on one visitor (training/retrain.py: VISITOR_CLASS_CAP samples of one
  digit, VISITOR_CAP in all, KNN_FEEDBACK references at most): the oldest confirmed flags first;
- a fast gate (`Gate`): no digit of the gate digits (the model check's reference digits, and the
  canvas set's validation part when GATE_FILE holds it) that the jury reads right may be read
  wrong with the live references. A flag that would is refused, and stays refused for that model.

Derived from what the feedback store keeps (its samples and votes), so every replica and every
restart finds the same set; `LiveReferences.refresh` runs every LIVE_SECONDS (a new model: at once).
"""

from __future__ import annotations

import logging
import threading
from collections import Counter
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from digit.reading.classifier import Classifier, Confirmed
from digit.config import PROJECT_DIR
from digit.jurors import KNN_NAME
from digit.model.check import reference_digits
from digit.live.memory import Taught

log = logging.getLogger(__name__)
LIVE_SECONDS = 30.0  # how often the confirmed flags (and the model serving) are looked at again
# One visitor's share, as retraining caps it (training/retrain.py; tests/test_live_references.py checks they agree).
PER_VISITOR_DIGIT = 10  # VISITOR_CLASS_CAP
PER_VISITOR = 50  # VISITOR_CAP
MOST = 3_000  # KNN_FEEDBACK
# The canvas set's validation part as the jury reads it (pixels, labels), beside the reference digits:
# `python -m training.gate_digits` writes it (made, not carried, as the reference digits are).
GATE_FILE = PROJECT_DIR / "models" / "gate_digits.npz"


class Store(Protocol):
    """What the live references need of the feedback store (digit/feedback/store.py)."""

    def confirmed_corrections(self) -> list[dict]: ...
    def digits(self, ids: list[str]) -> dict[str, np.ndarray]: ...


def capped(records: list[dict]) -> list[dict]:
    """The oldest records within one visitor's caps (PER_VISITOR_DIGIT of a digit, PER_VISITOR
    in all) and MOST in all."""
    per_digit, per_visitor, kept = Counter(), Counter(), []
    for record in records:
        who, digit = record["visitor"], int(record["label"])
        if per_digit[who, digit] < PER_VISITOR_DIGIT and per_visitor[who] < PER_VISITOR and len(kept) < MOST:
            per_digit[who, digit] += 1
            per_visitor[who] += 1
            kept.append(record)
    return kept


def gate_digits() -> tuple[np.ndarray, np.ndarray]:
    """The digits no live reference may make the jury misread: the reference digits, and the canvas
    validation part when GATE_FILE holds it."""
    pixels, labels = reference_digits()
    try:
        with np.load(GATE_FILE) as data:
            pixels, labels = np.vstack([pixels, data["pixels"]]), np.concatenate([labels, data["labels"]])
    except (OSError, KeyError, ValueError):
        log.warning("no %s: the live references' gate reads the reference digits only", GATE_FILE.name)
    return pixels.reshape(len(pixels), -1), labels.astype(int)


class Gate:
    """The gate digits read by one jury once; then any set of extra references is checked on the
    few gate digits it could change (those it comes nearer than their last Euclidean candidate)."""

    def __init__(self, classifier: Classifier, pixels: np.ndarray, labels: np.ndarray):
        self.classifier = classifier
        self.labels = np.asarray(labels, int)
        jury = classifier.jury
        knn = jury.jurors_[KNN_NAME]
        self.features = jury.features(pixels)
        self.by_juror = jury.probabilities_of_features(self.features)
        self.right = jury.vote(self.by_juror).argmax(axis=1) == self.labels
        self.search = knn.search_coordinates(self.features)
        self.reach = knn.search_.kneighbors(self.search)[0][:, -1]  # a reference nearer than this is a candidate

    def misread(self, pixels: np.ndarray, features: np.ndarray, labels: np.ndarray) -> np.ndarray:
        """Which gate digits read right by the jury alone are read wrong with these confirmed
        corrections (digits, their features and labels) served beside it."""
        live = confirmed_set(self.classifier, pixels, features, labels)
        distances = np.sqrt(np.maximum(np.square(self.search).sum(1)[:, None]
                                       - 2 * self.search @ live.references.search.T
                                       + np.square(live.references.search).sum(1)[None, :], 0))
        rows = np.flatnonzero(self.right & (distances < self.reach[:, None]).any(axis=1))
        wrong = np.zeros(len(self.labels), bool)
        if len(rows):
            served = Classifier(self.classifier.jury, self.classifier.version, live)
            wrong[rows] = served.voted(self.features[rows])[1].argmax(axis=1) != self.labels[rows]
        return wrong

    def admit(self, pixels: np.ndarray, features: np.ndarray, labels: np.ndarray, already: int = 0) -> np.ndarray:
        """Which corrections (rows, oldest first; the first `already` admitted before) pass: all at
        once when together they misread nothing; else each new one beside those admitted."""
        admitted = np.arange(len(labels)) < already
        if not len(labels) or not self.misread(pixels, features, labels).any():
            return np.ones(len(labels), bool)
        for index in range(already, len(labels)):
            trial = admitted.copy()
            trial[index] = True
            admitted[index] = not self.misread(pixels[trial], features[trial], labels[trial]).any()
        return admitted


def confirmed_set(classifier: Classifier, pixels: np.ndarray, features: np.ndarray, labels: np.ndarray) -> Confirmed:
    """Corrections (their 28x28 digits, features and labels) as a reading with this jury consults them."""
    knn = classifier.jury.jurors_[KNN_NAME]
    return Confirmed(knn.extra_references(features, labels),
                     Taught(pixels.reshape(len(pixels), 28, 28), np.asarray(labels)).prepared(knn.levels))


@dataclass(frozen=True)
class LiveState:
    """What the jury serves beside its fitted references now."""

    classifier: Classifier  # the jury with the live references, as readings use it
    ids: tuple[str, ...]  # the flags held as live references
    refused: tuple[str, ...]  # confirmed flags the gate refused (for this model)


class LiveReferences:
    """The live references of the jury serving, refreshed from the feedback store."""

    def __init__(self, gate: tuple[np.ndarray, np.ndarray] | None = None):
        self._gate_digits = gate
        self._lock = threading.Lock()
        self._base: Classifier | None = None
        self._gate: Gate | None = None
        self._state: LiveState | None = None
        self._judged: dict[str, bool] = {}  # sample id -> admitted, for the model in _base
        self._seen: set[str] = set()  # the confirmed flags the state was made from

    def served(self, base: Classifier) -> Classifier:
        """The classifier to read with: base with its live references (base until the first refresh)."""
        state = self._state
        return state.classifier if state is not None and self._base is base else base

    def count(self, base: Classifier) -> int:
        state = self._state
        return len(state.ids) if state is not None and self._base is base else 0

    def refresh(self, base: Classifier, store: Store) -> LiveState:
        """Look at the confirmed flags again (a new model: judge them all again)."""
        with self._lock:
            if base is not self._base:
                self._base, self._gate, self._judged, self._state = base, None, {}, None
            chosen = capped(store.confirmed_corrections())
            ids = tuple(record["id"] for record in chosen)
            if self._state is not None and set(ids) == self._seen:
                return self._state
            self._seen = set(ids)
            labels = np.array([int(record["label"]) for record in chosen], int)
            digits = store.digits(list(ids)) if ids else {}
            present = np.array([sample_id in digits for sample_id in ids], bool)
            ids, labels = tuple(np.array(ids, object)[present]), labels[present]
            pixels = np.stack([digits[sample_id] for sample_id in ids]).reshape(len(ids), -1) if ids else \
                np.zeros((0, 784), np.uint8)
            features = base.jury.features(pixels) if len(ids) else np.zeros((0, 0), np.float32)
            admitted = self._admit(base, ids, pixels, features, labels)
            kept = tuple(sample_id for sample_id, ok in zip(ids, admitted) if ok)
            refused = tuple(sample_id for sample_id, ok in zip(ids, admitted) if not ok)
            live = confirmed_set(base, pixels[admitted], features[admitted], labels[admitted]) if kept else None
            # None live: the very classifier serving (the readers hold its jury already; no new copy to send).
            served = base if live is None else Classifier(base.jury, base.version, live=live,
                                                          stroke_juror=base.stroke_juror)
            self._state = LiveState(served, kept, refused)
            if refused:
                log.warning("the live references' gate refused %d confirmed flag(s)", len(refused))
            return self._state

    def _admit(self, base: Classifier, ids: tuple, pixels: np.ndarray, features: np.ndarray,
               labels: np.ndarray) -> np.ndarray:
        """The gate's verdict per flag: those judged before for this model keep theirs; the new
        ones are judged beside the admitted old ones."""
        admitted = np.array([self._judged.get(sample_id, False) for sample_id in ids], bool)
        new = np.array([index for index, sample_id in enumerate(ids) if sample_id not in self._judged], int)
        if len(new):
            if self._gate is None:
                self._gate = Gate(base, *(self._gate_digits or gate_digits()))
            old = np.flatnonzero(admitted)
            order = np.concatenate([old, new])
            admitted[new] = self._gate.admit(pixels[order], features[order], labels[order], already=len(old))[len(old):]
            self._judged.update((ids[index], bool(admitted[index])) for index in new)
        return admitted


def every(seconds: float, work, name: str) -> threading.Thread:
    """Run work() now and every `seconds` in a daemon thread; a failure is logged, never fatal."""
    def loop() -> None:
        while True:
            try:
                work()
            except Exception:  # noqa: BLE001 - the readings go on with the references they have
                log.exception("%s failed; trying again in %g s", name, seconds)
            stop.wait(seconds)

    stop = threading.Event()
    thread = threading.Thread(target=loop, daemon=True, name=name)
    thread.start()
    return thread

