"""Helpers shared by the tests (fixtures live in conftest.py)."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

PROJECT = Path(__file__).resolve().parent.parent
SMALL_MNIST = 6000  # training digits for tests that train a jury: what they check does not need 50,000


def run_cli(*arguments: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "digit", *arguments], cwd=PROJECT, capture_output=True,
                          text=True, timeout=120)


def run_module(module: str, *arguments: str, timeout: float = 900) -> subprocess.CompletedProcess:
    """python -m module arguments..., from the project folder; fails the test on a non-zero exit."""
    result = subprocess.run([sys.executable, "-m", module, *arguments], cwd=PROJECT, capture_output=True, text=True,
                            timeout=timeout)
    assert result.returncode == 0, result.stderr[-3000:]
    return result


def last_json_line(result: subprocess.CompletedProcess) -> dict:
    return json.loads(result.stdout.strip().splitlines()[-1])


def wait_for(condition, seconds: float = 60) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.2)
    return False


def app_errors(log: str) -> list[str]:
    """The exception line of every traceback in the app's log, except a visitor hanging up
    mid-upload: Gradio's server logs starlette's ClientDisconnect when a page closes while the
    Sketchpad still sends its canvas (the browser tests close pages), and nothing fails."""
    errors = []
    for block in log.split("Traceback (most recent call last):")[1:]:
        exception = next((line for line in block.splitlines() if line.strip() and not line[0].isspace()), "")
        if not exception.startswith("starlette.requests.ClientDisconnect"):
            errors.append(exception or block[:200])
    return errors


def stored_samples(folder: Path) -> list[dict]:
    """The feedback folder as `datasets` loads it (a fresh cache: never a stale copy)."""
    import tempfile

    from datasets import load_dataset

    with tempfile.TemporaryDirectory() as cache:
        return list(load_dataset(str(folder), split="train", cache_dir=cache))
