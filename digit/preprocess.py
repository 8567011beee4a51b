"""Turn any picture of a digit into the 28x28 image the jury reads.

The recipe is the one MNIST was made with: crop to the ink, scale the longer side
to 20 px keeping the aspect, pad to 28x28 and put the centre of mass in the middle.
Before that we undo what real inputs add: transparency, colour, inverted polarity,
uneven light, paper texture and specks. App, CLI and training all call `normalize`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import cv2
import numpy as np

from digit.reading.images import ImageInput, NoDigit, Picture, load_image, read_picture

WORK_SIZE = 256  # the long side we work at: as accurate as 320 on sketches and photos (validation), cheaper
MIN_CONTRAST = 40  # ink must differ from the paper by this much (0-255) to count
SPECK_FRACTION = 0.08  # blobs smaller than this share of the largest blob are noise
MIN_SEPARATION = 4.5  # ink vs background, in background standard deviations (noise: ~3)
PIECE_HEIGHT = 0.45  # a group shorter than this share of the tallest is part of a digit
MAX_BLOBS = 24  # more separate pieces of ink than this is texture or noise, not writing

NOISE_MESSAGE = "no clear digit: the image looks like noise or texture, not ink on a background"

TOUCHING_MESSAGE = "this looks like several touching digits: leave a gap between digits to read a number"
WIDE_RATIO = 1.25  # wider than this times the height: hardly one digit (3 % of MNIST are)

NO_INK_MESSAGE = "no ink found: draw a digit or upload a picture of one"

@dataclass(frozen=True)
class Normalized:
    """A digit as the jury sees it, with what we learned on the way."""

    pixels: np.ndarray  # 28x28 uint8, white ink on black, like MNIST
    blobs: int  # connected ink regions kept after dropping specks
    bbox: tuple[int, int, int, int]  # x, y, width, height of the ink in the input's pixels (a file's, upright)
    warning: str = ""  # a doubt about the reading, for people (e.g. touching digits)
    parts: list[np.ndarray] = field(default_factory=list)  # 28x28 per digit, left to right, when several


def _downscale(grey: np.ndarray) -> tuple[np.ndarray, float]:
    height, width = grey.shape
    scale = min(1.0, WORK_SIZE / max(height, width))
    if scale < 1.0:
        size = (max(1, round(width * scale)), max(1, round(height * scale)))
        # Exact halvings first: OpenCV averages 2x2 blocks ~25x faster than an odd ratio.
        while grey.shape[0] >= 2 * size[1] and grey.shape[1] >= 2 * size[0]:
            even = grey[:grey.shape[0] // 2 * 2, :grey.shape[1] // 2 * 2]
            grey = cv2.resize(even, (even.shape[1] // 2, even.shape[0] // 2), interpolation=cv2.INTER_AREA)
        grey = cv2.resize(grey, size, interpolation=cv2.INTER_AREA)
    return grey, scale


def _ink_layer(grey: np.ndarray) -> np.ndarray:
    """Ink as bright on a flat black background, whatever the paper and the light."""
    # The paper is the majority of pixels (the median); the ink is the extreme farthest from
    # it. Extremes of a blurred copy: a digit may cover far less than 1 % of a large canvas.
    smooth = cv2.blur(grey, (3, 3))
    paper = float(np.median(grey))
    if paper - float(smooth.min()) > float(smooth.max()) - paper:  # dark ink on light paper
        grey = 255.0 - grey
    # Estimate the paper's brightness at a coarse scale: an opening removes the strokes
    # (thinner than the kernel) and keeps slow changes of light and tinted paper.
    height, width = grey.shape
    small_scale = min(1.0, 48 / max(height, width))
    small = cv2.resize(grey, (max(1, round(width * small_scale)), max(1, round(height * small_scale))),
                       interpolation=cv2.INTER_AREA)
    side = max(3, (max(small.shape) // 3) | 1)
    kernel = cv2.getStructuringElement(cv2.MORPH_RECT, (side, side))
    paper = cv2.morphologyEx(small, cv2.MORPH_OPEN, kernel, borderType=cv2.BORDER_REPLICATE)
    paper = cv2.blur(paper, (3, 3))
    paper = cv2.resize(paper, (width, height), interpolation=cv2.INTER_LINEAR)
    return np.clip(grey - paper, 0, 255)


def ink_components(ink: np.ndarray) -> tuple[np.ndarray, np.ndarray, list[int]]:
    """Threshold the ink layer (Otsu) and return labels, stats and the ids of real blobs."""
    ink8 = ink.astype(np.uint8)
    _, mask = cv2.threshold(ink8, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    count, labels, stats, _ = cv2.connectedComponentsWithStats(mask, connectivity=8)
    areas = stats[1:, cv2.CC_STAT_AREA]
    if len(areas) == 0:
        return labels, stats, []
    largest = areas.max()
    keep = [i + 1 for i, area in enumerate(areas) if area >= SPECK_FRACTION * largest and area >= 2]
    return labels, stats, keep


def _stands_out(ink: np.ndarray) -> bool:
    """Does the ink exceed the background by several background spreads?

    Measured on a blurred copy: blur averages pixel noise away but keeps strokes, so
    strokes score 5 to 30 and pure noise about 3.
    """
    blurred = cv2.GaussianBlur(ink, (0, 0), 1.5)
    _, mask = cv2.threshold(blurred.astype(np.uint8), 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    inked = cv2.countNonZero(mask)
    if inked == 0 or inked == mask.size:
        return False
    ink_mean = cv2.mean(blurred, mask=mask)[0]
    background_mean, background_std = (v[0, 0] for v in cv2.meanStdDev(blurred, mask=cv2.bitwise_not(mask)))
    return ink_mean - background_mean > MIN_SEPARATION * (background_std + 1e-3)


def to_mnist(ink: np.ndarray) -> np.ndarray:
    """Crop of bright ink -> 28x28: longer side 20 px, centre of mass in the middle."""
    height, width = ink.shape
    scale = 20.0 / max(height, width)
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    interpolation = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
    small = cv2.resize(ink, size, interpolation=interpolation)
    canvas = np.zeros((28, 28), np.float32)
    top, left = (28 - size[1]) // 2, (28 - size[0]) // 2
    canvas[top:top + size[1], left:left + size[0]] = small
    moments = cv2.moments(canvas)
    if moments["m00"] > 0:
        shift_x = 14.0 - moments["m10"] / moments["m00"]
        shift_y = 14.0 - moments["m01"] / moments["m00"]
        matrix = np.float32([[1, 0, shift_x], [0, 1, shift_y]])
        canvas = cv2.warpAffine(canvas, matrix, (28, 28), flags=cv2.INTER_LINEAR)
    return np.clip(np.rint(canvas), 0, 255).astype(np.uint8)


def normalize(source: ImageInput) -> Normalized:
    """Any image of one digit -> the normalised 28x28 digit and diagnostics.

    Raises BadImage for inputs that are not images, and its kind NoDigit for images
    without a digit (an empty canvas, a white page, pure noise): one way to say "no digit".
    A file, bytes or PIL image is decoded here (read_picture); pass a Picture to decode once
    and use it again (the app stores what it read in the feedback dataset).
    """
    if not isinstance(source, (np.ndarray, Picture)):
        source = read_picture(source)
    grey = load_image(source)
    shrunk = source.scale if isinstance(source, Picture) else 1.0  # original pixels per pixel read
    if min(source.original_size if isinstance(source, Picture) else grey.shape[:2]) < 2:
        raise NoDigit("the image is too small to hold a digit")
    grey, scale = _downscale(grey)
    ink = _ink_layer(grey.astype(np.float32))
    peak = float(cv2.blur(ink, (3, 3)).max())  # a lone bright pixel is diluted, a stroke is not
    if peak < MIN_CONTRAST:
        raise NoDigit(NO_INK_MESSAGE)
    if not _stands_out(ink):
        raise NoDigit(NOISE_MESSAGE)
    labels, stats, keep = ink_components(ink)
    if not keep:
        raise NoDigit(NO_INK_MESSAGE)
    kept_mask = np.isin(labels, keep)
    if kept_mask.mean() > 0.45 or len(keep) > MAX_BLOBS:
        raise NoDigit(NOISE_MESSAGE)
    pixels, (x0, y0, x1, y1) = _digit_from(ink, kept_mask)
    groups = digit_groups(stats, keep)
    parts = [_digit_from(ink, np.isin(labels, group))[0] for group in groups] if len(groups) > 1 else []
    to_input = shrunk / scale
    bbox = (int(x0 * to_input), int(y0 * to_input), int((x1 - x0) * to_input), int((y1 - y0) * to_input))
    # One digit is rarely much wider than tall; one such ink mass is likely touching digits.
    warning = TOUCHING_MESSAGE if not parts and (x1 - x0) > WIDE_RATIO * (y1 - y0) else ""
    return Normalized(pixels, len(keep), bbox, warning, parts)


def _digit_from(ink: np.ndarray, mask: np.ndarray) -> tuple[np.ndarray, tuple[int, int, int, int]]:
    """The 28x28 digit made of the ink under mask, and the mask's box (x0, y0, x1, y1)."""
    x0, y0, width, height = cv2.boundingRect(mask.view(np.uint8))
    x1, y1 = x0 + width, y0 + height
    inside = mask[y0:y1, x0:x1]
    # Keep the anti-aliased edge of kept strokes, drop everything else (specks, paper grain).
    near = cv2.dilate(inside.view(np.uint8), np.ones((3, 3), np.uint8)).astype(bool)
    crop = np.where(near, ink[y0:y1, x0:x1], 0)
    strong = crop[inside]
    level = float(np.percentile(strong, 90)) if strong.size else 255.0
    crop = np.clip(crop * (255.0 / max(level, 1.0)), 0, 255).astype(np.float32)
    return to_mnist(crop), (int(x0), int(y0), int(x1), int(y1))


