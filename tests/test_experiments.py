"""The record of experiments still runs on the current layout (the rest are checked by hand at
`--limit 2000`: they fit juries and take a minute or more each)."""

from __future__ import annotations

from helpers import run_module


def test_cheap_experiments_print_their_result_lines(tmp_path):
    # A fresh cache: the experiments compute their pieces rather than read them from an old run.
    result = run_module("experiments", "svc-sizes", "augment", "vsv", "--limit", "500", timeout=300,
                        env={"EXPERIMENTS_CACHE": str(tmp_path)})
    lines = result.stdout.splitlines()
    assert sum(line.startswith("SVC on gradient directions, ") and "validation" in line for line in lines) == 3
    assert sum(line.startswith("power law error") for line in lines) == 2
    assert sum(": SVC validation " in line for line in lines) == 4  # augment: plain, then 3 kinds of copies
    assert sum("support vectors + " in line for line in lines) == 3  # vsv: 3 kinds of shifts
