"""The Dataset tab's public gallery shows what the jury saw of samples it read right (or others
confirmed), never a visitor's picture as sent, and never an unconfirmed correction; and what
visitors upload leaves Gradio's cache within its bound.

The cache test serves the page as app.py builds it with Gradio in this process (its upload route
and cache sweep are what is tested; no reading is needed to store an upload). The bound is in
time, not in count: 10 uploads of 14 MB prove it as the issue's 50 would (50 added 718 MB that
stayed), in a fifth of the time."""

from __future__ import annotations

import importlib.util
import os
import time

import httpx
import numpy as np
import pytest

from testing.local_app import free_port
from testing.renderings import draw_strokes
from digit.feedback import FeedbackStore, sample_of
from digit.page import dataset_tab
from digit.reading.preprocess import normalize
from helpers import PROJECT, wait_for


@pytest.fixture
def store(tmp_path, monkeypatch):
    store = FeedbackStore(tmp_path / "feedback", repo_id="", token="")
    store.setup()
    monkeypatch.setattr(dataset_tab, "feedback", lambda: store)  # the tab reads the store the page writes
    yield store
    store.close()


def flag(store, digit: int, label: int, predicted: int, width: int = 18) -> np.ndarray:
    image = draw_strokes(digit, canvas=(300, 300), width=width)
    store.save(sample_of(image, label, predicted=predicted, confidence=0.9, model_version="test", source="sketch",
                         visitor="anon:" + "0" * 15 + str(width % 10)))
    return image


def test_the_gallery_shows_the_28x28_digit_of_samples_the_jury_read_right_and_no_correction(store):
    seven = flag(store, 7, 7, 7)
    flag(store, 1, 4, 1, width=14)  # a correction: its picture stays out of the public gallery
    *_, gallery, _ = dataset_tab.dataset_view()
    assert [caption for _, caption in gallery] == ["7 ✓"]
    picture = gallery[0][0]
    assert picture.shape == (dataset_tab.THUMBNAIL, dataset_tab.THUMBNAIL)  # grey, square: no colour, no canvas
    step = dataset_tab.THUMBNAIL // 28
    assert np.array_equal(255 - picture[::step, ::step], normalize(seven).pixels)  # exactly what the jury read


def test_the_gallery_shows_the_digit_stored_with_each_sample_without_normalising_the_picture_again(store, monkeypatch):
    import digit.feedback.store as store_module

    seven = flag(store, 7, 7, 7)

    def refuse(*_):
        raise AssertionError("the picture was normalised again")

    monkeypatch.setattr(store_module, "normalize", refuse)  # the stored digit is what the tab shows
    sample_id = store.records()[-1]["id"]
    assert np.array_equal(store.digits([sample_id])[sample_id], normalize(seven).pixels)
    assert [caption for _, caption in dataset_tab.latest(store, store.records())] == ["7 ✓"]


def test_a_sample_from_before_the_digit_column_still_loads_and_shows_its_normalised_digit(tmp_path, monkeypatch):
    from old_feedback import write_old_shard

    from helpers import stored_samples

    three = draw_strokes(3, canvas=(300, 300))
    [old_id] = write_old_shard(tmp_path / "feedback", [three], [3])  # no visitor, digit_hash or digit column
    store = FeedbackStore(tmp_path / "feedback", repo_id="", token="")
    store.setup()
    flag(store, 5, 5, 5)  # a new sample beside it, with its digit
    assert [row["digit"] is None for row in stored_samples(tmp_path / "feedback")] == [True, False]
    assert np.array_equal(store.digits([old_id])[old_id], normalize(three).pixels)


# -- Gradio's upload cache ------------------------------------------------------------------------
# Here, after the tests above, because they load the page's jury in this process (dataset_view
# reads the model card) and building app.py's page needs it: a process of its own would cost the
# suite ~15 s (the jury's load and check) for a test of Gradio's cache. Alone, it loads it itself.

UPLOADS, UPLOAD_BYTES = 10, 14 * 2**20
AGE = 2  # seconds (UPLOAD_CACHE_SECONDS): a sweep every second removes what is older


def cache_bytes(folder) -> int:
    return sum(path.stat().st_size for path in folder.rglob("*") if path.is_file())


def fresh_page():
    """app.py run again as a module of its own, so that it reads the settings set now."""
    spec = importlib.util.spec_from_file_location("app_under_test", PROJECT / "app.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.demo


def test_uploads_of_14_mb_leave_gradios_upload_cache_within_its_bound(tmp_path, monkeypatch):
    cache = tmp_path / "gradio-cache"
    monkeypatch.setenv("GRADIO_TEMP_DIR", str(cache))
    monkeypatch.setenv("UPLOAD_CACHE_SECONDS", str(AGE))
    demo = fresh_page()
    port = free_port()
    demo.launch(server_name="127.0.0.1", server_port=port, prevent_thread_lock=True, quiet=True)
    try:
        examples = cache_bytes(cache)  # the page's example pictures, kept for as long as the app runs
        payload = os.urandom(UPLOAD_BYTES)  # incompressible, and the upload route stores any file as sent
        with httpx.Client(base_url=f"http://127.0.0.1:{port}/gradio_api/", timeout=60) as http:
            for index in range(UPLOADS):
                answer = http.post("upload", files={"files": (f"photo{index}.jpg", payload)})
                assert answer.status_code == 200, answer.text[:200]
        assert cache_bytes(cache) >= examples + UPLOAD_BYTES  # the latest uploads are there...
        sent = time.monotonic()
        # ...and once uploads stop, gone within AGE and a sweep (+1 s: the sweep's own time).
        assert wait_for(lambda: cache_bytes(cache) == examples, seconds=AGE + 1 + 1), cache_bytes(cache)
        assert time.monotonic() - sent <= AGE + 1 + 1
    finally:
        demo.close()
