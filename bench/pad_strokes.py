"""The canvas set's REPORT part drawn stroke by stroke on the REAL pad in headless Chromium, and
what the page says: `python -m bench.pad_strokes --count 150`.

A spread sample of the report part's drawings; each drawing's mouse events (the canvas square in
the pad's middle, as training/canvas/strokes.py places them) pressed, moved and released with
the mouse on the page of the real app (testing/local_app.py), the timing compressed (no wait
between events), the points thinned to at least THIN pad pixels apart (each pressed move costs
the page a software-rendered redraw). The page reads the picture with the strokes the pad
recorded (on a busy machine a fresh app's first readings take tens of seconds: the wait is long); the verdict shown ("7", or "7 or 1?" when unsure) gives accuracy and wrong answers
given as sure. Each reading is also made in process from what the pad sent (its picture and
strokes), which the page must agree with.
"""

from __future__ import annotations

import argparse
import base64
import json
import re
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from digit.reading.pad import PAD
from testing.browser import clear_canvas, headline, launch, open_page, thinned, wait_for_verdict
from testing.local_app import running_app

THIN = 6.0  # pad pixels between two points pressed (a person's mouse reports a point every few)
ROUTE = "/run/predict"


@dataclass(frozen=True)
class PageReading:
    """What the page showed for one drawing, and what the pad sent for it."""

    digit: int | None  # the digit the verdict names first; None for a message
    unsure: bool  # "7 or 1?"
    headline: str
    picture: bytes  # the PNG the pad sent after the last stroke
    strokes: list  # the strokes it sent with it, as the pad recorded them


class StrokePad:
    """The app's page in Chromium: draw strokes given in pad pixels with the mouse, read the verdict."""

    def __init__(self, page):
        self.page = page
        box = page.locator("#sketchpad canvas").first.bounding_box()
        self.origin = np.array([box["x"], box["y"]])
        self.scale = box["width"] / PAD.width  # screen px per pad px

    def read(self, strokes: list[np.ndarray], seconds: float = 90) -> PageReading:
        """Clear the pad, draw the strokes (pad pixels), and return the verdict the page shows for
        the whole drawing (the answer to the request that carries every stroke)."""
        page = self.page
        clear_canvas(page)
        wait_for_verdict(page, lambda text: "draw a digit" in text.lower(), seconds)

        def complete(request) -> bool:  # the request sent after the last stroke
            if request.method != "POST" or ROUTE not in request.url:
                return False
            data = (json.loads(request.post_data or "{}").get("data") or [None])[0]
            return isinstance(data, dict) and len(data.get("strokes") or []) == len(strokes)

        with page.expect_request(complete, timeout=seconds * 1000) as sent:
            for stroke in strokes:
                points = [self.origin + point * self.scale for point in thinned(np.asarray(stroke, float), THIN)]
                page.mouse.move(*points[0])
                page.mouse.down()
                for point in points[1:]:
                    page.mouse.move(*point)
                page.mouse.up()
        request = sent.value
        answer = request.response().json()
        said = headline(re.sub(r"^#+\s*", "", str(answer["data"][0])))
        shown = headline(wait_for_verdict(page, lambda text: headline(text) == said, seconds))
        body = json.loads(request.post_data)["data"][0]
        found = re.match(r"^(\d)( or \d\?)?$", shown)
        return PageReading(int(found[1]) if found else None, bool(found and found[2]), shown,
                           base64.b64decode(body["image"].partition(",")[2]), body["strokes"])


EDGE = 4.0  # pad pixels kept between the ink's points and the pad's edge


