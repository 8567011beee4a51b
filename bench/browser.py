"""Driving the page in headless Chromium as a visitor does: shared by the browser tests and
the bench (mouse-up to verdict). Debian's chromium (`make browser`); playwright's own browser
download does not work here."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
# Without the background-networking flags Chromium keeps calling Google's hosts, which this
# machine's closed network refuses. No GPU here: the Sketchpad's WebGL canvas runs on
# SwiftShader through ANGLE, which redraws a pressed mouse move in ~145 ms (275 ms with
# --disable-gpu's fallback).
ARGUMENTS = ["--no-sandbox", "--use-angle=swiftshader", "--enable-unsafe-swiftshader",
             "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run",
             "--disable-quic"]
Strokes = list[list[tuple[float, float]]]  # pen strokes in a unit box, x right, y down


def have_chromium() -> bool:
    return Path(CHROMIUM).exists()


def launch(playwright):
    return playwright.chromium.launch(executable_path=CHROMIUM, args=ARGUMENTS)


def open_page(browser, url: str, width: int = 1280, height: int = 1100):
    page = browser.new_page(viewport={"width": width, "height": height})
    page.goto(url)
    page.locator("#sketchpad canvas").first.wait_for()
    return page


def draw(page, strokes: Strokes, width: int = 120, height: int = 190, steps: int = 1) -> float:
    """Draw strokes with the mouse in the middle of the canvas, without picking a tool first
    (the page chooses the brush); returns the time of the last mouse-up (time.perf_counter)."""
    area = page.locator("#sketchpad canvas").first.bounding_box()
    left = area["x"] + area["width"] / 2 - width / 2
    top = area["y"] + area["height"] / 2 - height / 2
    released = time.perf_counter()
    for stroke in strokes:
        points = [(left + x * width, top + y * height) for x, y in _thinned(stroke)]
        page.mouse.move(*points[0])
        page.mouse.down()
        for point in points[1:]:
            page.mouse.move(*point, steps=steps)
        page.mouse.up()
        released = time.perf_counter()
    return released


def clear_canvas(page) -> None:
    page.locator("#sketchpad").get_by_role("button", name="Clear canvas").click()


def verdict(page) -> str:
    """The verdict's words: its Markdown only, not Gradio's status tracker beside it (which,
    even with show_progress="hidden", holds an invisible "queue: 1/1 | 0.5s")."""
    return page.locator('#verdict [data-testid="markdown"]').inner_text()


def wait_for_verdict(page, accept, seconds: float = 30) -> str:
    """Wait until the verdict's text satisfies accept(text); return it."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        text = verdict(page)
        if accept(text):
            return text
        page.wait_for_timeout(10)
    raise AssertionError(f"the verdict did not come within {seconds} s: {verdict(page)!r}")


def headline(text: str) -> str:
    """The verdict's first line: the digit, "5 or 6?", or a message."""
    return text.strip().splitlines()[0].strip() if text.strip() else ""


def _thinned(stroke: list[tuple[float, float]], most: int = 16) -> list[tuple[float, float]]:
    """At most `most` points along a stroke: a mouse reports a few points per stroke segment,
    and each move costs the page a redraw (slow on a busy machine with software rendering)."""
    if len(stroke) <= most:
        return stroke
    keep = sorted({round(i * (len(stroke) - 1) / (most - 1)) for i in range(most)})
    return [stroke[i] for i in keep]
