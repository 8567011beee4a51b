"""The feedback dataset on disk: every acknowledged sample in a Parquet shard, loadable as is.

Layout of FEEDBACK_DIR (what `datasets.load_dataset(FEEDBACK_DIR, split="train")` reads):

    data/<stamp>-<random>-r<rows>.parquet   immutable shards (`datasets` reads data/ as the train split)
    .sync/state.json                        what has been pushed to the Hub (see hub_sync.py)

(No README.md here: `datasets` 5.2 caches a local folder whose card has `configs` under one
key whatever files it holds, and would load stale samples. The Hub repo gets the card.)

A flag writes a one-row shard (temporary file, fsync, rename, folder fsync); only then is
the sample acknowledged, so an acknowledged sample is on disk whatever happens next. Small
shards are merged into larger ones (`compact`, by merging.py's plan): the merged shard is written first and names
the shards it replaces, which are deleted after; a crash in between is finished at the
next start. Merging is housekeeping: when it fails (a full disk) the sample it follows is
saved all the same and the merge is tried again at the next save. Writers only ever add
files, so saving needs no lock across processes; merging and pushing take the folder's lock
file, so two processes never merge the same shards.

Each sample says who sent it (`visitor`: a keyed hash of their address or their Hub username,
never the address). One visitor may send FLAGS_PER_DAY samples in 24 hours, and the same
digit with the same label once (`digit_hash`, a perceptual hash of the normalised digit).
Samples from "unknown" (a caller that does not say who sent them) are not held to either:
there is no one to hold; the retraining weighs all of them together as one visitor.

Contested corrections (`to_check`: those that contradict a confident jury, and prompted "fool
the jury" drawings that fooled it) are put to other visitors, who say whether the digit is what
the flagger said (`vote`, stored in votes/; the confirmation rule and its bounds: votes.py).
Only a confirmed one teaches (`confirmed_corrections`); a rejected one is dropped.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import logging
import shutil
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator, Sequence

import cv2
import numpy as np
import pyarrow as pa

from digit.atomic import abandoned
from digit.config import feedback_dir, feedback_repo, flags_per_day, hub_token, push_minutes
from digit.feedback.challenges import ChallengeCounts, challenge_counts
from digit.feedback.legacy import legacy_folders, legacy_rows
from digit.feedback.merging import compact_due, merge_plan
from digit.feedback.samples import (COLUMNS, DATA, DailyLimit, DiskFull,
                                    DuplicateSample, Sample, VoteRefused, is_current, is_disk_full,
                                    is_shard, merged_from, read_table, rows_table, sample_row, with_visitors,
                                    write_shard)
from digit.feedback.votes import (Sender, Standing, Tally, VoteFile, VoteWindow, refusal, tally,
                                  tallies, to_check, vote_record)
from digit.rate_window import DAY, RateWindow
from digit.reading.images import BadImage
from digit.reading.preprocess import normalize
from digit.visitors import UNKNOWN_NETWORK, UNKNOWN_VISITOR

log = logging.getLogger(__name__)
RECORD_COLUMNS = [column for column in COLUMNS if column not in ("image", "digit", "strokes")]  # they stay on disk


@dataclass
class VisitorLog:
    """One visitor's digits by label, to find one sent again (their daily count is a RateWindow)."""

    # (label, digit_hash) -> the first sample's id. One digit is the same picture sent again, or moved,
    # resized or re-encoded so that it normalises to the same digit: the hashes equal. Hashes a few bits
    # apart are not one: two hand-drawn plain 1s hashed 2 bits apart 6 times in 4,950 pairs.
    digits: dict[tuple[int, str], str] = field(default_factory=dict)

    def add(self, record: dict) -> None:
        if record.get("digit_hash"):
            self.digits.setdefault((record["label"], record["digit_hash"]), record["id"])

    def same_digit(self, label: int, digit_hash: str) -> str | None:
        """The id of an earlier sample of this label whose digit hashes as this one."""
        return self.digits.get((label, digit_hash))


