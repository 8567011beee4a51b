"""The live references' gate digits (digit/live/references.py GATE_FILE): the canvas set's
validation part as the jury reads it. A confirmed correction that would make the served jury
misread one of them (or one of the model check's reference digits) does not join the k-NN's live
references. Made, not carried, as the reference digits are; without it the gate reads the
reference digits only.

    python -m training.gate_digits     # writes models/gate_digits.npz (~1 minute: 1,800 drawings)
"""

from __future__ import annotations

import argparse

import numpy as np

from digit.atomic import written_whole
from digit.live.references import GATE_FILE
from training.canvas.report import canvas_pixels


def write() -> str:
    """Write the file whole or not at all (digit/atomic.py)."""
    pixels, labels = canvas_pixels("validation")
    with written_whole(GATE_FILE) as staged, open(staged, "wb") as handle:
        np.savez_compressed(handle, pixels=pixels.astype(np.uint8), labels=labels.astype(np.uint8))
    return str(GATE_FILE)


def main() -> None:
    argparse.ArgumentParser(description="Write the live references' gate digits (the canvas validation part).").parse_args()
    print(f"wrote {write()}")


if __name__ == "__main__":
    main()
