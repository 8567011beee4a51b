"""Other people's word on a contested correction: "the digit is N: agree / disagree"
(Dynabench's idea: an example counts once other people agree).

Votes live beside the samples, in FEEDBACK_DIR/votes/<writer>.jsonl: one JSON line a vote,
appended and fsynced before it is acknowledged, never rewritten (a torn last line, from a
crash mid-write, is cut off at the next start). `writer` is a random name kept in the folder,
so the files of two disks (a Space whose disk was wiped) never collide on the Hub. `datasets`
reads only data/, so the votes never disturb the dataset's columns.

Which corrections are put to others (`to_check`, "contested"): those that contradict a confident
jury (it read another digit at CHECK_CONFIDENCE or more), and every prompted "fool the jury"
drawing (source "challenge") that fooled it. A contested correction teaches nobody (no training,
no held-out figure, no live reference) until it is confirmed; a rejected one is dropped.

The confirmation rule (`Tally.standing`), made so that one client with many addresses cannot
confirm a correction by itself. A vote records the voter and the voter's network (a keyed hash
of their IPv4 /24 or IPv6 /48, digit/visitors.py); a correction records its flagger's network.
- Votes that never count: the flagger's own; any from the flagger's network (their other
  addresses, most likely); a visitor's second vote on the same correction.
- An anonymous voter counts as their network: the first anonymous vote from a network on a
  correction is its network's word, the others are refused (a new address does not make a new
  person). A logged-in voter ("hf:<username>") counts as one person, wherever they are.
- Confirmed: more counted votes agree than disagree, and those agreeing come from at least
  MIN_NETWORKS networks (other than the flagger's), or include one logged-in visitor.
- Rejected: more counted votes disagree than agree. Otherwise unconfirmed: it waits.
Votes written before networks were recorded all count as one network (unknown), so they alone
never confirm anything again.

Bounds, so that a flood of votes (a new address each) can neither grow memory nor the votes file
without end: at most VOTES_PER_SAMPLE votes are kept on one correction, VOTES_PER_HOUR on all of
them in an hour, and NETWORK_VOTES_PER_HOUR from one network; the ones beyond are refused before
anything is written. Of a votes file written elsewhere, only the votes the rule counts are kept.
"""

from __future__ import annotations

import time
import datetime as dt
import json
import os
import secrets
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import Enum
from pathlib import Path

from digit.atomic import sync_folder, write_text
from digit.feedback.challenges import CHALLENGE
from digit.rate_window import HOUR, RateWindow
from digit.visitors import UNKNOWN_NETWORK, is_logged_in

VOTES = "votes"
WRITER_FILE = ".votes-writer"  # in the feedback folder: this disk's votes file name
# A correction is contested when the jury read another digit with at least this confidence: the
# GUIDE's "confident" (a wrong answer at >= 80 %), where the flagger or the jury is most likely
# wrong. Less confident readings are corrected often and honestly (an unsure 1 or 7).
CHECK_CONFIDENCE = 0.8
MIN_NETWORKS = 2
VOTES_PER_SAMPLE = 25
VOTES_PER_HOUR = 600
NETWORK_VOTES_PER_HOUR = 60


def to_check(record: Mapping) -> bool:
    """Whether a sample is a contested correction, which teaches only once others confirm it."""
    if record.get("predicted") is None or record["predicted"] == record["label"]:
        return False
    return record.get("source") == CHALLENGE or (record.get("confidence") is not None
                                                 and record["confidence"] >= CHECK_CONFIDENCE)


class Standing(str, Enum):
    CONFIRMED = "confirmed"
    REJECTED = "rejected"
    UNCONFIRMED = "unconfirmed"