def on_pad(drawing) -> list[np.ndarray]:
    """A canvas-set drawing's mouse events in pad pixels: its square in the pad's middle, the ink
    moved (and, when larger than the pad, shrunk) to lie within the pad, as a person keeps it: a
    press outside the pad draws nothing, so a stroke the generator ran past the canvas's edge
    would be lost."""
    from training.canvas.rendering import CANVAS

    strokes = [np.asarray(points, float) + [(PAD.width - CANVAS) / 2, (PAD.height - CANVAS) / 2]
               for points in drawing.events]
    everything = np.vstack(strokes)
    low, high, room = everything.min(axis=0), everything.max(axis=0), np.array([PAD.width, PAD.height]) - 2 * EDGE
    scale = min(1.0, *(room / np.maximum(high - low, 1e-9)))
    start = np.clip(low, EDGE, EDGE + room - scale * (high - low))
    return [start + scale * (points - low) for points in strokes]


def pad_strokes_report(count: int, digits: set[int] | None = None) -> dict:
    """count drawings spread over the report part (over its drawings of `digits` only, when given)."""
    from playwright.sync_api import sync_playwright

    from digit.reading.images import read_picture
    from digit.model.store import load_model
    from training.canvas.drawings import canvas_set
    from training.canvas.report import _spread

    drawings = [d for d in canvas_set("report") if digits is None or d.label in digits]
    chosen = [drawings[index] for index in _spread(len(drawings), count)]
    classifier = load_model().classifier
    right = wrong_sure = unsure_right = agree = messages = 0
    mistakes, seconds = [], []
    with tempfile.TemporaryDirectory() as scratch, running_app(Path(scratch)) as app, sync_playwright() as playwright:
        browser = launch(playwright)
        pad = StrokePad(open_page(browser, app["url"]))
        for done, drawing in enumerate(chosen):
            if done % 10 == 0:
                print(f"drawn {done} of {len(chosen)}", file=sys.stderr, flush=True)
            start = time.perf_counter()
            shown = pad.read(on_pad(drawing))
            seconds.append(time.perf_counter() - start)
            here = classifier.predict(read_picture(shown.picture), strokes=shown.strokes)
            agree += (here.digit, here.unsure) == (shown.digit, shown.unsure)
            if shown.digit is None:
                messages += 1
            elif shown.digit == drawing.label:
                right += 1
                unsure_right += shown.unsure
            else:
                wrong_sure += not shown.unsure
                mistakes.append(f"{drawing.allograph} read {shown.headline!r}")
        browser.close()
    wrong = len(chosen) - right - messages
    return {"drawings": len(chosen), "digits": sorted(digits) if digits else "all", "accuracy": round(right / len(chosen), 4), "wrong": wrong,
            "wrong_sure": wrong_sure, "messages": messages, "right_called_unsure": unsure_right,
            "page_agrees_with_in_process": f"{agree} of {len(chosen)}", "mistakes": mistakes,
            "seconds_a_drawing_median": round(float(np.median(seconds)), 2)}


def rows(report: dict) -> list[tuple[str, str, str]]:
    """The bench table's row: the report part drawn on the real pad in Chromium."""
    which = "" if report["digits"] == "all" else f" of {', '.join(map(str, report['digits']))}"
    return [(f"report part drawn stroke by stroke on the pad in Chromium ({report['drawings']} drawings{which})",
             f"{report['accuracy']:.1%}; wrong given as sure {report['wrong_sure']} of {report['wrong']}; "
             f"right called unsure {report['right_called_unsure']}; page = in process "
             f"{report['page_agrees_with_in_process']}",
             "wrong as sure <= 10 % of wrong, >= 99 %")]


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.pad_strokes", description=__doc__.split("\n")[0])
    parser.add_argument("--count", type=int, default=150, help="drawings of the report part, spread over it")
    parser.add_argument("--digits", help="only the report part's drawings of these digits, e.g. 1,7")
    arguments = parser.parse_args()
    report = pad_strokes_report(arguments.count, {int(d) for d in arguments.digits.split(",")} if arguments.digits
                                else None)
    print("\n".join(f"| {a} | {b} | {c} |" for a, b, c in rows(report)))
    print(json.dumps(report))


if __name__ == "__main__":
    main()
