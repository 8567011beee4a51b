"""Command line: `python -m digit predict [--json] FILE...`, `deploy OWNER/NAME`, `schedule OWNER/NAME`."""

from __future__ import annotations

import argparse
import json
import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from digit.reading.prediction import Prediction


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m digit", description="Read handwritten digits.")
    commands = parser.add_subparsers(dest="command", required=True)
    predict = commands.add_parser("predict", help="classify image files")
    predict.add_argument("--json", action="store_true", help="one JSON object per file, per line")
    predict.add_argument("files", nargs="+", metavar="FILE")
    deploy = commands.add_parser("deploy", help="upload the app to a Hugging Face Space (token: HF_TOKEN)")
    deploy.add_argument("space", metavar="OWNER/NAME")
    deploy.add_argument("--private", action="store_true", help="create the Space private")
    deploy.add_argument("--variable", action="append", default=[], metavar="KEY=VALUE",
                        help="set a Space variable, e.g. FEEDBACK_REPO=you/digit-feedback (repeatable)")
    schedule = commands.add_parser("schedule", help="retrain on the Hub by itself: a scheduled Hugging Face Job "
                                                    "(token: HF_TOKEN, a write token)")
    schedule.add_argument("space", nargs="?", metavar="OWNER/NAME", help="the Space (deployed with `digit deploy`)")
    schedule.add_argument("--schedule", default="@daily",
                          help='when: @hourly, @daily (default), @weekly, @monthly, or cron, e.g. "0 3 * * *" (UTC)')
    schedule.add_argument("--feedback-repo", metavar="OWNER/NAME", help="default: the Space's FEEDBACK_REPO variable")
    schedule.add_argument("--model-repo", metavar="OWNER/NAME", help="default: the Space's MODEL_REPO variable")
    action = schedule.add_mutually_exclusive_group()
    action.add_argument("--list", action="store_true", help="list the retraining jobs (of this Space, or every one)")
    action.add_argument("--remove", action="store_true", help="remove this Space's retraining job")
    return parser


def _line(path: str, result: Prediction | str, as_json: bool) -> str:
    if isinstance(result, str):
        return json.dumps({"path": path, "error": result}) if as_json else f"{path}: error: {result}"
    if as_json:
        return json.dumps({"path": path, **result.as_json()})
    votes = " ".join(f"{name}={digit}" for name, digit in result.jurors.items())
    return f"{path}: {result.digit} ({result.confidence:.1%})  {votes}"


def predict(files: list[str], as_json: bool) -> int:
    # Imported here, not at the top: a usage error or --help answers at once, without
    # the seconds scikit-learn and skops take to import.
    from digit.reading.images import BadImage
    from digit.model.store import ModelError, load_model

    try:
        classifier = load_model().classifier  # once per process: batches stay fast
    except ModelError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    failed = False
    for path in files:
        try:
            result: Prediction | str = classifier.predict(path)
        except BadImage as error:
            result, failed = str(error), True
        print(_line(path, result, as_json), flush=True)
    return 1 if failed else 0


def deploy(space: str, private: bool, variables: list[str]) -> int:
    from digit.hub.deploy import deploy as upload

    malformed = [variable for variable in variables if "=" not in variable]
    if malformed:
        print(f"error: --variable takes KEY=VALUE, not {malformed[0]!r}", file=sys.stderr)
        return 2
    pairs = dict(variable.split("=", 1) for variable in variables)
    try:
        print(upload(space, private, pairs))
    except Exception as error:  # noqa: BLE001 - say what failed, no traceback
        print(f"error: could not deploy to {space}: {error}", file=sys.stderr)
        return 1
    return 0


def schedule(arguments: argparse.Namespace) -> int:
    from digit.hub import jobs as hub_jobs

    if arguments.space is None and not arguments.list:
        print("error: name the Space: python -m digit schedule OWNER/NAME", file=sys.stderr)
        return 2
    try:
        if arguments.list:
            jobs = hub_jobs.scheduled_retrainings(arguments.space)
            for job in jobs:
                print(job.describe())
            if not jobs:
                print("no retraining job" + (f" for {arguments.space}" if arguments.space else ""), file=sys.stderr)
        elif arguments.remove:
            removed = hub_jobs.remove_retraining(arguments.space)
            print(f"removed {len(removed)} retraining job(s) of {arguments.space}: {' '.join(removed) or '-'}")
        else:
            feedback, model = arguments.feedback_repo, arguments.model_repo
            if not (feedback and model):
                found = hub_jobs.space_repos(arguments.space)
                feedback, model = feedback or found[0], model or found[1]
            job = hub_jobs.RetrainJob(arguments.space, feedback, model, arguments.schedule)
            created, replaced = hub_jobs.schedule_retraining(job)
            print(created.describe())
            if replaced:
                print(f"replaced {' '.join(replaced)}", file=sys.stderr)
    except Exception as error:  # noqa: BLE001 - say what failed, no traceback
        print(f"error: {error}", file=sys.stderr)
        return 1
    return 0


def main(argv: list[str] | None = None) -> int:
    arguments = _parser().parse_args(argv)  # exits with 2 on a usage error
    if arguments.command == "deploy":
        return deploy(arguments.space, arguments.private, arguments.variable)
    if arguments.command == "schedule":
        return schedule(arguments)
    return predict(arguments.files, arguments.json)
