"""chainrule: plain NumPy functions, differentiated by the public transforms."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

import numpy as np
import workloads as wl
from frameworks import Framework

import chainrule as cr


def _scalar_loop(d: dict) -> Callable:
    n = d["iterations"]
    return partial(cr.grad(lambda x: wl.scalar_loop(x, n, np)), d["x"])


def _least_squares(d: dict) -> Callable:
    g = cr.grad(lambda theta, X, Y: wl.least_squares(theta, X, Y, np))
    return partial(g, d["theta"], d["X"], d["Y"])


def _mlp(d: dict) -> Callable:
    g = cr.grad(lambda params, X, Y: wl.mlp_loss(params, X, Y, np))
    return partial(g, d["params"], d["X"], d["Y"])


def _elementwise(d: dict) -> Callable:
    return partial(cr.grad(lambda x: wl.elementwise(x, np)), d["x"])


def _hvp(d: dict) -> Callable:
    A, x, v = d["A"], d["x"], d["v"]
    f = lambda x: wl.tanh_square(x, A, np)
    return lambda: cr.hvp(f, (x,), (v,))[1]


def _jacobian(transform: Callable) -> Callable[[dict], Callable]:
    def factory(d: dict) -> Callable:
        B = d["B"]
        return partial(transform(lambda x: wl.tanh_map(x, B, np)), d["x"])

    return factory


def _deep_chain(d: dict) -> Callable:
    Ws = d["Ws"]
    return partial(cr.grad(lambda x: wl.deep_chain(x, Ws, np)), d["x"])


def _memory(d: dict) -> Callable:
    layers = d["layers"]
    return partial(cr.grad(lambda x: wl.sin_chain(x, layers, np)), d["x"])


def frameworks() -> list[Framework]:
    """The chainrule column."""
    impls = {
        "scalar-loop": _scalar_loop,
        "least-squares": _least_squares,
        "mlp": _mlp,
        "elementwise": _elementwise,
        "hvp": _hvp,
        "jacobian-fwd": _jacobian(cr.jacfwd),
        "jacobian-rev": _jacobian(cr.jacrev),
        "deep-chain": _deep_chain,
        "memory": _memory,
    }
    return [Framework("chainrule", "chainrule", "chainrule", cr.__version__, impls)]
