"""Feedback shards as the app wrote them before the visitor column, for the tests that check
older datasets still load, upgrade and retrain."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from datasets import ClassLabel, Features, Image as ImageFeature, Value
from PIL import Image

from digit.feedback.samples import shard_name

OLD_FEATURES = Features({
    "id": Value("string"), "image": ImageFeature(), "label": ClassLabel(names=[str(digit) for digit in range(10)]),
    "predicted": Value("int32"), "confidence": Value("float32"), "model_version": Value("string"),
    "source": Value("string"), "created_at": Value("string"),
})


def write_old_shard(folder: Path, images: list[np.ndarray], labels: list[int], prefix: str = "old") -> list[str]:
    """One shard of these samples in folder/data, without visitor and digit_hash; returns their ids."""
    rows = []
    for index, (image, label) in enumerate(zip(images, labels)):
        buffer = io.BytesIO()
        Image.fromarray(image).save(buffer, format="PNG")
        rows.append({"id": f"{prefix}{index}", "image": {"bytes": buffer.getvalue(), "path": None}, "label": label,
                     "predicted": label, "confidence": 0.5, "model_version": "old", "source": "sketch",
                     "created_at": "2026-11-27T12:00:00+00:00"})
    (folder / "data").mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.Table.from_pylist(rows, schema=OLD_FEATURES.arrow_schema), folder / "data" / shard_name(len(rows)))
    return [row["id"] for row in rows]
