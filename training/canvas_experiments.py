"""Canvas-shape experiments, re-runnable: `python -m training.canvas_experiments [variant ...]`;
`--full OUT` fits a full jury (all MNIST training digits + extras) from the same cached arrays.

Direction finding as in issue 12: the SVC juror alone (C=10, RBF), trained on 15,000 MNIST
training digits plus extra data, on the deskewed [PCA-80 of pixels + HOG | topology x weight].
Each variant prints one line: MNIST validation and the canvas set's VALIDATION part. The MNIST
test set and the canvas report part are not read here. Normalised arrays are cached in
CACHE (default /tmp/canvas-cache; data, never committed).
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import numpy as np
from sklearn.decomposition import PCA
from sklearn.pipeline import Pipeline
from sklearn.svm import SVC

from digit.features import Deskew, PixelsAndGradients
from digit.topology import Topology
from training.data import load_mnist

CACHE = Path(os.environ.get("CACHE", "/tmp/canvas-cache"))
BASE = 15_000  # MNIST training digits in the quick runs (as in the issue)


def cached(name: str, make) -> np.ndarray:
    """An array from CACHE, made (and stored) on first use."""
    CACHE.mkdir(parents=True, exist_ok=True)
    path = CACHE / f"{name}.npy"
    if path.exists():
        return np.load(path)
    array = make()
    np.save(path, array)
    return array


def datasets() -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Normalised (n, 784) digits and labels for every set the experiments use."""
    from training.canvas_digits import canvas_set, normalized
    from training.skeleton_shapes import reshaped_mnist
    from training.stroke_digits import stroke_digits
    from training.train import normalize_all

    mnist = load_mnist()
    canvas = canvas_set("validation")
    strokes = cached("strokes_20k", lambda: _stack_labels(*stroke_digits(20_000)))
    return {
        "mnist": (cached("mnist_train", lambda: normalize_all(mnist.train.images, "normalise train")), mnist.train.labels),
        "validation": (cached("mnist_validation", lambda: normalize_all(mnist.validation.images, "normalise validation")),
                       mnist.validation.labels),
        "canvas": (cached("canvas_validation", lambda: normalized(canvas)), np.array([d.label for d in canvas])),
        "strokes": (strokes[:, :-1].astype(np.uint8), strokes[:, -1].astype(np.int64)),
        "reshaped": (cached("reshaped_15k", lambda: reshaped_mnist(mnist.train.images[:BASE], mnist.train.labels[:BASE])),
                     mnist.train.labels[:BASE]),
    }


def _stack_labels(images: np.ndarray, labels: np.ndarray) -> np.ndarray:
    return np.hstack([images, labels[:, None]]).astype(np.int64)


def features(pixels: np.ndarray, front: Pipeline, name: str, topology_weight: float) -> np.ndarray:
    shape = front.transform(pixels)
    if not topology_weight:
        return shape
    deskewed = Deskew().transform(pixels)
    topo = cached(f"topology_{name}_{len(pixels)}", lambda: Topology(1.0).transform(deskewed))
    return np.hstack([shape, topology_weight * topo])


def run(name: str, data: dict, extra: list[tuple[str, int]], topology_weight: float = 0.0,
        extra_weight: float = 1.0) -> dict:
    """Fit the SVC on BASE MNIST digits plus the extra sets; score MNIST validation and canvas validation."""
    start = time.perf_counter()
    pixels, labels = data["mnist"][0][:BASE], data["mnist"][1][:BASE]
    weights = np.ones(BASE)
    keys = [("mnist", BASE)]
    for source, count in extra:
        pixels = np.vstack([pixels, data[source][0][:count]])
        labels = np.concatenate([labels, data[source][1][:count]])
        weights = np.concatenate([weights, np.full(count, extra_weight)])
        keys.append((source, count))
    front = Pipeline([("deskew", Deskew()), ("features", PixelsAndGradients()),
                      ("pca", PCA(n_components=80, svd_solver="covariance_eigh"))]).fit(pixels)
    train = np.vstack([features(data[source][0][:count], front, source, topology_weight) for source, count in keys])
    gamma = 2.0 / (80 * train[:, :80].var())  # from the PCA part only: the topology weight is on top
    svc = SVC(C=10, gamma=gamma, cache_size=1000).fit(train, labels, sample_weight=weights)
    scores = {}
    for part in ("validation", "canvas"):
        x, y = data[part]
        scores[part] = float(np.mean(svc.predict(features(x, front, part, topology_weight)) == y))
    print(f"{name:44s} MNIST validation {scores['validation']:.2%}  canvas validation {scores['canvas']:.2%}  "
          f"({len(svc.support_)} SV, {time.perf_counter() - start:.0f} s)", flush=True)
    return scores


