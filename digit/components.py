"""A Gradio component tuned for this app."""

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
