"""``check_grads``: compare derivatives with central finite differences."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from . import tree
from .transforms import jvp, vjp

_MODES = ("fwd", "rev")


def check_grads(
    fun: Callable,
    args: Any,
    order: int = 1,
    modes: Sequence[str] = ("fwd", "rev"),
    eps: float = 1e-6,
    rtol: float = 1e-5,
    atol: float = 1e-6,
) -> None:
    """Check ``fun``'s derivatives against central finite differences.

    For each argument in turn, along a random direction ``v``: forward mode
    must match ``(f(x + eps v) - f(x - eps v)) / (2 eps)``, and reverse mode
    must satisfy ``<u, J v> = <J^T u, v>`` for a random ``u``. With
    ``order=2`` the same checks run on the first derivatives themselves, and
    so on. The random directions are seeded, so failures reproduce.

    Args:
        fun: the function; its outputs may be any pytree of float arrays.
        args: a tuple of arguments (a single non-tuple value is one argument).
        order: how many times to differentiate.
        modes: any of ``"fwd"`` and ``"rev"``.
        eps: the finite-difference step.
        rtol: relative tolerance of the comparison.
        atol: absolute tolerance of the comparison.

    Raises:
        AssertionError: naming the argument, mode and order that disagree.

    >>> import chainrule as cr, numpy as np
    >>> cr.check_grads(np.sin, (np.array([0.5, 1.0]),), order=2)
    """
    args = tuple(args) if isinstance(args, (tuple, list)) else (args,)
    modes = tuple(modes)
    bad = [m for m in modes if m not in _MODES]
    if bad or not modes:
        raise ValueError(f"check_grads: modes must be a non-empty subset of {_MODES}, got {modes}")
    if int(order) < 1:
        raise ValueError(f"check_grads: order must be at least 1, got {order}")
    rng = np.random.default_rng(0)
    for i in range(len(args)):

        def along(a: Any, i: int = i) -> Any:
            return fun(*args[:i], a, *args[i + 1 :])

        _check(along, args[i], int(order), modes, eps, rtol, atol, rng, f"argument {i}", 1)


def _check(
    f: Callable,
    x: Any,
    order: int,
    modes: tuple,
    eps: float,
    rtol: float,
    atol: float,
    rng: np.random.Generator,
    label: str,
    level: int,
) -> None:
    v = _random_like(x, rng)
    numeric = _scale(_sub(f(_axpy(eps, v, x)), f(_axpy(-eps, v, x))), 1.0 / (2 * eps))
    where = f"{label}, order {level}"
    if "fwd" in modes:
        _, t = jvp(f, (x,), (v,))
        _compare(t, numeric, rtol, atol, f"forward mode ({where})")
    if "rev" in modes:
        out, vjp_fn = vjp(f, x)
        u = _random_like(out, rng)
        (ct,) = vjp_fn(u)
        _compare(_dot(ct, v), _dot(u, numeric), rtol, atol, f"reverse mode ({where})")
    if order > 1:
        if "fwd" in modes:
            _check(
                lambda a: jvp(f, (a,), (v,))[1],
                x,
                order - 1,
                modes,
                eps,
                rtol,
                atol,
                rng,
                label + " (through a JVP)",
                level + 1,
            )
        if "rev" in modes:
            u = _random_like(f(x), rng)
            _check(
                lambda a: vjp(f, a)[1](u)[0],
                x,
                order - 1,
                modes,
                eps,
                rtol,
                atol,
                rng,
                label + " (through a VJP)",
                level + 1,
            )


def _random_like(x: Any, rng: np.random.Generator) -> Any:
    return tree.map(lambda a: rng.standard_normal(np.shape(a)).astype(np.result_type(a)), x)


def _axpy(alpha: float, v: Any, x: Any) -> Any:
    return tree.map(lambda vi, xi: xi + alpha * vi, v, x)


def _sub(a: Any, b: Any) -> Any:
    return tree.map(lambda ai, bi: np.subtract(ai, bi), a, b)


def _scale(a: Any, s: float) -> Any:
    return tree.map(lambda ai: np.multiply(ai, s), a)


def _dot(a: Any, b: Any) -> float:
    return float(
        sum(
            np.vdot(np.asarray(ai), np.asarray(bi))
            for ai, bi in zip(tree.leaves(a), tree.leaves(b), strict=True)
        )
    )


def _compare(analytic: Any, numeric: Any, rtol: float, atol: float, what: str) -> None:
    for k, (a, n) in enumerate(zip(tree.leaves(analytic), tree.leaves(numeric), strict=True)):
        a, n = np.asarray(a), np.asarray(n)
        if a.shape != n.shape or not np.allclose(a, n, rtol=rtol, atol=atol):
            err = np.max(np.abs(a - n)) if a.shape == n.shape else "shape mismatch"
            raise AssertionError(
                f"check_grads: {what} disagrees with finite differences (output leaf {k}): "
                f"derivative {a} vs numerical {n}; max abs difference {err}"
            )
