"""Following a Hub model repo: the app serves the newest promoted jury and picks up the next.

The retraining pushes a jury to the model repo only when it is promoted, so the repo's
newest commit is the newest promoted jury. At start the app fetches it (falling back to the
shipped models/ when the Hub cannot be reached); then it looks for a newer commit every few
minutes. A fetched jury is loaded like a local file (skops, listed types only) before it
replaces the one serving; one that fails is reported and the old one stays.
"""

from __future__ import annotations

import logging
import shutil
import threading
from pathlib import Path

from huggingface_hub import HfApi

from digit.config import hub_endpoint, hub_token
from digit.model_store import CARD_FILE, MODEL_FILE, README_FILE, ModelSlot, load_model

log = logging.getLogger(__name__)
KEEP = 2  # fetched juries kept on disk: the one serving and the one before


class HubModelFollower:
    def __init__(self, slot: ModelSlot, repo_id: str, cache: Path, poll_minutes: float):
        self.slot = slot
        self.repo_id = repo_id
        self.cache = cache
        self.poll_seconds = poll_minutes * 60
        self.revision: str | None = None  # the commit serving, once one came from the Hub
        self.error: str | None = None
        self._stop = threading.Event()

    def start(self) -> None:
        """Fetch the newest jury now (or keep the shipped one), then look for newer ones."""
        self.check()
        threading.Thread(target=self._run, daemon=True, name="model-follow").start()

    def stop(self) -> None:
        self._stop.set()

    def _run(self) -> None:
        while not self._stop.wait(self.poll_seconds):
            self.check()

    def check(self) -> bool:
        """Serve the repo's newest jury if it is new and loads; returns whether it changed."""
        try:
            api = HfApi(endpoint=hub_endpoint(), token=hub_token())
            newest = api.model_info(self.repo_id).sha
            if newest == self.revision:
                return False
            folder = self.cache / newest
            self.cache.mkdir(parents=True, exist_ok=True)
            if not (folder / CARD_FILE).exists():
                partial = self.cache / f".{newest}.partial"
                shutil.rmtree(partial, ignore_errors=True)
                api.snapshot_download(self.repo_id, revision=newest, local_dir=partial,
                                      allow_patterns=[MODEL_FILE, CARD_FILE, README_FILE])
                partial.replace(folder)
            self.slot.serve(folder, load_model(folder))  # ModelError: a file we will not load
            self.revision, self.error = newest, None
            self._forget_old()
            return True
        except Exception as error:  # noqa: BLE001 - the Hub down, or a file we will not load: keep serving
            self.error = f"{type(error).__name__}: {error}"
            log.warning("model repo %s: %s (keeping model %s)", self.repo_id, self.error,
                        self.revision or "shipped")
            return False

    def _forget_old(self) -> None:
        folders = sorted((path for path in self.cache.iterdir() if path.is_dir() and not path.name.startswith(".")),
                         key=lambda path: path.stat().st_mtime)
        for folder in folders[:-KEEP]:
            if folder != self.slot.folder:
                shutil.rmtree(folder, ignore_errors=True)
