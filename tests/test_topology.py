"""Topology features read holes and stroke ends where a person sees them."""

from __future__ import annotations

import numpy as np
import pytest

from digit.reading.preprocess import normalize
from digit.topology import hole_features, skeleton_features, thin
from training.canvas.drawings import draw
from training.canvas.shapes import ALLOGRAPHS
from training.canvas.writers import make_writer


def drawn(digit: int, style: str) -> np.ndarray:
    """A tidy drawing (writer 3 of the evaluation set, thin brush) as the jury's 28x28 in 0..1."""
    writer = make_writer(3)
    writer = type(writer)(**{**writer.__dict__, "brush": 10, "slant": 0.0, "height": 0.7, "wobble": 0.0})
    index = [a.name for a in ALLOGRAPHS[digit]].index(style)
    image = draw(digit, writer, np.random.default_rng(0), allograph=index).image()
    return normalize(image).pixels / 255.0


@pytest.mark.parametrize("digit, style, holes, upper, lower", [
    (0, "ellipse", 1, 0, 0), (8, "two_loops", 2, 1, 1), (6, "flat_top", 1, 0, 1), (9, "box", 1, 1, 0),
    (5, "one_stroke", 0, 0, 0), (1, "flag_foot", 0, 0, 0),
])
def test_holes_are_counted_and_placed(digit, style, holes, upper, lower):
    features = hole_features(drawn(digit, style) > 0.5)
    assert features[:3] == [holes == 0, holes == 1, holes == 2]
    assert features[3:5] == [upper, lower]


def test_a_stick_has_two_ends_and_no_junction():
    features = skeleton_features(drawn(1, "stick") > 0.35)
    assert features[0] == pytest.approx(2 / 4)
    assert features[10] == 0


def test_thinning_leaves_a_one_pixel_line():
    bar = np.zeros((20, 20), bool)
    bar[8:13, 3:17] = True
    skeleton = thin(bar)
    assert skeleton.sum() >= 8
    assert skeleton.sum(axis=0).max() == 1  # one pixel per column
