"""The drawing pad's geometry and what it sends, named once: the page draws with it, the
server reads its value with it, and training imitates it.

The pad is a 600x400 canvas (room for a few digits side by side; on a phone it shrinks to
the screen's width) drawn with a round brush of radius 18 canvas pixels, 36 px wide strokes,
as the Sketchpad drew before it. After each stroke it sends only the ink's box with a margin,
downscaled to at most `sent_side` on its long side: the jury reads a 256 px copy anyway.

With the picture it sends the strokes as drawn, in Quick, Draw!'s raw format (per stroke
`[[x...], [y...], [t...]]`: canvas pixels rounded to 1 px, milliseconds since the drawing's
first point, rising), and the id of the browser it runs in (kept in its localStorage):

    {"image": "data:image/png;base64,...", "strokes": [[[x...], [y...], [t...]], ...], "browser": "<32 hex>"}

An empty pad sends null. `PadDrawing.from_value` is the one reader of that value.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from digit.reading.images import BadImage, data_url_bytes


@dataclass(frozen=True)
class PadGeometry:
    width: int = 600  # canvas pixels
    height: int = 400
    brush: int = 18  # the brush's radius in canvas pixels
    sent_side: int = 256  # the long side of the picture sent after a stroke, at most
    max_sent_bytes: int = 2 * 2**20  # a data URL carrying more is refused before decoding
    # A digit or a few take tens of strokes and hundreds of points (the pad keeps a point only
    # where the pen moved a pixel); past these a drawing is refused, not stored.
    max_strokes: int = 100
    max_points: int = 10_000  # in all strokes together: ~150 KB of JSON at most
    max_ms: int = 2**31 - 1  # times are stored as int32

    @property
    def margin(self) -> int:
        """Blank canvas pixels kept around the ink in what is sent: one brush width."""
        return 2 * self.brush


PAD = PadGeometry()
BROWSER_ID = re.compile(r"^[0-9a-f]{32}$")  # 16 random bytes the pad made once, in hex
Strokes = list[list[list[int]]]  # per stroke [[x...], [y...], [t...]]
_REFUSED = "not a drawing from the pad"


@dataclass(frozen=True)
class PadDrawing:
    """What the pad sent after a stroke: the picture, the strokes as drawn, the browser's id."""

    image: bytes  # the PNG as sent (not decoded yet: digit.reading.images does that, with its limits)
    strokes: Strokes
    browser: str

    @classmethod
    def from_value(cls, value: Any, pad: PadGeometry = PAD) -> PadDrawing | None:
        """The pad's value read and checked (None for an empty pad, which Gradio's HTML component
        hands over as "" or None); refuses anything else with BadImage saying what is wrong with it."""
        if value is None or value == "":
            return None
        if not isinstance(value, dict) or not {"image", "strokes", "browser"} <= value.keys():
            raise BadImage(f"{_REFUSED}: expected {{\"image\": ..., \"strokes\": ..., \"browser\": ...}}")
        image, browser = value["image"], value["browser"]
        if not isinstance(image, str):
            raise BadImage(f"{_REFUSED}: its image is not a data URL")
        if not isinstance(browser, str) or not BROWSER_ID.match(browser):
            raise BadImage(f"{_REFUSED}: its browser id is not 32 hex digits")
        return cls(data_url_bytes(image, pad.max_sent_bytes), checked_strokes(value["strokes"], pad), browser)


def checked_strokes(strokes: Any, pad: PadGeometry = PAD) -> Strokes:
    """Strokes in Quick, Draw!'s raw format within the pad: whole pixels on the canvas, whole
    milliseconds that never go back, at most max_strokes and max_points; else BadImage."""
    if not isinstance(strokes, list) or not strokes:
        raise BadImage(f"{_REFUSED}: its strokes are not a list of strokes")
    if len(strokes) > pad.max_strokes:
        raise BadImage(f"the drawing has more than {pad.max_strokes} strokes, the most the pad takes: "
                       "clear it and draw again")
    points, last = 0, 0
    for stroke in strokes:
        if not (isinstance(stroke, list) and len(stroke) == 3 and all(isinstance(part, list) for part in stroke)
                and stroke[0] and len(stroke[0]) == len(stroke[1]) == len(stroke[2])):
            raise BadImage(f"{_REFUSED}: a stroke is not [[x...], [y...], [t...]] of one length")
        points += len(stroke[0])
        if points > pad.max_points:
            raise BadImage(f"the drawing has more than {pad.max_points} points, the most the pad takes: "
                           "clear it and draw again")
        xs, ys, times = stroke
        if not (_whole(xs, 0, pad.width) and _whole(ys, 0, pad.height) and _whole(times, last, pad.max_ms)):
            raise BadImage(f"{_REFUSED}: its points are not whole pixels on the pad at rising milliseconds")
        if any(later < earlier for earlier, later in zip(times, times[1:])):
            raise BadImage(f"{_REFUSED}: its times go back")
        last = times[-1]
    return strokes


def _whole(values: list, low: int, high: int) -> bool:
    return all(type(value) is int and low <= value <= high for value in values)
