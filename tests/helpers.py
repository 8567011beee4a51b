"""Helpers shared by the tests (fixtures live in conftest.py)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

PROJECT = Path(__file__).resolve().parent.parent
HUB_TOKEN = "hf_secret_token_for_tests"  # the write token of the hub fixture (conftest.py)
SMALL_MNIST = 800  # training digits for tests that train a jury: what they check does not need 50,000


def run_cli(*arguments: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "digit", *arguments], cwd=PROJECT, capture_output=True,
                          text=True, timeout=120)


def run_module(module: str, *arguments: str, timeout: float = 900,
               env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """python -m module arguments..., from the project folder (env: settings on top of ours);
    fails the test on a non-zero exit."""
    import os

    result = subprocess.run([sys.executable, "-m", module, *arguments], cwd=PROJECT, capture_output=True, text=True,
                            timeout=timeout, env={**os.environ, **(env or {})})
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


BROWSER_ID = "0123456789abcdef" * 2
ONE_STROKE = [[[200, 300, 250], [100, 100, 300], [0, 40, 120]]]


def pad_value(picture, strokes: list = ONE_STROKE, browser: str = BROWSER_ID) -> dict:
    """What the drawing pad sends after a stroke (digit/reading/pad.py), for a picture (an array)."""
    import io

    from PIL import Image

    from testing.local_app import png_data_url

    buffer = io.BytesIO()
    Image.fromarray(picture).save(buffer, format="PNG")
    return {"image": png_data_url(buffer.getvalue()), "strokes": strokes, "browser": browser}


def stored_samples(folder: Path) -> list[dict]:
    """The feedback folder as `datasets` loads it (a fresh cache: never a stale copy); none
    while nothing was saved (datasets refuses a folder without data files)."""
    import tempfile

    from datasets import load_dataset
    from datasets.data_files import EmptyDatasetError

    with tempfile.TemporaryDirectory() as cache:
        try:
            return list(load_dataset(str(folder), split="train", cache_dir=cache))
        except EmptyDatasetError:
            return []


LOAD_REPO = """
import json, sys
from datasets import load_dataset
repo_id, revision = sys.argv[1], sys.argv[2] or None
data = load_dataset(repo_id, split="train", revision=revision)
print(json.dumps({"columns": data.column_names, "ids": list(data["id"]), "labels": list(data["label"]),
                  "label_names": getattr(data.features["label"], "names", None),
                  "modes": sorted({image.mode for image in data["image"]})}))
"""


def load_repo_in_fresh_process(hub, repo_id: str, token: str, folder: Path, revision: str | None = None) -> dict:
    """`datasets.load_dataset(repo_id)` against the local Hub in a new process with empty
    caches, as the retraining reads it (datasets reads HF_ENDPOINT when it is imported)."""
    import os

    env = {key: value for key, value in os.environ.items() if not key.startswith(("HF_", "HUGGINGFACE_"))}
    env |= hub.env() | {"HF_HOME": str(folder / "hf_home"), "HF_TOKEN": token, "HF_HUB_DISABLE_TELEMETRY": "1"}
    result = subprocess.run([sys.executable, "-c", LOAD_REPO, repo_id, revision or ""], env=env, capture_output=True,
                            text=True, timeout=180, cwd=PROJECT)
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


def browser_api():
    """Playwright's sync API for the browser tests, once Debian's chromium is here. Without them
    a test (or a whole module, when called at its top) skips and says how to get them, except in
    CI (CI=true), where the browser tests must run: there it is a failure."""
    import pytest

    from testing.browser import have_chromium

    if not have_chromium():
        if os.environ.get("CI"):
            raise RuntimeError("CI must run the browser tests: install Debian's chromium (make browser)")
        pytest.skip("no Chromium here: run `make browser` (as root) to run the browser tests", allow_module_level=True)
    try:
        import playwright.sync_api
    except ImportError:
        if os.environ.get("CI"):
            raise RuntimeError("CI must run the browser tests: install playwright (requirements-dev.txt)") from None
        pytest.skip("no playwright here: install requirements-dev.txt to run the browser tests", allow_module_level=True)
    return playwright.sync_api
