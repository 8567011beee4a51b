"""Gradio pieces tuned for this app: an image input and a page script."""

from __future__ import annotations

import base64
import binascii
from pathlib import Path

import gradio as gr
from gradio.utils import get_upload_folder

from digit.images import MAX_FILE_BYTES, BadImage, Picture, read_picture


class UploadedImage(gr.Image):
    """gr.Image that hands the uploaded file's path over without opening it.

    With type="filepath" and no image_mode, gr.Image's own preprocess opens every upload with
    PIL (in any of Pillow's ~40 formats) only to return the same path; a truncated, renamed or
    hostile file then fails inside Gradio with a bare "Error", and a base64 data URL is decoded
    and written again as WebP. Here the path goes to digit.images, which decodes it once, in the
    formats we read, with its limits, and says what is wrong. Only files Gradio received are
    handed over: Gradio moves an input's files into its upload folder (refusing any other path)
    before preprocess, and this checks again.
    """

    is_template = True  # rendered by the frontend's ordinary Image component

    def preprocess(self, payload) -> str | bytes | None:
        if payload is None:
            return None
        if payload.url and payload.url.startswith("data:"):
            return _data_url_bytes(payload.url)
        if not payload.path:
            return None
        path = Path(payload.path).resolve()
        if not path.is_relative_to(Path(get_upload_folder()).resolve()):
            raise gr.Error("Upload the image first: only uploaded files are read.", print_exception=False)
        return str(path)


class DrawingPad(gr.Sketchpad):
    """gr.Sketchpad that hands over only what is drawn, decoded once, as a Picture.

    gr.Sketchpad's own preprocess decodes the background, every layer and the composite on
    each event and re-encodes them (for type="filepath"); with a verdict on every stroke that
    is most of a request's work. The composite is all we read: RGBA, transparent background.
    """

    def get_block_name(self) -> str:
        return "imageeditor"  # the frontend of gr.Sketchpad

    def preprocess(self, payload) -> Picture | None:
        if payload is None:
            return None
        if payload.id is not None:  # the canvas was sent ahead as blobs
            cached = self.blob_storage.pop(payload.id, None)
            composite = cached.composite if cached else None
        else:
            composite = payload.composite
        if composite is None:
            return None
        try:
            return read_picture(composite.path if hasattr(composite, "path") else bytes(composite))
        except BadImage as error:  # a canvas is always a PNG; say so if it is not
            raise gr.Error(f"The drawing could not be read: {error}", print_exception=False) from None


def _data_url_bytes(url: str) -> bytes:
    """The bytes of a base64 data URL (an API client may send one), as sent: not decoded as a picture."""
    header, _, data = url.partition(",")
    if len(data) > MAX_FILE_BYTES * 4 // 3 + 4:
        raise gr.Error(f"File too large (limit {MAX_FILE_BYTES // 2**20} MB).", print_exception=False)
    try:
        return base64.b64decode(data, validate=True) if header.endswith(";base64") else data.encode()
    except (binascii.Error, ValueError):
        raise gr.Error("Not an image: the data URL is not valid base64.", print_exception=False) from None


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
