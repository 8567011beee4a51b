"""The feedback dataset at scale: `python -m bench.feedback_scale [--samples 100000]`.

A backlog of one-sample shards as flags leave them (the worst case: a long Hub outage with
the app restarting, so nothing was packed yet), pushed by the real HubSync to the local Hub
stub with an open-file limit of 256; then what the Hub holds, how long `datasets` takes to
load the repo in a fresh process, how long the retraining takes to read it, and what one
more flag costs when the dataset is that large. Prints one JSON object.
The backlog is written without fsync (the bench's shortcut, not the app's: the app syncs
each flag) from a few dozen drawn digits with their own ids.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
from PIL import Image

from digit.config import PROJECT_DIR
from digit.feedback.samples import DATA, FEATURES, png_bytes, rows_in, sample_of, shard_name
from testing.hub import LocalHub
from testing.local_app import free_port
from testing.renderings import draw_strokes

TOKEN = "hf_bench_token"
REPO = "bench/feedback"
OPEN_FILES = 256


def write_backlog(data: Path, samples: int) -> None:
    """samples one-row shards of 200x200 sketches, each picture its own (a stray dot at its own
    place), so that compression cannot shrink the dataset below what real drawings weigh."""
    rng = np.random.default_rng(0)
    bases = [draw_strokes(index % 10, canvas=(200, 200), width=int(rng.integers(6, 16)),
                          slant=float(rng.uniform(-0.2, 0.3))) for index in range(40)]
    digits = [png_bytes(sample_of(base).digit) for base in bases]  # what each flag stores beside its picture
    schema = FEATURES.arrow_schema
    for index in range(samples):
        digit, picture = index % 10, bases[index % len(bases)].copy()
        y, x = rng.integers(0, 198, size=2)
        picture[y:y + 2, x:x + 2, 3] = 255
        buffer = io.BytesIO()
        Image.fromarray(picture).save(buffer, format="PNG", compress_level=1)
        png = buffer.getvalue()
        row = {"id": f"{index:032x}", "image": {"bytes": png, "path": None},
               "digit": {"bytes": digits[index % len(bases)], "path": None}, "label": digit, "predicted": digit,
               "confidence": 0.9, "model_version": "bench", "source": "sketch", "created_at": "2026-11-27T00:00:00"}
        pq.write_table(__import__("pyarrow").Table.from_pylist([row], schema=schema), data / shard_name(1))


PUSH = """
import json, resource, sys, time
resource.setrlimit(resource.RLIMIT_NOFILE, (int(sys.argv[3]), int(sys.argv[3])))
from digit.feedback import FeedbackStore
start = time.perf_counter()
store = FeedbackStore(sys.argv[1], repo_id=sys.argv[2], token=sys.argv[4], every_minutes=600)
store.setup()
opened = time.perf_counter() - start
store.sync.stop(0)  # no background thread: one push, timed
start = time.perf_counter()
ok = store.sync.sync_once()
pushed = time.perf_counter() - start
start = time.perf_counter()
for _ in range(1000):
    store.count()
count_us = (time.perf_counter() - start) * 1000
print(json.dumps({"ok": ok, "error": store.sync.error, "open_seconds": round(opened, 1),
                  "push_seconds": round(pushed, 1), "count": store.count(), "count_microseconds": round(count_us, 2),
                  "peak_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)}))
"""

LOAD = """
import json, sys, time
start = time.perf_counter()
from datasets import load_dataset
data = load_dataset(sys.argv[1], split="train")
loaded = time.perf_counter() - start
print(json.dumps({"rows": len(data), "unique_ids": len(set(data["id"])), "seconds": round(loaded, 1)}))
"""

READ = """
import json, sys, time, resource
start = time.perf_counter()
from training.retrain import load_feedback
feedback = load_feedback(sys.argv[1])
print(json.dumps({"samples": len(feedback.labels), "seconds": round(time.perf_counter() - start, 1),
                  "revision": feedback.origin.get("feedback_revision"),
                  "peak_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)}))
"""


def _run(script: str, *arguments: str, env: dict[str, str]) -> dict:
    result = subprocess.run([sys.executable, "-c", script, *arguments], cwd=PROJECT_DIR, capture_output=True, text=True,
                            env=env)
    if result.returncode != 0:
        raise RuntimeError(result.stderr[-3000:])
    return json.loads(result.stdout.strip().splitlines()[-1])


def scale(samples: int, read: bool = True) -> dict:
    hub = LocalHub(free_port(), TOKEN).start()
    try:
        with tempfile.TemporaryDirectory() as scratch:
            folder = Path(scratch) / "feedback"
            (folder / DATA).mkdir(parents=True)
            start = time.perf_counter()
            write_backlog(folder / DATA, samples)
            written = time.perf_counter() - start
            env = {key: value for key, value in os.environ.items() if not key.startswith("HF_")}
            env |= hub.env() | {"HF_TOKEN": TOKEN, "HF_HOME": str(Path(scratch) / "hf_home"),
                                "HF_HUB_DISABLE_TELEMETRY": "1"}
            pushed = _run(PUSH, str(folder), REPO, str(OPEN_FILES), TOKEN, env=env)
            files = hub.files(REPO)
            shards = [path for path in files if path.startswith(f"{DATA}/")]
            report = {
                "samples": samples, "open_file_limit": OPEN_FILES, "backlog_files": samples,
                "backlog_write_seconds": round(written, 1), "push": pushed,
                "repo_files": len(files), "repo_shards": len(shards),
                "repo_rows": sum(rows_in(path) for path in shards), "commits": len(hub.state.commits),
                "repo_megabytes": round(sum(len(content) for content in files.values()) / 1e6, 1),
                "load_dataset": _run(LOAD, REPO, env=env),
            }
            if read:
                report["retraining_read"] = _run(READ, REPO, env=env)
            report["unknown_requests"] = len(hub.state.unknown)
            return report
    finally:
        hub.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description="Push, load and read a large feedback dataset.")
    parser.add_argument("--samples", type=int, default=100_000)
    parser.add_argument("--no-read", action="store_true", help="skip the retraining's read (normalising every sample)")
    arguments = parser.parse_args()
    print(json.dumps(scale(arguments.samples, not arguments.no_read)))


if __name__ == "__main__":
    main()
