"""Digit sketch classifier: draw or upload a digit, a jury of classical models reads it."""

from __future__ import annotations

import gradio as gr

from digit.page import actions
from digit.page.components import CHOOSE_BRUSH_JS, UploadedImage
from digit.page.serving import serve

with gr.Blocks(title="Digit jury") as demo:
    gr.Markdown(
        "# Digit jury\n"
        "Draw a digit or upload a photo of one. Three classical models — an RBF SVC, a k-NN and a "
        "random forest — each vote with their probabilities; the soft vote is the answer. "
        "When the jury is wrong, tell it the right digit: your correction trains the next model."
    )
    last_input = gr.State(None)
    with gr.Tab("Read a digit"):
        with gr.Row():
            with gr.Column():
                with gr.Tab("Draw"):
                    sketch = gr.Sketchpad(
                        label="Draw one digit", type="numpy", image_mode="RGBA", canvas_size=(400, 400),
                        brush=gr.Brush(default_size=18, colors=["#000000"], color_mode="fixed"),
                        elem_id="sketchpad",
                    )
                    read_sketch = gr.Button("Read my digit", variant="primary", elem_id="read-sketch")
                with gr.Tab("Upload"):
                    upload = UploadedImage(label="Photo, scan or screenshot of a digit", type="filepath",
                                           image_mode=None, sources=["upload", "webcam", "clipboard"],
                                           elem_id="upload")
                    gr.Examples(actions.example_files(), inputs=upload, label="Examples")
            with gr.Column():
                verdict = gr.Markdown(actions.WELCOME, elem_id="verdict")
                confidences = gr.Label(label="Confidence per digit", num_top_classes=3)
                view = gr.Image(label="What the jury saw (28x28)", interactive=False, height=180)
                with gr.Group():
                    confirm = gr.Button("✓ Right", elem_id="confirm")
                    correction = gr.Radio([str(d) for d in range(10)], label="Wrong? The digit is:",
                                          elem_id="correction")
                saved = gr.Markdown(elem_id="saved")
                gr.Markdown(actions.model_summary())
    with gr.Tab("Dataset") as dataset_tab:
        summary = gr.Markdown()
        refresh = gr.Button("Refresh")

    shown = [verdict, confidences, view, last_input]
    read_sketch.click(actions.show_sketch, sketch, shown, api_visibility="private")
    upload.change(actions.show_upload, upload, shown, api_visibility="private")
    confirm.click(actions.confirm, last_input, saved, api_visibility="private")
    correction.input(actions.correct, [last_input, correction], [saved, correction], api_visibility="private")
    dataset_tab.select(actions.dataset_summary, None, summary, api_visibility="private")
    refresh.click(actions.dataset_summary, None, summary, api_visibility="private")

    # The API (see "Use via API"): our reader, not Gradio's, decides what is an image and
    # says what is wrong with one; the digit arrives as sent (a gr.Number would round 3.5 to 4).
    gr.api(actions.classify, api_name="classify")
    gr.api(actions.flag, api_name="flag")

if __name__ == "__main__":
    serve(demo, actions.start(), js=CHOOSE_BRUSH_JS)
