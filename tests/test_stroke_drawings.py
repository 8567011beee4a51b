"""The generators' pen paths: the strokes behind their pictures, drawn the way people draw."""

from __future__ import annotations

import numpy as np

from training.canvas.drawings import canvas_set
from training.canvas.rendering import render
from training.canvas.strokes import PAD_OFFSET, drawing_strokes
from training.stroke_digits import stroke_digits, stroke_drawings


def _first_move(strokes) -> np.ndarray:
    x, y = np.asarray(strokes[0][0]), np.asarray(strokes[0][1])
    far = np.flatnonzero(np.hypot(x - x[0], y - y[0]) > 0.15 * (np.ptp(y) or 1))[0]
    return np.array([x[far] - x[0], y[far] - y[0]])


def test_training_digits_come_with_the_strokes_behind_the_same_pictures():
    drawn = stroke_drawings(40)
    pixels, labels = stroke_digits(40)
    assert np.array_equal(drawn.pixels, pixels) and np.array_equal(drawn.labels, labels)
    assert len(drawn.strokes) == 40
    for strokes in drawn.strokes:
        times = np.concatenate([s[2] for s in strokes])
        assert np.all(np.diff(times) > 0)  # ms since the drawing began, strokes in order
        assert all(len(s[0]) == len(s[1]) == len(s[2]) for s in strokes)


def test_training_sevens_go_right_first_and_flagged_ones_go_up_first():
    drawn = stroke_drawings(400, pictures=False)
    sevens = [_first_move(s) for s, label in zip(drawn.strokes, drawn.labels) if label == 7]
    assert np.mean([dx > abs(dy) for dx, dy in sevens]) > 0.7  # the bar first, left to right
    ones = [_first_move(s) for s, label in zip(drawn.strokes, drawn.labels) if label == 1 and len(s[0][0]) > 2]
    assert all(dy != 0 for _, dy in ones)
    assert np.mean([dy < 0 for _, dy in ones]) > 0.3  # flags drawn upwards, sticks downwards


def test_variants_add_other_habits_such_as_clockwise_zeros():
    plain = stroke_drawings(1000, seed=5, pictures=False)
    mixed = stroke_drawings(1000, seed=5, variants=True, pictures=False)

    def clockwise_share(drawn) -> float:
        turns = []
        for strokes, label in zip(drawn.strokes, drawn.labels):
            if label == 0:
                x, y = np.asarray(strokes[0][0]), np.asarray(strokes[0][1])
                turns.append(np.sum(x[:-1] * y[1:] - x[1:] * y[:-1]) > 0)  # y down: positive area is clockwise
        return float(np.mean(turns))

    assert clockwise_share(plain) == 0 < clockwise_share(mixed)


def test_canvas_strokes_render_to_the_canvas_picture():
    for drawing in canvas_set("validation", writers=2)[:18]:
        strokes = drawing_strokes(drawing)
        events = [np.column_stack([np.asarray(s[0]) - PAD_OFFSET, s[1]]) for s in strokes]
        again = render(events, drawing.brush)
        assert np.mean(again[..., 0] != drawing.image()[..., 0]) < 0.002  # the same ink, to the rounding
