"""Feature steps of the jury, as scikit-learn transformers on flat 28x28 images (n, 784)."""

from __future__ import annotations

import cv2
import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted


def skew(image: np.ndarray) -> float | None:
    """How a 28x28 digit's main axis leans (mu11 / mu02 of its second-order moments); None for a
    digit with no height to lean over."""
    moments = cv2.moments(image)
    return None if abs(moments["mu02"]) < 1e-2 else moments["mu11"] / moments["mu02"]


def deskew(image: np.ndarray) -> np.ndarray:
    """Shear a 28x28 digit so that its main axis is vertical (second-order moments)."""
    leaning = skew(image)
    if leaning is None:
        return image.copy()
    matrix = np.float32([[1, leaning, -0.5 * 28 * leaning], [0, 1, 0]])
    return cv2.warpAffine(image, matrix, (28, 28), flags=cv2.WARP_INVERSE_MAP | cv2.INTER_LINEAR)


class Deskew(TransformerMixin, BaseEstimator):
    """Deskew each digit and scale pixels to [0, 1]."""

    def fit(self, X, y=None):
        return self

    def transform(self, X) -> np.ndarray:
        images = np.asarray(X, dtype=np.float32).reshape(-1, 28, 28)
        return np.stack([deskew(image) for image in images]).reshape(len(images), -1) / 255.0


class Slant(TransformerMixin, BaseEstimator):
    """The lean Deskew takes away, times weight: one column. Upright, a 7's slanting stem looks
    like a 1 with a long, nearly level flag; the lean tells them apart (issue 21)."""

    def __init__(self, weight: float = 1.0):
        self.weight = weight

    def fit(self, X, y=None):
        return self

    def __sklearn_is_fitted__(self) -> bool:
        return True  # nothing to learn

    def transform(self, X) -> np.ndarray:
        images = np.asarray(X, dtype=np.float32).reshape(-1, 28, 28)
        return self.weight * np.array([[skew(image) or 0.0] for image in images], np.float32)


class Columns(TransformerMixin, BaseEstimator):
    """The columns from start on (a juror's share of the front's output). unit_variance: scale
    them so that the first `reference` of them (all if None) have unit variance overall, so
    that an RBF kernel's gamma is a plain number and later columns keep their weight."""

    def __init__(self, start: int = 0, unit_variance: bool = False, reference: int | None = None):
        self.start = start
        self.unit_variance = unit_variance
        self.reference = reference

    def fit(self, X, y=None):
        end = None if self.reference is None else self.start + self.reference
        self.scale_ = 1.0 / float(np.std(X[:, self.start:end])) if self.unit_variance else 1.0
        return self

    def transform(self, X) -> np.ndarray:
        check_is_fitted(self)
        return X[:, self.start:] * self.scale_ if self.unit_variance else X[:, self.start:]


def _one_hot(indices: np.ndarray, bins: int) -> np.ndarray:
    return (indices[..., None] == np.arange(bins)).astype(np.float32)


class GradientDirections(TransformerMixin, BaseEstimator):
    """Gradient direction features in the manner of Liu et al. ("Handwritten digit recognition:
    benchmarking of state-of-the-art techniques", 2003): each pixel's Sobel gradient is split
    between its two neighbouring of `directions` evenly spaced directions (parallelogram rule),
    each direction plane is blurred by a Gaussian and sampled on a grid x grid lattice, and the
    samples are raised to `power` (variable transformation: 0.5 makes them closer to Gaussian).

    Input: flat 28x28 digits in 0..1 (after Deskew); output (n, directions * grid * grid).
    """

    def __init__(self, directions: int = 12, grid: int = 7, power: float = 0.5):
        self.directions = directions
        self.grid = grid
        self.power = power

    @property
    def n_features(self) -> int:
        """Columns of the output: a grid x grid sample of each direction plane."""
        return self.directions * self.grid * self.grid

    def fit(self, X, y=None):
        return self

    def __sklearn_is_fitted__(self) -> bool:
        return True  # nothing to learn

    def transform(self, X) -> np.ndarray:
        X = np.asarray(X, dtype=np.float32)
        return np.concatenate([gradient_directions(X[i:i + 4096], self.directions, self.grid, self.power)
                               for i in range(0, len(X), 4096)])


def gradient_directions(images: np.ndarray, directions: int, grid: int, power: float) -> np.ndarray:
    n = len(images)
    size = 32  # 2 zero pixels around each digit: Sobel does not bleed between stacked digits
    stacked = np.zeros((n, size, size), np.float32)
    stacked[:, 2:-2, 2:-2] = images.reshape(n, 28, 28)
    tall = stacked.reshape(-1, size)
    gx = cv2.Sobel(tall, cv2.CV_32F, 1, 0, ksize=3).reshape(stacked.shape)
    gy = cv2.Sobel(tall, cv2.CV_32F, 0, 1, ksize=3).reshape(stacked.shape)
    magnitude = np.hypot(gx, gy)
    step = 2 * np.pi / directions
    position = (np.arctan2(gy, gx) % (2 * np.pi)) / step
    lower = np.floor(position).astype(np.int64) % directions
    share = position - np.floor(position)
    planes = np.zeros((n, directions, size, size), np.float32)
    np.put_along_axis(planes, lower[:, None], (magnitude * (np.sin((1 - share) * step) / np.sin(step)))[:, None], axis=1)
    planes += _one_hot((lower + 1) % directions, directions).transpose(0, 3, 1, 2) * (
        magnitude * (np.sin(share * step) / np.sin(step)))[:, None]
    sampling = _gaussian_sampling(grid, size)
    out = np.maximum((sampling @ planes @ sampling.T).reshape(n, -1), 0)
    return np.power(out, power) if power != 1 else out


def _gaussian_sampling(grid: int, size: int, margin: int = 2) -> np.ndarray:
    """(grid, size): row g blurs with a Gaussian (sigma 0.7 spacing) and samples at grid point g."""
    spacing = 28 / grid
    centres = np.rint(margin + spacing * (np.arange(grid) + 0.5) - 0.5)
    sigma = 0.7 * spacing
    offsets = np.arange(size)[None, :] - centres[:, None]
    return (np.exp(-offsets ** 2 / (2 * sigma ** 2)) / (np.sqrt(2 * np.pi) * sigma)).astype(np.float32)
