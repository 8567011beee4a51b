"""The k-NN juror: the fast Euclidean search and the deformation-tolerant re-ranking."""

from __future__ import annotations

import numpy as np
import skops.io as sio
from sklearn.base import clone
from sklearn.neighbors import KNeighborsClassifier

from digit.features import Deskew
from digit.jurors import KNN_NAME
from digit.live.memory import Taught, nearest_taught
from digit.live.references import confirmed_set
from digit.neighbours import DeformationNeighbours, NearestNeighbours, _gradients, _idm
from digit.reading.classifier import NEIGHBOURS, Classifier
from digit.reading.preprocess import Normalized


def test_nearest_neighbours_votes_like_scikit_learn():
    rng = np.random.default_rng(0)
    samples, labels = rng.normal(size=(2000, 30)).astype(np.float32), rng.integers(0, 10, 2000)
    queries = rng.normal(size=(300, 30)).astype(np.float32)
    queries[:3] = samples[:3]  # a stored sample takes (nearly) the whole vote
    ours = NearestNeighbours(4).fit(samples, labels)
    theirs = KNeighborsClassifier(4, weights="distance", algorithm="brute").fit(samples, labels)
    # Samples are stored in float16: near-ties may swap, nothing else changes.
    same_neighbours = [set(a) == set(b) for a, b in zip(ours.kneighbors(queries)[1], theirs.kneighbors(queries)[1])]
    assert np.mean(same_neighbours) >= 0.97
    assert np.mean(ours.predict(queries) == theirs.predict(queries)) >= 0.98
    assert np.all(ours.predict_proba(queries[:3])[np.arange(3), labels[:3]] > 0.99)


def test_nearest_neighbours_file_does_not_carry_its_float32_cache():
    rng = np.random.default_rng(1)
    model = NearestNeighbours(3).fit(rng.normal(size=(500, 10)), rng.integers(0, 10, 500))
    queries = rng.normal(size=(5, 10))
    before = model.predict_proba(queries)  # builds the cache
    loaded = sio.loads(sio.dumps(model), trusted=["digit.neighbours.NearestNeighbours"])
    assert "_float32" in model.__dict__ and "_float32" not in loaded.__dict__
    assert loaded.samples_.dtype == np.float16
    assert np.allclose(loaded.predict_proba(queries), before)


def _shifted(image: np.ndarray, dx: int, dy: int) -> np.ndarray:
    return np.roll(np.roll(image.reshape(28, 28), dy, axis=0), dx, axis=1).reshape(-1)


def test_idm_forgives_a_small_shift_that_euclidean_distance_punishes(validation_digits):
    images, labels = validation_digits
    seven = images[np.flatnonzero(labels == 7)[0]].reshape(-1).astype(np.float32) / 255
    other = images[np.flatnonzero(labels == 1)[0]].reshape(-1).astype(np.float32) / 255
    moved = _shifted(seven, 2, 1)
    gradients = _gradients(np.stack([seven, moved, other]))
    idm = _idm(gradients[0], gradients[1:], warp=2)
    assert idm[0] < 0.1 * idm[1]  # the moved 7 is nearly identical under IDM
    euclidean = [np.linalg.norm(seven - moved), np.linalg.norm(seven - other)]
    assert euclidean[0] > 0.5 * euclidean[1]  # but far by plain distance


def test_deformation_neighbours_beat_euclidean_neighbours_on_held_out_digits(mnist):
    pixels = Deskew().transform(mnist.validation.images[:3500].reshape(3500, -1))
    labels = mnist.validation.labels[:3500]
    rows = np.hstack([pixels, pixels])  # [pixels | shape features]: pixels serve as both here
    train, test = slice(0, 3000), slice(3000, 3500)
    idm = DeformationNeighbours(components=30).fit(rows[train], labels[train])
    euclidean = NearestNeighbours(5).fit(pixels[train], labels[train])
    idm_accuracy = np.mean(idm.predict(rows[test]) == labels[test])
    euclidean_accuracy = np.mean(euclidean.predict(pixels[test]) == labels[test])
    assert idm_accuracy >= euclidean_accuracy + 0.01, (idm_accuracy, euclidean_accuracy)
    assert np.allclose(idm.predict_proba(rows[test][:20]).sum(axis=1), 1)


def test_a_unanimous_neighbourhood_skips_the_re_ranking_with_the_same_answer(mnist):
    pixels = Deskew().transform(mnist.validation.images[:2200].reshape(2200, -1))
    labels = mnist.validation.labels[:2200]
    rows = np.hstack([pixels, pixels])
    model = DeformationNeighbours(components=30).fit(rows[:2000], labels[:2000])
    queries = rows[2000:]
    fast = model.predict_proba(queries)
    candidates = model.candidates_of(queries)
    codes = model.search_.codes_[candidates]
    unanimous = np.all(codes == codes[:, :1], axis=1)
    assert 0 < unanimous.sum() < len(queries)  # both paths are taken
    # The full re-ranking, for every row, gives the same probabilities.
    full = model.votes(model.idm_distances(queries, candidates), codes)
    assert np.allclose(fast, full)


