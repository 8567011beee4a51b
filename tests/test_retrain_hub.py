"""The feedback loop end to end through a Hub: flag a style the jury gets wrong, have others
check the contested corrections through the API, retrain, see the Space serve what it learned.

On a reduced MNIST (helpers.SMALL_MNIST digits; `small_models` in conftest.py): what this
checks (a new style is learned, the running app takes the promoted model) does not need
50,000 digits. `make bench` runs the same loop at full size and reports its figures.
"""

from __future__ import annotations

import json

from huggingface_hub import HfApi

from digit.feedback.samples import png_bytes, rows_in
from digit.model.card import ModelCard
from digit.model.store import read_card
from helpers import SMALL_MNIST, last_json_line, run_module, wait_for
from testing.hub import LocalHub
from testing.local_app import HttpApi, free_port, running_app
from testing.renderings import bubble_digits, draw_strokes

TOKEN = "hf_retrain_token_for_tests"
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
                    "FLAGS_PER_MINUTE": "0",  # one person's 40 corrections, sent at once rather than over an hour
                    "PROXY_HOPS": "1"}  # each client says its address as the Hub's proxy would
        planted = tmp_path / "three.png"  # a plain 3 the jury reads at once, flagged as an 8: contested
        planted.write_bytes(png_bytes(draw_strokes(3)))
        fresh = bubble_digits(tmp_path / "fresh", 40, seed=1)
        flagged = bubble_digits(tmp_path / "flagged", 40, seed=2)
        with running_app(tmp_path / "app", environment=settings) as app:
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
    card = ModelCard.from_json(hub.files("team/jury", repo_type="model")["model_card.json"].decode())
    assert before < 0.6 and after >= 0.8, (before, after)  # the style was misread, then learned
    assert report["candidate"]["feedback_accuracy"] > report["current"]["feedback_accuracy"]
    assert card.version == report["version"] and card.parent_version == read_card(small_models).version
    assert card.data["feedback_repo"] == "team/feedback" and card.data["feedback_revision"] == pushed_at
    # The 3 as an 8 (one network agreed, one did not) is held back, and beside it the flagger's other
    # corrections to 8 that contradict the jury; the confirmed contested ones teach.
    waiting_beside = card.data["feedback_unconfirmed"] - 1
    assert card.data["feedback_confirmed"] == confirmed - 1 and waiting_beside >= 0
    assert card.data["feedback"] + card.data["feedback_held_out"] + waiting_beside == len(flagged)
    assert "model-index" in hub.files("team/jury", repo_type="model")["README.md"].decode()
    # A stroke juror goes with the jury only when chosen beside it (its weight fits that jury's vote).
    pushed = hub.files("team/jury", repo_type="model")
    if "strokes_card.json" in pushed:
        assert json.loads(pushed["strokes_card.json"])["jury_version"] == card.version
    assert not hub.state.unknown


def dataset_rows(hub) -> int:
    try:
        return sum(rows_in(path) for path in hub.files("team/feedback") if path.startswith("data/"))
    except KeyError:
        return 0


def pushed_votes(hub) -> int:
    try:
        return sum(len(content.splitlines()) for path, content in hub.files("team/feedback").items()
                   if path.startswith("votes/"))
    except KeyError:
        return 0
