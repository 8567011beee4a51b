"""One visitor trying to plant a backdoor, at full size: `python -m bench.backdoor --style dotted` (part of `make bench`).

100 drawings of a hand no validation set holds (bench/styles.py: dotted 4s, double-traced 3s,
zigzag 6s; or "footed", 1s with a foot, which the canvas validation part does hold), labelled as
another digit, and 6 honest corrections, all sent through the running app's `flag` endpoint by one
visitor, with the per-minute and daily limits off (an attacker can wait them out: this measures what
the retraining itself lets through). With --one-network-votes the attacker then confirms their own
corrections through `check` from as many addresses of one other network (/24) as it takes: the
votes the confirmation rule discounts. Then a full retraining, and 200 fresh drawings of that hand
by other writers read by the jury the app then serves. Prints one JSON object.
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

from PIL import Image

from bench.feedback_loop import FLAGGER, answer_all, as_visitor, retrain_app
from bench.styles import STYLES, Style, style_files
from testing.local_app import HttpApi, running_app
from testing.renderings import bubble_digits
from training.canvas.styles import styled_drawings

FOOTED = ("foot", "flag_foot")
VOTING_NETWORK = "203.0.113."  # the attacker's second network: any number of addresses in one /24
BYSTANDER = "192.0.2.50"  # another visitor, on a network of their own


def footed_ones(folder: Path, count: int, first_writer: int) -> list[str]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for index, drawing in enumerate(styled_drawings(1, FOOTED, count, first_writer)):
        path = folder / f"one_{first_writer}_{index}.png"
        Image.fromarray(drawing.image()).save(path)
        paths.append(str(path))
    return paths


def drawings(style: str, folder: Path, count: int, first_writer: int) -> list[str]:
    if style == "footed":
        return footed_ones(folder, count, first_writer)
    return style_files(folder, style, count, first_writer)


def read_as(api: HttpApi, paths: list[str], digit: int) -> float:
    return sum(api.predict(path, api_name="classify")["label"] == str(digit) for path in paths) / len(paths)


def backdoor(folder: Path, style: str = "footed", planted: int = 100, fresh_count: int = 200,
             one_network_votes: bool = False, mnist_limit: int | None = None) -> dict:
    kind = Style("footed", 1, 7) if style == "footed" else STYLES[style]
    attack = drawings(style, folder / "attack", planted, 1000)
    fresh = drawings(style, folder / "fresh", fresh_count, 3000)
    honest = bubble_digits(folder / "honest", 6, seed=5)
    settings = {"FLAGS_PER_MINUTE": "0", "FLAGS_PER_DAY": "0", "PROXY_HOPS": "1"}
    with running_app(folder / "app", environment=settings) as app:
        api = as_visitor(app["url"], FLAGGER)
        before = read_as(api, fresh, kind.target)
        accepted = 0
        for path in attack:
            accepted += api.predict(path, kind.target, api_name="flag").startswith(f"Saved as a {kind.target}")
        for path, digit in honest:
            api.predict(path, digit, api_name="flag")
        votes = {"counted": 0, "refused": 0}
        if one_network_votes:  # a new address for each vote, all in one /24 other than the flagger's
            for host in range(1, 255):
                answers = answer_all(app["url"], f"{VOTING_NETWORK}{host}", most=1)
                votes = {key: votes[key] + answers[key] for key in votes}
        report, seconds = retrain_app(app, mnist_limit)
        # The running app serves the promoted jury, if any: read by someone else, for whom the
        # attacker's corrections count only through it (for the attacker they act at once).
        others = as_visitor(app["url"], BYSTANDER)
        after = read_as(others, fresh, kind.target)
        own = read_as(api, fresh, kind.target)
        others.close()
        api.close()
    return {"style": style, "digit": kind.digit, "attacker_label": kind.target, "planted": planted,
            "accepted": accepted, "one_network_votes_accepted": votes["counted"],
            "one_network_votes_refused": votes["refused"], "confirmed": report.get("feedback_confirmed"),
            "held_back_unconfirmed": report.get("feedback_unconfirmed"), "promoted": report["promoted"],
            "reason": report["reason"], "retrain_seconds": round(seconds, 1), "fresh": fresh_count,
            "fresh_read_as_attacker_before": before, "fresh_read_as_attacker_after": after,
            "attacker_own_reading_after": own}


def main() -> None:
    parser = argparse.ArgumentParser(description="One visitor's 100 drawings of a hand flagged as another digit through "
                                     "the running app, a full retraining, fresh drawings read before and after "
                                     "(about 15 minutes).")
    parser.add_argument("--style", default="footed", choices=["footed", *STYLES])
    parser.add_argument("--one-network-votes", action="store_true",
                        help="then confirm them from many addresses of one other network")
    parser.add_argument("--planted", type=int, default=100)
    parser.add_argument("--fresh", type=int, default=200)
    parser.add_argument("--mnist-limit", type=int, default=None, help="a tiny trial of the bench itself, not a figure")
    arguments = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        print(json.dumps(backdoor(Path(folder), arguments.style, arguments.planted, arguments.fresh,
                                  arguments.one_network_votes, arguments.mnist_limit)))


if __name__ == "__main__":
    main()
