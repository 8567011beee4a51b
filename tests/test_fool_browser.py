""""Fool the jury" as visitors use it, in headless Chromium against the real app: a drawing the
jury reads right is stored with the digit asked for (source challenge); one that fools it is
stored and another visitor finds it in "Check these"; the tab's counts are the dataset's."""

from __future__ import annotations

import json
import re

import pytest

from digit.feedback.challenges import challenge_counts
from digit.model.store import CARD_FILE
from helpers import PROJECT, browser_api, stored_samples
from testing.browser import draw, open_page
from testing.local_app import running_app
from testing.renderings import STROKES

playwright_api = browser_api()  # or the module skips and says why (in CI: fails)
expect = playwright_api.expect
expect.set_options(timeout=20_000)
PAD = "#fool-pad"


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    # Behind one proxy, as on a Space: each browser context says who it is with X-Forwarded-For.
    with running_app(tmp_path_factory.mktemp("fool"), environment={"PROXY_HOPS": "1"}) as app:
        yield app


def open_fool_tab(browser, url: str, address: str):
    page = open_page(browser, url, headers={"X-Forwarded-For": address})
    page.get_by_role("tab", name="Fool the jury").click()
    page.locator(f"{PAD} canvas[data-ready]").wait_for()
    expect(page.locator("#fool-prompt")).to_contain_text("the jury reads wrong")
    return page


def asked(page) -> int:
    return int(re.search(r"Draw an? (\d)", page.locator("#fool-prompt").inner_text())[1])


def show_the_jury(page, digit: int) -> str:
    """Draw this digit's strokes on the tab's pad, show them to the jury; the verdict."""
    verdict = page.locator('#fool-verdict [data-testid="markdown"]')  # not Gradio's timer beside it
    before = verdict.inner_text()
    draw(page, STROKES[digit], pad=PAD)
    page.locator("#fool-submit").click()
    expect(verdict).not_to_have_text(before)
    expect(verdict).to_contain_text("Saved as a")
    return verdict.inner_text()


def shown_counts(page) -> dict[int, tuple[int, int]]:
    """The tab's table: digit -> (fooled, drawn)."""
    text = page.locator("#fool-counts").inner_text()
    rows = re.findall(r"^\s*(\d)\s+(\d+)\s+(\d+)\s+(?:\d+%|–)\s*$", text, re.MULTILINE)
    assert len(rows) == 10, text
    return {int(digit): (int(fooled), int(drawn)) for digit, fooled, drawn in rows}


def test_drawings_are_stored_with_the_digit_asked_for_and_one_that_fools_the_jury_is_put_to_others(browser, app):
    page = open_fool_tab(browser, app["url"], "192.0.2.10")
    assert page.get_by_role("button", name="Sign in with Hugging Face").count() == 0  # no login off a Space
    target = asked(page)
    verdict = show_the_jury(page, target)
    assert "Not fooled" in verdict, verdict
    [row] = stored_samples(app["feedback"])
    assert (row["label"], row["predicted"], row["source"]) == (target, target, "challenge")
    assert row["strokes"] and row["strokes"][0][2][0] == 0  # drawn on the pad, strokes kept

    page.wait_for_function(f"""() => {{  // the pad cleared itself for the next drawing
        const canvas = document.querySelector('{PAD} canvas');
        return !canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data.some(v => v); }}""")
    second = asked(page)
    other = 7 if second != 7 else 4  # a digit the jury reads as itself, not the one asked for
    verdict = show_the_jury(page, other)
    assert "Fooled!" in verdict and f"as a {other}" in verdict, verdict
    fooling = next(row for row in stored_samples(app["feedback"]) if row["predicted"] != row["label"])
    assert (fooling["label"], fooling["predicted"], fooling["source"]) == (second, other, "challenge")

    version = json.loads((app["models"] / CARD_FILE).read_text())["version"]  # the jury serving
    counts = challenge_counts(stored_samples(app["feedback"]), version)
    assert shown_counts(page) == {digit: (counts.fooled[digit], counts.drawn[digit]) for digit in range(10)}
    expect(page.locator("#fool-mine")).to_contain_text("You fooled this jury with 1 of your 2 drawings")
    (PROJECT / "artifacts" / "screenshots").mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(PROJECT / "artifacts" / "screenshots" / "fool_the_jury.png"), full_page=True)

    checker = open_page(browser, app["url"], headers={"X-Forwarded-For": "198.51.100.11"})
    checker.get_by_role("tab", name="Check these").click()
    expect(checker.locator("#check-question")).to_contain_text(f"this is a {second}")
    expect(checker.locator("#check-question")).to_contain_text(f"read it as a {other}")
    page.close()
    checker.close()
