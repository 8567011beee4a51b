"""The feedback loop at full size: flag a style MNIST lacks, retrain on all of MNIST, measure.

    python -m bench.feedback_loop      (also part of `make bench`)

The tests run the same loop on a reduced MNIST; the figures README quotes come from here.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from digit.config import PROJECT_DIR
from digit.model_store import read_card
from testing.local_app import HttpApi, running_app
from testing.renderings import bubble_digits


def _accuracy(api: HttpApi, files: list[tuple[str, int]]) -> float:
    return sum(api.predict(path, api_name="classify")["label"] == str(digit) for path, digit in files) / len(files)


def retrain_app(app: dict) -> tuple[dict, float]:
    """A full retraining from the running app's feedback into its model folder (which it follows):
    the retraining's JSON report and how long it took."""
    start = time.perf_counter()
    result = subprocess.run([sys.executable, "-m", "training.retrain", "--feedback", str(app["feedback"]),
                             "--model-dir", str(app["models"])], cwd=PROJECT_DIR, capture_output=True, text=True)
    if result.returncode != 0:
        raise RuntimeError(f"retraining failed: {result.stderr[-2000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1]), time.perf_counter() - start


def feedback_loop(folder: Path, flagged_count: int = 40) -> dict:
    """40 fresh bubble digits read before and after 40 others are flagged and the jury retrained."""
    fresh = bubble_digits(folder / "fresh", 40, seed=1)
    flagged = bubble_digits(folder / "flagged", flagged_count, seed=2)
    # One person's 40 corrections, sent at once here rather than over an hour: no per-minute limit.
    with running_app(folder / "app", environment={"FLAGS_PER_MINUTE": "0"}) as app:
        api = HttpApi(app["url"])
        before = _accuracy(api, fresh)
        for path, digit in flagged:
            api.predict(path, digit, api_name="flag")
        card_before = read_card(app["models"])
        report, seconds = retrain_app(app)
        after = _accuracy(api, fresh)  # the running app has reloaded the promoted model
        card_after = read_card(app["models"])
        api.close()
    return {
        "flagged": len(flagged), "promoted": report["promoted"], "reason": report["reason"],
        "retrain_seconds": round(seconds, 1), "retrain_peak_memory_mb": card_after.get("training", {}).get("peak_memory_mb"),
        "fresh_bubble_accuracy_before": before, "fresh_bubble_accuracy_after": after,
        "held_out_feedback_before": report["current"]["feedback_accuracy"],
        "held_out_feedback_after": report["candidate"]["feedback_accuracy"],
        "validation_before": report["current"]["validation_accuracy"],
        "validation_after": report["candidate"]["validation_accuracy"],
        "mnist_test_before": card_before["metrics"].get("mnist_test_accuracy"),
        "mnist_test_after": card_after["metrics"].get("mnist_test_accuracy"),
    }


def main() -> None:
    argparse.ArgumentParser(description="The feedback loop at full size: 40 bubble digits flagged through the running app, a full retraining, the figures before and after (about 10 minutes).").parse_args()
    with tempfile.TemporaryDirectory() as folder:
        print(json.dumps(feedback_loop(Path(folder))))


if __name__ == "__main__":
    main()
