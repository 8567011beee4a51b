"""The k-NN on canvas-style digits (issue 21): which references it keeps and how much it doubts.

The studied jury (the recipe's first stage, `Study.jury`) with its k-NN fitted again on the same
training digits, keeping MNIST digits alone (the recipe before issue 21) or MNIST digits plus
the first 25 %, 50 % or all of the TRAINING generator's stroke digits (training/stroke_digits.py,
the ones the SVC and the forest learned from; never the evaluation set's), each with several doubt
weights (the doubt is applied to one reading per reference set, as the k-NN applies it), and all
of them in 8 grey levels instead of 16 (a smaller file). For each: the k-NN alone and the jury on MNIST
validation and the canvas set's validation part, weights chosen as `training.train` chooses
them, the canvas validation hands of issue 21, and the confident wrong answers after the
temperature is fitted as `training.train` fits it. The canvas report part and MNIST test are
never read here. The shipped recipe (training/train.py KNN_STROKE_SHARE; no doubt,
digit/jurors.py) is the variant with the best canvas validation figure among those within MNIST_SLACK
of the old recipe's MNIST validation figure, whose model file stays under 20 MB.

    python -m experiments knn-canvas     # ~20 min on 2 cores with an empty cache
"""

from __future__ import annotations

import copy

import numpy as np
from sklearn.metrics import accuracy_score

from digit.neighbours import ORIGINS, DeformationNeighbours, NearestNeighbours
from training.canvas.report import canvas_tags, confident_wrong
from experiments.common import Study, accuracy, say
from experiments.juries import assembled, saved
from experiments.knn import recipe_knn
from training.train import calibrate, choose_weights, stroke_set

GENERATED_SHARES = (0.0, 0.25, 0.5, 1.0)  # of the studied jury's stroke digits kept as k-NN references
DOUBTS = (None, 1.0, 2.0, 3.0, 4.0)  # None: the k-NN never doubts
HANDS = ("flag", "long_flag", "narrow")
GATES = (0.8, 1.0, 1.5)  # typical distances (`typical_distance`)


def typical_distance(knn: DeformationNeighbours, sample: int = 3000) -> float:
    """How far a reference usually is from its nearest other reference (median, in the search
    space): the yardstick for how unlike everything known a query is."""
    samples = knn.search_._float32_rows(knn.search_.samples_)[0]
    chosen = np.random.default_rng(0).choice(len(samples), min(sample, len(samples)), replace=False)
    search = NearestNeighbours(2).fit(samples, np.zeros(len(samples)))
    distances, _ = search.kneighbors(samples[chosen])
    return float(np.median(distances[:, 1]))


def studied_features(study: Study) -> dict[str, np.ndarray]:
    """The studied jury's front on its training digits (MNIST, then stroke digits), MNIST
    validation and canvas validation; the SVC's and the forest's canvas probabilities."""
    def compute():
        jury, canvas = study.jury, study.canvas[0]
        generated = stroke_set(study.strokes)
        found = {"train": jury.features(study.data["train"]).astype(np.float32),
                 "generated": jury.features(generated.pixels).astype(np.float32),
                 "generated_labels": generated.labels,
                 "validation": jury.features(study.data["validation"]).astype(np.float32),
                 "canvas": jury.features(canvas).astype(np.float32)}
        on_canvas = jury.probabilities_of_features(found["canvas"], only=["svc", "rf"])
        return {**found, **{f"canvas_{name}": p for name, p in on_canvas.items()}}
    return study.cached("canvas_knn_features", compute)


def knn_readings(study: Study, found: dict[str, np.ndarray], share: float, levels: int = 16) -> dict[str, np.ndarray]:
    """The k-NN (no doubt) with MNIST plus `share` of the stroke digits as references: its
    probabilities on MNIST validation and canvas validation, each digit's distance to its nearest
    reference over the typical one (what the doubt reads), and the reference count."""
    def compute():
        kept = round(share * len(found["generated_labels"]))
        pixels = np.concatenate([found["train"], found["generated"][:kept]])
        labels = np.concatenate([study.data["train_labels"], found["generated_labels"][:kept]])
        origin = np.concatenate([np.full(len(found["train"]), ORIGINS["mnist"]),
                                 np.full(kept, ORIGINS["stroke"])]).astype(np.int8)
        knn = recipe_knn(levels=levels).fit(
            pixels, labels, origin=origin)
        readings = {"references": np.array(len(knn.images_))}
        typical = typical_distance(knn)
        for name in ("validation", "canvas"):
            readings[name] = knn.predict_proba(found[name])
            distances, _ = knn.search_.kneighbors(knn.search_coordinates(found[name]))
            readings[f"{name}_ratio"] = distances[:, 0] / typical
        return readings
    return study.cached(f"canvas_knn_{share}" + ("" if levels == 16 else f"_{levels}_levels"), compute)


def doubted(probabilities: np.ndarray, ratio: np.ndarray, doubt: float | None) -> np.ndarray:
    """DeformationNeighbours.predict_proba's doubt, applied to readings without it."""
    if doubt is None:
        return probabilities
    confidence = np.exp(-np.maximum(ratio - 1, 0) / doubt)[:, None]
    return confidence * probabilities + (1 - confidence) / probabilities.shape[1]


