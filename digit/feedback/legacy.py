"""The first layout of the feedback folder (one PNG per sample and a metadata.jsonl per
process under data/<writer>/), read once to be converted into shards."""

from __future__ import annotations

import json
import logging
from pathlib import Path

from digit.feedback.samples import SOURCES
from digit.visitors import UNKNOWN_VISITOR

log = logging.getLogger(__name__)


def legacy_folders(data: Path) -> list[Path]:
    return sorted(folder for folder in data.iterdir() if folder.is_dir() and (folder / "metadata.jsonl").exists())


def legacy_rows(folder: Path) -> list[dict]:
    """The samples of one old writer folder as dataset rows (a torn last line was never
    acknowledged and is skipped)."""
    rows = []
    for line in (folder / "metadata.jsonl").read_text(encoding="utf-8").splitlines():
        try:
            record = json.loads(line)
            image = (folder / record["file_name"]).read_bytes()
        except (ValueError, KeyError, OSError) as error:
            log.warning("old feedback line skipped in %s: %s", folder, error)
            continue
        rows.append({
            "id": Path(record["file_name"]).stem,
            "image": {"bytes": image, "path": None},
            "label": int(record["label"]),
            "predicted": record.get("predicted"),
            "confidence": record.get("confidence"),
            "model_version": str(record.get("model_version") or "unknown"),
            "source": record.get("source") if record.get("source") in SOURCES else "upload",
            "created_at": str(record.get("created_at") or ""),
            "visitor": UNKNOWN_VISITOR,  # the old layout did not say who sent a sample
            "digit_hash": None,
            "digit": None,
            "strokes": [],
        })
    return rows
