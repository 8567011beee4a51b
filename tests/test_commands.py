"""Every `python -m ...` command README, docs/ and the Makefile name answers --help with exit 0, quickly,
and does nothing else: no file is written in the folder it runs from or in the project's data folders.
Every `make` target they name exists."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

from helpers import PROJECT

# Where a command that started work by mistake would write (besides the folder it runs from).
WATCHED = ("data", "artifacts", "models")
# Not watched: the tests on the other xdist worker fill the training cache meanwhile, and in-process page
# tests make the default feedback folder's visitor key (races seen in suite runs); a command that started
# work writes its own outputs in the folders above all the same, and the commands here get a FEEDBACK_DIR
# of their own, checked below.
SHARED = ("artifacts/cache", "data/feedback/.visitor-key")


BATCH = """
import contextlib, io, json, runpy, sys
answers = {}
for module in sys.argv[1:]:
    sys.argv, out = [module, "--help"], io.StringIO()
    code = None
    with contextlib.redirect_stdout(out):
        try:
            runpy.run_module(module, run_name="__main__", alter_sys=True)
        except SystemExit as stop:
            code = stop.code or 0
    answers[module] = {"code": code, "out": out.getvalue()[-2000:]}
print(json.dumps(answers))
"""


def documents() -> str:
    """README and every page of docs/: what a newcomer reads and copies."""
    pages = [Path(PROJECT) / "README.md", *sorted((Path(PROJECT) / "docs").glob("*.md"))]
    return "\n".join(page.read_text() for page in pages)


def named_commands() -> list[str]:
    text = documents() + (Path(PROJECT) / "Makefile").read_text()
    return sorted(set(re.findall(r"python -m ((?:digit|training|bench|testing)(?:\.\w+)*)", text)))


def test_every_named_make_target_exists():
    named = set(re.findall(r"(?:^|`)make ([a-z][\w-]*)", documents(), re.MULTILINE))
    targets = set(re.findall(r"^([a-z][\w-]*):", (Path(PROJECT) / "Makefile").read_text(), re.MULTILINE))
    assert {"app", "test", "bench"} <= named
    assert named <= targets, named - targets


def snapshot() -> dict[str, float]:
    files = {}
    for folder in WATCHED:
        for path in (Path(PROJECT) / folder).rglob("*"):
            if path.is_file() and not any(path.is_relative_to(Path(PROJECT) / shared) for shared in SHARED):
                files[str(path)] = path.stat().st_mtime
    return files


def test_every_named_command_answers_help_and_does_nothing_else(tmp_path):
    commands = named_commands()
    assert {"digit", "training.train", "training.retrain", "bench"} <= set(commands)
    before = snapshot()
    env = {**os.environ, "PYTHONPATH": str(PROJECT), "FEEDBACK_DIR": str(tmp_path / "feedback"),
           "MODEL_CACHE": str(tmp_path / "models")}
    work = tmp_path / "cwd"
    work.mkdir()
    # Batched: one process runs every command as `python -m` would (runpy, argv, SystemExit), so the jury
    # stack is imported once instead of once a command (~1-2 s each on 2 cores).
    result = subprocess.run([sys.executable, "-c", BATCH, *commands], cwd=work, env=env, capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-3000:]
    results = json.loads(result.stdout.strip().splitlines()[-1])
    failed = {module: answer for module, answer in results.items()
              if answer["code"] != 0 or "usage" not in answer["out"].lower()}
    assert not failed, failed
    assert list(work.iterdir()) == [] and not (tmp_path / "feedback").exists()
    assert snapshot() == before
