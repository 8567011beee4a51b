"""Retraining as the shared dataset grows: `python -m bench.retrain_scale [--sizes 1000,10000,50000]`.

For each size, a feedback folder of that many synthetic samples (hand-drawn-looking digits,
each its own drawing) is retrained on with the shipped jury as the current one, as
`make retrain` does; measured: wall time, peak memory of the retraining process, the
candidate's model file and whether it was promoted. Prints one JSON line per size.
"""

from __future__ import annotations

import argparse
import io
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
from PIL import Image

from digit.config import PROJECT_DIR, model_dir
from digit.feedback.samples import FEATURES, write_shard
from digit.model.store import MODEL_FILE
from testing.renderings import jittered_strokes, pad_strokes


def synthetic_feedback(folder: Path, samples: int, seed: int = 11) -> None:
    """samples drawings in shards of 1,000, as a merged feedback store holds them."""
    rng = np.random.default_rng(seed)
    data = folder / "data"
    data.mkdir(parents=True)
    for start in range(0, samples, 1000):
        rows = []
        for index in range(start, min(start + 1000, samples)):
            digit = index % 10
            buffer = io.BytesIO()
            Image.fromarray(jittered_strokes(digit, rng, canvas=200, width=int(rng.integers(6, 20)))).save(
                buffer, format="PNG", compress_level=1)
            # drawn on the pad, with their strokes; every fifth for "Fool the jury"
            rows.append({"id": f"{index:032x}", "image": {"bytes": buffer.getvalue(), "path": None}, "label": digit,
                         "predicted": digit, "confidence": 0.9, "model_version": "bench",
                         "source": "challenge" if index % 5 == 0 else "sketch", "strokes": pad_strokes(digit),
                         "created_at": "2026-11-27T00:00:00"})
        write_shard(data, pa.Table.from_pylist(rows, schema=FEATURES.arrow_schema))


# Runs a command and prints the peak resident memory (KiB) of it and its own children: each
# size gets its own figure (RUSAGE_CHILDREN of this process would keep the largest so far).
MEASURED = """
import resource, subprocess, sys
done = subprocess.run([sys.executable, *sys.argv[1:]])
print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
sys.exit(done.returncode)
"""


def retrain_at(samples: int) -> dict:
    with tempfile.TemporaryDirectory() as scratch:
        feedback, models = Path(scratch) / "feedback", Path(scratch) / "models"
        synthetic_feedback(feedback, samples)
        shutil.copytree(model_dir(), models)
        start = time.perf_counter()
        result = subprocess.run([sys.executable, "-c", MEASURED, "-m", "training.retrain", "--feedback", str(feedback),
                                 "--model-dir", str(models)], cwd=PROJECT_DIR, capture_output=True, text=True)
        seconds = time.perf_counter() - start
        if result.returncode != 0:
            raise RuntimeError(result.stderr[-3000:])
        *_, report_line, peak_line = result.stdout.strip().splitlines()
        report = json.loads(report_line)
        return {"feedback_samples": samples, "seconds": round(seconds, 1), "peak_memory_mb": round(int(peak_line) / 1024),
                "promoted": report["promoted"], "reason": report["reason"],
                "model_megabytes": round((models / MODEL_FILE).stat().st_size / 1e6, 2),
                "held_out_feedback": report["candidate"]["feedback_accuracy"],
                "validation": report["candidate"]["validation_accuracy"]}


def main() -> None:
    parser = argparse.ArgumentParser(description="Retraining time, memory and size as feedback grows.")
    parser.add_argument("--sizes", default="1000,10000,50000")
    arguments = parser.parse_args()
    for size in (int(value) for value in arguments.sizes.split(",")):
        print(json.dumps(retrain_at(size)), flush=True)


if __name__ == "__main__":
    main()
