"""Small pictures sent inside the answer: the 28x28 digit the jury read and its neighbours.

gr.Image and gr.Gallery write each output picture to a file that the browser then fetches:
six more requests after every stroke for a few hundred bytes each. These pictures are tiny
(28x28 PNGs, enlarged by the browser pixel for pixel), so they travel in the answer itself
as data URLs, and a stroke costs the page no request beyond its own event.
"""

from __future__ import annotations

import base64
from typing import Any, Sequence

import cv2
import gradio as gr
import numpy as np

TEMPLATE = """
<div class="pictures">
  {{#if label}}<div class="pictures-label">{{label}}</div>{{/if}}
  <div class="pictures-row">
  {{#each value}}
    <figure><img src="{{this.src}}" alt="{{this.caption}}"><figcaption>{{this.caption}}</figcaption></figure>
  {{/each}}
  </div>
</div>
"""

CSS = """
.pictures-label { font-size: var(--block-label-text-size); color: var(--block-label-text-color); margin-bottom: 4px; }
.pictures-row { display: flex; flex-wrap: wrap; gap: 8px; }
figure { margin: 0; text-align: center; font-size: var(--text-sm); }
img { height: ${side}px; width: auto; image-rendering: pixelated; border: 1px solid var(--border-color-primary);
      border-radius: var(--radius-sm); background: #fff; display: block; }
"""


def png_data_url(pixels: np.ndarray) -> str:
    """A grey picture as a PNG data URL."""
    ok, encoded = cv2.imencode(".png", np.ascontiguousarray(pixels))
    if not ok:
        raise ValueError("could not encode the picture as PNG")
    return "data:image/png;base64," + base64.b64encode(encoded.tobytes()).decode("ascii")


class InlinePictures(gr.HTML):
    """A row of small captioned pictures, sent as data URLs in the answer. Its value: a list
    of (grey uint8 array, caption) pairs, or None for none."""

    def __init__(self, label: str | None = None, side: int = 84, **kwargs: Any):
        super().__init__(value=None, html_template=TEMPLATE, css_template=CSS, apply_default_css=False,
                         label=label, show_label=False, side=side, **kwargs)

    def postprocess(self, value: Sequence[tuple[np.ndarray, str]] | None) -> list[dict] | None:  # type: ignore[override]
        if not value:
            return []
        return [{"src": png_data_url(pixels), "caption": caption} for pixels, caption in value]

    def api_info(self) -> dict[str, Any]:
        return {"type": "array", "items": {"type": "object", "properties": {"src": {"type": "string"},
                                                                             "caption": {"type": "string"}}}}
