"""The drawing pad: a 2D canvas of our own on gr.HTML that sends one small drawing per stroke.

gr.Sketchpad (Gradio's image editor) exports and uploads the background, every layer and the
composite of a WebGL canvas after each stroke, then does it again when the server answers:
~20 requests and 1.3-1.5 s from mouse-up to verdict in a GPU-less browser (README, Limits).
This pad draws with pointer events (mouse, pen, finger; the page does not scroll while a
finger draws), keeps the strokes for undo, and after each stroke sets its value to what
digit/reading/pad.py describes: a PNG data URL of the ink's box (at most PAD.sent_side px on its long
side), the strokes as drawn (Quick, Draw!'s raw format) and the browser's id, in one request.
Setting props.value fires `change` by itself (calling trigger("change") as well would run the
handler twice); with trigger_mode="always_last" a stroke drawn while a reading is on its way is
read next, from the newest value. An empty pad's value is null.
"""

from __future__ import annotations

from typing import Any

import gradio as gr
from gradio.i18n import I18nData

from digit.reading.pad import PAD
from digit.page.languages import LANGUAGES, Words

# The pad's own words, in the browser's language (navigator.language, as Gradio's frontend picks
# it): the template is a JS template string, filled in again at each render, with words = the
# pad's `words` prop ({language: {name: words}}, from digit/page/languages.py).
PAD_WORDS = ("pad_canvas", "pad_undo", "pad_undo_name", "pad_undo_hint", "pad_clear", "pad_clear_name",
             "pad_clear_hint")


def _said(key: str) -> str:
    return f'${{(words[navigator.language.split("-")[0]] || words.{LANGUAGES[0]}).{key}}}'


TEMPLATE = f"""
<div class="pad">
  <div class="pad-label">${{label}}</div>
  <canvas width="${{width}}" height="${{height}}" aria-label="{_said("pad_canvas")}"></canvas>
  <div class="pad-tools">
    <button type="button" class="pad-undo" aria-label="{_said("pad_undo_name")}"
            title="{_said("pad_undo_hint")}">{_said("pad_undo")}</button>
    <button type="button" class="pad-clear" aria-label="{_said("pad_clear_name")}"
            title="{_said("pad_clear_hint")}">{_said("pad_clear")}</button>
  </div>
</div>
"""

CSS = """
.pad { display: flex; flex-direction: column; gap: 6px; }
.pad-label { font-size: var(--block-label-text-size); color: var(--block-label-text-color); }
canvas {
  width: 100%; height: auto; aspect-ratio: ${width} / ${height}; display: block;
  background: #fff; border: 1px solid var(--border-color-primary); border-radius: var(--radius-lg);
  touch-action: none; cursor: crosshair; user-select: none; -webkit-user-select: none;
}
.pad-tools { display: flex; gap: 8px; }
.pad-tools button {
  padding: 4px 12px; border-radius: var(--radius-md); border: 1px solid var(--border-color-primary);
  background: var(--button-secondary-background-fill); color: var(--button-secondary-text-color);
  font-size: var(--text-md); cursor: pointer;
}
.pad-tools button:hover { background: var(--button-secondary-background-fill-hover); }
"""

