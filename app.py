"""Digit sketch classifier: draw or upload a digit, a jury of classical models reads it."""

from __future__ import annotations

import gradio as gr

from digit import app_actions as actions

with gr.Blocks(title="Digit jury") as demo:
    gr.Markdown(
        "# Digit jury\n"
        "Draw a digit or upload a photo of one. Three classical models — an RBF SVC, a k-NN and a "
        "random forest — each vote with their probabilities; the soft vote is the answer."
    )
    with gr.Row():
        with gr.Column():
            with gr.Tab("Draw"):
                sketch = gr.Sketchpad(
                    label="Draw one digit", type="numpy", image_mode="RGBA", canvas_size=(400, 400),
                    brush=gr.Brush(default_size=18, colors=["#000000"], color_mode="fixed"),
                )
                read_sketch = gr.Button("Read my digit", variant="primary")
            with gr.Tab("Upload"):
                upload = gr.Image(label="Photo, scan or screenshot of a digit", type="filepath", image_mode=None,
                                  sources=["upload", "webcam", "clipboard"])
                gr.Examples(actions.example_files(), inputs=upload, label="Examples")
        with gr.Column():
            verdict = gr.Markdown(actions.WELCOME)
            confidences = gr.Label(label="Confidence per digit", num_top_classes=3)
            view = gr.Image(label="What the jury saw (28x28)", interactive=False, height=180)
            card = gr.Markdown(actions.model_summary())

    outputs = [verdict, confidences, view]
    read_sketch.click(actions.show_sketch, sketch, outputs, api_visibility="private")
    upload.change(actions.show_upload, upload, outputs, api_visibility="private")

    # The API: one image file in, the label confidences out (see "Use via API"). A plain file
    # input: our reader, not Gradio's, decides what is an image and says what is wrong.
    api_image = gr.File(label="image", type="filepath", visible=False)
    api_label = gr.Label(visible=False)
    gr.Button(visible=False).click(actions.classify, api_image, api_label, api_name="classify")

if __name__ == "__main__":
    demo.queue(default_concurrency_limit=4).launch(max_file_size=actions.MAX_UPLOAD)
