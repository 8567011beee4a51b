"""The canvas-style EVALUATION set: every writer draws the ten digits in their own habits, then
eight drawings of the hands the jury got wrong most, each drawn through the shapes, the
writer's hand and the pad's rendering of this package. Deterministic: the same seed, the same
drawings, pixel for pixel."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from training.canvas.rendering import mouse_events, render
from training.canvas.shapes import ALLOGRAPHS, FLAGGED_ONES, NARROW, PAIRS, WIDE, Allograph
from training.canvas.writers import SEED, Writer, make_writer, place, writer_tags

WRITERS = 200  # each writes every digit once and eight of the hands: 3,600 drawings
VALIDATION_WRITERS = 100  # writers 0..99 are the validation part, the rest the report part


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
    ratio = None if aspect is None else float(rng.uniform(*aspect))
    paths, height = place(style.make(rng), writer, rng, ratio)
    spacing = writer.spacing * rng.uniform(0.7, 1.3)
    events = [mouse_events(p, spacing, rng) for p in paths]
    part = "validation" if writer.index < VALIDATION_WRITERS else "report"
    tags = style.tags + ((tag,) if tag else ()) + writer_tags(writer, height)
    return Drawing(digit, writer.index, part, f"{digit}_{style.name}", tags, writer.brush, events)


def hands(writer: Writer, rng: np.random.Generator) -> list[Drawing]:
    """The writer's eight drawings of the hands (shapes.py: FLAGGED_ONES, PAIRS, NARROW, WIDE), each
    kind taken in turn across writers."""
    i = writer.index
    styles = {digit: {style.name: style for style in ALLOGRAPHS[digit]} for digit in PAIRS}
    drawn = [draw(1, writer, rng, style=FLAGGED_ONES[(2 * i + k) % len(FLAGGED_ONES)]) for k in range(2)]
    drawn += [draw(digit, writer, rng, style=styles[digit][names[i % 2]]) for digit, names in PAIRS.items()]
    drawn += [draw(digit % 10, writer, rng, aspect=NARROW, tag="narrow") for digit in (i, i + 5)]
    drawn.append(draw((i + 3) % 10, writer, rng, aspect=WIDE, tag="wide"))
    return drawn


def canvas_set(part: str = "all", writers: int = WRITERS, seed: int = SEED, first: int = 0) -> list[Drawing]:
    """The deterministic evaluation set: every writer draws every digit once, then the hands
    (`hands`): 18 drawings a writer.

    part: "validation" (writers 0..99, for choices), "report" (100..199, only reported) or "all";
    first: the first writer drawn (each writer draws from streams of their own: the same drawings).
    """
    drawings = []
    for index in (i for i in _writers_of(part, writers) if i >= first):
        writer = make_writer(index, seed)
        rng = np.random.default_rng([seed, index, 1])
        drawings += [draw(digit, writer, rng) for digit in range(10)]
        drawings += hands(writer, np.random.default_rng([seed, index, 3]))
    return drawings


def _writers_of(part: str, writers: int) -> list[int]:
    return [index for index in range(writers)
            if part in ("all", "validation" if index < VALIDATION_WRITERS else "report")]


def part_size(part: str, writers: int = WRITERS, seed: int = SEED) -> int:
    """How many drawings canvas_set(part) holds, without drawing them: 10 digits and the hands a writer."""
    return len(_writers_of(part, writers)) * (10 + len(hands(make_writer(0, seed), np.random.default_rng(0))))


def normalized(drawings: list[Drawing]) -> np.ndarray:
    """The 28x28 digits the jury reads, (n, 784) uint8, through the app's preprocessing."""
    from digit.reading.preprocess import normalize

    return np.stack([normalize(d.image()).pixels for d in drawings]).reshape(len(drawings), -1)

