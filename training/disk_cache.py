"""Arrays computed once and kept on disk, under a key made of the code that computes them.

The training code's three caches use it: normalised MNIST splits (training/data.py), the
canvas set's parts (training/canvas/report.py) and the experiments' pieces
(experiments/common.py). joblib.Memory keys an entry on the cached function's own
source and arguments: it would not see a change to the library code that function runs
(digit/reading/preprocess.py, ...) and cannot key a closure; here the caller names that code.
Everything is kept under artifacts/ (git-ignored).
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Callable, Iterable

import numpy as np

from digit.atomic import written_whole

PROJECT = Path(__file__).resolve().parent.parent
CACHE = PROJECT / "artifacts" / "cache"
# The code of digit.reading.preprocess.normalize: every cache of normalised digits is keyed on it.
NORMALIZE_CODE = (PROJECT / "digit" / "reading" / "images.py", PROJECT / "digit" / "reading" / "preprocess.py")


def code_key(paths: Iterable[Path], data: bytes = b"", length: int = 20) -> str:
    """The first `length` hex digits of the sha1 of these files' bytes, in order, then data: a
    change to any of them makes a new key, never a stale answer."""
    digest = hashlib.sha1()
    for path in paths:
        digest.update(Path(path).read_bytes())
    digest.update(data)
    return digest.hexdigest()[:length]


def kept(path: Path, compute: Callable[[], np.ndarray | dict[str, np.ndarray]]) -> np.ndarray | dict[str, np.ndarray]:
    """What compute() returns, kept at path: one array in a .npy file, named arrays in a .npz
    file. Computed only when the file is missing, written whole to a temporary file and renamed
    (a reader never sees half a file; two processes computing it at once each write it whole);
    always returned as read from the file, so a first run and a later one give the same."""
    if not path.exists():
        found = compute()
        path.parent.mkdir(parents=True, exist_ok=True)
        with written_whole(path) as staged, open(staged, "wb") as handle:
            if path.suffix == ".npz":
                np.savez(handle, **found)
            else:
                np.save(handle, found)
    if path.suffix == ".npz":
        with np.load(path) as stored:
            return dict(stored)
    return np.load(path)
