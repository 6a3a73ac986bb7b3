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
from ..core.trace import bind, strip


def _own_ndim(v: Any, d: bool) -> int:
    t = type(v)
    if t is float or t is int or t is complex:
        return 0
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
    owns = [_own_ndim(v, d) for v, d in zip(vals, batched)]
    nd = max(owns)
    return [_plain(_lift(v, o, nd)) if d else v for v, d, o in zip(vals, batched, owns)]


def elementwise(prim: Any, vals: list, batched: list, kwargs: dict, size: int) -> Any:
    if len(vals) == 1:
        return bind(prim, [_plain(vals[0])], kwargs)
    if prim is _multiply and not kwargs:
        one = _times_one(vals)
        if one is not None:
            return one
    if len(vals) == 2:
        a, b = vals
        ta, tb = type(a), type(b)
        if (ta is np.ndarray and (tb is float or tb is int)) or (
            tb is np.ndarray and (ta is float or ta is int)
        ):  # a batched array and a Python number: nothing to line up
            return bind(prim, vals, kwargs)
        if ta is np.ndarray and tb is np.ndarray and batched[0] and batched[1]:
            if a.ndim == b.ndim:  # both batched, examples of one rank: lined up already
                return bind(prim, vals, kwargs)
    return bind(prim, aligned(vals, batched), kwargs)


_multiply: Any = None  # UFUNCS[np.multiply], set by _register


def _times_one(vals: list) -> Any:
    """The batched operand of ``1.0 * x`` itself (no copy): reverse mode's
    first cotangent is an unbatched 1.0, and each rule multiplies by it. Only
    where the product would have ``x``'s dtype, and only for plain arrays
    (nothing written in place into values of this trace)."""
    a, b = vals
    if type(a) is np.ndarray:
        a, b = b, a
    if type(b) is not np.ndarray or b.dtype != np.float64:
        return None
    if (type(a) is float or type(a) is np.float64) and a == 1.0:
        return b
    return None


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


def _index_batched(it: Any) -> bool:
    return isinstance(it, _b.BatchTracer) or type(it) is _b.Batched


def _index_value(it: Any) -> Any:
    if isinstance(it, _b.BatchTracer):
        return it._bv
    return _plain(it)


def _fancy(idx: tuple, size: int) -> Any:
    """``idx`` holding batched integer index arrays, as one advanced index of
    the batched array (the batch axis indexed by ``arange``), or None when it
    is not purely integer indices."""
    items = list(idx)
    while items and isinstance(items[-1], slice) and items[-1] == slice(None):
        items.pop()
    vals, batched = [], []
    for it in items:
        if _index_batched(it):
            v = _index_value(it)
            if strip_dtype(v).kind not in "iu":
                return None
            vals.append(v)
            batched.append(True)
        elif isinstance(it, (int, np.integer)) or (
            isinstance(it, np.ndarray) and it.dtype.kind in "iu"
        ):
            vals.append(it)
            batched.append(False)
        else:
            return None
    nd = max(_own_ndim(v, d) for v, d in zip(vals, batched))
    lined = [_lift(v, _own_ndim(v, d), nd) if d else v for v, d in zip(vals, batched)]
    return (np.arange(size).reshape((size,) + (1,) * nd), *lined)


def strip_dtype(v: Any) -> Any:
    return v.dtype


def _loop_index(prim: Any, vals: list, batched: list, kwargs: dict, size: int, pos: int) -> Any:
    """The loop over examples, slicing batched entries of the index too."""
    _b._warn_once(f"{prim.name} with a batched index")
    outs = []
    for b in range(size):
        args = [v[b] if d else v for v, d in zip(vals, batched)]
        args[pos] = tuple(_index_value(it)[b] if _index_batched(it) else it for it in vals[pos])
        outs.append(bind(prim, args, kwargs))
    return np.stack(outs)


def _getitem(prim: Any, vals: list, batched: list, kwargs: dict, size: int) -> Any:
    x, idx, nb, acc = vals
    if any(_index_batched(i) for i in idx):
        fancy = _fancy(idx, size) if nb == 0 else None
        if fancy is None:
            return _loop_index(prim, vals, batched, kwargs, size, 1)
        if not batched[0]:
            x = np.broadcast_to(x, (size,) + tuple(np.shape(x)))
        return bind(prim, [_plain(x), fancy, 0, True], kwargs)
    # the batch axis is one more leading axis the index leaves alone
    return bind(prim, [_plain(x), idx, nb + 1, acc], kwargs)


def _untake(prim: Any, vals: list, batched: list, kwargs: dict, size: int) -> Any:
    g, idx, shape, out_ndim, acc = vals
    if any(_index_batched(i) for i in idx):
        g_nd = _own_ndim(g, batched[0])
        fancy = _fancy(idx, size) if g_nd == out_ndim else None
        if fancy is None:
            return _loop_index(prim, vals, batched, kwargs, size, 1)
        if not batched[0]:
            g = np.broadcast_to(g, (size,) + tuple(np.shape(g)))
        return bind(prim, [_plain(g), fancy, (size,) + tuple(shape), out_ndim + 1, True], kwargs)
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


