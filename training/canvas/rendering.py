"""From pen paths on the canvas to the picture the app receives: the events a browser reports
while the mouse follows a path, and the stroke drawn the way Gradio 6.31's Sketchpad drew one
(filled circles of the brush's radius stamped along every segment between two events, on a
400x400 image, the pad's height; ink black and binary on white).

The app's own pad (digit/page/drawing_pad.py) draws anti-aliased round lines instead and sends
the ink's box downscaled; normalised to 28x28 the two agree (ink overlap 0.98, the jury reads
60 of 60 the same: `python -m bench.pad_capture`).
"""

from __future__ import annotations

from functools import lru_cache

import cv2
import numpy as np

from digit.reading.pad import PAD

CANVAS = PAD.height  # a square of the pad's height: 400 px
DEFAULT_BRUSH = PAD.brush  # the brush's radius: strokes 36 px wide


def mouse_events(stroke: np.ndarray, spacing: float, rng: np.random.Generator) -> np.ndarray:
    """The points a browser reports while the pen follows stroke: one event every ~spacing px.

    Corners (the polyline's vertices) are kept when the spacing is small, as a person slows
    down there; a fast mouse cuts them.
    """
    lengths = np.hypot(*np.diff(stroke, axis=0).T)
    distance = np.r_[0, np.cumsum(lengths)]
    if distance[-1] < 1:
        return stroke[:1]
    count = max(2, int(distance[-1] / spacing) + 1)
    at = np.sort(np.r_[0, rng.uniform(0, distance[-1], count - 2), distance[-1]])
    if spacing < 8:  # slow: events land on the corners too
        at = np.unique(np.r_[at, distance])
    events = np.column_stack([np.interp(at, distance, stroke[:, 0]), np.interp(at, distance, stroke[:, 1])])
    return events + rng.normal(0, 0.4, events.shape)



@lru_cache(maxsize=None)
def _steps(count: int) -> np.ndarray:
    """np.linspace(0, 1, count) as a column: a segment's stamps (a few counts, hundreds of thousands of segments)."""
    return np.linspace(0, 1, count)[:, None]


def render(events: list[np.ndarray], brush: int, canvas: int = CANVAS) -> np.ndarray:
    """RGBA like the Sketchpad's composite: black filled circles of radius brush along each
    segment between mouse events (spaced max(brush / 3, 2) apart), on opaque white."""
    ink = np.zeros((canvas, canvas), np.uint8)
    shift = 4  # sub-pixel centres
    radius = int(round(brush * (1 << shift)))
    for points in events:
        stamps = [points[:1]]
        for a, b in zip(points[:-1], points[1:]):
            length = float(np.hypot(*(b - a)))
            if length < 0.1:
                continue
            count = max(int(np.ceil(length / max(brush / 3, 2))), 2)
            stamps.append(a + (b - a) * _steps(count))
        # np.rint rounds halves to even as round() does: the same centres, ~3 times faster.
        for x, y in np.rint(np.vstack(stamps) * (1 << shift)).astype(np.int64).tolist():
            cv2.circle(ink, (x, y), radius, 255, -1, cv2.LINE_8, shift)
    rgba = np.full((canvas, canvas, 4), 255, np.uint8)
    rgba[ink > 0, :3] = 0
    return rgba
