"""Gradio pieces tuned for this app: the upload input (the drawing pad is digit/page/drawing_pad.py)."""

from __future__ import annotations

from pathlib import Path

import gradio as gr
from gradio.utils import get_upload_folder

from digit.reading.images import BadImage, data_url_bytes
from digit.page.texts import sentence


class UploadedImage(gr.Image):
    """gr.Image that hands the uploaded file's path over without opening it.

    With type="filepath" and no image_mode, gr.Image's own preprocess opens every upload with
    PIL (in any of Pillow's ~40 formats) only to return the same path; a truncated, renamed or
    hostile file then fails inside Gradio with a bare "Error", and a base64 data URL is decoded
    and written again as WebP. Here the path goes to digit.reading.images, which decodes it once, in the
    formats we read, with its limits, and says what is wrong. Only files Gradio received are
    handed over: Gradio moves an input's files into its upload folder (refusing any other path)
    before preprocess, and this checks again.
    """

    is_template = True  # rendered by the frontend's ordinary Image component

    def preprocess(self, payload) -> str | bytes | None:
        if payload is None:
            return None
        try:
            return received(payload.path, payload.url)
        except BadImage as error:
            raise gr.Error(sentence(str(error)), print_exception=False) from None


def received(path: str | None, url: str | None) -> str | bytes | None:
    """What a client sent for an image, the one check for the page and the API: the bytes of a
    base64 data URL (refused by digit.reading.images when broken or too large: BadImage), or the path of
    a file uploaded to Gradio's upload folder (any other path on this machine is refused)."""
    if not path and isinstance(url, str) and url.startswith("data:"):
        return data_url_bytes(url)
    if not path:
        return None
    resolved = Path(path).resolve()
    if not resolved.is_relative_to(Path(get_upload_folder()).resolve()):
        raise gr.Error("Upload the image first: only uploaded files are read.", print_exception=False)
    return str(resolved)