def _stacked(prim: Any, vals: list, batched: list, kwargs: dict, size: int) -> Any:
    """Primitives over stacks of matrices (``solve``): stacks broadcast, so
    the batch is lined up as one more stack axis on every operand."""
    nds = [_own_ndim(v, d) for v, d in zip(vals, batched)]
    nd = max(nds)
    out = []
    for v, d, own in zip(vals, batched, nds):
        v = _plain(v)
        if d:
            out.append(_lift(v, own, nd))
        else:
            out.append(np.reshape(v, (1,) * (nd + 1 - own) + tuple(np.shape(v))))
    return bind(prim, out, kwargs)


def _shift_axis_arg(pos: int) -> Any:
    """A primitive with a non-negative axis argument at ``pos`` (split):
    shifted past the batch axis."""

    def rule(prim: Any, vals: list, batched: list, kwargs: dict, size: int) -> Any:
        if any(batched[1:]):
            return _loop(prim, vals, batched, kwargs, size)
        vals = [_plain(vals[0]), *vals[1:]]
        axis = vals[pos]
        vals[pos] = axis + 1 if axis >= 0 else axis
        return bind(prim, vals, kwargs)

    return rule


def _scatter_extremum(prim: Any, vals: list, batched: list, kwargs: dict, size: int) -> Any:
    """``np.minimum.at`` / ``np.maximum.at`` of 1-d ``vf`` into 1-d ``xf`` at ``p``:
    the batch as one longer 1-d problem, example ``b`` at offset ``b * n``."""
    if batched[2]:
        return _loop(prim, vals, batched, kwargs, size)
    xf, vf, p, which = vals
    xf, vf = _all_batched([xf, vf], batched[:2], size)
    n, m = xf.shape[1], vf.shape[1]
    offsets = (np.arange(size) * n)[:, None]
    flat_p = (np.broadcast_to(p, (size, m)) + offsets).ravel()
    r = bind(
        prim, [np.reshape(xf, (size * n,)), np.reshape(vf, (size * m,)), flat_p, which], kwargs
    )
    return np.reshape(r, (size, n))


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


def _marks_of(idx: Any) -> Any:
    """``idx`` with batched entries as marks, and the marks' traces (or None)."""
    if type(idx) is not tuple:
        return idx, None
    traces = None
    out = []
    for it in idx:
        if isinstance(it, _b.BatchTracer):
            it = strip(it)
        if type(it) is _b.Batched:
            if traces is not None and it._traces != traces:
                return idx, None
            traces = it._traces
        out.append(it)
    return tuple(out), traces


def _fancy_marked(idx: tuple, traces: tuple) -> Any:
    """A marked index as one advanced index over the batch axes and its own."""
    k = len(traces)
    sizes: Any = None  # set below: a marked index has a marked item
    items = list(idx)
    while items and isinstance(items[-1], slice) and items[-1] == slice(None):
        items.pop()
    if any(
        not (type(it) is _b.Batched or isinstance(it, (int, np.integer, np.ndarray)))
        for it in items
    ):
        return None, None
    _, lined = _b._align_plain(items)
    nd = max(it.ndim if hasattr(it, "ndim") else 0 for it in items)
    for it in items:
        if type(it) is _b.Batched:
            sizes = it.view(np.ndarray).shape[:k]
            if it.dtype.kind not in "iu":
                return None, None
    ars = tuple(
        np.arange(n).reshape((1,) * j + (n,) + (1,) * (k - 1 - j + nd)) for j, n in enumerate(sizes)
    )
    return ars + tuple(lined), sizes


def _marked_index(idx: tuple) -> Any:
    """``(fancy index, batch sizes, traces)`` of an index carrying batch marks,
    or None when it carries none or is not of the form the marked rules take."""
    marked, traces = _marks_of(idx)
    if traces is None:
        return None
    fancy, sizes = _fancy_marked(marked, traces)
    return None if fancy is None else (fancy, sizes, traces)


def getitem_marked(x: Any, idx: tuple, nb: int) -> Any:
    """``x[idx]`` (shape.getitem_p's implementation) for an unbatched ``x`` and
    an index carrying batch marks (the cotangent of ``x[y]`` with a batched
    ``y`` is often a constant, so ``bind`` sees no batched argument): one
    advanced index over the batch axes and the example's; None when the
    index is not of that form (the plain implementation then applies)."""
    found = _marked_index(idx)
    if found is None:
        return None
    fancy, sizes, traces = found
    k = len(sizes)
    x = np.broadcast_to(_plain(x), tuple(sizes) + np.shape(x))
    if nb:  # leading tangent axes of x: after the batch axes, as the index expects
        x = np.moveaxis(x, tuple(range(k, k + nb)), tuple(range(-nb, 0)))
    r = x[fancy]
    if nb:
        r = np.moveaxis(r, tuple(range(-nb, 0)), tuple(range(k, k + nb)))
    return _b.mark_as(r, traces)


