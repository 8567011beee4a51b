"""The product as a person uses it: headless Chromium drives the real app.

Needs Debian's chromium (`make browser`). Without it these tests skip and say why, except
in CI (CI=true), where a missing browser is a failure: there they must run.
"""

from __future__ import annotations

import os
import re
import shutil
import time
from pathlib import Path

import pytest
from PIL import Image

from helpers import PROJECT, stored_samples
from bench.renderings import draw_strokes, stroke_paths

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
SCREENSHOTS = PROJECT / "artifacts" / "screenshots"

if not Path(CHROMIUM).exists():
    if os.environ.get("CI"):
        raise RuntimeError("CI must run the browser tests: install Debian's chromium (make browser)")
    pytest.skip("no Chromium here: run `make browser` (as root) to run the browser tests",
                allow_module_level=True)

sync_playwright = pytest.importorskip("playwright.sync_api").sync_playwright


@pytest.fixture(scope="module")
def browser():
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                  "--disable-sync", "--no-first-run", "--disable-quic"])
        yield browser
        browser.close()


@pytest.fixture
def page(browser, app_server):
    page = browser.new_page(viewport={"width": 1280, "height": 1000})
    page.goto(app_server["url"])
    page.locator("#sketchpad canvas").first.wait_for()
    yield page
    page.close()


def shot(page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


def draw(page, digit: int) -> None:
    """Draw the digit's strokes with the mouse in the middle of the canvas, as a visitor does:
    without picking a tool first (the page chooses the brush)."""
    area = page.locator("#sketchpad canvas").first.bounding_box()
    centre_x, centre_y = area["x"] + area["width"] / 2, area["y"] + area["height"] / 2
    for stroke in stroke_paths(digit, (round(centre_x - 60), round(centre_y - 95), 120, 190)):
        page.mouse.move(*stroke[0])
        page.mouse.down()
        for point in stroke[1:]:
            page.mouse.move(*point, steps=3)
        page.mouse.up()


def verdict_after(page, action, seconds: float = 30) -> str:
    """Do action, then wait until the verdict shows a new result, and return its text.

    While a request waits or runs, Gradio overlays a status ("queue: 1/2", "0.2s") on the
    output, above the old text: that is not a result yet.
    """
    verdict = page.locator("#verdict")
    before = verdict.inner_text()
    action()
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        text = verdict.inner_text()
        first = text.strip().splitlines()[0] if text.strip() else ""
        if text != before and not re.search(r"queue|processing|^[0-9.]+\s*s$", first, re.IGNORECASE):
            return text
        page.wait_for_timeout(100)
    raise AssertionError(f"the verdict did not change within {seconds} s: {verdict.inner_text()!r}")


def read_sketch(page) -> str:
    return verdict_after(page, lambda: page.locator("#read-sketch").click())


def test_a_drawn_digit_is_read(page):
    draw(page, 7)
    text = read_sketch(page)
    assert text.splitlines()[0].strip() == "7", text
    assert "confident" in text
    shot(page, "drawn_seven")


def test_the_canvas_is_ready_to_draw_on_arrival_and_after_clearing(page):
    expect = pytest.importorskip("playwright.sync_api").expect
    pad = page.locator("#sketchpad")
    expect(pad.get_by_role("button", name="Brush", exact=True)).to_have_class(re.compile(r"\bhighlight\b"))
    expect(pad).not_to_contain_text("select the draw tool")
    pad.get_by_role("button", name="Clear canvas").click()
    expect(pad.get_by_role("button", name="Brush", exact=True)).to_have_class(re.compile(r"\bhighlight\b"))
    expect(pad).not_to_contain_text("select the draw tool")


def test_clear_the_canvas_and_draw_another(page):
    draw(page, 3)
    assert read_sketch(page).splitlines()[0].strip() == "3"
    page.locator("#sketchpad").get_by_role("button", name="Clear canvas").click()
    draw(page, 0)
    assert read_sketch(page).splitlines()[0].strip() == "0"


def test_an_empty_canvas_gets_a_message_not_a_digit(page):
    text = read_sketch(page)
    assert "draw a digit" in text.lower() or "no ink" in text.lower()
    shot(page, "empty_canvas")


def test_an_uploaded_picture_is_read(page, tmp_path):
    path = tmp_path / "four.png"
    Image.fromarray(draw_strokes(4, canvas=(500, 500), box=(60, 200, 150, 230))).save(path)
    page.get_by_role("tab", name="Upload").click()
    text = verdict_after(page, lambda: page.locator("#upload input[type=file]").set_input_files(str(path)))
    assert text.splitlines()[0].strip() == "4", text
    shot(page, "uploaded_four")


def test_correcting_an_answer_saves_the_sample(page, app_server):
    draw(page, 1)
    predicted = read_sketch(page).splitlines()[0].strip()
    right = "4" if predicted != "4" else "7"  # tell the jury it was wrong
    page.locator("#correction").get_by_text(right, exact=True).click()
    page.locator("#saved").get_by_text(f"Saved as a {right}").wait_for(timeout=30_000)
    shot(page, "correction_saved")
    mine = [row for row in stored_samples(app_server["feedback"])
            if row["source"] == "sketch" and row["label"] == int(right)]
    assert mine and mine[-1]["predicted"] == int(predicted)
    assert mine[-1]["image"].mode == "RGBA"  # the canvas as drawn, transparent background kept


@pytest.mark.parametrize("name, data, words", [
    ("notes.png", b"shopping list: milk, eggs" * 10, "not an image"),
    ("cut.png", (PROJECT / "digit" / "page" / "examples" / "sketch_2.png").read_bytes()[:900], "broken image"),
])
def test_a_broken_upload_gets_a_clear_message(page, tmp_path, name, data, words):
    path = tmp_path / name
    path.write_bytes(data)
    page.get_by_role("tab", name="Upload").click()
    text = verdict_after(page, lambda: page.locator("#upload input[type=file]").set_input_files(str(path)))
    assert words in text.lower(), text
