"""The guard's turns: readings computed at once, the rest waiting in line (digit/page/guard.py)."""

from __future__ import annotations

import asyncio

from digit.page.guard import Turns


def test_a_request_that_goes_away_while_it_waits_does_not_take_a_turn_with_it():
    # A visitor who reloads the page or a client that times out cancels its request while it
    # waits; the turn handed on later must reach the next reading, not the one that left.
    async def scenario() -> tuple[bool, bool]:
        turns = Turns(1)
        assert await turns.take(first=True, wait=1)
        leaving = asyncio.create_task(turns.take(first=True, wait=5))
        await asyncio.sleep(0.01)
        leaving.cancel()
        await asyncio.gather(leaving, return_exceptions=True)
        turns.give_back()
        return await turns.take(first=True, wait=0.5), turns.free == 0

    assert asyncio.run(scenario()) == (True, True)


def test_a_turn_handed_over_as_its_request_went_away_is_handed_on():
    async def request(turns: Turns) -> None:  # as the guard serves one: a turn taken is given back
        if await turns.take(first=True, wait=5):
            try:
                await asyncio.sleep(0.01)
            finally:
                turns.give_back()

    async def scenario() -> bool:
        turns = Turns(1)
        await turns.take(first=True, wait=1)
        leaving = asyncio.create_task(request(turns))
        await asyncio.sleep(0.01)
        turns.give_back()  # hands the turn to the waiting request...
        leaving.cancel()  # ...which is cancelled before it resumes
        await asyncio.gather(leaving, return_exceptions=True)
        return await turns.take(first=False, wait=0.5)

    assert asyncio.run(scenario())


def test_strokes_waiting_for_a_turn_go_before_api_calls():
    async def scenario() -> list[str]:
        turns, served = Turns(1), []
        await turns.take(first=False, wait=1)

        async def reading(name: str, first: bool) -> None:
            await turns.take(first=first, wait=5)
            served.append(name)
            turns.give_back()

        waiting = [asyncio.create_task(reading("api", False)), asyncio.create_task(reading("stroke", True))]
        await asyncio.sleep(0.01)
        turns.give_back()
        await asyncio.gather(*waiting)
        return served

    assert asyncio.run(scenario()) == ["stroke", "api"]