def untake_marked(g: Any, idx: tuple, shape: tuple, out_ndim: int) -> Any:
    """The transpose of ``getitem_marked`` (shape.untake_p's implementation for
    an index carrying batch marks), or None when it does not apply."""
    found = _marked_index(idx)
    if found is None:
        return None
    fancy, sizes, traces = found
    k = len(sizes)
    if type(g) is _b.Batched and g._traces == traces:
        gv = g.view(np.ndarray)
    else:
        gv = np.broadcast_to(_plain(g), tuple(sizes) + np.shape(g))
    nb = gv.ndim - k - out_ndim
    lead = gv.shape[k : k + nb]
    if nb:
        gv = np.moveaxis(gv, tuple(range(k, k + nb)), tuple(range(-nb, 0)))
    z = np.zeros(tuple(sizes) + tuple(shape) + lead, dtype=gv.dtype)
    np.add.at(z, fancy, gv)
    if nb:
        z = np.moveaxis(z, tuple(range(-nb, 0)), tuple(range(k, k + nb)))
    return _b.mark_as(z, traces)


def _per_example(prim: Any, vals: list, batched: list, kwargs: dict, size: int) -> Any:
    """A primitive NumPy itself runs on one matrix at a time (lstsq): one call
    per example, as a rule (no warning: there is no stacked form to use)."""
    outs = []
    for b in range(size):
        outs.append(bind(prim, [v[b] if d else v for v, d in zip(vals, batched)], kwargs))
    return np.stack(outs)


def _order_stat(prim: Any, vals: list, batched: list, kwargs: dict, size: int) -> Any:
    """order_stat_p(y, ks): order statistics ``ks`` along y's last axis. Batched
    orders (nanmedian: the count of non-NaN values differs per example) are
    lined up with the batch axis; the implementation broadcasts them."""
    y, ks = vals
    if not batched[1]:
        return same(prim, vals, batched, kwargs, size)
    if batched[0]:
        y = _plain(y)
    else:
        y = np.broadcast_to(y, (size,) + tuple(np.shape(y)))
    ks = _plain(ks)  # per example: one row of orders, or one per leading index of y
    ks = _lift(ks, np.ndim(ks) - 1, np.ndim(y) - 1)
    return bind(prim, [y, ks], kwargs)


def _groups(prim: Any, vals: list, batched: list, kwargs: dict, size: int) -> Any:
    """np.unique's primitives (x or t, then index/inverse/counts): act on the
    axis -2 of stacks, so a batch of values with shared groups is ``same``;
    groups that differ per example (np.unique of a batch) go one example at a
    time (as a rule: there is no stacked form)."""
    if any(batched[1:]):
        return _per_example(prim, vals, batched, kwargs, size)
    return same(prim, vals, batched, kwargs, size)


def _register() -> None:
    """Fill core.batching's tables: run once, when the rule families load
    (chainrule.rules.load), like every other registration. Nothing else is
    replaced: the primitives' implementations and derivative rules are the
    same objects with or without vmap (shape.getitem_p's implementation and
    max/min's tie shares handle batch marks themselves)."""
    from . import arrange, fft, linalg, products, reductions, shape, stable
    from . import elementwise as ew

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
    R[linalg.solve_p] = _stacked
    from ..at import scatter_extremum_p

    R[scatter_extremum_p] = _scatter_extremum
    R[arrange.split_hub_p] = _shift_axis_arg(1)
    R[arrange.split_piece_p] = _shift_axis_arg(2)
    for name in ("real_p", "imag_p", "conjugate_p", "angle_p"):
        R[getattr(ew, name)] = elementwise
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
        "pinv_p",
        "adj_p",
    ):
        p = getattr(linalg, name, None)  # type: ignore[assignment]  # None: not in this NumPy
        if p is not None:
            R[p] = first_only
    R[reductions.shift_p] = first_only  # acts on the last axis
    R[linalg.lstsq_p] = _per_example
    R[linalg.concat_p] = _joined  # the SVD's and QR's blocks
    R[linalg.complement_p] = first_only  # matrices on the last two axes
    R[linalg.eigvalsh_cluster_p] = first_only
    from . import unique

    for p in (unique.unique_p, unique.segment_mean_p, unique.spread_mean_p):
        R[p] = _groups
    from . import bessel, statistics

    R[statistics.order_stat_p] = _order_stat
    for p in (
        bessel.i0_p,
        bessel.i1_p,
        ew.sinc_p,
        stable.sigmoid_p,
        stable.softplus_p,
        stable.log1mexp_p,
        stable.xlogy_p,
    ):
        R[p] = elementwise
    from .signal import conv_window_p

    R[conv_window_p] = elementwise  # 1-d operands, broadcast over leading axes
    global _multiply
    _multiply = UFUNCS[np.multiply]
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


_register()
