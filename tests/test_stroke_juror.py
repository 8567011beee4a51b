"""The stroke juror: trained and chosen on validation (training/train_strokes.py), saved and checked
beside the jury, heard for pad readings with strokes only."""

from __future__ import annotations

import json
import logging

import numpy as np
import pytest
import skops.io as sio
from sklearn.preprocessing import FunctionTransformer

from digit.model.store import (CARD_FILE, MODEL_FILE, STROKE_TRUSTED_TYPES, STROKES_CARD_FILE, STROKES_FILE,
                               ModelError, load_model, load_stroke_juror, model_bytes)
from digit.page.texts import jurors_table, verdict
from digit.reading.pool import ReadingPool, read_one
from helpers import PROJECT
from training.canvas.drawings import canvas_set
from training.canvas.strokes import drawing_strokes
from digit.stroke_juror import StrokeJuror
from training.train_strokes import WEIGHT_GRID, choose_vote, train


@pytest.fixture(scope="module")
def stroke_folder(tmp_path_factory):
    """The shipped jury beside a small stroke juror trained and chosen as training does (reduced sizes)."""
    folder = tmp_path_factory.mktemp("strokes")
    for name in (MODEL_FILE, CARD_FILE):
        (folder / name).symlink_to(PROJECT / "models" / name)
    card = train(count=800, feedback=None, folder=folder, validation_most=120, force=True, more=3)
    return folder, card


@pytest.fixture(scope="module")
def loaded(stroke_folder):
    return load_model(stroke_folder[0]).classifier


@pytest.fixture(scope="module")
def drawings():
    """Plain drawings of the canvas set's validation writers: pictures with the strokes behind them."""
    return canvas_set("validation", writers=2)


def test_training_writes_the_juror_with_its_own_card_and_a_vote_chosen_on_validation(stroke_folder):
    folder, card = stroke_folder
    assert (folder / STROKES_FILE).stat().st_size == card["files"][STROKES_FILE] < 1_000_000
    assert (folder / STROKES_CARD_FILE).is_file()
    assert card["vote"]["weight"] in WEIGHT_GRID and card["vote"]["temperature"] > 0
    assert card["data"] == {"stroke_drawings": 800, "feedback_strokes": 0, "canvas_validation": 120,
                            "canvas_more_writers": 3 * 18}
    assert 0 <= card["vote"]["pixels_unsure_below"] < 1
    assert set(card["metrics"]) >= {"canvas_validation_jury_alone", "canvas_validation_with_strokes"}
    assert sorted(sio.get_untrusted_types(file=folder / STROKES_FILE)) == sorted(STROKE_TRUSTED_TYPES)


def test_a_pad_reading_with_strokes_hears_the_stroke_juror(loaded, drawings):
    drawing = drawings[1]
    reading = loaded.predict(drawing.image(), strokes=drawing_strokes(drawing))
    assert list(reading.jurors) == ["svc", "knn", "rf", "strokes"]
    assert reading.jurors["strokes"] == drawing.label == reading.digit
    assert jurors_table(reading).iloc[-1].tolist()[:2] == \
        ["strokes", f"{drawing.label} ({reading.juror_probabilities['strokes'][drawing.label]:.0%})"]
    assert "strokes: **" in verdict(reading)


def test_pictures_without_strokes_read_exactly_as_the_jury_alone(loaded, classifier, drawings):
    for drawing in drawings[:6]:
        alone, beside = classifier.predict(drawing.image()), loaded.predict(drawing.image())
        assert beside.probabilities == alone.probabilities and beside.jurors == alone.jurors
        assert beside.unsure == alone.unsure


def test_strokes_that_are_no_drawing_leave_the_reading_to_the_pixels(loaded, classifier, drawings):
    picture = drawings[2].image()
    for bad in ([[[1, 1], [2, 2]]], "nonsense", [[["x"], ["y"]]], []):
        assert loaded.predict(picture, strokes=bad).probabilities == classifier.predict(picture).probabilities


def test_where_pixels_and_strokes_disagree_the_page_offers_both(loaded, drawings):
    seven = next(d for d in drawings if d.label == 7)
    stick = next(d for d in drawings if d.allograph == "1_stick")
    juror = loaded.stroke_juror
    before = juror.get_params()
    try:
        juror.set_params(doubt_disagreement=True)
        reading = loaded.predict(seven.image(), strokes=drawing_strokes(stick))
    finally:
        juror.set_params(**before)
    assert reading.jurors["svc"] == 7 and reading.jurors["strokes"] == 1
    assert reading.unsure and set(reading.candidates) == {1, 7}
    assert "7 or 1" in verdict(reading) or "1 or 7" in verdict(reading)


def test_where_the_pixel_jury_is_torn_the_reading_is_unsure_though_the_strokes_agree():
    juror = StrokeJuror(weight=0.5, temperature=0.5, unsure_below=0.5, pixels_unsure_below=0.8)
    pixels = np.full((2, 10), 0.01)
    pixels[0, [1, 7]] = [0.40, 0.52]  # a slanted long-flag 1, or an upright 7
    pixels[1, [1, 7]] = [0.02, 0.90]
    strokes = np.full((2, 10), 0.002)
    strokes[:, 7] = 0.982  # the strokes say 7 for both, as sure
    voted = juror.vote(pixels, strokes)
    assert voted.argmax(axis=1).tolist() == [7, 7] and voted[0].max() > 0.5
    assert juror.unsure(voted, pixels, strokes).tolist() == [True, False]


