"""Correctness: a framework's result against the hand-written derivative."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

RTOL = 1e-6
# Absolute tolerance, relative to the largest entry of the expected leaf (not
# a fixed number: the scalar loop's derivative is about 1e-54).
ATOL_FRACTION = 1e-9


def flatten(tree: Any, path: str = "") -> list[tuple[str, Any]]:
    """(path, leaf) pairs of a result: dicts by sorted key, then sequences."""
    if isinstance(tree, dict):
        pairs = []
        for key in sorted(tree):
            pairs.extend(flatten(tree[key], f"{path}[{key!r}]"))
        return pairs
    if isinstance(tree, (list, tuple)):
        pairs = []
        for i, item in enumerate(tree):
            pairs.extend(flatten(item, f"{path}[{i}]"))
        return pairs
    return [(path, tree)]


def _leaf_mismatch(path: str, got: np.ndarray, want: np.ndarray) -> str | None:
    """Why ``got`` is not ``want``, or None when they agree."""
    if got.shape != want.shape:
        return f"result{path}: shape {got.shape}, expected {want.shape}"
    if not np.all(np.isfinite(got)):
        return f"result{path}: non-finite entries"
    scale = float(np.max(np.abs(want))) if want.size else 0.0
    if np.allclose(got, want, rtol=RTOL, atol=ATOL_FRACTION * scale):
        return None
    err = float(np.max(np.abs(got - want)))
    return f"result{path}: max abs error {err:.3e} (largest expected entry {scale:.3e})"


def mismatch(result: Any, expected: Any, to_numpy: Callable[[Any], Any]) -> str | None:
    """A description of how ``result`` differs from ``expected``, or None."""
    got, want = flatten(result), flatten(expected)
    got_paths, want_paths = [p for p, _ in got], [p for p, _ in want]
    if got_paths != want_paths:
        return f"result structure {got_paths}, expected {want_paths}"
    for (path, g), (_, w) in zip(got, want):
        g = np.asarray(to_numpy(g), dtype=np.float64)
        problem = _leaf_mismatch(path, g, np.asarray(w, dtype=np.float64))
        if problem:
            return problem
    return None
