"""The cold start: the reader started at launch loads and checks the model folder's jury itself and
answers the first readings; the server imports scikit-learn and loads its own copy only after that."""

from __future__ import annotations

import io
import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from PIL import Image

from digit.config import model_dir
from digit.model.card import ModelCard
from digit.model.store import load_model
from digit.reading.classifier import Classifier
from digit.reading.pool import START_JURY, NoStartJury, ReadingPool, start_early
from helpers import PROJECT
from testing.local_app import file_data, png_data_url, running_app
from testing.renderings import draw_strokes


def seven() -> bytes:
    """A 7 drawn as on the pad, as a PNG."""
    buffer = io.BytesIO()
    Image.fromarray(draw_strokes(7, canvas=(256, 256))).save(buffer, format="PNG")
    return buffer.getvalue()


def mapped(pid: int, package: str) -> bool:
    """Whether a process has loaded a compiled module of this package (what importing it does)."""
    return f"/{package}/" in Path(f"/proc/{pid}/maps").read_text()


def test_the_server_answers_its_first_reading_before_it_imports_scikit_learn(tmp_path):
    with running_app(tmp_path) as app, httpx.Client(base_url=app["url"], timeout=60) as http:
        server = app["process"].pid
        answer = http.post("gradio_api/run/classify", json={"data": [file_data(png_data_url(seven()))]})
        assert answer.status_code == 200 and answer.json()["data"][0]["label"] == "7"
        assert not mapped(server, "sklearn") and not mapped(server, "scipy")
        deadline = time.monotonic() + 90  # then, the readings paused, it loads its own copy of the jury
        while not mapped(server, "sklearn") and time.monotonic() < deadline:
            time.sleep(0.5)
        assert mapped(server, "sklearn")
        answer = http.post("gradio_api/run/classify", json={"data": [file_data(png_data_url(seven()))]})
        assert answer.status_code == 200 and answer.json()["data"][0]["label"] == "7"


def test_a_reader_started_with_the_model_folder_reads_with_the_jury_it_checked(classifier):
    start_early(model_dir())
    pool = ReadingPool(1)
    try:
        # It holds the folder's jury (no classifier needed from the server), and says which bytes it checked.
        assert pool.start(None) == load_model(model_dir()).digest
        _, prediction = pool.read(None, seven())
        assert prediction.digit == 7
        # The server's own copy is the one that reader checked, given back as it holds it, with its card.
        own, card, digest = pool.checked_copy()
        loaded = load_model(model_dir())
        assert digest == loaded.digest and ModelCard.from_json(card) == loaded.card
        assert own.version == loaded.classifier.version and own.predict(seven()).digit == 7
        pool.hand_over(own)  # nothing is sent again
        _, prediction = pool.read(own, seven())
        assert prediction.digit == 7 and [worker.holds for worker in pool._workers] == [START_JURY]
        promoted = Classifier(classifier.jury, "promoted")  # another jury: sent, and it no longer gives its own
        pool.hand_over(promoted)
        _, prediction = pool.read(promoted, seven())
        assert prediction.digit == 7 and pool.checked_copy() is None
    finally:
        pool.close()


def test_a_reader_started_with_a_folder_without_a_jury_leaves_the_check_to_the_server(tmp_path, classifier):
    start_early(tmp_path)
    pool = ReadingPool(1)
    try:
        assert pool.start(None) is None
        with pytest.raises(NoStartJury):
            pool.read(None, seven())
        _, prediction = pool.read(classifier, seven())  # the server's own jury is handed to it
        assert prediction.digit == 7
    finally:
        pool.close()


COMPONENT = "import gradio as gr\n\n\nclass Mine(gr.HTML):\n    pass\n"


def test_a_served_app_makes_gradios_components_without_writing_type_stubs(tmp_path):
    # Imported plainly, Gradio writes mine.pyi beside a component subclass (gradio/component_meta.py).
    (tmp_path / "mine.py").write_text(COMPONENT)
    made = subprocess.run([sys.executable, "-c", "from digit.page import gradio_stubs; gradio_stubs.skip(); "
                           "import mine; print(mine.Mine().__class__.__name__)"],
                          cwd=tmp_path, env={**os.environ, "PYTHONPATH": f"{tmp_path}{os.pathsep}{PROJECT}"},
                          capture_output=True, text=True, timeout=120)
    assert made.stdout.strip() == "Mine", made.stderr[-2000:]
    assert not (tmp_path / "mine.pyi").exists()
