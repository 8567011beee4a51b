"""The feedback dataset: corrected samples saved locally, pushed to a Hugging Face dataset repo.

Layout (what `datasets.load_dataset(folder, split="train")` reads as an image folder):

    FEEDBACK_DIR/data/<writer>/<sample id>.png
    FEEDBACK_DIR/data/<writer>/metadata.jsonl   one line per sample: file_name, label, predicted,
                                                confidence, model_version, source, created_at

Each process writes its own <writer> folder, so two processes never append to one file.
Within a process, a lock serialises writers and the push: the image is written whole and
renamed into place, then its metadata line is appended and synced; only then is the sample
acknowledged. The push is huggingface_hub's CommitScheduler on the same lock, the pattern
its documentation gives for Spaces; a Hub that is down only delays it.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import threading
import uuid
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import numpy as np
from gradio import FlaggingCallback
from huggingface_hub import CommitScheduler, HfApi
from PIL import Image

from digit.config import feedback_dir, feedback_repo, hub_endpoint, hub_token
from digit.images import ImageInput, NoDigit, read_picture
from digit.preprocess import normalize

MAX_SIDE = 512  # stored images are capped to this long side
SOURCES = ("sketch", "upload", "api")
METADATA = "metadata.jsonl"
log = logging.getLogger(__name__)


class FeedbackError(ValueError):
    """A sample we refuse to store; the message says why, for people."""


@dataclass(frozen=True)
class Sample:
    image: ImageInput
    label: int
    predicted: int | None = None
    confidence: float | None = None
    model_version: str = "unknown"
    source: str = "upload"


def storable_image(image: ImageInput) -> np.ndarray:
    """The input as sent (uint8 L, RGB or RGBA), capped to MAX_SIDE; refuses what holds no digit.

    A Picture (what the app read) is not decoded again; a file or bytes is decoded once."""
    picture = read_picture(image)
    try:
        normalize(picture)
    except NoDigit:
        raise FeedbackError("there is no digit in this image to save") from None
    return picture.capped(MAX_SIDE).pixels


class FeedbackStore(FlaggingCallback):
    """Gradio flagging callback that writes the feedback dataset and pushes it to the Hub.

    flag() takes [image, correct label, predicted, confidence, model version, source].
    """

    def __init__(self, folder: Path | None = None, repo_id: str | None = None, token: str | None = None,
                 every_minutes: float = 1.0, retry_seconds: float = 5.0):
        self.folder = Path(folder) if folder else None
        self.repo_id = repo_id if repo_id is not None else feedback_repo()
        self._token = token if token is not None else hub_token()
        self.every_minutes = every_minutes
        self.retry_seconds = retry_seconds
        self.lock = threading.Lock()
        self.scheduler = None
        self.push_error: str | None = None
        self._writer_dir: Path | None = None
        self._stop = threading.Event()

    def __repr__(self) -> str:  # never show the token
        return f"FeedbackStore(folder={self.folder!s}, repo_id={self.repo_id!r})"

    # -- FlaggingCallback -------------------------------------------------------------------
    def setup(self, components: Sequence[Any] = (), flagging_dir: str | Path | None = None) -> None:
        self.folder = Path(flagging_dir or self.folder or feedback_dir())
        writer = f"{dt.datetime.now(dt.timezone.utc):%Y%m%d-%H%M%S}-{uuid.uuid4().hex[:8]}"
        self._writer_dir = self.folder / "data" / writer
        self._writer_dir.mkdir(parents=True, exist_ok=True)
        _repair_torn_lines(self.folder)
        if self.repo_id and self._token:
            threading.Thread(target=self._start_pushing, daemon=True, name="feedback-push").start()

    def flag(self, flag_data: list[Any], flag_option: str | None = None, username: str | None = None) -> int:
        image, label, *rest = list(flag_data) + [None] * (6 - len(flag_data))
        predicted, confidence, model_version, source = rest[:4]
        self.save(Sample(image, label, predicted, confidence, model_version or "unknown", source or "upload"))
        return self.count()

    # -- the store ----------------------------------------------------------------------------
    def save(self, sample: Sample) -> str:
        """Write one sample durably; returns its file name. Raises FeedbackError or BadImage."""
        if self._writer_dir is None:
            self.setup()
        label = _digit(sample.label)
        if sample.image is None:
            raise FeedbackError("no image to save: draw or upload a digit first")
        if sample.source not in SOURCES:
            raise FeedbackError(f"unknown source {sample.source!r}")
        pixels = storable_image(sample.image)
        name = f"{uuid.uuid4().hex}.png"
        record = {
            "file_name": name,
            "label": label,
            "predicted": None if sample.predicted is None else int(sample.predicted),
            "confidence": None if sample.confidence is None else round(float(sample.confidence), 6),
            "model_version": str(sample.model_version),
            "source": sample.source,
            "created_at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="milliseconds"),
        }
        with self.lock:
            final = self._writer_dir / name
            partial = self._writer_dir / f".{name}.tmp"
            Image.fromarray(pixels).save(partial, format="PNG")
            _sync(partial)
            os.replace(partial, final)
            with open(self._writer_dir / METADATA, "a", encoding="utf-8") as handle:
                handle.write(json.dumps(record) + "\n")
                handle.flush()
                os.fsync(handle.fileno())
        return name

    def records(self) -> list[dict]:
        """Every acknowledged sample's metadata, with the path of its image."""
        found = []
        for metadata in sorted((self.folder or feedback_dir()).glob(f"data/*/{METADATA}")):
            for line in metadata.read_text(encoding="utf-8").splitlines():
                if line.strip():
                    record = json.loads(line)
                    record["path"] = str(metadata.parent / record["file_name"])
                    found.append(record)
        return found

    def count(self) -> int:
        return len(self.records())

    def per_digit(self, records: list[dict] | None = None) -> dict[int, int]:
        """Samples per digit, of records when the caller has already read them."""
        counts = Counter(record["label"] for record in (self.records() if records is None else records))
        return {digit: counts.get(digit, 0) for digit in range(10)}

    # -- pushing ------------------------------------------------------------------------------
    def _start_pushing(self) -> None:
        """Create the scheduler, retrying while the Hub cannot be reached."""
        delay = self.retry_seconds
        api = HfApi(endpoint=hub_endpoint(), token=self._token)
        while not self._stop.is_set():
            try:
                self.scheduler = _SharedLockScheduler(
                    self.lock, repo_id=self.repo_id, repo_type="dataset", folder_path=self.folder,
                    every=self.every_minutes, private=True, ignore_patterns=["*.tmp"], hf_api=api,
                )
                self.push_error = None
                return
            except Exception as error:  # noqa: BLE001 - any Hub failure means: try again later
                self.push_error = _without_token(str(error), self._token)
                log.warning("feedback push not started yet: %s", self.push_error)
                self._stop.wait(delay)
                delay = min(delay * 2, 300)

    def close(self) -> None:
        self._stop.set()
        if self.scheduler is not None:
            self.scheduler.stop()


