"""Pushing the feedback folder to a Hub dataset repo, in batches, each sample once.

huggingface_hub's documented pattern for Spaces that save user data (write locally under a
lock, push in batches from a background thread) with its commit API, and what
CommitScheduler lacks for a Space's life:

- What has been pushed is known across restarts: the repo's own file list, read at each
  push, and `.sync/state.json` (the shards this folder pushed), so a restart sends nothing
  twice and a Hub outage only delays.
- Bounded batches: a backlog is first merged into shards of at most SHARD_ROWS samples
  (merging.push_plan), then committed a few files at a time; no push opens more than a few files at once.
- Few files however many samples: small shards on the Hub are merged (merging.merge_plan,
  in one commit that adds the merged shard and deletes the ones it replaces), so the repo holds fewer than
  FANOUT small shards per size class plus one shard per SHARD_ROWS samples.
- A last push on shutdown, with a deadline (`stop`): on SIGTERM what is pending goes, or
  stays on disk for the next start.
- Votes (votes.py) go too: this disk's append-only votes file is uploaded whole whenever it
  grew (one small file, `votes/<writer>.jsonl`); other disks' votes files (a disk wiped since)
  are fetched once, so the check tab and the retraining see every vote.

One process pushes to a repo at a time (the folder lock; a Space runs one replica).
"""

from __future__ import annotations

import json
import logging
import shutil
import tempfile
import threading
import time
from dataclasses import dataclass, field, replace
from pathlib import Path

from huggingface_hub import CommitOperationAdd, CommitOperationDelete, HfApi

from digit.atomic import write_text, written_whole
from digit.hub.client import hub_api
from digit.feedback.card import dataset_card
from digit.feedback.merging import merge_plan, push_plan
from digit.feedback.samples import DATA, is_shard, merged_from, rows_in
from digit.feedback.votes import VOTES
from digit.hub.polling import Poller

log = logging.getLogger(__name__)
STATE = Path(".sync") / "state.json"
COMMIT_FILES = 20  # shards per commit: a backlog goes in several commits, none opening many files
MAX_WAIT_SECONDS = 300.0


@dataclass
class SyncState:
    """What this folder has pushed, kept across restarts in .sync/state.json."""

    repo_id: str
    pushed: set[str] = field(default_factory=set)  # shard names this folder saw on the Hub
    head: str | None = None  # the last commit we saw or made
    votes: int = 0  # bytes of this disk's votes file on the Hub

    @classmethod
    def load(cls, folder: Path, repo_id: str) -> "SyncState":
        try:
            data = json.loads((folder / STATE).read_text())
        except (OSError, ValueError):
            return cls(repo_id)
        if data.get("repo_id") != repo_id:  # another repo: nothing of it is there yet
            return cls(repo_id)
        return cls(repo_id, set(data.get("pushed", [])), data.get("head"), int(data.get("votes", 0)))

    def save(self, folder: Path) -> None:
        path = folder / STATE
        path.parent.mkdir(exist_ok=True)
        write_text(path, json.dumps({"repo_id": self.repo_id, "head": self.head, "pushed": sorted(self.pushed),
                                     "votes": self.votes}))


@dataclass(frozen=True)
class Remote:
    """The repo as this push knows it: listed once (`HubSync._remote`), then updated by each commit
    this push makes (`committed`), never rebuilt by hand."""

    head: str
    shards: frozenset[str]  # data/<name> files, by name
    card: bool  # the repo has a README.md
    votes: frozenset[str] = frozenset()  # votes/<writer>.jsonl files, by name

    def committed(self, head: str, added: set[str] = frozenset(), deleted: set[str] = frozenset(),
                  card: bool = False, votes: set[str] = frozenset()) -> "Remote":
        """The repo after our commit `head`: these shards added and deleted, the card and votes files added."""
        return replace(self, head=head, shards=(self.shards | added) - deleted, card=self.card or card,
                       votes=self.votes | votes)


