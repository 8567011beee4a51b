"""At most N events per key in any window of time: the one way this project bounds a rate.

The page's readings and flags per minute, the votes per hour (in all and per network) and the
samples and votes one visitor may send in a day all count with a RateWindow. Events may be added
out of order (a store reloading its records), so each key keeps its moments sorted; keys quiet
for a whole window are forgotten, so memory follows the recent visitors only.
"""

from __future__ import annotations

import bisect
import threading
import time
from collections.abc import Callable

MINUTE, HOUR, DAY = 60.0, 3600.0, 24 * 3600.0


class RateWindow:
    """At most `most` events per key in any `seconds` (most 0 or less: no limit). Thread-safe.
    clock: the time now (time.monotonic for requests; time.time where events carry their date)."""

    def __init__(self, most: int, seconds: float, clock: Callable[[], float] = time.monotonic):
        self.most, self.seconds = most, seconds
        self._clock = clock
        self._events: dict[str, list[float]] = {}
        self._lock = threading.Lock()
        self._swept = clock()

    def add(self, key: str, moment: float | None = None) -> None:
        """Count an event of key at moment (default: now)."""
        now = self._clock()
        with self._lock:
            self._sweep(now)
            bisect.insort(self._events.setdefault(key, []), now if moment is None else moment)

    def wait(self, key: str, now: float | None = None) -> float:
        """0 when key may have one more event now; else the seconds until it may."""
        if self.most <= 0:
            return 0.0
        now = self._clock() if now is None else now
        with self._lock:
            events = self._events.get(key, [])
            start = bisect.bisect_right(events, now - self.seconds)
            if len(events) - start < self.most:
                return 0.0
            return max(events[len(events) - self.most] + self.seconds - now, 0.001)

    def admit(self, key: str) -> float:
        """0 and the event counted when key is within its limit; else the seconds until it is."""
        if self.most <= 0:
            return 0.0
        now = self._clock()
        with self._lock:
            self._sweep(now)
            events = self._events.setdefault(key, [])
            start = bisect.bisect_right(events, now - self.seconds)
            if len(events) - start >= self.most:
                return max(events[len(events) - self.most] + self.seconds - now, 0.001)
            bisect.insort(events, now)
            return 0.0

    def _sweep(self, now: float) -> None:
        """Drop the events older than a window, at most once a window; call with the lock held."""
        if now - self._swept < self.seconds:
            return
        self._swept = now
        for key in list(self._events):
            events = self._events[key]
            del events[:bisect.bisect_right(events, now - self.seconds)]
            if not events:
                del self._events[key]
