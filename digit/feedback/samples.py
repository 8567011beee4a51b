"""A feedback sample's row and columns, and the Parquet shards samples are stored in.

The sample itself (digit/reading/sample.py) comes from the reading: its picture already capped, its
digit already normalised; `sample_row` checks what the person added and packs it as a row.

A shard is an immutable Parquet file whose schema carries `datasets`' features (image as
the Image feature with the PNG bytes embedded, label as a ClassLabel), so that
`datasets.load_dataset` reads a folder or a Hub repo of shards with the right columns.
Its name says when and by whom it was written and how many rows it holds, so a listing
of names is enough to count samples and plan merges (merging.py).
"""

from __future__ import annotations

import datetime as dt
import errno
import io
import json
import math
import re
from collections.abc import Sequence
import uuid
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from datasets import ClassLabel, Features, Image, List, Value
from PIL import Image as PILImage

from digit.atomic import written_whole
from digit.reading.images import BadImage, ImageInput, NoDigit, read_picture
from digit.reading.pad import checked_strokes
from digit.reading.preprocess import normalize
from digit.config import STORED_SIDE
from digit.reading.sample import Sample
from digit.visitors import UNKNOWN_VISITOR, checked_network, checked_visitor

SOURCES = ("sketch", "upload", "api", "challenge")  # challenge: drawn on "Fool the jury" for a named digit
DIGITS = [str(digit) for digit in range(10)]
FEATURES = Features({
    "id": Value("string"),
    "image": Image(),
    "label": ClassLabel(names=DIGITS),
    "predicted": Value("int32"),
    "confidence": Value("float32"),
    "model_version": Value("string"),
    "source": Value("string"),
    "created_at": Value("string"),
    "visitor": Value("string"),
    "digit_hash": Value("string"),
    "digit": Image(),  # what the jury read: the normalised 28x28 digit (PNG); null in older samples
    "network": Value("string"),  # the sender's network, a keyed hash (digit/visitors.py); null in older samples
    # The pad's strokes as drawn, Quick, Draw!'s raw format (digit/reading/pad.py): per stroke [[x...], [y...],
    # [t...]] in pad pixels and ms since the first point; empty for uploads, API pictures, older samples
    "strokes": List(List(List(Value("int32")))),
})
COLUMNS = list(FEATURES)
MERGED_FROM = b"digit.merged_from"  # shard metadata: the shards a merge replaced (crash recovery)
DATA = "data"


_NAME = re.compile(r"^(?P<stamp>\d{8}T\d{12}Z)-(?P<random>[0-9a-f]{8})-r(?P<rows>\d+)\.parquet$")


class FeedbackError(ValueError):
    """A sample we refuse to store; the message says why, for people."""


class DailyLimit(FeedbackError):
    """The visitor sent FLAGS_PER_DAY samples (or votes) in the last 24 hours."""

    def __init__(self, limit: int, what: str = "corrections"):
        super().__init__(f"you have sent {limit} {what} in the last 24 hours, the most we take from one "
                         "person in a day; thank you, and please come back tomorrow")


class DuplicateSample(FeedbackError):
    """The visitor sent this digit (a picture that normalises to the same one) with this label
    before; it is stored once."""

    def __init__(self, label: int, sample_id: str):
        super().__init__(f"you already sent this drawing as a {label}; it is kept once, so it was not saved again")
        self.sample_id = sample_id  # the sample that holds it


class DiskFull(FeedbackError):
    """No room left on the server's disk for the sample (or the vote)."""

    def __init__(self, what: str = "correction") -> None:
        super().__init__(f"the server's disk is full; your {what} was not saved")


class VoteRefused(FeedbackError):
    """A vote we do not count: the voter's own flag, a second vote, a sample not to be checked."""


def is_disk_full(error: OSError) -> bool:
    return error.errno in (errno.ENOSPC, errno.EDQUOT)


def checked_label(label: Any) -> int:
    """Exactly the integers 0-9, given as a number (3, 3.0) or a string ("3"); anything else
    is refused with what is wrong with it: 3.5, True, NaN, "seven", [3]."""
    if isinstance(label, bool):
        raise FeedbackError(f"the correct digit must be a whole number 0-9, not {_shown(label)}")
    if isinstance(label, str):
        text = label.strip()
        if not re.fullmatch(r"[0-9]", text):
            raise FeedbackError(f"the correct digit must be one of 0-9, not {_shown(label)}")
        return int(text)
    if isinstance(label, (int, np.integer)):
        value = int(label)
    elif isinstance(label, (float, np.floating)):
        if math.isnan(label) or math.isinf(label):
            raise FeedbackError(f"the correct digit must be a number 0-9, not {_shown(label)}")
        if not float(label).is_integer():
            raise FeedbackError(f"the correct digit must be a whole number 0-9, not {_shown(label)}")
        value = int(label)
    elif label is None:
        raise FeedbackError("the correct digit (0-9) is missing")
    else:
        raise FeedbackError(f"the correct digit must be a number 0-9, not a {type(label).__name__}")
    if not 0 <= value <= 9:
        raise FeedbackError(f"the correct digit must be 0-9, not {_shown(value)}")
    return value


def _shown(value: Any, most: int = 24) -> str:
    """What was sent, for a message: at most a few characters of it (a 5 MB label is not echoed)."""
    if isinstance(value, int) and abs(value) >= 10**most:  # str() of a huge int is slow, or refused
        return f"a number of about {int(value.bit_length() * 0.30103) + 1} digits"
    text = repr(value)
    return text if len(text) <= most else text[:most] + "…"


