"""The pad's value (digit/reading/pad.py): read in one place, the strokes kept as drawn, anything else refused."""

from __future__ import annotations

import pytest

from digit.reading.images import BadImage
from digit.reading.pad import PAD, PadDrawing
from helpers import BROWSER_ID as BROWSER, ONE_STROKE as SEVEN, pad_value as drawn
from testing.renderings import draw_strokes


def pad_value(strokes=SEVEN, browser=BROWSER) -> dict:
    return drawn(draw_strokes(7, canvas=(256, 256)), strokes, browser)


def test_the_pads_value_is_read_into_its_picture_strokes_and_browser():
    drawing = PadDrawing.from_value(pad_value())
    assert drawing.image.startswith(b"\x89PNG") and drawing.strokes == SEVEN and drawing.browser == BROWSER


def test_an_empty_pad_is_no_drawing():
    assert PadDrawing.from_value(None) is None and PadDrawing.from_value("") is None


@pytest.mark.parametrize("value, words", [
    ("data:image/png;base64,AA==", "not a drawing from the pad"),
    ({"image": "data:image/png;base64,AA==", "strokes": SEVEN}, "not a drawing from the pad"),
    (pad_value(browser="../../etc"), "browser id"),
    (pad_value(strokes=[]), "not a list of strokes"),
    (pad_value(strokes=[[[1, 2], [1], [0, 1]]]), "of one length"),
    (pad_value(strokes=[[[1.5], [1], [0]]]), "whole pixels"),
    (pad_value(strokes=[[[PAD.width + 1], [1], [0]]]), "whole pixels"),
    (pad_value(strokes=[[[1, 2], [1, 2], [5, 3]]]), "times go back"),
    (pad_value(strokes=[[[1], [1], [50]], [[2], [2], [10]]]), "whole pixels on the pad at rising milliseconds"),
    (pad_value(strokes=[[[1], [1], [0]]] * (PAD.max_strokes + 1)), f"more than {PAD.max_strokes} strokes"),
    (pad_value(strokes=[[[1] * 5001, [1] * 5001, list(range(5001))]] * 2), f"more than {PAD.max_points} points"),
    ({**pad_value(), "image": "data:image/png;base64," + "A" * (3 * 2**20)}, "too large"),
])
def test_a_value_the_pad_would_not_send_is_refused_saying_why(value, words):
    with pytest.raises(BadImage, match=words):
        PadDrawing.from_value(value)