class HubSync:
    """The background pusher of one FeedbackStore, through its public side: folder, data,
    folder_lock, shards, upgrade, merge, drop, reload and votes_file."""

    def __init__(self, store, repo_id: str, token: str, every_minutes: float,
                 retry_seconds: float = 5.0):
        self.store = store
        self.repo_id = repo_id
        self._token = token
        self.every = every_minutes * 60
        self.retry_seconds = retry_seconds
        self.error: str | None = None  # the last failure, token removed, for the page
        self.last_push: float | None = None  # time.time() of the last successful sync
        # The Hub down or refusing: try again soon, then less and less often.
        self._poller = Poller(self.sync_once, self.every, "feedback-push", retry=retry_seconds, most=MAX_WAIT_SECONDS)
        self._created = False

    def __repr__(self) -> str:
        return f"HubSync(repo_id={self.repo_id!r})"

    # -- the thread ------------------------------------------------------------------------
    def start(self) -> None:
        self._poller.start()

    def stop(self, timeout: float = 20.0) -> bool:
        """Stop the thread, then push what is pending within timeout seconds. Returns whether
        it all reached the Hub; what did not stays on disk and goes at the next start."""
        deadline = time.monotonic() + timeout
        self._poller.stop(max(0.0, deadline - time.monotonic()))
        done: list[bool] = []
        last = threading.Thread(target=lambda: done.append(self.sync_once(final=True)), daemon=True,
                                name="feedback-last-push")
        last.start()
        last.join(max(0.0, deadline - time.monotonic()))
        return bool(done and done[0])

    # -- one push ----------------------------------------------------------------------------
    def sync_once(self, final: bool = False) -> bool:
        """Push what is pending; unless final, also merge small shards on the Hub and fetch the
        shards this folder lacks. Returns whether the Hub took everything."""
        try:
            with self.store.folder_lock():
                self._sync(final)
            self.error, self.last_push = None, time.time()
            return True
        except Exception as error:  # noqa: BLE001 - any failure: the samples wait on disk
            self.error = self._without_token(f"{type(error).__name__}: {error}")
            log.warning("feedback push to %s failed, will retry: %s", self.repo_id, self.error)
            return False

    def _sync(self, final: bool) -> None:
        api = hub_api(self._token)
        folder, data = self.store.folder, self.store.data
        state = SyncState.load(folder, self.repo_id)
        remote = self._remote(api)
        # Pushed before and gone from the Hub since: merged there; the merged shard has them.
        gone = [name for name in self.store.shards() if name in state.pushed and name not in remote.shards]
        self.store.drop(gone)
        state.pushed &= remote.shards
        # Shards from before the visitor column (fetched, or left by a failed upgrade): rewritten
        # here, and pushed below with the deletes of the ones they replace.
        self.store.upgrade()
        # What this folder holds and the Hub does not: merge it into few shards, push it.
        pending = [name for name in self.store.shards() if name not in remote.shards]
        for group in push_plan(pending, data):
            self.store.merge(group)
        pending = [name for name in self.store.shards() if name not in remote.shards]
        card = not remote.card
        for start in range(0, max(len(pending), 1 if card else 0), COMMIT_FILES):
            batch = pending[start:start + COMMIT_FILES]
            remote = self._commit(api, state, remote, batch, card=card, message=f"Add {sum(map(rows_in, batch))} samples")
            card = False
        remote = self._push_votes(api, state, remote)
        if final:
            return
        # Merge small shards on the Hub: fetch the ones missing here, merge, commit add + delete.
        for group in merge_plan(sorted(remote.shards)):
            self._fetch(api, remote, [name for name in group if not (data / name).exists()])
            merged = self.store.merge(group)
            remote = self._commit(api, state, remote, [merged], card=False,
                                  message=f"Merge {len(group)} shards of {sum(map(rows_in, group))} samples")
        # Fetch what others pushed (or what a wiped disk lost), so counts and pages see it all.
        replaced = {old for name in self.store.shards() for old in merged_from(data / name)}
        missing = sorted(remote.shards - set(self.store.shards()) - replaced)
        if missing:
            self._fetch(api, remote, missing)
            state.pushed |= set(missing)
            state.save(folder)
        votes = self.store.votes_file
        theirs = sorted(name for name in remote.votes if name != votes.path.name and not (votes.folder / name).exists())
        if theirs:
            votes.folder.mkdir(exist_ok=True)
            self._fetch(api, remote, theirs, VOTES, votes.folder)
        if missing or gone or theirs:
            self.store.reload()

    def _push_votes(self, api: HfApi, state: SyncState, remote: Remote) -> Remote:
        """Upload this disk's votes file whole when it grew since the last push (whole lines only)."""
        path = self.store.votes_file.path
        content = path.read_bytes() if path.exists() else b""
        content = content[:content.rfind(b"\n") + 1]  # a vote being written now goes next time
        if len(content) == state.votes and (path.name in remote.votes or not content):
            return remote
        lines = content.count(b"\n")
        info = api.create_commit(self.repo_id, [CommitOperationAdd(f"{VOTES}/{path.name}", content)],
                                 repo_type="dataset", commit_message=f"Votes: {lines} in all",
                                 parent_commit=remote.head)
        state.votes, state.head = len(content), info.oid
        state.save(self.store.folder)
        return remote.committed(info.oid, votes={path.name})

    def _remote(self, api: HfApi) -> Remote:
        if not self._created:
            api.create_repo(self.repo_id, repo_type="dataset", private=True, exist_ok=True)
            self._created = True
        info = api.dataset_info(self.repo_id)
        names = [sibling.rfilename for sibling in info.siblings or []]
        shards = {Path(name).name for name in names if name.startswith(f"{DATA}/") and is_shard(name)}
        votes = {Path(name).name for name in names if name.startswith(f"{VOTES}/") and name.endswith(".jsonl")}
        return Remote(info.sha, frozenset(shards), "README.md" in names, frozenset(votes))

    def _commit(self, api: HfApi, state: SyncState, remote: Remote, names: list[str], card: bool,
                message: str) -> Remote:
        """One commit: add these local shards (and the card), delete the Hub shards they
        replace; on the Hub's head as we last saw it, so a concurrent change fails it."""
        data = self.store.data
        adds = [CommitOperationAdd(f"{DATA}/{name}", str(data / name)) for name in names]
        if card:
            adds.append(CommitOperationAdd("README.md", dataset_card(self.repo_id).encode()))
        replaced = sorted({old for name in names for old in merged_from(data / name)} & remote.shards)
        deletes = [CommitOperationDelete(f"{DATA}/{old}") for old in replaced]
        if not adds and not deletes:
            return remote
        info = api.create_commit(self.repo_id, adds + deletes, repo_type="dataset", commit_message=message,
                                 parent_commit=remote.head)
        state.pushed = (state.pushed | set(names)) - set(replaced)
        state.head = info.oid
        state.save(self.store.folder)
        return remote.committed(info.oid, added=set(names), deleted=set(replaced), card=card)

    def _fetch(self, api: HfApi, remote: Remote, names: list[str], under: str = DATA,
               into: Path | None = None) -> None:
        """Copy files (shards, or votes files) from the Hub (at the head we listed) into the local folder."""
        into = into or self.store.data
        with tempfile.TemporaryDirectory() as scratch:
            for name in names:
                path = api.hf_hub_download(self.repo_id, f"{under}/{name}", repo_type="dataset",
                                           revision=remote.head, local_dir=scratch)
                with written_whole(into / name) as staged:
                    shutil.copyfile(path, staged)

    def _without_token(self, text: str) -> str:
        return text.replace(self._token, "***") if self._token else text

