"""HIPS autograd: the same functions over ``autograd.numpy``."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from importlib.metadata import version

import autograd
import autograd.numpy as anp
import workloads as wl
from frameworks import Framework


def _scalar_loop(d: dict) -> Callable:
    n = d["iterations"]
    return partial(autograd.grad(lambda x: wl.scalar_loop(x, n, anp)), d["x"])


def _least_squares(d: dict) -> Callable:
    g = autograd.grad(lambda theta, X, Y: wl.least_squares(theta, X, Y, anp))
    return partial(g, d["theta"], d["X"], d["Y"])


def _mlp(d: dict) -> Callable:
    g = autograd.grad(lambda params, X, Y: wl.mlp_loss(params, X, Y, anp))
    return partial(g, d["params"], d["X"], d["Y"])


def _elementwise(d: dict) -> Callable:
    return partial(autograd.grad(lambda x: wl.elementwise(x, anp)), d["x"])


def _hvp(d: dict) -> Callable:
    """autograd's own HVP (reverse over reverse: it has no forward mode to nest)."""
    A = d["A"]
    hvp = autograd.hessian_vector_product(lambda x: wl.tanh_square(x, A, anp))
    return partial(hvp, d["x"], d["v"])


def _jacobian_rev(d: dict) -> Callable:
    B = d["B"]
    return partial(autograd.jacobian(lambda x: wl.tanh_map(x, B, anp)), d["x"])


def _deep_chain(d: dict) -> Callable:
    Ws = d["Ws"]
    return partial(autograd.grad(lambda x: wl.deep_chain(x, Ws, anp)), d["x"])


def _memory(d: dict) -> Callable:
    layers = d["layers"]
    return partial(autograd.grad(lambda x: wl.sin_chain(x, layers, anp)), d["x"])


def frameworks() -> list[Framework]:
    """The autograd column (no forward-mode Jacobian: "n/a")."""
    impls = {
        "scalar-loop": _scalar_loop,
        "least-squares": _least_squares,
        "mlp": _mlp,
        "elementwise": _elementwise,
        "hvp": _hvp,
        "jacobian-rev": _jacobian_rev,
        "deep-chain": _deep_chain,
        "memory": _memory,
    }
    return [Framework("autograd", "autograd", "autograd", version("autograd"), impls)]
