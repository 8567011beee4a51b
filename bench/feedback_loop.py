"""The feedback loop at full size: flag a style MNIST lacks, have others confirm it, retrain on all of MNIST, measure.

    python -m bench.feedback_loop      (also part of `make bench`)

One visitor flags 40 bubble digits; the corrections the jury was sure of are contested, and two
other visitors, each on their own network, confirm them through the API (`next_correction`, `check`):
a contested correction teaches only once confirmed. The app plays behind one proxy (PROXY_HOPS=1)
and each client sends its own X-Forwarded-For, as the Hub's proxy would append it.
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
from digit.model.store import read_card
from testing.local_app import HttpApi, running_app
from testing.renderings import bubble_digits

FLAGGER = "198.51.100.7"  # the visitor who corrects the jury
REVIEWERS = ("203.0.113.9", "192.0.2.9")  # two visitors on two other networks (/24s)


def _accuracy(api: HttpApi, files: list[tuple[str, int]]) -> float:
    return sum(api.predict(path, api_name="classify")["label"] == str(digit) for path, digit in files) / len(files)


def as_visitor(url: str, address: str) -> HttpApi:
    """The app's API as the visitor at address (the app runs with PROXY_HOPS=1)."""
    return HttpApi(url, headers={"X-Forwarded-For": address})


def answer_all(url: str, address: str, agree: bool = True, most: int = 10_000) -> dict[str, int]:
    """The visitor at address answers every correction the app offers them (next_correction), until
    none is left or most; returns how many answers were counted and refused."""
    api, counted, refused = as_visitor(url, address), 0, 0
    try:
        for _ in range(most):
            offered = api.call("next_correction")
            if offered["sample"] is None:
                break
            try:
                api.call("check", offered["sample"], agree)
                counted += 1
            except RuntimeError:
                refused += 1
                break  # a refusal (a limit) ends this visitor's turn
    finally:
        api.close()
    return {"counted": counted, "refused": refused}


def retrain_app(app: dict, mnist_limit: int | None = None) -> tuple[dict, float]:
    """A full retraining from the running app's feedback into its model folder (which it follows):
    the retraining's JSON report and how long it took. mnist_limit: a tiny trial of the bench itself."""
    start = time.perf_counter()
    limit = ["--mnist-limit", str(mnist_limit)] if mnist_limit else []
    result = subprocess.run([sys.executable, "-m", "training.retrain", "--feedback", str(app["feedback"]),
                             "--model-dir", str(app["models"]), *limit], cwd=PROJECT_DIR, capture_output=True, text=True)
    if result.returncode != 0:
        raise RuntimeError(f"retraining failed: {result.stderr[-2000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1]), time.perf_counter() - start


def feedback_loop(folder: Path, flagged_count: int = 40, fresh_count: int = 40, mnist_limit: int | None = None) -> dict:
    """Fresh bubble digits read before and after others are flagged, confirmed and the jury retrained."""
    fresh = bubble_digits(folder / "fresh", fresh_count, seed=1)
    flagged = bubble_digits(folder / "flagged", flagged_count, seed=2)
    # One person's 40 corrections, sent at once here rather than over an hour: no per-minute limit.
    with running_app(folder / "app", environment={"FLAGS_PER_MINUTE": "0", "PROXY_HOPS": "1"}) as app:
        api = as_visitor(app["url"], FLAGGER)
        before = _accuracy(api, fresh)
        for path, digit in flagged:
            api.predict(path, digit, api_name="flag")
        confirmations = [answer_all(app["url"], reviewer) for reviewer in REVIEWERS]
        card_before = read_card(app["models"])
        report, seconds = retrain_app(app, mnist_limit)
        after = _accuracy(api, fresh)  # the running app has reloaded the promoted model
        card_after = read_card(app["models"])
        api.close()
    return {
        "flagged": len(flagged), "promoted": report["promoted"], "reason": report["reason"],
        "contested": confirmations[0]["counted"], "confirmations": [answers["counted"] for answers in confirmations],
        "confirmed": report.get("feedback_confirmed"), "held_back_unconfirmed": report.get("feedback_unconfirmed"),
        "retrain_seconds": round(seconds, 1), "retrain_peak_memory_mb": card_after.training.get("peak_memory_mb"),
        "fresh_bubble_accuracy_before": before, "fresh_bubble_accuracy_after": after,
        "held_out_feedback_before": report["current"]["feedback_accuracy"],
        "held_out_feedback_after": report["candidate"]["feedback_accuracy"],
        "validation_before": report["current"]["validation_accuracy"],
        "validation_after": report["candidate"]["validation_accuracy"],
        "mnist_test_before": card_before.metric("mnist_test_accuracy"),
        "mnist_test_after": card_after.metric("mnist_test_accuracy"),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description="The feedback loop at full size: 40 bubble digits flagged through the "
                                     "running app, confirmed by two other networks, a full retraining, the figures "
                                     "before and after (about 10 minutes).")
    parser.add_argument("--flagged", type=int, default=40)
    parser.add_argument("--fresh", type=int, default=40)
    parser.add_argument("--mnist-limit", type=int, default=None, help="a tiny trial of the bench itself, not a figure")
    arguments = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        print(json.dumps(feedback_loop(Path(folder), arguments.flagged, arguments.fresh, arguments.mnist_limit)))


if __name__ == "__main__":
    main()