@dataclass(frozen=True)
class Tally:
    """A correction's counted votes (see the rule above): each network's or account's word once."""

    agree: int = 0
    disagree: int = 0
    agreeing_networks: int = 0  # anonymous networks among those agreeing (never the flagger's)
    agreeing_accounts: int = 0  # logged-in visitors among those agreeing

    @property
    def standing(self) -> Standing:
        if self.disagree > self.agree:
            return Standing.REJECTED
        if self.agree > self.disagree and (self.agreeing_networks >= MIN_NETWORKS or self.agreeing_accounts):
            return Standing.CONFIRMED
        return Standing.UNCONFIRMED


@dataclass(frozen=True)
class Sender:
    """Who sent a correction: their visitor id and their network (None: not recorded)."""

    visitor: str
    network: str | None = None


def vote_record(sample_id: str, visitor: str, agree: bool, network: str | None = None) -> dict:
    return {"id": uuid.uuid4().hex, "sample": sample_id, "visitor": visitor, "agree": bool(agree),
            "network": network or UNKNOWN_NETWORK,
            "created_at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="milliseconds")}


def network_of(vote: Mapping) -> str:
    return str(vote.get("network") or UNKNOWN_NETWORK)


def counted_as(vote: Mapping) -> str:
    """Whose word a vote is: a logged-in visitor's own, an anonymous visitor's network's."""
    voter = str(vote["visitor"])
    return voter if is_logged_in(voter) else "network " + network_of(vote)


def refusal(vote: Mapping, sender: Sender, earlier: Iterable[Mapping]) -> str | None:
    """Why a vote on a correction does not count given the votes kept before it, or None: the
    one place the per-vote rules above are written (the store refuses by it, the tally skips by it)."""
    voter = str(vote["visitor"])
    if voter == sender.visitor:
        return "this is your own correction: other people check it"
    if sender.network and sender.network != UNKNOWN_NETWORK and network_of(vote) == sender.network:
        return "this correction was sent from your network: people elsewhere check it"
    earlier = list(earlier)
    if len(earlier) >= VOTES_PER_SAMPLE:
        return "enough people have given their word on this one already"
    if any(str(other["visitor"]) == voter for other in earlier):
        return "you have already given your word on this one"
    if any(counted_as(other) == counted_as(vote) for other in earlier):
        return "someone on your network has already given their word on this one (log in to give yours)"
    return None


def tally(votes: Iterable[Mapping], sender: Sender) -> Tally:
    """One correction's tally from its votes, oldest first: the votes the rule counts."""
    kept: list[Mapping] = []
    for vote in votes:
        if refusal(vote, sender, kept) is None:
            kept.append(vote)
    agreeing = [vote for vote in kept if vote["agree"]]
    accounts = sum(is_logged_in(str(vote["visitor"])) for vote in agreeing)
    return Tally(len(agreeing), len(kept) - len(agreeing), len(agreeing) - accounts, accounts)


def tallies(votes: Iterable[Mapping], senders: Mapping[str, Sender]) -> dict[str, Tally]:
    """Each voted correction's tally (senders: sample id -> who sent it); votes on unknown samples ignored."""
    by_sample: dict[str, list[Mapping]] = {}
    for vote in votes:
        if str(vote["sample"]) in senders:
            by_sample.setdefault(str(vote["sample"]), []).append(vote)
    return {sample: tally(said, senders[sample]) for sample, said in by_sample.items()}


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


class VoteWindow:
    """The hourly bounds above: the votes of the last hour in all, and per network."""

    def __init__(self) -> None:
        self._all = RateWindow(VOTES_PER_HOUR, HOUR, clock=time.time)
        self._networks = RateWindow(NETWORK_VOTES_PER_HOUR, HOUR, clock=time.time)

    def add(self, network: str, moment: float) -> None:
        self._all.add("", moment)
        self._networks.add(network, moment)

    def refusal(self, network: str, now: float) -> str | None:
        if self._all.wait("", now):
            return f"we take {VOTES_PER_HOUR} answers an hour from everyone together, and have them; please try later"
        if self._networks.wait(network, now):
            return f"we take {NETWORK_VOTES_PER_HOUR} answers an hour from one network; please try later"
        return None


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
            write_text(key, writer)
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
            sync_folder(self.folder)
