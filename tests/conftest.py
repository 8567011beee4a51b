"""Shared fixtures: MNIST validation digits, the shipped jury, and the real app server."""

from __future__ import annotations

import os

# Nothing in the tests may reach the internet: any Hub call not aimed at a local test server
# goes to a closed loopback port and fails at once. Set before huggingface_hub is imported.
os.environ["HF_ENDPOINT"] = "http://127.0.0.1:9"
os.environ["HF_HUB_DISABLE_TELEMETRY"] = "1"
# With hf_xet installed, huggingface_hub uploads LFS content through Xet storage, a protocol the
# local test Hub (tests/local_hub.py) does not speak; disabled, it uses the git-LFS batch API.
os.environ["HF_HUB_DISABLE_XET"] = "1"
os.environ["HF_HUB_DISABLE_UPDATE_CHECK"] = "1"
os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"
import numpy as np
import pytest

from bench.local_app import running_app
from digit.model_store import load_model
from training.data import load_mnist


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


@pytest.fixture(scope="session")
def app_server(tmp_path_factory):
    with running_app(tmp_path_factory.mktemp("app")) as app:
        yield app
