"""The canvas-style EVALUATION set: digits as people draw them on the app's drawing pad.

Nothing here comes from MNIST. Each digit has several allographs (the shapes people use:
flat or hooked tops, boxy strokes, open and closed loops, feet and flags on 1s, crossed
7s, ...), drawn by simulated writers who each keep their own habits: slant, proportions,
brush size, speed of the mouse (how far apart its events land: jerky straight segments),
hand wobble, overshoot or gaps where a loop closes. The pen path is sampled like mouse
events and rendered the way Gradio 6.31's Sketchpad rendered a stroke: every segment
between two events is stamped with filled circles whose radius is the brush size, on a
400x400 image (the pad's height), ink black and binary on white. The app's own pad
(digit/page/drawing_pad.py) draws anti-aliased round lines instead and sends the ink's box
downscaled; normalised to 28x28 the two agree (ink overlap 0.98, the jury reads 60 of 60 the
same: `python -m bench.pad_capture`).

This module is for measuring only. The training generator (`training/stroke_digits.py`)
is separate code with its own shape definitions and seeds.

    python -m training.canvas_digits            # the shipped jury on the set, by digit and style
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass, field
from typing import Callable

import cv2
import numpy as np

from digit.pad import PAD

CANVAS = PAD.height  # a square of the pad's height: 400 px
DEFAULT_BRUSH = PAD.brush  # the brush's radius: strokes 36 px wide
WRITERS = 200  # each writes every digit once and eight of the hands below: 3,600 drawings
VALIDATION_WRITERS = 100  # writers 0..99 are the validation part, the rest the report part
SEED = 120_000  # evaluation writers are seeded from here; training generators use other seeds

Stroke = np.ndarray  # (n, 2) points, x right and y down
Shape = list[Stroke]


# ---- pen-path pieces in a unit box (x 0..1 right, y 0..1 down) ---------------------------

def arc(cx: float, cy: float, rx: float, ry: float, start: float, end: float) -> Stroke:
    """Points on an ellipse from angle start to end in degrees (0 = right, 90 = down)."""
    count = max(8, int(abs(end - start) / 6))
    angles = np.radians(np.linspace(start, end, count))
    return np.column_stack([cx + rx * np.cos(angles), cy + ry * np.sin(angles)])


def line(*points: tuple[float, float]) -> Stroke:
    """A polyline through the points (sharp corners: the mouse goes straight between them)."""
    return np.asarray(points, dtype=float)


def path(*pieces: Stroke) -> Stroke:
    """Pieces joined into one pen-down stroke."""
    return np.vstack(pieces)


def _u(rng: np.random.Generator, low: float, high: float) -> float:
    return float(rng.uniform(low, high))


# ---- allographs: (name, style tags, shape maker) per digit --------------------------------

Maker = Callable[[np.random.Generator], Shape]


@dataclass(frozen=True)
class Allograph:
    name: str
    tags: tuple[str, ...]
    make: Maker


def _zero_ellipse(rng):
    start = _u(rng, -130, -60)
    sweep = 360 + _u(rng, -10, 35)
    turn = 1 if rng.random() < 0.4 else -1
    return [arc(0.5, 0.5, 0.5, 0.5, start, start + turn * sweep)]


def _zero_open(rng):
    start = _u(rng, -80, -50)
    return [arc(0.5, 0.5, 0.5, 0.5, start, start - 360 + _u(rng, 25, 55))]


def _zero_box(rng):
    inset = _u(rng, 0.0, 0.08)
    return [line((0.55, 0.0), (inset, 0.02), (0.0, 1.0), (1.0, 1.0 - inset), (1.0, 0.0), (0.45 + _u(rng, 0, 0.1), 0.0))]


def _one_stick(rng):
    bend = _u(rng, -0.05, 0.05)
    return [line((0.5, 0.0), (0.5 + bend, 0.5), (0.5, 1.0))]


def _one_flag(rng):
    return [line((_u(rng, 0.15, 0.35), _u(rng, 0.15, 0.35)), (0.55, 0.0), (0.55, 1.0))]


def _one_flag_foot(rng):
    foot = _u(rng, 0.2, 0.4)
    return _one_flag(rng) + [line((0.55 - foot, 1.0), (0.55 + foot, 1.0))]


def _one_long_flag(rng):
    # As written across Europe: the flag a long up-stroke from low on the left, nearly as wide as a 7's bar.
    return [line((_u(rng, 0.0, 0.1), _u(rng, 0.1, 0.45)), (0.6, 0.0), (0.6 + _u(rng, -0.05, 0.03), 1.0))]


def _one_long_flag_foot(rng):
    foot = _u(rng, 0.2, 0.4)
    return _one_long_flag(rng) + [line((0.6 - foot, 1.0), (0.6 + foot, 1.0))]


def _one_foot(rng):
    foot = _u(rng, 0.2, 0.4)
    return [line((0.5, 0.0), (0.5, 1.0)), line((0.5 - foot, 1.0), (0.5 + foot, 1.0))]


def _two_curve(rng):
    top = arc(0.5, 0.3, 0.48, 0.3, _u(rng, 190, 215), 360 + _u(rng, 10, 40))
    return [path(top, line((0.0, 1.0), (1.0, 1.0 - _u(rng, -0.03, 0.05))))]


def _two_loop(rng):
    top = arc(0.5, 0.3, 0.48, 0.3, _u(rng, 190, 215), 360 + _u(rng, 10, 35))
    loop = arc(0.17, 0.88, 0.14, 0.1, -60, 200)  # a small loop before the base
    return [path(top, line((0.1, 0.8)), loop, line((1.0, 0.97)))]


def _two_box(rng):
    middle = _u(rng, 0.4, 0.55)
    return [line((0.0, 0.02), (1.0, 0.0), (1.0, middle), (0.0, middle + 0.02), (0.0, 1.0), (1.0, 1.0))]


def _two_angular(rng):
    return [line((0.02, 0.22), (0.35, 0.0), (0.9, 0.03), (0.97, 0.3), (0.0, 1.0), (1.0, 0.98))]


def _three_round(rng):
    upper = arc(0.5, 0.26, 0.45, 0.26, _u(rng, 190, 220), 450)
    lower = arc(0.5, 0.74, 0.5, 0.26, 270, 520 + _u(rng, -10, 15))
    return [path(upper, lower)]


def _three_flat(rng):
    join = _u(rng, 0.32, 0.45)
    bump = arc(0.5, 0.7, 0.5, 0.3, 240, 510)
    return [path(line((0.05, 0.0), (0.95, 0.0), (0.3, join)), bump)]


def _three_box(rng):
    middle = _u(rng, 0.42, 0.55)
    return [line((0.0, 0.0), (1.0, 0.0), (1.0, 1.0), (0.0, 1.0)), line((_u(rng, 0.15, 0.4), middle), (1.0, middle))]


def _four_closed(rng):
    bar = _u(rng, 0.58, 0.7)
    top = _u(rng, 0.55, 0.72)
    return [line((top, 0.0), (0.0, bar), (1.0, bar)), line((top, 0.0), (top + _u(rng, -0.05, 0.03), 1.0))]


def _four_open(rng):
    bar = _u(rng, 0.55, 0.68)
    stem = _u(rng, 0.65, 0.78)
    return [line((0.08, 0.0), (0.0, bar), (1.0, bar)), line((stem, _u(rng, 0.0, 0.2)), (stem, 1.0))]


def _four_one_stroke(rng):
    bar = _u(rng, 0.58, 0.7)
    return [line((0.68, 1.0), (0.68, 0.0), (0.0, bar), (1.0, bar))]


def _five_bar_after(rng):
    bump = arc(0.45, 0.68, 0.5, 0.32, 215, 495)
    gap = _u(rng, -0.02, 0.06)
    return [path(line((0.15, 0.0), (0.1, 0.42)), bump), line((0.15 + gap, -gap), (1.0, -gap - 0.01))]


def _five_one_stroke(rng):
    bump = arc(0.45, 0.68, 0.5, 0.32, 215, 495)
    return [path(line((1.0, 0.0), (0.15, 0.0), (0.1, 0.42)), bump)]


def _five_box(rng):
    middle = _u(rng, 0.4, 0.5)
    return [line((1.0, 0.0), (0.0, 0.0), (0.0, middle), (1.0, middle), (1.0, 1.0), (0.0, 1.0))]


def _six_loop(rng, cx=0.5):
    """The loop of a 6 entered from its upper left, drawn counter-clockwise as people do;
    it may close past the stem or stop short of it."""
    top = _u(rng, 0.35, 0.6)
    return arc(cx, (1 + top) / 2, 0.5, (1 - top) / 2, 180, -180 + _u(rng, -25, 25))


def _six_curved(rng):
    top = arc(0.95, 0.65, 0.95, 0.65, _u(rng, 240, 260), 180)
    return [path(top, _six_loop(rng))]


def _six_flat_top(rng):
    flat = _u(rng, 0.3, 0.8)
    return [path(line((flat, 0.0), (_u(rng, 0.0, 0.15), 0.02), (0.0, _u(rng, 0.5, 0.7))), _six_loop(rng))]


def _six_hooked_top(rng):
    hook = _u(rng, 0.05, 0.2)
    return [path(line((0.8, hook), (0.7, 0.0), (0.15, 0.02), (0.0, 0.6)), _six_loop(rng))]


def _six_straight(rng):
    return [path(line((_u(rng, 0.6, 0.9), 0.0), (0.0, 0.62)), _six_loop(rng))]


def _six_box(rng):
    middle = _u(rng, 0.4, 0.55)
    return [line((1.0, 0.0), (0.0, 0.0), (0.0, 1.0), (1.0, 1.0), (1.0, middle), (0.0, middle))]


def _seven_plain(rng):
    return [line((0.0, 0.0), (1.0, 0.0), (_u(rng, 0.2, 0.5), 1.0))]


def _seven_crossed(rng):
    foot = _u(rng, 0.2, 0.45)
    height = _u(rng, 0.45, 0.6)
    centre = 1.0 + (foot - 1.0) * height
    return _seven_plain_at(foot) + [line((centre - 0.3, height), (centre + 0.3, height))]


def _seven_plain_at(foot: float) -> Shape:
    return [line((0.0, 0.0), (1.0, 0.0), (foot, 1.0))]


def _seven_curved(rng):
    # The stem bends: steep at the bottom, bowed towards the upper left (a quadratic curve).
    t = np.linspace(0, 1, 16)[:, None]
    start, bend, end = np.array([1.0, 0.0]), np.array([_u(rng, 0.45, 0.65), 0.4]), np.array([_u(rng, 0.25, 0.45), 1.0])
    stem = (1 - t) ** 2 * start + 2 * t * (1 - t) * bend + t ** 2 * end
    return [path(line((0.0, 0.0)), stem)]


def _seven_serif(rng):
    return [line((0.0, _u(rng, 0.15, 0.25)), (0.02, 0.0), (1.0, 0.0), (0.35, 1.0))]


def _eight_two_loops(rng):
    middle = _u(rng, 0.4, 0.5)
    return [arc(0.5, middle / 2, 0.4, middle / 2, -90, 270), arc(0.5, (1 + middle) / 2, 0.5, (1 - middle) / 2, -90, 270)]


def _eight_figure(rng):
    # One stroke from the top: down the S through the crossing, round the bottom, back up.
    t = np.radians(np.linspace(_u(rng, -30, 0), 360 + _u(rng, 0, 25), 72))
    turn = 1 if rng.random() < 0.7 else -1
    y = (0.5 - 0.5 * np.cos(t)) ** _u(rng, 0.8, 1.0)  # the lower loop a little larger
    return [np.column_stack([0.5 - turn * 0.5 * np.sin(2 * t) * (0.8 + 0.2 * y), y])]


def _eight_box(rng):
    middle = _u(rng, 0.42, 0.52)
    return [line((1.0, 0.0), (0.0, 0.0), (0.0, 1.0), (1.0, 1.0), (1.0, 0.0)), line((0.0, middle), (1.0, middle))]


def _nine_head(rng, bottom: float) -> Stroke:
    """The head of a 9 from its right side, counter-clockwise, back to the right side."""
    return arc(0.5, bottom / 2, 0.5, bottom / 2, _u(rng, -10, 10), -360 + _u(rng, -15, 5))


def _nine_straight(rng):
    bottom = _u(rng, 0.42, 0.55)
    return [path(_nine_head(rng, bottom), line((1.0, bottom / 2), (_u(rng, 0.85, 1.0), 1.0)))]


def _nine_curved(rng):
    bottom = _u(rng, 0.42, 0.55)
    tail = arc(0.55, bottom / 2, 0.45, 1 - bottom / 2, 0, 120)
    return [path(_nine_head(rng, bottom), tail)]


def _nine_box(rng):
    bottom = _u(rng, 0.42, 0.55)
    base = [(0.0, 1.0)] if rng.random() < 0.5 else []
    return [line((1.0, bottom), (0.0, bottom), (0.0, 0.0), (1.0, 0.0), (1.0, 1.0), *base)]


ALLOGRAPHS: dict[int, list[Allograph]] = {
    0: [Allograph("ellipse", ("round",), _zero_ellipse), Allograph("open", ("round", "open_loop"), _zero_open),
        Allograph("rectangle", ("boxy",), _zero_box)],
    1: [Allograph("stick", ("stick",), _one_stick), Allograph("flag", ("flag",), _one_flag),
        Allograph("flag_foot", ("flag", "foot"), _one_flag_foot), Allograph("foot", ("foot",), _one_foot)],
    2: [Allograph("curve", ("round",), _two_curve), Allograph("loop", ("round", "loop"), _two_loop),
        Allograph("box", ("boxy",), _two_box), Allograph("angular", ("straight",), _two_angular)],
    3: [Allograph("round", ("round",), _three_round), Allograph("flat_top", ("flat_top",), _three_flat),
        Allograph("box", ("boxy",), _three_box)],
    4: [Allograph("closed", ("closed_loop",), _four_closed), Allograph("open", ("open_loop",), _four_open),
        Allograph("one_stroke", ("closed_loop",), _four_one_stroke)],
    5: [Allograph("bar_after", ("flat_top", "detached"), _five_bar_after),
        Allograph("one_stroke", ("flat_top",), _five_one_stroke), Allograph("box", ("boxy",), _five_box)],
    6: [Allograph("curved", ("round",), _six_curved), Allograph("flat_top", ("flat_top",), _six_flat_top),
        Allograph("hooked_top", ("hooked_top",), _six_hooked_top), Allograph("straight", ("straight",), _six_straight),
        Allograph("box", ("boxy",), _six_box)],
    7: [Allograph("plain", ("straight",), _seven_plain), Allograph("crossed", ("crossed",), _seven_crossed),
        Allograph("curved", ("round",), _seven_curved), Allograph("serif", ("straight",), _seven_serif)],
    8: [Allograph("two_loops", ("round",), _eight_two_loops), Allograph("figure", ("round", "one_stroke"), _eight_figure),
        Allograph("box", ("boxy",), _eight_box)],
    9: [Allograph("straight_tail", ("round",), _nine_straight), Allograph("curved_tail", ("round",), _nine_curved),
        Allograph("box", ("boxy",), _nine_box)],
}


# The hands the jury got wrong most (issue 21), drawn by every writer beside their ten digits:
# flagged 1s with short and long flags, with and without a foot; crossed and plain 7s; closed
# and open 4s; 9s with straight and curved tails; and digits of every class written narrow
# (a condensed hand, tall and thin) or wide. Their own random stream: the ten digits each
# writer draws stay the drawings they were before these were added.
FLAGGED_ONES = [Allograph("flag", ("flag", "short_flag"), _one_flag),
                Allograph("flag_foot", ("flag", "short_flag", "foot"), _one_flag_foot),
                Allograph("long_flag", ("flag", "long_flag"), _one_long_flag),
                Allograph("long_flag_foot", ("flag", "long_flag", "foot"), _one_long_flag_foot)]
PAIRS = {7: ("plain", "crossed"), 4: ("closed", "open"), 9: ("straight_tail", "curved_tail")}
NARROW = (0.22, 0.38)  # width / height of a condensed hand (the writers' own: 0.5-0.85)
WIDE = (0.95, 1.25)


# ---- writers --------------------------------------------------------------------------------

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


# ---- from a shape in a unit box to mouse events on the canvas -------------------------------

def _wobble(points: np.ndarray, amplitude: float, rng: np.random.Generator) -> np.ndarray:
    """A slow random drift along the stroke: the hand does not follow the intended path."""
    steps = np.r_[0, np.cumsum(np.hypot(*np.diff(points, axis=0).T))]
    drift = np.zeros_like(points)
    for axis in range(2):
        for wavelength in (0.7, 1.6):
            drift[:, axis] += rng.normal(0, amplitude) * np.sin(2 * np.pi * steps / wavelength + rng.uniform(0, 2 * np.pi))
    return points + drift


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
            stamps.append(a + (b - a) * np.linspace(0, 1, count)[:, None])
        for x, y in np.vstack(stamps):
            cv2.circle(ink, (int(round(x * (1 << shift))), int(round(y * (1 << shift)))), radius, 255, -1,
                       cv2.LINE_8, shift)
    rgba = np.full((canvas, canvas, 4), 255, np.uint8)
    rgba[ink > 0, :3] = 0
    return rgba


# ---- the set ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class Drawing:
    label: int
    writer: int
    part: str  # "validation" (for choices) or "report" (only reported)
    allograph: str
    tags: tuple[str, ...]
    brush: int
    events: list[np.ndarray]  # mouse events per stroke, in canvas pixels

    def image(self) -> np.ndarray:
        return render(self.events, self.brush)


def draw(digit: int, writer: Writer, rng: np.random.Generator, allograph: int | None = None,
         style: Allograph | None = None, aspect: tuple[float, float] | None = None, tag: str = "") -> Drawing:
    """One drawing of digit by writer: its usual allograph unless one is given (an index into
    ALLOGRAPHS[digit], or a style); aspect: a range for this drawing's width / height; tag: one more
    style tag (e.g. "narrow")."""
    if style is None:
        choice = writer.choice[digit] if allograph is None else allograph
        if allograph is None and rng.random() < 0.15:  # now and then a writer varies
            choice = int(rng.integers(len(ALLOGRAPHS[digit])))
        style = ALLOGRAPHS[digit][choice]
    ratio = None if aspect is None else _u(rng, *aspect)
    paths, height = place(style.make(rng), writer, rng, ratio)
    spacing = writer.spacing * rng.uniform(0.7, 1.3)
    events = [mouse_events(p, spacing, rng) for p in paths]
    part = "validation" if writer.index < VALIDATION_WRITERS else "report"
    tags = style.tags + ((tag,) if tag else ()) + writer_tags(writer, height)
    return Drawing(digit, writer.index, part, f"{digit}_{style.name}", tags, writer.brush, events)


def hands(writer: Writer, rng: np.random.Generator) -> list[Drawing]:
    """The writer's eight drawings of the hands above, each kind taken in turn across writers."""
    i = writer.index
    styles = {digit: {style.name: style for style in ALLOGRAPHS[digit]} for digit in PAIRS}
    drawn = [draw(1, writer, rng, style=FLAGGED_ONES[(2 * i + k) % len(FLAGGED_ONES)]) for k in range(2)]
    drawn += [draw(digit, writer, rng, style=styles[digit][names[i % 2]]) for digit, names in PAIRS.items()]
    drawn += [draw(digit % 10, writer, rng, aspect=NARROW, tag="narrow") for digit in (i, i + 5)]
    drawn.append(draw((i + 3) % 10, writer, rng, aspect=WIDE, tag="wide"))
    return drawn


