"""Derivatives of a solver's solution by the implicit function theorem.

A solver finds ``x*`` with ``F(x*, theta) = 0`` (a root, the gradient of an
objective at its minimum, ``g(x) - x`` at a fixed point). Differentiating the
identity ``F(x*(theta), theta) = 0`` gives the tangent of the solution without
differentiating the solver's iterations::

    dx* = -(dF/dx)^-1 (dF/dtheta) dtheta

:func:`implicit_solution` wraps a plain solver into a function of ``theta``
whose derivative is that formula, as a :func:`~chainrule.custom_jvp` whose
tangent rule is written with chainrule operations (``jacfwd`` of ``F`` and a
linear solve), so the rule itself is differentiable: Hessians of the solution
follow. Reverse mode transposes the rule (the solve becomes one with the
transposed Jacobian). The solver runs on plain values only and its outcome is
cached per ``theta``: re-evaluating the rule (reverse mode calls it again for
each cotangent) does not run the solver again.

Small systems (``n <= DENSE_MAX``, 500 unknowns) factorise the Jacobian ``dF/dx``, formed
by forward mode; larger ones solve matrix-free with GMRES (or CG for a
symmetric Jacobian, such as a Hessian), each product ``(dF/dx) v`` one
forward-mode pass, each transposed product one reverse pass; that solve is
itself differentiable (see :func:`_matrix_free_solver`), so second derivatives
stay matrix-free too.

>>> import numpy as np, chainrule as cr
>>> from scipy.optimize import brentq
>>> F = lambda x, theta: x ** 3 + x - theta[0]
>>> def solve(theta):
...     return [brentq(lambda x: x ** 3 + x - theta[0], -10, 10, xtol=1e-14)], None
>>> sol = lambda t: implicit_solution(solve, F, [t], n=1)[0]
>>> x = sol(2.0)
>>> round(float(x), 12), round(float(cr.grad(sol)(2.0)), 12), float(1 / (3 * x ** 2 + 1))
(1.0, 0.25, 0.25)
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from .. import tree
from ..custom import custom_jvp, custom_vjp
from ..transforms import jacfwd, jvp, stop_gradient, vjp

__all__ = [
    "implicit_solution",
    "ImplicitDifferentiationError",
    "ArgSplit",
    "is_plain",
    "plain_start",
    "DENSE_MAX",
]

#: Above this many unknowns the linear systems are solved matrix-free.
DENSE_MAX = 500


class ImplicitDifferentiationError(RuntimeError):
    """A solution was to be differentiated, but the solver did not converge (or the
    linear system of the implicit function theorem could not be solved): a derivative
    at the wrong point is never returned.

    >>> issubclass(ImplicitDifferentiationError, RuntimeError)
    True
    """


def is_plain(v: Any) -> bool:
    return isinstance(v, (np.ndarray, np.generic, float, int, complex, bool))


def _key(values: tuple) -> tuple | None:
    """A hashable key of plain argument values; ``None`` when any is traced."""
    if not all(is_plain(v) for v in values):
        return None
    parts: list = []
    for v in values:
        a = np.asarray(v)
        parts.append((a.dtype.str, a.shape, a.tobytes()))
    return tuple(parts)


class ArgSplit:
    """A solver's ``args`` split into the leaves that can carry a derivative
    (``theta``: float arrays and numbers, traced or not) and the rest (held fixed);
    ``build(values)`` puts new values for ``theta`` back into ``args``' structure.

    >>> s = ArgSplit((np.ones(2), "name", 3))
    >>> len(s.theta), s.build([np.zeros(2)])
    (1, (array([0., 0.]), 'name', 3))
    """

    def __init__(self, args: Any) -> None:
        self.leaves, self.treedef = tree.flatten(tuple(args))
        self.positions = [i for i, leaf in enumerate(self.leaves) if differentiable_leaf(leaf)]
        self.theta = [self.leaves[i] for i in self.positions]

    def build(self, values: Any) -> tuple:
        leaves = list(self.leaves)
        for i, v in zip(self.positions, values):
            leaves[i] = v
        return tuple(self.treedef.unflatten(leaves))


def plain_start(x0: Any) -> Any:
    """The starting point without derivatives: a converged solution does not depend
    on where the solver started, so a traced ``x0`` contributes nothing.

    >>> plain_start({"a": 1.0})
    {'a': 1.0}
    """
    return tree.map(stop_gradient, x0)


def differentiable_leaf(leaf: Any) -> bool:
    """Whether an ``args`` leaf can carry a derivative (a real or complex float array,
    traced or not); other leaves (integers, strings, callables) stay fixed.

    >>> differentiable_leaf(1.0), differentiable_leaf(np.arange(3)), differentiable_leaf("a")
    (True, False, False)
    """
    if isinstance(leaf, float):
        return True
    dtype = getattr(leaf, "dtype", None)
    return dtype is not None and getattr(dtype, "kind", "") in "fc" and hasattr(leaf, "shape")


def _krylov(apply: Callable, b: np.ndarray, n: int, method: str, tol: float) -> np.ndarray:
    from scipy.sparse.linalg import LinearOperator, cg, gmres

    op = LinearOperator(
        (n, n),
        matvec=lambda v: np.asarray(apply(np.ravel(v).astype(np.float64)), np.float64),
        dtype=np.float64,
    )
    b = np.asarray(b, dtype=np.float64)
    if not np.any(b):
        return np.zeros(n)
    if method == "cg":
        x, info = cg(op, b, rtol=tol, atol=0.0, maxiter=10 * n)
    elif method == "gmres":
        x, info = gmres(op, b, rtol=tol, atol=0.0, restart=min(n, 100), maxiter=10 * n)
    else:
        raise ValueError(f"linear_solver must be 'dense', 'cg' or 'gmres', got {method!r}")
    if info != 0:
        raise ImplicitDifferentiationError(
            f"implicit differentiation: {method} did not solve the linear system of the "
            f"implicit function theorem (info={info}); try linear_solver='dense' or "
            "'gmres', or check that the Jacobian at the solution is invertible"
        )
    return x


def _matrix_free_solver(residual: Callable, n: int, method: str, tol: float) -> Callable:
    """``solve(x, theta, b) = A^-1 b`` with ``A = dF/dx`` at ``(x, theta)``, by a Krylov
    method on products ``A v`` (one forward-mode pass each) and ``A^T v`` (one
    reverse pass), never forming ``A``; differentiable in ``x``, ``theta`` and ``b``
    in both modes and to any order.

    Both ``solve`` and ``solve_t`` (``A^-T b``) are custom VJPs: with
    ``s = A^-1 b`` and ``lam = A^-T g``, the cotangent of ``b`` is ``lam`` and that
    of ``(x, theta)`` is ``-d/d(x, theta) <lam, A(x, theta) s>`` (one reverse pass
    of the product), and the same with ``A^T`` for ``solve_t``; each backward pass
    solves with the other. Forward mode transposes the backward pass, so the
    recursion ends after as many levels as there are transforms."""

    def apply(x: Any, th: list, v: Any) -> Any:
        return jvp(lambda z: residual(z, th), (x,), (v,))[1]

    def apply_t(x: Any, th: list, v: Any) -> Any:
        _, pull = vjp(lambda z: residual(z, th), x)
        return pull(v)[0]

    @custom_vjp
    def solve(x: Any, th: list, b: Any) -> Any:
        return _krylov(lambda v: apply(x, th, v), b, n, method, tol)

    @custom_vjp
    def solve_t(x: Any, th: list, b: Any) -> Any:
        return _krylov(lambda v: apply_t(x, th, v), b, n, method, tol)

    def backward(product: Callable, other: Callable) -> Callable:
        def bwd(res: tuple, g: Any) -> tuple:
            x, th, s = res
            lam = other(x, th, g)
            _, pull = vjp(lambda x, th: product(x, th, s), x, th)
            cx, cth = pull(lam)
            return (-cx, [-c for c in cth], lam)

        return bwd

    def forward(which: Callable) -> Callable:
        def fwd(x: Any, th: list, b: Any) -> tuple:
            s = which(x, th, b)
            return s, (x, th, s)

        return fwd

    solve.defvjp(forward(solve), backward(apply, solve_t))
    solve_t.defvjp(forward(solve_t), backward(apply_t, solve))
    return solve


def implicit_solution(
    solve: Callable,
    residual: Callable,
    theta: list,
    *,
    n: int,
    symmetric: bool = False,
    linear_solver: str | None = None,
    tol: float = 1e-12,
) -> Any:
    """The solution ``x*(theta)`` of ``residual(x, theta) = 0``, differentiable in
    ``theta`` (a list of arrays, traced or not).

    ``solve(theta)`` runs the solver on plain values and returns the flat
    solution (length ``n``) and ``None``, or the solver's last point and a
    message saying why it failed: differentiating then raises
    :class:`ImplicitDifferentiationError` with that message (a plain call
    returns the point, leaving the verdict to the solver's result).
    ``residual(x, theta)`` is written with NumPy operations (chainrule
    differentiates it). ``symmetric`` says ``dF/dx`` is symmetric (a Hessian):
    the matrix-free path then uses CG. ``linear_solver``: ``"dense"``,
    ``"gmres"``, ``"cg"`` or ``None`` (dense up to :data:`DENSE_MAX` unknowns).
    """
    if linear_solver not in (None, "dense", "gmres", "cg"):
        raise ValueError(
            f"linear_solver must be 'dense', 'gmres', 'cg' or None (dense up to {DENSE_MAX} "
            f"unknowns, matrix-free above), got {linear_solver!r}"
        )
    cache: dict = {}
    failures: dict = {}
    jacobians: dict = {}

    def run(values: tuple) -> np.ndarray:
        key = _key(values)
        if key is not None and key in cache:
            return cache[key]
        x, failure = solve(list(values))
        x = np.asarray(x, dtype=np.float64).reshape(n)
        if key is not None:
            cache.clear()  # one point at a time: the latest is the one asked again
            cache[key] = x
        failures["last"] = failure
        return x

    @custom_jvp
    def solution(*values: Any) -> Any:
        return run(values)

    def rule(primals: tuple, tangents: tuple) -> tuple[Any, Any]:
        x = solution(*primals)
        if failures.get("last"):
            raise ImplicitDifferentiationError(
                f"cannot differentiate the solution: {failures['last']} (a derivative "
                "there would be the derivative of the wrong point; tighten the solver's "
                "tolerances, raise its iteration limit or start closer to the solution)"
            )
        th = list(primals)

        def along(eps: Any) -> Any:
            moved = [p + eps * t for p, t in zip(th, tangents)]
            return residual(x, moved)

        # dF/dtheta . dtheta as the derivative along a line (tangents may be traced
        # by an outer transform, which closing over them handles)
        b = jacfwd(along)(0.0)
        method = linear_solver
        if method is None:
            method = "dense" if n <= DENSE_MAX else ("cg" if symmetric else "gmres")
        if method == "dense":
            # forward mode calls this rule once per input direction: at plain values,
            # form the Jacobian once per point
            key = _key((x, *th))
            if key is not None and key in jacobians:
                A = jacobians[key]
            else:
                A = jacfwd(lambda z: residual(z, th))(x)
                if key is not None:
                    jacobians.clear()
                    jacobians[key] = A
            try:
                step = np.linalg.solve(np.reshape(A, (n, n)), b)
            except np.linalg.LinAlgError as err:
                raise ImplicitDifferentiationError(
                    "cannot differentiate the solution: the Jacobian of the equations in "
                    "x at the solution is singular, so the solution is not a "
                    "differentiable function of the arguments there"
                ) from err
        else:
            step = _matrix_free_solver(residual, n, method, tol)(x, th, b)
        return x, -step

    solution.defjvp(rule)
    return solution(*theta)
