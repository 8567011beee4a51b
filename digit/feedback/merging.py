"""Which feedback shards are merged, here and on the Hub: the one merge policy.

A shard's name says how many samples it holds (samples.rows_in), so a listing of names is
enough to plan. Two plans, one for each reason to merge:

- `merge_plan`: few files however many samples. Shards fall in size classes (1-9 rows,
  10-99, 100-999); a class that holds FANOUT shards is merged into one of the next class,
  and a shard of SHARD_ROWS samples or more is never merged again. The local folder of a
  store that does not push is compacted by it every FANOUT saves (`compact_due`); a pushing
  store leaves its folder alone and merges the Hub's shards by it at each push.
- `push_plan`: a backlog of any size goes out as few shards. Before a push, the small
  pending shards written by flags are packed into groups of at most SHARD_ROWS samples; a
  shard written by a merge is pushed as it is (it names the Hub shards its commit deletes).

The store carries plans out (`FeedbackStore.merge`, crash-safely); hub_sync commits them.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path

from digit.feedback.samples import merged_from, rows_in

SHARD_ROWS = 1000  # a shard of this many samples or more (5-50 MB) is never merged again
FANOUT = 10  # shards of one size class are merged once there are this many


def size_class(rows: int) -> int:
    """1-9 rows: 0, 10-99: 1, 100-999: 2, SHARD_ROWS or more: final (never merged again)."""
    return min(int(math.log10(max(rows, 1))), int(math.log10(SHARD_ROWS)))


def merge_plan(names: Sequence[str]) -> list[list[str]]:
    """Groups of shards to merge: every size class below the final one that holds FANOUT or
    more shards is merged into one. Bounded files: fewer than FANOUT per small class."""
    final = size_class(SHARD_ROWS)
    classes: dict[int, list[str]] = {}
    for name in names:
        classes.setdefault(size_class(rows_in(name)), []).append(name)
    return [sorted(group) for size, group in sorted(classes.items()) if size < final and len(group) >= FANOUT]


def compact_due(count: int) -> bool:
    """Whether a store that does not push compacts its folder after its count-th sample."""
    return count % FANOUT == 0


def push_plan(pending: Sequence[str], data: Path) -> list[list[str]]:
    """Groups of pending shards (in the folder data) to merge before they are pushed: the small
    ones a flag wrote, packed into groups of at most SHARD_ROWS samples (groups of one are left
    alone). A merged shard is left as it is: it names the Hub shards its commit deletes."""
    small = [name for name in pending if rows_in(name) < SHARD_ROWS and not merged_from(data / name)]
    groups, current, rows = [], [], 0
    for name in small:
        if current and rows + rows_in(name) > SHARD_ROWS:
            groups.append(current)
            current, rows = [], 0
        current.append(name)
        rows += rows_in(name)
    groups.append(current)
    return [group for group in groups if len(group) > 1]
