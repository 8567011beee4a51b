"""What stands in front of the app (digit/page/guard.py, digit/page/bounded_http.py): readings
computed at once, the rest waiting in line; a turn taken only once a body is read, in time;
request heads bounded; the visitor is the peer when no proxy is in front."""

from __future__ import annotations

import asyncio
import io
import socket
import time
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlparse

import httpx
import pytest
from PIL import Image

from bench.load import stroke_event
from helpers import pad_value
from digit.page.guard import Turns
from testing.local_app import file_data, png_data_url, running_app
from testing.renderings import draw_strokes


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


# -- against the real app -------------------------------------------------------------------------

@pytest.fixture(scope="module")
def guarded_app(tmp_path_factory):
    """One reading at a time and no wait for a turn (a held turn shows at once as 503), a short
    body deadline, no proxy in front (PROXY_HOPS=0) and 3 flags a minute per visitor."""
    environment = {"DIGIT_CONCURRENCY": "1", "READING_WAIT_SECONDS": "0", "READING_BODY_SECONDS": "1",
                   "PROXY_HOPS": "0", "FLAGS_PER_MINUTE": "3"}
    with running_app(tmp_path_factory.mktemp("guarded"), environment=environment) as app:
        yield app


def address(app: dict) -> tuple[str, int]:
    parsed = urlparse(app["url"])
    return parsed.hostname, parsed.port


def answer_of(connection: socket.socket) -> bytes:
    """What the server sent until it closed the connection."""
    received = b""
    while chunk := connection.recv(65536):
        received += chunk
    return received


def seven_url() -> str:
    buffer = io.BytesIO()
    Image.fromarray(draw_strokes(7)).save(buffer, format="PNG")
    return png_data_url(buffer.getvalue())


@pytest.mark.parametrize("route", ["gradio_api/run/classify", "gradio_api/run/predict"], ids=["classify", "stroke"])
def test_slow_bodies_get_408_and_hold_no_turn_while_a_normal_reading_is_answered(guarded_app, route):
    with httpx.Client(base_url=guarded_app["url"], timeout=30) as http:
        stroke = stroke_event(guarded_app["url"])
        slow = []
        for _ in range(2):  # each announces 1,000 bytes and sends one
            connection = socket.create_connection(address(guarded_app), timeout=30)
            connection.sendall(f"POST /{route} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                               "Content-Length: 1000\r\n\r\n{".encode())
            slow.append(connection)
        time.sleep(0.3)  # both are in the guard, waiting for the rest of their bodies
        url = seven_url()
        body = {"data": [file_data(url)]} if route.endswith("classify") else {
            "data": [pad_value(draw_strokes(7))], "fn_index": stroke, "trigger_id": None,
            "session_hash": "slowbodytest"}
        answers = [http.post(route, json=body) for _ in range(3)]
    assert [answer.status_code for answer in answers] == [200] * 3, [answer.text for answer in answers]
    if route.endswith("classify"):
        assert answers[0].json()["data"][0]["label"] == "7"
    else:
        assert "7" in str(answers[0].json()["data"][0])
    for connection in slow:
        with connection:
            refused = answer_of(connection)
        assert refused.startswith(b"HTTP/1.1 408") and b"body came too slowly" in refused


def server_memory_mb(app: dict) -> float:
    with open(f"/proc/{app['process'].pid}/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("VmRSS:")) / 1024


def test_a_32_mib_header_is_refused_before_the_server_holds_it(guarded_app):
    def send_huge_header() -> bytes:
        with socket.create_connection(address(guarded_app), timeout=30) as connection:
            connection.sendall(b"POST /gradio_api/run/classify HTTP/1.1\r\nHost: x\r\nX-Forwarded-For: ")
            try:
                for _ in range(512):  # 32 MiB
                    connection.sendall(b"1" * 65536)
            except OSError:  # refused and closed while we were still sending
                pass
            return answer_of(connection)

    before = server_memory_mb(guarded_app)
    with ThreadPoolExecutor(4) as pool:
        answers = list(pool.map(lambda _: send_huge_header(), range(4)))
    assert all(answer.startswith(b"HTTP/1.1 431") and b"the limit is 32 KB in all" in answer for answer in answers)
    assert server_memory_mb(guarded_app) - before <= 20
    with httpx.Client(base_url=guarded_app["url"], timeout=30) as http:
        assert http.post("gradio_api/run/classify", json={"data": [file_data(seven_url())]}).status_code == 200


def test_with_no_proxy_in_front_x_forwarded_for_is_ignored_and_one_peer_is_one_visitor(guarded_app, tmp_path):
    from gradio_client import Client, handle_file

    said = []
    for digit in range(8):  # eight sessions, each with its own made-up address: one visitor, 3 flags a minute
        picture = tmp_path / f"{digit}.png"
        Image.fromarray(draw_strokes(digit)).save(picture)
        client = Client(guarded_app["url"], verbose=False, headers={"X-Forwarded-For": f"198.51.100.{digit + 1}"})
        try:
            said.append(client.predict(handle_file(str(picture)), digit, api_name="/flag"))
        except Exception as error:  # noqa: BLE001 - the refusal is what is checked
            said.append(str(error))
    assert [text.startswith("Saved as a") for text in said] == [True] * 3 + [False] * 5, said
    assert "at most 3 corrections a minute from one visitor" in said[3]
