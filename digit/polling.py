"""The app's background loops: a daemon thread that calls a function every few seconds until it
is stopped, and backs off while the function fails. The feedback push (digit/feedback/hub_sync.py)
and the model follower (digit/model/hub.py) run on it."""

from __future__ import annotations

import threading
from typing import Callable


class Poller:
    """Calls work() on a daemon thread named name, then again every `every` seconds, until stop().

    work handles its own errors and returns whether it succeeded. With retry (seconds), a failure
    is tried again after retry seconds, then twice as long after each further failure, up to
    `every` (or retry, if longer) and never more than `most`; a success brings back `every`.
    Without retry, success or not, the next call comes `every` seconds later.
    first: the first call at once (True), or only after the first wait (False).
    """

    def __init__(self, work: Callable[[], object], every: float, name: str, retry: float | None = None,
                 most: float = float("inf"), first: bool = True):
        self.work = work
        self.every = every
        self.name = name
        self.retry = retry
        self.most = most
        self.first = first
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, daemon=True, name=self.name)
        self._thread.start()

    def stop(self, timeout: float = 0.0) -> None:
        """No more calls; wait up to timeout seconds for a call under way to end (0: do not wait)."""
        self._stop.set()
        if self._thread is not None and timeout > 0:
            self._thread.join(timeout)

    def _run(self) -> None:
        if not self.first and self._stop.wait(self.every):
            return
        delay = self.retry
        while not self._stop.is_set():
            if self.work() or self.retry is None:
                delay = self.retry
                self._stop.wait(self.every)
            else:  # failing: try again soon, then less and less often
                self._stop.wait(delay)
                delay = min(delay * 2, max(self.every, self.retry), self.most)
