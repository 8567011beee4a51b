"""The model check's reference digits (digit/model/check.py REFERENCE_FILE): the plain digits 0-9
of the canvas set's first six validation writers, our own drawings, normalised as the app does.
Any jury we train reads them well; one that misreads (a swapped or damaged juror) does not.
Made, not carried: `make app`, `make test`, `make bench` and `make deploy` write the file when
it is missing (git ignores it), and so do the tests (conftest.py).

    python -m training.reference_digits     # writes models/reference_digits.npz
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from digit.atomic import written_whole
from digit.model.check import REFERENCE_FILE
from training.canvas.drawings import canvas_set, normalized

WRITERS = 6  # six of each digit: 60 drawings, read in the check's child in well under a second


def reference_digits() -> dict[str, np.ndarray]:
    """Each writer's first ten drawings, their digits 0-9 (canvas_set draws them before the hands)."""
    drawings = canvas_set("validation", writers=WRITERS)
    plain = [drawing for writer in range(WRITERS)
             for drawing in [d for d in drawings if d.writer == writer][:10]]
    return {"pixels": normalized(plain).astype(np.uint8), "labels": np.array([d.label for d in plain], np.uint8)}


def write() -> Path:
    """Write the file whole or not at all (digit/atomic.py): two writers at once are harmless."""
    with written_whole(REFERENCE_FILE) as staged, open(staged, "wb") as handle:
        np.savez_compressed(handle, **reference_digits())
    return REFERENCE_FILE


def ensure() -> Path:
    """The file, written first if it is missing."""
    return REFERENCE_FILE if REFERENCE_FILE.is_file() else write()


def main() -> None:
    argparse.ArgumentParser(description="Write the model check's reference digits "
                                        f"({REFERENCE_FILE.relative_to(REFERENCE_FILE.parents[1])}).").parse_args()
    print(f"wrote {write()}")


if __name__ == "__main__":
    main()