VARIANTS = {
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


def main() -> None:
    parser = argparse.ArgumentParser(description="SVC-alone direction finding for canvas shapes.")
    parser.add_argument("variants", nargs="*", help=f"names among: {', '.join(VARIANTS)} (default: all)")
    parser.add_argument("--full", type=Path, metavar="OUT", help="instead: fit a full jury into OUT")
    parser.add_argument("--strokes", type=int, default=0)
    parser.add_argument("--reshaped", type=int, default=0)
    parser.add_argument("--topology", type=float, default=0.0)
    parser.add_argument("--knn-mnist-only", action="store_true")
    parser.add_argument("--choose-on-canvas", action="store_true")
    arguments = parser.parse_args()
    if arguments.full:
        full_jury(arguments.full, arguments.strokes, arguments.reshaped, arguments.topology, arguments.knn_mnist_only,
                  arguments.choose_on_canvas)
        return
    chosen = arguments.variants or list(VARIANTS)
    data = datasets()
    for name in chosen:
        run(name, data, **VARIANTS[name])



def full_jury(out: Path, strokes: int, reshaped: int, topology_weight: float, knn_mnist_only: bool,
              choose_on_canvas: bool) -> None:
    """A full jury (all 50k MNIST training digits + extras) from the cached arrays, saved to out;
    prints MNIST validation and canvas validation. Same fitting as `training.train`."""
    from tqdm import tqdm

    from digit.model_store import save_model
    from training.train import TrainingSet, fit_jury, merge

    data = datasets()
    base = TrainingSet(*data["mnist"])
    parts = [(data["strokes"][0][:strokes], data["strokes"][1][:strokes])] if strokes else []
    if reshaped:
        mnist = load_mnist()
        from training.skeleton_shapes import reshaped_mnist

        more = cached(f"reshaped_{reshaped}", lambda: reshaped_mnist(mnist.train.images[:reshaped], mnist.train.labels[:reshaped]))
        parts.append((more, mnist.train.labels[:reshaped]))
    train = merge(base, TrainingSet(np.vstack([p for p, _ in parts]), np.concatenate([y for _, y in parts]))) if parts else base
    start = time.perf_counter()
    with tqdm(total=5, disable=True) as progress:
        model, figures = fit_jury(train, *data["validation"], progress, topology_weight,
                                  len(base.labels) if knn_mnist_only else None,
                                  data["canvas"] if choose_on_canvas else None)
    save_model(model, out, {"metrics": figures, "training": {"seconds": round(time.perf_counter() - start, 1)}})
    jury, front = model[-1], model[:-1]
    canvas = float(np.mean(jury.predict(front.transform(data["canvas"][0])) == data["canvas"][1]))
    print(f"full jury strokes {strokes} reshaped {reshaped} topology {topology_weight} knn_mnist_only {knn_mnist_only} "
          f"choose_on_canvas {choose_on_canvas}: MNIST validation {figures['validation_accuracy']:.2%} "
          f"(jurors {figures['validation_juror_accuracy']}), canvas validation {canvas:.2%}, weights {figures['weights']}, "
          f"confidence {figures['confidence']}, {(out / 'jury.skops').stat().st_size / 1e6:.1f} MB, "
          f"{time.perf_counter() - start:.0f} s", flush=True)


if __name__ == "__main__":
    main()
