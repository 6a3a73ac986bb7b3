"""The demo's data: the diabetes data of Efron et al. (2004), or a generated set.

The diabetes data ships with chainrule (``diabetes.csv`` beside this module,
its source in the file's header), so the demo needs neither scikit-learn nor
a download.

Features are standardised and an intercept column is added, so that plain
gradient descent with step 1/L converges in a few thousand steps and the
coefficients are comparable.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

_DIABETES = Path(__file__).with_name("diabetes.csv")


@dataclass
class Dataset:
    """A least-squares problem: design matrix ``X`` (with intercept), targets ``Y``."""

    description: str
    X: np.ndarray
    Y: np.ndarray
    names: list[str]


def load(kind: str = "auto", seed: int = 0) -> Dataset:
    """``diabetes`` (also ``auto``: the bundled data is always there) or ``generated``."""
    if kind == "generated":
        return _generated(seed, "")
    return _diabetes()


def _diabetes() -> Dataset:
    with open(_DIABETES, encoding="utf-8") as f:
        names = next(line for line in f if not line.startswith("#")).strip().lower().split(",")
        table = np.loadtxt(f, delimiter=",", ndmin=2)
    X, Y = table[:, :-1], table[:, -1]
    features = names[:-1]
    description = (
        f"the diabetes data of Efron et al. (2004): {X.shape[0]} patients, {X.shape[1]} baseline "
        f"measurements ({', '.join(features)}); target: disease progression one year later"
    )
    return Dataset(description, *_design(X, Y), ["intercept", *features])


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
