"""The server's HTTP/1.1 protocol with a bound on a request's head (request line and headers).

uvicorn serves Gradio with httptools (in requirements.txt), and neither bounds a request's head:
httptools joins a header's pieces as they come (one 32 MiB X-Forwarded-For grew the server by
~160 MB, copied over and over as it grew) and uvicorn keeps the URL the same way. h11, uvicorn's
other parser, refuses a head past 16 KB; here httptools does the same at HEAD_LIMIT, counted as
the bytes arrive, before the parser holds them: 431 and the connection closed. A head must also
be complete within HEAD_SECONDS of its first byte, so a connection trickling one cannot be kept
forever.
"""

from __future__ import annotations

import asyncio

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from digit.config import HEAD_LIMIT

HEAD_SECONDS = 20.0
_REFUSAL = (b"HTTP/1.1 431 Request Header Fields Too Large\r\ncontent-type: text/plain; charset=utf-8\r\n"
            b"connection: close\r\ncontent-length: %d\r\n\r\n%s")


class BoundedHttpToolsProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol that refuses a head past HEAD_LIMIT bytes or HEAD_SECONDS."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._head_bytes = 0  # of the head being received; None once it is complete
        self._head_timer: asyncio.TimerHandle | None = None

    def data_received(self, data: bytes) -> None:
        if self._head_bytes is None:
            return super().data_received(data)
        if self._head_bytes == 0 and self._head_timer is None:
            self._head_timer = self.loop.call_later(HEAD_SECONDS, self._head_too_slow)
        room = HEAD_LIMIT - self._head_bytes
        if len(data) <= room:
            self._head_bytes += len(data)
            return super().data_received(data)
        # The head may end within this chunk (a body after it): feed what fits, then see.
        super().data_received(data[:room])
        if self._head_bytes is None and not self.transport.is_closing():
            super().data_received(data[room:])
        elif self._head_bytes is not None and not self.transport.is_closing():
            self._refuse()

    def on_headers_complete(self) -> None:
        self._head_bytes = None
        self._stop_head_timer()
        super().on_headers_complete()

    def on_message_complete(self) -> None:
        super().on_message_complete()
        self._head_bytes = 0  # a kept-alive connection's next request starts its own head

    def connection_lost(self, exc: Exception | None) -> None:
        self._stop_head_timer()
        super().connection_lost(exc)

    def _head_too_slow(self) -> None:
        self._head_timer = None
        if self._head_bytes:  # a head started and not finished
            self.transport.close()

    def _stop_head_timer(self) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None

    def _refuse(self) -> None:
        message = f"Request headers too large: the limit is {HEAD_LIMIT // 1024} KB in all.".encode()
        self.transport.write(_REFUSAL % (len(message), message))
        self.transport.close()
        self._head_bytes = None
        self._stop_head_timer()
