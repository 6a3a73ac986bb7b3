"""Matrix products: matmul (``@``) and dot.

A 1-d operand of ``matmul`` is promoted to a matrix (a row on the left, a
column on the right) so one formula covers every case:
``d(A @ B) = dA @ B + A @ dB``, ``cot A = G @ B^T``, ``cot B = A^T @ G``,
each summed back over broadcast stack axes.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..core.primitive import Primitive
from ..core.registry import UFUNCS, implements
from ..errors import no_rule_error
from ._util import batch_lead, ndim_of, pad_batch, shape_of, unbroadcast
from .shape import expand_dims, getitem, reshape, swapaxes


def _as_matrix(x: Any, own_ndim: int, left: bool) -> Any:
    """Promote a 1-d operand (with any batch axes in front) to a matrix."""
    if own_ndim != 1:
        return x
    return expand_dims(x, -2 if left else -1)


def _mT(x: Any) -> Any:
    return swapaxes(x, -1, -2)


def _matmul_vjp_a(ans: Any, a: Any, b: Any):
    a_nd, b_nd, a_shape, n = ndim_of(a), ndim_of(b), shape_of(a), ndim_of(ans)
    b2 = _as_matrix(b, b_nd, left=False)

    def vjp(g: Any) -> Any:
        nb = g.ndim - n
        g2 = _as_matrix(g, 1, left=a_nd == 1) if (a_nd == 1) != (b_nd == 1) else g
        if a_nd == 1 and b_nd == 1:
            g2 = reshape(g, g.shape + (1, 1))
        ga = g2 @ _mT(b2)
        if a_nd == 1:
            ga = getitem(ga, (Ellipsis, 0, slice(None)))
        return unbroadcast(ga, a_shape, ga.ndim - nb)

    return vjp


def _matmul_vjp_b(ans: Any, a: Any, b: Any):
    a_nd, b_nd, b_shape, n = ndim_of(a), ndim_of(b), shape_of(b), ndim_of(ans)
    a2 = _as_matrix(a, a_nd, left=True)

    def vjp(g: Any) -> Any:
        nb = g.ndim - n
        g2 = _as_matrix(g, 1, left=a_nd == 1) if (a_nd == 1) != (b_nd == 1) else g
        if a_nd == 1 and b_nd == 1:
            g2 = reshape(g, g.shape + (1, 1))
        gb = _mT(a2) @ g2
        if b_nd == 1:
            gb = getitem(gb, (Ellipsis, 0))
        return unbroadcast(gb, b_shape, gb.ndim - nb)

    return vjp


def _matmul_jvp(which: int):
    def rule(t: Any, ans: Any, a: Any, b: Any) -> Any:
        a_nd, b_nd = ndim_of(a), ndim_of(b)
        own = a_nd if which == 1 else b_nd
        lead = batch_lead(t, own)
        out_nd = max(a_nd, b_nd, 2)  # ndim of the product of the promoted operands
        if which == 1:
            t2 = pad_batch(_as_matrix(t, a_nd, left=True), max(a_nd, 2), out_nd)
            r = t2 @ _as_matrix(b, b_nd, left=False)
        else:
            t2 = pad_batch(_as_matrix(t, b_nd, left=False), max(b_nd, 2), out_nd)
            r = _as_matrix(a, a_nd, left=True) @ t2
        return reshape(r, lead + shape_of(ans))

    return rule


matmul_p = Primitive("matmul", np.matmul)
matmul_p.defvjp(_matmul_vjp_a, _matmul_vjp_b)
matmul_p.defjvp(_matmul_jvp(1), _matmul_jvp(2))
UFUNCS[np.matmul] = matmul_p


@implements(np.dot)
def dot(a: Any, b: Any, out: Any = None) -> Any:
    """Differentiable ``numpy.dot`` for operands of up to two dimensions."""
    if ndim_of(a) == 0 or ndim_of(b) == 0:
        return np.multiply(a, b)
    if ndim_of(a) <= 2 and ndim_of(b) <= 2:
        return matmul_p(a, b)
    raise no_rule_error("numpy.dot of arrays with more than two dimensions", "use matmul")
