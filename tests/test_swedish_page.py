"""The page in a Swedish browser shows no English in its own components, on any tab, before and
after a reading; in an English browser it shows English, and no Swedish. The API answers in
English whatever the client asks for.

Needs Debian's chromium (`make browser`); without it the browser tests skip and say why (in CI: fail).
"""

from __future__ import annotations

import re

import httpx

from digit.page.languages import TEXTS
from helpers import browser_api
from testing.browser import draw, headline, open_page, wait_for_verdict
from testing.languages import is_english, is_swedish
from testing.local_app import file_data, png_data_url
from testing.renderings import STROKES

# Gradio 6.31's own labels (screen-reader and tooltip texts of its tables, galleries and upload
# buttons) that its Swedish translation lacks: Gradio's chrome, not this page's texts.
# Vega (Gradio's plots) describes each plot for screen readers in English, each point with the
# axes' titles and the colour's column name: "X-axis titled 'siffra' for a discrete scale ...",
# "läst som: 7; ritad: 7; samples: 1".
GRADIO_UNTRANSLATED = re.compile(r"^@(aria-label|title): (Empty value|Table actions|Copy table data|Fullscreen|"
                                 r"Download All|Thumbnail \d+ of \d+|Upload file|Capture from camera|"
                                 r"Paste from clipboard|Gradio footer navigation|"
                                 r"(X-axis|Y-axis|Symbol legend|Gradient legend) titled '.*' for .*|"
                                 r"[^\W\d][^\W\d ]*( [^\W\d]+)*: [0-9.]+(; [^\W\d]+( [^\W\d]+)*: [0-9.]+)*)$")
# Every visible text on the page (not the screen-reader-only status line, where Gradio 6.31 says
# its untranslated key "common.complete" in Swedish), and the
# aria-label, title, placeholder and alt texts of visible elements, prefixed "@name: ".
VISIBLE_TEXTS = """() => {
  const out = [];
  const seen = (el) => el && el.checkVisibility({checkOpacity: true, checkVisibilityCSS: true})
                       && !el.closest(".sr-only");
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  while (walker.nextNode()) {
    const text = walker.currentNode.textContent.trim();
    if (text && seen(walker.currentNode.parentElement)) out.push(text);
  }
  for (const el of document.querySelectorAll("[aria-label], [title], [placeholder], img[alt]")) {
    if (!seen(el)) continue;
    for (const name of ["aria-label", "title", "placeholder", "alt"]) {
      const value = (el.getAttribute(name) || "").trim();
      if (value) out.push(`@${name}: ${value}`);
    }
  }
  return out;
}"""

playwright_api = browser_api()  # or the module skips and says why (in CI: fails)
expect = playwright_api.expect
expect.set_options(timeout=20_000)


def every_text(page, language: int) -> list[str]:
    """What the page shows on each tab and sub-tab in turn (tab names in LANGUAGES[language]),
    ending on the drawing pad."""
    texts = []
    for key in ("upload_tab", "dataset_tab", "check_tab", "read_tab", "draw_tab"):
        page.get_by_role("tab", name=TEXTS[key][language], exact=True).click()
        page.wait_for_timeout(300)
        if key == "dataset_tab":  # its plots draw their titles
            expect(page.locator("#per-digit svg text").first).to_be_attached()
        texts += page.evaluate(VISIBLE_TEXTS)
    return texts


def english_in(texts: list[str]) -> list[str]:
    return [text for text in texts if is_english(text) and not GRADIO_UNTRANSLATED.match(text)]


def test_a_swedish_browser_sees_no_english_on_any_tab_before_and_after_a_reading(browser, app_server):
    page = open_page(browser, app_server["url"], locale="sv-SE")
    try:
        expect(page.locator("body")).to_contain_text("Modell ")  # the model line as the page loaded
        before = every_text(page, 1)
        draw(page, STROKES[7])
        text = wait_for_verdict(page, lambda text: headline(text) == "7")
        assert "säker" in text
        page.locator("#confirm").click()
        page.locator("#saved").get_by_text("Sparad som en 7:a").wait_for(timeout=30_000)
        after = page.evaluate(VISIBLE_TEXTS) + every_text(page, 1)
        texts = before + after
        # what the Swedish page is made of, all there
        for expected in ("Läs en siffra", "Datamängd", "Granska dessa", "↶ Ångra", "✕ Rensa", "jurymedlem",
                         "Prov per siffra", "Uppdatera", "Jag kan inte avgöra", "Klicka för att ladda upp"):
            assert any(expected in text for text in texts), expected
        assert english_in(texts) == [], '\n'.join(english_in(texts))
    finally:
        page.close()


def test_an_english_browser_sees_the_english_page_and_no_swedish(browser, app_server):
    page = open_page(browser, app_server["url"], locale="en-US")
    try:
        expect(page.locator("body")).to_contain_text("Model ")
        draw(page, STROKES[7])
        assert "confident" in wait_for_verdict(page, lambda text: headline(text) == "7")
        texts = page.evaluate(VISIBLE_TEXTS) + every_text(page, 0)
        for expected in ("Read a digit", "Dataset", "Check these", "↶ Undo", "✕ Clear", "juror", "forest",
                         "Samples per digit", "Refresh", "I can't tell"):
            assert any(expected in text for text in texts), expected
        swedish = [text for text in texts if is_swedish(text)]
        assert swedish == [], '\n'.join(swedish)
    finally:
        page.close()


def test_the_api_refuses_in_english_whatever_language_the_client_asks_for(app_server):
    not_png = png_data_url(b"<html>not a picture</html>")
    with httpx.Client(base_url=app_server["url"], headers={"Accept-Language": "sv-SE,sv"}, timeout=60) as http:
        answer = http.post("gradio_api/run/classify", json={"data": [file_data(not_png)]})
    assert answer.json()["error"].startswith("Not an image")
