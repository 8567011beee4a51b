"""The simulated writers of the canvas-style set, each keeping their own habits for all their
digits: slant, proportions, brush size, speed of the mouse (how far apart its events land:
jerky straight segments), hand wobble; and how a writer puts a shape in a unit box on the canvas."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from training.canvas.rendering import CANVAS, DEFAULT_BRUSH
from training.canvas.shapes import ALLOGRAPHS, Shape

SEED = 120_000  # evaluation writers are seeded from here; training generators use other seeds


@dataclass(frozen=True)
class Writer:
    """One person's habits, kept for all their digits."""

    index: int
    slant: float  # shear: the top moves right by slant x height
    aspect: float  # digit width / height
    height: float  # digit height as a share of the canvas
    brush: int  # brush size (circle radius in canvas pixels)
    spacing: float  # canvas pixels between mouse events: large = fast, jerky straight segments
    wobble: float  # slow hand wobble, share of the digit height
    finger: bool  # a finger on a phone: thicker, wobblier
    choice: dict[int, int] = field(default_factory=dict)  # the allograph this writer uses per digit


def make_writer(index: int, seed: int = SEED) -> Writer:
    rng = np.random.default_rng(seed + index)
    finger = rng.random() < 0.2
    brush = DEFAULT_BRUSH if rng.random() < 0.6 else int(rng.integers(6, 30))
    if finger:
        brush = int(rng.integers(DEFAULT_BRUSH, 30))
    return Writer(
        index=index,
        slant=float(np.clip(rng.normal(0.08, 0.12), -0.15, 0.35)),
        aspect=float(rng.uniform(0.5, 0.85)),
        height=float(rng.uniform(0.3, 0.9)),
        brush=brush,
        spacing=float(rng.choice([rng.uniform(2, 6), rng.uniform(6, 15), rng.uniform(15, 35)], p=[0.4, 0.4, 0.2])),
        wobble=float(rng.uniform(0.004, 0.015) * (2.0 if finger else 1.0)),
        finger=finger,
        choice={digit: int(rng.integers(len(ALLOGRAPHS[digit]))) for digit in ALLOGRAPHS},
    )


def writer_tags(writer: Writer, height_px: float) -> tuple[str, ...]:
    brush = "default_brush" if writer.brush == DEFAULT_BRUSH else ("thin_brush" if writer.brush < 14 else "thick_brush")
    size = "small" if height_px < 0.45 * CANVAS else ("large" if height_px > 0.75 * CANVAS else "medium")
    slant = "slanted" if abs(writer.slant) > 0.15 else "upright"
    speed = "jerky" if writer.spacing > 15 else "smooth"
    return (brush, size, slant, speed) + (("finger",) if writer.finger else ())


def _wobble(points: np.ndarray, amplitude: float, rng: np.random.Generator) -> np.ndarray:
    """A slow random drift along the stroke: the hand does not follow the intended path."""
    steps = np.r_[0, np.cumsum(np.hypot(*np.diff(points, axis=0).T))]
    drift = np.zeros_like(points)
    for axis in range(2):
        for wavelength in (0.7, 1.6):
            drift[:, axis] += rng.normal(0, amplitude) * np.sin(2 * np.pi * steps / wavelength + rng.uniform(0, 2 * np.pi))
    return points + drift


def _densify(stroke: np.ndarray, step: float = 0.02) -> np.ndarray:
    out = [stroke[:1]]
    for a, b in zip(stroke[:-1], stroke[1:]):
        count = max(1, int(np.ceil(np.hypot(*(b - a)) / step)))
        out.append(a + (b - a) * np.linspace(0, 1, count + 1)[1:, None])
    return np.vstack(out)


def place(shape: Shape, writer: Writer, rng: np.random.Generator,
          aspect: float | None = None) -> tuple[list[np.ndarray], float]:
    """Unit-box strokes -> canvas pixel paths with the writer's size, slant, wobble, position
    (aspect: this drawing's width / height instead of the writer's)."""
    height = CANVAS * float(np.clip(writer.height * rng.uniform(0.9, 1.1), 0.25, 0.92))
    height = max(height, 5.5 * writer.brush)  # nobody draws a digit narrower than a few brush widths
    if aspect is not None and aspect < 0.5:  # a narrow digit is drawn taller rather than filled in with ink
        height = min(max(height, 4 * writer.brush / aspect), 0.92 * CANVAS)
    width = height * (writer.aspect if aspect is None else aspect) * rng.uniform(0.92, 1.08)
    slant = writer.slant + rng.normal(0, 0.04)
    angle = np.radians(rng.normal(0, 3))
    paths = []
    for stroke in shape:
        points = _wobble(_densify(stroke), writer.wobble, rng)
        x = (points[:, 0] - 0.5) * width + slant * (0.5 - points[:, 1]) * height
        y = (points[:, 1] - 0.5) * height
        paths.append(np.column_stack([x * np.cos(angle) - y * np.sin(angle), x * np.sin(angle) + y * np.cos(angle)]))
    everything = np.vstack(paths)
    low, high = everything.min(axis=0), everything.max(axis=0)
    margin = writer.brush + 2
    room = np.maximum(CANVAS - 2 * margin - (high - low), 0)
    offset = margin - low + rng.uniform(0, 1, 2) * room
    return [p + offset for p in paths], float(high[1] - low[1])

