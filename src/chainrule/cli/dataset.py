"""The demo's data: scikit-learn's bundled diabetes data, or a generated set.

Features are standardised and an intercept column is added, so that plain
gradient descent with step 1/L converges in a few thousand steps and the
coefficients are comparable.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass

import numpy as np

from .errors import UsageError


@dataclass
class Dataset:
    """A least-squares problem: design matrix ``X`` (with intercept), targets ``Y``."""

    description: str
    X: np.ndarray
    Y: np.ndarray
    names: list[str]


def have_sklearn() -> bool:
    """Whether scikit-learn can be imported (without importing it)."""
    return importlib.util.find_spec("sklearn") is not None


def load(kind: str = "auto", seed: int = 0) -> Dataset:
    """``diabetes``, ``generated``, or ``auto`` (diabetes when scikit-learn is there)."""
    if kind == "diabetes" and not have_sklearn():
        raise UsageError(
            "--data diabetes needs scikit-learn (pip install scikit-learn); "
            "--data generated works without it"
        )
    if kind == "diabetes" or (kind == "auto" and have_sklearn()):
        return _diabetes()
    note = "" if kind == "generated" else " (scikit-learn is not installed)"
    return _generated(seed, note)


def _diabetes() -> Dataset:
    from sklearn.datasets import load_diabetes

    data = load_diabetes(scaled=False)
    X, Y = np.asarray(data.data, dtype=float), np.asarray(data.target, dtype=float)
    description = (
        f"scikit-learn's diabetes data: {X.shape[0]} patients, {X.shape[1]} baseline measurements "
        f"({', '.join(data.feature_names)}); target: disease progression one year later"
    )
    return Dataset(description, *_design(X, Y), ["intercept", *data.feature_names])


def _generated(seed: int, note: str) -> Dataset:
    rng = np.random.default_rng(seed)
    n, d = 442, 10
    mixing = np.eye(d) + 0.3 * rng.standard_normal((d, d))  # correlated features, like real data
    X = rng.standard_normal((n, d)) @ mixing
    Y = 150 + X @ (20 * rng.standard_normal(d)) + 50 * rng.standard_normal(n)
    description = (
        f"generated data{note}: {n} samples, {d} correlated features, "
        f"Y = 150 + X theta + noise (seed {seed})"
    )
    return Dataset(description, *_design(X, Y), ["intercept"] + [f"x{k}" for k in range(d)])


def _design(X: np.ndarray, Y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Standardised features with a leading column of ones."""
    Z = (X - X.mean(axis=0)) / X.std(axis=0)
    return np.hstack([np.ones((len(Y), 1)), Z]), Y
