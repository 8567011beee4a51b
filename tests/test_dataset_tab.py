"""The Dataset tab's public gallery shows what the jury saw of samples it read right, never a
visitor's picture as sent, and never a correction."""

from __future__ import annotations

import numpy as np
import pytest

from bench.renderings import draw_strokes
from digit.feedback import FeedbackStore
from digit.page import dataset_tab
from digit.preprocess import normalize


@pytest.fixture
def store(tmp_path, monkeypatch):
    store = FeedbackStore(tmp_path / "feedback", repo_id="", token="")
    store.setup()
    monkeypatch.setattr(dataset_tab, "feedback", lambda: store)  # the tab reads the store the page writes
    yield store
    store.close()


def flag(store, digit: int, label: int, predicted: int, width: int = 18) -> np.ndarray:
    image = draw_strokes(digit, canvas=(300, 300), width=width)
    store.flag([image, label, predicted, 0.9, "test", "sketch", "anon:" + "0" * 15 + str(width % 10)])
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
