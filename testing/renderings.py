"""Realistic inputs made here: MNIST digits rendered as people send them, and pen strokes.

Nothing is downloaded or committed: every image is generated from MNIST arrays or from
the stroke paths below, with a seeded random generator so that runs repeat.
"""

from __future__ import annotations

import io
from pathlib import Path

import cv2
import numpy as np
from PIL import Image


def _place(digit28: np.ndarray, canvas: int, size: int, rng: np.random.Generator,
           rotation: float = 0.0) -> np.ndarray:
    """An MNIST digit (white on black) enlarged to size px at a random spot of a canvas."""
    ink = cv2.resize(digit28.astype(np.float32), (size, size), interpolation=cv2.INTER_CUBIC)
    if rotation:
        matrix = cv2.getRotationMatrix2D((size / 2, size / 2), rotation, 1.0)
        ink = cv2.warpAffine(ink, matrix, (size, size))
    layer = np.zeros((canvas, canvas), np.float32)
    top, left = rng.integers(0, canvas - size + 1, size=2)
    layer[top:top + size, left:left + size] = ink
    return np.clip(layer, 0, 255)


def sketch_from_mnist(digit28: np.ndarray, rng: np.random.Generator, canvas: int = 800) -> np.ndarray:
    """Like gr.Sketchpad's composite: RGBA, transparent background, any brush colour.

    The colour under fully transparent pixels is random, as browsers leave it arbitrary.
    """
    size = int(rng.integers(canvas // 6, canvas * 9 // 10))
    layer = _place(digit28, canvas, size, rng, rotation=float(rng.uniform(-8, 8)))
    width = int(rng.integers(0, size // 90 + 1))  # thin to thick strokes, in proportion to the size
    if width:
        kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * width + 1,) * 2)
        layer = cv2.dilate(layer, kernel) if rng.random() < 0.5 else cv2.erode(layer, kernel)
    alpha = np.clip(layer * 1.6, 0, 255).astype(np.uint8)
    brush = rng.integers(0, 160, size=3)  # any dark-ish brush colour
    rgb = rng.integers(0, 256, size=(canvas, canvas, 3))  # arbitrary colour under alpha 0
    rgb[alpha > 0] = brush
    return np.dstack([rgb, alpha]).astype(np.uint8)


def photo_from_mnist(digit28: np.ndarray, rng: np.random.Generator, canvas: int = 480) -> bytes:
    """Dark ink photographed on paper: uneven light, tint, noise, blur; returned as JPEG bytes."""
    size = int(rng.integers(canvas // 3, canvas * 4 // 5))
    return photo_of(_place(digit28, canvas, size, rng, rotation=float(rng.uniform(-5, 5))) / 255.0, rng)


def photo_of(ink: np.ndarray, rng: np.random.Generator) -> bytes:
    """Photograph an ink layer (0..1, square) on paper; returns JPEG bytes."""
    canvas = ink.shape[0]
    ys, xs = np.mgrid[0:canvas, 0:canvas] / canvas
    angle = rng.uniform(0, 2 * np.pi)
    light = 1.0 - rng.uniform(0.2, 0.5) * np.clip(np.cos(angle) * xs + np.sin(angle) * ys, 0, 1)  # a lamp on one side
    paper = rng.uniform(170, 235) * light
    ink_level = rng.uniform(20, 70)
    grey = paper * (1 - ink) + ink_level * ink
    grey = cv2.GaussianBlur(grey.astype(np.float32), (0, 0), rng.uniform(0.5, 1.5))
    grey = grey + rng.normal(0, rng.uniform(2, 8), grey.shape)
    tint = rng.uniform(0.85, 1.0, size=3)
    rgb = np.clip(grey[..., None] * tint, 0, 255).astype(np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(rgb).save(buffer, format="JPEG", quality=int(rng.integers(50, 90)))
    return buffer.getvalue()


def light_on_dark(digit28: np.ndarray, rng: np.random.Generator, canvas: int = 300) -> np.ndarray:
    """A light digit on a dark, slightly noisy background (a chalkboard, a dark-mode screenshot)."""
    size = int(rng.integers(canvas // 3, canvas * 9 // 10))
    ink = _place(digit28, canvas, size, rng) / 255.0
    background = rng.uniform(0, 60)
    grey = background * (1 - ink) + rng.uniform(190, 255) * ink + rng.normal(0, 4, ink.shape)
    return np.clip(grey, 0, 255).astype(np.uint8)


# Pen strokes of each digit in a unit box (x right, y down), as a person would draw them.
def _arc(cx: float, cy: float, rx: float, ry: float, start: float, end: float, points: int = 24) -> list:
    angles = np.radians(np.linspace(start, end, points))
    return list(zip(cx + rx * np.cos(angles), cy + ry * np.sin(angles)))


STROKES: dict[int, list[list[tuple[float, float]]]] = {
    0: [_arc(0.5, 0.5, 0.3, 0.45, -90, 270, 40)],
    1: [[(0.35, 0.2), (0.55, 0.05), (0.55, 0.95)]],
    2: [_arc(0.5, 0.3, 0.3, 0.25, 200, 380) + [(0.15, 0.95), (0.85, 0.95)]],
    3: [_arc(0.48, 0.27, 0.3, 0.22, 200, 450) + _arc(0.48, 0.72, 0.33, 0.23, 270, 520)[1:]],
    4: [[(0.6, 0.95), (0.6, 0.05), (0.12, 0.65), (0.88, 0.65)]],
    5: [[(0.8, 0.05), (0.28, 0.05), (0.24, 0.45)] + _arc(0.48, 0.66, 0.32, 0.28, 225, 505)[1:]],
    6: [[(0.72, 0.06)] + _arc(0.5, 0.68, 0.3, 0.28, 200, 560)],
    7: [[(0.12, 0.06), (0.88, 0.06), (0.4, 0.95)]],
    8: [_arc(0.5, 0.28, 0.25, 0.22, 90, 450) + _arc(0.5, 0.73, 0.3, 0.23, -90, 270)],
    9: [_arc(0.5, 0.3, 0.28, 0.25, 0, 360) + [(0.78, 0.3), (0.72, 0.95)]],
}


def flagged_one(lowered: float) -> list[list[tuple[float, float]]]:
    """Between a 7 and a 1: a level bar (lowered 0) turned into a short steep flag (lowered 1) on an
    upright stem; the unsure tests look for where the jury's reading turns from 7 to 1."""
    return [[(0.1 + 0.3 * lowered, 0.05 + 0.36 * lowered), (0.6, 0.05), (0.6, 0.95)]]


def draw_strokes(digit: int, canvas: tuple[int, int] = (400, 400), box: tuple[int, int, int, int] | None = None,
                 width: int = 16, colour: tuple[int, int, int] = (0, 0, 0), slant: float = 0.0) -> np.ndarray:
    """Draw a digit's pen strokes on a transparent RGBA canvas, as the Sketchpad would send it.

    box is (x, y, width, height) of the digit on the canvas; slant shears it to the right.
    """
    height_px, width_px = canvas[1], canvas[0]
    x, y, w, h = box or (width_px // 4, height_px // 8, width_px // 2, height_px * 3 // 4)
    alpha = np.zeros((height_px, width_px), np.uint8)
    for stroke in STROKES[digit]:
        points = np.array([(x + (px + slant * (1 - py)) * w, y + py * h) for px, py in stroke])
        cv2.polylines(alpha, [np.round(points).astype(np.int32)], False, 255, width, cv2.LINE_AA)
    rgb = np.zeros((height_px, width_px, 3), np.uint8)
    rgb[:] = colour
    return np.dstack([rgb, alpha])


def stroke_paths(digit: int, box: tuple[int, int, int, int]) -> list[list[tuple[int, int]]]:
    """The same strokes as pixel paths in box, for driving a mouse in a browser."""
    x, y, w, h = box
    return [[(round(x + px * w), round(y + py * h)) for px, py in stroke] for stroke in STROKES[digit]]


def pad_strokes(digit: int, box: tuple[int, int, int, int] = (200, 50, 200, 300),
                ms_per_point: int = 16) -> list[list[list[int]]]:
    """The same strokes as the drawing pad sends them (digit/reading/pad.py): per stroke [[x...], [y...], [t...]]
    in pad pixels, a point every ms_per_point and a pause between strokes."""
    strokes, now = [], 0
    for path in stroke_paths(digit, box):
        times = [now + index * ms_per_point for index in range(len(path))]
        strokes.append([[x for x, _ in path], [y for _, y in path], times])
        now = times[-1] + 10 * ms_per_point
    return strokes


def jittered_strokes(digit: int, rng: np.random.Generator, canvas: int = 400, width: int = 16,
                     outline: bool = False) -> np.ndarray:
    """A fresh hand-drawn-looking digit: random box, slant, wobble; optionally only its outline.

    Outlined ("bubble") digits are a style MNIST lacks: the test of the feedback loop.
    """
    w = int(rng.integers(canvas // 3, canvas // 2))
    h = int(rng.integers(canvas // 2, canvas * 3 // 4))
    x = int(rng.integers(width, canvas - w - width))
    y = int(rng.integers(width, canvas - h - width))
    alpha = np.zeros((canvas, canvas), np.uint8)
    slant = rng.uniform(-0.1, 0.25)
    for stroke in STROKES[digit]:
        points = np.array([(x + (px + slant * (1 - py)) * w, y + py * h) for px, py in stroke])
        points += rng.normal(0, canvas / 200, points.shape)
        cv2.polylines(alpha, [np.round(points).astype(np.int32)], False, 255, width, cv2.LINE_AA)
    if outline:
        thick = cv2.dilate(alpha, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (width + 1,) * 2))
        alpha = cv2.subtract(thick, cv2.erode(thick, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (9, 9))))
    rgba = np.zeros((canvas, canvas, 4), np.uint8)
    rgba[..., 3] = alpha
    return rgba


def bubble_digits(folder: Path, count: int, seed: int) -> list[tuple[str, int]]:
    """PNG files of outlined ("bubble") digits, drawn as people do on posters and absent from
    MNIST: the style the feedback loop is tested and measured with. Returns (path, digit)."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    files = []
    for index in range(count):
        digit = index % 10
        path = folder / f"bubble_{seed}_{index}.png"
        Image.fromarray(jittered_strokes(digit, rng, width=44, outline=True)).save(path)
        files.append((str(path), digit))
    return files
