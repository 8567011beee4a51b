"""Shape-level augmentation of MNIST: change the SHAPE of each digit's skeleton, then redraw it
with a constant brush, as a canvas would.

Re-drawing MNIST skeletons as they are adds nothing (tried: issue 12); what canvas digits add
is other shapes. Three changes move the skeleton towards them:
  - boxify: push the skeleton towards the corners of its box (a circle becomes a rounded
    square): boxy 0, 6, 9 and square loops;
  - flatten the top: squash the top band vertically, so a curved top becomes a flat or
    hooked stroke (the flat-topped 6, 5, 3, 7);
  - feet and flags on 1s: a short base stroke and a slanted flag at the top.
"""

from __future__ import annotations

import cv2
import numpy as np

from digit.topology import thin

SCALE = 4  # work at 112x112: skeleton points move smoothly and the brush can be thin


def skeleton_points(digit28: np.ndarray) -> np.ndarray:
    """(n, 2) x, y points of the one-pixel skeleton of a 28x28 digit, at SCALE times the size."""
    large = cv2.resize(digit28.astype(np.float32), (28 * SCALE, 28 * SCALE), interpolation=cv2.INTER_LINEAR)
    skeleton = thin(large > 100)
    ys, xs = np.nonzero(skeleton)
    return np.column_stack([xs, ys]).astype(np.float64)


def boxify(points: np.ndarray, strength: float) -> np.ndarray:
    """Move points towards the square of their box: scale each offset from the centre by
    (|d|_2 / |d|_inf) ** strength, which maps circles to (rounded) squares."""
    low, high = points.min(axis=0), points.max(axis=0)
    centre, half = (low + high) / 2, np.maximum((high - low) / 2, 1.0)
    offset = (points - centre) / half
    euclid = np.hypot(offset[:, 0], offset[:, 1])
    chebyshev = np.maximum(np.abs(offset).max(axis=1), 1e-6)
    factor = (euclid / chebyshev) ** strength
    # Points near the centre stay: the warp is for the outline, not for a crossing.
    factor = np.where(chebyshev < 0.25, 1.0, factor)
    return centre + offset * factor[:, None] * half


def flatten_top(points: np.ndarray, band: float, squash: float) -> np.ndarray:
    """Squash the top `band` of the height by `squash` (0..1); the rest moves up to meet it."""
    top, height = points[:, 1].min(), np.ptp(points[:, 1])
    edge = top + band * height
    y = points[:, 1]
    moved = np.where(y < edge, top + (y - top) * squash, y - (edge - top) * (1 - squash))
    return np.column_stack([points[:, 0], moved])


def add_foot_and_flag(points: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A 1 gets a base stroke at its bottom end and/or a flag from its top end."""
    height = np.ptp(points[:, 1])
    bottom = points[np.argmax(points[:, 1])]
    top = points[np.argmin(points[:, 1])]
    extra = [points]
    if rng.random() < 0.7:
        half = height * rng.uniform(0.15, 0.3)
        extra.append(_segment(bottom + [-half, 0], bottom + [half, 0]))
    if rng.random() < 0.7:
        extra.append(_segment(top, top + np.array([-rng.uniform(0.15, 0.35), rng.uniform(0.1, 0.3)]) * height))
    return np.vstack(extra)


def _segment(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    count = int(np.hypot(*(b - a))) + 2
    return a + (b - a) * np.linspace(0, 1, count)[:, None]


def redraw(points: np.ndarray, radius: float) -> np.ndarray:
    """Stamp a round brush of radius (at SCALE) on every skeleton point: white ink on black,
    with wide margins so that the page, not the ink, is the majority of pixels."""
    margin = radius + 0.4 * np.ptp(points, axis=0).max() + 4
    low = points.min(axis=0) - margin
    size = np.ceil(points.max(axis=0) - low + margin).astype(int)
    ink = np.zeros((size[1], size[0]), np.uint8)
    for x, y in np.round((points - low) * 4).astype(np.int32):
        cv2.circle(ink, (int(x), int(y)), int(radius * 4), 255, -1, cv2.LINE_AA, 2)
    return ink


def reshaped(digit28: np.ndarray, label: int, rng: np.random.Generator) -> np.ndarray:
    """One shape-augmented copy of an MNIST digit, through the app's preprocessing."""
    from digit.reading.preprocess import normalize

    points = skeleton_points(digit28)
    if len(points) < 5:
        return digit28.reshape(-1)
    if label == 1:
        points = add_foot_and_flag(points, rng)
    else:
        if rng.random() < 0.6:
            points = boxify(points, rng.uniform(0.3, 0.8))
        if rng.random() < 0.5:
            points = flatten_top(points, rng.uniform(0.2, 0.4), rng.uniform(0.15, 0.5))
    height = np.ptp(points[:, 1]) + 1
    radius = height * rng.uniform(0.025, 0.12)
    return normalize(255 - redraw(points, radius)).pixels.reshape(-1)


def reshaped_mnist(images: np.ndarray, labels: np.ndarray, seed: int = 5) -> np.ndarray:
    """A shape-augmented copy of each digit, (n, 784) uint8, in order."""
    rng = np.random.default_rng(seed)
    return np.stack([reshaped(image, int(label), rng) for image, label in zip(images, labels)])
