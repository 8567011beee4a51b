"""TRAINING digits drawn from pen strokes: canvas shapes MNIST lacks, with per-writer habits.

Separate from the evaluation set (`training/canvas/`) by construction: other code,
other shape definitions and other seeds. Here every allograph is a short list of control
points on a 10-unit-high grid; a writer's hand rounds them by corner cutting (Chaikin; none
at all gives boxy digits of straight strokes), and each writer keeps a slant, proportions,
a brush width, a jitter and a preferred allograph per digit. Strokes are drawn as thick
anti-aliased polylines (not the Sketchpad's stamped circles) and go through `normalize`.

Every template is drawn in the order and direction people use (a 7 left to right then down, a 1
with a flag up the flag then down the stem, a 0 counter-clockwise from the top, ...);
`stroke_drawings` also gives each digit's pen path with the times a pad would record, for the
stroke juror, and may draw the other common habits too (VARIANTS: a 0 clockwise or left open low, a 1 with a tick or a long low flag, an 8 as two
clockwise loops or a mirrored figure-eight, a boxy 3 with its bar apart).
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

TRAINING_SEED = 7_000_000  # far from the evaluation writers' seeds

Points = list[tuple[float, float]]

# Control points, x right (0..6 or so) and y down (0..10); each allograph is a list of strokes.
TEMPLATES: dict[int, dict[str, list[Points]]] = {
    0: {"oval": [[(3, 0), (0.3, 1.5), (0, 5), (0.5, 8.8), (3, 10), (5.6, 8.8), (6, 5), (5.7, 1.5), (3, 0), (2.2, 0.4)]],
        "box": [[(0.5, 0), (0, 10), (6, 10), (6, 0), (0, 0.2)]],
        "open": [[(4.5, 0.6), (3, 0), (0.5, 1.5), (0, 5), (0.5, 8.8), (3, 10), (5.6, 8.8), (6, 5), (5.7, 2)]]},
    1: {"stick": [[(3, 0), (3, 10)]],
        "flag": [[(1, 2.5), (3.5, 0), (3.5, 10)]],
        "flag_foot": [[(1, 2.5), (3.5, 0), (3.5, 10)], [(1, 10), (6, 10)]],
        "foot": [[(3, 0), (3, 10)], [(0.8, 10), (5.2, 10)]],
        # The European 1: a long flag, nearly a 7's bar but rising to the top of an upright stem.
        "long_flag": [[(0, 3.5), (2, 1.5), (4, 0), (4, 10)]],
        "long_flag_foot": [[(0, 4), (4, 0), (4, 10)], [(1.5, 10), (6.5, 10)]],
        # Flatter and longer still: what a plain 7 looks like, but for the upright stem under the apex.
        "flat_flag": [[(-1.5, 2.2), (1.5, 0.9), (4, 0), (4, 10)]],
        "flat_flag_foot": [[(-1, 2), (4, 0), (4, 10)], [(1.5, 10), (6.5, 10)]]},
    2: {"round": [[(0, 2.5), (1.5, 0), (4.5, 0), (6, 2), (5.5, 4.5), (0, 10), (6.5, 10)]],
        "loop": [[(0, 2.5), (1.5, 0), (4.5, 0), (6, 2), (5.5, 4.5), (1, 9), (0.2, 9.8), (1.2, 10), (2.5, 9.3), (6.5, 9.8)]],
        "box": [[(0, 0), (6, 0), (6, 5), (0, 5), (0, 10), (6, 10)]],
        "hook": [[(0, 1.5), (2, 0), (6, 0.5), (0, 10), (6, 10)]]},
    3: {"round": [[(0, 1), (2, 0), (5, 0), (6, 2), (5, 4), (2, 5), (5, 5.5), (6, 7.5), (5, 9.5), (2, 10), (0, 9)]],
        "flat": [[(0, 0), (6, 0), (2, 4.5), (5, 5), (6, 7.5), (5, 9.5), (2, 10), (0, 9)]],
        "box": [[(0, 0), (6, 0), (6, 5), (2, 5), (6, 5), (6, 10), (0, 10)]]},
    4: {"closed": [[(4, 0), (0, 7), (6.5, 7)], [(4, 0), (4, 10)]],
        "open": [[(0.5, 0), (0, 6), (6.5, 6)], [(4.5, 2), (4.5, 10)]],
        "single": [[(4.5, 10), (4.5, 0), (0, 7), (6.5, 7)]]},
    5: {"round": [[(6, 0), (1, 0), (0.5, 4.5), (3, 4), (5.5, 5), (6, 7.5), (5, 9.5), (2, 10), (0, 9)]],
        "bar": [[(1, 0), (0.5, 4.5), (3, 4), (5.5, 5), (6, 7.5), (5, 9.5), (2, 10), (0, 9)], [(1, 0), (6, 0)]],
        "box": [[(6, 0), (0, 0), (0, 4.5), (6, 4.5), (6, 10), (0, 10)]]},
    6: {"round": [[(5.5, 0), (2, 1), (0, 5), (0.5, 9), (3, 10), (5.5, 9), (6, 7), (4.5, 5), (2, 5), (0.3, 6.5)]],
        "flat": [[(5, 0), (1, 0), (0, 5), (0, 8.5), (2, 10), (5, 10), (6, 8), (5, 5.5), (2, 5.5), (0, 7)]],
        "hook": [[(6, 1.2), (5, 0), (1.5, 0), (0, 4), (0, 8.5), (2, 10), (5, 10), (6, 8), (5, 5.5), (2, 5.5), (0, 7)]],
        "box": [[(6, 0), (0, 0), (0, 10), (6, 10), (6, 5), (0, 5)]],
        "diagonal": [[(6, 0), (0.5, 6), (0.5, 9), (3, 10), (5.5, 9), (5.5, 6.5), (3, 5.5), (0.5, 6.5)]],
        # The loop reaching up to a third of the height: little of the stem shows above it.
        "big_loop": [[(5.5, 0), (2, 0.8), (0, 4.5), (0.5, 9), (3, 10), (5.5, 9), (6, 6.5), (4.5, 3.8), (2, 3.8), (0.3, 5.5)]],
        "big_hook": [[(6, 1.5), (5, 0), (1.5, 0.2), (0, 3.5), (0, 8.5), (2, 10), (5, 10), (6, 7.5), (5, 4), (2, 3.8), (0, 5.5)]]},
    7: {"plain": [[(0, 0), (6, 0), (2, 10)]],
        "crossed": [[(0, 0), (6, 0), (2, 10)], [(1.5, 5), (5.5, 5)]],
        "serif": [[(0, 1.5), (0, 0), (6, 0), (2.5, 10)]],
        "bent": [[(0, 0), (6, 0), (3.5, 4), (2.5, 10)]]},
    8: {"loops": [[(3, 0), (0.5, 1.2), (0.5, 3.8), (3, 5), (5.5, 3.8), (5.5, 1.2), (3, 0)],
                  [(3, 5), (0, 6.5), (0, 9), (3, 10), (6, 9), (6, 6.5), (3, 5)]],
        "figure": [[(5.5, 1), (3, 0), (0.5, 1), (0.5, 3.5), (5.5, 7), (5.5, 9), (3, 10), (0.5, 9), (0.5, 7), (5.5, 3.5), (5.5, 1)]],
        "box": [[(6, 0), (0, 0), (0, 10), (6, 10), (6, 0)], [(0, 5), (6, 5)]]},
    9: {"round": [[(6, 2), (4.5, 0), (1.5, 0), (0, 2), (1, 4.5), (4, 5), (6, 3), (6, 10)]],
        "curl": [[(6, 2), (4.5, 0), (1.5, 0), (0, 2), (1, 4.5), (4, 5), (6, 3), (5.5, 8), (3, 10), (1, 9.5)]],
        "box": [[(6, 5), (0, 5), (0, 0), (6, 0), (6, 10)]],
        "stick": [[(6, 0.5), (1.5, 0), (0, 2.5), (1.5, 5), (6, 4), (6, 0)], [(6, 0), (5.5, 10)]]},
}


def chaikin(points: np.ndarray, rounds: int) -> np.ndarray:
    """Corner cutting: each round replaces every corner by two points at 1/4 and 3/4."""
    for _ in range(rounds):
        if len(points) < 3:
            break
        a, b = points[:-1], points[1:]
        cut = np.empty((2 * len(a), 2))
        cut[0::2], cut[1::2] = 0.75 * a + 0.25 * b, 0.25 * a + 0.75 * b
        points = np.vstack([points[:1], cut, points[-1:]])
    return points


# Other habits of drawing the same digits: only `stroke_drawings(..., variants=True)` draws them, so
# the pictures `stroke_digits` makes (the pixel jury's training digits) stay as they were.
VARIANTS: dict[int, dict[str, list[Points]]] = {
    # A 0 left open far down its right side: it ends going up, where a 6 turns back in to its stem.
    0: {"oval_clockwise": [TEMPLATES[0]["oval"][0][::-1]],
        "open_low": [[(4.2, 0.3), (3, 0), (0.5, 1.5), (0, 5), (0.5, 8.8), (3, 10), (5.6, 8.8), (6, 6), (5.9, 4.5)]]},
    # A tick of a flag, and a long flag barely rising: both go up before the stem comes straight down.
    1: {"tick_flag": [[(2.4, 1.3), (3.5, 0), (3.5, 10)]],
        "low_flag": [[(-1.5, 1.8), (1, 0.8), (4, 0), (4, 10)]],
        "low_flag_foot": [[(-1.5, 1.8), (4, 0), (4, 10)], [(1.5, 10), (6.5, 10)]]},
    3: {"box_bar": [[(0, 0), (6, 0), (6, 10), (0, 10)], [(2, 5), (6, 5)]]},
    8: {"loops_clockwise": [loop[::-1] for loop in TEMPLATES[8]["loops"]],
        "figure_mirrored": [[(6 - x, y) for x, y in TEMPLATES[8]["figure"][0]]]},
}
WITH_VARIANTS = {digit: {**styles, **VARIANTS.get(digit, {})} for digit, styles in TEMPLATES.items()}

NARROW_SHARE, WIDE_SHARE = 0.15, 0.08  # drawings written condensed (tall and thin) or wide, by any writer


class StrokeWriter:
    """One simulated writer of training digits."""

    def __init__(self, rng: np.random.Generator, templates: dict[int, dict[str, list[Points]]] = TEMPLATES):
        self.templates = templates
        self.shear = rng.uniform(-0.15, 0.4)
        self.widen = rng.uniform(0.7, 1.35)
        self.rounding = int(rng.choice([0, 1, 2, 3], p=[0.3, 0.2, 0.25, 0.25]))
        self.jitter = rng.uniform(0.1, 0.45)
        self.brush = rng.uniform(0.05, 0.28)  # stroke width as a share of the digit height
        self.favourite = {digit: str(rng.choice(list(styles))) for digit, styles in templates.items()}

    def strokes(self, digit: int, rng: np.random.Generator) -> list[np.ndarray]:
        name = self.favourite[digit] if rng.random() < 0.7 else str(rng.choice(list(self.templates[digit])))
        angle = np.radians(rng.normal(0, 4))
        rotation = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
        rounding = int(np.clip(self.rounding + rng.integers(-1, 2), 0, 3))
        hand = rng.random()  # now and then a condensed or a wide hand: a 0 a third as wide as tall is still a 0
        widen = rng.uniform(0.2, 0.45) if hand < NARROW_SHARE else (
            rng.uniform(1.5, 2.0) if hand < NARROW_SHARE + WIDE_SHARE else self.widen)
        out = []
        for stroke in self.templates[digit][name]:
            points = np.asarray(stroke, float) + rng.normal(0, self.jitter, (len(stroke), 2))
            points[:, 0] = points[:, 0] * widen + self.shear * (10 - points[:, 1])
            points = chaikin(points, rounding) @ rotation.T
            if len(points) > 2 and rng.random() < 0.3:  # the pen lifts early or runs on
                end = points[-1] - points[-2]
                points[-1] = points[-2] + end * rng.uniform(0.3, 1.6)
            out.append(points)
        return out


def place_strokes(strokes: list[np.ndarray], brush: float, rng: np.random.Generator
                  ) -> tuple[list[np.ndarray], int, np.ndarray]:
    """The strokes in page pixels, the digit 60-300 px tall somewhere on the page: (strokes, line
    width, page size as x, y)."""
    everything = np.vstack(strokes)
    low, high = everything.min(axis=0), everything.max(axis=0)
    height = rng.uniform(60, 300)
    scale = height / max(high[1] - low[1], 1e-6)
    width = max(2, int(round(brush * height)))
    margin = width + int(rng.integers(4, 60))
    size = np.ceil((high - low) * scale).astype(int) + 2 * margin
    return [(stroke - low) * scale + margin for stroke in strokes], width, size


def render_strokes(strokes: list[np.ndarray], brush: float, rng: np.random.Generator) -> np.ndarray:
    """Dark strokes on a white page, the digit 60-300 px tall somewhere on it."""
    return _drawn_page(*place_strokes(strokes, brush, rng))


def _drawn_page(placed: list[np.ndarray], width: int, size: np.ndarray) -> np.ndarray:
    page = np.full((size[1], size[0]), 255, np.uint8)
    for stroke in placed:
        points = np.round(stroke * 4).astype(np.int32)  # 2 fractional bits
        cv2.polylines(page, [points], False, 0, width, cv2.LINE_AA, shift=2)
    return page


FRAME_MS = 16  # a browser reports the pointer about once a frame
PEN_UP_MS = (120, 450)  # between two strokes


def timed(placed: list[np.ndarray], rng: np.random.Generator) -> list[list[list[float]]]:
    """A pen path as a pad records it (Quick, Draw!'s raw format: per stroke [[x...], [y...], [t...]],
    ms since the drawing began): one event a frame, the pen moving 3-25 px a frame (its own rng:
    the picture does not depend on it)."""
    speed, clock, out = rng.uniform(3, 25), 0.0, []
    for stroke in placed:
        along = np.r_[0, np.cumsum(np.hypot(*np.diff(stroke, axis=0).T))]
        at = np.unique(np.r_[np.arange(0, along[-1], speed * rng.uniform(0.8, 1.2)), along[-1]])
        xs, ys = np.interp(at, along, stroke[:, 0]), np.interp(at, along, stroke[:, 1])
        times = clock + FRAME_MS * np.arange(len(at))
        out.append([np.round(xs, 1).tolist(), np.round(ys, 1).tolist(), times.tolist()])
        clock = float(times[-1]) + rng.uniform(*PEN_UP_MS)
    return out


@dataclass(frozen=True)
class StrokeDrawings:
    """Training digits with their pen paths: pixels (n, 784) uint8 as `normalize` makes them (empty
    when not asked for), labels, and per digit its strokes as a pad records them."""

    pixels: np.ndarray
    labels: np.ndarray
    strokes: list[list[list[list[float]]]]


def stroke_drawings(count: int, seed: int = TRAINING_SEED, per_writer: int = 20, variants: bool = False,
                    pictures: bool = True) -> StrokeDrawings:
    """count training digits, balanced over digits, with their strokes; the same digits as
    `stroke_digits(count, seed, per_writer)` draws when variants is False. variants: the writers
    also use the other habits (VARIANTS). pictures: also render and normalise each digit (without:
    blots the preprocessing would refuse are kept)."""
    from digit.reading.images import NoDigit
    from digit.reading.preprocess import normalize

    images, labels, paths = [], [], []
    index = 0
    templates = WITH_VARIANTS if variants else TEMPLATES
    while len(labels) < count:
        rng = np.random.default_rng([seed, index])
        writer = StrokeWriter(rng, templates)
        for sample in range(per_writer):
            if len(labels) == count:
                break
            digit = (index * per_writer + sample) % 10
            placed = place_strokes(writer.strokes(digit, rng), writer.brush * rng.uniform(0.8, 1.2), rng)
            if pictures:
                try:
                    images.append(normalize(_drawn_page(*placed)).pixels.reshape(-1))
                except NoDigit:  # a blot the preprocessing refuses, as it would from a visitor
                    continue
            labels.append(digit)
            paths.append(timed(placed[0], np.random.default_rng([seed, index, sample, 1])))
        index += 1
    pixels = np.stack(images) if images else np.zeros((0, 784), np.uint8)
    return StrokeDrawings(pixels, np.asarray(labels, np.int64), paths)


def stroke_digits(count: int, seed: int = TRAINING_SEED, per_writer: int = 20) -> tuple[np.ndarray, np.ndarray]:
    """count training digits normalised to 28x28 (n, 784) uint8, balanced over digits, and labels."""
    drawn = stroke_drawings(count, seed, per_writer)
    return drawn.pixels, drawn.labels
