"""Other people's word on a flag: "the digit is N: agree / disagree" (Dynabench's idea: an
example counts once another person agrees).

Votes live beside the samples, in FEEDBACK_DIR/votes/<writer>.jsonl: one JSON line a vote,
appended and fsynced before it is acknowledged, never rewritten (a torn last line, from a
crash mid-write, is cut off at the next start). `writer` is a random name kept in the folder,
so the files of two disks (a Space whose disk was wiped) never collide on the Hub. `datasets`
reads only data/, so the votes never disturb the dataset's columns.

A flag's standing (`Standing`): confirmed when more people agree than disagree, rejected when
more disagree, else unconfirmed. Only one vote per visitor and sample counts (the first), and
never the flagger's own.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import secrets
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import Enum
from pathlib import Path

VOTES = "votes"
WRITER_FILE = ".votes-writer"  # in the feedback folder: this disk's votes file name


class Standing(str, Enum):
    CONFIRMED = "confirmed"
    REJECTED = "rejected"
    UNCONFIRMED = "unconfirmed"


@dataclass(frozen=True)
class Tally:
    agree: int = 0
    disagree: int = 0

    @property
    def standing(self) -> Standing:
        if self.agree > self.disagree:
            return Standing.CONFIRMED
        if self.disagree > self.agree:
            return Standing.REJECTED
        return Standing.UNCONFIRMED


def vote_record(sample_id: str, visitor: str, agree: bool) -> dict:
    return {"id": uuid.uuid4().hex, "sample": sample_id, "visitor": visitor, "agree": bool(agree),
            "created_at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="milliseconds")}


def read_votes(paths: Iterable[Path]) -> list[dict]:
    """Every whole vote in these files, each once (by id), oldest first; torn or foreign lines skipped."""
    votes, seen = [], set()
    for path in paths:
        try:
            lines = path.read_text(encoding="utf-8").splitlines()
        except OSError:
            continue
        for line in lines:
            try:
                vote = json.loads(line)
                key = (vote["id"], str(vote["sample"]), str(vote["visitor"]), bool(vote["agree"]))
            except (ValueError, KeyError, TypeError):
                continue
            if key[0] not in seen:
                seen.add(key[0])
                votes.append(vote)
    return sorted(votes, key=lambda vote: str(vote.get("created_at", "")))


def tallies(votes: Iterable[Mapping], flaggers: Mapping[str, str]) -> dict[str, Tally]:
    """Each sample's agree and disagree counts: one vote per visitor (the first), the flagger's
    own never (flaggers: sample id -> who sent it), votes on unknown samples ignored."""
    counted: dict[str, dict[str, bool]] = {}
    for vote in votes:
        sample, voter = str(vote["sample"]), str(vote["visitor"])
        if sample in flaggers and voter != flaggers[sample]:
            counted.setdefault(sample, {}).setdefault(voter, bool(vote["agree"]))
    return {sample: Tally(sum(said.values()), sum(not agree for agree in said.values()))
            for sample, said in counted.items()}


class VoteFile:
    """This disk's append-only votes file (and the others' in the same folder, for reading)."""

    def __init__(self, folder: Path):
        self.folder = folder / VOTES
        key = folder / WRITER_FILE
        try:
            writer = key.read_text().strip()
        except OSError:
            writer = ""
        if not writer:
            writer = secrets.token_hex(8)
            folder.mkdir(parents=True, exist_ok=True)
            staged = key.with_suffix(".new")
            staged.write_text(writer)
            os.replace(staged, key)
        self.path = self.folder / f"{writer}.jsonl"

    def paths(self) -> list[Path]:
        return sorted(self.folder.glob("*.jsonl"))

    def read(self) -> list[dict]:
        return read_votes(self.paths())

    def repair(self) -> None:
        """Cut a torn last line (a crash mid-append: never acknowledged), so the next vote starts a line."""
        for path in self.paths():
            content = path.read_bytes()
            if content and not content.endswith(b"\n"):
                with open(path, "r+b") as handle:
                    handle.truncate(content.rfind(b"\n") + 1)
                    os.fsync(handle.fileno())

    def append(self, vote: dict) -> None:
        """One vote on disk (written, fsynced) or not at all: a failed write is cut off again."""
        self.folder.mkdir(exist_ok=True)
        created = not self.path.exists()
        descriptor = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        size = os.fstat(descriptor).st_size
        try:
            os.write(descriptor, (json.dumps(vote) + "\n").encode())
            os.fsync(descriptor)
        except BaseException:
            try:
                os.ftruncate(descriptor, size)
            except OSError:
                pass
            raise
        finally:
            os.close(descriptor)
        if created:
            directory = os.open(self.folder, os.O_RDONLY)
            try:
                os.fsync(directory)
            finally:
                os.close(directory)
