"""The model card: the facts of one trained jury, as JSON for programs and as a Hub README."""

from __future__ import annotations

from huggingface_hub import EvalResult, ModelCard, ModelCardData


def percent(value: float | None) -> str:
    """A share as the card and the Dataset tab show it: 0.9876 -> "98.76%", a missing one "—"."""
    return "—" if value is None else f"{value:.2%}"


def hub_readme(card: dict) -> str:
    """README.md for a Hub model repo: metadata the Hub indexes, and the figures in words."""
    metrics, data = card.get("metrics", {}), card.get("data", {})
    results = [EvalResult(task_type="image-classification", dataset_type="ylecun/mnist", dataset_name="MNIST",
                          dataset_split=split, metric_type="accuracy", metric_value=metrics[key])
               for split, key in (("test", "mnist_test_accuracy"), ("validation", "validation_accuracy"))
               if metrics.get(key) is not None]
    datasets = ["ylecun/mnist"] + ([data["feedback_repo"]] if data.get("feedback_repo") else [])
    meta = ModelCardData(license="mit", library_name="sklearn", tags=["digit-recognition", "skops", "mnist"],
                         datasets=datasets, metrics=["accuracy"], model_name="Digit jury",
                         eval_results=results or None)
    jurors = ", ".join(f"{name} {percent(value)}" for name, value in metrics.get("validation_juror_accuracy", {}).items())
    lines = [
        f"# Digit jury {card.get('version', 'unknown')}",
        "",
        "A jury of classical models (a calibrated RBF SVC, a k-NN re-ranked by the image distortion "
        "model, a random forest) reading handwritten digits with soft voting. Load it with "
        "`digit.model.store.load_model` from the project; the file is a skops archive that builds only "
        "the types the project lists.",
        "",
        "| | |",
        "| --- | --- |",
        f"| trained | {card.get('date', '?')} |",
        f"| parent version | {card.get('parent_version') or '—'} |",
        f"| MNIST test accuracy (reported, never used to choose) | {percent(metrics.get('mnist_test_accuracy'))} |",
        f"| validation accuracy | {percent(metrics.get('validation_accuracy'))} |",
        f"| each juror on validation | {jurors or '—'} |",
        f"| voting weights | {metrics.get('weights', '—')} |",
        f"| held-out feedback accuracy | {percent(metrics.get('feedback_held_out_accuracy'))} |",
        f"| training data | {', '.join(f'{k}: {v}' for k, v in data.items())} |",
        f"| files | {', '.join(f'{k}: {v / 1e6:.1f} MB' for k, v in card.get('files', {}).items())} |",
    ]
    return ModelCard.from_template(meta, template_str="---\n{{ card_data }}\n---\n\n" + "\n".join(lines) + "\n").content


def history_entry(card: dict) -> dict:
    """One line of a jury's history: what the Dataset tab and the next card show of it."""
    metrics, data = card.get("metrics", {}), card.get("data", {})
    return {
        "version": card.get("version"), "date": card.get("date"),
        "feedback": data.get("feedback", 0) + data.get("feedback_held_out", 0),
        "validation": metrics.get("validation_accuracy"), "test": metrics.get("mnist_test_accuracy"),
        "held_out_feedback": metrics.get("feedback_held_out_accuracy"),
    }


def history(card: dict) -> list[dict]:
    """Every promoted version up to this one, oldest first."""
    return list(card.get("history", [])) + [history_entry(card)]
