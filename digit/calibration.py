"""Confidence you can trust: temperature scaling of the jury's vote, its error, and "unsure".

The jury's vote is a weighted mean of its jurors' probabilities; averaging makes it
underconfident where the jurors agree. One
temperature T, fitted by log loss on validation digits (Guo et al. 2017), rescales the vote
as p ** (1 / T), renormalised: the likeliest digit stays the likeliest, only how sure it
says it is changes. "Unsure" is then a threshold on that calibrated confidence, chosen on
validation by what it costs (`choose_unsure_below`).
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import minimize_scalar
from scipy.special import softmax

ECE_BINS = 15  # equal-width confidence bins, as Guo et al. report
FLOOR = 1e-9  # a juror's 0 stays finite in the logarithm
MISS_COST = 10.0  # a wrong answer given as sure costs as much as ten right ones doubted (one extra click each)
UNSURE_GRID = np.round(np.arange(0.30, 0.995, 0.01), 2)


def calibrated(probabilities: np.ndarray, temperature: float) -> np.ndarray:
    """The rows of probabilities raised to 1 / temperature and renormalised (softmax of log p / T)."""
    if not (np.isfinite(temperature) and temperature > 0):
        raise ValueError(f"the temperature must be a positive number, not {temperature!r}")
    return softmax(np.log(np.maximum(probabilities, FLOOR)) / temperature, axis=1)


def _log_loss(probabilities: np.ndarray, labels: np.ndarray, weights: np.ndarray) -> float:
    picked = probabilities[np.arange(len(labels)), labels]
    return float(-np.average(np.log(np.maximum(picked, FLOOR)), weights=weights))


def fit_temperature(probabilities: np.ndarray, labels: np.ndarray, sample_weight: np.ndarray | None = None) -> float:
    """The temperature (0.05..20) that minimises the weighted log loss of the calibrated rows."""
    weights = np.ones(len(labels)) if sample_weight is None else np.asarray(sample_weight, float)
    labels = np.asarray(labels, int)
    found = minimize_scalar(lambda log_t: _log_loss(calibrated(probabilities, float(np.exp(log_t))), labels, weights),
                            bounds=(np.log(0.05), np.log(20.0)), method="bounded", options={"xatol": 1e-4})
    return round(float(np.exp(found.x)), 4)


def expected_calibration_error(labels: np.ndarray, probabilities: np.ndarray, bins: int = ECE_BINS) -> float:
    """Top-label ECE: over equal-width confidence bins, the share of readings in the bin times the
    gap between their accuracy and their mean confidence."""
    confidence, right = probabilities.max(axis=1), probabilities.argmax(axis=1) == np.asarray(labels)
    which = np.clip((confidence * bins).astype(int), 0, bins - 1)  # a confidence of 1.0 in the last bin
    gaps = [abs(right[which == b].mean() - confidence[which == b].mean()) * np.mean(which == b)
            for b in range(bins) if np.any(which == b)]
    return float(np.sum(gaps))


def reliability(labels: np.ndarray, probabilities: np.ndarray, bins: int = ECE_BINS) -> list[dict]:
    """Per non-empty bin: its range, readings, mean confidence and accuracy (the reliability diagram)."""
    confidence, right = probabilities.max(axis=1), probabilities.argmax(axis=1) == np.asarray(labels)
    which = np.clip((confidence * bins).astype(int), 0, bins - 1)
    return [{"low": round(b / bins, 4), "high": round((b + 1) / bins, 4), "count": int(np.sum(which == b)),
             "confidence": round(float(confidence[which == b].mean()), 4),
             "accuracy": round(float(right[which == b].mean()), 4)}
            for b in range(bins) if np.any(which == b)]


def unsure_rates(labels: np.ndarray, probabilities: np.ndarray, below: float) -> dict:
    """What the rule "unsure when the confidence is below `below`" does: the share of wrong answers
    it catches and the share of right answers it doubts."""
    confidence, right = probabilities.max(axis=1), probabilities.argmax(axis=1) == np.asarray(labels)
    doubted = confidence < below
    return {"wrong": int(np.sum(~right)), "caught_wrong": int(np.sum(doubted & ~right)),
            "caught_wrong_share": round(float(np.mean(doubted[~right])) if np.any(~right) else 0.0, 4),
            "doubted_right": int(np.sum(doubted & right)),
            "doubted_right_share": round(float(np.mean(doubted[right])) if np.any(right) else 0.0, 4)}


def choose_unsure_below(probabilities: np.ndarray, labels: np.ndarray, sample_weight: np.ndarray | None = None) -> float:
    """The confidence threshold on UNSURE_GRID that costs least on validation: MISS_COST per wrong
    answer given as sure, 1 per right answer doubted (weighted; ties: the lower threshold)."""
    weights = np.ones(len(labels)) if sample_weight is None else np.asarray(sample_weight, float)
    confidence, right = probabilities.max(axis=1), probabilities.argmax(axis=1) == np.asarray(labels)
    costs = [MISS_COST * weights[~right & (confidence >= below)].sum() + weights[right & (confidence < below)].sum()
             for below in UNSURE_GRID]
    return float(UNSURE_GRID[int(np.argmin(costs))])


def equal_share_weights(*sizes: int) -> np.ndarray:
    """Sample weights giving each of several sets the same total weight (MNIST validation's
    10,000 digits would otherwise drown the canvas-style validation part's 1,000)."""
    return np.concatenate([np.full(size, 1.0 / size) for size in sizes]) * sum(sizes) / len(sizes)
