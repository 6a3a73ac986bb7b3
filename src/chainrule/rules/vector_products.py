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

NumPy 2.0 has ``vecdot``; ``matvec`` and ``vecmat`` exist from NumPy 2.2 on, and
each is registered only where it exists. Keywords (``axis=``, ``axes=``) on
traced operands are refused by the ufunc dispatch, naming them.
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


# NumPy 2.0 has vecdot; matvec and vecmat came with 2.2: each is registered
# where this NumPy has it.
def _vecdot(vecdot: Any) -> None:
    # vecdot(a, b): cores (1, 1), result core 0
    def vjp_a(ans: Any, a: Any, b: Any) -> Callable[[Any], Any]:
        shape, nd = shape_of(a), ndim_of(ans) + 1
        return lambda g: unbroadcast(_conj(np.expand_dims(g, -1) * b), shape, nd)

    def vjp_b(ans: Any, a: Any, b: Any) -> Callable[[Any], Any]:
        shape, nd = shape_of(b), ndim_of(ans) + 1
        return lambda g: unbroadcast(np.expand_dims(g, -1) * _conj(a), shape, nd)

    _install(vecdot, (1, 1), vjp_a, vjp_b)


def _matvec(matvec: Any) -> None:
    # matvec(A, v): cores (2, 1), result core 1
    def vjp_A(ans: Any, A: Any, v: Any) -> Callable[[Any], Any]:
        shape, nd = shape_of(A), ndim_of(ans) + 1
        return lambda g: unbroadcast(np.expand_dims(g, -1) * np.expand_dims(v, -2), shape, nd)

    def vjp_v(ans: Any, A: Any, v: Any) -> Callable[[Any], Any]:
        # sum_i g_i A_ij: A transposed against g, written with matmul (any NumPy 2)
        shape, nd = shape_of(v), ndim_of(ans)
        return lambda g: unbroadcast(np.matmul(np.expand_dims(g, -2), A)[..., 0, :], shape, nd)

    _install(matvec, (2, 1), vjp_A, vjp_v)


def _vecmat(vecmat: Any) -> None:
    # vecmat(v, A): cores (1, 2), result core 1
    def vjp_v(ans: Any, v: Any, A: Any) -> Callable[[Any], Any]:
        shape, nd = shape_of(v), ndim_of(ans)
        return lambda g: unbroadcast(_conj(np.matmul(A, np.expand_dims(g, -1))[..., 0]), shape, nd)

    def vjp_A(ans: Any, v: Any, A: Any) -> Callable[[Any], Any]:
        shape, nd = shape_of(A), ndim_of(ans) + 1
        return lambda g: unbroadcast(
            np.expand_dims(_conj(v), -1) * np.expand_dims(g, -2), shape, nd
        )

    _install(vecmat, (1, 2), vjp_v, vjp_A)


def _install(ufunc: Any, cores: tuple[int, int], vjp0: Any, vjp1: Any) -> None:
    prim = Primitive(ufunc.__name__, ufunc)
    prim.defvjp(vjp0, vjp1)
    prim.defjvp(_tangent_in(ufunc, cores, 0), _tangent_in(ufunc, cores, 1))
    allow_complex(prim)
    _b.BATCH_RULES[prim] = _batch_rule(cores)
    UFUNCS[ufunc] = prim


for _name, _add in (("vecdot", _vecdot), ("matvec", _matvec), ("vecmat", _vecmat)):
    if hasattr(np, _name):
        _add(getattr(np, _name))
