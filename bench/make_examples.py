"""Write the clickable examples of the app (digit/examples/) from the pen strokes in synthetic.py."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from testing.renderings import draw_strokes, photo_of

EXAMPLES = Path(__file__).resolve().parent.parent / "digit" / "page" / "examples"


def main() -> None:
    EXAMPLES.mkdir(exist_ok=True)
    rng = np.random.default_rng(2026)
    sketches = {2: (30, 30, 30), 5: (20, 60, 200), 8: (180, 20, 40)}
    for digit, colour in sketches.items():
        image = draw_strokes(digit, canvas=(400, 400), box=(90 + digit * 8, 60, 180, 280), width=18,
                             colour=colour, slant=0.12)
        Image.fromarray(image).save(EXAMPLES / f"sketch_{digit}.png")
    ink = draw_strokes(7, canvas=(480, 480), box=(140, 100, 200, 300), width=16)[..., 3] / 255.0
    (EXAMPLES / "photo_7.jpg").write_bytes(photo_of(ink, rng))
    chalk = draw_strokes(4, canvas=(360, 360), box=(90, 60, 180, 240), width=14)[..., 3]
    board = np.clip(40 + chalk * 0.8 + rng.normal(0, 6, chalk.shape), 0, 255).astype(np.uint8)
    Image.fromarray(board).save(EXAMPLES / "chalk_4.png")


if __name__ == "__main__":
    main()
