"""The k-NN juror: a fast Euclidean search for candidates, re-ranked by a deformation-tolerant distance.

`NearestNeighbours` gives the votes of `KNeighborsClassifier(weights="distance",
algorithm="brute")` in a quarter of the time for one query: scikit-learn spends ~3 ms on input
checks and chunking around a 0.3 ms matrix product, and a KD-tree stores a float64 copy of the
50k samples (+16 MB). `DeformationNeighbours` re-ranks its candidates by the image distortion model.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.decomposition import PCA
from sklearn.utils.validation import check_is_fitted

from digit.float_rows import Float32Rows

QUERY_CHUNK = 1000  # queries per distance block: 1000 x 50k float32 = 200 MB
# Where a training digit comes from: "stroke" digits are the training generator's
# (training/stroke_digits.py), "generated" ones other made digits (feedback copies, hard cases).
ORIGINS = {"mnist": 0, "feedback": 1, "generated": 2, "stroke": 3}


class NearestNeighbours(Float32Rows, ClassifierMixin, BaseEstimator):
    """Euclidean k nearest neighbours, votes weighted by 1/distance (an exact match takes all)."""

    def __init__(self, n_neighbors: int = 4):
        self.n_neighbors = n_neighbors

    def fit(self, X, y) -> "NearestNeighbours":
        self.classes_, codes = np.unique(np.asarray(y), return_inverse=True)
        self.samples_ = np.ascontiguousarray(X, dtype=np.float16)  # half the file; ranks the same
        self.codes_ = codes.astype(np.int16)
        return self

    def kneighbors(self, X) -> tuple[np.ndarray, np.ndarray]:
        """Distances and indices of the k nearest samples of each row of X, nearest first."""
        check_is_fitted(self)
        X = np.atleast_2d(np.asarray(X, dtype=np.float32))
        samples, squared_norms = self._float32_rows(self.samples_)
        distances, indices = [], []
        for start in range(0, len(X), QUERY_CHUNK):
            chunk = X[start:start + QUERY_CHUNK]
            # |x - s|^2 = |s|^2 - 2 x.s + |x|^2; |x|^2 does not change the ranking, added after.
            partial = squared_norms - 2.0 * (chunk @ samples.T)
            nearest = np.argpartition(partial, self.n_neighbors - 1, axis=1)[:, :self.n_neighbors]
            squared = np.take_along_axis(partial, nearest, 1) + np.einsum("ij,ij->i", chunk, chunk)[:, None]
            order = np.argsort(squared, axis=1)
            distances.append(np.sqrt(np.maximum(np.take_along_axis(squared, order, 1), 0)))
            indices.append(np.take_along_axis(nearest, order, 1))
        return np.vstack(distances), np.vstack(indices)

    def predict_proba(self, X) -> np.ndarray:
        distances, indices = self.kneighbors(X)
        with np.errstate(divide="ignore"):
            weights = 1.0 / distances
        exact = np.isinf(weights)
        rows_with_exact = exact.any(axis=1)
        weights[rows_with_exact] = exact[rows_with_exact]  # like scikit-learn: exact matches only
        probabilities = np.zeros((len(indices), len(self.classes_)))
        np.add.at(probabilities, (np.arange(len(indices))[:, None], self.codes_[indices]), weights)
        return probabilities / probabilities.sum(axis=1, keepdims=True)

    def predict(self, X) -> np.ndarray:
        scores = self.predict_proba(X)  # checks it is fitted before classes_ is read
        return self.classes_[np.argmax(scores, axis=1)]


class DeformationNeighbours(ClassifierMixin, BaseEstimator):
    """k-NN that forgives small local deformations: the image distortion model (IDM).

    Input rows are [deskewed 28x28 pixels in 0..1 | features]. The `candidates` nearest
    references by Euclidean distance on a PCA of `search` feature columns are re-ranked by
    their IDM distance to the query: each pixel's 3x3 context of gradients may match the
    reference's anywhere within `warp` pixels (Keysers et al., "Deformation models for image
    recognition", 2007). The `n_neighbors` closest vote with weight exp(-(d / d_best - 1) / tau).
    References: the digits of the `origins` kinds, each kept in `levels` grey levels.
    One search (`neighbourhood`) gives a reading everything it needs of the k-NN: the vote,
    the references shown as its reasons (`closest`) and the yardstick a visitor's own
    examples are measured by (`nearest_reference`).
    """

    def __init__(self, pixels: int = 784, search: int | None = None, components: int = 40, candidates: int = 20,
                 n_neighbors: int = 5, warp: int = 2, tau: float = 0.1, levels: int = 16,
                 origins: tuple[str, ...] = ("mnist", "feedback")):
        self.pixels = pixels
        self.search = search
        self.components = components
        self.candidates = candidates
        self.n_neighbors = n_neighbors
        self.warp = warp
        self.tau = tau
        self.levels = levels
        self.origins = origins

    def _search_columns(self, X: np.ndarray) -> np.ndarray:
        """The columns the candidate search reads: the `search` columns after the pixels (all if None)."""
        return X[:, self.pixels:] if self.search is None else X[:, self.pixels:self.pixels + self.search]

    def fit(self, X, y, origin=None) -> "DeformationNeighbours":
        """origin: where each digit comes from (ORIGINS; routed here as metadata). Only digits of
        the `origins` kinds become references (the recipe: MNIST, feedback and the stroke digits
        training marks so; never feedback copies, which would let one visitor's flood become
        neighbours), and the page can say which neighbours came from feedback."""
        origin = np.zeros(len(X), np.int8) if origin is None else np.asarray(origin, np.int8)
        kept = np.isin(origin, [ORIGINS[name] for name in self.origins])
        X, y = np.asarray(X, dtype=np.float32)[kept], np.asarray(y)[kept]
        shape = self._search_columns(X)
        self.pca_ = PCA(n_components=self.components, svd_solver="covariance_eigh").fit(shape)
        self.search_ = NearestNeighbours(self.candidates).fit(self.pca_.transform(shape), y)
        self.classes_ = self.search_.classes_
        # Stored in `levels` grey levels: half the file of 8 bits, same accuracy after the blur.
        self.images_ = np.rint(X[:, :self.pixels] * (self.levels - 1)).astype(np.uint8)
        self.origins_ = origin[kept]
        return self

    def neighbourhood(self, X, extra: ExtraReferences | None = None) -> Neighbourhood:
        """One search for each row of X: its Euclidean candidates, the IDM distances the vote
        measured, and the vote. extra: references consulted beside the fitted ones (an extra
        reference nearer than a row's last Euclidean candidate takes that candidate's place in
        the vote); rows no extra reference comes near read as without them."""
        check_is_fitted(self)
        X = np.asarray(X, dtype=np.float32)
        search = self.search_coordinates(X)
        distances, candidates = self.search_.kneighbors(search)
        codes = self.search_.codes_[candidates]
        idm = np.full(candidates.shape, np.nan, np.float32)
        probabilities = np.zeros((len(X), len(self.classes_)))
        # Re-ranking cannot change a unanimous vote: most digits skip it (same answer, ~2 ms less).
        unanimous = np.all(codes == codes[:, :1], axis=1)
        split = np.flatnonzero(~unanimous)
        if len(split):
            idm[split] = self.idm_distances(X[split], candidates[split])
        probabilities[unanimous, codes[unanimous, 0]] = 1.0
        probabilities[split] = self.votes(idm[split], codes[split])
        if extra is None:
            return Neighbourhood(probabilities, candidates, idm, np.zeros((len(X), 0), bool))
        to_extra = np.sqrt(np.maximum(np.square(search).sum(1)[:, None] - 2 * search @ extra.search.T
                                      + np.square(extra.search).sum(1)[None, :], 0))
        reaching = to_extra < distances[:, -1:]
        for row in np.flatnonzero(reaching.any(axis=1)):
            probabilities[row] = self._vote_with(X[row], distances[row], candidates[row], to_extra[row], extra)
        return Neighbourhood(probabilities, candidates, idm, reaching)

    def _vote_with(self, x: np.ndarray, distances: np.ndarray, candidates: np.ndarray, to_extra: np.ndarray,
                   extra: ExtraReferences) -> np.ndarray:
        """One row's vote among its candidates with the extra references nearer than its last one."""
        near = np.flatnonzero(to_extra < distances[-1])
        both = np.concatenate([distances, to_extra[near]])
        kept = np.argsort(both, kind="stable")[:len(distances)]
        fitted, added = kept[kept < len(distances)], near[kept[kept >= len(distances)] - len(distances)]
        codes = np.concatenate([self.search_.codes_[candidates[fitted]], extra.codes[added]])
        if np.all(codes == codes[0]):
            voted = np.zeros(len(self.classes_))
            voted[codes[0]] = 1.0
            return voted
        images = np.concatenate([self.images_[candidates[fitted]], extra.images[added]])
        measured = _idm(_gradients(x[None, :self.pixels])[0],
                        _gradients(images.astype(np.float32) / (self.levels - 1)), self.warp)
        return self.votes(measured[None, :], codes[None, :])[0]

    def closest(self, found: Neighbourhood, count: int = 5) -> np.ndarray:
        """Indices of the count references closest to each row found, closest first: by the IDM
        distances the vote measured, or in the search's order where all candidates agree (the
        re-ranking would not change the vote, and the order among them matters less)."""
        return np.asarray([candidates[np.arange(count) if np.isnan(measured[0]) else np.argsort(measured)[:count]]
                           for candidates, measured in zip(found.candidates, found.idm)])

    def nearest_reference(self, X, first: int, found: Neighbourhood | None = None) -> np.ndarray:
        """Per row of X, the IDM distance to the nearest of its first `first` Euclidean candidates:
        those the vote measured are taken from found (X's neighbourhood), the others measured here."""
        X = np.asarray(X, dtype=np.float32)
        if found is None:
            return self.idm_distances(X, self.candidates_of(X)[:, :first]).min(axis=1)
        measured = found.idm[:, :first].copy()
        missing = np.flatnonzero(np.isnan(measured[:, 0]))
        if len(missing):
            measured[missing] = self.idm_distances(X[missing], found.candidates[missing, :first])
        return measured.min(axis=1)

    def reference(self, index: int) -> tuple[np.ndarray, int, int]:
        """A stored reference digit: its 28x28 image (0-255, deskewed), label and origin."""
        image = (self.images_[index].reshape(28, 28).astype(np.float32) * (255 / (self.levels - 1))).astype(np.uint8)
        origin = int(self.origins_[index]) if hasattr(self, "origins_") else 0
        return image, int(self.classes_[self.search_.codes_[index]]), origin

    def candidates_of(self, X) -> np.ndarray:
        """Indices of the Euclidean candidates of each row of X."""
        return self.search_.kneighbors(self.search_coordinates(X))[1]

    def idm_distances(self, X, candidates: np.ndarray) -> np.ndarray:
        """IDM distance from each row of X to each of its candidates."""
        query = _gradients(np.asarray(X, dtype=np.float32)[:, :self.pixels])
        distances = np.empty(candidates.shape, np.float32)
        for row, (one, chosen) in enumerate(zip(query, candidates)):
            samples = _gradients(self.images_[chosen].astype(np.float32) / (self.levels - 1))
            distances[row] = _idm(one, samples, self.warp)
        return distances

    def idm_to(self, query: np.ndarray, images: np.ndarray) -> np.ndarray:
        """IDM distance from one query's deskewed pixels (784 in 0..1) to each of images (k, 784 in
        0..1): digits other than the references (a visitor's own examples, digit/live/memory.py)."""
        query = _gradients(np.asarray(query, np.float32)[None, :self.pixels])[0]
        return _idm(query, _gradients(np.asarray(images, np.float32).reshape(len(images), -1)), self.warp)

    def predict_proba(self, X) -> np.ndarray:
        return self.neighbourhood(X).probabilities

    def votes(self, distances: np.ndarray, codes: np.ndarray) -> np.ndarray:
        """Class probabilities from the IDM distances to the candidates and their class codes:
        the n_neighbors closest vote with weight exp(-(d / d_best - 1) / tau)."""
        order = np.argsort(distances, axis=1)[:, :self.n_neighbors]
        nearest = np.take_along_axis(distances, order, 1)
        weights = np.exp(-(nearest / np.maximum(nearest[:, :1], 1e-9) - 1) / self.tau)
        probabilities = np.zeros((len(distances), len(self.classes_)))
        np.add.at(probabilities, (np.arange(len(distances))[:, None], np.take_along_axis(codes, order, 1)), weights)
        return probabilities / probabilities.sum(axis=1, keepdims=True)

    def predict(self, X) -> np.ndarray:
        scores = self.predict_proba(X)  # checks it is fitted before classes_ is read
        return self.classes_[np.argmax(scores, axis=1)]

    def extra_references(self, X, y) -> "ExtraReferences":
        """Digits (rows of the jury's features) and labels to consult beside the fitted references
        at read time (`neighbourhood`), kept as the fitted ones are; nothing fitted changes."""
        check_is_fitted(self)
        X = np.asarray(X, dtype=np.float32)
        codes = np.searchsorted(self.classes_, np.asarray(y))
        return ExtraReferences(self.search_coordinates(X),
                               np.rint(X[:, :self.pixels] * (self.levels - 1)).astype(np.uint8),
                               codes.astype(np.int16))

    def search_coordinates(self, X) -> np.ndarray:
        """Where the candidate search places each row of X (the PCA of its search columns)."""
        return self.pca_.transform(self._search_columns(np.asarray(X, dtype=np.float32))).astype(np.float32)


