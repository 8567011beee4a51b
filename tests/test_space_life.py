"""A Space's life with a real app process: restarts by SIGTERM, with the Hub up and down, and a
deploy. Against the local Hub stub, with the real clients. (A new model promoted while the app
runs and served without a restart: tests/test_retrain_hub.py.)"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest
from PIL import Image

from digit.feedback.samples import DATA, rows_in
from helpers import PROJECT, load_repo_in_fresh_process, stored_samples, wait_for
from testing.hub import LocalHub
from testing.local_app import HttpApi, free_port, running_app
from testing.renderings import draw_strokes

TOKEN = "hf_space_token_for_tests"
REPO = "team/feedback"


@pytest.fixture
def hub():
    hub = LocalHub(free_port(), TOKEN).start()
    yield hub
    hub.stop()


@pytest.fixture(scope="module")
def digit_files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("digits")
    files = []
    for digit in range(5):
        path = folder / f"{digit}.png"
        Image.fromarray(draw_strokes(digit, canvas=(300, 300), width=12)).save(path)
        files.append((str(path), digit))
    return files


def space_settings(hub, feedback) -> dict[str, str]:
    """A Space with a dataset repo: pushes every hour, so only the last push can send the flags."""
    return {**hub.env(), "FEEDBACK_REPO": REPO, "HF_TOKEN": TOKEN, "FEEDBACK_PUSH_MINUTES": "60",
            "FEEDBACK_DIR": str(feedback)}


def hub_files(hub) -> dict[str, bytes]:
    """The dataset repo's files at main (none while it does not exist)."""
    try:
        return hub.files(REPO)
    except KeyError:
        return {}


def hub_rows(hub) -> int:
    return sum(rows_in(path) for path in hub_files(hub) if path.startswith(f"{DATA}/"))


def stop_like_a_space(app) -> float:
    """SIGTERM, as a Space restart sends it; returns how long the app took to exit."""
    start = time.monotonic()
    app["process"].send_signal(signal.SIGTERM)
    app["process"].wait(timeout=60)
    return time.monotonic() - start


def flag_all(app, files) -> None:
    api = HttpApi(app["url"])
    for path, digit in files:
        assert api.predict(path, digit, api_name="flag").startswith(f"Saved as a {digit}")
    api.close()


def test_sigterm_right_after_five_flags_pushes_all_five(hub, tmp_path, digit_files):
    feedback = tmp_path / "feedback"
    with running_app(tmp_path / "app", environment=space_settings(hub, feedback)) as app:
        assert wait_for(lambda: "README.md" in hub_files(hub), seconds=30)  # the start-up push made the repo
        flag_all(app, digit_files)
        seconds = stop_like_a_space(app)
        log = app["log"].read_text()
    assert app["process"].returncode == 0, log[-2000:]
    assert seconds < 30
    assert hub_rows(hub) == 5
    loaded = load_repo_in_fresh_process(hub, REPO, TOKEN, tmp_path)
    assert sorted(loaded["labels"]) == [0, 1, 2, 3, 4] and len(set(loaded["ids"])) == 5
    assert "all pushed" in log and TOKEN not in log


def test_sigterm_with_the_hub_down_keeps_the_flags_for_the_next_start(hub, tmp_path, digit_files):
    feedback = tmp_path / "feedback"
    hub.stop()
    with running_app(tmp_path / "first", environment=space_settings(hub, feedback)) as app:
        flag_all(app, digit_files)
        seconds = stop_like_a_space(app)
    assert seconds < 30
    assert len(stored_samples(feedback)) == 5  # acknowledged: on disk
    hub.start()
    assert hub_files(hub) == {}
    with running_app(tmp_path / "second", environment=space_settings(hub, feedback)) as app:
        assert wait_for(lambda: hub_rows(hub) == 5, seconds=60)  # the start-up push
        stop_like_a_space(app)
    loaded = load_repo_in_fresh_process(hub, REPO, TOKEN, tmp_path)
    assert sorted(loaded["labels"]) == [0, 1, 2, 3, 4] and len(set(loaded["ids"])) == 5  # none twice



def test_deploy_uploads_what_the_space_runs_and_nothing_else(hub, tmp_path):
    result = run_cli_with(hub, "deploy", "team/digit-jury", "--variable", "FEEDBACK_REPO=team/feedback")
    assert result.returncode == 0, result.stderr[-2000:]
    files = hub.files("team/digit-jury", repo_type="space")
    assert {"app.py", "requirements.txt", "README.md", "models/jury.skops", "models/model_card.json",
            "digit/page/actions.py", "digit/reading/classifier.py", "training/retrain.py"} <= set(files)  # the Job's code too
    assert not [path for path in files if path.startswith(("tests/", "bench/", "testing/", "artifacts/",
                                                          "data/", ".venv/")) or "__pycache__" in path]
    assert files["models/jury.skops"] == (PROJECT / "models" / "jury.skops").read_bytes()
    assert "models/jury.skops" in [path for commit in hub.state.commits for path in commit["lfs"]]  # over 10 MB: LFS
    assert files["README.md"].startswith(b"---\ntitle:")  # the front matter configures the Space
    assert hub.repo("team/digit-jury", "space").variables["FEEDBACK_REPO"]["value"] == "team/feedback"
    again = run_cli_with(hub, "deploy", "team/digit-jury")  # a second deploy: nothing changed, nothing re-sent
    assert again.returncode == 0, again.stderr[-2000:]
    assert [path for commit in hub.state.commits for path in commit["lfs"]].count("models/jury.skops") == 1
    assert not hub.state.unknown


def test_deploy_without_a_valid_token_says_so_without_a_traceback(hub):
    result = run_cli_with(hub, "deploy", "team/digit-jury", token="hf_wrong")
    assert result.returncode == 1
    assert "could not deploy" in result.stderr and "Traceback" not in result.stderr and "hf_wrong" not in result.stderr


def run_cli_with(hub, *arguments: str, token: str = TOKEN):
    env = {key: value for key, value in os.environ.items() if not key.startswith("HF_") or key == "HF_HOME"}
    return subprocess.run([sys.executable, "-m", "digit", *arguments], cwd=PROJECT, capture_output=True, text=True,
                          timeout=300, env=env | hub.env() | {"HF_TOKEN": token})
