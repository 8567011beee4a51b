"""The page as a person uses it: headless Chromium drives the real app with the mouse and a finger.

Needs Debian's chromium (`make browser`). Without it these tests skip and say why, except
in CI (CI=true), where a missing browser is a failure: there they must run.
"""

from __future__ import annotations

import re

import pytest
from PIL import Image

from helpers import PROJECT, browser_api, stored_samples
from testing.browser import (PHONE, clear_canvas, draw, draw_with_finger, headline, open_page, pad_points,
                             undo, verdict, wait_for_verdict, wait_until_ready)
from testing.renderings import STROKES, draw_strokes, flagged_one

SCREENSHOTS = PROJECT / "artifacts" / "screenshots"
# As many people draw them with a mouse, and as MNIST's writers rarely did: a 6 whose top is a
# short flat stroke (read as 5 by the jury before it learned canvas shapes), a 1 with a foot.
FLAT_TOPPED_SIX = [[(0.85, 0.05), (0.2, 0.05), (0.15, 0.5), (0.15, 0.85), (0.4, 0.97), (0.75, 0.9), (0.85, 0.7),
                    (0.7, 0.52), (0.35, 0.52), (0.15, 0.65)]]
ONE_WITH_A_FOOT = [[(0.35, 0.2), (0.55, 0.05), (0.55, 0.95)], [(0.25, 0.95), (0.85, 0.95)]]

playwright_api = browser_api()  # or the module skips and says why (in CI: fails)
expect = playwright_api.expect
# What the page shows, not how fast (make bench measures that): on a busy 2-core machine a
# tab's first render can take longer than Playwright's default 5 s.
expect.set_options(timeout=20_000)


@pytest.fixture(scope="module")
def open_tab(browser, app_server):
    page = open_page(browser, app_server["url"])
    yield page
    page.close()


@pytest.fixture
def page(open_tab):
    """The page as a new visitor finds it: one tab reloaded for each test (a new page costs
    about twice as much: Gradio's ~200 scripts and styles are read again)."""
    open_tab.reload()
    wait_until_ready(open_tab)
    return open_tab


