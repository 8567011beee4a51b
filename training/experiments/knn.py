"""The IDM k-NN: how it grows with its references, and its settings (issue 14)."""

from __future__ import annotations

import numpy as np
from sklearn.base import clone

from digit.jurors import PIXELS, build_jurors
from digit.neighbours import DeformationNeighbours
from experiments.common import Study, accuracy, choose, say


def recipe_knn(**settings) -> DeformationNeighbours:
    """The recipe's k-NN (unfitted), with settings changed."""
    return clone(dict(build_jurors())["knn"]).set_params(**settings)


def power_law(sizes: list[int], errors: list[float], targets: tuple[int, ...], unit: str) -> None:
    """Fit error = a * n^b through the measured points and print its predictions at the targets."""
    slope, intercept = np.polyfit(np.log(sizes), np.log(errors), 1)
    for size in targets:
        say(f"power law error = {np.exp(intercept):.3g} * n^{slope:.3f}: {size} {unit} "
            f"-> {1 - np.exp(intercept) * size ** slope:.2%}")


def knn_references(study: Study) -> None:
    """The recipe's k-NN's validation accuracy against the number of stored training digits
    (a fifth of them to all), and a power law through the errors to predict 60,000 (6/5 of all)."""
    features, labels = study.features, study.data["train_labels"]
    validation = study.data["validation_labels"]
    sizes, errors = [], []
    for size in [study.size * fifth // 5 for fifth in range(1, 6)]:
        accuracies = []
        for seed in range(1 if size == study.size else 3):
            chosen = np.random.default_rng(seed).permutation(study.size)[:size]
            knn = recipe_knn().fit(features["train"][chosen], labels[chosen])
            accuracies.append(accuracy(knn.predict_proba(features["validation"]), validation))
        sizes.append(size)
        errors.append(1 - np.mean(accuracies))
        say(f"IDM k-NN with {size} references: validation {np.mean(accuracies):.2%} "
            f"({', '.join(f'{a:.2%}' for a in accuracies)})")
    power_law(sizes, errors, (study.size, study.size * 6 // 5), "references")


def views(study: Study, space: str) -> dict[str, np.ndarray]:
    """[deskewed pixels | the columns the candidates are searched in], for train and validation."""
    columns = {"directions": study.directions, "pixels": study.pixels,
               "histograms": lambda name: study.histograms[name][:, PIXELS:]}[space]
    return {name: np.hstack([study.pixels(name), columns(name)]) for name in ("train", "validation")}


def idm_to_candidates(study: Study, space: str, count: int) -> dict[str, np.ndarray]:
    """The `count` Euclidean candidates (nearest first) of each validation digit on a PCA-40 of
    `space`, their class codes, and the IDM distance to each."""
    def compute():
        found = views(study, space)
        knn = recipe_knn(search=None, candidates=count).fit(found["train"], study.data["train_labels"])
        candidates = knn.candidates_of(found["validation"])
        return {"candidates": candidates, "codes": knn.search_.codes_[candidates],
                "distances": knn.idm_distances(found["validation"], candidates)}
    return study.cached(f"idm_{space}_{count}", compute)


def knn_parameters(study: Study) -> None:
    """Re-ranking more Euclidean candidates, other k and tau, other spaces for the candidates;
    each k-NN also in a jury with the studied SVC and forest (weights chosen on validation)."""
    labels = study.data["validation_labels"]
    knn = DeformationNeighbours()
    knn.classes_ = np.arange(10)
    found = idm_to_candidates(study, "directions", 100)
    for candidates in (20, 30, 50, 100):
        for k, tau in ((5, 0.1), (3, 0.1), (3, 0.2), (5, 0.2)):
            knn.n_neighbors, knn.tau = k, tau
            probabilities = knn.votes(found["distances"][:, :candidates], found["codes"][:, :candidates])
            weights, jury = choose({**study.jury_probabilities, "knn": probabilities}, labels)
            say(f"IDM k-NN, {candidates} candidates, k {k}, tau {tau}: "
                f"validation {accuracy(probabilities, labels):.2%}, jury {jury:.2%} (weights {weights})")
    knn.n_neighbors, knn.tau = 3, 0.2
    for space in ("directions", "histograms", "pixels"):
        found = idm_to_candidates(study, space, 100 if space == "directions" else 50)
        found = {key: values[:, :50] for key, values in found.items()}  # nearest first
        recall = np.mean((found["codes"] == labels[:, None]).any(axis=1))
        probabilities = knn.votes(found["distances"], found["codes"])
        say(f"IDM k-NN, 50 candidates by PCA-40 of {space}: right digit among them {recall:.2%}, "
            f"validation {accuracy(probabilities, labels):.2%}")


def knn_out_of_fold(train: np.ndarray, labels: np.ndarray, rows: np.ndarray, **settings) -> np.ndarray:
    """The k-NN's probabilities for the training digits `rows`, each left out of the references.
    train: [deskewed pixels | search columns]."""
    knn = recipe_knn(search=None, **settings).fit(train, labels)
    knn.search_.n_neighbors = knn.candidates + 1
    found = knn.candidates_of(train[rows])
    keep = found != rows[:, None]
    keep[keep.all(axis=1), -1] = False  # itself not found (a duplicate digit): drop the farthest
    candidates = found[keep].reshape(len(found), knn.candidates)
    codes = knn.search_.codes_[candidates]
    probabilities = np.zeros((len(found), 10))
    unanimous = np.all(codes == codes[:, :1], axis=1)
    probabilities[unanimous, codes[unanimous, 0]] = 1.0
    split = np.flatnonzero(~unanimous)
    for start in range(0, len(split), 2000):
        part = split[start:start + 2000]
        probabilities[part] = knn.votes(knn.idm_distances(train[rows[part]], candidates[part]), codes[part])
    return probabilities