def _sender(record: dict) -> Sender:
    return Sender(record["visitor"], record.get("network"))


def _seconds(created_at: str) -> float:
    try:
        return dt.datetime.fromisoformat(created_at).timestamp()
    except (TypeError, ValueError):  # an old sample without a time: long ago
        return 0.0


class FeedbackStore:
    """The feedback dataset in a folder, pushed to the Hub when shared: `save()` writes one
    Sample (digit/reading/sample.py) durably. The page flags into it through its Gradio flagging
    callback (digit/page/flagging.py); nothing here knows Gradio.
    """

    def __init__(self, folder: Path | None = None, repo_id: str | None = None, token: str | None = None,
                 every_minutes: float | None = None, retry_seconds: float = 5.0, per_day: int | None = None):
        self.folder = Path(folder) if folder else None
        self.repo_id = repo_id if repo_id is not None else feedback_repo()
        self._token = token if token is not None else hub_token()
        self.every_minutes = every_minutes if every_minutes is not None else push_minutes()
        self.retry_seconds = retry_seconds
        self.per_day = per_day if per_day is not None else flags_per_day()  # 0: no daily cap
        self.lock = threading.Lock()  # the in-memory records, the visitors' logs, the writer's shard names
        self.sync = None  # a HubSync when the dataset is shared
        self._records: list[dict] = []
        self._ids: set[str] = set()
        self._visitors: dict[str, VisitorLog] = {}
        self._flags = self._daily()  # when each visitor's samples came
        self._merge_due = False  # a merge failed (a full disk?): try again at the next save
        self.votes_file: VoteFile | None = None
        self._votes: dict[str, list[dict]] = {}  # sample id -> the votes kept on it, oldest first
        self._voted = self._daily()  # when each voter's votes came
        self._vote_window = VoteWindow()  # the last hour's votes, in all and per network

    def _daily(self) -> RateWindow:
        """per_day events a visitor in any 24 hours (0: no cap), by the events' own dates."""
        return RateWindow(self.per_day, DAY, clock=time.time)

    def __repr__(self) -> str:  # never show the token
        return f"FeedbackStore(folder={self.folder!s}, repo_id={self.repo_id!r})"

    @property
    def data(self) -> Path:
        return self.folder / DATA

    # -- opening ------------------------------------------------------------------------------
    def setup(self, folder: str | Path | None = None) -> None:
        """Open the folder (this store's, else FEEDBACK_DIR): finish what a crash interrupted,
        read every sample's record, and start pushing when the dataset is shared."""
        self.folder = Path(folder or self.folder or feedback_dir())
        self.data.mkdir(parents=True, exist_ok=True)
        self.votes_file = VoteFile(self.folder)
        with self.folder_lock():
            self._recover()
            self.votes_file.repair()
        self.reload()
        if self.repo_id and self._token:
            from digit.feedback.hub_sync import HubSync

            self.sync = HubSync(self, self.repo_id, self._token, self.every_minutes, self.retry_seconds)
            self.sync.start()

    # -- writing ------------------------------------------------------------------------------
    def save(self, sample: Sample) -> str:
        """Write one sample (from a reading, or samples.sample_of) durably; returns its id once it
        is on disk. Raises FeedbackError (DailyLimit, DuplicateSample, DiskFull, ...), and then
        nothing was stored."""
        if self.folder is None:
            self.setup()
        row = sample_row(sample)
        with self.lock:  # one visitor's limits hold under concurrent flags; a merge finds the new record
            self._admit(row)
            try:
                shard = write_shard(self.data, rows_table([row]))
            except OSError as error:
                if is_disk_full(error):
                    raise DiskFull() from None
                raise
            self._remember([row], shard.name)
        if self.sync is None and (compact_due(self.count()) or self._merge_due):  # a shared store merges when it pushes
            self._housekeeping()
        return row["id"]

    def _admit(self, row: dict) -> None:
        """Refuse a sample beyond its visitor's daily cap, or a digit they sent before with the
        same label. Call with self.lock held."""
        sender = self._visitors.get(row["visitor"])
        if row["visitor"] == UNKNOWN_VISITOR or sender is None:
            return
        if self._flags.wait(row["visitor"]):
            raise DailyLimit(self.per_day)
        earlier = sender.same_digit(row["label"], row["digit_hash"])
        if earlier is not None:
            raise DuplicateSample(row["label"], earlier)

    def _housekeeping(self) -> None:
        """Merge small shards; a failure is logged and retried at the next save, never the
        failure of the sample just saved."""
        try:
            with self.folder_lock():
                self.compact()
            self._merge_due = False
        except Exception as error:  # noqa: BLE001 - any failure: the shards stay as they are
            self._merge_due = True
            log.warning("merging feedback shards failed, will retry at the next save: %s", error)

    def _remember(self, rows: list[dict], shard: str) -> None:
        """Add rows to the in-memory records and their visitors' logs; call with self.lock held."""
        for row in rows:
            if row["id"] not in self._ids:
                self._ids.add(row["id"])
                record = {**{column: row[column] for column in RECORD_COLUMNS}, "shard": shard}
                record["visitor"] = record["visitor"] or UNKNOWN_VISITOR
                self._records.append(record)
                self._visitors.setdefault(record["visitor"], VisitorLog()).add(record)
                self._flags.add(record["visitor"], _seconds(record["created_at"]))

    # -- reading ------------------------------------------------------------------------------
    def shards(self) -> list[str]:
        """The names of the shards in the local folder, oldest first."""
        return sorted(path.name for path in self.data.glob("*.parquet") if is_shard(path.name))

    def reload(self) -> None:
        """Read every sample's columns but the image from the local shards (start, and after
        shards arrive from the Hub)."""
        records, ids = [], set()
        for name in self.shards():
            try:
                table = read_table(self.data / name, RECORD_COLUMNS)
            except (OSError, pa.ArrowException) as error:  # a file we did not write whole: skip, say so
                log.error("skipping unreadable shard %s: %s", name, error)
                continue
            for row in table.to_pylist():
                if row["id"] not in ids:
                    ids.add(row["id"])
                    records.append({**row, "visitor": row["visitor"] or UNKNOWN_VISITOR, "shard": name})
        records.sort(key=lambda record: record["created_at"])
        visitors: dict[str, VisitorLog] = {}
        flags = self._daily()
        for record in records:
            visitors.setdefault(record["visitor"], VisitorLog()).add(record)
            flags.add(record["visitor"], _seconds(record["created_at"]))
        votes = self.votes_file.read() if self.votes_file else []
        with self.lock:
            self._records, self._ids, self._visitors, self._flags = records, ids, visitors, flags
            self._votes, self._voted, self._vote_window = {}, self._daily(), VoteWindow()
            senders = {record["id"]: _sender(record) for record in records}
            for vote in votes:  # only what the rule counts is kept in memory (another disk's file may hold more)
                sample = str(vote["sample"])
                if sample in senders and refusal(vote, senders[sample], self._votes.get(sample, [])) is None:
                    self._keep_vote(vote)

    def records(self) -> list[dict]:
        """Every sample's columns but the image, oldest first, with the shard that holds it."""
        with self.lock:
            return list(self._records)

    def count(self) -> int:
        return len(self._records)

    def digits(self, ids: Sequence[str]) -> dict[str, np.ndarray]:
        """What the jury read of these samples: the stored 28x28 digit (a sample from before that
        column: its picture normalised again). Never the picture as sent."""
        wanted, found, older = set(ids), {}, []
        shards = {record["shard"] for record in self.records() if record["id"] in wanted}
        for name in shards:
            table = read_table(self.data / name, ["id", "digit"])
            for sample_id, digit in zip(table["id"].to_pylist(), table["digit"].to_pylist()):
                if sample_id not in wanted:
                    continue
                if digit and digit.get("bytes"):
                    found[sample_id] = cv2.imdecode(np.frombuffer(digit["bytes"], np.uint8), cv2.IMREAD_GRAYSCALE)
                else:
                    older.append(sample_id)
        for sample_id, png in self.images(older).items():
            try:
                found[sample_id] = normalize(png).pixels
            except BadImage:  # stored before the reader refused such pictures: nothing to show
                found[sample_id] = np.zeros((28, 28), np.uint8)
        return found

    # -- votes: others confirm or reject a contested correction ----------------------------
    def vote(self, sample_id: str, visitor: str, agree: bool, network: str | None = None) -> Tally:
        """Store one visitor's word on a contested correction, durably; returns its tally. network:
        the voter's (digit/visitors.py; None: unknown). Raises VoteRefused (by votes.py's rule: their
        own correction, their network's, a second word, the bounds), DailyLimit or DiskFull."""
        if self.folder is None:
            self.setup()
        with self.lock:
            record = self._record(sample_id)
            if record is None or not to_check(record):
                raise VoteRefused("that sample is not one of those to check")
            if visitor == UNKNOWN_VISITOR:
                raise VoteRefused("a vote must say who sent it")
            vote = vote_record(sample_id, visitor, agree, network)
            why = refusal(vote, _sender(record), self._votes.get(sample_id, [])) or \
                self._vote_window.refusal(vote["network"], time.time())
            if why:
                raise VoteRefused(why)
            if self._voted.wait(visitor):
                raise DailyLimit(self.per_day, "votes")
            try:
                self.votes_file.append(vote)
            except OSError as error:
                if is_disk_full(error):
                    raise DiskFull("vote") from None
                raise
            self._keep_vote(vote)
            return tally(self._votes[sample_id], _sender(record))

    def _record(self, sample_id: str) -> dict | None:
        """Call with self.lock held."""
        return next((record for record in self._records if record["id"] == sample_id), None)

    def _keep_vote(self, vote: dict) -> None:
        """Call with self.lock held."""
        self._votes.setdefault(str(vote["sample"]), []).append(vote)
        moment = _seconds(vote.get("created_at"))
        self._voted.add(str(vote["visitor"]), moment)
        self._vote_window.add(str(vote.get("network") or UNKNOWN_NETWORK), moment)

    def tallies(self) -> dict[str, Tally]:
        """Each voted correction's tally, by votes.py's rule."""
        with self.lock:
            votes = [vote for said in self._votes.values() for vote in said]
            senders = {record["id"]: _sender(record) for record in self._records}
        return tallies(votes, senders)

    def confirmed_corrections(self) -> list[dict]:
        """The contested corrections others confirmed (votes.py's rule), oldest first, as records
        (id, label, visitor, ...; `digits` gives what the jury read): what may teach every visitor
        now, as the retraining teaches it later."""
        standing = self.tallies()
        return [record for record in self.records() if to_check(record) and record["id"] in standing
                and standing[record["id"]].standing is Standing.CONFIRMED]

    def next_to_check(self, visitor: str, skip: set[str] = frozenset(), network: str | None = None) -> dict | None:
        """A contested correction this visitor may answer (votes.py's rule: not theirs, not from
        their network, not answered by them or their network, not full), not skipped; the fewest
        votes first, then the newest."""
        with self.lock:
            ballot = vote_record("", visitor, True, network)
            open_ = [record for record in self._records if to_check(record) and record["id"] not in skip
                     and refusal(ballot, _sender(record), self._votes.get(record["id"], [])) is None]
            if not open_:
                return None
            return min(reversed(open_), key=lambda record: len(self._votes.get(record["id"], [])))

    def challenge_counts(self, model_version: str, visitor: str | None = None) -> ChallengeCounts:
        """"Fool the jury" for the jury `model_version`: per digit, drawings that fooled it out of
        drawings named for it, and `visitor`'s own (digit/feedback/challenges.py)."""
        return challenge_counts(self.records(), model_version, visitor)

    def images(self, ids: Sequence[str]) -> dict[str, bytes]:
        """The stored PNG bytes of the samples with these ids."""
        wanted, found = set(ids), {}
        shards = {record["shard"] for record in self.records() if record["id"] in wanted}
        for name in shards:
            table = read_table(self.data / name, ["id", "image"])
            for sample_id, image in zip(table["id"].to_pylist(), table["image"].to_pylist()):
                if sample_id in wanted:
                    found[sample_id] = image["bytes"]
        return found

    # -- merging ------------------------------------------------------------------------------
    @contextmanager
    def folder_lock(self) -> Iterator[None]:
        """Held while merging or pushing: one process at a time, across processes too."""
        with open(self.folder / ".lock", "a+") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def merge(self, names: Sequence[str]) -> str:
        """Replace the named local shards by one holding all their rows; returns its name.
        Call with folder_lock held."""
        tables = [read_table(self.data / name) for name in names]
        merged = write_shard(self.data, with_visitors(pa.concat_tables(tables)), merged_from=names)
        self.drop(names)
        moved = {sample_id for table in tables for sample_id in table["id"].to_pylist()}
        with self.lock:
            for record in self._records:
                if record["id"] in moved:
                    record["shard"] = merged.name
        return merged.name

    def compact(self, names: Sequence[str] | None = None) -> list[str]:
        """Merge small shards by merging.merge_plan (all local shards, or only the named ones);
        returns the names of the merged shards written. Call with folder_lock held."""
        return [self.merge(group) for group in merge_plan(self.shards() if names is None else names)]

    def upgrade(self, names: Sequence[str] | None = None) -> list[str]:
        """Rewrite shards written before the visitor column (all local ones, or the named ones)
        with today's columns, their samples from "unknown": `datasets` refuses a folder whose
        shards' columns differ. Returns the new shards' names. Call with folder_lock held."""
        older = [name for name in (self.shards() if names is None else names) if not is_current(self.data / name)]
        return [self.merge([name]) for name in older]

    def drop(self, names: Sequence[str]) -> None:
        """Delete these local shards, whose samples are kept elsewhere now (in the shard a merge
        wrote, here or on the Hub; reload() then forgets their records). Call with folder_lock held."""
        for name in names:
            (self.data / name).unlink(missing_ok=True)

    def _recover(self) -> None:
        """Finish what a crash interrupted: drop half-written files (never acknowledged), delete
        the shards a completed merge replaced, convert the old layouts."""
        for partial in [*self.folder.glob(".*.tmp"), *self.data.glob(".*.tmp"), *(self.folder / ".sync").glob("*.tmp"),
                        *self.votes_file.folder.glob(".*.tmp")]:
            if abandoned(partial):  # another process's write in flight is not a crash's leftover
                partial.unlink(missing_ok=True)
        for name in reversed(self.shards()):  # newest first: a merged shard is newer than what it replaced
            if not (self.data / name).exists():  # replaced by a newer one, just dropped
                continue
            replaced = merged_from(self.data / name)
            self.drop([old for old in replaced if is_shard(old) and old != name])
            for old in replaced:
                if old.endswith("/") and (self.data / old).is_dir():
                    shutil.rmtree(self.data / old)
        for folder in legacy_folders(self.data):
            rows = legacy_rows(folder)
            if rows:
                write_shard(self.data, rows_table(rows), merged_from=[f"{folder.name}/"])
            shutil.rmtree(folder)
        try:
            self.upgrade()
        except OSError as error:  # a full disk: the samples still count; retried at the next push or start
            log.warning("could not rewrite older feedback shards with the visitor column: %s", error)

    # -- shutting down ----------------------------------------------------------------------
    def close(self, timeout: float = 20.0) -> bool:
        """Stop pushing after a last push of what is pending, within timeout seconds.
        Returns whether everything reached the Hub (True when nothing is shared)."""
        if self.sync is None:
            return True
        return self.sync.stop(timeout)
