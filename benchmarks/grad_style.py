"""Workloads for frameworks with a JAX-style ``grad(fun)`` over a NumPy-like
module (chainrule with ``numpy``, HIPS autograd with ``autograd.numpy``): the
same adapters serve both, so the two columns time exactly the same calls."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

import workloads as wl


def grad_impls(
    grad: Callable, xp: Any, logsumexp: Callable | None = None
) -> dict[str, Callable[[dict], Callable]]:
    """The gradient workloads, as ``{name: data -> zero-argument call}``.

    ``logsumexp(z)`` (rows, dims kept) is the library's own, as PyTorch and
    JAX use theirs; without it the MLP composes max, exp, sum and log."""

    def scalar_loop(d: dict) -> Callable:
        n = d["iterations"]
        return partial(grad(lambda x: wl.scalar_loop(x, n, xp)), d["x"])

    def least_squares(d: dict) -> Callable:
        g = grad(lambda theta, X, Y: wl.least_squares(theta, X, Y, xp))
        return partial(g, d["theta"], d["X"], d["Y"])

    def mlp(d: dict) -> Callable:
        g = grad(lambda params, X, Y: wl.mlp_loss(params, X, Y, xp, logsumexp))
        return partial(g, d["params"], d["X"], d["Y"])

    def elementwise(d: dict) -> Callable:
        return partial(grad(lambda x: wl.elementwise(x, xp)), d["x"])

    def deep_chain(d: dict) -> Callable:
        Ws = d["Ws"]
        return partial(grad(lambda x: wl.deep_chain(x, Ws, xp)), d["x"])

    def memory(d: dict) -> Callable:
        layers = d["layers"]
        return partial(grad(lambda x: wl.sin_chain(x, layers, xp)), d["x"])

    return {
        "scalar-loop": scalar_loop,
        "least-squares": least_squares,
        "mlp": mlp,
        "elementwise": elementwise,
        "deep-chain": deep_chain,
        "memory": memory,
    }


def jacobian_impl(jacobian: Callable, xp: Any) -> Callable[[dict], Callable]:
    """The Jacobian workload for one Jacobian transform."""

    def factory(d: dict) -> Callable:
        B = d["B"]
        return partial(jacobian(lambda x: wl.tanh_map(x, B, xp)), d["x"])

    return factory
