"""The model card: the facts of one trained jury, as JSON for programs and as a Hub README.

`ModelCard` is the one reading and writing of models/model_card.json: every card already
written (shipped or promoted on a Hub model repo) loads, a key it does not know is kept as it
was, and one that is missing or of the wrong type is its field's default.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from huggingface_hub import EvalResult, ModelCardData
from huggingface_hub import ModelCard as HubModelCard

from digit.config import model_dir


@dataclass(frozen=True)
class ModelCard:
    version: str | None = None  # the training's UTC time, "20261206-212339"; None: no card
    date: str | None = None  # ISO 8601, UTC
    data: dict[str, Any] = field(default_factory=dict)  # the training digits by source; the feedback repo and revision
    metrics: dict[str, Any] = field(default_factory=dict)  # the figures, by name (validation, canvas, MNIST test)
    training: dict[str, Any] = field(default_factory=dict)  # seconds, peak memory
    files: dict[str, int] = field(default_factory=dict)  # file name -> bytes
    parent_version: str | None = None  # the jury this one replaced (a retraining's promotion)
    history: tuple[dict, ...] = ()  # every version before this one (history_entry), oldest first
    extra: dict[str, Any] = field(default_factory=dict)  # keys this code does not know, written back as they were

    @classmethod
    def from_dict(cls, raw: object) -> "ModelCard":
        raw = raw if isinstance(raw, dict) else {}

        def of(key: str, kind: type, default: Any = None) -> Any:
            value = raw.get(key)
            return value if isinstance(value, kind) else default

        history = of("history", list, [])
        return cls(version=of("version", str), date=of("date", str), data=of("data", dict, {}),
                   metrics=of("metrics", dict, {}), training=of("training", dict, {}), files=of("files", dict, {}),
                   parent_version=of("parent_version", str),
                   history=tuple(entry for entry in history if isinstance(entry, dict)),
                   extra={key: value for key, value in raw.items() if key not in _KEYS})

    @classmethod
    def from_json(cls, text: str) -> "ModelCard":
        """The card in this JSON text; an empty card if it is not JSON."""
        try:
            return cls.from_dict(json.loads(text))
        except ValueError:
            return cls()

    def to_dict(self) -> dict:
        """The card as model_card.json holds it (parent_version and history only once there is one)."""
        card = {"version": self.version, "date": self.date, "data": self.data, "metrics": self.metrics,
                "training": self.training, "files": self.files}
        if self.parent_version is not None:
            card["parent_version"] = self.parent_version
        if self.history:
            card["history"] = list(self.history)
        return {**card, **self.extra}

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2) + "\n"

    def metric(self, name: str) -> float | None:
        """A figure of the card as a number; None when it is missing or not a number."""
        value = self.metrics.get(name)
        return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


_KEYS = {"version", "date", "data", "metrics", "training", "files", "parent_version", "history"}


CARD_FILE = "model_card.json"


def read_card(folder: Path | None = None) -> ModelCard:
    """The card in folder (default MODEL_DIR); an empty card when there is none to read."""
    folder = folder or model_dir()
    try:
        return ModelCard.from_json((folder / CARD_FILE).read_text())
    except OSError:
        return ModelCard()


def percent(value: float | None) -> str:
    """A share as the card and the Dataset tab show it: 0.9876 -> "98.76%", a missing one "—"."""
    return "—" if value is None else f"{value:.2%}"


def hub_readme(card: ModelCard) -> str:
    """README.md for a Hub model repo: metadata the Hub indexes, and the figures in words."""
    metrics, data = card.metrics, card.data
    results = [EvalResult(task_type="image-classification", dataset_type="ylecun/mnist", dataset_name="MNIST",
                          dataset_split=split, metric_type="accuracy", metric_value=card.metric(key))
               for split, key in (("test", "mnist_test_accuracy"), ("validation", "validation_accuracy"))
               if card.metric(key) is not None]
    datasets = ["ylecun/mnist"] + ([data["feedback_repo"]] if data.get("feedback_repo") else [])
    meta = ModelCardData(license="mit", library_name="sklearn", tags=["digit-recognition", "skops", "mnist"],
                         datasets=datasets, metrics=["accuracy"], model_name="Digit jury",
                         eval_results=results or None)
    jurors = ", ".join(f"{name} {percent(value)}" for name, value in metrics.get("validation_juror_accuracy", {}).items())
    lines = [
        f"# Digit jury {card.version or 'unknown'}",
        "",
        "A jury of classical models (a calibrated RBF SVC, a k-NN re-ranked by the image distortion "
        "model, a random forest) reading handwritten digits with soft voting. Load it with "
        "`digit.model.store.load_model` from the project; the file is a skops archive that builds only "
        "the types the project lists.",
        "",
        "| | |",
        "| --- | --- |",
        f"| trained | {card.date or '?'} |",
        f"| parent version | {card.parent_version or '—'} |",
        f"| MNIST test accuracy (reported, never used to choose) | {percent(card.metric('mnist_test_accuracy'))} |",
        f"| validation accuracy | {percent(card.metric('validation_accuracy'))} |",
        f"| each juror on validation | {jurors or '—'} |",
        f"| voting weights | {metrics.get('weights', '—')} |",
        f"| held-out feedback accuracy | {percent(card.metric('feedback_held_out_accuracy'))} |",
        f"| training data | {', '.join(f'{k}: {v}' for k, v in data.items())} |",
        f"| files | {', '.join(f'{k}: {v / 1e6:.1f} MB' for k, v in card.files.items())} |",
    ]
    return HubModelCard.from_template(meta, template_str="---\n{{ card_data }}\n---\n\n" + "\n".join(lines) + "\n").content


def history_entry(card: ModelCard) -> dict:
    """One line of a jury's history: what the Dataset tab and the next card show of it."""
    return {
        "version": card.version, "date": card.date,
        "feedback": card.data.get("feedback", 0) + card.data.get("feedback_held_out", 0),
        "validation": card.metric("validation_accuracy"), "test": card.metric("mnist_test_accuracy"),
        "held_out_feedback": card.metric("feedback_held_out_accuracy"),
    }


def history(card: ModelCard) -> tuple[dict, ...]:
    """Every promoted version up to this one, oldest first."""
    return (*card.history, history_entry(card))
