"""The feedback loop end to end through a Hub: flag a style the jury gets wrong, retrain,
see the Space serve what it learned.

On a reduced MNIST (helpers.SMALL_MNIST digits; `small_models` in conftest.py): what this
checks (a new style is learned, the running app takes the promoted model) does not need
50,000 digits. `make bench` runs the same loop at full size and reports its figures.
"""

from __future__ import annotations

import json

from huggingface_hub import HfApi

from digit.feedback.samples import rows_in
from digit.model_store import read_card
from helpers import SMALL_MNIST, last_json_line, run_module, wait_for
from testing.hub import LocalHub
from testing.local_app import HttpApi, free_port, running_app
from testing.renderings import bubble_digits

TOKEN = "hf_retrain_token_for_tests"


def accuracy(api: HttpApi, files: list[tuple[str, int]]) -> float:
    return sum(api.predict(path, api_name="classify")["label"] == str(digit) for path, digit in files) / len(files)


def test_flags_on_a_space_teach_the_jury_that_the_space_then_serves(tmp_path, small_models):
    """The whole loop through the Hub: the app pushes flags to a dataset repo; the retraining
    reads that repo at a pinned commit, promotes and pushes to the model repo the app
    follows; the running app serves the new jury without a restart."""
    hub = LocalHub(free_port(), TOKEN).start()
    try:
        api = HfApi(endpoint=hub.endpoint, token=TOKEN)
        api.create_repo("team/jury", repo_type="model")
        api.upload_folder(folder_path=small_models, repo_id="team/jury", repo_type="model")
        settings = {**hub.env(), "HF_TOKEN": TOKEN, "FEEDBACK_REPO": "team/feedback", "MODEL_REPO": "team/jury",
                    "FEEDBACK_PUSH_MINUTES": "0.05", "MODEL_POLL_MINUTES": "0.05",
                    "MODEL_CACHE": str(tmp_path / "model_cache"),
                    "FLAGS_PER_MINUTE": "0"}  # one person's 40 corrections, sent at once rather than over an hour
        fresh = bubble_digits(tmp_path / "fresh", 40, seed=1)
        flagged = bubble_digits(tmp_path / "flagged", 40, seed=2)
        with running_app(tmp_path / "app", environment=settings) as app:
            client = HttpApi(app["url"])
            before = accuracy(client, fresh)
            for path, digit in flagged:
                assert client.predict(path, digit, api_name="flag").startswith("Saved")
            assert wait_for(lambda: dataset_rows(hub) == len(flagged), seconds=60)
            pushed_at = hub.head("team/feedback")
            result = run_module("training.retrain", "--feedback", "team/feedback", "--push-model", "team/jury",
                                "--mnist-limit", str(SMALL_MNIST), env={**settings, "MODEL_CACHE": str(tmp_path / "c")})
            report = last_json_line(result)
            assert report["promoted"], report["reason"]
            assert wait_for(lambda: accuracy(client, fresh) >= 0.8, seconds=60)  # served, no restart
            after = accuracy(client, fresh)
            client.close()
    finally:
        hub.stop()
    card = json.loads(hub.files("team/jury", repo_type="model")["model_card.json"])
    assert before < 0.6 and after >= 0.8, (before, after)  # the style was misread, then learned
    assert report["candidate"]["feedback_accuracy"] > report["current"]["feedback_accuracy"]
    assert card["version"] == report["version"] and card["parent_version"] == read_card(small_models)["version"]
    assert card["data"]["feedback_repo"] == "team/feedback" and card["data"]["feedback_revision"] == pushed_at
    assert card["data"]["feedback"] + card["data"]["feedback_held_out"] == len(flagged)
    assert "model-index" in hub.files("team/jury", repo_type="model")["README.md"].decode()
    assert not hub.state.unknown


def dataset_rows(hub) -> int:
    try:
        return sum(rows_in(path) for path in hub.files("team/feedback") if path.startswith("data/"))
    except KeyError:
        return 0