def shot(page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


def read_drawing(page, strokes, expected: str | None = None) -> str:
    """Draw, then wait for the verdict (the headline expected, or any reading)."""
    draw(page, strokes)
    return wait_for_verdict(page, lambda text: headline(text) == expected if expected else
                            bool(re.match(r"^\d", headline(text))))


def test_a_digit_is_read_as_it_is_drawn_without_pressing_anything(page):
    text = read_drawing(page, STROKES[7], "7")
    assert "confident" in text
    assert page.get_by_role("button", name="Read my digit").count() == 0  # there is nothing to press
    shot(page, "drawn_seven")


@pytest.mark.parametrize("strokes, digit", [(FLAT_TOPPED_SIX, "6"), (ONE_WITH_A_FOOT, "1")],
                         ids=["flat-topped 6", "1 with a foot"])
def test_canvas_shapes_people_draw_are_read(page, strokes, digit):
    read_drawing(page, strokes, digit)


def test_a_drawings_strokes_are_stored_as_drawn_with_rising_times(page, app_server):
    sent = []
    page.on("request", lambda request: "/run/predict" in request.url and sent.append(request.post_data_json))
    read_drawing(page, FLAT_TOPPED_SIX, "6")
    page.locator("#confirm").click()
    page.locator("#saved").get_by_text("Saved as a 6").wait_for(timeout=30_000)
    [row] = [row for row in stored_samples(app_server["feedback"]) if row["source"] == "sketch" and row["label"] == 6]
    [(xs, ys, times)] = row["strokes"]
    [drawn] = pad_points(page, FLAT_TOPPED_SIX)
    assert len(xs) == len(ys) == len(times) == len(drawn)
    assert all(abs(x - dx) <= 1 and abs(y - dy) <= 1 for x, y, (dx, dy) in zip(xs, ys, drawn)), (xs, ys, drawn)
    assert times[0] == 0 and times == sorted(times) and times[-1] > 0  # ms since the first point, rising
    browser = page.evaluate("localStorage.getItem('digit-jury:browser')")
    assert re.fullmatch(r"[0-9a-f]{32}", browser) and sent[-1]["data"][0]["browser"] == browser
    assert len([body for body in sent if body]) == 1  # one request for the one stroke


def test_the_reasons_are_shown_beside_the_verdict(page):
    read_drawing(page, STROKES[4], "4")
    neighbours = page.locator("#neighbours")
    expect(neighbours.locator("img")).to_have_count(5)
    assert re.search(r"\b4\b", neighbours.inner_text())  # each neighbour's label
    jurors = page.locator("#jurors").inner_text()
    assert all(name in jurors for name in ("SVC", "k-NN", "forest")) and re.search(r"4 \(\d+%\)", jurors)
    assert re.search(r"strokes\s+4 \(\d+%\)", jurors)  # the stroke juror read the pad's strokes too
    assert "strokes: 4" in verdict(page)
    expect(page.locator("#view img")).to_be_visible()


def test_clearing_the_canvas_clears_the_verdict_and_the_next_digit_is_read(page):
    # Digits of few strokes points: a pressed mouse move costs ~0.15 s of software rendering.
    read_drawing(page, STROKES[7], "7")
    clear_canvas(page)
    wait_for_verdict(page, lambda text: "draw a digit" in text.lower())
    expect(page.locator("#neighbours img")).to_have_count(0)
    read_drawing(page, STROKES[4], "4")


def test_an_unsure_reading_asks_which_digit_was_meant_and_saves_the_answer(page, app_server):
    # Where a 7 turns into a 1 as its bar is lowered into a flag (found by bisection on the pad,
    # whatever jury is shipped) the page must doubt and ask.
    seven, one, text = 0.0, 1.0, ""
    for _ in range(8):
        middle = (seven + one) / 2
        clear_canvas(page)
        wait_for_verdict(page, lambda text: "draw a digit" in text.lower())
        text = read_drawing(page, flagged_one(middle))
        if headline(text) in ("1 or 7?", "7 or 1?"):
            break
        assert headline(text) in ("1", "7"), text
        seven, one = (middle, one) if headline(text) == "7" else (seven, middle)
    assert headline(text) in ("1 or 7?", "7 or 1?"), text
    unsure = page.locator("#unsure")
    expect(unsure).to_be_visible()
    shot(page, "unsure")
    unsure.get_by_role("button", name="It's a 7").click()
    page.locator("#saved").get_by_text("Saved as a 7").wait_for(timeout=30_000)
    expect(unsure).to_be_hidden()
    mine = [row for row in stored_samples(app_server["feedback"]) if row["source"] == "sketch" and row["label"] == 7]
    assert mine and mine[-1]["image"].mode == "RGBA"


def test_correcting_an_answer_saves_the_sample(page, app_server):
    predicted = headline(read_drawing(page, STROKES[1]))
    right = "4" if predicted != "4" else "7"  # tell the jury it was wrong
    page.locator("#correction").get_by_text(right, exact=True).click()
    page.locator("#saved").get_by_text(f"Saved as a {right}").wait_for(timeout=30_000)
    shot(page, "correction_saved")
    mine = [row for row in stored_samples(app_server["feedback"])
            if row["source"] == "sketch" and row["label"] == int(right)]
    assert mine and mine[-1]["predicted"] == int(predicted[0])
    assert mine[-1]["image"].mode == "RGBA"  # the canvas as drawn, transparent background kept


def test_the_dataset_tab_shows_the_feedback_as_pictures(page, app_server):
    read_drawing(page, STROKES[4], "4")
    page.locator("#confirm").click()
    page.locator("#saved").get_by_text("Saved as a 4").wait_for(timeout=30_000)
    page.get_by_role("tab", name="Dataset").click()
    expect(page.locator("#dataset-summary")).to_contain_text("samples")
    expect(page.locator("#latest img").first).to_be_visible()
    assert "4" in page.locator("#latest").inner_text()
    for plot in ("#per-digit", "#confusions"):
        expect(page.locator(f"{plot} canvas, {plot} svg").first).to_be_visible()
    expect(page.locator("#history")).to_contain_text("%")
    shot(page, "dataset_tab")


def test_undo_takes_back_the_last_stroke_and_the_drawing_is_read_again(page):
    read_drawing(page, STROKES[7], "7")
    draw(page, STROKES[1], width=60, left=40)  # a 1 left of the 7: "17"
    wait_for_verdict(page, lambda text: headline(text) == "17")
    undo(page)
    wait_for_verdict(page, lambda text: headline(text) == "7")
    undo(page)
    wait_for_verdict(page, lambda text: "draw a digit" in text.lower())


def test_a_number_drawn_stroke_after_stroke_without_pause_is_read_from_the_last_picture(page):
    # Four digits, nine strokes, no waiting between them: readings overlap, and whatever the
    # pad sent in between, the verdict that stays is the whole number.
    for digit, left in zip((2, 0, 2, 6), (20, 160, 300, 440)):
        draw(page, STROKES[digit], left=left)
    wait_for_verdict(page, lambda text: headline(text) == "2026")
    page.wait_for_timeout(1500)  # a stale answer arriving late would replace it
    assert headline(verdict(page)) == "2026"


def test_the_pads_strokes_are_not_kept_in_the_browsers_run_history(page):
    read_drawing(page, STROKES[7], "7")
    draw(page, STROKES[1], width=60, left=40)
    wait_for_verdict(page, lambda text: headline(text) == "17")
    history = page.evaluate("() => Object.keys(localStorage).filter(key => key.startsWith('gradio:run-history:'))"
                            ".map(key => [key, localStorage.getItem(key)])")
    assert not [value for key, value in history if value not in ("[]", "null")], history


def test_a_finger_draws_a_digit_on_a_phone_and_the_page_does_not_scroll(browser, app_server):
    page = open_page(browser, app_server["url"], **PHONE, touch=True)
    try:
        pad = page.locator("#sketchpad canvas").bounding_box()
        assert pad["x"] >= 0 and pad["x"] + pad["width"] <= PHONE["width"]  # the pad fits the screen
        page.locator("#sketchpad canvas").scroll_into_view_if_needed()
        before = page.evaluate("() => window.scrollY")
        draw_with_finger(page, STROKES[7], width=90, height=150)
        wait_for_verdict(page, lambda text: headline(text) == "7")
        assert page.evaluate("() => window.scrollY") == before  # drawing did not scroll the page
        # nothing overflows sideways
        assert page.evaluate("() => document.documentElement.scrollWidth") <= PHONE["width"]
        verdict_box = page.locator("#verdict").bounding_box()
        assert verdict_box["y"] - pad["y"] < PHONE["height"]  # the verdict is under the pad, not screens away
        expect(page.locator("#neighbours img")).to_have_count(5)
        shot(page, "phone")
    finally:
        page.close()


def upload(page, path) -> str:
    page.get_by_role("tab", name="Upload").click()
    before = verdict(page)
    page.locator("#upload input[type=file]").set_input_files(str(path))
    return wait_for_verdict(page, lambda text: text != before)


def test_an_uploaded_picture_is_read(page, tmp_path):
    path = tmp_path / "four.png"
    Image.fromarray(draw_strokes(4, canvas=(500, 500), box=(60, 200, 150, 230))).save(path)
    assert headline(upload(page, path)) == "4"
    assert "strokes" not in page.locator("#jurors").inner_text()  # a picture has no strokes: the pixel jurors alone
    shot(page, "uploaded_four")


@pytest.mark.parametrize("name, data, words", [
    ("notes.png", b"shopping list: milk, eggs" * 10, "not an image"),
    ("cut.png", (PROJECT / "digit" / "page" / "examples" / "sketch_2.png").read_bytes()[:900], "broken image"),
])
def test_a_broken_upload_gets_a_clear_message(page, tmp_path, name, data, words):
    path = tmp_path / name
    path.write_bytes(data)
    assert words in upload(page, path).lower()
