"""Draw the canvas-style set's mouse paths on the REAL drawing pad in headless Chromium and
compare what the app receives with what `training.canvas.rendering.render` draws.

The generator renders a path as the Sketchpad did (filled circles stamped along each segment on
a 400x400 canvas); the pad draws round-capped, round-joined anti-aliased lines on a 600x400
canvas and sends the ink's box downscaled to at most 256 px. What matters is what the jury
reads: both pictures are normalised to 28x28 and compared (ink overlap), and read by the
shipped jury (agreement, and accuracy on each).

    python -m bench.pad_capture --count 100     # prints one JSON object
"""

from __future__ import annotations

import argparse
import base64
import json
import tempfile
from pathlib import Path

import numpy as np

from digit.reading.pad import PAD
from testing.browser import clear_canvas, launch, open_page
from testing.local_app import running_app


class Pad:
    """The app's page in Chromium: draw paths given in pad pixels, get back the PNG the pad sent."""

    def __init__(self, page):
        self.page = page
        self.sent: list[str] = []
        page.on("request", self._keep)
        box = page.locator("#sketchpad canvas").first.bounding_box()
        self.origin = np.array([box["x"], box["y"]])
        self.scale = box["width"] / PAD.width  # screen px per pad px

    def _keep(self, request) -> None:
        if request.method == "POST" and "/run/predict" in request.url:
            data = json.loads(request.post_data or "{}").get("data") or [None]
            if isinstance(data[0], dict) and str(data[0].get("image")).startswith("data:"):
                self.sent.append(data[0]["image"])

    def draw(self, events: list[np.ndarray], shift: tuple[float, float]) -> bytes:
        clear_canvas(self.page)
        before = len(self.sent)
        for stroke in events:
            points = [self.origin + (np.asarray(point) + shift) * self.scale for point in stroke]
            self.page.mouse.move(*points[0])
            self.page.mouse.down()
            for point in points[1:]:
                self.page.mouse.move(*point)
            self.page.mouse.up()
        deadline = 300
        while len(self.sent) < before + len(events) and deadline:
            self.page.wait_for_timeout(20)
            deadline -= 1
        if len(self.sent) < before + len(events):
            raise TimeoutError("the pad did not send a picture after each stroke")
        return base64.b64decode(self.sent[-1].partition(",")[2])


def compare(count: int) -> dict:
    from playwright.sync_api import sync_playwright

    from digit.reading.images import read_picture
    from digit.model.store import load_model
    from digit.reading.preprocess import normalize
    from training.canvas.drawings import canvas_set
    from training.canvas.rendering import CANVAS, DEFAULT_BRUSH, render

    drawings = [d for d in canvas_set("validation") if d.brush == DEFAULT_BRUSH][:count]
    classifier = load_model().classifier
    shift = ((PAD.width - CANVAS) / 2, (PAD.height - CANVAS) / 2)  # the generator's canvas, centred on the pad
    overlaps, same, right_pad, right_ours, sizes = [], 0, 0, 0, []
    with tempfile.TemporaryDirectory() as scratch, running_app(Path(scratch)) as app, sync_playwright() as playwright:
        browser = launch(playwright)
        pad = Pad(open_page(browser, app["url"]))
        for drawing in drawings:
            sent = read_picture(pad.draw(drawing.events, shift))
            ours = render(drawing.events, drawing.brush)
            sizes.append(max(sent.size))
            overlaps.append(_iou(normalize(sent).pixels > 64, normalize(ours).pixels > 64))
            on_pad, on_ours = classifier.predict(sent).digit, classifier.predict(ours).digit
            same += on_pad == on_ours
            right_pad += on_pad == drawing.label
            right_ours += on_ours == drawing.label
        browser.close()
    return {"drawings": len(drawings), "normalised_ink_iou_mean": round(float(np.mean(overlaps)), 3),
            "normalised_ink_iou_min": round(float(np.min(overlaps)), 3), "jury_agrees": same,
            "right_on_pad": right_pad, "right_on_generator": right_ours,
            "sent_long_side_px": {"median": int(np.median(sizes)), "max": int(np.max(sizes))}}


def _iou(a: np.ndarray, b: np.ndarray) -> float:
    return float((a & b).sum() / max((a | b).sum(), 1))


def main() -> None:
    parser = argparse.ArgumentParser(description="Compare the canvas-style generator with the real drawing pad.")
    parser.add_argument("--count", type=int, default=100, help="drawings of the validation part to draw")
    print(json.dumps(compare(parser.parse_args().count)))


if __name__ == "__main__":
    main()
