"""What the experiments share: the data at a chosen size, the pieces they compute cached on
disk, and the jury they study.

Only MNIST's training and validation splits are read (never its test set), and the canvas
set's validation part. With `limit`, everything shrinks with the training set: a fifth as
many validation digits (`load_mnist`), and counts written for 50,000 training digits
(`Study.scaled`), so that each experiment can be checked in a minute.
"""

from __future__ import annotations

import os
import pickle
import time
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import numpy as np

from digit.config import PROJECT_DIR
from digit.jurors import DIRECTIONS, PIXELS, build_front
from digit.jury import Jury
from digit.model.store import load_model, save_model
from training.canvas.report import canvas_pixels
from training.data import Mnist, load_mnist, normalized_split
from training.disk_cache import code_key, kept
from experiments.old_features import histogram_front
from training.train import STROKE_SHARE, choose_weights, train

FULL_TRAIN = 50_000  # MNIST training digits of a full run: the counts in the experiments are for it
CACHE_ROOT = Path(os.environ.get("EXPERIMENTS_CACHE") or PROJECT_DIR / "artifacts" / "experiments")
# The cached pieces are computed by this code: a change to any of it starts a fresh cache folder.
# (The experiments' own code is left out, so that editing a printout keeps hours of fitting;
# delete the folder after changing how an experiment computes a cached piece.)
LIBRARY_CODE = ("digit/reading/images.py", "digit/reading/preprocess.py", "digit/features.py", "digit/topology.py",
                "digit/neighbours.py", "digit/fast_svc.py", "digit/jury.py", "digit/jurors.py",
                "training/data.py", "training/train.py", "training/stroke_digits.py", "experiments/old_features.py")


def say(line: str) -> None:
    print(line, flush=True)


def accuracy(probabilities: np.ndarray, labels: np.ndarray) -> float:
    return float(np.mean(np.argmax(probabilities, axis=1) == labels))


def choose(by_juror: dict[str, np.ndarray], labels: np.ndarray) -> tuple[list[float], float]:
    """The recipe's weight choice on MNIST probabilities alone, and the accuracy it reaches."""
    weights = choose_weights(by_juror, labels)
    return weights, accuracy(np.tensordot(weights, np.stack(list(by_juror.values())), axes=1), labels)


@dataclass
class Study:
    limit: int | None = None  # MNIST training digits (None: all 50,000)

    @cached_property
    def mnist(self) -> Mnist:
        return load_mnist(self.limit)

    @property
    def size(self) -> int:
        return len(self.mnist.train.labels)

    def scaled(self, count: int) -> int:
        """A count written for a full run (50,000 training digits), for this study's size."""
        return count if self.limit is None else max(1, round(count * self.size / FULL_TRAIN))

    @cached_property
    def folder(self) -> Path:
        return CACHE_ROOT / f"{self.limit or 'all'}-{code_key([PROJECT_DIR / name for name in LIBRARY_CODE], length=12)}"

    def cached(self, name: str, compute) -> dict[str, np.ndarray]:
        """Arrays computed once and kept in the cache folder as NAME.npz."""
        return kept(self.folder / f"{name}.npz", compute)

    def pickled(self, name: str, compute):
        """A fitted object computed once and kept as NAME.pickle (our own cache: pickle is safe here)."""
        path = self.folder / f"{name}.pickle"
        if not path.exists():
            found = compute()
            self.folder.mkdir(parents=True, exist_ok=True)
            path.write_bytes(pickle.dumps(found))
            return found
        return pickle.loads(path.read_bytes())

    # ---- data ---------------------------------------------------------------------------------

    @cached_property
    def data(self) -> dict[str, np.ndarray]:
        """Normalised training and validation digits (n, 784) uint8, and their labels."""
        return {"train": normalized_split(self.mnist.train, "normalise train"), "train_labels": self.mnist.train.labels,
                "validation": normalized_split(self.mnist.validation, "normalise validation"),
                "validation_labels": self.mnist.validation.labels}

    @cached_property
    def canvas(self) -> tuple[np.ndarray, np.ndarray]:
        """The canvas set's validation part (always all of it: 1,000 drawings)."""
        return canvas_pixels("validation")

    @cached_property
    def features(self) -> dict[str, np.ndarray]:
        """The recipe's front: [deskewed pixels | gradient directions | topology x weight]."""
        return self.front_output("front", build_front)

    def directions(self, name: str) -> np.ndarray:
        """The gradient directions (12 directions, 7x7, power 0.5) of the deskewed digits."""
        return self.features[name][:, PIXELS:PIXELS + DIRECTIONS]

    def pixels(self, name: str) -> np.ndarray:
        """The deskewed digits in 0..1."""
        return self.features[name][:, :PIXELS]

    @cached_property
    def histograms(self) -> dict[str, np.ndarray]:
        """The front before gradient directions: [deskewed pixels | PCA-80 of pixels and gradient histograms]."""
        return self.front_output("histograms", histogram_front)

    def front_output(self, name: str, build) -> dict[str, np.ndarray]:
        """A front fitted on the training digits, its output for training and validation (cached as name)."""
        def compute():
            front = build().fit(self.data["train"])
            return {part: front.transform(self.data[part]).astype(np.float32) for part in ("train", "validation")}
        return self.cached(name, compute)

    # ---- the jury studied -----------------------------------------------------------------------

    @property
    def strokes(self) -> int:
        return round(STROKE_SHARE * self.size)

    @property
    def jury_folder(self) -> Path:
        return self.folder / "jury"

    @cached_property
    def jury(self) -> Jury:
        """The recipe's first stage, as `training.train` fits it before its final fit: the
        training split plus generated canvas digits, weights chosen on both validation sets.
        Not the shipped model: that one's final fit has seen the validation split."""
        if not (self.jury_folder / "jury.skops").exists():
            start = time.perf_counter()
            trained = train(self.mnist, strokes=self.strokes, final_fit=False)
            save_model(trained.jury, self.jury_folder, trained.card)
            say(f"(the recipe's jury fitted on {self.size} training digits + {self.strokes} stroke digits in "
                f"{time.perf_counter() - start:.0f} s, kept in {self.jury_folder})")
        return load_model(self.jury_folder).classifier.jury

    @cached_property
    def jury_probabilities(self) -> dict[str, np.ndarray]:
        """Each of the studied jury's jurors' probabilities on the validation split."""
        return self.cached("jury_probabilities", lambda: self.jury.juror_probabilities(self.data["validation"]))
