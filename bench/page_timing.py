"""The page's own speed, measured in the browser: `python -m bench.page_timing`.

- mouse-up to verdict: 50 single-stroke digits drawn with the mouse on the real pad over an
  emulated home connection (HOME_CONNECTION: 80 ms round trip, 5/20 Mbit/s), the pad cleared
  between them; the time from the pointer's release to the new verdict on the page, both
  taken inside the page (performance.now), so the driver's own round trips are not counted;
  the HTTP requests each stroke caused, and the strokes that never got a verdict (lost).
- the Dataset tab with 10,000 samples: from the click on the tab to its gallery's pictures
  and both plots on screen; and the tab's handler alone, in process.
Prints one JSON object.
"""

from __future__ import annotations

import argparse
import io
import json
import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
from PIL import Image

from testing.browser import HOME_CONNECTION, clear_canvas, draw, headline, launch, open_page, wait_for_verdict
from testing.local_app import running_app
from testing.renderings import STROKES, draw_strokes
from digit.feedback.samples import FEATURES, png_bytes, sample_of, write_shard

WATCH = """() => {
  const timing = window.__timing = {released: null, read: null, text: ""};
  document.addEventListener("pointerup", () => { timing.released = performance.now(); timing.read = null; }, true);
  const verdict = document.querySelector('#verdict [data-testid="markdown"]');
  new MutationObserver(() => {
    const text = verdict.innerText.trim();
    if (timing.released !== null && timing.read === null && /^\\d/.test(text)) {
      timing.read = performance.now(); timing.text = text;
    }
  }).observe(verdict, {subtree: true, childList: true, characterData: true});
}"""


def percentiles(values: list[float]) -> dict:
    return {f"p{p}": round(float(np.percentile(values, p)), 1) for p in (50, 95)} | {"count": len(values)}


def stroke_to_verdict(url: str, strokes: int = 50, network: dict | None = HOME_CONNECTION) -> dict:
    from playwright.sync_api import sync_playwright

    digits = [digit for digit in range(10) if len(STROKES[digit]) == 1]
    times, requests, wrong, lost = [], [], 0, 0
    with sync_playwright() as playwright:
        browser = launch(playwright)
        page = open_page(browser, url, network=network)
        sent: list[str] = []
        page.on("request", lambda request: sent.append(request.url))
        draw(page, STROKES[1])  # a first reading warms the server and the page
        wait_for_verdict(page, lambda text: headline(text) != "" and headline(text)[0].isdigit())
        page.evaluate(WATCH)
        for index in range(strokes):
            clear_canvas(page)
            wait_for_verdict(page, lambda text: not text.strip()[:1].isdigit())
            page.wait_for_timeout(100)  # the clear's own request is done
            before = len(sent)
            digit = digits[index % len(digits)]
            draw(page, STROKES[digit])
            try:
                page.wait_for_function("() => window.__timing.read !== null", timeout=10_000)
            except Exception:  # noqa: BLE001 - playwright's TimeoutError: no verdict for this stroke
                lost += 1
                continue
            timing = page.evaluate("() => window.__timing")
            page.wait_for_timeout(150)  # anything the answer makes the page fetch
            times.append(timing["read"] - timing["released"])
            requests.append(len(sent) - before)
            wrong += not timing["text"].startswith(str(digit))
        browser.close()
    return {**percentiles(times), "misread": wrong, "lost": lost, "unit": "ms",
            "requests_per_stroke": {"max": max(requests, default=0), "mean": round(float(np.mean(requests or [0])), 2)},
            "network": "home connection emulated (RTT 80 ms, 5/20 Mbit/s)" if network else "loopback"}


def filled_feedback(folder: Path, samples: int) -> Path:
    """A feedback folder of samples drawn digits in shards of 1,000, as a merged store holds them
    (with the normalised digit each flag stores)."""
    rng = np.random.default_rng(0)
    pictures, digits = [], []
    for index in range(50):
        drawing = draw_strokes(index % 10, canvas=(300, 300), width=int(rng.integers(8, 24)),
                               slant=float(rng.uniform(-0.2, 0.3)))
        buffer = io.BytesIO()
        Image.fromarray(drawing).save(buffer, format="PNG", compress_level=1)
        pictures.append(buffer.getvalue())
        digits.append(png_bytes(sample_of(drawing).digit))
    data = folder / "data"
    data.mkdir(parents=True)
    for start in range(0, samples, 1000):
        rows = [{"id": f"{index:032x}", "image": {"bytes": pictures[index % 50], "path": None},
                 "digit": {"bytes": digits[index % 50], "path": None}, "label": index % 10,
                 "predicted": (index % 10) if index % 7 else (index * 3) % 10, "confidence": 0.8,
                 "model_version": "bench", "source": "sketch", "created_at": f"2026-11-27T00:00:{index % 60:02d}"}
                for index in range(start, min(start + 1000, samples))]
        write_shard(data, pa.Table.from_pylist(rows, schema=FEATURES.arrow_schema))
    return folder


OPEN_TAB = """async () => {
  const start = performance.now();
  [...document.querySelectorAll('button[role="tab"]')].find(b => b.innerText.trim() === "Dataset").click();
  const ready = () => document.querySelectorAll('#latest img').length >= 24 &&
      [...document.querySelectorAll('#latest img')].slice(0, 24).every(img => img.complete && img.naturalWidth > 0) &&
      document.querySelector('#per-digit canvas, #per-digit svg') && document.querySelector('#confusions canvas, #confusions svg') &&
      /\\d+ samples/.test(document.querySelector('#dataset-summary').innerText.replace(/,/g, ''));
  while (!ready()) { await new Promise(r => setTimeout(r, 5)); if (performance.now() - start > 60000) return -1; }
  return performance.now() - start;
}"""


def dataset_tab(samples: int = 10_000, visits: int = 5) -> dict:
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as scratch:
        feedback = filled_feedback(Path(scratch) / "feedback", samples)
        with running_app(Path(scratch) / "app", environment={"FEEDBACK_DIR": str(feedback)}) as app:
            with sync_playwright() as playwright:
                browser = launch(playwright)
                times = []
                for _ in range(visits):  # a fresh page each time: a visitor opening the tab
                    page = open_page(browser, app["url"])
                    times.append(page.evaluate(OPEN_TAB))
                    page.close()
                browser.close()
        handler = _handler_time(feedback)
    return {"samples": samples, "first_visit_ms": round(times[0], 1), **percentiles(times[1:] or times),
            "handler_ms": handler, "unit": "ms"}


def _handler_time(feedback: Path) -> float:
    import os

    os.environ["FEEDBACK_DIR"] = str(feedback)
    from digit.page import state
    from digit.page.dataset_tab import dataset_view

    state.flagging.cache_clear()
    dataset_view()
    start = time.perf_counter()
    for _ in range(5):
        dataset_view()
    return round((time.perf_counter() - start) / 5 * 1000, 1)


def main() -> None:
    parser = argparse.ArgumentParser(description="Mouse-up to verdict, and the Dataset tab at 10,000 samples.")
    parser.add_argument("--strokes", type=int, default=50)
    parser.add_argument("--samples", type=int, default=10_000)
    arguments = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch, running_app(Path(scratch)) as app:
        strokes = stroke_to_verdict(app["url"], arguments.strokes)
    print(json.dumps({"stroke_to_verdict": strokes, "dataset_tab": dataset_tab(arguments.samples)}))


if __name__ == "__main__":
    main()
