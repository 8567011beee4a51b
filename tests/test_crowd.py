"""A Space that holds a crowd: classify in one request, limits per visitor, a bound on the
readings computed at once, and the MCP tools, against the real running app."""

from __future__ import annotations

import asyncio
import io
import socket
import threading
from urllib.parse import urlparse

import httpx
import pytest
from PIL import Image

from helpers import stored_samples
from testing.local_app import file_data, png_data_url, running_app
from testing.renderings import STROKES, draw_strokes


def data_url(digit: int, **drawing) -> str:
    buffer = io.BytesIO()
    Image.fromarray(draw_strokes(digit, **drawing)).save(buffer, format="PNG")
    return png_data_url(buffer.getvalue())


def test_classify_answers_in_one_request_with_the_label_confidences(app_server):
    with httpx.Client(base_url=app_server["url"]) as http:
        answer = http.post("gradio_api/run/classify", json={"data": [file_data(data_url(7))]})
    assert answer.status_code == 200
    result = answer.json()["data"][0]
    assert result["label"] == "7" and len(result["confidences"]) == 10


def test_classify_in_one_request_says_what_is_wrong_with_a_bad_picture(app_server):
    not_png = png_data_url(b"<html>not a picture</html>")
    with httpx.Client(base_url=app_server["url"]) as http:
        answer = http.post("gradio_api/run/classify", json={"data": [file_data(not_png)]})
        broken = http.post("gradio_api/run/classify", json={"data": [file_data("data:image/png;base64,%%%")]})
    assert answer.json()["error"].startswith("Not an image")
    assert "not valid base64" in broken.json()["error"]


@pytest.mark.parametrize("body", [b"not json", b'{"image": "data:image/png;base64,AA=="}', b'{"data": []}',
                                  b'{"data": "data:image/png;base64,AA=="}', b'{"data": [{"url": "x"}, 7]}'])
def test_classify_in_one_request_says_what_it_takes_when_the_body_is_not_one_picture_in_a_data_list(app_server,
                                                                                                   body):
    with httpx.Client(base_url=app_server["url"]) as http:
        answer = http.post("gradio_api/run/classify", content=body, headers={"Content-Type": "application/json"})
    assert answer.status_code == 422
    assert answer.json() == {"error": 'Send JSON with the values of image in a list: {"data": [...]}.'}


def test_classify_in_one_request_answers_as_gradio_client_does(app_server, tmp_path):
    from gradio_client import Client, handle_file

    path = tmp_path / "two.png"
    Image.fromarray(draw_strokes(2, canvas=(800, 800))).save(path)
    with httpx.Client(base_url=app_server["url"]) as http:
        direct = http.post("gradio_api/run/classify", json={"data": [file_data(png_data_url(path.read_bytes()))]})
    through_gradio = Client(app_server["url"], verbose=False).predict(handle_file(str(path)), api_name="/classify")
    assert direct.json()["data"][0] == through_gradio


