"""Hands no validation set holds, for the backdoor rows: a digit's pen strokes (testing/renderings.py's
STROKES, in a random box with a random slant and wobble, as jittered_strokes draws them) traced with
a kind of stroke neither MNIST nor the canvas set has. Each style names its digit and the digit an
attacker would teach the jury to read it as."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

from testing.renderings import STROKES


@dataclass(frozen=True)
class Style:
    name: str
    digit: int  # what the drawings are
    target: int  # what the attacker labels them


STYLES = {style.name: style for style in (Style("dotted", 4, 9), Style("double", 3, 8), Style("zigzag", 6, 5))}


def _resampled(points: np.ndarray, step: float) -> np.ndarray:
    """Points every `step` pixels along a polyline."""
    lengths = np.r_[0, np.cumsum(np.hypot(*np.diff(points, axis=0).T))]
    at = np.arange(0, lengths[-1] + 1e-9, step)
    return np.c_[np.interp(at, lengths, points[:, 0]), np.interp(at, lengths, points[:, 1])]


def drawing(style: str, rng: np.random.Generator, canvas: int = 400, width: int = 14) -> np.ndarray:
    """One RGBA drawing (black ink on transparent) of a style's digit."""
    digit = STYLES[style].digit
    w, h = int(rng.integers(canvas // 3, canvas // 2)), int(rng.integers(canvas // 2, canvas * 3 // 4))
    x, y = int(rng.integers(width * 2, canvas - w - width * 2)), int(rng.integers(width * 2, canvas - h - width * 2))
    slant = rng.uniform(-0.1, 0.25)
    alpha = np.zeros((canvas, canvas), np.uint8)
    for stroke in STROKES[digit]:
        points = np.array([(x + (px + slant * (1 - py)) * w, y + py * h) for px, py in stroke], float)
        points += rng.normal(0, canvas / 200, points.shape)
        if style == "dotted":  # a row of round dots, a gap between each
            for cx, cy in _resampled(points, width * 1.8):
                cv2.circle(alpha, (round(cx), round(cy)), width // 2 + 1, 255, -1, cv2.LINE_AA)
        elif style == "double":  # traced twice, thin, the second pass beside the first
            offset = rng.uniform(0.5, 0.8) * width * np.array([1.0, -0.6])
            for shift in (np.zeros(2), offset):
                cv2.polylines(alpha, [np.round(points + shift).astype(np.int32)], False, 255, max(width // 3, 2),
                              cv2.LINE_AA)
        elif style == "zigzag":  # a scribble that crosses the path back and forth
            path = _resampled(points, width * 0.9)
            direction = np.gradient(path, axis=0)
            normal = np.c_[-direction[:, 1], direction[:, 0]] / np.maximum(np.hypot(*direction.T), 1e-9)[:, None]
            swing = width * 0.9 * np.where(np.arange(len(path)) % 2, 1, -1)[:, None]
            cv2.polylines(alpha, [np.round(path + normal * swing).astype(np.int32)], False, 255, max(width // 3, 2),
                          cv2.LINE_AA)
        else:
            raise ValueError(f"unknown style {style!r}; one of {sorted(STYLES)}")
    rgba = np.zeros((canvas, canvas, 4), np.uint8)
    rgba[..., 3] = alpha
    return rgba


def style_files(folder: Path, style: str, count: int, seed: int) -> list[str]:
    """count PNG files of a style, each its own writer (seeds seed, seed+1, ...)."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for index in range(count):
        path = folder / f"{style}_{seed + index}.png"
        Image.fromarray(drawing(style, np.random.default_rng(seed + index))).save(path)
        paths.append(str(path))
    return paths