def digit_groups(stats: np.ndarray, keep: list[int]) -> list[list[int]]:
    """Blobs grouped into digits, left to right.

    Blobs that overlap horizontally (by a quarter of the narrower), or that do not stand side
    by side (sharing under half their rows, like a 5's detached bar), are one digit; a group
    much shorter than the tallest is a piece (a detached stroke), not a digit, and
    joins its nearest neighbour.
    """
    x, w, y, h = cv2.CC_STAT_LEFT, cv2.CC_STAT_WIDTH, cv2.CC_STAT_TOP, cv2.CC_STAT_HEIGHT
    groups: list[dict] = []
    for blob in sorted(keep, key=lambda i: stats[i, x]):
        left, right = stats[blob, x], stats[blob, x] + stats[blob, w]
        top, bottom = stats[blob, y], stats[blob, y] + stats[blob, h]
        if groups:
            last = groups[-1]
            overlap = last["right"] - left
            beside = min(last["bottom"], bottom) - max(last["top"], top)  # shared rows
            if (overlap >= 0.25 * min(stats[blob, w], last["right"] - last["left"])
                    or beside < 0.5 * min(bottom - top, last["bottom"] - last["top"])):
                last["blobs"].append(blob)
                last.update(right=max(last["right"], right), top=min(last["top"], top),
                            bottom=max(last["bottom"], bottom))
                continue
        groups.append({"blobs": [blob], "left": left, "right": right, "top": top, "bottom": bottom})
    tallest = max(g["bottom"] - g["top"] for g in groups)
    while len(groups) > 1:
        heights = [g["bottom"] - g["top"] for g in groups]
        small = int(np.argmin(heights))
        if heights[small] >= PIECE_HEIGHT * tallest:
            break
        piece = groups.pop(small)
        centre = (piece["left"] + piece["right"]) / 2
        nearest = min(groups, key=lambda g: abs((g["left"] + g["right"]) / 2 - centre))
        nearest["blobs"] += piece["blobs"]
        nearest.update(left=min(nearest["left"], piece["left"]), right=max(nearest["right"], piece["right"]),
                       top=min(nearest["top"], piece["top"]), bottom=max(nearest["bottom"], piece["bottom"]))
    return [group["blobs"] for group in groups]
