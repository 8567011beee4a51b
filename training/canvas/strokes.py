"""The canvas-style set's drawings as the pad records their strokes, for the stroke juror.

Quick, Draw!'s raw format: per stroke [[x...], [y...], [t...]] in pad pixels (the set's 400x400
canvas square in the pad's middle) and ms since the drawing began, one mouse event a frame and
a pause between strokes. Derived from each drawing's mouse events alone: the pictures, the set's
random streams and its cached parts (report.CODE: this module is not in it) stay as they were.
"""

from __future__ import annotations

import numpy as np

from digit.reading.pad import PAD
from training.canvas.drawings import Drawing, canvas_set
from training.canvas.rendering import CANVAS
from training.canvas.report import _spread

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
