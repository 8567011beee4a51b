"""The canvas-style set's drawings as the pad records their strokes, for the stroke juror.

Quick, Draw!'s raw format: per stroke [[x...], [y...], [t...]] in pad pixels (the set's 400x400
canvas square in the pad's middle) and ms since the drawing began, one mouse event a frame and
a pause between strokes. Derived from each drawing's mouse events alone: the pictures, the set's
random streams and its cached parts (report.CODE: this module is not in it) stay as they were.

`more_writers` draws new writers of the same generator past the report part's (writers 200 on):
the validation part holds too few wrong readings to choose an unsure rule by (2 of 1,800 with
the stroke juror), so choices read it together with these; the report part is never read here.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from digit.reading.pad import PAD
from training.canvas.drawings import WRITERS, Drawing, canvas_set
from training.canvas.rendering import CANVAS
from training.canvas.report import CODE, _spread
from training.disk_cache import CACHE, NORMALIZE_CODE, code_key, kept

FRAME_MS, PEN_UP_MS = 16, 250  # a browser reports the pointer about once a frame; a pause between strokes
PAD_OFFSET = (PAD.width - CANVAS) / 2


def drawing_strokes(drawing: Drawing) -> list[list[list[float]]]:
    """One drawing's strokes as the pad records them."""
    out, clock = [], 0.0
    for points in drawing.events:
        times = clock + FRAME_MS * np.arange(len(points))
        out.append([np.round(points[:, 0] + PAD_OFFSET, 1).tolist(), np.round(points[:, 1], 1).tolist(),
                    times.tolist()])
        clock = float(times[-1]) + PEN_UP_MS
    return out


def canvas_strokes(part: str, most: int | None = None) -> list[list[list[list[float]]]]:
    """The strokes of the drawings `canvas_pixels(part, most)` returns, in the same order."""
    drawings = canvas_set(part)
    return [drawing_strokes(drawings[index]) for index in _spread(len(drawings), most)]


@dataclass(frozen=True)
class MoreDrawings:
    """New writers' drawings for choices: pixels (n, 784) as the jury reads them, labels, style tags
    and strokes, in one order (drawings the preprocessing refuses are left out)."""

    pixels: np.ndarray
    labels: np.ndarray
    tags: list[set[str]]
    strokes: list[list[list[list[float]]]]


def more_writers(writers: int) -> MoreDrawings:
    """The drawings of `writers` new writers of the canvas generator, writers WRITERS.. (the set's
    own are 0..WRITERS-1: validation, then report); the pixels kept on disk like the set's parts."""
    from digit.reading.images import NoDigit
    from digit.reading.preprocess import normalize

    drawings = canvas_set("all", writers=WRITERS + writers, first=WRITERS) if writers > 0 else []

    def compute() -> dict[str, np.ndarray]:
        pixels, kept_at = [], []
        for index, drawing in enumerate(drawings):
            try:
                pixels.append(normalize(drawing.image()).pixels.reshape(-1))
            except NoDigit:  # a blot the pad's reading would refuse too
                continue
            kept_at.append(index)
        return {"pixels": np.stack(pixels) if pixels else np.zeros((0, 784), np.uint8), "kept": np.array(kept_at, int)}

    if not drawings:
        return MoreDrawings(np.zeros((0, 784), np.uint8), np.zeros(0, np.int64), [], [])
    found = kept(CACHE / f"canvas-more-{writers}-{code_key([*CODE, *NORMALIZE_CODE, Path(__file__)])}.npz", compute)
    chosen = [drawings[index] for index in found["kept"]]
    return MoreDrawings(found["pixels"], np.array([d.label for d in chosen], np.int64),
                        [set(d.tags) | {d.allograph} for d in chosen], [drawing_strokes(d) for d in chosen])
