"""A drawing drawn stroke by stroke on the real pad in Chromium is read with the strokes the pad
recorded, as the library reads them in process (bench/pad_strokes.py draws the report part so)."""

from __future__ import annotations

from bench.pad_strokes import StrokePad, on_pad
from digit.reading.images import read_picture
from helpers import browser_api
from testing.browser import open_page
from training.canvas.drawings import canvas_set

browser_api()  # or the module skips and says why (in CI: fails)


def test_a_drawing_on_the_pad_in_chromium_reads_as_in_process_with_the_strokes_it_sent(browser, app_server,
                                                                                       classifier):
    # A closed 4 in two strokes of few points: each pressed move costs the page a software-rendered redraw.
    drawing = next(d for d in canvas_set("validation", writers=2) if d.writer == 1 and d.label == 4)
    page = open_page(browser, app_server["url"])
    try:
        shown = StrokePad(page).read(on_pad(drawing))
    finally:
        page.close()
    here = classifier.predict(read_picture(shown.picture), strokes=shown.strokes)
    assert "strokes" in here.jurors  # the stroke juror read what the pad sent
    assert len(shown.strokes) == len(drawing.events)
    assert (shown.digit, shown.unsure) == (here.digit, here.unsure) and shown.digit == 4
