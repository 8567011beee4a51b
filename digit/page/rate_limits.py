"""Per-visitor limits over a sliding minute: how many readings or flags one visitor may ask for."""

from __future__ import annotations

import threading
import time
from collections import deque


class RateLimit:
    """At most `per_minute` events per key in any 60 s (0: no limit). Thread-safe; forgets keys
    that were quiet for a minute, so memory follows the visitors of the last minute."""

    WINDOW = 60.0

    def __init__(self, per_minute: int, clock=time.monotonic):
        self.per_minute = per_minute
        self._clock = clock
        self._events: dict[str, deque[float]] = {}
        self._lock = threading.Lock()
        self._swept = clock()

    def wait(self, key: str) -> float:
        """0 and the event counted when key is within its limit; else the seconds until it is."""
        if self.per_minute <= 0:
            return 0.0
        now = self._clock()
        with self._lock:
            self._sweep(now)
            events = self._events.setdefault(key, deque())
            while events and events[0] <= now - self.WINDOW:
                events.popleft()
            if len(events) >= self.per_minute:
                return max(events[0] + self.WINDOW - now, 0.001)
            events.append(now)
            return 0.0

    def _sweep(self, now: float) -> None:
        if now - self._swept < self.WINDOW:
            return
        self._swept = now
        for key in [key for key, events in self._events.items() if not events or events[-1] <= now - self.WINDOW]:
            del self._events[key]
