"""The k-NN juror: the fast Euclidean search and the deformation-tolerant re-ranking."""

from __future__ import annotations

import numpy as np
import skops.io as sio
from sklearn.base import clone
from sklearn.neighbors import KNeighborsClassifier

from digit.features import Deskew
from digit.neighbours import DeformationNeighbours, NearestNeighbours, _gradients, _idm


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


def test_with_the_slant_a_digit_finds_the_references_that_lean_as_it_did(mnist):
    # Each reference twice, the same deskewed pixels with two labels and two leans (the last
    # column): IDM alone cannot tell the copies apart; the lean can.
    pixels = Deskew().transform(mnist.validation.images[:300].reshape(300, -1))
    lean = np.repeat([[0.6], [-0.6]], 300, axis=0).astype(np.float32)
    rows = np.hstack([np.vstack([pixels, pixels]), np.vstack([pixels, pixels]), lean])
    labels = np.repeat([7, 1], 300)
    moved = _shifted(pixels[5], 1, 1)  # near the pair of copies of pixels[5], not on them
    queries = [np.hstack([moved, moved, [side]])[None].astype(np.float32) for side in (0.5, -0.5)]
    blind = DeformationNeighbours(search=784, components=20, n_neighbors=4).fit(rows, labels)
    assert np.allclose(blind.predict_proba(queries[0]), 0.5)  # a tie between 1 and 7
    seeing = DeformationNeighbours(search=784, components=20, n_neighbors=4, slant=2.0).fit(rows, labels)
    assert seeing.slants_.dtype == np.float16 and len(seeing.slants_) == len(rows)
    assert seeing.predict(queries[0])[0] == 7 and seeing.predict(queries[1])[0] == 1
    for query, label in zip(queries, (7, 1)):  # the nearest shown as a reason is the copy that leans alike
        assert labels[seeing.nearest(query, count=1)[0][0, 0]] == label


def test_a_knn_saved_before_the_lean_loads_clones_and_ranks_as_it_did(mnist):
    # Promotions on the Hub from before issue 21's lean have no `slant`; retraining clones them.
    pixels = Deskew().transform(mnist.validation.images[:400].reshape(400, -1))
    rows, labels = np.hstack([pixels, pixels]), mnist.validation.labels[:400]
    model = DeformationNeighbours(components=20).fit(rows[:350], labels[:350])
    before = model.predict_proba(rows[350:])
    del model.slant  # as such a file holds it
    data = sio.dumps(model)
    loaded = sio.loads(data, trusted=sio.get_untrusted_types(data=data))  # our own file
    assert loaded.slant == 0.0
    assert np.allclose(loaded.predict_proba(rows[350:]), before)
    assert clone(loaded).get_params()["slant"] == 0.0
