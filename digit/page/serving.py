"""Serving the page as a Space lives: started, restarted by SIGTERM, stopped by Ctrl-C.

Python dies at SIGTERM without running atexit, and Gradio's launch() only handles
SIGINT; a Space restart (rebuild, sleep, new hardware) sends SIGTERM. So SIGTERM is made
to stop the server as Ctrl-C does, and then what the feedback store has not pushed yet
goes to the Hub within a deadline (or stays on disk for the next start).

Gradio builds uvicorn's settings itself, so two of them are set here, where uvicorn reads them:
the HTTP protocol (digit/page/bounded_http.py: a request's head is bounded), and no trusted
forwarders. uvicorn by default takes X-Forwarded-For from a peer on 127.0.0.1 and rewrites the
client address with it before the app sees the request; who a visitor is is decided in one place
from the raw peer and PROXY_HOPS (digit/visitors.py), so nothing must rewrite it before.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal

import gradio as gr
import uvicorn.config
from threadpoolctl import threadpool_limits

from digit.config import concurrency
from digit.feedback import FeedbackStore
from digit.config import MAX_FILE_BYTES
from digit.page.bounded_http import BoundedHttpToolsProtocol

log = logging.getLogger(__name__)
LAST_PUSH_SECONDS = 20.0  # a Space gives a stopping container about 30 s
# At a stop, responses under way get this long to finish. Visitors' open streams (gradio_client's
# heartbeat, a page's events) never end by themselves: without a bound uvicorn waits for them, and
# Gradio gives up on its server after 5 s, 5 s taken from the last push.
SHUTDOWN_SECONDS = 1.0


class _StreamsCutAtStop(logging.Filter):
    """Drops the traceback uvicorn logs for each stream it cuts at that bound: an expected end."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not (record.exc_info and isinstance(record.exc_info[1], asyncio.CancelledError))


def serve(demo: gr.Blocks, store: FeedbackStore, **launch_options) -> None:
    """Launch the page; on SIGTERM or Ctrl-C, close it and push the pending feedback."""
    os.environ["FORWARDED_ALLOW_IPS"] = ""  # uvicorn trusts no peer's X-Forwarded-For: the peer stays as it is
    uvicorn.config.HTTP_PROTOCOLS["auto"] = f"{BoundedHttpToolsProtocol.__module__}:BoundedHttpToolsProtocol"
    # One digit's matrices are small: BLAS threads cost more than they give there, and the
    # readings computed at once (DIGIT_CONCURRENCY) are what keeps the cores busy.
    threadpool_limits(1)

    def stop_like_ctrl_c(signum, frame) -> None:
        server = getattr(demo, "server", None)  # Gradio's uvicorn server, once launched
        if server is not None:
            server.config.timeout_graceful_shutdown = SHUTDOWN_SECONDS  # read when its shutdown begins
            logging.getLogger("uvicorn.error").addFilter(_StreamsCutAtStop())
        raise KeyboardInterrupt  # launch() closes the server on it and returns

    signal.signal(signal.SIGTERM, stop_like_ctrl_c)
    try:
        demo.queue(default_concurrency_limit=concurrency()).launch(max_file_size=MAX_FILE_BYTES, **launch_options)
    except KeyboardInterrupt:  # a signal that came before launch() was blocking
        pass
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        pushed = store.close(LAST_PUSH_SECONDS)
        print("feedback: all pushed" if pushed else "feedback: what is not pushed stays on disk for the next start",
              flush=True)
