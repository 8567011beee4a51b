"""Rows stored small in the model file, computed with in float32: one cache for the estimators
that take matrix products with their stored rows (`FastRBFSVC`, `NearestNeighbours`)."""

from __future__ import annotations

import numpy as np


class Float32Rows:
    """Mixin: `_float32_rows(rows)` gives the stored (float16) rows as float32 with their squared
    norms, built once per process; the cache is never saved with the estimator."""

    def _float32_rows(self, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        if "_float32" not in self.__dict__:
            wide = rows.astype(np.float32)
            self.__dict__["_float32"] = (wide, np.einsum("ij,ij->i", wide, wide))
        return self.__dict__["_float32"]

    def __getstate__(self) -> dict:
        state = dict(super().__getstate__())  # a copy: the live object keeps its cache
        state.pop("_float32", None)
        return state
