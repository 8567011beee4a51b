"""Helpers to run the real app on a loopback port, shared by the tests and the benchmark."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path

from digit.config import PROJECT_DIR, model_dir


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_until_up(url: str, process: subprocess.Popen, seconds: float = 90) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the app exited with {process.returncode}")
        try:
            urllib.request.urlopen(url, timeout=2)
            return
        except OSError:
            time.sleep(0.5)
    raise TimeoutError(f"the app did not answer at {url}")


@contextmanager
def running_app(folder: Path):
    """The real app (`python app.py`) on a free loopback port, with its own model and feedback
    folders in folder and no Hub push; yields url, feedback, models, log and process."""
    port = free_port()
    models, feedback = folder / "models", folder / "feedback"
    shutil.copytree(model_dir(), models)
    log_path = folder / "app.log"
    environment = {**os.environ, "GRADIO_SERVER_NAME": "127.0.0.1", "GRADIO_SERVER_PORT": str(port),
                   "FEEDBACK_DIR": str(feedback), "MODEL_DIR": str(models)}
    environment.pop("FEEDBACK_REPO", None)
    environment.pop("HF_TOKEN", None)
    with open(log_path, "w") as log:
        process = subprocess.Popen([sys.executable, "app.py"], cwd=PROJECT_DIR, env=environment,
                                   stdout=log, stderr=subprocess.STDOUT)
        url = f"http://127.0.0.1:{port}/"
        try:
            wait_until_up(url, process)
            yield {"url": url, "feedback": feedback, "models": models, "log": log_path, "process": process}
        finally:
            process.terminate()
            process.wait(timeout=20)