class _SharedLockScheduler(CommitScheduler):
    """CommitScheduler whose lock is the store's, from its first push on."""

    def __init__(self, shared_lock: threading.Lock, **options: Any):
        self._shared_lock = shared_lock
        super().__init__(**options)

    @property
    def lock(self) -> threading.Lock:
        return self._shared_lock

    @lock.setter
    def lock(self, _ignored: threading.Lock) -> None:
        pass  # CommitScheduler.__init__ makes its own; ours is kept


def _digit(label: Any) -> int:
    try:
        value = float(label)
    except (TypeError, ValueError):
        raise FeedbackError(f"the correct digit must be 0-9, not {label!r}") from None
    if not value.is_integer() or not 0 <= value <= 9:
        raise FeedbackError(f"the correct digit must be 0-9, not {label!r}")
    return int(value)


def _sync(path: Path) -> None:
    with open(path, "rb+") as handle:
        os.fsync(handle.fileno())


def _repair_torn_lines(folder: Path) -> None:
    """A crash mid-append can leave a last line without its newline: that sample was never
    acknowledged, so the torn line is cut off and the folder stays loadable."""
    for metadata in folder.glob(f"data/*/{METADATA}"):
        data = metadata.read_bytes()
        if data and not data.endswith(b"\n"):
            keep = data[: data.rfind(b"\n") + 1]
            metadata.write_bytes(keep)


def _without_token(text: str, token: str | None) -> str:
    return text.replace(token, "***") if token else text

