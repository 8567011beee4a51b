"""Serving the page as a Space lives: started, restarted by SIGTERM, stopped by Ctrl-C.

Python dies at SIGTERM without running atexit, and Gradio's launch() only handles
SIGINT; a Space restart (rebuild, sleep, new hardware) sends SIGTERM. So SIGTERM is made
to stop the server as Ctrl-C does, and then what the feedback store has not pushed yet
goes to the Hub within a deadline (or stays on disk for the next start).
"""

from __future__ import annotations

import logging
import signal

import gradio as gr
from threadpoolctl import threadpool_limits

from digit.config import concurrency
from digit.feedback import FeedbackStore
from digit.images import MAX_FILE_BYTES

log = logging.getLogger(__name__)
LAST_PUSH_SECONDS = 20.0  # a Space gives a stopping container about 30 s


def _stop_like_ctrl_c(signum, frame) -> None:
    raise KeyboardInterrupt  # launch() closes the server on it and returns


def serve(demo: gr.Blocks, store: FeedbackStore, **launch_options) -> None:
    """Launch the page; on SIGTERM or Ctrl-C, close it and push the pending feedback."""
    # One digit's matrices are small: BLAS threads cost more than they give there, and the
    # readings computed at once (DIGIT_CONCURRENCY) are what keeps the cores busy.
    threadpool_limits(1)
    signal.signal(signal.SIGTERM, _stop_like_ctrl_c)
    try:
        demo.queue(default_concurrency_limit=concurrency()).launch(max_file_size=MAX_FILE_BYTES, **launch_options)
    except KeyboardInterrupt:  # a signal that came before launch() was blocking
        pass
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        pushed = store.close(LAST_PUSH_SECONDS)
        print("feedback: all pushed" if pushed else "feedback: what is not pushed stays on disk for the next start",
              flush=True)