def test_the_unsure_rule_chosen_leaves_at_most_a_tenth_of_the_wrong_readings_sure():
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 10, 2000)
    pixels, strokes = np.full((2000, 10), 0.01), np.full((2000, 10), 0.002)
    pixels[np.arange(2000), labels] = rng.uniform(0.6, 0.99, 2000)
    strokes[np.arange(2000), labels] = 0.982
    torn = np.flatnonzero(labels == 1)[:40]  # 1s the pixels barely read as 7 and the strokes read as 7
    pixels[torn, 1], pixels[torn, 7], strokes[torn, 1], strokes[torn, 7] = 0.3, 0.5, 0.002, 0.982
    chosen = choose_vote(pixels, strokes, labels)
    juror = StrokeJuror(**chosen)
    voted = juror.vote(pixels, strokes)
    wrong = voted.argmax(axis=1) != labels
    doubted = juror.unsure(voted, pixels, strokes)
    assert wrong.sum() == 40 and np.sum(wrong & ~doubted) <= 4
    assert np.sum(~wrong & doubted) < 0.1 * np.sum(~wrong)  # at the least cost: not everything doubted


def test_a_worker_process_reads_with_the_strokes_as_the_server_would(loaded, drawings):
    drawing = drawings[3]
    picture, strokes = drawing.image(), drawing_strokes(drawing)
    _, here = read_one(loaded, picture, strokes=strokes)
    pool = ReadingPool(1)
    try:
        pool.start(loaded)
        _, there = pool.read(loaded, picture, strokes=strokes)
    finally:
        pool.close()
    assert there.jurors == here.jurors and "strokes" in there.jurors
    assert np.allclose(there.probabilities, here.probabilities)


def test_a_tampered_stroke_file_is_refused_and_the_jury_reads_alone(stroke_folder, tmp_path, caplog, drawings):
    folder, _ = stroke_folder
    for name in (MODEL_FILE, CARD_FILE):
        (tmp_path / name).symlink_to(PROJECT / "models" / name)
    juror = load_stroke_juror(folder)
    for tampered in ({"weight": 7.0}, {"pixels_unsure_below": float("nan")}):  # a vote outside the mean; no rule
        juror.set_params(**tampered)
        sio.dump(juror, tmp_path / STROKES_FILE)
        with pytest.raises(ModelError, match="out of range"):
            load_stroke_juror(tmp_path)
    juror.set_params(weight=0.5, pixels_unsure_below=0.0)
    svc = juror.model_.named_steps["svc"].calibrated_classifiers_[0].estimator
    svc.coefficients_ = -svc.coefficients_  # well-formed, every pairwise duel the other way round
    sio.dump(juror, tmp_path / STROKES_FILE)
    with pytest.raises(ModelError, match="plain drawings"):
        load_stroke_juror(tmp_path)
    sio.dump(FunctionTransformer(print), tmp_path / STROKES_FILE)
    with pytest.raises(ModelError, match="did not write"):
        load_stroke_juror(tmp_path)
    with caplog.at_level(logging.ERROR):
        classifier = load_model(tmp_path).classifier
    assert classifier.stroke_juror is None and "without the stroke juror" in caplog.text
    drawing = drawings[0]
    assert "strokes" not in classifier.predict(drawing.image(), strokes=drawing_strokes(drawing)).jurors


def test_a_stroke_juror_saved_before_the_pixel_rule_loads_without_it(stroke_folder, tmp_path, drawings):
    folder, _ = stroke_folder
    for name in (MODEL_FILE, CARD_FILE, STROKES_CARD_FILE):
        (tmp_path / name).symlink_to(folder / name if (folder / name).exists() else PROJECT / "models" / name)
    juror = load_stroke_juror(folder)
    del juror.__dict__["pixels_unsure_below"]  # what a file written before the rule holds
    sio.dump(juror, tmp_path / STROKES_FILE)
    old = load_stroke_juror(tmp_path)
    assert old is not None and old.pixels_unsure_below == 0.0 and "pixels_unsure_below" not in old.__dict__
    drawing = drawings[0]
    assert "strokes" in load_model(tmp_path).classifier.predict(drawing.image(), strokes=drawing_strokes(drawing)).jurors


def test_the_shipped_model_files_stay_within_20_mb_with_the_stroke_juror():
    assert (PROJECT / "models" / STROKES_FILE).exists()
    assert model_bytes(PROJECT / "models") <= 20_000_000
    # It passes its checks and was chosen with the shipped jury (a new jury: `python -m training.train_strokes`).
    assert load_model(PROJECT / "models").classifier.stroke_juror is not None


def test_a_stroke_juror_chosen_with_another_jury_is_not_heard(stroke_folder, tmp_path, caplog):
    folder, card = stroke_folder
    for name in (MODEL_FILE, CARD_FILE, STROKES_FILE):
        (tmp_path / name).symlink_to(folder / name)
    (tmp_path / STROKES_CARD_FILE).write_text(json.dumps({**card, "jury_version": "an-older-jury"}))
    with caplog.at_level(logging.WARNING):
        assert load_model(tmp_path).classifier.stroke_juror is None
    assert "chosen with jury an-older-jury" in caplog.text
    assert load_model(folder).classifier.stroke_juror is not None
