"""Several digits in one drawing or photo are read left to right as a number."""

from __future__ import annotations

import json

import cv2
import numpy as np
import pytest
from PIL import Image

from helpers import run_cli
from testing.renderings import draw_strokes, photo_of


def written(digits: list[int], gap: int = 30, width: int = 16) -> np.ndarray:
    """Digits drawn side by side on one transparent canvas, as on the Sketchpad."""
    canvas = (len(digits) * (150 + gap) + 80, 400)
    image = np.zeros((canvas[1], canvas[0], 4), np.uint8)
    for index, digit in enumerate(digits):
        box = (40 + index * (150 + gap), 60 + 10 * (index % 2), 150, 260)
        image = np.maximum(image, draw_strokes(digit, canvas=canvas, box=box, width=width))
    return image


def test_digits_overlapping_but_not_touching_are_still_two(classifier):
    assert classifier.predict(written([4, 2], gap=-40)).number == "42"


@pytest.mark.parametrize("digits", [[4, 2], [2, 0, 2, 6], [1, 9, 8, 4], [3, 5, 7]])
def test_separated_digits_are_read_left_to_right(classifier, digits):
    prediction = classifier.predict(written(digits))
    assert prediction.number == "".join(map(str, digits))
    assert len(prediction.parts) == len(digits)
    assert all(0 < part.confidence <= 1 for part in prediction.parts)


def test_a_number_on_paper_is_read(classifier):
    ink = written([4, 2])[..., 3] / 255.0
    square = np.zeros((max(ink.shape),) * 2)
    square[: ink.shape[0], : ink.shape[1]] = ink
    photo = photo_of(square, np.random.default_rng(4))
    assert classifier.predict(photo).number == "42"


def test_a_single_digit_with_a_speck_beside_it_is_one_digit(classifier):
    image = draw_strokes(7, canvas=(400, 400))
    image[300:304, 350:354, 3] = 255  # a stray dot
    prediction = classifier.predict(image)
    assert prediction.number is None and prediction.digit == 7


def test_a_five_drawn_with_a_detached_bar_is_one_digit(classifier):
    image = draw_strokes(5, canvas=(400, 400))
    image[40:70, :, 3] = 0  # lift the pen between the bar and the body
    prediction = classifier.predict(image)
    assert prediction.number is None and prediction.digit == 5


def test_the_cli_gives_the_number_key(tmp_path):
    path = tmp_path / "2026.png"
    Image.fromarray(written([2, 0, 2, 6])).save(path)
    result = run_cli("predict", "--json", str(path))
    line = json.loads(result.stdout)
    assert result.returncode == 0
    assert line["number"] == "2026" and line["digit"] == 2
    assert [d["digit"] for d in line["digits"]] == [2, 0, 2, 6]


def test_touching_digits_are_read_with_a_warning_not_a_wrong_number(classifier, tmp_path):
    image = np.maximum(draw_strokes(4, canvas=(600, 400), box=(40, 60, 260, 260), width=18),
                       draw_strokes(2, canvas=(600, 400), box=(260, 60, 260, 260), width=18))
    alpha = np.ascontiguousarray(image[..., 3])
    cv2.line(alpha, (269, 229), (299, 307), 255, 18)  # the pen never lifts from 4 to 2
    image[..., 3] = alpha
    prediction = classifier.predict(image)
    assert prediction.number is None
    assert "touching" in prediction.warning
    path = tmp_path / "touching.png"
    Image.fromarray(image).save(path)
    line = json.loads(run_cli("predict", "--json", str(path)).stdout)
    assert "touching" in line["warning"]


def test_a_single_digit_carries_no_warning(classifier):
    assert classifier.predict(draw_strokes(0)).warning == ""
