"""The command line contract (README, "From the command line"): JSON lines in input order, exit 0 / 1 / 2."""

from __future__ import annotations

import json

import cv2
import numpy as np
import pytest
from PIL import Image

from helpers import run_cli
from testing.renderings import flagged_one, light_on_dark, sketch_from_mnist


@pytest.fixture(scope="module")
def digit_files(tmp_path_factory, validation_digits):
    folder = tmp_path_factory.mktemp("cli")
    images, labels = validation_digits
    rng = np.random.default_rng(9)
    paths = []
    for index, (image, label) in enumerate(zip(images[:4], labels[:4])):
        path = folder / f"digit{index}.png"
        picture = sketch_from_mnist(image, rng, canvas=400) if index % 2 else light_on_dark(image, rng)
        Image.fromarray(picture).save(path)
        paths.append((str(path), int(label)))
    return folder, paths


def test_json_lines_come_in_input_order_with_the_contract_keys(digit_files):
    _, paths = digit_files
    result = run_cli("predict", "--json", *[path for path, _ in paths])
    assert result.returncode == 0, result.stderr
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert [line["path"] for line in lines] == [path for path, _ in paths]
    for line, (_, label) in zip(lines, paths):
        assert line["digit"] == label
        assert len(line["probabilities"]) == 10
        assert abs(sum(line["probabilities"]) - 1) < 1e-3
        assert line["confidence"] == max(line["probabilities"])
        assert set(line["jurors"]) == {"svc", "knn", "rf"}
        assert all(0 <= vote <= 9 for vote in line["jurors"].values())


def test_a_bad_file_among_good_ones_is_reported_and_the_rest_still_classified(digit_files):
    folder, paths = digit_files
    text = folder / "notes.txt"
    text.write_text("not a digit")
    blank = folder / "blank.png"
    Image.new("RGBA", (300, 300), (0, 0, 0, 0)).save(blank)
    arguments = [paths[0][0], str(text), str(blank), str(folder / "missing.png"), paths[1][0]]
    result = run_cli("predict", "--json", *arguments)
    assert result.returncode == 1
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert [line["path"] for line in lines] == arguments
    assert lines[0]["digit"] == paths[0][1] and lines[4]["digit"] == paths[1][1]
    assert lines[1]["error"].startswith("not an image")
    assert "no ink" in lines[2]["error"]
    assert "no such file" in lines[3]["error"]
    assert "Traceback" not in result.stderr


def test_plain_output_is_one_readable_line_per_file(digit_files):
    _, paths = digit_files
    result = run_cli("predict", paths[0][0])
    assert result.returncode == 0
    assert result.stdout.startswith(f"{paths[0][0]}: {paths[0][1]} (")


@pytest.mark.parametrize("arguments", [(), ("predict",), ("predict", "--bogus", "a.png"), ("guess", "a.png")])
def test_usage_errors_exit_with_2(arguments):
    result = run_cli(*arguments)
    assert result.returncode == 2
    assert "usage:" in result.stderr


def _strokes(strokes: list[list[tuple[float, float]]]) -> np.ndarray:
    """Strokes in a unit box, drawn as the pad sends them (black ink, transparent paper, 400 px)."""
    alpha = np.zeros((400, 400), np.uint8)
    for stroke in strokes:
        points = np.array([(100 + 200 * x, 50 + 300 * y) for x, y in stroke])
        cv2.polylines(alpha, [np.round(points).astype(np.int32)], False, 255, 24, cv2.LINE_AA)
    return np.dstack([np.zeros((400, 400, 3), np.uint8), alpha])


def _flagged_one(lowered: float) -> np.ndarray:
    return _strokes(flagged_one(lowered))


def test_where_a_7_turns_into_a_1_the_jury_says_unsure_naming_both_and_not_for_a_clear_0(tmp_path):
    # Lower the flag step by step (bisection, in process) to where the reading turns from 7 to 1;
    # there the command line must say unsure, both digits its candidates. A round 0 it does not doubt.
    from digit.model.store import load_model

    classifier = load_model().classifier
    seven, one = 0.0, 1.0
    assert [classifier.predict(_flagged_one(seven)).digit, classifier.predict(_flagged_one(one)).digit] == [7, 1]
    for _ in range(10):
        middle = (seven + one) / 2
        seven, one = (middle, one) if classifier.predict(_flagged_one(middle)).digit == 7 else (seven, middle)
    paths = []
    for name, picture in [("seven", _flagged_one(seven)), ("one", _flagged_one(one)),
                          ("zero", _strokes([[(0.5 + 0.45 * np.cos(t), 0.5 + 0.45 * np.sin(t))
                                              for t in np.linspace(0, 2 * np.pi, 40)]]))]:
        Image.fromarray(picture).save(tmp_path / f"{name}.png")
        paths.append(str(tmp_path / f"{name}.png"))
    result = run_cli("predict", "--json", *paths)
    assert result.returncode == 0, result.stderr
    *boundary, clear = (json.loads(line) for line in result.stdout.splitlines())
    assert [reading["digit"] for reading in boundary] == [7, 1], boundary
    for reading in boundary:
        assert reading.get("unsure") is True and sorted(reading["candidates"]) == [1, 7], reading
        assert reading["candidates"][0] == reading["digit"], reading
    assert clear["digit"] == 0 and "unsure" not in clear and "candidates" not in clear, clear
