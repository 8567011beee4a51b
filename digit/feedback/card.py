"""The dataset card (README.md) of the feedback dataset, locally and on the Hub: the
`configs` entry tells `datasets` and the Hub's viewer where the shards are."""

from __future__ import annotations

from huggingface_hub import DatasetCard, DatasetCardData

from digit.config import STORED_SIDE
from digit.visitors import ANONYMOUS, HASH_DIGITS, LOGGED_IN, NETWORK, UNKNOWN_VISITOR

TEMPLATE = """---
{{ card_data }}
---

# Digit jury feedback

Digits drawn or uploaded by visitors of the Digit jury app, each with the digit the visitor
said it is (`label`) and what the jury read (`predicted`, `confidence`, `model_version`).
`source` says how it came: `sketch` (drawn on the page), `upload`, `api`, or `challenge` (drawn on
"Fool the jury" when asked for the digit in `label`). `image` is the
picture as sent, at most {{ stored_side }} px on its long side; `created_at` when it came (UTC).

`visitor` says who sent it without their address: `{{ anonymous }}` and {{ hash_digits }} hex digits of a keyed hash
of the address the visitor came from, `{{ logged_in }}` and the Hub username of a visitor who logged in,
or `{{ unknown }}` (samples from before this column, or from a caller that did not say). One
visitor's samples are capped per day, and the retraining caps each visitor's weight, so no
one person can steer the model. `digit_hash` is a perceptual hash of the digit as the jury
reads it (normalised to 28x28; 64 hex digits): the same drawing sent twice by one visitor
with the same label is kept once. `digit` is that normalised 28x28 digit itself (a PNG; empty
in samples from before the column): what the app's public pages show of a sample. `network` is
a keyed hash of the sender's network (their IPv4 /24 or IPv6 /48; `{{ network }}` and {{ hash_digits }} hex digits;
empty in samples from before the column). `strokes` is a drawing as the pad drew it, in Quick, Draw!'s raw format: per stroke
`[[x...], [y...], [t...]]`, pad pixels (a 600x400 canvas) and milliseconds since its first
point; empty for uploads, API pictures and samples from before the column.

`votes/*.jsonl` (not part of the dataset's columns) holds other visitors' word on contested
corrections (those that contradict a confident jury, and prompted drawings that fooled it), one
JSON line a vote: `sample` (the sample's `id`), `visitor`, `network`, `agree`, `created_at`. A
contested correction is confirmed when more agree than disagree and those agreeing come from two
networks other than the flagger's, or include a visitor logged in (an anonymous network counts
once; the flagger's own network never); rejected when more disagree. The retraining learns a
contested correction only once confirmed (and weighs it twice), and leaves rejected ones out.

```python
from datasets import load_dataset
feedback = load_dataset("{{ repo_id }}", split="train")
```

The app writes Parquet shards under `data/` and merges small ones as the dataset grows, so
the repository holds few files however many samples it has. Uncontested corrections teach as
they come; the retraining's promotion gate and its per-visitor caps are what stop bad data there.
"""


def dataset_card(repo_id: str | None) -> str:
    data = DatasetCardData(
        license="mit", task_categories=["image-classification"], pretty_name="Digit jury feedback",
        configs=[{"config_name": "default", "data_files": [{"split": "train", "path": "data/*.parquet"}]}],
    )
    return DatasetCard.from_template(data, template_str=TEMPLATE, repo_id=repo_id or "FEEDBACK_REPO",
                                     anonymous=ANONYMOUS, logged_in=LOGGED_IN, network=NETWORK,
                                     unknown=UNKNOWN_VISITOR, hash_digits=HASH_DIGITS, stored_side=STORED_SIDE).content
