"""Settings read from the environment, in one place."""

from __future__ import annotations

import os
from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parent.parent


def model_dir() -> Path:
    """Where the jury and its card live (MODEL_DIR, default: the shipped models/)."""
    return Path(os.environ.get("MODEL_DIR") or PROJECT_DIR / "models")


def feedback_dir() -> Path:
    """The local feedback dataset folder (FEEDBACK_DIR, default: data/feedback)."""
    return Path(os.environ.get("FEEDBACK_DIR") or "data/feedback")
