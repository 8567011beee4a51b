"""The model repo's protocol, both sides: the retraining promotes a jury into a Hub model repo,
the app serves the newest promoted jury and picks up the next.

The retraining pushes a jury to the model repo only when it is promoted, so the repo's
newest commit is the newest promoted jury. At start the app fetches it (falling back to the
shipped models/ when the Hub cannot be reached); then it looks for a newer commit every few
minutes. A fetched jury is checked like a local file (skops, listed types only, its structure,
the reference digits read in a child process) before it replaces the one serving; one that fails
is reported and the old one stays, and its commit is remembered in the cache (REFUSED_FILE), so
that neither this process nor a restarted one fetches it again: a jury that crashes its reader
must not become a crash loop.
"""

from __future__ import annotations

import json
import logging
import shutil
from pathlib import Path

from digit.atomic import write_text
from digit.hub.client import hub_api
from digit.config import model_dir
from digit.model.store import (CARD_FILE, JURY_FILES, MODEL_FILE, ModelError, ModelSlot, load_checked_model,
                               read_card)
from digit.hub.polling import Poller

log = logging.getLogger(__name__)
KEEP = 2  # fetched juries kept on disk: the one serving and the one before
REFUSED_FILE = "refused.json"  # in the cache: {commit: why its jury was refused}


def fetch(repo_id: str, revision: str, cache: Path) -> Path:
    """The jury of one commit of a model repo, in cache/<commit> (fetched once)."""
    folder = cache / revision
    if not (folder / CARD_FILE).exists():
        cache.mkdir(parents=True, exist_ok=True)
        partial = cache / f".{revision}.partial"
        shutil.rmtree(partial, ignore_errors=True)
        hub_api().snapshot_download(
            repo_id, revision=revision, local_dir=partial, allow_patterns=list(JURY_FILES))
        shutil.rmtree(partial / ".cache", ignore_errors=True)  # huggingface_hub's download bookkeeping
        partial.replace(folder)
    return folder


def newest_revision(repo_id: str) -> str | None:
    """The newest commit of a model repo that holds a jury (None: no jury promoted there yet)."""
    info = hub_api().model_info(repo_id)
    return info.sha if any(sibling.rfilename == MODEL_FILE for sibling in info.siblings or []) else None


def promote(folder: Path, repo_id: str) -> str:
    """Upload a promoted jury (its folder) to a model repo, which is created if missing: the
    Spaces that follow the repo serve it. Returns the commit's URL."""
    api = hub_api()
    api.create_repo(repo_id, repo_type="model", exist_ok=True)
    version = read_card(folder).version or "?"
    info = api.upload_folder(folder_path=folder, repo_id=repo_id, repo_type="model", allow_patterns=list(JURY_FILES),
                             commit_message=f"Promote jury {version}")
    return info.commit_url


def served_copy(repo_id: str, folder: Path) -> Path:
    """A copy in folder of the jury a model repo's Spaces serve, to compare a candidate with and to
    promote into: its newest commit whose jury passes the serving check (a Space refuses the
    others and keeps serving the one before, so a refused commit is never the baseline), else
    the shipped models/ while it has none."""
    api = hub_api()
    source = model_dir()
    if api.repo_exists(repo_id, repo_type="model"):
        cache = folder.parent / f".{folder.name}-fetched"
        for commit in api.list_repo_commits(repo_id, repo_type="model"):
            fetched = fetch(repo_id, commit.commit_id, cache)
            if not (fetched / MODEL_FILE).is_file():  # a commit before the first promotion
                continue
            try:
                load_checked_model(fetched)
            except ModelError as error:
                log.warning("model repo %s: commit %s is not a baseline: %s", repo_id, commit.commit_id[:12], error)
                continue
            source = fetched
            break
    shutil.copytree(source, folder, ignore=shutil.ignore_patterns(".*"))
    return folder


def refused_commits(cache: Path) -> dict[str, str]:
    """The commits whose jury was refused, with the reason (none when the file is missing or unreadable)."""
    try:
        refused = json.loads((cache / REFUSED_FILE).read_text())
    except (OSError, ValueError):
        return {}
    return {str(key): str(value) for key, value in refused.items()} if isinstance(refused, dict) else {}


def remember_refused(cache: Path, revision: str, reason: str) -> None:
    """Add a refused commit to the cache's list, written whole (digit/atomic.py)."""
    cache.mkdir(parents=True, exist_ok=True)
    write_text(cache / REFUSED_FILE, json.dumps({**refused_commits(cache), revision: reason}, indent=1) + "\n")


class HubModelFollower:
    def __init__(self, slot: ModelSlot, repo_id: str, cache: Path, poll_minutes: float):
        self.slot = slot
        self.repo_id = repo_id
        self.cache = cache
        self.poll_seconds = poll_minutes * 60
        self.revision: str | None = None  # the commit serving, once one came from the Hub
        self.error: str | None = None
        self._told: set[str] = set()  # refused commits this process has logged (once each)
        self._poller = Poller(self.check, self.poll_seconds, "model-follow", first=False)

    def start(self) -> None:
        """Fetch the newest jury now (or keep the shipped one), then look for newer ones."""
        self.check()
        self._poller.start()

    def stop(self) -> None:
        self._poller.stop()

    def check(self) -> bool:
        """Serve the repo's newest jury if it is new and passes the checks; returns whether it changed."""
        try:
            newest = newest_revision(self.repo_id)
            if newest is None or newest == self.revision:
                return False
            refused = refused_commits(self.cache).get(newest)
            if refused is not None:  # refused before, by this process or an earlier one: never fetched again
                self._tell_refused(newest, refused, "was refused before")
                return False
            folder = fetch(self.repo_id, newest, self.cache)
            try:
                loaded = load_checked_model(folder)
            except ModelError as error:  # the jury's own fault: remember it, drop the files
                remember_refused(self.cache, newest, str(error))
                shutil.rmtree(folder, ignore_errors=True)
                self._tell_refused(newest, str(error), "refused; it will not be fetched again")
                return False
            self.slot.serve(folder, loaded)
            self.revision, self.error = newest, None
            self._forget_old()
            return True
        except Exception as error:  # noqa: BLE001 - the Hub down, a full disk: keep serving, try again later
            self.error = f"{type(error).__name__}: {error}"
            log.warning("model repo %s: %s (keeping model %s)", self.repo_id, self.error,
                        self.revision or "shipped")
            return False

    def _tell_refused(self, revision: str, reason: str, what: str) -> None:
        """One log line per refused commit and process, not one per poll."""
        self.error = reason
        if revision not in self._told:
            self._told.add(revision)
            log.error("model repo %s: commit %s %s: %s (keeping model %s)", self.repo_id, revision[:12], what,
                      reason, self.revision or "shipped")

    def _forget_old(self) -> None:
        folders = sorted((path for path in self.cache.iterdir() if path.is_dir() and not path.name.startswith(".")),
                         key=lambda path: path.stat().st_mtime)
        for folder in folders[:-KEEP]:
            if folder != self.slot.folder:
                shutil.rmtree(folder, ignore_errors=True)
