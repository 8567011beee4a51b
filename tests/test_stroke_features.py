"""The trajectory features: what they keep (order, direction) and what they ignore (place, size)."""

from __future__ import annotations

import numpy as np
import pytest

from digit.stroke_features import N_FEATURES, POINTS, BadStrokes, stroke_features

# A 7 (right along the top, then down-left) and a long-flag 1 (up-right, then straight down): alike in pixels.
SEVEN = [[[100, 200, 140], [100, 100, 300], [0, 120, 400]]]
ONE = [[[100, 170, 170], [160, 100, 300], [0, 120, 400]]]


def _moved(strokes, scale: float, dx: float, dy: float) -> list:
    return [[[x * scale + dx for x in s[0]], [y * scale + dy for y in s[1]], s[2]] for s in strokes]


def test_features_are_one_fixed_length_vector_whatever_the_drawing():
    assert stroke_features(SEVEN).shape == (N_FEATURES,)
    many = [[[i, i + 5, i + 9], [0, 30, 60]] for i in range(0, 50, 10)]  # no times: they are optional
    assert stroke_features(many).shape == (N_FEATURES,)
    assert stroke_features(SEVEN).dtype == np.float32


def test_place_and_size_on_the_pad_do_not_change_the_features():
    assert np.allclose(stroke_features(SEVEN), stroke_features(_moved(SEVEN, 2.5, 130, -40)), atol=1e-5)


def test_the_same_path_drawn_backwards_reads_differently():
    backwards = [[s[0][::-1], s[1][::-1], s[2]] for s in SEVEN]
    directions = slice(2 * POINTS, 4 * POINTS)
    assert np.allclose(stroke_features(backwards)[directions].reshape(-1, 2)[::-1],
                       -stroke_features(SEVEN)[directions].reshape(-1, 2), atol=1e-5)


def test_a_seven_and_a_long_flag_one_start_out_in_different_directions():
    seven, one = (stroke_features(s)[2 * POINTS:4 * POINTS].reshape(-1, 2) for s in (SEVEN, ONE))
    assert seven[0, 1] == pytest.approx(0, abs=1e-6)  # the 7 starts level, to the right
    assert one[0, 1] < -0.5  # the 1 starts upwards


def test_stroke_order_and_count_are_kept():
    four = [[[100, 60, 160], [100, 200, 200]], [[130, 130], [120, 300]]]
    swapped = four[::-1]
    assert not np.allclose(stroke_features(four), stroke_features(swapped))
    assert stroke_features(four)[7 * POINTS:7 * POINTS + 4].tolist() == [0, 1, 0, 0]


@pytest.mark.parametrize("bad", [[], "strokes", [[[1, 2], [3]]], [[[0, 0], [0, 0]]], [[["a"], ["b"]]],
                                 [[[float("nan"), 1], [1, 2]]], [[[1, 2], [3, 4]]] * 100])
def test_strokes_that_are_not_a_drawing_are_refused_with_a_reason(bad):
    with pytest.raises(BadStrokes):
        stroke_features(bad)
