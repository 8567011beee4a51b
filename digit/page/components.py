"""Gradio pieces tuned for this app: an image input and a page script."""

from __future__ import annotations

import gradio as gr


class UploadedImage(gr.Image):
    """gr.Image whose bad uploads reach our reader instead of failing inside Gradio.

    gr.Image opens every upload with PIL first; a truncated, renamed or hostile file then
    fails with a bare "Error". Handing its path on lets digit.preprocess say what is wrong.
    """

    is_template = True  # rendered by the frontend's ordinary Image component

    def preprocess(self, payload):
        try:
            return super().preprocess(payload)
        except Exception:  # noqa: BLE001 - any decoding failure: our reader explains it
            return None if payload is None else payload.path


# Gradio's Sketchpad opens, and comes back after "Clear canvas", with no drawing tool chosen
# ("select the draw tool to start"): a visitor's first strokes would do nothing. Whenever no
# tool is chosen, choose the brush. Runs once on page load (launch(js=...)).
CHOOSE_BRUSH_JS = """
() => {
  const chooseBrush = () => {
    const pad = document.querySelector("#sketchpad");
    const brush = pad && pad.querySelector('button[aria-label="Brush"]');
    if (brush && !pad.querySelector("button.highlight")) brush.click();
  };
  new MutationObserver(chooseBrush).observe(document.body, {childList: true, subtree: true, attributes: true,
                                                           attributeFilter: ["class"]});
  chooseBrush();
}
"""
