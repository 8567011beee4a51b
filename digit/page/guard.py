"""What stands in front of Gradio: refusals that must come before any work is done.

An ASGI middleware (given to FastAPI through launch(app_kwargs=...)). For every POST it refuses
a body over the limit from its Content-Length, before anything parses it (a body without one is
cut off at the limit). For the routes that read a digit off the queue (`/run/<name>`, where the
pad's strokes and the one-request `classify` arrive, and the MCP tools) it first reads the whole
body, which must come within `body_seconds` plus a second per BODY_RATE bytes (a slower one gets
408: a client trickling a byte at a time holds a connection, never a turn), then counts the
visitor's readings against their limit (429 and when to try again) and computes at most `at_once`
at a time: the rest wait up to `wait` seconds for a turn (the page's strokes ahead of API calls),
then get 503 "busy" (a stroke on the page gets either refusal as its verdict: `page_refusals`).
Gradio's queue, which would bound them, is what these routes skip to answer in one request. The
body read here is handed on to the app as it came.

The one-request API route (`POST /gradio_api/run/<name>` for a name in `answers`) is answered
here, in Gradio's shape, by the same function gr.api registers: Gradio's own route builds a
session state from every block's config for each call (~4 ms of the event loop's only core,
a quarter of its time at 60 requests/s in py-spy), which a stateless reading does not need.
gr.api keeps the endpoint on the API page, for gradio_client and as an MCP tool.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import math
import re
import time
from collections import deque
from typing import Any, Awaitable, Callable, Mapping

import orjson
from gradio import Error, Request
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request as StarletteRequest

from digit.rate_window import RateWindow

log = logging.getLogger(__name__)
Scope = dict[str, Any]
READING_ROUTE = re.compile(r"/gradio_api/(?:run|api)/[^/]+/?$|/gradio_api/mcp(?:/.*)?$")
PAGE_ROUTE = re.compile(r"/gradio_api/run/predict/?$")  # the page's own events: a person drawing
ANSWERED_ROUTE = re.compile(r"/gradio_api/(?:run|api)/([^/]+)/?$")
BODY_RATE = 64 * 1024  # bytes a second a reading's body must keep up past its first body_seconds (0.5 Mbit/s)


class Turns:
    """`at_once` turns to compute; who waits for one is served in order, the page's strokes before
    API calls (a person watching the pad waits on each; a script can wait a little longer)."""

    def __init__(self, at_once: int):
        self.free = at_once
        self.waiting: tuple[deque, deque] = (deque(), deque())  # strokes, then the rest

    async def take(self, first: bool, wait: float) -> bool:
        if self.free > 0 and not any(self.waiting):
            self.free -= 1
            return True
        turn = asyncio.get_running_loop().create_future()
        queue = self.waiting[0 if first else 1]
        queue.append(turn)
        try:
            await asyncio.wait_for(asyncio.shield(turn), wait)
            return True
        except TimeoutError:
            if turn.done():  # handed over just as the wait ran out: keep it
                return True
            queue.remove(turn)
            return False
        except asyncio.CancelledError:  # the request went away while it waited: its turn is not lost
            if turn.done():
                self.give_back()
            else:
                queue.remove(turn)
            raise

    def give_back(self) -> None:
        for queue in self.waiting:
            while queue:
                turn = queue.popleft()
                if not turn.done():
                    turn.set_result(None)  # the turn passes straight to the next in line
                    return
        self.free += 1


class Guard:
    def __init__(self, app, *, visitor_of: Callable[[dict[str, str], str | None], str], readings: RateWindow,
                 at_once: int, wait: float, body_limit: int, body_seconds: float = 10.0,
                 answers: Mapping[str, Callable[..., Any]] | None = None,
                 page_refusals: Mapping[int, Callable[[str, Mapping[str, str]], list]] | None = None):
        self.app = app
        self.answers = {name: (function, inspect.signature(function)) for name, function in (answers or {}).items()}
        # The page's events off the queue (by fn_index): the outputs that show a refusal's message.
        self.page_refusals = dict(page_refusals or {})
        self.visitor_of = visitor_of
        self.readings = readings
        self.wait = wait
        self.body_limit = body_limit
        self.body_seconds = body_seconds
        self._turns = Turns(at_once)

    async def __call__(self, scope: Scope, receive, send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST":
            return await self.app(scope, receive, send)
        headers = {name.decode("latin-1").lower(): value.decode("latin-1") for name, value in scope["headers"]}
        length = headers.get("content-length")
        if length is not None and (not length.isdigit() or int(length) > self.body_limit):
            return await self.too_large(send)
        if not READING_ROUTE.search(scope["path"]):
            return await self.app(scope, _capped(receive, self.body_limit) if length is None else receive, send)
        body = await self.body(receive, send)
        if body is None:  # refused (too slow, too large) or the client went away
            return
        peer = scope.get("client")[0] if scope.get("client") else None
        wait = self.readings.admit(self.visitor_of(headers, peer))
        page = PAGE_ROUTE.search(scope["path"]) is not None
        if wait:
            seconds = math.ceil(wait)
            return await self.refuse_reading(page, body, send, 429, f"Too many readings: at most "
                                             f"{self.readings.most} a minute from one visitor. Try again in "
                                             f"{seconds} s.", retry_after=seconds, headers=headers)
        if not await self._turns.take(first=page, wait=self.wait):
            return await self.refuse_reading(page, body, send, 503, "The server is busy; try again in a moment.",
                                             retry_after=1, headers=headers)
        try:
            answered = ANSWERED_ROUTE.search(scope["path"])
            if answered and answered.group(1) in self.answers:
                await self.answer(self.answers[answered.group(1)], body, send, scope)
            else:
                await self.app(scope, _replay(body, receive), send)
        finally:
            self._turns.give_back()

    async def body(self, receive, send) -> bytes | None:
        """The whole body, read before the request takes a turn; None once refused (413 past the
        limit, 408 when it comes too slowly) or when the client went away."""
        chunks, size = [], 0
        deadline = asyncio.get_running_loop().time() + self.body_seconds
        while True:
            try:
                message = await asyncio.wait_for(receive(), deadline - asyncio.get_running_loop().time())
            except TimeoutError:
                await refuse(send, 408, f"The request's body came too slowly (under {BODY_RATE // 1024} KB/s "
                                        f"after {self.body_seconds:g} s); send it again.", close=True)
                return None
            if message["type"] == "http.disconnect":
                return None
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.body_limit:
                await self.too_large(send)
                return None
            chunks.append(chunk)
            deadline += len(chunk) / BODY_RATE
            if not message.get("more_body"):
                return b"".join(chunks)

    async def refuse_reading(self, page: bool, body: bytes, send, status: int, message: str, retry_after: int,
                             headers: Mapping[str, str] | None = None) -> None:
        """Refuse a reading. Gradio's page shows nothing for an error off the queue (its toast is
        left hidden), so a stroke refused there would leave the last verdict standing: the page's
        own events get the message in their outputs instead (given the request's headers, to say
        it in the visitor's language)."""
        outputs = self.page_refusals.get(_fn_index(body)) if page and self.page_refusals else None
        if outputs is None:
            return await refuse(send, status, message, retry_after)
        await respond(send, 200, {"data": outputs(message, headers or {}), "is_generating": False, "duration": 0.0,
                                  "average_duration": 0.0, "render_config": None, "changed_state_ids": []},
                      retry_after)

    async def too_large(self, send) -> None:
        await refuse(send, 413, f"Request too large: the limit is {self.body_limit // 2**20} MB.")

    async def answer(self, answering: tuple[Callable[..., Any], inspect.Signature], body: bytes, send,
                     scope: Scope | None = None) -> None:
        """Call the function with the body's data in a worker thread (and the request, as gr.Request,
        when it takes one: who is asking); answer as Gradio's /run/ route does: {"data": [result], ...},
        or status 500 and {"error": message} for a gr.Error."""
        function, signature = answering
        try:
            data = orjson.loads(body)["data"]
            if not isinstance(data, list):
                raise TypeError
            signature.bind(*data, **({"request": None} if "request" in signature.parameters else {}))
        except (orjson.JSONDecodeError, KeyError, TypeError):
            wanted = [name for name, parameter in signature.parameters.items() if parameter.default is parameter.empty]
            return await refuse(send, 422, f'Send JSON with the values of {", ".join(wanted)} in a list: '
                                           f'{{"data": [...]}}.')
        started = time.perf_counter()
        asking = {"request": Request(StarletteRequest(scope))} if scope and "request" in signature.parameters else {}
        try:
            result = await run_in_threadpool(function, *data, **asking)
        except Error as error:
            return await refuse(send, 500, error.message)
        except Exception:  # noqa: BLE001 - logged here; the client is told in a sentence, not a traceback
            log.exception("answering %s failed", getattr(function, "__name__", function))
            return await refuse(send, 500, "Reading this picture failed on the server; try another picture.")
        await respond(send, 200, {"data": [result], "is_generating": False,
                                  "duration": time.perf_counter() - started})


async def refuse(send, status: int, message: str, retry_after: int | None = None, close: bool = False) -> None:
    """An answer in Gradio's error shape ({"error": ...}), so clients show the message. close: the
    connection is closed after it (the rest of the body it came with is not read)."""
    await respond(send, status, {"error": message}, retry_after, close)


async def respond(send, status: int, content: dict, retry_after: int | None = None, close: bool = False) -> None:
    body = orjson.dumps(content)
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    if retry_after is not None:
        headers.append((b"retry-after", str(retry_after).encode()))
    if close:
        headers.append((b"connection", b"close"))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def _fn_index(body: bytes) -> int | None:
    """The event a page's request is for (Gradio's fn_index in its JSON body), or None."""
    try:
        found = orjson.loads(body).get("fn_index") if body else None
    except (orjson.JSONDecodeError, AttributeError):
        return None
    return found if type(found) is int else None


def _replay(body: bytes, receive) -> Callable[[], Awaitable[dict]]:
    """receive() for the app: the body the guard read, then the client's own messages (a disconnect)."""
    sent = False

    async def replay() -> dict:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay


def _capped(receive, limit: int) -> Callable[[], Awaitable[dict]]:
    """receive() that ends the request (as a disconnect) once the body passes limit bytes."""
    seen = 0

    async def capped() -> dict:
        nonlocal seen
        message = await receive()
        if message["type"] == "http.request":
            seen += len(message.get("body", b""))
            if seen > limit:
                return {"type": "http.disconnect"}
        return message

    return capped
