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
import numpy as np
import pandas as pd

from digit.feedback import Standing
from digit.model_card import history, percent
from digit.page.actions import feedback, model

LATEST = 24  # samples in the gallery
THUMBNAIL = 112  # px, the long side of a gallery picture
_thumbnails: OrderedDict[str, np.ndarray] = OrderedDict()  # sample id -> thumbnail, newest last
KEEP_THUMBNAILS = 500


def dataset_view() -> tuple[str, pd.DataFrame, pd.DataFrame, list[tuple[np.ndarray, str]], pd.DataFrame]:
    """Summary, samples per digit, confusions, the newest samples, the model history."""
    store = feedback()
    records = store.records()
    return (_summary(store, records), per_digit(records), confusions(records), latest(store, records),
            model_history(model().card))


def _summary(store, records: list[dict]) -> str:
    corrected = sum(record["predicted"] is not None and record["predicted"] != record["label"] for record in records)
    if store.sync is None:
        where = "kept on this machine (set FEEDBACK_REPO and HF_TOKEN to share it on the Hub)"
    elif store.sync.error is None:
        where = f"shared on the Hub as [{store.repo_id}](https://huggingface.co/datasets/{store.repo_id})"
    else:
        where = f"waiting to be pushed to `{store.repo_id}` (the Hub said: {store.sync.error})"
    return (f"**{len(records)}** samples, {where}. **{corrected}** of them corrected the jury; the next "
            "retraining learns from all of them.")


def per_digit(records: list[dict]) -> pd.DataFrame:
    counts = Counter(record["label"] for record in records)
    return pd.DataFrame({"digit": [str(digit) for digit in range(10)], "samples": [counts[d] for d in range(10)]})


def confusions(records: list[dict]) -> pd.DataFrame:
    """How often each digit drawn (label) was read as each digit (predicted)."""
    pairs = Counter((record["label"], record["predicted"]) for record in records if record["predicted"] is not None)
    rows = [{"drawn": str(label), "read as": str(predicted), "samples": count}
            for (label, predicted), count in sorted(pairs.items())]
    return pd.DataFrame(rows, columns=["drawn", "read as", "samples"])


def latest(store, records: list[dict]) -> list[tuple[np.ndarray, str]]:
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
    return [(_thumbnails[record["id"]], _caption(record, record["id"] in confirmed))
            for record in newest if record["id"] in _thumbnails]


def thumbnail(digit: np.ndarray) -> np.ndarray:
    """What the jury saw of a sample: its normalised digit, dark on white, enlarged pixel for pixel."""
    return cv2.resize(255 - digit, (THUMBNAIL, THUMBNAIL), interpolation=cv2.INTER_NEAREST)


def _caption(record: dict, confirmed: bool) -> str:
    return f"{record['label']} ✓ (confirmed)" if confirmed else f"{record['label']} ✓"


def model_history(card: dict) -> pd.DataFrame:
    rows = [{"version": entry["version"], "trained": (entry["date"] or "")[:10], "feedback samples": entry["feedback"],
             "validation": percent(entry["validation"]), "MNIST test": percent(entry["test"]),
             "held-out feedback": percent(entry["held_out_feedback"])} for entry in reversed(history(card))]
    return pd.DataFrame(rows)
