"""The scheduled retraining Job's run against its timeout: `python -m bench.scheduled_job` (part of `make bench`).

A local Hub holds what a deployed Space has: the Space (deployed from this checkout), a model
repo serving the shipped jury and a feedback dataset repo of `--samples` drawings. The Job's own
steps then run here as the Job runs them, in a fresh folder with no cache, as in a fresh container
(digit/hub/jobs.py STEPS: the Space's code downloaded, the due check, the retraining on all of
MNIST and its gate, the promotion): measured are the wall time and the peak memory of that run,
beside the Job's timeout and the Jobs default of 30 minutes. Not measured: the Job's
pip install of the Space's requirements (the network's speed; add it), and the queueing before a Job starts.

`--mnist-limit N` runs it small, to check that it works (its figures say nothing then).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.retrain_scale import synthetic_feedback
from digit.hub import jobs as hub_jobs
from digit.config import model_dir
from digit.hub.deploy import deploy
from digit.hub.client import hub_api
from testing.hub import LocalHub
from testing.local_app import free_port

TOKEN = "hf_bench_scheduled_job"
SPACE, FEEDBACK, MODEL = "user/digit-jury", "user/feedback", "user/jury"
JOBS_DEFAULT_TIMEOUT = 30 * 60
RUN_STEPS = ("code", "retrain")  # the Job's steps after its pip installs

# Runs a shell command and prints the peak resident memory (KiB) of its largest process: a fresh
# process per run, so that the figure is this run's.
MEASURED = """
import resource, subprocess, sys
done = subprocess.run(["sh", "-c", sys.argv[1], "job", *sys.argv[2:]])
print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
sys.exit(done.returncode)
"""


def scheduled_job(folder: Path, samples: int = 40, mnist_limit: int | None = None) -> dict:
    """The Job's run at full size (or on mnist_limit digits): seconds, peak memory, the verdict."""
    hub = LocalHub(free_port(), TOKEN).start()
    saved = {key: os.environ.get(key) for key in ("HF_ENDPOINT", "HF_HUB_DISABLE_XET", "HF_TOKEN")}
    os.environ.update({**hub.env(), "HF_TOKEN": TOKEN})  # deploy and the seeding talk to the local Hub
    try:
        api = hub_api()
        deploy(SPACE, variables={"FEEDBACK_REPO": FEEDBACK, "MODEL_REPO": MODEL})
        api.create_repo(MODEL, repo_type="model")
        api.upload_folder(folder_path=model_dir(), repo_id=MODEL, repo_type="model")
        synthetic_feedback(folder / "feedback", samples)
        api.create_repo(FEEDBACK, repo_type="dataset")
        api.upload_folder(folder_path=folder / "feedback", repo_id=FEEDBACK, repo_type="dataset",
                          allow_patterns=["data/*"])
        job = hub_jobs.RetrainJob(SPACE, FEEDBACK, MODEL)
        command = " && ".join(hub_jobs.STEPS[name] for name in RUN_STEPS)
        extra = ["--mnist-limit", str(mnist_limit)] if mnist_limit else []  # "$@" of the retrain step
        work = folder / "job"
        work.mkdir()
        env = {key: value for key, value in os.environ.items() if key != "PYTHONPATH"}  # the downloaded code runs
        env |= {**job.env, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}",
                "MODEL_CACHE": str(folder / "model-cache")}
        start = time.perf_counter()
        done = subprocess.run([sys.executable, "-c", MEASURED, command, *extra], cwd=work, env=env,
                              capture_output=True, text=True)
        seconds = time.perf_counter() - start
        if done.returncode != 0:
            raise RuntimeError(f"the Job's command failed: {done.stderr[-3000:]}")
        *_, report_line, peak_line = done.stdout.strip().splitlines()
        report = json.loads(report_line)
        due_line = next((line for line in done.stdout.splitlines() if line.startswith("retraining")), None)
    finally:
        hub.stop()
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
    return {"feedback_samples": samples, "mnist_limit": mnist_limit, "seconds": round(seconds, 1),
            "peak_memory_mb": round(int(peak_line) / 1024), "timeout_seconds": hub_jobs.TIMEOUT_SECONDS,
            "jobs_default_timeout_seconds": JOBS_DEFAULT_TIMEOUT,
            "share_of_default_timeout": round(seconds / JOBS_DEFAULT_TIMEOUT, 2),
            "due": due_line, "promoted": report["promoted"], "reason": report["reason"]}


def row(result: dict) -> tuple[str, str, str]:
    """The `make bench` table's row."""
    return (f"scheduled retraining Job's run ({result['feedback_samples']} feedback samples: code fetched, due check, "
            "retraining and its gate; pip install not included)",
            "{seconds} s ({share_of_default_timeout:.0%} of 30 min), peak {peak_memory_mb} MB; job timeout "
            "{minutes} min; promoted: {promoted}".format(**result, minutes=result["timeout_seconds"] // 60),
            "fits 30 min with margin")


def main() -> None:
    parser = argparse.ArgumentParser(description="The scheduled retraining Job's run: time and memory vs its timeout.")
    parser.add_argument("--samples", type=int, default=40, help="feedback samples in the dataset repo")
    parser.add_argument("--mnist-limit", type=int, default=None, metavar="N",
                        help="train on N MNIST digits (checks that it works; not a measurement)")
    arguments = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        result = scheduled_job(Path(folder), arguments.samples, arguments.mnist_limit)
    print("| {} | {} | {} |".format(*row(result)))
    print(json.dumps(result))


if __name__ == "__main__":
    main()
