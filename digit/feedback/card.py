"""The dataset card (README.md) of the feedback dataset, locally and on the Hub: the
`configs` entry tells `datasets` and the Hub's viewer where the shards are."""

from __future__ import annotations

from huggingface_hub import DatasetCard, DatasetCardData

TEMPLATE = """---
{{ card_data }}
---

# Digit jury feedback

Digits drawn or uploaded by visitors of the Digit jury app, each with the digit the visitor
said it is (`label`) and what the jury read (`predicted`, `confidence`, `model_version`).
`source` says how it came: `sketch` (drawn on the page), `upload` or `api`. `image` is the
picture as sent, at most 512 px on its long side.

```python
from datasets import load_dataset
feedback = load_dataset("{{ repo_id }}", split="train")
```

The app writes Parquet shards under `data/` and merges small ones as the dataset grows, so
the repository holds few files however many samples it has. Nobody reviews labels before
retraining; the retraining's promotion gate is what stops bad data.
"""


def dataset_card(repo_id: str | None) -> str:
    data = DatasetCardData(
        license="mit", task_categories=["image-classification"], pretty_name="Digit jury feedback",
        configs=[{"config_name": "default", "data_files": [{"split": "train", "path": "data/*.parquet"}]}],
    )
    return DatasetCard.from_template(data, template_str=TEMPLATE, repo_id=repo_id or "FEEDBACK_REPO").content