def canvas_set(part: str = "all", writers: int = WRITERS, seed: int = SEED) -> list[Drawing]:
    """The deterministic evaluation set: every writer draws every digit once, then the hands
    (`hands`): 18 drawings a writer.

    part: "validation" (writers 0..99, for choices), "report" (100..199, only reported) or "all".
    """
    drawings = []
    for index in range(writers):
        writer = make_writer(index, seed)
        if part not in ("all", "validation" if index < VALIDATION_WRITERS else "report"):
            continue
        rng = np.random.default_rng([seed, index, 1])
        drawings += [draw(digit, writer, rng) for digit in range(10)]
        drawings += hands(writer, np.random.default_rng([seed, index, 3]))
    return drawings


def normalized(drawings: list[Drawing]) -> np.ndarray:
    """The 28x28 digits the jury reads, (n, 784) uint8, through the app's preprocessing."""
    from digit.preprocess import normalize

    return np.stack([normalize(d.image()).pixels for d in drawings]).reshape(len(drawings), -1)


def canvas_pixels(part: str, most: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """A part of the set as the jury reads it, (n, 784) uint8, and the labels; kept on disk
    under a key made of this generator's and the preprocessing's code (never stale).

    most: at most this many drawings, spread evenly over the part (runs on a reduced MNIST)."""
    pixels, labels, _ = _canvas_part(part)
    keep = _spread(len(labels), most)
    return pixels[keep], labels[keep]


def canvas_tags(part: str, most: int | None = None) -> list[set[str]]:
    """The style tags of the drawings canvas_pixels(part, most) returns, in the same order."""
    tags = _canvas_part(part)[2]
    return [set(str(tags[index]).split(",")) for index in _spread(len(tags), most)]


def _spread(count: int, most: int | None) -> np.ndarray:
    if most is not None and most < count:
        return np.linspace(0, count - 1, most).round().astype(int)
    return np.arange(count)


def _canvas_part(part: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    import hashlib
    import os
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    code = b"".join(path.read_bytes() for path in (Path(__file__), root / "digit" / "images.py",
                                                   root / "digit" / "preprocess.py"))
    cache = root / "artifacts" / "cache" / f"canvas-{part}-{hashlib.sha1(code).hexdigest()[:20]}.npz"
    if cache.exists():
        found = np.load(cache)
        return found["pixels"], found["labels"], found["tags"]
    drawings = canvas_set(part)
    pixels, labels = normalized(drawings), np.array([d.label for d in drawings], np.int64)
    tags = np.array([",".join(d.tags + (d.allograph,)) for d in drawings])
    cache.parent.mkdir(parents=True, exist_ok=True)
    partial = cache.with_suffix(f".{os.getpid()}.tmp.npz")
    np.savez(partial, pixels=pixels, labels=labels, tags=tags)
    os.replace(partial, cache)
    return pixels, labels, tags


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
    parser = argparse.ArgumentParser(description="Measure the shipped jury on the canvas-style evaluation set.")
    parser.add_argument("--part", default="all", choices=["all", "validation", "report"])
    parser.add_argument("--save", metavar="DIR", help="also save the drawings as PNG files here (not committed)")
    arguments = parser.parse_args()
    from digit.model_store import load_model

    drawings = canvas_set(arguments.part)
    if arguments.save:
        from pathlib import Path

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


if __name__ == "__main__":
    main()
