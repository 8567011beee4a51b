"""Drawings of one style by people the canvas-style set never saw, made with its generator:
the tests and measurements of the feedback loop's defences draw a style this way (e.g. 1s with
a foot, sent as 7s by one visitor, then fresh ones to read).

Not part of the set's cache key (report.CODE): a change here leaves the set's cached parts alone.
"""

from __future__ import annotations

import numpy as np

from training.canvas.drawings import WRITERS, Drawing, draw, normalized
from training.canvas.shapes import ALLOGRAPHS
from training.canvas.writers import SEED, make_writer


def styled_drawings(digit: int, allographs: tuple[str, ...], count: int, first_writer: int) -> list[Drawing]:
    """count drawings of digit in the named allographs (taken in turn), each by its own writer
    from first_writer on (WRITERS or more: nobody in the evaluation set)."""
    if first_writer < WRITERS:
        raise ValueError(f"writers below {WRITERS} are the evaluation set's")
    names = [style.name for style in ALLOGRAPHS[digit]]
    drawings = []
    for offset in range(count):
        writer = make_writer(first_writer + offset)
        rng = np.random.default_rng([SEED, writer.index, 2])
        drawings.append(draw(digit, writer, rng, allograph=names.index(allographs[offset % len(allographs)])))
    return drawings


def styled_pixels(digit: int, allographs: tuple[str, ...], count: int, first_writer: int) -> np.ndarray:
    """The same drawings as the jury reads them, (count, 784) uint8."""
    return normalized(styled_drawings(digit, allographs, count, first_writer))
