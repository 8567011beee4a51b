"""Draw mouse strokes on the REAL Sketchpad in headless Chromium and keep what the app receives.

Checks that `training.canvas_digits.render` draws what Gradio's Sketchpad sends, and can
read a part of the evaluation set exactly as the app would get it. The app runs in this
process with its sketch handler replaced by one that records the composite.

    python -m bench.sketchpad_capture --count 40     # renderer vs real Sketchpad, and the jury on both
"""

from __future__ import annotations

import argparse
import os
import socket
import time
from contextlib import contextmanager
from typing import Iterator

import numpy as np

CHROMIUM = "/usr/bin/chromium"
BROWSER_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                "--disable-sync", "--no-first-run", "--disable-quic"]


class Sketchpad:
    """The app's page in Chromium: draw strokes given in canvas pixels, get the composite back."""

    def __init__(self, page, received: list):
        self.page = page
        self.received = received
        self.scale, self.origin = self._calibrate()

    def _screen(self, x: float, y: float) -> tuple[float, float]:
        return self.origin[0] + x * self.scale, self.origin[1] + y * self.scale

    def _calibrate(self) -> tuple[float, np.ndarray]:
        """Where the 400x400 image sits on screen: two dots drawn at known screen points."""
        box = self.page.locator("#sketchpad canvas").first.bounding_box()
        points = np.array([[box["x"] + box["width"] * fx, box["y"] + box["height"] * fy] for fx, fy in ((0.4, 0.3), (0.6, 0.7))])
        composite = self._draw_screen([[tuple(p)] for p in points])
        import cv2

        mask = (composite[..., 3] > 0) & (composite[..., 0] < 128)
        count, _, _, centres = cv2.connectedComponentsWithStats(mask.astype(np.uint8))
        if count != 3:
            raise RuntimeError(f"calibration expected two dots, found {count - 1}")
        centres = centres[1:][np.argsort(centres[1:, 0])]
        scale = float((points[1, 0] - points[0, 0]) / (centres[1, 0] - centres[0, 0]))
        return scale, points[0] - centres[0] * scale

    def _draw_screen(self, strokes: list[list[tuple[float, float]]]) -> np.ndarray:
        self.page.locator("#sketchpad").get_by_role("button", name="Clear canvas").click()
        self.page.wait_for_timeout(150)
        for stroke in strokes:
            self.page.mouse.move(*stroke[0])
            self.page.mouse.down()
            for point in stroke[1:]:
                self.page.mouse.move(*point)
            self.page.mouse.up()
        before = len(self.received)
        self.page.locator("#read-sketch").click()
        deadline = time.monotonic() + 30
        while len(self.received) == before:
            if time.monotonic() > deadline:
                raise TimeoutError("the app did not receive the sketch")
            self.page.wait_for_timeout(50)
        return self.received[-1]

    def draw(self, events: list[np.ndarray]) -> np.ndarray:
        """Strokes in canvas pixels (as training.canvas_digits.Drawing.events) -> the composite."""
        return self._draw_screen([[self._screen(x, y) for x, y in stroke] for stroke in events])


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextmanager
def sketchpad() -> Iterator[Sketchpad]:
    """The real app in this process and a Chromium page on it."""
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    from digit import app_actions as actions

    received: list[np.ndarray] = []

    def record(sketch):
        received.append(sketch.get("composite") if isinstance(sketch, dict) else None)
        return "recorded", None, None, None

    actions.show_sketch = record  # app.py wires the button to this name when it is imported
    import app
    from digit.components import CHOOSE_BRUSH_JS

    port = _free_port()
    app.demo.queue().launch(server_name="127.0.0.1", server_port=port, prevent_thread_lock=True,
                            js=CHOOSE_BRUSH_JS, quiet=True)
    from playwright.sync_api import sync_playwright

    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=BROWSER_ARGS)
            page = browser.new_page(viewport={"width": 1280, "height": 1000})
            page.goto(f"http://127.0.0.1:{port}/")
            page.locator("#sketchpad canvas").first.wait_for()
            page.wait_for_timeout(1000)
            yield Sketchpad(page, received)
            browser.close()
    finally:
        app.demo.close()


def compare(count: int) -> None:
    """Our renderer against the real Sketchpad on the first drawings of the validation part
    that use the default brush: pixel agreement of the ink and the jury's readings of both."""
    from digit.model_store import load_model
    from training.canvas_digits import DEFAULT_BRUSH, canvas_set, render

    drawings = [d for d in canvas_set("validation") if d.brush == DEFAULT_BRUSH][:count]
    classifier = load_model().classifier
    overlaps, snapped_overlaps, same, right_ours, right_real = [], [], 0, 0, 0
    with sketchpad() as pad:
        print(f"screen px per canvas px: {pad.scale:.3f}", flush=True)
        for drawing in drawings:
            real = pad.draw(drawing.events)
            ours = render(drawing.events, drawing.brush)
            # Does Chromium round mouse positions to whole screen pixels? Render that too.
            snapped = [(np.rint(np.column_stack(pad._screen(*e.T))) - pad.origin) / pad.scale for e in drawing.events]
            ink_real = real[..., 0] < 128
            overlaps.append(_iou(ink_real, ours[..., 0] < 128))
            snapped_overlaps.append(_iou(ink_real, render(snapped, drawing.brush)[..., 0] < 128))
            a, b = classifier.predict(real).digit, classifier.predict(ours).digit
            same += a == b
            right_real += a == drawing.label
            right_ours += b == drawing.label
            print(f"{drawing.allograph}: IoU {overlaps[-1]:.3f} / rounded {snapped_overlaps[-1]:.3f}, "
                  f"jury {a} on the real one, {b} on ours", flush=True)
    print(f"{len(drawings)} drawings: ink IoU ours vs real Sketchpad mean {np.mean(overlaps):.3f} "
          f"(min {np.min(overlaps):.3f}), with positions rounded to screen pixels {np.mean(snapped_overlaps):.3f} "
          f"(min {np.min(snapped_overlaps):.3f}); real composite {real.shape} {real.dtype}, alpha values "
          f"{np.unique(real[..., 3])[:4]}; the jury reads both the same {same}/{len(drawings)}; "
          f"right: real {right_real}, ours {right_ours}")


def _iou(a: np.ndarray, b: np.ndarray) -> float:
    return float((a & b).sum() / max((a | b).sum(), 1))


def main() -> None:
    parser = argparse.ArgumentParser(description="Compare our Sketchpad renderer with the real one.")
    parser.add_argument("--count", type=int, default=40)
    compare(parser.parse_args().count)


if __name__ == "__main__":
    main()
