"""The canvas-style evaluation set's hands (training/canvas/): what issue 21 asked it to hold."""

from __future__ import annotations

import numpy as np

from training.canvas.drawings import VALIDATION_WRITERS, canvas_set, draw, hands
from training.canvas.writers import SEED, make_writer


def _ink_aspect(drawing) -> float:
    """Width / height of the pen path's box (the brush's width left out)."""
    points = np.vstack(drawing.events)
    width, height = points.max(axis=0) - points.min(axis=0)
    return float(width / height)


def test_every_writer_adds_flagged_ones_sevens_fours_nines_and_narrow_and_wide_digits():
    drawn = [d for index in range(20) for d in hands(make_writer(index), np.random.default_rng(index))]
    styles = {d.allograph for d in drawn}
    assert {"1_flag", "1_flag_foot", "1_long_flag", "1_long_flag_foot", "7_plain", "7_crossed", "4_open", "4_closed",
            "9_straight_tail", "9_curved_tail"} <= styles
    narrow = [d for d in drawn if "narrow" in d.tags]
    wide = [d for d in drawn if "wide" in d.tags]
    assert {d.label for d in narrow} == set(range(10)) and {d.label for d in wide} == set(range(10))
    usual = [d for d in drawn if "narrow" not in d.tags and "wide" not in d.tags and d.label != 1]
    assert np.median([_ink_aspect(d) for d in narrow if d.label != 1]) < 0.6 * np.median([_ink_aspect(d) for d in usual])
    assert np.median([_ink_aspect(d) for d in wide]) > 1.3 * np.median([_ink_aspect(d) for d in usual])


def test_the_ten_digits_a_writer_draws_do_not_change_with_the_hands_beside_them():
    writer = make_writer(3)
    rng = np.random.default_rng([SEED, 3, 1])  # the set's stream for the writer's own ten digits
    alone = [draw(digit, writer, rng) for digit in range(10)]
    in_set = [d for d in canvas_set("validation", writers=4) if d.writer == 3][:10]
    assert [d.allograph for d in in_set] == [d.allograph for d in alone]
    assert all(np.array_equal(a, b) for d, e in zip(in_set, alone) for a, b in zip(d.events, e.events))
    assert all(d.part == "validation" for d in in_set) and 3 < VALIDATION_WRITERS
