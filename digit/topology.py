"""Topology of a 28x28 digit: enclosed holes and where they sit, stroke ends and junctions.

Pixels and gradients say how a digit looks; topology says how it is built, which survives
the shapes people draw on a canvas (flat tops, boxy strokes): a 6 has one hole in its lower
half and one stroke end at the top, a 5 has no hole and two ends. Holes are counted at two
ink thresholds, since a thick brush or a faint join may close or open one; ends and
junctions come from a one-pixel-wide skeleton (Zhang-Suen thinning, by lookup tables).
"""

from __future__ import annotations

import cv2
import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin

HOLE_THRESHOLDS = (0.2, 0.5)  # ink levels (of 1) for the hole counts: faint joins close holes at 0.2
SKELETON_THRESHOLD = 0.35
MIN_HOLE = 2  # pixels: a single enclosed pixel is a pinhole in a thick stroke, not a loop
SPUR = 2  # skeleton branches up to this long are thinning noise, not stroke ends


def _neighbour_code(binary: np.ndarray) -> np.ndarray:
    """Each pixel's 8 neighbours as bits, clockwise from north (P2..P9 in Zhang & Suen)."""
    kernel = np.array([[128, 1, 2], [64, 0, 4], [32, 16, 8]], np.float32)
    return cv2.filter2D(binary.astype(np.float32), -1, kernel, borderType=cv2.BORDER_CONSTANT).astype(np.uint8)


def _tables() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Deletion tables of the two thinning sub-steps, and the crossing number of each code."""
    first, second = np.zeros(256, bool), np.zeros(256, bool)
    crossings = np.zeros(256, np.uint8)
    for code in range(256):
        p = [(code >> bit) & 1 for bit in range(8)]  # P2, P3, ..., P9
        count = sum(p)
        transitions = sum(p[i] == 0 and p[(i + 1) % 8] == 1 for i in range(8))
        crossings[code] = transitions
        p2, p4, p6, p8 = p[0], p[2], p[4], p[6]
        base = 2 <= count <= 6 and transitions == 1
        first[code] = base and p2 * p4 * p6 == 0 and p4 * p6 * p8 == 0
        second[code] = base and p2 * p4 * p8 == 0 and p2 * p6 * p8 == 0
    return first, second, crossings


FIRST, SECOND, CROSSINGS = _tables()
NEIGHBOURS = np.array([bin(code).count("1") for code in range(256)], np.uint8)


def thin(binary: np.ndarray) -> np.ndarray:
    """Zhang-Suen thinning of a 2-D boolean image (several digits may be stacked with gaps)."""
    image = binary.astype(bool).copy()
    while True:
        changed = False
        for table in (FIRST, SECOND):
            delete = image & table[_neighbour_code(image)]
            if delete.any():
                image &= ~delete
                changed = True
        if not changed:
            return image


def _prune(skeleton: np.ndarray, length: int = SPUR) -> np.ndarray:
    """Remove end pixels `length` times: short spurs vanish, long strokes lose a pixel or two."""
    skeleton = skeleton.copy()
    for _ in range(length):
        ends = skeleton & (NEIGHBOURS[_neighbour_code(skeleton)] <= 1)
        skeleton &= ~ends
    return skeleton


def _holes(binary: np.ndarray) -> list[tuple[float, float, float]]:
    """Enclosed background regions: (area, centre x, centre y) each, largest first."""
    background = np.pad(~binary, 1, constant_values=True).astype(np.uint8)
    count, labels, stats, centres = cv2.connectedComponentsWithStats(background, connectivity=4)
    outside = labels[0, 0]
    holes = [(float(stats[i, cv2.CC_STAT_AREA]), float(centres[i, 0] - 1), float(centres[i, 1] - 1))
             for i in range(1, count) if i != outside and stats[i, cv2.CC_STAT_AREA] >= MIN_HOLE]
    return sorted(holes, reverse=True)


def hole_features(binary: np.ndarray) -> list[float]:
    """Hole count (as 0 / 1 / 2+ flags), holes in the upper and the lower part, the largest's size and place."""
    holes = _holes(binary)
    count = min(len(holes), 2)
    upper = sum(1 for _, _, y in holes if y < 12)  # the frame's rows; a 0's hole is in neither part
    lower = sum(1 for _, _, y in holes if y > 16)
    largest = holes[0] if holes else (0.0, 14.0, 14.0)
    return [count == 0, count == 1, count == 2, min(upper, 1), min(lower, 1),
            min(largest[0] / 40.0, 1.0), (largest[1] - 14.0) / 14.0, (largest[2] - 14.0) / 14.0]


def skeleton_features(binary: np.ndarray) -> list[float]:
    """Stroke ends: how many, and how many in each third of the digit's height and in the left,
    middle and right of the frame (the digit is centred, and a 1 is narrow);
    junctions (where three strokes meet): how many, in the upper and the lower half."""
    skeleton = _prune(thin(binary))
    codes = _neighbour_code(skeleton)
    ends = np.argwhere(skeleton & (NEIGHBOURS[codes] == 1))
    junction_mask = (skeleton & (CROSSINGS[codes] >= 3)).astype(np.uint8)
    count, _, _, centres = cv2.connectedComponentsWithStats(junction_mask, connectivity=8)
    junctions = centres[1:]
    ys = np.nonzero(skeleton)[0]
    top, height = (ys.min(), max(ys.max() - ys.min(), 1)) if len(ys) else (0, 28)
    rows = np.clip(((ends[:, 0] - top) * 3) // (height + 1), 0, 2)
    cols = (ends[:, 1] > 11).astype(int) + (ends[:, 1] > 16)
    grid = np.zeros((3, 3))
    np.add.at(grid, (rows, cols), 1)
    upper_junctions = sum(1 for _, y in junctions if y < top + height / 2)
    return [min(len(ends), 4) / 4.0, *np.minimum(grid, 2).ravel() / 2.0, min(len(junctions), 3) / 3.0,
            min(upper_junctions, 2) / 2.0, min(len(junctions) - upper_junctions, 2) / 2.0]


def topology(image: np.ndarray) -> np.ndarray:
    """All topology features of one 28x28 digit with ink in 0..1."""
    values = []
    for threshold in HOLE_THRESHOLDS:
        values += hole_features(image > threshold)
    values += skeleton_features(image > SKELETON_THRESHOLD)
    return np.asarray(values, np.float32)


class Topology(TransformerMixin, BaseEstimator):
    """Topology features of deskewed digits (n, 784 in 0..1), times weight."""

    n_features = len(topology(np.zeros((28, 28), np.float32)))  # as many for every digit: counted on a blank one

    def __init__(self, weight: float = 1.0):
        self.weight = weight

    def fit(self, X, y=None):
        return self

    def __sklearn_is_fitted__(self) -> bool:
        return True  # nothing to learn: a pipeline holding it is fitted when its other steps are

    def transform(self, X) -> np.ndarray:
        images = np.asarray(X, dtype=np.float32).reshape(-1, 28, 28)
        return self.weight * np.stack([topology(image) for image in images])
