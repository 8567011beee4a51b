"""Shared fixtures: MNIST validation digits, the shipped jury, and the real app server."""

from __future__ import annotations

import os

# Nothing in the tests may reach the internet: any Hub call not aimed at a local test server
# goes to a closed loopback port and fails at once. Set before huggingface_hub is imported.
os.environ["HF_ENDPOINT"] = "http://127.0.0.1:9"
os.environ["HF_HUB_DISABLE_TELEMETRY"] = "1"
os.environ["HF_HUB_DISABLE_UPDATE_CHECK"] = "1"
os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"
import shutil
import subprocess
import sys
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pytest

from digit.config import model_dir
from digit.model_store import load_model
from training.data import load_mnist
from training.local_app import free_port, wait_until_up

PROJECT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def mnist():
    return load_mnist()


@pytest.fixture(scope="session")
def validation_digits(mnist):
    """A fixed handful of validation digits (never the test set) with their labels."""
    rng = np.random.default_rng(7)
    picks = rng.choice(len(mnist.validation.labels), size=60, replace=False)
    return mnist.validation.images[picks], mnist.validation.labels[picks]


@pytest.fixture(scope="session")
def classifier():
    return load_model().classifier


@contextmanager
def running_app(folder: Path):
    """The real app (`python app.py`) on a free loopback port, with its own model and feedback folders."""
    port = free_port()
    models, feedback = folder / "models", folder / "feedback"
    shutil.copytree(model_dir(), models)
    log_path = folder / "app.log"
    environment = {**os.environ, "GRADIO_SERVER_NAME": "127.0.0.1", "GRADIO_SERVER_PORT": str(port),
                   "FEEDBACK_DIR": str(feedback), "MODEL_DIR": str(models)}
    environment.pop("FEEDBACK_REPO", None)
    environment.pop("HF_TOKEN", None)
    with open(log_path, "w") as log:
        process = subprocess.Popen([sys.executable, "app.py"], cwd=PROJECT, env=environment,
                                   stdout=log, stderr=subprocess.STDOUT)
        url = f"http://127.0.0.1:{port}/"
        try:
            wait_until_up(url, process)
            yield {"url": url, "feedback": feedback, "models": models, "log": log_path, "process": process}
        finally:
            process.terminate()
            process.wait(timeout=20)


@pytest.fixture(scope="session")
def app_server(tmp_path_factory):
    with running_app(tmp_path_factory.mktemp("app")) as app:
        yield app
