"""The drawing pad's geometry, named once: the page draws with it and training imitates it.

The pad is a 600x400 canvas (room for a few digits side by side; on a phone it shrinks to
the screen's width) drawn with a round brush of radius 18 canvas pixels, 36 px wide strokes,
as the Sketchpad drew before it. After each stroke it sends only the ink's box with a margin,
downscaled to at most `sent_side` on its long side: the jury reads a 256 px copy anyway.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class PadGeometry:
    width: int = 600  # canvas pixels
    height: int = 400
    brush: int = 18  # the brush's radius in canvas pixels
    sent_side: int = 256  # the long side of the picture sent after a stroke, at most
    max_sent_bytes: int = 2 * 2**20  # a data URL carrying more is refused before decoding

    @property
    def margin(self) -> int:
        """Blank canvas pixels kept around the ink in what is sent: one brush width."""
        return 2 * self.brush


PAD = PadGeometry()
