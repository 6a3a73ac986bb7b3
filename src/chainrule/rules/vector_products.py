"""NumPy 2.2's vector-product ufuncs: ``vecdot``, ``matvec`` and ``vecmat``.

``vecdot(a, b)[...] = sum_k conj(a[..., k]) b[..., k]``,
``matvec(A, v)[..., i] = sum_j A[..., i, j] v[..., j]``,
``vecmat(v, A)[..., j] = sum_i conj(v[..., i]) A[..., i, j]``; their loop axes
broadcast. Each is linear in its second operand and, for complex values,
conjugate-linear in its conjugated first operand (``vecdot``, ``vecmat``), so a
tangent is the same ufunc with the tangent in that operand's place. The VJPs
follow the complex convention of docs/design.md (tangent map transposed under
``Re(g t)``): the conjugated operand gets ``conj`` of the contraction of the
cotangent with the other operand, the plain operand gets the cotangent against
``conj`` of the conjugated one. Rules call the ufuncs (and matmul) again, so they
are differentiated to any order.

They exist only in NumPy >= 2.2; on older releases this module registers
nothing. Keywords (``axis=``, ``axes=``) on traced operands are refused by the
ufunc dispatch, naming them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from ..core import batching as _b
from ..core.primitive import Primitive
from ..core.registry import UFUNCS
from ..core.trace import bind, is_complex
from ._util import allow_complex, ndim_of, pad_batch, shape_of, unbroadcast


def _conj(x: Any) -> Any:
    return np.conjugate(x) if is_complex(x) else x


def _loop_ndim(x: Any, core: int) -> int:
    return ndim_of(x) - core


def _tangent_in(ufunc: Any, cores: tuple[int, int], which: int) -> Callable[..., Any]:
    """JVP in operand ``which``: the ufunc with the tangent in its place, the
    tangent's batch axes kept apart from the other operand's loop axes."""

    def jvp(t: Any, ans: Any, a: Any, b: Any) -> Any:
        own, core = (a, b)[which], cores[which]
        loops = max(_loop_ndim(a, cores[0]), _loop_ndim(b, cores[1]))
        t = pad_batch(t, ndim_of(own), loops + core)
        return ufunc(t, b) if which == 0 else ufunc(a, t)

    return jvp


def _batch_rule(cores: tuple[int, int]) -> Callable[..., Any]:
    """cr.vmap: the batch (axis 0 of a batched operand) becomes one more loop
    axis, so a batched operand gets unit axes after it up to the other's loop
    axes (the elementwise family rule would line up core axes instead)."""

    def rule(prim: Any, vals: list, batched: list, kwargs: dict, size: int) -> Any:
        own_loops = [ndim_of(v) - int(d) - c for v, d, c in zip(vals, batched, cores)]
        most = max(own_loops)
        out = []
        for v, d, loops in zip(vals, batched, own_loops):
            if type(v) is _b.Batched:
                v = v.view(np.ndarray)
            if d and loops < most:
                shape = shape_of(v)
                v = np.reshape(v, shape[:1] + (1,) * (most - loops) + shape[1:])
            out.append(v)
        return bind(prim, out, kwargs)

    return rule


def _register() -> None:
    vecdot, matvec, vecmat = np.vecdot, np.matvec, np.vecmat  # type: ignore[attr-defined]

    # vecdot(a, b): cores (1, 1), result core 0
    def vecdot_vjp_a(ans: Any, a: Any, b: Any) -> Callable[[Any], Any]:
        shape, nd = shape_of(a), ndim_of(ans) + 1
        return lambda g: unbroadcast(_conj(np.expand_dims(g, -1) * b), shape, nd)

    def vecdot_vjp_b(ans: Any, a: Any, b: Any) -> Callable[[Any], Any]:
        shape, nd = shape_of(b), ndim_of(ans) + 1
        return lambda g: unbroadcast(np.expand_dims(g, -1) * _conj(a), shape, nd)

    vecdot_p = Primitive("vecdot", vecdot)
    vecdot_p.defvjp(vecdot_vjp_a, vecdot_vjp_b)
    vecdot_p.defjvp(_tangent_in(vecdot, (1, 1), 0), _tangent_in(vecdot, (1, 1), 1))

    # matvec(A, v): cores (2, 1), result core 1
    def matvec_vjp_A(ans: Any, A: Any, v: Any) -> Callable[[Any], Any]:
        shape, nd = shape_of(A), ndim_of(ans) + 1
        return lambda g: unbroadcast(np.expand_dims(g, -1) * np.expand_dims(v, -2), shape, nd)

    def matvec_vjp_v(ans: Any, A: Any, v: Any) -> Callable[[Any], Any]:
        shape, nd = shape_of(v), ndim_of(ans)
        return lambda g: unbroadcast(matvec(np.swapaxes(A, -1, -2), g), shape, nd)

    matvec_p = Primitive("matvec", matvec)
    matvec_p.defvjp(matvec_vjp_A, matvec_vjp_v)
    matvec_p.defjvp(_tangent_in(matvec, (2, 1), 0), _tangent_in(matvec, (2, 1), 1))

    # vecmat(v, A): cores (1, 2), result core 1
    def vecmat_vjp_v(ans: Any, v: Any, A: Any) -> Callable[[Any], Any]:
        shape, nd = shape_of(v), ndim_of(ans)
        return lambda g: unbroadcast(_conj(matvec(A, g)), shape, nd)

    def vecmat_vjp_A(ans: Any, v: Any, A: Any) -> Callable[[Any], Any]:
        shape, nd = shape_of(A), ndim_of(ans) + 1
        return lambda g: unbroadcast(
            np.expand_dims(_conj(v), -1) * np.expand_dims(g, -2), shape, nd
        )

    vecmat_p = Primitive("vecmat", vecmat)
    vecmat_p.defvjp(vecmat_vjp_v, vecmat_vjp_A)
    vecmat_p.defjvp(_tangent_in(vecmat, (1, 2), 0), _tangent_in(vecmat, (1, 2), 1))

    allow_complex(vecdot_p, matvec_p, vecmat_p)
    _b.BATCH_RULES[vecdot_p] = _batch_rule((1, 1))
    _b.BATCH_RULES[matvec_p] = _batch_rule((2, 1))
    _b.BATCH_RULES[vecmat_p] = _batch_rule((1, 2))
    UFUNCS[vecdot] = vecdot_p
    UFUNCS[matvec] = matvec_p
    UFUNCS[vecmat] = vecmat_p


if hasattr(np, "vecdot") and hasattr(np, "matvec") and hasattr(np, "vecmat"):
    _register()
