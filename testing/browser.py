"""Driving the page in headless Chromium as a visitor does, with the mouse or a finger: shared
by the browser tests and the bench (mouse-up to verdict). Debian's chromium (`make browser`);
playwright's own browser download does not work here."""

from __future__ import annotations

import itertools
import shutil
import time
import weakref
from collections import deque
from pathlib import Path

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
# Without the background-networking flags Chromium keeps calling Google's hosts, which this
# machine's closed network refuses. No GPU here: software drawing (--disable-gpu) costs a quarter less
# CPU than emulating one with SwiftShader (test_browser.py: 40 against 52 s of CPU), and the page needs no WebGL.
ARGUMENTS = ["--no-sandbox", "--disable-gpu",
             "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run",
             "--disable-quic"]
Strokes = list[list[tuple[float, float]]]  # pen strokes in a unit box, x right, y down


def have_chromium() -> bool:
    return Path(CHROMIUM).exists()


def launch(playwright):
    return playwright.chromium.launch(executable_path=CHROMIUM, args=ARGUMENTS)


# A home connection as Chrome's DevTools emulate it: 40 ms each way (80 ms round trip),
# 5 Mbit/s up, 20 Mbit/s down (throughputs in bytes per second).
HOME_CONNECTION = {"offline": False, "latency": 40, "uploadThroughput": 5e6 / 8, "downloadThroughput": 20e6 / 8}
PHONE = {"width": 390, "height": 844}  # an iPhone 12-15's viewport in CSS pixels
PAD_READY = "#sketchpad canvas[data-ready]"  # the pad's script has run: strokes are drawn and sent


def open_page(browser, url: str, width: int = 1280, height: int = 1100, touch: bool = False,
              network: dict | None = None, headers: dict[str, str] | None = None, locale: str = "en-US"):
    """A new tab on the app; touch: a phone-like context (touch events, mobile viewport);
    network: conditions to emulate (e.g. HOME_CONNECTION); headers: sent with every request
    (an X-Forwarded-For, to be another visitor of an app behind a proxy); locale: the browser's
    language (navigator.language and the Accept-Language header)."""
    context = browser.new_context(viewport={"width": width, "height": height}, has_touch=touch, is_mobile=touch,
                                  device_scale_factor=3 if touch else 1, extra_http_headers=headers, locale=locale)
    page = context.new_page()
    if network:
        cdp = context.new_cdp_session(page)
        cdp.send("Network.enable")
        cdp.send("Network.emulateNetworkConditions", network)
    page.on("close", lambda _: _close_quietly(context))
    _watch_calls(page)
    context.add_init_script(WATCH_PAD)
    page.goto(url)
    wait_until_ready(page)
    return page


def wait_until_ready(page, seconds: float = 20) -> None:
    """Until the pad's script runs and the page takes input: strokes drawn from then on are
    drawn and sent. On a busy machine Chromium once dropped every event of the first stroke
    after a reload (the pad saw none); hovering over the pad until the page sees the pointer
    makes sure it is listening first."""
    page.locator(PAD_READY).first.wait_for()
    area = page.locator("#sketchpad canvas").first.bounding_box()
    deadline = time.monotonic() + seconds
    corner = (area["x"] + 4, area["y"] + 4)
    for attempt in itertools.count():
        page.mouse.move(corner[0] + attempt % 2, corner[1])  # no button down: no ink
        if page.evaluate("window.__hovers"):
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"the page did not take the pointer within {seconds} s: {_landed(page, corner)}")
        page.wait_for_timeout(50)


# The page's last calls to the app (route, status or failure) and script errors: said when a
# verdict does not come.
_CALLS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
# The page's own count of the pointer events that reach a pad (moves and ends of strokes).
WATCH_PAD = ("window.__strokes = 0; window.__hovers = 0;"
             " const onPad = (event) => event.target.closest && event.target.closest('.pad');"
             " document.addEventListener('pointerup', (event) => { if (onPad(event)) window.__strokes += 1; }, true);"
             " document.addEventListener('pointermove', (event) => { if (onPad(event)) window.__hovers += 1; }, true);")


def _landed(page, point: tuple[float, float]) -> str:
    """What is under a point now, and where the pad is: said when input is lost."""
    return page.evaluate("""([x, y]) => {
        const hit = document.elementFromPoint(x, y);
        const canvas = document.querySelector('#sketchpad canvas'), now = canvas && canvas.getBoundingClientRect();
        return `under (${Math.round(x)}, ${Math.round(y)}): ${hit ? hit.outerHTML.slice(0, 80) : 'nothing'};`
          + ` the pad now at ${now ? [now.x, now.y, now.width, now.height].map(Math.round) : 'none'};`
          + ` visibility ${document.visibilityState}, focus ${document.hasFocus()}`; }""", list(point))