def sample_of(image: ImageInput, label: Any = None, *, predicted: int | None = None,
              confidence: float | None = None, model_version: str = "unknown", source: str = "upload",
              visitor: str = UNKNOWN_VISITOR, network: str | None = None) -> Sample:
    """The sample of a picture no reading kept (a tool, a test): decoded once and normalised
    here; refuses what holds no digit. The app's samples come from their reading instead."""
    if image is None:
        raise FeedbackError("no image to save: draw or upload a digit first")
    picture = read_picture(image)
    try:
        digit = normalize(picture).pixels
    except NoDigit:
        raise FeedbackError("there is no digit in this image to save") from None
    return Sample(picture.capped(STORED_SIDE), digit, predicted, confidence, model_version, source, label=label,
                  visitor=visitor, network=network)


def digit_hash(digit: np.ndarray) -> str:
    """A perceptual hash of a normalised 28x28 digit (64 hex digits): whether each of its 255
    lowest DCT frequencies but the mean is above their median. The same drawing sent again
    hashes the same; resized, re-encoded or moved it often does, or is a few bits away."""
    frequencies = cv2.dct(cv2.resize(digit.astype(np.float32), (32, 32), interpolation=cv2.INTER_LINEAR))
    low = frequencies[:16, :16].reshape(-1)[1:]
    return np.packbits(np.r_[False, low > np.median(low)]).tobytes().hex()


def sample_row(sample: Sample) -> dict:
    """The checked sample as one row of the dataset; raises FeedbackError. Its picture and digit
    are taken as the reading kept them: nothing is decoded or normalised again."""
    label = checked_label(sample.label)
    visitor = checked_visitor(sample.visitor)
    if sample.picture is None:
        raise FeedbackError("no image to save: draw or upload a digit first")
    if sample.digit is None:
        raise FeedbackError("there is no digit in this image to save")
    if sample.source not in SOURCES:
        raise FeedbackError(f"unknown source {sample.source!r}")
    try:
        strokes = checked_strokes(sample.strokes) if sample.strokes else []
    except BadImage as error:
        raise FeedbackError(str(error)) from None
    return {
        "id": uuid.uuid4().hex,
        # capped() is the picture itself when it is within STORED_SIDE, as a reading's sample is
        "image": {"bytes": png_bytes(sample.picture.capped(STORED_SIDE).pixels, compress_level=1),
                  "path": None},  # speed over size
        "label": label,
        "predicted": None if sample.predicted is None else int(sample.predicted),
        "confidence": None if sample.confidence is None else float(sample.confidence),
        "model_version": str(sample.model_version),
        "source": sample.source,
        "created_at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="milliseconds"),
        "visitor": visitor,
        "digit_hash": digit_hash(sample.digit),
        "digit": {"bytes": png_bytes(sample.digit), "path": None},  # ~300 bytes: the gallery decodes no upload
        "network": checked_network(sample.network),
        "strokes": strokes,
    }


def png_bytes(pixels: np.ndarray, compress_level: int = 6) -> bytes:
    buffer = io.BytesIO()
    PILImage.fromarray(pixels).save(buffer, format="PNG", compress_level=compress_level)
    return buffer.getvalue()


def shard_name(rows: int) -> str:
    """When (sortable), a random part (two writers in one microsecond), how many rows."""
    stamp = dt.datetime.now(dt.timezone.utc).strftime("%Y%m%dT%H%M%S%fZ")
    return f"{stamp}-{uuid.uuid4().hex[:8]}-r{rows}.parquet"


def rows_in(name: str) -> int:
    """The row count a shard's name records (0 for a name that is not a shard of ours)."""
    match = _NAME.match(Path(name).name)
    return int(match["rows"]) if match else 0


def is_shard(name: str) -> bool:
    return bool(_NAME.match(Path(name).name))


def write_shard(folder: Path, table: pa.Table, merged_from: Sequence[str] = ()) -> Path:
    """Write table as a new shard in folder, whole or not at all (digit/atomic.py), linked
    into place: never over another file. Returns the shard's path."""
    path = folder / shard_name(table.num_rows)
    metadata = dict(table.schema.metadata or {})
    if merged_from:
        metadata[MERGED_FROM] = json.dumps(sorted(merged_from)).encode()
    with written_whole(path, replace=False) as staged:
        pq.write_table(table.replace_schema_metadata(metadata), str(staged), compression="zstd")
    return path


def rows_table(rows: list[dict]) -> pa.Table:
    return pa.Table.from_pylist(rows, schema=FEATURES.arrow_schema)


def read_table(path: Path, columns: list[str] | None = None) -> pa.Table:
    """A shard's rows (the named columns only); a column an older shard lacks reads as nulls."""
    return pq.read_table(path, columns=columns, schema=FEATURES.arrow_schema)


def with_visitors(table: pa.Table) -> pa.Table:
    """Rows of an older shard (no visitor or strokes column: read as nulls) said to come from
    "unknown", with no strokes."""
    index = table.schema.get_field_index("visitor")
    table = table.set_column(index, "visitor", pc.fill_null(table["visitor"], UNKNOWN_VISITOR))
    index = table.schema.get_field_index("strokes")
    return table.set_column(index, "strokes", pc.fill_null(table["strokes"], pa.scalar([], table["strokes"].type)))


def is_current(path: Path) -> bool:
    """Whether a shard has every column of today's schema (older ones lack visitor, digit_hash, digit, strokes)."""
    return set(COLUMNS) <= set(pq.read_schema(path).names)


def merged_from(path: Path) -> list[str]:
    """The shards a merged shard replaced (empty for a shard written by a flag)."""
    metadata = pq.read_schema(path).metadata or {}
    return json.loads(metadata[MERGED_FROM]) if MERGED_FROM in metadata else []


