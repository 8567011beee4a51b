"""The command line contract (README, "From the command line"): JSON lines in input order, exit 0 / 1 / 2."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

from bench.renderings import light_on_dark, sketch_from_mnist
from helpers import run_cli


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
