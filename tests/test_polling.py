"""The one background loop (digit/hub/polling.py) the feedback push and the model follower run on:
its schedule, read off the waits it asks for (no clock involved), and its stop."""

from __future__ import annotations

from digit.hub.polling import Poller


class Waits:
    """Stands in for the poller's stop event: records each wait, and is set after `count` of them."""

    def __init__(self, count: int):
        self.count, self.seconds = count, []

    def is_set(self) -> bool:
        return len(self.seconds) >= self.count

    def wait(self, seconds: float) -> bool:
        self.seconds.append(seconds)
        return self.is_set()


def schedule(poller: Poller, waits: int) -> list[float]:
    """The waits the poller's loop asks for, run here (not on its thread) until the `waits`th."""
    poller._stop = Waits(waits)
    poller._run()
    return poller._stop.seconds


def test_failures_back_off_doubling_up_to_every_and_a_success_brings_every_back():
    results = iter([False] * 6 + [True, False])
    poller = Poller(lambda: next(results), every=60, name="test", retry=5, most=300)
    assert schedule(poller, 8) == [5, 10, 20, 40, 60, 60, 60, 5]


def test_the_back_off_never_exceeds_most():
    poller = Poller(lambda: False, every=3600, name="test", retry=100, most=300)
    assert schedule(poller, 4) == [100, 200, 300, 300]


def test_without_retry_every_call_waits_every_and_first_false_waits_before_the_first_call():
    calls = []
    poller = Poller(lambda: calls.append(1), every=60, name="test", first=False)
    assert schedule(poller, 3) == [60, 60, 60] and len(calls) == 2
    calls.clear()
    poller = Poller(lambda: calls.append(1), every=60, name="test")
    assert schedule(poller, 3) == [60, 60, 60] and len(calls) == 3


def test_stop_ends_the_thread_and_no_call_comes_after_it():
    calls = []
    poller = Poller(lambda: calls.append(1) or True, every=3600, name="test-poller")
    poller.start()
    poller.stop(timeout=30)
    assert not poller._thread.is_alive() and len(calls) <= 1
    never = Poller(lambda: calls.append(2), every=0.01, name="test-poller", first=False)
    never.stop()
    never.start()
    never._thread.join(30)
    assert 2 not in calls
