"""Canvas-shape experiments, re-runnable: `python -m experiments.canvas NAME ... [--limit N]`.

Each prints one line per variant: MNIST validation and the canvas set's VALIDATION part (the
MNIST test set and the canvas report part are not read here). Arrays are cached with the
accuracy experiments' (artifacts/experiments/, `experiments.common.Study`).
`--limit N`: N MNIST training digits instead of 50,000, and every count below scaled with it.

    svc-alone [VARIANT ...]  issue 12's direction finding, on the front of the time: the SVC alone
                             (C=10, RBF) on 15,000 MNIST training digits plus extra data, reading the
                             deskewed [PCA-80 of pixels + gradient histograms | topology x weight]
    topology-weights         the SVC alone on 15,000 MNIST + 5,000 stroke digits with the recipe's
                             front: topology at weight 0-1 beside the unit-variance gradient directions
    full OUT [options]       a full jury (all MNIST training digits + extras) fitted as the recipe's
                             first stage with the choices given, saved to OUT
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
from sklearn.decomposition import PCA
from sklearn.pipeline import Pipeline
from sklearn.svm import SVC

from digit.features import Columns, Deskew
from digit.jurors import DIRECTIONS, KNN_JUROR, PIXELS, SVC_GAMMA_FACTOR, build_front, build_jurors, for_serving
from digit.jury import Jury
from digit.model.card import ModelCard
from digit.model.store import MODEL_FILE, save_model
from digit.neighbours import ORIGINS
from digit.topology import Topology
from training.canvas.report import confident_wrong
from experiments.common import Study, accuracy, say
from experiments.old_features import PixelsAndGradients
from training.train import TrainingSet, choose_weights

BASE = 15_000  # MNIST training digits in the SVC-alone runs (as in issue 12), of 50,000


def stroke_pixels(study: Study, count: int) -> tuple[np.ndarray, np.ndarray]:
    """The first `count` generated stroke digits and labels (a set of at least 20,000, scaled, is
    cached: the generator's first digits do not depend on how many are asked for)."""
    from training.stroke_digits import stroke_digits

    if count == 0:
        return np.zeros((0, 784), np.uint8), np.zeros(0, np.int64)
    size = max(count, study.scaled(20_000))
    found = study.cached(f"strokes_{size}", lambda: dict(zip(("pixels", "labels"), stroke_digits(size))))
    return found["pixels"][:count], found["labels"][:count]


def reshaped_pixels(study: Study, count: int) -> tuple[np.ndarray, np.ndarray]:
    """Shape-augmented copies of the first `count` MNIST training digits, and their labels."""
    from experiments.skeleton_shapes import reshaped_mnist

    if count == 0:
        return np.zeros((0, 784), np.uint8), np.zeros(0, np.int64)
    size = max(count, study.scaled(BASE))
    train = study.mnist.train
    found = study.cached(f"reshaped_{size}",
                         lambda: {"pixels": reshaped_mnist(train.images[:size], train.labels[:size])})
    return found["pixels"][:count], train.labels[:count]


def datasets(study: Study) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Normalised (n, 784) digits and labels for every set the SVC-alone runs use."""
    return {"mnist": (study.data["train"], study.data["train_labels"]),
            "validation": (study.data["validation"], study.data["validation_labels"]),
            "canvas": study.canvas,
            "strokes": stroke_pixels(study, study.scaled(10_000)),
            "reshaped": reshaped_pixels(study, study.scaled(BASE))}


# ---- issue 12: the SVC alone on the old front ---------------------------------------------------

def features(study: Study, pixels: np.ndarray, front: Pipeline, name: str, topology_weight: float) -> np.ndarray:
    shape = front.transform(pixels)
    if not topology_weight:
        return shape
    deskewed = Deskew().transform(pixels)
    topology = study.cached(f"topology_{name}_{len(pixels)}", lambda: {"x": Topology(1.0).transform(deskewed)})["x"]
    return np.hstack([shape, topology_weight * topology])


def run(study: Study, name: str, data: dict, extra: list[tuple[str, int]], topology_weight: float = 0.0,
        extra_weight: float = 1.0) -> dict:
    """Fit the SVC on BASE MNIST digits plus the extra sets; score MNIST validation and canvas validation."""
    start = time.perf_counter()
    base = study.scaled(BASE)
    pixels, labels = data["mnist"][0][:base], data["mnist"][1][:base]
    weights = np.ones(base)
    keys = [("mnist", base)]
    for source, count in extra:
        count = study.scaled(count)
        pixels = np.vstack([pixels, data[source][0][:count]])
        labels = np.concatenate([labels, data[source][1][:count]])
        weights = np.concatenate([weights, np.full(count, extra_weight)])
        keys.append((source, count))
    front = Pipeline([("deskew", Deskew()), ("features", PixelsAndGradients()),
                      ("pca", PCA(n_components=80, svd_solver="covariance_eigh"))]).fit(pixels)
    train = np.vstack([features(study, data[source][0][:count], front, source, topology_weight)
                       for source, count in keys])
    gamma = 2.0 / (80 * train[:, :80].var())  # from the PCA part only: the topology weight is on top
    svc = SVC(C=10, gamma=gamma, cache_size=1000).fit(train, labels, sample_weight=weights)
    scores = {}
    for part in ("validation", "canvas"):
        x, y = data[part]
        scores[part] = float(np.mean(svc.predict(features(study, x, front, part, topology_weight)) == y))
    say(f"{name:44s} MNIST validation {scores['validation']:.2%}  canvas validation {scores['canvas']:.2%}  "
        f"({len(labels)} digits, {len(svc.support_)} SV, {time.perf_counter() - start:.0f} s)")
    return scores


VARIANTS = {  # counts for a full run (scaled with --limit)
    "baseline": dict(extra=[]),
    "topology 0.5": dict(extra=[], topology_weight=0.5),
    "topology 1": dict(extra=[], topology_weight=1.0),
    "topology 2": dict(extra=[], topology_weight=2.0),
    "topology 4": dict(extra=[], topology_weight=4.0),
    "strokes 5k": dict(extra=[("strokes", 5_000)]),
    "strokes 10k": dict(extra=[("strokes", 10_000)]),
    "reshaped 5k": dict(extra=[("reshaped", 5_000)]),
    "reshaped 15k": dict(extra=[("reshaped", 15_000)]),
    "strokes 5k + reshaped 5k": dict(extra=[("strokes", 5_000), ("reshaped", 5_000)]),
    "topology 1 + strokes 5k": dict(extra=[("strokes", 5_000)], topology_weight=1.0),
    "topology 2 + strokes 5k": dict(extra=[("strokes", 5_000)], topology_weight=2.0),
    "topology 1 + strokes 5k + reshaped 5k": dict(extra=[("strokes", 5_000), ("reshaped", 5_000)], topology_weight=1.0),
}


def svc_alone(study: Study, variants: list[str]) -> None:
    data = datasets(study)
    for name in variants or list(VARIANTS):
        run(study, name, data, **VARIANTS[name])


# ---- the recipe's front: how much topology -----------------------------------------------------

TOPOLOGY_WEIGHTS = (0.0, 0.1, 0.25, 0.5, 1.0)


def topology_weights(study: Study) -> None:
    """The SVC alone (C=10, gamma 2 / columns) on 15,000 MNIST training digits + 5,000 stroke
    digits, reading the recipe's [gradient directions at unit variance | topology x weight]."""
    base = study.scaled(BASE)
    strokes, stroke_labels = stroke_pixels(study, study.scaled(5_000))
    train = np.vstack([study.data["train"][:base], strokes])
    labels = np.concatenate([study.data["train_labels"][:base], stroke_labels])
    held_out = {"MNIST validation": study.data["validation"], "canvas validation": study.canvas[0]}
    truth = {"MNIST validation": study.data["validation_labels"], "canvas validation": study.canvas[1]}
    # One pass at weight 1, scaled after: Topology(w) is w times Topology(1), and the unit-variance
    # scale comes from the directions alone, so every weight sees what build_front(w) would give.
    front = build_front(topology_weight=1.0).fit(train)
    columns = Columns(PIXELS, unit_variance=True, reference=DIRECTIONS)
    shape = columns.fit_transform(front.transform(train))
    shape_held_out = {name: columns.transform(front.transform(pixels)) for name, pixels in held_out.items()}
    for weight in TOPOLOGY_WEIGHTS:
        start = time.perf_counter()

        def weighted(rows: np.ndarray) -> np.ndarray:
            if weight == 0:
                return rows[:, :DIRECTIONS]
            return np.hstack([rows[:, :DIRECTIONS], weight * rows[:, DIRECTIONS:]])

        rows = weighted(shape)
        svc = SVC(C=10, gamma=SVC_GAMMA_FACTOR / rows.shape[1], cache_size=2000).fit(rows, labels)
        scores = "  ".join(f"{name} {np.mean(svc.predict(weighted(shape_held_out[name])) == truth[name]):.2%}"
                           for name in held_out)
        say(f"SVC on {base} MNIST + {len(stroke_labels)} stroke digits, topology weight {weight}: {scores}  "
            f"({len(svc.support_)} SV, {time.perf_counter() - start:.0f} s)")


# ---- a full jury ---------------------------------------------------------------------------------

def full_jury(study: Study, out: Path, strokes: int, reshaped: int, topology_weight: float, knn_mnist_only: bool,
              choose_on_canvas: bool) -> None:
    """A full jury (all MNIST training digits + extras), fitted as `training.train`'s first stage
    but with these choices, saved to out (not committed); prints MNIST validation and canvas
    validation. knn_mnist_only: the k-NN keeps only MNIST digits (else the extras too)."""
    data = study.data
    train = TrainingSet(data["train"], data["train_labels"], sources={"mnist_train": study.size})
    generated = ORIGINS["generated"]
    for name, (pixels, labels) in (("stroke_digits", stroke_pixels(study, strokes)),
                                   ("reshaped_mnist", reshaped_pixels(study, reshaped))):
        if len(labels):
            train = train.plus(TrainingSet(pixels, labels, sources={name: len(labels)},
                                           origins=np.full(len(labels), generated, np.int8)))
    jurors = build_jurors()
    if not knn_mnist_only:
        dict(jurors)[KNN_JUROR.name].set_params(origins=tuple(ORIGINS))
    start = time.perf_counter()
    jury = Jury(front=build_front(topology_weight), jurors=jurors)
    metadata = {} if train.origins is None else {"sample_weight": train.weights, "origin": train.origins}
    jury.fit(train.pixels, train.labels, **metadata)
    canvas, canvas_labels = study.canvas
    on_mnist, on_canvas = jury.juror_probabilities(data["validation"]), jury.juror_probabilities(canvas)
    validation = data["validation_labels"]
    jury.weights = choose_weights(on_mnist, validation, *((on_canvas, canvas_labels) if choose_on_canvas else ()))
    figures = {"validation_accuracy": accuracy(jury.vote(on_mnist), validation),
               "canvas_validation_accuracy": accuracy(jury.vote(on_canvas), canvas_labels),
               "weights": dict(zip(jury.jurors_, jury.weights)), "canvas_validation": confident_wrong(
                   canvas_labels, jury.vote(on_canvas))}
    save_model(for_serving(jury), out, ModelCard(data=train.sources, metrics=figures,
                                                 training={"seconds": round(time.perf_counter() - start, 1)}))
    jurors_mnist = ", ".join(f"{name} {accuracy(p, validation):.2%}" for name, p in on_mnist.items())
    jurors_canvas = ", ".join(f"{name} {accuracy(p, canvas_labels):.2%}" for name, p in on_canvas.items())
    wrong = figures["canvas_validation"]
    say(f"full jury strokes {strokes} reshaped {reshaped} topology {topology_weight} knn_mnist_only {knn_mnist_only} "
        f"choose_on_canvas {choose_on_canvas}: MNIST validation {figures['validation_accuracy']:.2%} ({jurors_mnist}), "
        f"canvas validation {figures['canvas_validation_accuracy']:.2%} ({jurors_canvas}; "
        f"{wrong['confident_wrong']}/{wrong['wrong']} wrong at >= 80 %), weights {figures['weights']}, "
        f"{(out / MODEL_FILE).stat().st_size / 1e6:.1f} MB, {time.perf_counter() - start:.0f} s")


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m experiments.canvas",
                                     description="Canvas-shape experiments on MNIST and canvas validation.")
    parser.add_argument("--limit", type=int, metavar="N",
                        help="MNIST training digits (validation: a fifth); counts shrink with it. Default: all 50,000")
    commands = parser.add_subparsers(dest="command", required=True)
    alone = commands.add_parser("svc-alone", help="issue 12: the SVC alone on the old front, with extra data")
    alone.add_argument("variants", nargs="*", metavar="VARIANT", help=f"among: {', '.join(VARIANTS)} (default: all)")
    commands.add_parser("topology-weights", help="the SVC alone on the recipe's front, topology at weights 0-1")
    full = commands.add_parser("full", help="fit a full jury with the choices given into OUT")
    full.add_argument("out", type=Path, metavar="OUT")
    full.add_argument("--strokes", type=int, default=0, help="stroke digits added (not scaled by --limit)")
    full.add_argument("--reshaped", type=int, default=0, help="reshaped MNIST digits added (not scaled by --limit)")
    full.add_argument("--topology", type=float, default=0.0, help="topology weight in the front")
    full.add_argument("--knn-mnist-only", action="store_true", help="the k-NN keeps MNIST digits only")
    full.add_argument("--choose-on-canvas", action="store_true", help="weights chosen on canvas validation too")
    arguments = parser.parse_args()
    unknown = set(getattr(arguments, "variants", [])) - set(VARIANTS)
    if unknown:
        parser.error(f"unknown variants: {', '.join(sorted(unknown))}")
    study = Study(arguments.limit)
    if arguments.command == "svc-alone":
        svc_alone(study, arguments.variants)
    elif arguments.command == "topology-weights":
        topology_weights(study)
    else:
        full_jury(study, arguments.out, arguments.strokes, arguments.reshaped, arguments.topology,
                  arguments.knn_mnist_only, arguments.choose_on_canvas)


if __name__ == "__main__":
    main()