def test_a_body_over_the_limit_is_refused_from_its_length_before_it_is_sent(app_server):
    address = urlparse(app_server["url"])
    with socket.create_connection((address.hostname, address.port), timeout=10) as connection:
        connection.sendall(b"POST /gradio_api/run/classify HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                           b"Content-Length: 209715200\r\n\r\n")  # 200 MB announced, none of it sent
        answer = ""
        while "}" not in answer:  # the headers and the small JSON body may come in two packets
            chunk = connection.recv(4096).decode()
            if not chunk:
                break
            answer += chunk
    assert answer.startswith("HTTP/1.1 413") and "Request too large" in answer


def test_a_chunked_body_past_the_limit_is_refused_with_the_same_message(app_server):
    address = urlparse(app_server["url"])
    chunk = b"%x\r\n%s\r\n" % (2**20, b"x" * 2**20)
    with socket.create_connection((address.hostname, address.port), timeout=20) as connection:
        connection.sendall(b"POST /gradio_api/run/classify HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                           b"Transfer-Encoding: chunked\r\n\r\n")  # no Content-Length: counted as it comes
        try:
            for _ in range(40):  # 40 MB, past the 27 MB limit
                connection.sendall(chunk)
        except OSError:  # the server answered and closed while we were still sending
            pass
        answer = b""
        while b"}" not in answer:
            part = connection.recv(4096)
            if not part:
                break
            answer += part
    assert answer.startswith(b"HTTP/1.1 413") and b"Request too large: the limit is 27 MB." in answer


def test_the_mcp_server_lists_classify_and_flag_and_classify_reads_a_data_url(app_server):
    from mcp import ClientSession
    from mcp.client.streamable_http import streamablehttp_client

    async def session():
        async with streamablehttp_client(app_server["url"] + "gradio_api/mcp/") as (read, write, _):
            async with ClientSession(read, write) as mcp:
                await mcp.initialize()
                tools = {tool.name: tool for tool in (await mcp.list_tools()).tools}
                return tools, await mcp.call_tool("classify", {"image": data_url(4)})

    tools, answer = asyncio.run(session())
    assert {"classify", "flag"} <= set(tools)
    assert "data URL" in tools["classify"].inputSchema["properties"]["image"]["description"]
    assert "0-9" in tools["flag"].inputSchema["properties"]["digit"]["description"]
    assert not answer.isError and "'label': '4'" in answer.content[0].text


@pytest.fixture(scope="module")
def strict_app(tmp_path_factory):
    """An app with low limits, one reading at a time and no waiting for a turn, behind one proxy
    (the tests play the proxy: each sets the X-Forwarded-For it would append)."""
    environment = {"CLASSIFY_PER_MINUTE": "5", "FLAGS_PER_MINUTE": "3", "DIGIT_CONCURRENCY": "1",
                   "READING_WAIT_SECONDS": "0", "PROXY_HOPS": "1"}
    with running_app(tmp_path_factory.mktemp("strict"), environment=environment) as app:
        yield app


def classify_as(http: httpx.Client, address: str, url: str) -> httpx.Response:
    return http.post("gradio_api/run/classify", json={"data": [file_data(url)]},
                     headers={"X-Forwarded-For": address})


def test_a_visitor_over_the_reading_limit_is_told_when_to_try_again_and_others_are_not(strict_app):
    url = data_url(3)
    with httpx.Client(base_url=strict_app["url"]) as http:
        statuses = [classify_as(http, "203.0.113.1", url).status_code for _ in range(5)]
        over = classify_as(http, "203.0.113.1", url)
        # A client's own X-Forwarded-For entry comes first; the proxy's is the last one, and counts.
        spoofed = classify_as(http, "198.51.100.9, 203.0.113.1", url)
        other = classify_as(http, "203.0.113.2", url)
    assert statuses == [200] * 5
    assert over.status_code == 429 and spoofed.status_code == 429
    assert over.json()["error"].startswith("Too many readings: at most 5 a minute")
    assert 0 < int(over.headers["retry-after"]) <= 60
    assert other.status_code == 200 and other.json()["data"][0]["label"] == "3"


def test_a_visitor_over_the_flag_limit_is_told_and_nothing_more_is_stored(strict_app):
    from gradio_client import Client, handle_file

    client = Client(strict_app["url"], verbose=False)
    answers = []
    for index, digit in enumerate((1, 2, 5, 6)):  # different drawings: a repeated one is kept once anyway
        path = strict_app["feedback"].parent / f"flag{index}.png"
        Image.fromarray(draw_strokes(digit)).save(path)
        try:
            answers.append(client.predict(handle_file(str(path)), digit, api_name="/flag"))
        except Exception as error:  # noqa: BLE001 - gradio_client's AppError carries the message
            answers.append(str(error))
    assert [answer.startswith("Saved as a") for answer in answers] == [True, True, True, False]
    assert "at most 3 corrections a minute" in answers[3]
    assert len(stored_samples(strict_app["feedback"])) == 3


def test_readings_beyond_the_bound_are_told_the_server_is_busy_and_the_rest_are_answered(strict_app):
    url, answers, together = data_url(8), [], threading.Barrier(12)

    def visitor(index: int) -> None:
        with httpx.Client(base_url=strict_app["url"], timeout=30) as http:
            together.wait()  # all twelve ask at once
            answers.append(classify_as(http, f"192.0.2.{index}", url))

    threads = [threading.Thread(target=visitor, args=(index,)) for index in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    statuses = sorted(answer.status_code for answer in answers)
    assert set(statuses) == {200, 503}, statuses  # one at a time, no waiting: the others are turned away
    busy = next(answer for answer in answers if answer.status_code == 503)
    assert busy.json()["error"] == "The server is busy; try again in a moment." and busy.headers["retry-after"] == "1"
    assert all(answer.json()["data"][0]["label"] == "8" for answer in answers if answer.status_code == 200)


def test_a_stroke_over_the_reading_limit_shows_the_refusal_as_the_verdict(strict_app, browser):
    # Gradio's page shows nothing for an error off its queue: without the guard's answer in the
    # pad's outputs, the last verdict would stay as if the stroke had been read.
    from testing.browser import clear_canvas, draw, open_page, wait_for_verdict

    page = open_page(browser, strict_app["url"])
    text = ""
    for _ in range(8):  # 5 readings a minute from one visitor: the 6th stroke or clearing is refused
        clear_canvas(page)
        text = wait_for_verdict(page, lambda text: "draw a digit" in text.lower() or "too many" in text.lower())
        if "too many" in text.lower():
            break
        draw(page, STROKES[1])
        text = wait_for_verdict(page, lambda text: text.startswith("1") or "too many" in text.lower())
        if "too many" in text.lower():
            break
    page.close()
    assert text.startswith("Too many readings: at most 5 a minute from one visitor. Try again in"), text
