"""python -m experiments NAME [NAME ...] [--limit N] [--size N]"""

from __future__ import annotations

import argparse

from experiments.canvas_knn import knn_canvas
from experiments.common import Study
from experiments.dropped import augment, idm, test_time_augmentation
from experiments.juries import combine, final_fit, latency, recipe
from experiments.knn import knn_parameters, knn_references
from experiments.knn_slant import knn_slant
from experiments.svc import svc_features, svc_grid, svc_sizes, svc_slant, virtual_support_vectors

EXPERIMENTS = {"augment": augment, "tta": test_time_augmentation, "idm": idm,
               "knn-references": knn_references, "knn-parameters": knn_parameters,
               "svc-features": svc_features, "svc-sizes": svc_sizes, "svc-grid": svc_grid, "svc-slant": svc_slant,
               "vsv": virtual_support_vectors, "combine": combine, "recipe": recipe,
               "latency": latency, "final-fit": final_fit, "knn-canvas": knn_canvas,
               "knn-slant": knn_slant}
SIZED = ("svc-features", "vsv", "svc-slant")  # these take --size


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m experiments",
                                     description="Re-run the accuracy experiments on the validation split.")
    parser.add_argument("experiments", nargs="+", choices=list(EXPERIMENTS), metavar="NAME",
                        help=", ".join(EXPERIMENTS))
    parser.add_argument("--limit", type=int, metavar="N",
                        help="MNIST training digits (validation: a fifth); counts shrink with it. Default: all 50,000")
    parser.add_argument("--size", type=int, metavar="N", help="training digits for svc-features and vsv")
    arguments = parser.parse_args()
    if arguments.limit is not None and arguments.limit < 500:
        parser.error("--limit: at least 500 (the k-NN's search needs a few hundred references)")
    study = Study(arguments.limit)
    for name in arguments.experiments:
        sized = {"size": arguments.size} if arguments.size and name in SIZED else {}
        EXPERIMENTS[name](study, **sized)


if __name__ == "__main__":
    main()