def test_a_knn_file_holding_the_retired_settings_loads_and_reads_as_it_did(mnist):
    # The shipped jury's k-NN was saved with `doubt` (None) and `typical_distance_`; older ones also with
    # `slant` (0.0): settings this class no longer has. Such a file loads, reads and clones as before.
    pixels = Deskew().transform(mnist.validation.images[:400].reshape(400, -1))
    rows, labels = np.hstack([pixels, pixels]), mnist.validation.labels[:400]
    model = DeformationNeighbours(components=20).fit(rows[:350], labels[:350])
    before = model.predict_proba(rows[350:])
    model.doubt, model.slant, model.typical_distance_ = None, 0.0, 3.5  # as such a file holds them
    data = sio.dumps(model)
    loaded = sio.loads(data, trusted=sio.get_untrusted_types(data=data))  # our own file
    assert np.array_equal(loaded.predict_proba(rows[350:]), before)
    assert "doubt" not in clone(loaded).get_params()


# -- one search per reading: the shipped jury, in process --------------------------------------------

def _two_passes(knn: DeformationNeighbours, features: np.ndarray, count: int = NEIGHBOURS):
    """The k-NN's vote and the references shown as its reasons, each from a search of its own (as a
    reading found them before one search gave both): unanimous candidates vote alone and are shown
    in the search's order; otherwise the vote and the order come from the IDM distances."""
    candidates = knn.candidates_of(features)
    codes = knn.search_.codes_[candidates]
    votes = np.zeros((len(features), len(knn.classes_)))
    shown = []
    for row, (found, labels) in enumerate(zip(candidates, codes)):
        if np.all(labels == labels[0]):
            votes[row, labels[0]] = 1.0
            shown.append(found[:count])
            continue
        distances = knn.idm_distances(features[row:row + 1], found[None])
        votes[row] = knn.votes(distances, labels[None])[0]
        again = knn.idm_distances(features[row:row + 1], knn.candidates_of(features[row:row + 1]))[0]  # 2nd search
        shown.append(found[np.argsort(again)[:count]])
    return votes, np.asarray(shown)


def _read(classifier: Classifier, digit: np.ndarray, memory: Taught | None = None):
    return classifier.predict_normalized(Normalized(digit, 1, (0, 0, 28, 28)), explain=True, memory=memory)


def test_one_search_gives_the_votes_and_the_neighbours_two_searches_gave(classifier, validation_digits):
    images, _ = validation_digits
    knn = classifier.jury.jurors_[KNN_NAME]
    features = classifier.jury.features(images.reshape(len(images), -1))
    votes, shown = _two_passes(knn, features)
    found = knn.neighbourhood(features)
    unanimous = np.isnan(found.idm[:, 0])
    assert 0 < unanimous.sum() < len(images)  # both kinds of digit are read
    assert np.array_equal(found.probabilities, votes)
    assert np.array_equal(knn.closest(found, NEIGHBOURS), shown)
    for image, expected_votes, expected_shown in zip(images[:12], votes, shown):  # as the page shows them
        reading = _read(classifier, image)
        assert reading.juror_probabilities[KNN_NAME] == [float(p) for p in expected_votes]
        for neighbour, index in zip(reading.neighbours, expected_shown, strict=True):
            picture, label, _ = knn.reference(int(index))
            assert neighbour.label == label and np.array_equal(neighbour.image, picture)


def test_a_visitors_examples_are_measured_against_the_references_the_vote_measured(classifier, validation_digits):
    images, labels = validation_digits
    knn = classifier.jury.jurors_[KNN_NAME]
    features = classifier.jury.features(images[30:].reshape(30, -1))
    taught = Taught(images[:30].copy(), labels[:30])
    searched_again = nearest_taught(knn, features, taught)  # with a search of its own
    from_the_vote = nearest_taught(knn, features, taught, found=knn.neighbourhood(features))
    assert [(one.label, one.nearness) for one in from_the_vote] == [(one.label, one.nearness) for one in searched_again]


def _counting_searches(monkeypatch, knn: DeformationNeighbours) -> list[int]:
    """Count the k-NN's Euclidean searches (each call still searches for real)."""
    calls, search = [], knn.search_.kneighbors
    monkeypatch.setattr(knn.search_, "kneighbors", lambda X: calls.append(len(X)) or search(X))
    return calls


def test_an_explained_reading_searches_the_knn_once(classifier, validation_digits, monkeypatch):
    images, labels = validation_digits
    knn = classifier.jury.jurors_[KNN_NAME]
    memory = Taught(np.roll(images[:20], 1, axis=2), labels[:20])  # the visitor's own, near the digits read
    confirmed = confirmed_set(classifier, images[20:40].reshape(20, -1),
                              classifier.jury.features(images[20:40].reshape(20, -1)), labels[20:40])
    live = Classifier(classifier.jury, classifier.version, confirmed)
    calls = _counting_searches(monkeypatch, knn)
    readings = []
    for reader, digit, taught in [(classifier, images[45], None), (classifier, images[5], memory),
                                  (live, images[25], memory)]:
        calls.clear()
        readings.append(_read(reader, digit, taught))
        assert len(readings[-1].neighbours) == NEIGHBOURS
        assert calls == [1]
    # The paths that measure examples were taken: the visitor's own, then a confirmed correction.
    assert readings[1].recalled is not None and readings[1].recalled.yours
    assert readings[2].recalled is not None and not readings[2].recalled.yours
