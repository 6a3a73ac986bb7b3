"""Batching rules for ``cr.vmap`` (see chainrule/core/batching.py).

Every rule receives the values with the batch on axis 0 (where ``batched``
says so) and returns the batched result, batch on axis 0. Most of
chainrule's primitives take their axis arguments as *negative* axes and act
on the trailing axes of a stack already (that is how ``jacfwd`` pushes many
tangents at once), so for them the batch in front is just one more stacked
axis and the rule is the primitive itself. The rules here handle the rest:
broadcasting between batched and unbatched operands, shape arguments, index
arguments, and products.
"""

from __future__ import annotations

import string
from typing import Any

import numpy as np

from ..core import batching as _b
from ..core.registry import UFUNCS
from ..core.trace import bind


def _own_ndim(v: Any, d: bool) -> int:
    return (np.ndim(v) if not hasattr(v, "ndim") else v.ndim) - (1 if d else 0)


def _lift(v: Any, own: int, target: int) -> Any:
    """A batched ``v`` (``own`` axes per example) with unit axes inserted after
    the batch so that it broadcasts as a ``target``-axis example."""
    if own >= target:
        return v
    shape = v.shape
    return np.reshape(v, (shape[0],) + (1,) * (target - own) + tuple(shape[1:]))


def _plain(v: Any) -> Any:
    return v.view(np.ndarray) if type(v) is _b.Batched else v


def aligned(vals: list, batched: list) -> list:
    """Operands of a broadcasting operation with the batch axes lined up."""
    nd = max(_own_ndim(v, d) for v, d in zip(vals, batched))
    return [_plain(_lift(v, _own_ndim(v, d), nd)) if d else v for v, d in zip(vals, batched)]


def elementwise(prim: Any, vals: list, batched: list, kwargs: dict, size: int) -> Any:
    if len(vals) == 1:
        return bind(prim, [_plain(vals[0])], kwargs)
    return bind(prim, aligned(vals, batched), kwargs)


def same(prim: Any, vals: list, batched: list, kwargs: dict, size: int) -> Any:
    """The primitive acts on trailing axes (negative axis arguments): the
    batch on axis 0 is one more stacked axis."""
    return bind(prim, [_plain(v) for v in vals], kwargs)


def first_only(prim: Any, vals: list, batched: list, kwargs: dict, size: int) -> Any:
    """``same`` when only the first argument is batched, else the loop."""
    if any(batched[1:]):
        return _loop(prim, vals, batched, kwargs, size)
    return same(prim, vals, batched, kwargs, size)


def _loop(prim: Any, vals: list, batched: list, kwargs: dict, size: int) -> Any:
    return _b.loop_rule(lambda a, k: bind(prim, a, k), prim.name, vals, batched, kwargs, size)


def _all_batched(vals: list, batched: list, size: int) -> list:
    return [
        _plain(v)
        if d
        else np.broadcast_to(v, (size,) + tuple(np.shape(v)))
        if not hasattr(v, "_trace")
        else np.broadcast_to(v, (size,) + tuple(v.shape))
        for v, d in zip(vals, batched)
    ]


# --- shape ----------------------------------------------------------------------
def _reshape(prim: Any, vals: list, batched: list, kwargs: dict, size: int) -> Any:
    x, shape = vals
    return bind(prim, [_plain(x), (size,) + tuple(shape)], kwargs)


def _transpose(prim: Any, vals: list, batched: list, kwargs: dict, size: int) -> Any:
    x, axes = vals
    nd = x.ndim - 1
    axes = tuple(range(nd))[::-1] if axes is None else tuple(a % nd for a in axes)
    return bind(prim, [_plain(x), (0,) + tuple(a + 1 for a in axes)], kwargs)


def _broadcast_to(prim: Any, vals: list, batched: list, kwargs: dict, size: int) -> Any:
    x, shape = vals
    shape = tuple(shape)
    x = _lift(_plain(x), x.ndim - 1, len(shape))
    return bind(prim, [x, (size,) + shape], kwargs)


def _getitem(prim: Any, vals: list, batched: list, kwargs: dict, size: int) -> Any:
    x, idx, nb, acc = vals
    if any(batched[1:]) or any(type(i) is _b.Batched for i in idx):
        return _loop(prim, vals, batched, kwargs, size)
    # the batch axis is one more leading axis the index leaves alone
    return bind(prim, [_plain(x), idx, nb + 1, acc], kwargs)


def _untake(prim: Any, vals: list, batched: list, kwargs: dict, size: int) -> Any:
    if any(batched[1:]) or any(type(i) is _b.Batched for i in vals[1]):
        return _loop(prim, vals, batched, kwargs, size)
    return same(prim, vals, batched, kwargs, size)  # the batch is one more leading axis of g


def _joined(prim: Any, vals: list, batched: list, kwargs: dict, size: int) -> Any:
    """stack and concatenate: every operand batched, a non-negative axis shifted."""
    axis = kwargs["axis"]
    kwargs = {**kwargs, "axis": axis + 1 if axis >= 0 else axis}
    return bind(prim, _all_batched(vals, batched, size), kwargs)


