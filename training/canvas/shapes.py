"""The shapes of the canvas-style set: pen paths in a unit box, several allographs per digit
(flat or hooked tops, boxy strokes, open and closed loops, feet and flags on 1s, crossed 7s,
...), and the hands the jury got wrong most (issue 21) that every writer draws besides."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np


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
