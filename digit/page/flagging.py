"""The page's Gradio flagging callback, over the feedback store.

Used as Gradio's own callbacks are (CSVLogger, in its flagging demos): app.py sets it up once
with the components whose values it saves, `setup([last_input, correction], FEEDBACK_DIR)`
(the gr.State holding the Sample the last reading kept, and the digit it is), and the events
call `flag([sample, digit], username=visitor)` with their values. As Gradio's CSVLogger, setup
only records them; the store (digit/feedback/store.py, which knows nothing of Gradio) is opened
in that folder before the first visitor (state.start) or at its first use.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from gradio import FlaggingCallback
from gradio.components import Component

from digit.feedback import FeedbackStore


class FeedbackFlagging(FlaggingCallback):
    """Flags go into a FeedbackStore (given, or opened in the folder set up: FEEDBACK_DIR by default)."""

    def __init__(self, store: FeedbackStore | None = None):
        self.components: list[Component] = []
        self.flagging_dir: Path | None = None
        self._store = store
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"FeedbackFlagging(store={self._store!r})"

    def setup(self, components: Sequence[Component], flagging_dir: str | Path | None = None) -> None:
        """The components whose values flag() receives, and the folder of the feedback dataset."""
        self.components = list(components)
        self.flagging_dir = Path(flagging_dir) if flagging_dir else None

    def store(self) -> FeedbackStore:
        """The store flags go into, opened once (recovered, reloaded, pushing when shared)."""
        with self._lock:
            if self._store is None:
                store = FeedbackStore(self.flagging_dir)
                store.setup()
                self._store = store
            return self._store

    def flag(self, flag_data: list[Any], flag_option: str | None = None, username: str | None = None) -> int:
        """Store one sample. flag_data: the values of the components set up, the Sample a reading
        kept and the digit it is; username: who sent it (a visitor id, None for "unknown");
        flag_option: unused (the digit is among the values). Returns how many samples the dataset
        holds; raises FeedbackError (the message says why, for people) and then nothing was stored."""
        sample, label = flag_data
        store = self.store()
        store.save(sample.flagged(label, username))
        return store.count()
