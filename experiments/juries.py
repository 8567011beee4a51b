"""Juries: which jurors to combine and how to weigh them, and what the recipe costs to ship
(file, load time, latency) and to fit on all 60,000 digits (issue 14)."""

from __future__ import annotations

import itertools
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np
from sklearn.base import clone
from sklearn.pipeline import Pipeline
from threadpoolctl import threadpool_limits

from digit.reading.classifier import Classifier
from digit.features import Columns
from digit.jurors import DIRECTIONS, PIXELS, SVC_GAMMA_FACTOR, build_front, build_jurors, for_serving
from digit.jury import Jury
from digit.model.card import ModelCard
from digit.model.store import MODEL_FILE, ModelError, load_model, save_model
from training.canvas.drawings import canvas_set
from experiments.common import Study, accuracy, choose, say
from experiments.knn import idm_to_candidates, knn_out_of_fold, recipe_knn, views
from experiments.svc import calibrated_svc
from training.train import choose_weights, peak_memory_mb, stroke_set

KNN_SETTINGS = ((20, 5, 0.1), (50, 3, 0.2), (100, 3, 0.2))  # candidates, k, tau: shipped before, recipe, more


def candidate_jurors(study: Study) -> dict[str, dict[str, np.ndarray]]:
    """Validation and out-of-fold training probabilities of the candidate jurors, each fitted on
    the MNIST training digits alone ("train_rows": the rows the out-of-fold ones are for)."""
    labels, every = study.data["train_labels"], np.arange(study.size)
    histograms = study.histograms
    jurors = {"svc_histograms": calibrated_svc(study, "histograms", histograms["train"][:, PIXELS:], labels,
                                               histograms["validation"][:, PIXELS:]),
              "svc_directions": calibrated_svc(study, "directions", study.directions("train"), labels,
                                               study.directions("validation"))}

    def knn(space: str, rows: np.ndarray, candidates: int, k: int, tau: float) -> dict[str, np.ndarray]:
        found = idm_to_candidates(study, space, 100)  # nearest first: the first `candidates` of 100
        voter = recipe_knn(n_neighbors=k, tau=tau)
        voter.classes_ = np.arange(10)
        return {"validation": voter.votes(found["distances"][:, :candidates], found["codes"][:, :candidates]),
                "train": knn_out_of_fold(views(study, space)["train"], labels, rows, candidates=candidates,
                                         n_neighbors=k, tau=tau),
                "train_rows": rows}

    jurors["knn_histograms_20"] = study.cached("knn_histograms_20", lambda: knn("histograms", every, 20, 5, 0.1))
    # 100 candidates re-ranked cost 5 times as much: out of fold on a tenth of the training digits.
    some = np.sort(np.random.default_rng(0).permutation(study.size)[:study.size // 10])
    jurors["knn_histograms_100"] = study.cached("knn_histograms_100", lambda: knn("histograms", some, 100, 3, 0.2))
    jurors["knn_directions_50"] = study.cached("knn_directions_50", lambda: knn("directions", every, 50, 3, 0.2))
    for juror in jurors.values():
        juror.setdefault("train_rows", every)
    return jurors


def combine(study: Study) -> None:
    """Juries of the candidate jurors: weights chosen on validation (optimistic), on one half of it
    and read on the other, and on the training set's out-of-fold probabilities (no validation
    split needed: what a final fit on all 60k digits would use)."""
    labels, validation = study.data["train_labels"], study.data["validation_labels"]
    halves = np.array_split(np.random.default_rng(0).permutation(len(validation)), 2)
    studied = study.jury_probabilities
    for size in (2, 3):
        for names in itertools.combinations(studied, size):
            weights, right = choose({name: studied[name] for name in names}, validation)
            say(f"the recipe's jurors {' + '.join(names)}: weights chosen on validation {weights} {right:.2%}")
    jurors = candidate_jurors(study)
    for name, juror in jurors.items():
        say(f"{name}: validation {accuracy(juror['validation'], validation):.2%}, out of fold on "
            f"{len(juror['train_rows'])} training digits {accuracy(juror['train'], labels[juror['train_rows']]):.2%}")
    for size in (2, 3):
        for names in itertools.combinations(jurors, size):
            on_validation = {name: jurors[name]["validation"] for name in names}
            weights, optimistic = choose(on_validation, validation)
            right = 0
            for chosen, read in (halves, halves[::-1]):
                half_weights, _ = choose({n: p[chosen] for n, p in on_validation.items()}, validation[chosen])
                mixed = np.tensordot(half_weights, np.stack([p[read] for p in on_validation.values()]), 1)
                right += np.sum(np.argmax(mixed, 1) == validation[read])
            # the tenth of the digits when knn_histograms_100 is in
            rows = min((jurors[name]["train_rows"] for name in names), key=len)
            oof_weights, oof = choose({name: jurors[name]["train"][np.searchsorted(jurors[name]["train_rows"], rows)]
                                       for name in names}, labels[rows])
            read = accuracy(np.tensordot(oof_weights, np.stack(list(on_validation.values())), 1), validation)
            say(f"jury {' + '.join(names)}: weights chosen on validation {weights} {optimistic:.2%}; "
                f"on one half, read on the other {right / len(validation):.2%}; "
                f"out of fold on {len(rows)} training digits {oof_weights} ({oof:.2%}) -> validation {read:.2%}")


# ---- what the recipe costs ----------------------------------------------------------------------

def assembled(front, jurors: dict, weights: list[float] | None) -> Jury:
    """A Jury from parts fitted apart, as Jury.fit would have left it (its parameters unfitted
    copies of the recipe's, so that the file holds each fitted part once)."""
    recipe = dict(build_jurors())
    jury = Jury(front=build_front(), jurors=[(name, recipe[name]) for name in jurors], weights=weights)
    jury.front_, jury.jurors_, jury.classes_ = front, dict(jurors), np.arange(10)
    return jury


def knn_variants(study: Study) -> dict[str, Jury]:
    """The studied jury with each k-NN setting in KNN_SETTINGS (refitted on the same references),
    weights chosen again as `training.train` chooses them (MNIST and canvas validation)."""
    jury, (canvas, canvas_labels) = study.jury, study.canvas
    canvas_features = jury.features(canvas)
    on_canvas = jury.probabilities_of_features(canvas_features, only=["svc", "rf"])
    found = {}
    for candidates, k, tau in KNN_SETTINGS:
        knn = recipe_knn(candidates=candidates, n_neighbors=k, tau=tau).fit(study.features["train"],
                                                                          study.data["train_labels"])
        variant = assembled(jury.front_, {**jury.jurors_, "knn": knn}, None)
        on_mnist = {**study.jury_probabilities, "knn": knn.predict_proba(study.features["validation"])}
        variant.weights = choose_weights(on_mnist, study.data["validation_labels"],
                                         {**on_canvas, "knn": knn.predict_proba(canvas_features)},
                                         canvas_labels)
        found[f"recipe, {candidates} candidates, k {k}, tau {tau}"] = variant
    return found


def sketches(count: int = 20) -> list[np.ndarray]:
    """Canvas drawings as the Sketchpad sends them (400x400 RGBA): the first validation writers'."""
    return [drawing.image() for drawing in canvas_set("validation", writers=(count + 9) // 10)][:count]


def latencies(classifiers: dict[str, Classifier], repeats: int) -> dict[str, str]:
    """Each classifier reading the sketches, preprocessing included, on one core, taking turns
    sketch by sketch so that all see the same load: wall and CPU time per sketch."""
    drawings = sketches()
    cv2.setNumThreads(1)
    wall = {name: [] for name in classifiers}
    cpu = {name: [] for name in classifiers}
    with threadpool_limits(1):
        for classifier in classifiers.values():
            classifier.predict(drawings[0])
        for index in range(repeats):
            for name, classifier in classifiers.items():
                start, start_cpu = time.perf_counter(), time.thread_time()
                classifier.predict(drawings[index % len(drawings)])
                wall[name].append((time.perf_counter() - start) * 1000)
                cpu[name].append((time.thread_time() - start_cpu) * 1000)
    return {name: f"wall p50 {np.percentile(wall[name], 50):.1f} ms, p99 {np.percentile(wall[name], 99):.1f} ms; "
                  f"CPU p50 {np.percentile(cpu[name], 50):.1f} ms, p99 {np.percentile(cpu[name], 99):.1f} ms"
            for name in classifiers}


def shipped() -> dict[str, Classifier]:
    """The model in MODEL_DIR (models/), for comparison, if this code can load it."""
    try:
        return {"shipped model": load_model().classifier}
    except ModelError as error:
        say(f"(no shipped model to compare with: {error})")
        return {}


def saved(jury: Jury) -> tuple[float, Classifier, float]:
    """The jury through a model file, as the app gets it: file MB, the loaded classifier, load seconds."""
    with tempfile.TemporaryDirectory() as folder:
        save_model(jury, Path(folder), ModelCard())
        size = (Path(folder) / MODEL_FILE).stat().st_size / 1e6
        loaded = load_model(Path(folder))
    return size, loaded.classifier, loaded.seconds


def recipe(study: Study) -> None:
    """The recipe's jury (first stage) with the k-NN settings of KNN_SETTINGS: MNIST and canvas
    validation accuracy of each juror and of the jury, model file size, load time, latency."""
    canvas, canvas_labels = study.canvas
    validation = study.data["validation_labels"]
    loaded = {}
    for name, jury in knn_variants(study).items():
        size, classifier, seconds = saved(jury)
        loaded[name] = classifier
        on_mnist, on_canvas = jury.juror_probabilities(study.data["validation"]), jury.juror_probabilities(canvas)
        say(f"{name}: MNIST validation {', '.join(f'{j} {accuracy(p, validation):.2%}' for j, p in on_mnist.items())}, "
            f"jury {accuracy(jury.vote(on_mnist), validation):.2%}; canvas validation "
            f"{', '.join(f'{j} {accuracy(p, canvas_labels):.2%}' for j, p in on_canvas.items())}, "
            f"jury {accuracy(jury.vote(on_canvas), canvas_labels):.2%} (weights {jury.weights}); "
            f"file {size:.1f} MB, load {seconds:.2f} s")
    for name, line in latencies({**shipped(), **loaded}, 100 if study.limit else 300).items():
        say(f"latency {name}: {line} (this machine, shared)")


def latency(study: Study) -> None:
    """The shipped model and the recipe's juries taking turns on canvas drawings."""
    models = {**shipped(), **{name: Classifier(jury) for name, jury in knn_variants(study).items()}}
    for name, line in latencies(models, 50 if study.limit else 300).items():
        say(f"latency {name}: {line} (this machine, shared)")


def final_fit(study: Study) -> None:
    """The recipe on all training digits (training + validation split, as `training.train`'s
    final fit) plus stroke digits, with the voting weights chosen on out-of-fold probabilities
    (the SVC's calibration folds, the k-NN leaving each digit out, the forest's out-of-bag
    digits) and on canvas validation: no MNIST validation split needed. Prints the cost (time,
    peak memory, file, load, latency) and the out-of-fold jury accuracy, the cross-validated
    MNIST figure a retraining gate can use. Normalisation is cached and not counted."""
    data = study.data
    mnist = np.concatenate([data["train"], data["validation"]])
    labels = np.concatenate([data["train_labels"], data["validation_labels"]])
    generated = stroke_set(study.strokes)
    pixels, all_labels = np.concatenate([mnist, generated.pixels]), np.concatenate([labels, generated.labels])
    rows = np.arange(len(labels))  # the MNIST digits: the out-of-fold figures are for them
    start = time.perf_counter()
    front = build_front().fit(pixels)
    features = front.transform(pixels).astype(np.float32)
    steps = {"features": time.perf_counter() - start}
    columns = Columns(PIXELS, unit_variance=True, reference=DIRECTIONS).fit(features)
    shape = columns.transform(features)
    svc = calibrated_svc(study, "recipe_all", shape, all_labels, shape[:1], gamma=SVC_GAMMA_FACTOR / shape.shape[1])
    steps["svc"] = svc["seconds"]
    mark = time.perf_counter()
    knn = recipe_knn().fit(features[rows], labels)  # the k-NN keeps MNIST digits only, as the recipe's
    forest = clone(dict(build_jurors())["rf"]).set_params(rf__oob_score=True).fit(features, all_labels)
    steps["knn and forest"] = time.perf_counter() - mark
    mark = time.perf_counter()
    out_of_fold = {"svc": svc["train"][rows],
                   "knn": knn_out_of_fold(features[rows, :PIXELS + DIRECTIONS], labels, rows, candidates=knn.candidates,
                                          n_neighbors=knn.n_neighbors, tau=knn.tau),
                   "rf": np.nan_to_num(forest.named_steps["rf"].oob_decision_function_[rows])}
    forest.set_params(rf__oob_score=False)
    del forest.named_steps["rf"].oob_decision_function_, forest.named_steps["rf"].oob_score_  # not for the file
    svc_juror = Pipeline([("shape", columns), ("svc", svc["model"])])
    jury = assembled(front, {"svc": svc_juror, "knn": knn, "rf": forest}, None)
    canvas, canvas_labels = study.canvas
    jury.weights = choose_weights(out_of_fold, labels, jury.juror_probabilities(canvas), canvas_labels)
    steps["weights"] = time.perf_counter() - mark
    size, classifier, seconds = saved(for_serving(jury))
    times = latencies({**shipped(), "final fit": classifier}, 100 if study.limit else 300)
    figures = ", ".join(f"{name} {accuracy(p, labels):.2%}" for name, p in out_of_fold.items())
    say(f"final fit on {len(labels)} MNIST + {len(generated.labels)} stroke digits: out of fold {figures}, "
        f"jury {accuracy(jury.vote(out_of_fold), labels):.2%} (weights {jury.weights}); canvas validation "
        f"{accuracy(jury.predict_proba(canvas), canvas_labels):.2%}; {svc['support_vectors']} support vectors; "
        f"file {size:.1f} MB, load {seconds:.2f} s; training {sum(steps.values()):.0f} s "
        f"({', '.join(f'{k} {v:.0f} s' for k, v in steps.items())}), peak memory {peak_memory_mb():.0f} MB "
        f"(this machine, shared)")
    for name, line in times.items():
        say(f"latency {name}: {line}")