def _watch_calls(page) -> None:
    calls = _CALLS.setdefault(page, deque(maxlen=10))
    page.on("console", lambda message: message.type == "error" and calls.append(f"console: {message.text[:200]}"))
    page.on("pageerror", lambda error: calls.append(f"script error: {str(error)[:200]}"))
    page.on("response", lambda response: "/gradio_api/" in response.url and calls.append(
        f"{response.request.method} {response.url.split('/gradio_api/')[1][:40]}: {response.status}"))
    page.on("requestfailed", lambda request: "/gradio_api/" in request.url and calls.append(
        f"{request.method} {request.url.split('/gradio_api/')[1][:40]}: failed ({request.failure})"))


def _close_quietly(context) -> None:
    """A tab's own context goes with it (unless the whole browser is closing already)."""
    try:
        context.close()
    except Exception:  # noqa: BLE001 - playwright raises its own Error when the browser went first
        pass


def _screen_points(page, strokes: Strokes, width: float, height: float, left: float | None = None,
                   pad: str = "#sketchpad"):
    area = page.locator(f"{pad} canvas").first.bounding_box()
    left = area["x"] + area["width"] / 2 - width / 2 if left is None else area["x"] + left
    top = area["y"] + area["height"] / 2 - height / 2
    return [[(left + x * width, top + y * height) for x, y in thinned(stroke)] for stroke in strokes]


def pad_points(page, strokes: Strokes, width: int = 120, height: int = 190, left: float | None = None,
               pad: str = "#sketchpad") -> list[list[tuple[float, float]]]:
    """Where draw() puts the strokes' points, in the pad's own pixels (its canvas, not the screen)."""
    area, canvas = page.locator(f"{pad} canvas").first.bounding_box(), page.locator(f"{pad} canvas").first
    size = canvas.evaluate("canvas => [canvas.width, canvas.height]")
    return [[((x - area["x"]) * size[0] / area["width"], (y - area["y"]) * size[1] / area["height"]) for x, y in stroke]
            for stroke in _screen_points(page, strokes, width, height, left, pad)]


def draw(page, strokes: Strokes, width: int = 120, height: int = 190, steps: int = 1,
         left: float | None = None, pad: str = "#sketchpad") -> float:
    """Draw strokes with the mouse in the middle of the pad (or from `left` px into it);
    returns the time of the last mouse-up (time.perf_counter)."""
    released, ended = time.perf_counter(), page.evaluate("window.__strokes")
    for points in _screen_points(page, strokes, width, height, left, pad):
        page.mouse.move(*points[0])
        page.mouse.down()
        for point in points[1:]:
            page.mouse.move(*point, steps=steps)
        page.mouse.up()
        released = time.perf_counter()
        ended += 1
        if page.evaluate("window.__strokes") < ended:  # said now, not as a verdict that never came
            raise AssertionError(f"the pad did not get the stroke: {_landed(page, points[0])}")
    return released


def draw_with_finger(page, strokes: Strokes, width: int = 120, height: int = 190) -> None:
    """Draw strokes with one finger, as a phone's touch screen reports them (CDP touch events)."""
    cdp = page.context.new_cdp_session(page)
    for points in _screen_points(page, strokes, width, height):
        cdp.send("Input.dispatchTouchEvent", {"type": "touchStart", "touchPoints": [_touch(points[0])]})
        for point in points[1:]:
            cdp.send("Input.dispatchTouchEvent", {"type": "touchMove", "touchPoints": [_touch(point)]})
        cdp.send("Input.dispatchTouchEvent", {"type": "touchEnd", "touchPoints": []})
    cdp.detach()


def _touch(point: tuple[float, float]) -> dict:
    return {"x": point[0], "y": point[1], "radiusX": 4, "radiusY": 4, "force": 1, "id": 1}


def clear_canvas(page, pad: str = "#sketchpad") -> None:
    page.locator(pad).get_by_role("button", name="Clear").click()


def undo(page) -> None:
    page.locator("#sketchpad").get_by_role("button", name="Undo").click()


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
    toasts = page.locator(".toast-body").all_inner_texts()  # what Gradio said went wrong, if anything
    raise AssertionError(f"the verdict did not come within {seconds} s: {verdict(page)!r}; messages: {toasts}; "
                         f"strokes the pad got since the page loaded: {page.evaluate('window.__strokes')}; "
                         f"the page's last calls: {list(_CALLS.get(page, []))}")


def headline(text: str) -> str:
    """The verdict's first line: the digit, "5 or 6?", or a message."""
    return text.strip().splitlines()[0].strip() if text.strip() else ""


def thinned(stroke, step: float = 0.06) -> list:
    """The stroke's points (pairs, or rows of an array) at least `step` apart by |dx| + |dy| (default:
    in the unit box), its first and last kept: a mouse reports a point every few pixels, and each
    move costs the page a redraw."""
    kept = [stroke[0]]
    for index, point in enumerate(stroke[1:], 1):
        last = index == len(stroke) - 1
        if last or abs(point[0] - kept[-1][0]) + abs(point[1] - kept[-1][1]) >= step:
            kept.append(point)
    return kept