@dataclass(frozen=True)
class Neighbourhood:
    """What one search of a DeformationNeighbours found for each row read."""

    probabilities: np.ndarray  # (n, classes) the k-NN's vote
    candidates: np.ndarray  # (n, candidates) the fitted references' indices, nearest first in the search
    idm: np.ndarray  # (n, candidates) IDM distance to each candidate; NaN where they all agree (not measured)
    reaching: np.ndarray  # (n, m) whether each extra reference is among each row's candidates (m = 0: none given)

    def rows(self, rows) -> "Neighbourhood":
        return Neighbourhood(self.probabilities[rows], self.candidates[rows], self.idm[rows], self.reaching[rows])


@dataclass(frozen=True)
class ExtraReferences:
    """References consulted beside a fitted DeformationNeighbours' own at read time (corrections
    others confirmed: digit/live/references.py), in its terms."""

    search: np.ndarray  # (m, components) float32: where the candidate search finds them
    images: np.ndarray  # (m, pixels) uint8 in the k-NN's grey levels, deskewed
    codes: np.ndarray  # (m,) class codes (indices into classes_)

    def __len__(self) -> int:
        return len(self.codes)


def _gradients(images: np.ndarray) -> np.ndarray:
    """(n, 784) images -> (n, 2, 28, 28) horizontal and vertical Sobel gradients of a light blur.

    One OpenCV call per filter on all images stacked with zero margins, not one per image."""
    n = len(images)
    margin = 4  # wider than the blur's and Sobel's reach: no bleeding between images
    stacked = np.zeros((n, 28 + 2 * margin, 28 + 2 * margin), np.float32)
    stacked[:, margin:-margin, margin:-margin] = images.reshape(n, 28, 28)
    tall = cv2.GaussianBlur(stacked.reshape(-1, 28 + 2 * margin), (0, 0), 0.75)
    gx = cv2.Sobel(tall, cv2.CV_32F, 1, 0, ksize=3).reshape(n, 28 + 2 * margin, -1)
    gy = cv2.Sobel(tall, cv2.CV_32F, 0, 1, ksize=3).reshape(n, 28 + 2 * margin, -1)
    inner = (slice(None), slice(margin, -margin), slice(margin, -margin))
    return np.stack([gx[inner], gy[inner]], axis=1)


def _idm(query: np.ndarray, samples: np.ndarray, warp: int) -> np.ndarray:
    """IDM distance of query (2, 28, 28) to each of samples (k, 2, 28, 28).

    For every shift within warp, the squared difference of the 3x3 gradient contexts at
    each pixel is a 3x3 box sum of the pixelwise squared difference; each pixel keeps its
    best shift, and the distance is the sum over pixels.
    """
    reach = warp + 1
    padded = np.pad(samples, ((0, 0), (0, 0), (reach, reach), (reach, reach)))
    centre = np.pad(query, ((0, 0), (1, 1), (1, 1)))
    best = None
    for dy in range(-warp, warp + 1):
        for dx in range(-warp, warp + 1):
            shifted = padded[:, :, warp + dy:warp + dy + 30, warp + dx:warp + dx + 30]
            squared = np.square(centre - shifted).sum(axis=1)  # (k, 30, 30)
            rows = squared[:, :-2] + squared[:, 1:-1] + squared[:, 2:]
            context = rows[:, :, :-2] + rows[:, :, 1:-1] + rows[:, :, 2:]
            best = context if best is None else np.minimum(best, context, out=best)
    return best.sum(axis=(1, 2))