def with_knn(study: Study, found: dict[str, np.ndarray], knn: dict[str, np.ndarray]):
    """The studied jury with another k-NN's probabilities on MNIST validation and canvas validation
    (knn["validation"], knn["canvas"]), its weights and temperature chosen as `training.train` chooses
    them: the voting jury, every juror's probabilities on both sets, and the calibration's figures."""
    mnist_labels, (_, canvas_labels) = study.data["validation_labels"], study.canvas
    mnist = {"svc": study.jury_probabilities["svc"], "knn": knn["validation"], "rf": study.jury_probabilities["rf"]}
    canvas = {"svc": found["canvas_svc"], "knn": knn["canvas"], "rf": found["canvas_rf"]}
    weights = choose_weights(mnist, mnist_labels, canvas, canvas_labels)
    voter = copy.copy(study.jury).set_params(weights=weights, temperature=1.0, unsure_below=0.0)
    figures = calibrate(voter, [mnist, canvas], [mnist_labels, canvas_labels])
    return voter, mnist, canvas, figures


def knn_canvas(study: Study) -> None:
    """The k-NN's references (MNIST alone or plus stroke digits) against its doubt weight."""
    found = studied_features(study)
    jury = study.jury
    mnist_labels, (_, canvas_labels) = study.data["validation_labels"], study.canvas
    tags = canvas_tags("validation")
    hands = {hand: np.array([hand in each for each in tags]) for hand in HANDS}
    on_mnist = {name: p for name, p in study.jury_probabilities.items() if name != "knn"}
    on_canvas = {"svc": found["canvas_svc"], "rf": found["canvas_rf"]}
    for share, levels in [(share, 16) for share in GENERATED_SHARES] + [(1.0, 8)]:
        readings = knn_readings(study, found, share, levels)
        for doubt in DOUBTS:
            knn = {name: doubted(readings[name], readings[f"{name}_ratio"], doubt) for name in ("validation", "canvas")}
            voter, mnist, canvas, figures = with_knn(study, found, knn)
            weights = voter.weights
            voted = voter.vote(canvas)
            right = voted.argmax(axis=1) == canvas_labels
            sure = confident_wrong(canvas_labels, voted)
            say(f"k-NN references {int(readings['references'])} ({share:.0%} of the stroke digits, {levels} grey levels), "
                f"doubt {doubt}: "
                f"k-NN MNIST validation {accuracy(knn['validation'], mnist_labels):.2%}, canvas validation "
                f"{accuracy(knn['canvas'], canvas_labels):.2%}; jury (weights {weights}) MNIST validation "
                f"{accuracy_score(mnist_labels, voter.vote(mnist).argmax(axis=1)):.2%}, canvas validation "
                f"{right.mean():.2%}, {', '.join(f'{h} {right[m].mean():.1%}' for h, m in hands.items())}; "
                f"T {figures['temperature']}, confident wrong {sure['confident_wrong']} of {sure['wrong']}")
    mnist_only, every = knn_readings(study, found, 0.0), knn_readings(study, found, 1.0)
    for gate in GATES:  # MNIST references alone for digits near one of them, all of them for the others
        knn = {name: np.where((mnist_only[f"{name}_ratio"] <= gate)[:, None], mnist_only[name], every[name])
               for name in ("validation", "canvas")}
        mnist = {"svc": on_mnist["svc"], "knn": knn["validation"], "rf": on_mnist["rf"]}
        canvas = {"svc": on_canvas["svc"], "knn": knn["canvas"], "rf": on_canvas["rf"]}
        weights = choose_weights(mnist, mnist_labels, canvas, canvas_labels)
        say(f"k-NN reading with MNIST references alone within {gate} typical distances of one, else with all "
            f"stroke digits too: k-NN MNIST validation {accuracy(knn['validation'], mnist_labels):.2%}, canvas "
            f"validation {accuracy(knn['canvas'], canvas_labels):.2%}; jury (weights {weights}) MNIST validation "
            f"{accuracy(np.tensordot(weights, np.stack(list(mnist.values())), 1), mnist_labels):.2%}, canvas "
            f"validation {accuracy(np.tensordot(weights, np.stack(list(canvas.values())), 1), canvas_labels):.2%}")
    for share, levels in [(share, 16) for share in GENERATED_SHARES] + [(1.0, 8)]:  # what they cost the file
        kept = round(share * len(found["generated_labels"]))
        knn = recipe_knn(levels=levels).fit(
            np.concatenate([found["train"], found["generated"][:kept]]),
            np.concatenate([study.data["train_labels"], found["generated_labels"][:kept]]),
            origin=np.repeat([ORIGINS["mnist"], ORIGINS["stroke"]], [len(found["train"]), kept]).astype(np.int8))
        size, _, _ = saved(assembled(jury.front_, {**jury.jurors_, "knn": knn}, jury.weights))
        say(f"model file with {share:.0%} of the stroke digits as k-NN references in {levels} grey levels: {size:.1f} MB "
            f"(the studied jury keeps {len(found['train'])} MNIST references; a final fit adds the validation digits)")
