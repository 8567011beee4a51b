"""A k-NN that sees how a digit leans (issue 21): the slant in its ranking.

Every column the k-NN reads is taken after deskewing, which makes a 7's slanting stem upright;
a 1 with a long, nearly level flag then finds 7s as its neighbours, and in the jury it outvotes
an SVC that sees the slant and reads 1. Here the studied jury's k-NN (MNIST plus the recipe's
share of stroke digits as references, no doubt) ranks its candidates by their IDM distance
stretched by exp(slant x the difference in lean) (`stretched`), for several weights. For each: the k-NN alone and the jury on MNIST validation and canvas
validation (weights and temperature chosen as `training.train` chooses them), the canvas
validation 1s read as 7, the flagged and narrow hands, and the confident wrong answers. The
canvas report part and MNIST test are never read here. (Tried first at `--limit 2000`: the
slant as a column of the candidate search instead, at 0.5-4 times the slant column, changed
neither the k-NN nor the jury.)

    python -m experiments knn-slant     # ~15 min on 2 cores after the studied jury
"""

from __future__ import annotations

import numpy as np

from digit.neighbours import ORIGINS, DeformationNeighbours
from training.canvas.report import canvas_tags, confident_wrong
from experiments.canvas_knn import HANDS, studied_features, with_knn
from experiments.common import Study, accuracy, say
from experiments.knn import recipe_knn
from training.train import KNN_STROKE_SHARE

SLANTS = (0.0, 0.5, 1.0, 2.0, 3.0, 4.0)  # per unit of the slant column (its std ~0.46 on MNIST)
SETS = ("validation", "canvas")


def slanted_knn(study: Study, found: dict[str, np.ndarray]) -> tuple[DeformationNeighbours, np.ndarray]:
    """The studied k-NN fitted again, and its references' lean (the front's last column, as kept:
    MNIST and stroke digits are all references)."""
    def fit():
        kept = round(KNN_STROKE_SHARE * len(found["generated_labels"]))
        rows = np.concatenate([found["train"], found["generated"][:kept]])
        knn = recipe_knn().fit(
            rows, np.concatenate([study.data["train_labels"], found["generated_labels"][:kept]]),
            origin=np.repeat([ORIGINS["mnist"], ORIGINS["stroke"]], [len(found["train"]), kept]).astype(np.int8))
        return knn, rows[:, -1].astype(np.float16)
    return study.pickled("knn_slant_leans", fit)


def stretched(slant: float, rows: np.ndarray, candidates: np.ndarray, leans: np.ndarray,
              distances: np.ndarray) -> np.ndarray:
    """IDM distances times exp(slant x |the query's lean - the candidate's|)."""
    lean = np.asarray(rows, dtype=np.float32)[:, -1:]
    return distances * np.exp(slant * np.abs(lean - leans[candidates].astype(np.float32)))


def ranked(study: Study, found: dict[str, np.ndarray], knn: DeformationNeighbours) -> dict[str, np.ndarray]:
    """For MNIST and canvas validation: each digit's candidates, their codes and IDM distances
    (NaN where every candidate has the same label: no ranking can change that vote)."""
    def compute():
        readings = {}
        for name in SETS:
            candidates = knn.candidates_of(found[name])
            codes = knn.search_.codes_[candidates]
            distances = np.full(candidates.shape, np.nan, np.float32)
            split = np.flatnonzero(~np.all(codes == codes[:, :1], axis=1))
            distances[split] = knn.idm_distances(found[name][split], candidates[split])
            readings.update({f"{name}_candidates": candidates, f"{name}_codes": codes, f"{name}_distances": distances})
        return readings
    return study.cached("knn_slant_ranked", compute)


def voted(knn: DeformationNeighbours, slant: float, leans: np.ndarray, readings: dict[str, np.ndarray],
          rows: np.ndarray, name: str) -> np.ndarray:
    """The k-NN's probabilities with its ranking stretched by the lean at this weight, from the
    stored candidates and IDM distances."""
    codes, distances = readings[f"{name}_codes"], readings[f"{name}_distances"]
    probabilities = np.zeros((len(codes), len(knn.classes_)))
    unanimous = np.isnan(distances[:, 0])
    probabilities[unanimous, codes[unanimous, 0]] = 1.0
    split = np.flatnonzero(~unanimous)
    ranked = stretched(slant, rows[split], readings[f"{name}_candidates"][split], leans, distances[split])
    probabilities[split] = knn.votes(ranked, codes[split])
    return probabilities


def knn_slant(study: Study) -> None:
    """The k-NN's slant weight in its ranking, alone and in the jury."""
    found = studied_features(study)
    knn, leans = slanted_knn(study, found)
    readings = ranked(study, found, knn)
    mnist_labels, (_, canvas_labels) = study.data["validation_labels"], study.canvas
    tags = canvas_tags("validation")
    hands = {hand: np.array([hand in each for each in tags]) for hand in HANDS}
    ones = canvas_labels == 1
    for slant in SLANTS:
        read = {name: voted(knn, slant, leans, readings, found[name], name) for name in SETS}
        voter, mnist, canvas, figures = with_knn(study, found, read)
        on_page = voter.vote(canvas)
        answers = on_page.argmax(axis=1)
        sure = confident_wrong(canvas_labels, on_page)
        say(f"slant {slant}: k-NN MNIST validation {accuracy(read['validation'], mnist_labels):.2%}, canvas validation "
            f"{accuracy(read['canvas'], canvas_labels):.2%} (1s read as 7: {int(np.sum(read['canvas'][ones].argmax(1) == 7))}); "
            f"jury (weights {voter.weights}) MNIST validation {accuracy(voter.vote(mnist), mnist_labels):.2%}, "
            f"canvas validation {np.mean(answers == canvas_labels):.2%} (1s read as 7: {int(np.sum(answers[ones] == 7))}; "
            f"{', '.join(f'{h} {np.mean(answers[m] == canvas_labels[m]):.1%}' for h, m in hands.items())}); "
            f"T {figures['temperature']}, confident wrong {sure['confident_wrong']} of {sure['wrong']}")
