"""How a digit was drawn, as a fixed-length vector: the pen's path on the pad, not its pixels.

Strokes come as Quick, Draw!'s raw format: per stroke `[[x...], [y...], [t...]]` in pad pixels
(digit/reading/pad.py) and ms since the drawing began (the times are optional and not read: the order of
the points and of the strokes is what tells a 7 from a 1). The ink is resampled to POINTS points
equally spaced along the pen-down path (pen-up jumps cost nothing), in the ink's box with its
aspect kept, and described by

- where each point is (x, y, centred, the box's long side = 1),
- which way the pen goes there (cos, sin of the direction),
- how it turns (cos, sin of the change of direction; a new stroke turns by nothing),
- where a new stroke begins (1 at its first point),
- how many strokes (1, 2, 3, 4 or more), where the first one starts, where the last one ends,
  the first three strokes' ends, and the box's aspect.

A 7 goes right then down-left; a 1 with a long flag goes up-right then straight down: the
pixels of the two can be alike, their paths are not. One drawing takes ~0.1 ms.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

POINTS = 20  # resampled points along the ink
FIRST_STROKES = 3  # strokes whose two ends are described
MAX_STROKES = 64  # beyond these a drawing is not a digit (or not a person's)
MAX_EVENTS = 20_000  # points in all strokes together

RawStrokes = Sequence  # per stroke [[x...], [y...]] or [[x...], [y...], [t...]]
N_FEATURES = POINTS * 7 + 4 + 4 + 4 * FIRST_STROKES + 1


class BadStrokes(ValueError):
    """Strokes that are not a drawing we can read (not numbers, too many, nothing drawn)."""


def stroke_arrays(strokes: RawStrokes) -> list[np.ndarray]:
    """The strokes as (n, 2) float arrays of x, y; raises BadStrokes for anything else."""
    if not isinstance(strokes, (list, tuple)) or not strokes:
        raise BadStrokes("no strokes")
    if len(strokes) > MAX_STROKES:
        raise BadStrokes(f"{len(strokes)} strokes: at most {MAX_STROKES}")
    out, total = [], 0
    for stroke in strokes:
        try:
            x, y = np.asarray(stroke[0], float), np.asarray(stroke[1], float)
        except (TypeError, ValueError, IndexError, KeyError):
            raise BadStrokes("a stroke is not [[x...], [y...], [t...]]") from None
        if x.ndim != 1 or x.shape != y.shape or not len(x):
            raise BadStrokes("a stroke's x and y are not two lists of the same length")
        total += len(x)
        if total > MAX_EVENTS:
            raise BadStrokes(f"more than {MAX_EVENTS} points")
        points = np.column_stack([x, y])
        if not np.all(np.isfinite(points)):
            raise BadStrokes("a stroke holds a number that is not finite")
        out.append(points)
    return out


def stroke_features(strokes: RawStrokes) -> np.ndarray:
    """One drawing's N_FEATURES float32 features; raises BadStrokes when there is nothing to read."""
    paths = stroke_arrays(strokes)
    everything = np.vstack(paths)
    low, high = everything.min(axis=0), everything.max(axis=0)
    side = float(max(high - low))
    if side <= 0:
        raise BadStrokes("nothing drawn: every point is the same")
    centre = (low + high) / 2
    paths = [(p - centre) / side for p in paths]

    # Segments within strokes only: the pen-up jump between two strokes is no ink.
    starts = np.vstack([p[:-1] for p in paths if len(p) > 1] or [np.zeros((0, 2))])
    ends = np.vstack([p[1:] for p in paths if len(p) > 1] or [np.zeros((0, 2))])
    owner = np.concatenate([np.full(len(p) - 1, k) for k, p in enumerate(paths) if len(p) > 1] or [np.zeros(0, int)])
    lengths = np.hypot(*(ends - starts).T)
    keep = lengths > 0
    starts, ends, owner, lengths = starts[keep], ends[keep], owner[keep], lengths[keep]
    if not len(lengths):  # only dots
        raise BadStrokes("nothing drawn: only dots")
    reach = np.cumsum(lengths)
    at = (np.arange(POINTS) + 0.5) / POINTS * reach[-1]
    which = np.minimum(np.searchsorted(reach, at), len(lengths) - 1)
    share = np.clip((at - (reach[which] - lengths[which])) / lengths[which], 0, 1)[:, None]
    points = starts[which] + share * (ends[which] - starts[which])
    stroke_of = owner[which]

    # Directions by central differences along the resampled path, one-sided at a stroke's ends,
    # the segment's own where a stroke holds one resampled point.
    same_next = np.r_[stroke_of[1:] == stroke_of[:-1], False]
    same_prev = np.r_[False, stroke_of[1:] == stroke_of[:-1]]
    following = np.where(same_next[:, None], np.roll(points, -1, axis=0), points)
    preceding = np.where(same_prev[:, None], np.roll(points, 1, axis=0), points)
    step = following - preceding
    alone = ~(same_next | same_prev)
    step[alone] = (ends - starts)[which[alone]]
    direction = step / np.maximum(np.hypot(*step.T), 1e-9)[:, None]
    # The turn from one point's direction to the next within a stroke: cos and sin of the angle.
    cos_turn = np.r_[1.0, np.einsum("ij,ij->i", direction[1:], direction[:-1])]
    sin_turn = np.r_[0.0, direction[:-1, 0] * direction[1:, 1] - direction[:-1, 1] * direction[1:, 0]]
    cos_turn[~same_prev], sin_turn[~same_prev] = 1.0, 0.0
    begins = (~same_prev).astype(float)
    begins[0] = 0.0

    count = np.zeros(4)
    count[min(len(paths), 4) - 1] = 1.0
    ends_of = np.zeros((FIRST_STROKES, 4))
    for k, p in enumerate(paths[:FIRST_STROKES]):
        ends_of[k] = [*p[0], *p[-1]]
    aspect = np.log(max(high[0] - low[0], 1e-3 * side) / max(high[1] - low[1], 1e-3 * side))
    return np.concatenate([points.ravel(), direction.ravel(), cos_turn, sin_turn, begins, count,
                           paths[0][0], paths[-1][-1], ends_of.ravel(), [aspect]]).astype(np.float32)


def features_of(drawings: Sequence[RawStrokes]) -> np.ndarray:
    """stroke_features of each drawing, (n, N_FEATURES) float32."""
    return np.stack([stroke_features(strokes) for strokes in drawings]) if len(drawings) else \
        np.zeros((0, N_FEATURES), np.float32)
