"""The feedback loop end to end through a Hub: flag a style the jury gets wrong, have others check
the contested corrections through the API, let the Space's scheduled Job retrain, see the Space serve
what it learned.

The local Hub stub runs no Job: the test reads the command the Hub holds and runs it here, less two
steps: the pip installs of the Space's requirements (this venv has them; the tests have no internet)
and the fixed working folder; the Space's code is fetched from the Hub as the Job does. On a reduced MNIST (helpers.SMALL_MNIST digits; `small_models` in
conftest.py): what this checks (a new style is learned, the running app takes the promoted model)
does not need 50,000 digits. `make bench` runs the same loop at full size and reports its figures.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from digit import cli
from digit.feedback.samples import png_bytes, rows_in
from digit.hub import jobs as hub_jobs
from digit.hub.deploy import deploy
from digit.model.card import ModelCard
from digit.model.store import load_model, read_card
from helpers import HUB_TOKEN, PROJECT, SMALL_MNIST, last_json_line, wait_for
from testing.local_app import HttpApi, running_app
from testing.renderings import bubble_digits, draw_strokes

SPACE, FEEDBACK, MODEL = "user/digit-jury", "user/feedback", "user/jury"
FLAGGER, REVIEWER, SKEPTIC = "198.51.100.7", "203.0.113.9", "192.0.2.9"  # three visitors on three networks


def answer_all(url: str, address: str, agree) -> int:
    """The visitor at address answers every contested correction the app offers them through the
    API (next_correction, check), agree(offered) -> their word; returns how many were counted."""
    api, counted = HttpApi(url, headers={"X-Forwarded-For": address}), 0
    while (offered := api.call("next_correction"))["sample"] is not None:
        assert api.call("check", offered["sample"], agree(offered)).startswith("Thank you")
        counted += 1
    api.close()
    return counted


def accuracy(api: HttpApi, files: list[tuple[str, int]]) -> float:
    return sum(api.predict(path, api_name="classify")["label"] == str(digit) for path, digit in files) / len(files)


def run_job(job, hub, work: Path, tmp_path: Path) -> subprocess.CompletedProcess:
    """The scheduled Job's command as the Hub holds it, run here: the Space's code downloaded from the
    Hub, then the retraining."""
    here = " && ".join(hub_jobs.STEPS[name] for name in ("code", "retrain"))
    work.mkdir(exist_ok=True)
    (PROJECT / "artifacts").mkdir(exist_ok=True)
    if not (work / "artifacts").exists():
        (work / "artifacts").symlink_to(PROJECT / "artifacts", target_is_directory=True)  # the training caches
    env = {key: value for key, value in os.environ.items() if key != "PYTHONPATH"}  # the downloaded code runs
    env |= {**job.job_spec.environment, **hub.env(), "HF_TOKEN": HUB_TOKEN,
            "PATH": f"{Path(sys.executable).parent}{os.pathsep}{env['PATH']}", "MODEL_CACHE": str(tmp_path / "c")}
    return subprocess.run(["sh", "-c", here, "job", "--mnist-limit", str(SMALL_MNIST)], cwd=work, env=env,
                          capture_output=True, text=True, timeout=600)


def test_flags_on_a_space_teach_the_jury_its_scheduled_job_promotes_and_the_space_then_serves(
        hub, monkeypatch, capsys, tmp_path, small_models):
    """The app pushes flags and votes to the dataset repo; the Space's scheduled Job reads that repo
    at a pinned commit, retrains, promotes to the model repo the app follows; the running app serves
    the new jury without a restart; the next scheduled run finds nothing new."""
    monkeypatch.setenv("HF_TOKEN", HUB_TOKEN)
    from digit.hub.client import hub_api

    api = hub_api()
    deploy(SPACE, variables={"FEEDBACK_REPO": FEEDBACK, "MODEL_REPO": MODEL})
    api.create_repo(MODEL, repo_type="model")
    api.upload_folder(folder_path=small_models, repo_id=MODEL, repo_type="model")
    assert cli.main(["schedule", SPACE]) == 0, capsys.readouterr().err
    [job] = api.list_scheduled_jobs(labels=hub_jobs.ROLE_LABEL, namespace="user")
    assert job.job_spec.command == ["sh", "-c", " && ".join(hub_jobs.STEPS.values())]  # the Hub's copy: its steps

    settings = {**hub.env(), "HF_TOKEN": HUB_TOKEN, "FEEDBACK_REPO": FEEDBACK, "MODEL_REPO": MODEL,
                "FEEDBACK_PUSH_MINUTES": "0.05", "MODEL_POLL_MINUTES": "0.05",
                "MODEL_CACHE": str(tmp_path / "model_cache"),
                "FLAGS_PER_MINUTE": "0",  # one person's 40 corrections, sent at once rather than over an hour
                "PROXY_HOPS": "1"}  # each client says its address as the Hub's proxy would
    planted = tmp_path / "three.png"  # a plain 3 the jury reads at once, flagged as an 8: contested
    planted.write_bytes(png_bytes(draw_strokes(3)))
    fresh = bubble_digits(tmp_path / "fresh", 40, seed=1)
    flagged = bubble_digits(tmp_path / "flagged", 40, seed=2)  # a style the small jury misreads
    with running_app(tmp_path / "app", models=small_models, environment=settings) as app:
        client = HttpApi(app["url"], headers={"X-Forwarded-For": FLAGGER})
        before = accuracy(client, fresh)
        for path, digit in flagged:
            assert client.predict(path, digit, api_name="flag").startswith("Saved")
        assert "others will check your correction" in client.predict(planted, 8, api_name="flag")
        assert client.call("next_correction")["sample"] is None  # never one's own corrections
        # Two other networks: one agrees with every contested correction, the other not with the 3.
        confirmed = answer_all(app["url"], REVIEWER, lambda offered: True)
        assert answer_all(app["url"], SKEPTIC, lambda offered: (offered["label"], offered["predicted"]) != (8, 3)) \
            == confirmed >= 1
        assert wait_for(lambda: dataset_rows(hub) == len(flagged) + 1 and pushed_votes(hub) == 2 * confirmed,
                        seconds=60)
        pushed_at = hub.head(FEEDBACK)
        done = run_job(job, hub, tmp_path / "job", tmp_path)
        assert done.returncode == 0, done.stderr[-3000:]
        assert (tmp_path / "job" / "training" / "retrain.py").exists()  # the code came from the Space
        assert f"\nretraining: the jury {MODEL} serves learned from no commit of {FEEDBACK}" in done.stdout
        report = last_json_line(done)
        assert report["promoted"], report["reason"]
        version = report["version"]
        assert wait_for(lambda: f"serving model {version}" in app["log"].read_text(), seconds=60)  # no restart
        after = accuracy(client, fresh)
        served = [client.predict(path, api_name="classify")["label"] for path, _ in fresh[:12]]
        client.close()
        assert app["process"].poll() is None  # the same process
    pushed = hub.files(MODEL, repo_type="model")
    card = ModelCard.from_json(pushed["model_card.json"].decode())
    assert before < 0.6 and after >= 0.8, (before, after)  # the style was misread, then learned
    assert report["candidate"]["feedback_accuracy"] > report["current"]["feedback_accuracy"]
    assert card.version == version and card.parent_version == read_card(small_models).version
    assert card.data["feedback_repo"] == FEEDBACK and card.data["feedback_revision"] == pushed_at
    # The 3 as an 8 (one network agreed, one did not) is held back, and beside it the flagger's other
    # corrections to 8 that contradict the jury; the confirmed contested ones teach.
    waiting_beside = card.data["feedback_unconfirmed"] - 1
    assert card.data["feedback_confirmed"] == confirmed - 1 and waiting_beside >= 0
    assert card.data["feedback"] + card.data["feedback_held_out"] + waiting_beside == len(flagged)
    assert "model-index" in pushed["README.md"].decode()
    # A stroke juror goes with the jury only when chosen beside it (its weight fits that jury's vote).
    if "strokes_card.json" in pushed:
        assert json.loads(pushed["strokes_card.json"])["jury_version"] == card.version
    promoted = tmp_path / "promoted"
    for name, content in pushed.items():
        (promoted / name).parent.mkdir(parents=True, exist_ok=True)
        (promoted / name).write_bytes(content)
    jury = load_model(promoted).classifier
    assert jury.version == version
    assert served == [str(jury.predict(path).digit) for path, _ in fresh[:12]]  # the app reads as the promoted jury
    again = run_job(job, hub, tmp_path / "job", tmp_path)  # the next scheduled run: nothing new
    assert again.returncode == 0 and f"\nno retraining: {FEEDBACK} has not changed" in again.stdout, again
    assert [commit.title for commit in hub.history(MODEL, repo_type="model")].count(f"Promote jury {version}") == 1
    assert not hub.state.unknown


def dataset_rows(hub) -> int:
    try:
        return sum(rows_in(path) for path in hub.files(FEEDBACK) if path.startswith("data/"))
    except KeyError:
        return 0


def pushed_votes(hub) -> int:
    try:
        return sum(len(content.splitlines()) for path, content in hub.files(FEEDBACK).items()
                   if path.startswith("votes/"))
    except KeyError:
        return 0
