"""The benchmark workloads: their sizes, their input data and their math.

The math is written once against a NumPy-like module ``xp`` (``numpy`` for
chainrule, ``autograd.numpy``, ``jax.numpy`` or ``torch``), so every framework
differentiates exactly the same function. Each framework's module
(``impl_*.py``) turns these into its own idiomatic derivative calls.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

SEED = 0

# Problem sizes: the full run, then the tiny ones of ``--quick``.
FULL = {
    "iterations": 300,
    "lsq": (10_000, 100),
    "mlp": (784, 256, 10, 128),
    "elementwise": 1_000_000,
    "hvp": 1000,
    "jacobian": (200, 50),
    "chain": (50, 100),
    "memory": (50, 1_000_000),
}
QUICK = {
    "iterations": 30,
    "lsq": (200, 10),
    "mlp": (20, 16, 5, 8),
    "elementwise": 1000,
    "hvp": 50,
    "jacobian": (20, 5),
    "chain": (5, 10),
    "memory": (5, 10_000),
}


@dataclass(frozen=True)
class Workload:
    """One row of the results table.

    ``make(quick)`` builds the input data (a dict); ``unit`` is the unit the
    median is shown in; ``primitives(data)``, when given, adds a row with the
    time per primitive operation.
    """

    name: str
    label: str  # a format string filled from ``sizes(quick)``
    unit: str
    make: Callable[[bool], dict]
    primitives: Callable[[dict], int] | None = None

    def title(self, quick: bool) -> str:
        """The row label with this run's sizes filled in."""
        return self.label.format(**sizes(quick))


def _rng() -> np.random.Generator:
    return np.random.default_rng(SEED)


def sizes(quick: bool) -> dict:
    """The problem sizes of a full or a quick run."""
    return QUICK if quick else FULL


# ---------------------------------------------------------------- the math


def scalar_loop(x: Any, iterations: int, xp: Any) -> Any:
    """``iterations`` times ``x = sin(x) * 1.0001 + 0.1`` (three primitives each)."""
    for _ in range(iterations):
        x = xp.sin(x) * 1.0001 + 0.1
    return x


def least_squares(theta: Any, X: Any, Y: Any, xp: Any) -> Any:
    """The lecture's empirical risk: ``mean((X theta - Y)^2)``."""
    r = X @ theta - Y
    return xp.mean(r**2)


def logsumexp_rows(z: Any, xp: Any) -> Any:
    """Row-wise log-sum-exp with max subtraction (kept dims)."""
    m = xp.max(z, axis=1, keepdims=True)
    return m + xp.log(xp.sum(xp.exp(z - m), axis=1, keepdims=True))


def mlp_loss(params: dict, X: Any, Y: Any, xp: Any, logsumexp: Callable | None = None) -> Any:
    """Softmax cross-entropy of a one-hidden-layer tanh MLP; ``Y`` is one-hot."""
    lse = logsumexp or (lambda z: logsumexp_rows(z, xp))
    h = xp.tanh(X @ params["W1"] + params["b1"])
    z = h @ params["W2"] + params["b2"]
    return -xp.mean(xp.sum(Y * (z - lse(z)), axis=1))


def elementwise(x: Any, xp: Any) -> Any:
    """``sum(sin(x) * exp(-x**2))``."""
    return xp.sum(xp.sin(x) * xp.exp(-(x**2)))


def tanh_square(x: Any, A: Any, xp: Any) -> Any:
    """``sum(tanh(A @ x)**2)``: the function whose HVP is timed."""
    return xp.sum(xp.tanh(A @ x) ** 2)


def tanh_map(x: Any, B: Any, xp: Any) -> Any:
    """``tanh(B @ x)``: the function whose Jacobian is timed."""
    return xp.tanh(B @ x)


def deep_chain_layers(x: Any, Ws: Any, xp: Any) -> Any:
    """``x = tanh(W_i @ x)`` over the layers ``Ws``."""
    for W in Ws:
        x = xp.tanh(W @ x)
    return x


def deep_chain(x: Any, Ws: Any, xp: Any) -> Any:
    """``sum`` of the layers' output (``deep_chain_layers``)."""
    return xp.sum(deep_chain_layers(x, Ws, xp))


def sin_chain(x: Any, layers: int, xp: Any) -> Any:
    """``sum`` of ``layers`` times ``x = sin(x)`` (the memory workload)."""
    for _ in range(layers):
        x = xp.sin(x)
    return xp.sum(x)


# ------------------------------------------------------------ the data


def make_scalar_loop(quick: bool) -> dict:
    """A 0-d float start value and the loop length."""
    return {"x": np.array(0.3), "iterations": sizes(quick)["iterations"]}


