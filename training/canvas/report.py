"""Measuring on the canvas-style set: its parts as the jury reads them (kept on disk), their
style tags, how many wrong answers were confident, and the shipped jury's figures by digit and
style.

    python -m training.canvas            # the shipped jury on the set, by digit and style
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from training.canvas.drawings import Drawing, canvas_set, normalized, part_size
from training.disk_cache import CACHE, NORMALIZE_CODE, code_key, kept

# The code that makes the cached parts: a change to any of it makes a new cache entry, never a stale one.
CODE = [Path(__file__).resolve().parent / f"{name}.py" for name in ("shapes", "writers", "rendering", "drawings",
                                                                     "report")]


def canvas_pixels(part: str, most: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """A part of the set as the jury reads it, (n, 784) uint8, and the labels; kept on disk
    under a key made of this generator's and the preprocessing's code (never stale).

    most: at most this many drawings, spread evenly over the part (runs on a reduced MNIST);
    only those are drawn."""
    pixels, labels, _ = _canvas_part(part, most)
    return pixels, labels


def canvas_tags(part: str, most: int | None = None) -> list[set[str]]:
    """The style tags of the drawings canvas_pixels(part, most) returns, in the same order."""
    return [set(str(tags).split(",")) for tags in _canvas_part(part, most)[2]]


def _spread(count: int, most: int | None) -> np.ndarray:
    if most is not None and most < count:
        return np.linspace(0, count - 1, most).round().astype(int)
    return np.arange(count)


def _canvas_part(part: str, most: int | None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    most = most if most is not None and most < part_size(part) else None  # all of it: one cache entry

    def compute() -> dict[str, np.ndarray]:
        drawings = canvas_set(part)
        drawings = [drawings[index] for index in _spread(len(drawings), most)]
        return {"pixels": normalized(drawings), "labels": np.array([d.label for d in drawings], np.int64),
                "tags": np.array([",".join(d.tags + (d.allograph,)) for d in drawings])}

    name = f"canvas-{part}" if most is None else f"canvas-{part}-{most}-spread"
    found = kept(CACHE / f"{name}-{code_key([*CODE, *NORMALIZE_CODE])}.npz", compute)
    return found["pixels"], found["labels"], found["tags"]


def confident_wrong(labels: np.ndarray, probabilities: np.ndarray, level: float = 0.8) -> dict:
    """Of the wrong answers, how many came with at least `level` confidence."""
    predicted, confidence = probabilities.argmax(axis=1), probabilities.max(axis=1)
    wrong = predicted != labels
    confident = int((wrong & (confidence >= level)).sum())
    return {"wrong": int(wrong.sum()), "confident_wrong": confident,
            "confident_wrong_share": round(confident / max(int(wrong.sum()), 1), 4)}


# ---- measuring ----------------------------------------------------------------------------------

CONFIDENT = 0.8


def report_lines(drawings: list[Drawing], predicted: np.ndarray, confidence: np.ndarray) -> list[str]:
    """Accuracy overall, per digit, per style tag; and how many wrong answers were confident."""
    labels = np.array([d.label for d in drawings])
    right = predicted == labels
    wrong = ~right
    lines = [f"accuracy {right.mean():.2%} on {len(labels)}; wrong with >= {CONFIDENT:.0%} confidence: "
             f"{(wrong & (confidence >= CONFIDENT)).sum()}/{wrong.sum()} "
             f"({(wrong & (confidence >= CONFIDENT)).sum() / max(wrong.sum(), 1):.0%}); "
             f"right with >= {CONFIDENT:.0%}: {(right & (confidence >= CONFIDENT)).mean() / max(right.mean(), 1e-9):.0%}"]
    lines.append("per digit: " + ", ".join(f"{d} {right[labels == d].mean():.0%}" for d in range(10)))
    tags = sorted({t for d in drawings for t in d.tags})
    lines.append("per tag: " + ", ".join(
        f"{t} {right[[t in d.tags for d in drawings]].mean():.0%} (n={sum(t in d.tags for d in drawings)})" for t in tags))
    styles = sorted({d.allograph for d in drawings})
    lines.append("per allograph: " + ", ".join(
        f"{s} {right[[d.allograph == s for d in drawings]].mean():.0%}" for s in styles))
    confusions: dict[tuple[int, int], int] = {}
    for label, guess in zip(labels[wrong], predicted[wrong]):
        confusions[(int(label), int(guess))] = confusions.get((int(label), int(guess)), 0) + 1
    top = sorted(confusions.items(), key=lambda item: -item[1])[:10]
    lines.append("most common errors (true->read): " + ", ".join(f"{a}->{b} x{n}" for (a, b), n in top))
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m training.canvas",
                                     description="Measure the shipped jury on the canvas-style evaluation set.")
    parser.add_argument("--part", default="all", choices=["all", "validation", "report"])
    parser.add_argument("--save", metavar="DIR", help="also save the drawings as PNG files here (not committed)")
    arguments = parser.parse_args()
    from digit.model.store import load_model

    drawings = canvas_set(arguments.part)
    if arguments.save:
        from PIL import Image

        folder = Path(arguments.save)
        folder.mkdir(parents=True, exist_ok=True)
        for index, d in enumerate(drawings):
            Image.fromarray(d.image()).save(folder / f"{index:04d}_{d.label}_{d.allograph}.png")
    classifier = load_model().classifier
    predictions = [classifier.predict(d.image()) for d in drawings]
    predicted = np.array([p.digit for p in predictions])
    confidence = np.array([p.confidence for p in predictions])
    for part in ("validation", "report"):
        chosen = [i for i, d in enumerate(drawings) if d.part == part]
        if chosen:
            print(f"== {part} part")
            for text in report_lines([drawings[i] for i in chosen], predicted[chosen], confidence[chosen]):
                print(text)
