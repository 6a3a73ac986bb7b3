"""Shared test configuration and helpers.

- ``--runslow`` enables the long stress runs marked ``slow``.
- ``rand`` (random inputs) and ``fd_jacobian`` (central finite differences) are
  the helpers test files share: ``from conftest import rand, fd_jacobian``.
"""

from __future__ import annotations

import numpy as np
import pytest

# One seeded generator for every test file's random inputs: a run is reproducible.
RNG = np.random.default_rng(7)


def rand(*shape, low: float = -1.5, high: float = 1.5) -> np.ndarray:
    """Uniform values in ``[low, high)``; ``shape`` as ints or one tuple (``rand()`` is 0-d)."""
    if len(shape) == 1 and isinstance(shape[0], tuple):
        shape = shape[0]
    return RNG.uniform(low, high, size=shape)


def fd_jacobian(f, x, eps: float = 1e-6) -> np.ndarray:
    """Central finite differences of ``f`` at ``x``: shape ``f(x).shape + x.shape``."""
    x = np.asarray(x, dtype=float)
    f0 = np.asarray(f(x))
    jac = np.zeros(f0.shape + x.shape)
    for idx in np.ndindex(x.shape):
        e = np.zeros_like(x)
        e[idx] = eps
        jac[(...,) + idx] = (np.asarray(f(x + e)) - np.asarray(f(x - e))) / (2 * eps)
    return jac


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--runslow",
        action="store_true",
        default=False,
        help="also run the long stress tests marked 'slow'",
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if config.getoption("--runslow"):
        return
    skip_slow = pytest.mark.skip(reason="a long stress run: enable with --runslow")
    for item in items:
        if "slow" in item.keywords:
            item.add_marker(skip_slow)
