"""Digit jury: draw or upload a digit, a jury of classical models reads it and says why."""

from __future__ import annotations

if __name__ == "__main__":  # served: a reading worker starts now, loading the jury beside Gradio's imports
    from digit.config import model_dir
    from digit.page import gradio_stubs
    from digit.reading.pool import start_early

    start_early(model_dir())  # (digit/reading/pool.py); the server loads its own copy after its first answer
    gradio_stubs.skip()  # a third of Gradio's import goes to type stubs for editors (digit/page/gradio_stubs.py)

import gradio as gr

from digit.config import feedback_dir, hub_login, upload_cache_seconds
from digit.page import actions, check_tab, fool_tab, state
from digit.page.components import UploadedImage
from digit.page.drawing_pad import DrawingPad
from digit.page.languages import I18N, i18n
from digit.page.pictures import InlinePictures
from digit.page.dataset_tab import dataset_view
from digit.page.serving import serve

# Gradio keeps every upload and every output file in its cache: what is older than
# UPLOAD_CACHE_SECONDS (15 minutes: time to correct a reading) goes at a sweep every third of that,
# and all of it at start, so visitors cannot fill the disk (tests/test_dataset_tab.py).
CACHE_AGE = upload_cache_seconds()
with gr.Blocks(title="Digit jury — draw a digit, see why it is read so",
               delete_cache=(max(CACHE_AGE // 3, 1), CACHE_AGE)) as demo:
    gr.Markdown(i18n("intro"))
    if hub_login():  # on a Space with hf_oauth: samples and votes then say "hf:<username>"
        gr.LoginButton()
    last_input = gr.State(None)
    with gr.Tab(i18n("read_tab")):
        with gr.Row():
            with gr.Column():
                with gr.Tab(i18n("draw_tab")):
                    sketch = DrawingPad(label=i18n("pad_label"), elem_id="sketchpad")
                with gr.Tab(i18n("upload_tab")):
                    upload = UploadedImage(label=i18n("upload_label"), type="filepath",
                                           image_mode=None, sources=["upload", "webcam", "clipboard"],
                                           elem_id="upload")
                    gr.Examples(actions.example_files(), inputs=upload, label=i18n("examples"))
            with gr.Column():
                verdict = gr.Markdown(i18n("welcome"), elem_id="verdict")
                confidences = gr.Label(label=i18n("confidences"), num_top_classes=3, elem_id="confidences")
                with gr.Row(visible=False, elem_id="unsure") as unsure:
                    gr.Markdown(i18n("which_one"))
                    first = gr.Button(i18n("its_a_unknown"), elem_id="choose-first", variant="primary", size="sm")
                    second = gr.Button(i18n("its_a_unknown"), elem_id="choose-second", variant="primary", size="sm")
                with gr.Group():
                    confirm = gr.Button(i18n("right"), elem_id="confirm")
                    correction = gr.Radio([str(d) for d in range(10)], label=i18n("wrong"),
                                          elem_id="correction")
                saved = gr.Markdown(elem_id="saved")
                with gr.Accordion(i18n("why"), open=True):
                    with gr.Row():
                        view = InlinePictures(label=i18n("jury_saw"), side=112, elem_id="view",
                                              scale=1, min_width=130)
                        jurors = gr.Dataframe(headers=["juror", "1st", "2nd"], label=i18n("jurors_label"),
                                              interactive=False, scale=2, elem_id="jurors")
                    neighbours = InlinePictures(label=i18n("neighbours"), side=56,
                                                elem_id="neighbours")
                model_line = gr.Markdown(actions.model_summary())
    with gr.Tab(i18n("fool_tab"), elem_id="fool-tab") as fool_tab_:
        gr.Markdown(i18n("fool_intro"))
        fool_prompt = gr.Markdown(elem_id="fool-prompt")
        with gr.Row():
            with gr.Column():
                fool_pad = DrawingPad(label=i18n("fool_pad"), elem_id=fool_tab.PAD_ID)
                fool_submit = gr.Button(i18n("fool_submit"), variant="primary", elem_id="fool-submit")
            with gr.Column():
                fool_verdict = gr.Markdown(elem_id="fool-verdict")
                fool_mine = gr.Markdown(elem_id="fool-mine")
                fool_counts = gr.Dataframe(fool_tab.counts_table(None), label=i18n("fool_counts"),
                                           interactive=False, elem_id="fool-counts")
        fool_target = gr.State(None)
    with gr.Tab(i18n("dataset_tab")) as dataset_tab:
        summary = gr.Markdown(elem_id="dataset-summary")
        with gr.Row():
            per_digit = gr.BarPlot(x="digit", y="samples", title=i18n("per_digit"), height=240, y_lim=[0, None],
                                   x_title=i18n("digit"), y_title=i18n("samples"),
                                   elem_id="per-digit")
            confusions = gr.ScatterPlot(x="read as", y="drawn", color="samples", title=i18n("drawn_vs_read"),
                                        x_title=i18n("read_as"), y_title=i18n("drawn"), color_title=i18n("samples"),
                                        height=240, elem_id="confusions")
        latest = gr.Gallery(label=i18n("latest"), columns=8, height=300,
                            object_fit="contain", elem_id="latest")
        history = gr.Dataframe(label=i18n("history"), interactive=False, elem_id="history")
        refresh = gr.Button(i18n("refresh"), size="sm")
    with gr.Tab(i18n("check_tab"), elem_id="check-tab") as checks_tab:
        gr.Markdown(i18n("check_intro"))
        check_said = gr.Markdown(elem_id="check-said")
        with gr.Row():
            check_picture = InlinePictures(label=i18n("jury_saw"), side=112, elem_id="check-picture",
                                           scale=0, min_width=130)
            with gr.Column():
                check_question = gr.Markdown(elem_id="check-question")
                with gr.Row():
                    check_agree = gr.Button(i18n("yes"), variant="primary", elem_id="check-agree")
                    check_disagree = gr.Button(i18n("no"), elem_id="check-disagree")
                    check_skip = gr.Button(i18n("cannot_tell"), elem_id="check-skip")
        check_current = gr.State(None)

    # Confirmations and corrections flag the Sample the last reading kept with its digit (digit/page/flagging.py).
    state.flagging().setup([last_input, correction], feedback_dir())
    # What a reading changes, named once: the handlers return an actions.Shown of values in this order.
    shown = list(actions.Shown(verdict=verdict, confidences=confidences, view=view, jurors=jurors, neighbours=neighbours,
                               unsure=unsure, first=first, second=second, saved=saved, last=last_input))
    # Read as you draw: each stroke sends one small PNG; the last one wins and no overlay flickers.
    strokes = sketch.change(actions.show_sketch, sketch, shown, trigger_mode="always_last", show_progress="hidden",
                            queue=False, api_visibility="private")
    upload.change(actions.show_upload, upload, shown, api_visibility="private")
    confirm.click(actions.confirm, last_input, saved, api_visibility="private")
    correction.input(actions.correct, [last_input, correction], [saved, correction], api_visibility="private")
    first.click(actions.choose_first, last_input, [saved, unsure], api_visibility="private")
    second.click(actions.choose_second, last_input, [saved, unsure], api_visibility="private")
    dataset_outputs = [summary, per_digit, confusions, latest, history]
    dataset_tab.select(dataset_view, None, dataset_outputs, api_visibility="private")
    refresh.click(dataset_view, None, dataset_outputs, api_visibility="private")
    checked = [check_said, check_picture, check_question, check_current, check_agree, check_disagree]
    checks_tab.select(check_tab.next_check, check_current, checked, api_visibility="private")
    check_agree.click(check_tab.agree, check_current, checked, api_visibility="private")
    check_disagree.click(check_tab.disagree, check_current, checked, api_visibility="private")
    check_skip.click(check_tab.skip, check_current, checked, api_visibility="private")
    # Fool the jury: a drawing is read and stored only when shown to the jury (no reading a stroke).
    fool_shown = [fool_verdict, fool_prompt, fool_counts, fool_mine, fool_target]
    fool_tab_.select(fool_tab.show, None, fool_shown, api_visibility="private")
    fool_submit.click(fool_tab.judge, [fool_pad, fool_target], fool_shown, api_visibility="private").success(
        None, js=fool_tab.CLEAR_PAD)
    demo.load(actions.model_summary, None, model_line, api_visibility="private")  # the jury serving now
    demo.load(actions.no_jurors, None, jurors, show_progress="hidden", api_visibility="private")  # in their language

    # The API (see "Use via API"; also MCP tools): our reader, not Gradio's, decides what is an
    # image and says what is wrong with one; the digit arrives as sent (a gr.Number would round
    # 3.5 to 4). classify is off the queue, answered in one request (POST /gradio_api/run/classify),
    # bounded by the guard in front of the app (digit/page/guard.py).
    gr.api(actions.classify, api_name="classify", queue=False)
    gr.api(actions.flag, api_name="flag")
    gr.api(check_tab.next_correction, api_name="next_correction")  # confirming contested corrections from a script
    gr.api(check_tab.check, api_name="check")

if __name__ == "__main__":
    serve(demo, state.start(), mcp_server=True, i18n=I18N, app_kwargs={"middleware": [actions.guard(strokes)]})