# Runs once when the pad is rendered (gr.HTML's js_on_load: element, props, trigger, ...).
JS = """
const canvas = element.querySelector("canvas");
const ink = canvas.getContext("2d");
const radius = props.brush, side = props.side, margin = props.margin;
// each {points: [[x, y], ...], box: [x0, y0, x1, y1]} in canvas pixels, and as sent: raw [[x...], [y...], [t...]]
// (whole pixels on the canvas, a point only where the pen moved one; t: the event's time in ms)
const strokes = [];
let drawing = null, pointer = null;

// This browser's id, kept in its localStorage (a fresh one each page if storage is off).
function browserId() {
  const fresh = () => Array.from(crypto.getRandomValues(new Uint8Array(16)),
                                 (byte) => byte.toString(16).padStart(2, "0")).join("");
  try {
    let id = localStorage.getItem("digit-jury:browser");
    if (!/^[0-9a-f]{32}$/.test(id || "")) { id = fresh(); localStorage.setItem("digit-jury:browser", id); }
    return id;
  } catch (error) { return fresh(); }
}
const browser = browserId();

function style(context, scale) {
  context.lineWidth = 2 * radius * scale; context.lineCap = "round"; context.lineJoin = "round";
  context.strokeStyle = "#000"; context.fillStyle = "#000";
}
function paint(context, points) {
  context.beginPath();
  context.moveTo(points[0][0], points[0][1]);
  for (const [x, y] of points.slice(1)) context.lineTo(x, y);
  if (points.length === 1) context.lineTo(points[0][0] + 0.01, points[0][1]);  // a dot
  context.stroke();
}
function redraw() {
  ink.clearRect(0, 0, canvas.width, canvas.height);
  style(ink, 1);
  for (const stroke of strokes) paint(ink, stroke.points);
}
// What is sent: the strokes drawn again, as vectors, into the ink's box with a margin,
// scaled so the long side is at most `side` px (a transparent background, black ink).
function picture() {
  if (!strokes.length) return "";
  const x0 = Math.max(0, Math.min(...strokes.map(s => s.box[0])) - margin);
  const y0 = Math.max(0, Math.min(...strokes.map(s => s.box[1])) - margin);
  const x1 = Math.min(canvas.width, Math.max(...strokes.map(s => s.box[2])) + margin);
  const y1 = Math.min(canvas.height, Math.max(...strokes.map(s => s.box[3])) + margin);
  const scale = Math.min(1, side / Math.max(x1 - x0, y1 - y0));
  const out = document.createElement("canvas");
  out.width = Math.max(1, Math.round((x1 - x0) * scale));
  out.height = Math.max(1, Math.round((y1 - y0) * scale));
  // A canvas in memory, not on the GPU: reading it back for the PNG is then a copy, not a
  // GPU round trip (40-160 ms with a software GPU, as in headless Chromium).
  const context = out.getContext("2d", {willReadFrequently: true});
  context.setTransform(scale, 0, 0, scale, -x0 * scale, -y0 * scale);
  style(context, 1);
  for (const stroke of strokes) paint(context, stroke.points);
  return out.toDataURL("image/png");
}
// The strokes as drawn, times in ms since the first point still on the pad.
function raw() {
  const start = strokes[0].raw[2][0];
  return strokes.map(({raw: [xs, ys, ts]}) => [xs.slice(), ys.slice(), ts.map((t) => t - start)]);
}
function send() {  // fires "change" by itself
  props.value = strokes.length ? {image: picture(), strokes: raw(), browser: browser} : null;
}
function record(point, time) {
  const [xs, ys, ts] = drawing.raw, n = xs.length;
  const x = Math.min(canvas.width, Math.max(0, Math.round(point[0])));
  const y = Math.min(canvas.height, Math.max(0, Math.round(point[1])));
  if (n && xs[n - 1] === x && ys[n - 1] === y) return;
  xs.push(x); ys.push(y); ts.push(Math.max(Math.round(time), n ? ts[n - 1] : 0));
}

function at(event) {
  const area = canvas.getBoundingClientRect();
  return [(event.clientX - area.left) * canvas.width / area.width,
          (event.clientY - area.top) * canvas.height / area.height];
}
function extend(point, time) {
  const stroke = drawing, last = stroke.points[stroke.points.length - 1];
  stroke.points.push(point);
  record(point, time);
  stroke.box = [Math.min(stroke.box[0], point[0] - radius), Math.min(stroke.box[1], point[1] - radius),
                Math.max(stroke.box[2], point[0] + radius), Math.max(stroke.box[3], point[1] + radius)];
  style(ink, 1);
  paint(ink, [last, point]);
}
canvas.addEventListener("pointerdown", (event) => {
  if (drawing || (event.pointerType === "mouse" && event.button !== 0)) return;
  event.preventDefault();
  canvas.setPointerCapture(event.pointerId);
  pointer = event.pointerId;
  const point = at(event);
  drawing = {points: [point], box: [point[0] - radius, point[1] - radius, point[0] + radius, point[1] + radius],
             raw: [[], [], []]};
  const before = strokes.length ? strokes[strokes.length - 1].raw[2] : [];
  record(point, Math.max(event.timeStamp, before.length ? before[before.length - 1] : 0));
  style(ink, 1);
  paint(ink, [point]);
});
canvas.addEventListener("pointermove", (event) => {
  if (!drawing || event.pointerId !== pointer) return;
  event.preventDefault();
  const events = event.getCoalescedEvents ? event.getCoalescedEvents() : [];
  for (const each of (events.length ? events : [event])) extend(at(each), each.timeStamp);
});
function finish(event) {
  if (!drawing || event.pointerId !== pointer) return;
  strokes.push(drawing);
  drawing = null; pointer = null;
  send();
}
canvas.addEventListener("pointerup", finish);
canvas.addEventListener("pointercancel", finish);
canvas.addEventListener("contextmenu", (event) => event.preventDefault());
element.querySelector(".pad-undo").addEventListener("click", () => {
  if (!strokes.length) return;
  strokes.pop(); redraw(); send();
});
element.querySelector(".pad-clear").addEventListener("click", () => {
  strokes.length = 0; redraw(); send();
});
canvas.dataset.ready = "true";  // the canvas is in the page before this script runs: say when it draws
"""


class DrawingPad(gr.HTML):
    """Gradio's sketchpad for this app: draws on a canvas in the browser, sends one value a stroke.

    Its value is the drawing as digit/reading/pad.py describes it (None when the pad is empty); the
    handler reads it with PadDrawing.from_value, which refuses anything else."""

    def __init__(self, label: str | I18nData = "Draw a digit", **kwargs: Any):
        super().__init__(value=None, html_template=TEMPLATE, css_template=CSS, js_on_load=JS,
                         apply_default_css=False, label=label, show_label=False, width=PAD.width,
                         height=PAD.height, brush=PAD.brush, side=PAD.sent_side, margin=PAD.margin,
                         words={language: {key: Words(language)(key) for key in PAD_WORDS} for language in LANGUAGES},
                         **kwargs)

    def preprocess(self, payload: Any) -> Any:
        """The value as sent: the handler reads it with PadDrawing.from_value, so that a refusal
        is shown as the verdict (an error off the queue would not show on the page)."""
        return payload

    def postprocess(self, value: Any) -> Any:
        return value

    def api_info(self) -> dict[str, Any]:
        return {"type": "object", "description": 'the drawing: {"image": a PNG data URL, "strokes": [[[x...], [y...], '
                                                 '[t...]], ...], "browser": 32 hex digits}, or null when empty'}
