"""Calibration of the jury's vote (digit/calibration.py): the temperature, its error, "unsure"."""

from __future__ import annotations

import numpy as np
import pytest

from digit.calibration import (calibrated, choose_unsure_below, equal_share_weights, expected_calibration_error,
                               fit_temperature, unsure_rates)


def _overconfident(count: int = 4000, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Readings that say 99 % and are right 80 % of the time, the rest spread on the other digits."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 10, count)
    read = np.where(rng.random(count) < 0.8, labels, (labels + rng.integers(1, 10, count)) % 10)
    probabilities = np.full((count, 10), 0.01 / 9)
    probabilities[np.arange(count), read] = 0.99
    return probabilities, labels


def test_calibration_keeps_the_likeliest_digit_and_ten_shares_of_one():
    probabilities = np.random.default_rng(1).dirichlet(np.ones(10), 50)
    for temperature in (0.3, 1.0, 4.0):
        scaled = calibrated(probabilities, temperature)
        assert np.array_equal(scaled.argmax(axis=1), probabilities.argmax(axis=1))
        assert np.allclose(scaled.sum(axis=1), 1)
    assert np.allclose(calibrated(probabilities, 1.0), probabilities)


def test_an_overconfident_vote_is_cooled_until_its_confidence_matches_its_accuracy():
    probabilities, labels = _overconfident()
    assert expected_calibration_error(labels, probabilities) == pytest.approx(0.19, abs=0.02)
    temperature = fit_temperature(probabilities, labels)
    assert temperature > 1
    cooled = calibrated(probabilities, temperature)
    assert cooled.max(axis=1).mean() == pytest.approx(0.8, abs=0.02)
    assert expected_calibration_error(labels, cooled) < 0.02


def test_a_bad_temperature_is_refused_with_a_reason():
    with pytest.raises(ValueError, match="positive"):
        calibrated(np.full((1, 10), 0.1), float("nan"))


def test_unsure_catches_the_doubtful_wrong_answers_and_doubts_few_right_ones():
    labels = np.array([0] * 90 + [1] * 10)
    probabilities = np.full((100, 10), 0.0)
    probabilities[:90, 0] = 0.97  # right and sure
    probabilities[:90, 1] = 0.03
    probabilities[90:, 0] = 0.6  # wrong and doubtful: read as 0, were 1s
    probabilities[90:, 1] = 0.4
    below = choose_unsure_below(probabilities, labels)
    assert 0.6 < below <= 0.97
    assert unsure_rates(labels, probabilities, below) == {
        "wrong": 10, "caught_wrong": 10, "caught_wrong_share": 1.0, "doubted_right": 0, "doubted_right_share": 0.0}


def test_two_sets_weigh_the_same_whatever_their_sizes():
    weights = equal_share_weights(10_000, 1_000)
    assert weights[:10_000].sum() == pytest.approx(weights[10_000:].sum())
    assert weights.sum() == pytest.approx(11_000)


def test_the_reliability_diagram_is_a_png_of_two_panels_and_the_bench_rows_say_the_figures(tmp_path):
    from PIL import Image

    from bench.calibration import PANEL, MARGIN, reliability_diagram, rows
    from digit.calibration import reliability

    probabilities, labels = _overconfident(500)
    figures = {"ece": expected_calibration_error(labels, probabilities), "bins": reliability(labels, probabilities),
               "unsure": unsure_rates(labels, probabilities, 0.9)}
    report = {"temperature": 1.0, "unsure_below": 0.9, "mnist_validation": figures, "canvas_report": figures}
    reliability_diagram(report, tmp_path / "reliability.png")
    image = Image.open(tmp_path / "reliability.png")
    assert image.size == (2 * (PANEL + 2 * MARGIN), PANEL + 2 * MARGIN)
    assert len(image.getcolors(maxcolors=100_000)) > 3  # bars, gaps and text, not a blank page
    text = " ".join(" ".join(row) for row in rows(report))
    assert f"{figures['ece']:.2%}" in text and "catches 0 of" in text
