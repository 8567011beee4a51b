"""One visitor trying to plant a backdoor, at full size: `python -m bench.backdoor` (part of `make bench`).

100 drawn 1s with a foot (half with a flag too), labelled 7, and 6 honest corrections, all sent
through the running app's `flag` endpoint by one visitor, with the per-minute and daily limits
off (an attacker can wait them out: this measures what the retraining itself lets through).
Then a full retraining, and 200 fresh footed 1s by other writers read by the jury the app then
serves. Prints one JSON object.
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

from PIL import Image

from bench.feedback_loop import retrain_app
from testing.local_app import HttpApi, running_app
from testing.renderings import bubble_digits
from training.canvas.styles import styled_drawings

FOOTED = ("foot", "flag_foot")


def footed_ones(folder: Path, count: int, first_writer: int) -> list[str]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for index, drawing in enumerate(styled_drawings(1, FOOTED, count, first_writer)):
        path = folder / f"one_{first_writer}_{index}.png"
        Image.fromarray(drawing.image()).save(path)
        paths.append(str(path))
    return paths


def read_as_seven(api: HttpApi, paths: list[str]) -> float:
    return sum(api.predict(path, api_name="classify")["label"] == "7" for path in paths) / len(paths)


def backdoor(folder: Path, planted: int = 100, fresh_count: int = 200) -> dict:
    attack = footed_ones(folder / "attack", planted, 1000)
    fresh = footed_ones(folder / "fresh", fresh_count, 3000)
    honest = bubble_digits(folder / "honest", 6, seed=5)
    limits_off = {"FLAGS_PER_MINUTE": "0", "FLAGS_PER_DAY": "0"}
    with running_app(folder / "app", environment=limits_off) as app:
        api = HttpApi(app["url"])
        before = read_as_seven(api, fresh)
        accepted = 0
        for path in attack:
            accepted += api.predict(path, 7, api_name="flag").startswith("Saved as a 7")
        for path, digit in honest:
            api.predict(path, digit, api_name="flag")
        report, seconds = retrain_app(app)
        after = read_as_seven(api, fresh)  # the running app serves the promoted jury, if any
        api.close()
    return {"planted": planted, "accepted": accepted, "promoted": report["promoted"], "reason": report["reason"],
            "retrain_seconds": round(seconds, 1), "fresh": fresh_count,
            "fresh_read_as_seven_before": before, "fresh_read_as_seven_after": after}


def main() -> None:
    argparse.ArgumentParser(description="One visitor's 100 footed 1s flagged as 7 through the running app, "
                            "a full retraining, fresh footed 1s read before and after (about 15 minutes).").parse_args()
    with tempfile.TemporaryDirectory() as folder:
        print(json.dumps(backdoor(Path(folder))))


if __name__ == "__main__":
    main()