def make_least_squares(quick: bool) -> dict:
    """Design matrix, targets and a parameter vector."""
    n, d = sizes(quick)["lsq"]
    rng = _rng()
    X = rng.standard_normal((n, d))
    Y = X @ rng.standard_normal(d) + 0.1 * rng.standard_normal(n)
    return {"theta": 0.1 * rng.standard_normal(d), "X": X, "Y": Y}


def make_mlp(quick: bool) -> dict:
    """Parameters (a dict pytree), a batch and its one-hot labels."""
    n_in, n_hidden, n_out, batch = sizes(quick)["mlp"]
    rng = _rng()
    params = {
        "W1": rng.standard_normal((n_in, n_hidden)) / np.sqrt(n_in),
        "b1": 0.1 * rng.standard_normal(n_hidden),
        "W2": rng.standard_normal((n_hidden, n_out)) / np.sqrt(n_hidden),
        "b2": 0.1 * rng.standard_normal(n_out),
    }
    X = rng.standard_normal((batch, n_in))
    Y = np.eye(n_out)[rng.integers(0, n_out, batch)]
    return {"params": params, "X": X, "Y": Y}


def make_elementwise(quick: bool) -> dict:
    """One long vector."""
    return {"x": _rng().standard_normal(sizes(quick)["elementwise"])}


def make_hvp(quick: bool) -> dict:
    """A square matrix, a point and a direction."""
    n = sizes(quick)["hvp"]
    rng = _rng()
    A = rng.standard_normal((n, n)) / np.sqrt(n)
    return {"A": A, "x": rng.standard_normal(n), "v": rng.standard_normal(n)}


def make_jacobian(quick: bool) -> dict:
    """A tall matrix and a point."""
    m, n = sizes(quick)["jacobian"]
    rng = _rng()
    return {"B": rng.standard_normal((m, n)) / np.sqrt(n), "x": rng.standard_normal(n)}


def make_deep_chain(quick: bool) -> dict:
    """Fixed layer matrices and an input vector."""
    layers, width = sizes(quick)["chain"]
    rng = _rng()
    Ws = [rng.standard_normal((width, width)) / np.sqrt(width) for _ in range(layers)]
    return {"Ws": Ws, "x": rng.standard_normal(width)}


def make_memory(quick: bool) -> dict:
    """A long vector and the chain length."""
    layers, size = sizes(quick)["memory"]
    return {"x": _rng().standard_normal(size), "layers": layers}


def _loop_primitives(data: dict) -> int:
    return 3 * data["iterations"]


WORKLOADS = [
    Workload(
        "scalar-loop",
        "scalar loop {iterations}×3 ops, grad",
        "µs",
        make_scalar_loop,
        _loop_primitives,
    ),
    Workload("least-squares", "least squares {lsq[0]}×{lsq[1]}, grad", "ms", make_least_squares),
    Workload("mlp", "MLP {mlp[0]}-{mlp[1]}-{mlp[2]} batch {mlp[3]}, grad", "ms", make_mlp),
    Workload("elementwise", "elementwise n={elementwise}, grad", "ms", make_elementwise),
    Workload("hvp", "HVP, A {hvp}×{hvp}, fwd-over-rev", "ms", make_hvp),
    Workload("jacobian-fwd", "Jacobian {jacobian[0]}×{jacobian[1]}, jacfwd", "ms", make_jacobian),
    Workload("jacobian-rev", "Jacobian {jacobian[0]}×{jacobian[1]}, jacrev", "ms", make_jacobian),
    Workload(
        "deep-chain", "deep chain {chain[0]}×tanh(W x), {chain[1]}-dim, grad", "ms", make_deep_chain
    ),
]

MEMORY = Workload("memory", "grad of {memory[0]} × sin on {memory[1]} elements", "MB", make_memory)

ALL_NAMES = [w.name for w in WORKLOADS] + [MEMORY.name]


def selected(only: list[str] | None) -> tuple[list[Workload], bool]:
    """The timed workloads picked by ``--only`` and whether memory is picked.

    A name picks the workload of that name, or every workload whose name
    starts with ``name-`` (``jacobian`` picks both Jacobian rows).
    """
    if not only:
        return list(WORKLOADS), True

    def wanted(name: str) -> bool:
        return any(name == o or name.startswith(o + "-") for o in only)

    return [w for w in WORKLOADS if wanted(w.name)], wanted(MEMORY.name)


def unknown_names(only: list[str]) -> list[str]:
    """Names given to ``--only`` that pick nothing."""
    return [o for o in only if not any(n == o or n.startswith(o + "-") for n in ALL_NAMES)]
