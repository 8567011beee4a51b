"""The Dataset tab: what the feedback holds and what it has taught, in pictures.

Nothing here re-reads or re-classifies the dataset: counts and confusions come from the
store's records in memory (label and prediction were saved with each sample), the gallery
decodes only the newest samples (thumbnails kept), the history comes from the model card.

The gallery is public, and what anyone uploads is not: it shows only what the jury saw (the
normalised 28x28 digit, stored with each sample, which keeps no colour, text or picture around
the digit) and only of samples the jury read as labelled or that other visitors confirmed
("Check these"). An unconfirmed correction's picture is never shown to other visitors.
"""

from __future__ import annotations

from collections import Counter, OrderedDict

import cv2
import gradio as gr
import numpy as np
import pandas as pd

from digit.feedback import Standing
from digit.model.card import ModelCard, history, percent
from digit.page.state import feedback, model
from digit.page.languages import ENGLISH, Words

LATEST = 24  # samples in the gallery
THUMBNAIL = 112  # px, the long side of a gallery picture
_thumbnails: OrderedDict[str, np.ndarray] = OrderedDict()  # sample id -> thumbnail, newest last
KEEP_THUMBNAILS = 500


def dataset_view(request: gr.Request | None = None
                 ) -> tuple[str, pd.DataFrame, pd.DataFrame, list[tuple[np.ndarray, str]], pd.DataFrame]:
    """Summary, samples per digit, confusions, the newest samples, the model history."""
    words = Words.of(request)
    store = feedback()
    records = store.records()
    return (_summary(store, records, words), per_digit(records), confusions(records), latest(store, records, words),
            model_history(model().card, words))


def _summary(store, records: list[dict], words: Words) -> str:
    corrected = sum(record["predicted"] is not None and record["predicted"] != record["label"] for record in records)
    if store.sync is None:
        where = words("kept_here")
    elif store.sync.error is None:
        where = words("shared_on_hub", repo=store.repo_id)
    else:
        where = words("waiting_for_hub", repo=store.repo_id, error=store.sync.error)
    return words("summary", count=len(records), where=where, corrected=corrected)


def per_digit(records: list[dict]) -> pd.DataFrame:
    counts = Counter(record["label"] for record in records)
    return pd.DataFrame({"digit": [str(digit) for digit in range(10)], "samples": [counts[d] for d in range(10)]})


def confusions(records: list[dict]) -> pd.DataFrame:
    """How often each digit drawn (label) was read as each digit (predicted)."""
    pairs = Counter((record["label"], record["predicted"]) for record in records if record["predicted"] is not None)
    rows = [{"drawn": str(label), "read as": str(predicted), "samples": count}
            for (label, predicted), count in sorted(pairs.items())]
    return pd.DataFrame(rows, columns=["drawn", "read as", "samples"])


def latest(store, records: list[dict], words: Words = ENGLISH) -> list[tuple[np.ndarray, str]]:
    """The newest samples the jury read as labelled or others confirmed, as the jury saw them
    (28x28, enlarged)."""
    confirmed = {sample_id for sample_id, tally in store.tallies().items() if tally.standing is Standing.CONFIRMED}
    shown = [record for record in records[-20 * LATEST:]
             if record["predicted"] == record["label"] or record["id"] in confirmed]
    newest = shown[-LATEST:][::-1]
    missing = [record["id"] for record in newest if record["id"] not in _thumbnails]
    for sample_id, digit in store.digits(missing).items():
        _thumbnails[sample_id] = thumbnail(digit)
    while len(_thumbnails) > KEEP_THUMBNAILS:
        _thumbnails.popitem(last=False)
    return [(_thumbnails[record["id"]], _caption(record, record["id"] in confirmed, words))
            for record in newest if record["id"] in _thumbnails]


def thumbnail(digit: np.ndarray) -> np.ndarray:
    """What the jury saw of a sample: its normalised digit, dark on white, enlarged pixel for pixel."""
    return cv2.resize(255 - digit, (THUMBNAIL, THUMBNAIL), interpolation=cv2.INTER_NEAREST)


def _caption(record: dict, confirmed: bool, words: Words) -> str:
    return words("confirmed_caption", digit=record["label"]) if confirmed else f"{record['label']} ✓"


def model_history(card: ModelCard, words: Words = ENGLISH) -> pd.DataFrame:
    """Each promoted jury, newest first; the column names in the page's language."""
    rows = [{words("version"): entry["version"], words("trained"): (entry["date"] or "")[:10],
             words("feedback_samples"): entry["feedback"], words("validation"): _share(entry["validation"], words),
             words("mnist_test"): _share(entry["test"], words),
             words("held_out_feedback"): _share(entry["held_out_feedback"], words)}
            for entry in reversed(history(card))]
    return pd.DataFrame(rows)


def _share(value: float | None, words: Words) -> str:
    return percent(value) if value is None else words.percent(value, 2)
