"""Derivative rules for ``scipy.linalg``: triangular solves and the matrix exponential.

* ``solve_triangular``: ``x = op(T)^-1 b`` with ``T`` the triangle of ``a`` that
  is read (unit diagonal if asked) and ``op`` the identity or the transpose.
  Both rules solve triangular systems with the same primitive: the VJP solves
  the transposed system ``op(T)^T gb = g`` and gives ``-gb x^T`` (or its
  transpose) to ``a``, masked to the triangle that was read; the JVP is
  ``op(T)^-1 (db - op(dT) x)``.
* ``expm``: the Frechet derivative ``L(A, E)`` is the upper-right block of
  ``expm([[A, E], [0, A]])`` (Higham, *Functions of Matrices*, 2008, Thm. 3.6 /
  Najfeld & Havel 1995), which is exact up to the accuracy of ``expm`` itself.
  The JVP is ``L(A, dA)`` and the VJP ``L(A^T, G)`` (for real matrices the
  adjoint of ``E -> L(A, E)`` is ``G -> L(A^T, G)``). Both are written with the
  primitive itself, so every order works.

All functions work on stacks of matrices on leading axes, broadcasting them as
SciPy does.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.linalg as sl

from ..core.primitive import Primitive
from ..core.trace import strip
from ..rules._util import allow_complex, batch_lead, ndim_of, pad_batch, shape_of, unbroadcast


def _mT(x: Any) -> Any:
    return np.swapaxes(x, -1, -2)


def _mask(x: Any, lower: bool, unit: bool) -> np.ndarray:
    """The mask of the entries of a square matrix like ``x`` that a triangular
    solve reads: the lower (or upper) triangle, without the diagonal if it is
    taken to be 1."""
    n = shape_of(x)[-1]
    m = np.tri(n, k=-1 if unit else 0, dtype=strip(x).dtype)
    return m if lower else m.T


# --- solve_triangular -------------------------------------------------------------------
def _tri_solve_impl(a: Any, b: Any, lower: bool, trans: int, unit: bool) -> Any:
    """``op(T)^-1 b`` for stacks: ``a`` (..., M, M), ``b`` (..., M, K), broadcast."""
    if a.ndim == 2 and b.ndim == 2:
        return sl.solve_triangular(a, b, trans=trans, lower=lower, unit_diagonal=unit)
    lead = np.broadcast_shapes(a.shape[:-2], b.shape[:-2])
    a = np.broadcast_to(a, lead + a.shape[-2:])
    b = np.broadcast_to(b, lead + b.shape[-2:])
    dtype = np.result_type(a, b, np.float64 if a.dtype.kind in "iub" else a.dtype)
    out = np.empty(lead + b.shape[-2:], dtype=dtype)
    for i in np.ndindex(*lead):
        out[i] = sl.solve_triangular(a[i], b[i], trans=trans, lower=lower, unit_diagonal=unit)
    return out


def _tri_solve_vjp_a(ans: Any, a: Any, b: Any, lower: bool, trans: int, unit: bool):
    shape, n = shape_of(a), ndim_of(ans)

    def vjp(g: Any) -> Any:
        gb = tri_solve_p(a, g, lower, 1 - trans, unit)
        ga = -(gb @ _mT(ans)) if trans == 0 else -(ans @ _mT(gb))
        return unbroadcast(ga * _mask(a, lower, unit), shape, n)

    return vjp


def _tri_solve_vjp_b(ans: Any, a: Any, b: Any, lower: bool, trans: int, unit: bool):
    shape, n = shape_of(b), ndim_of(ans)
    return lambda g: unbroadcast(tri_solve_p(a, g, lower, 1 - trans, unit), shape, n)


def _tri_solve_jvp_a(t: Any, ans: Any, a: Any, b: Any, lower: bool, trans: int, unit: bool):
    dt = pad_batch(t, ndim_of(a), ndim_of(ans)) * _mask(a, lower, unit)
    return -tri_solve_p(a, (dt if trans == 0 else _mT(dt)) @ ans, lower, trans, unit)


def _tri_solve_jvp_b(t: Any, ans: Any, a: Any, b: Any, lower: bool, trans: int, unit: bool):
    lead = batch_lead(t, ndim_of(b))
    r = tri_solve_p(a, pad_batch(t, ndim_of(b), ndim_of(ans)), lower, trans, unit)
    return r if r.shape == lead + ans.shape else np.broadcast_to(r, lead + ans.shape)


# tri_solve_p(a, b, lower, trans, unit): b a stack of matrices; trans 0 (T x = b) or 1 (T^T x = b).
tri_solve_p = Primitive("solve_triangular", _tri_solve_impl)
tri_solve_p.defvjp(_tri_solve_vjp_a, _tri_solve_vjp_b)
tri_solve_p.defjvp(_tri_solve_jvp_a, _tri_solve_jvp_b)


# --- expm -------------------------------------------------------------------------------
def frechet(a: Any, e: Any) -> Any:
    """The Frechet derivative of ``expm`` at ``a`` in the direction ``e`` (stacks
    broadcast; ``e`` may carry extra leading axes): the upper-right block of
    ``expm([[a, e], [0, a]])``."""
    n = shape_of(a)[-1]
    shape = np.broadcast_shapes(shape_of(a), shape_of(e))
    a, e = np.broadcast_to(a, shape), np.broadcast_to(e, shape)
    zero = np.zeros(shape, dtype=np.result_type(strip(a), strip(e)))
    block = np.concatenate(
        [np.concatenate([a, e], axis=-1), np.concatenate([zero, a], axis=-1)], axis=-2
    )
    return expm_p(block)[..., :n, n:]


def _expm_jvp(t: Any, ans: Any, a: Any) -> Any:
    return frechet(a, t)


def _expm_vjp(ans: Any, a: Any):
    return lambda g: frechet(_mT(a), g)


expm_p = Primitive("expm", sl.expm)
expm_p.defvjp(_expm_vjp)
expm_p.defjvp(_expm_jvp)
# Transposes, never conjugates: the complex convention of docs/design.md. The public
# solve_triangular/expm still refuse complex input; lu_solve and expm_frechet take it.
allow_complex(tri_solve_p, expm_p)