# --- products -------------------------------------------------------------------
def _matmul(prim: Any, vals: list, batched: list, kwargs: dict, size: int) -> Any:
    a, b = (_plain(v) for v in vals)
    da, db = batched
    an, bn = _own_ndim(a, da), _own_ndim(b, db)
    if da and not db and bn <= 2 and an <= 2:
        # (B, k) @ (k, m) is the batch of vector products; (B, n, k) @ (k, m) a stack
        return bind(prim, [a, b], kwargs)
    if db and not da and an == 2 and bn == 1:
        return bind(prim, [b, np.swapaxes(a, -1, -2)], kwargs)  # A x = x A^T, row-wise
    squeeze = []
    if an == 1:
        a = np.expand_dims(a, -2)
        an = 2
        squeeze.append(-2)
    if bn == 1:
        b = np.expand_dims(b, -1)
        bn = 2
        squeeze.append(-1)
    nd = max(an, bn)
    if da:
        a = _lift(a, an, nd)
    if db:
        b = _lift(b, bn, nd)
    if da != db:  # the unbatched operand's stack must not meet the batch axis
        if da:
            b = np.reshape(b, (1,) * (nd + 1 - bn) + tuple(b.shape))
        else:
            a = np.reshape(a, (1,) * (nd + 1 - an) + tuple(a.shape))
    r = bind(prim, [a, b], kwargs)
    if squeeze == [-2, -1]:
        return r[..., 0, 0]
    if squeeze == [-2]:
        return r[..., 0, :]
    if squeeze == [-1]:
        return r[..., 0]
    return r


def _einsum(prim: Any, vals: list, batched: list, kwargs: dict, size: int) -> Any:
    spec = kwargs["spec"]
    ins, _, out = spec.partition("->")
    letter = next(c for c in string.ascii_letters if c not in spec)
    subs = ins.split(",")
    subs = [letter + s if d else s for s, d in zip(subs, batched)]
    spec = ",".join(subs) + "->" + letter + out
    return bind(prim, [_plain(v) for v in vals], {**kwargs, "spec": spec})


# --- non-differentiable callables -------------------------------------------------
def _nondiff_elementwise(fn: Any, vals: list, batched: list, kwargs: dict, size: int) -> Any:
    return fn(*aligned(vals, batched), **kwargs)


def _nondiff_axis(default: Any):
    def rule(fn: Any, vals: list, batched: list, kwargs: dict, size: int) -> Any:
        if len(vals) != 1:
            return _b.loop_rule(lambda a, k: fn(*a, **k), fn.__name__, vals, batched, kwargs, size)
        x = _plain(vals[0])
        axis = kwargs.get("axis", default)
        if axis is None:
            x = np.reshape(x, (size, -1))
            axis = -1
        elif axis >= 0:
            axis += 1
        return fn(x, **{**kwargs, "axis": axis})

    return rule


def install() -> None:
    """Fill core.batching's tables (called by chainrule.transforms.vmap)."""
    from . import arrange, fft, linalg, products, reductions, shape, stable

    R = _b.BATCH_RULES
    R[shape.reshape_p] = _reshape
    R[shape.transpose_p] = _transpose
    R[shape.broadcast_to_p] = _broadcast_to
    R[shape.getitem_p] = _getitem
    R[shape.untake_p] = _untake
    R[shape.where_p] = elementwise
    R[shape.cast_p] = same
    R[shape.stack_p] = _joined
    R[arrange.concatenate_p] = _joined
    R[products.matmul_p] = _matmul
    R[products.einsum_p] = _einsum
    for p in (reductions.sum_p, reductions.prod_p, reductions.cumsum_p):
        R[p] = first_only
    for name in dir(reductions):  # max, min, nanmax, ... (made by one factory)
        p = getattr(reductions, name)
        if name.endswith("_p") and p not in R and type(p).__name__ == "Primitive":
            R[p] = first_only
    for p in (stable.softmax_p, stable.log_softmax_p, stable.logsumexp_p):
        R[p] = first_only
    for p in (fft.c2c_p, fft.r2c_p, fft.c2r_p):
        R[p] = first_only
    for name in (
        "inv_p",
        "det_p",
        "logdet_p",
        "cholesky_p",
        "eigh_p",
        "eigvalsh_p",
        "eig_p",
        "eigvals_p",
        "svd_p",
        "sv_p",
        "qr_p",
    ):
        p = getattr(linalg, name, None)
        if p is not None:
            R[p] = first_only
    R.pop(getattr(reductions, "shift_p", None), None)
    _b.FAMILY_RULES[:] = [
        (lambda p: p in set(UFUNCS.values()) and p is not products.matmul_p, elementwise)
    ]
    N = _b.NONDIFF_RULES
    N[np.ufunc] = _nondiff_elementwise
    for fn in (np.isclose, np.round, np.around, np.fix, np.isreal, np.iscomplex):
        N[fn] = _nondiff_elementwise
    N[np.argmax] = _nondiff_axis(None)
    N[np.argmin] = _nondiff_axis(None)
    N[np.argsort] = _nondiff_axis(-1)
