"""Moving elements around: reshape, transpose, broadcast, index, select, cast.

These are linear, so each VJP is the inverse move applied to the cotangent and
each JVP is the same move applied to the tangent; the only care needed is to
leave a batch of tangents/cotangents on the leading axes alone.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .._backends import is_foreign, library, namespace
from ..core.batching import Batched, mark_as
from ..core.primitive import EachArgument, Primitive
from ..core.registry import FUNCTIONS, implements
from ..core.trace import Tracer, strip, strip_tree
from ..errors import conversion_error
from ._util import (
    allow_complex,
    batch_lead,
    fit,
    ndim_of,
    normalize_axes,
    pad_batch,
    shape_of,
    unbroadcast,
)

# --- reshape ----------------------------------------------------------------
reshape_p = Primitive("reshape", lambda x, shape: np.reshape(x, shape))
reshape_p.defvjp(
    lambda ans, x, shape: (
        lambda g, xs=shape_of(x), n=len(shape): np.reshape(g, batch_lead(g, n) + xs)
    )
)
reshape_p.defjvp(lambda t, ans, x, shape: np.reshape(t, batch_lead(t, ndim_of(x)) + shape))


def _resolve_shape(shape: Any, size: int) -> tuple[int, ...]:
    shape = (shape,) if isinstance(shape, (int, np.integer)) else tuple(int(s) for s in shape)
    if -1 in shape:
        known = int(np.prod([s for s in shape if s != -1]))
        shape = tuple(size // known if known and s == -1 else s for s in shape)
    if int(np.prod(shape)) != size:
        raise ValueError(f"cannot reshape array of size {size} into shape {shape}")
    return shape


@implements(np.reshape)
def reshape(a: Any, shape: Any = None, order: str = "C", *, newshape: Any = None, copy: Any = None):
    """Differentiable ``numpy.reshape``.

    >>> import chainrule as cr, chainrule.numpy as cnp, numpy as np
    >>> cr.grad(lambda x: cnp.sum(cnp.reshape(x, (2, 2)) ** 2))(np.arange(4.0))
    array([0., 2., 4., 6.])
    """
    shape = newshape if shape is None else shape
    shape = _resolve_shape(shape, int(np.prod(shape_of(a))))
    if order == "F":
        return transpose(reshape(transpose(a), shape[::-1]))
    if order not in ("C", "A"):
        raise ValueError(f"reshape order must be 'C' or 'F', got {order!r}")
    if shape == shape_of(a):
        return a
    return reshape_p(a, shape)


@implements(np.ravel)
def ravel(a: Any, order: str = "C") -> Any:
    """Differentiable ``numpy.ravel``."""
    return reshape(a, (-1,), order=order)


@implements(np.squeeze)
def squeeze(a: Any, axis: Any = None) -> Any:
    """Differentiable ``numpy.squeeze``."""
    shape = shape_of(a)
    if axis is None:
        return reshape(a, tuple(s for s in shape if s != 1))
    axes = {ax % len(shape) for ax in normalize_axes(axis, len(shape))}
    for ax in axes:
        if shape[ax] != 1:
            raise ValueError("cannot select an axis to squeeze out which has size not equal to one")
    return reshape(a, tuple(s for i, s in enumerate(shape) if i not in axes))


@implements(np.expand_dims)
def expand_dims(a: Any, axis: Any) -> Any:
    """Differentiable ``numpy.expand_dims``."""
    n = ndim_of(a) + (1 if np.ndim(axis) == 0 else len(axis))
    axes = {ax % n for ax in normalize_axes(axis, n)}
    it = iter(shape_of(a))
    return reshape(a, tuple(1 if i in axes else next(it) for i in range(n)))


def _axis(axis: Any, ndim: int) -> int:
    """One axis number, checked like NumPy's (an ``AxisError`` when out of range)."""
    axis = int(axis)
    if not -ndim <= axis < ndim:
        raise np.exceptions.AxisError(axis, ndim)
    return axis % ndim


# --- transpose --------------------------------------------------------------
def _lift_perm(perm: tuple[int, ...], nb: int) -> tuple[int, ...]:
    return tuple(range(nb)) + tuple(nb + p for p in perm)


transpose_p = Primitive("transpose", lambda x, axes: np.transpose(x, axes))
transpose_p.defvjp(
    lambda ans, x, axes: (
        lambda g, inv=tuple(np.argsort(axes)): np.transpose(g, _lift_perm(inv, g.ndim - len(inv)))
    )
)
transpose_p.defjvp(lambda t, ans, x, axes: np.transpose(t, _lift_perm(axes, t.ndim - len(axes))))


@implements(np.transpose)
def transpose(a: Any, axes: Any = None) -> Any:
    """Differentiable ``numpy.transpose``."""
    n = ndim_of(a)
    if axes is None:
        axes = tuple(range(n))[::-1]
    else:
        axes = tuple(_axis(ax, n) for ax in axes)
    if sorted(axes) != list(range(n)):
        raise ValueError(f"axes {axes} don't match array of {n} dimensions")
    if axes == tuple(range(n)):
        return a
    return transpose_p(a, axes)


@implements(np.swapaxes)
def swapaxes(a: Any, axis1: int, axis2: int) -> Any:
    """Differentiable ``numpy.swapaxes``."""
    n = ndim_of(a)
    axis1, axis2 = _axis(axis1, n), _axis(axis2, n)
    perm = list(range(n))
    perm[axis1], perm[axis2] = perm[axis2], perm[axis1]
    return transpose(a, perm)


# --- broadcast_to -------------------------------------------------------------
broadcast_to_p = Primitive("broadcast_to", lambda x, shape: np.broadcast_to(x, shape))
broadcast_to_p.defvjp(
    lambda ans, x, shape: lambda g, xs=shape_of(x), n=len(shape): unbroadcast(g, xs, n)
)
broadcast_to_p.defjvp(
    lambda t, ans, x, shape: np.broadcast_to(
        pad_batch(t, ndim_of(x), len(shape)), batch_lead(t, ndim_of(x)) + shape
    )
)


@implements(np.broadcast_to)
def broadcast_to(array: Any, shape: Any, subok: bool = False) -> Any:
    """Differentiable ``numpy.broadcast_to`` (the result is read-only, as in NumPy)."""
    shape = (shape,) if isinstance(shape, (int, np.integer)) else tuple(shape)
    if shape == shape_of(array):
        return array
    return broadcast_to_p(array, shape)


# --- indexing -----------------------------------------------------------------
def normalize_index(idx: Any, ndim: int) -> tuple[tuple, bool]:
    """Make an index explicit: a tuple with any ``...`` spelled out as slices.

    Returns the tuple and whether it holds integer arrays (whose repeats must
    be accumulated when scattering back). Explicit indices leave extra
    trailing axes alone, which is where batches are parked while indexing.
    """
    if not isinstance(idx, tuple):
        idx = (idx,)
    items = []
    consumed = 0
    has_ellipsis = False
    has_int_array = False
    for item in idx:
        item = strip_tree(item)
        if isinstance(item, list):
            item = np.asarray(item)
        if item is None:
            pass
        elif item is Ellipsis:
            if has_ellipsis:
                raise IndexError("an index can only have a single ellipsis ('...')")
            has_ellipsis = True
        elif isinstance(item, (bool, np.bool_)) or (
            isinstance(item, np.ndarray) and item.dtype == bool
        ):
            consumed += np.ndim(item)
        elif isinstance(item, np.ndarray):
            if item.dtype.kind not in "iu":
                raise IndexError(
                    f"arrays used as indices must be of integer (or boolean) type, got {item.dtype}"
                )
            consumed += 1
            has_int_array = True
        else:
            consumed += 1
        items.append(item)
    if has_ellipsis:
        at = next(i for i, it in enumerate(items) if it is Ellipsis)
        items[at : at + 1] = [slice(None)] * max(ndim - consumed, 0)
    return tuple(items), has_int_array


def _move_batch_last(x: Any, nb: int) -> Any:
    return np.moveaxis(x, tuple(range(nb)), tuple(range(-nb, 0))) if nb else x


def _move_batch_first(x: Any, nb: int) -> Any:
    return np.moveaxis(x, tuple(range(-nb, 0)), tuple(range(nb))) if nb else x


def _batch_marked(idx: tuple) -> bool:
    """Whether an integer index carries cr.vmap's batch (a ``Batched`` mark:
    ``x[y]`` with a batched ``y`` but a plain ``x`` reaches the implementation
    directly, since ``bind`` sees no batched argument)."""
    return any(type(i) is Batched for i in idx)


def _getitem_impl(x: Any, idx: tuple, nb: int, accumulate: bool) -> Any:
    if accumulate and _batch_marked(idx):  # integer arrays only: accumulate says so
        from .batching_rules import getitem_marked

        r = getitem_marked(x, idx, nb)
        if r is not None:
            return r
    return _move_batch_first(_move_batch_last(x, nb)[idx], nb)


def _untake_impl(g: Any, idx: tuple, shape: tuple, out_ndim: int, accumulate: bool) -> Any:
    """The transpose of ``x[idx]``: scatter ``g`` into zeros of ``shape``."""
    if accumulate and _batch_marked(idx):
        from .batching_rules import untake_marked

        r = untake_marked(g, idx, shape, out_ndim)
        if r is not None:
            return r
    if type(g) is Batched:  # g carries cr.vmap's batch (a tangent times a batched mask)
        traces = g._traces
        return mark_as(_untake_impl(g.view(np.ndarray), idx, shape, out_ndim, accumulate), traces)
    nb = g.ndim - out_ndim
    if type(g) is not np.ndarray and is_foreign(g):
        return _untake_foreign(g, idx, shape, nb, accumulate)
    z = np.zeros(shape + g.shape[:nb], dtype=g.dtype)
    if accumulate:
        np.add.at(z, idx, _move_batch_last(g, nb))
    else:
        z[idx] = _move_batch_last(g, nb)
    return _move_batch_first(z, nb)


def _untake_foreign(g: Any, idx: tuple, shape: tuple, nb: int, accumulate: bool) -> Any:
    """``_untake_impl`` for a Dask or CuPy cotangent: zeros of its own kind (never
    NumPy's), assigned into only while they are this function's own fresh array."""
    lead = g.shape[:nb]
    moved = _move_batch_last(g, nb)
    z = np.zeros_like(g, shape=shape + lead)
    if not accumulate:
        if any(item is None for item in idx):
            # Dask assigns only through indices without new axes: drop the unit
            # axes that x[..., None, ...] made (basic indices only get here).
            new, k = [], 0
            for item in idx:
                if item is None:
                    new.append(k)
                if not isinstance(item, (int, np.integer)):
                    k += 1
            moved = np.squeeze(moved, axis=tuple(new))
            idx = tuple(item for item in idx if item is not None)
        z[idx] = moved
    elif library(g) != "dask":
        np.add.at(z, idx, moved)  # CuPy's ufunc.at
    else:  # Dask has no ufunc.at: sum repeated positions with bincount, per batch column
        size = int(np.prod(shape))
        pos = np.arange(size).reshape(shape)[idx].ravel()  # where each entry of g goes
        ns = namespace(g)
        cols: Any = np.reshape(moved, (pos.size, int(np.prod(lead))))  # a Dask array
        where_to = ns.from_array(pos, chunks=(cols.chunks[0],))
        sums = [
            np.bincount(where_to, weights=cols[:, j], minlength=size) for j in range(cols.shape[1])
        ]
        z = np.reshape(np.stack(sums, axis=-1), shape + lead).astype(g.dtype)
    return _move_batch_first(z, nb)


# getitem_p(x, idx, nb, accumulate): x[idx] on the axes after nb batch axes.
# untake_p(g, idx, shape, out_ndim, accumulate): its transpose, a scatter-add.
getitem_p = Primitive("getitem", _getitem_impl)
untake_p = Primitive("untake", _untake_impl)
getitem_p.defvjp(
    lambda ans, x, idx, nb, acc: (
        lambda g, s=shape_of(x)[nb:], n=ndim_of(ans) - nb: untake_p(g, idx, s, n, acc)
    )
)
getitem_p.defjvp(lambda t, ans, x, idx, nb, acc: getitem_p(t, idx, t.ndim - ndim_of(x) + nb, acc))
untake_p.defvjp(
    lambda ans, g, idx, shape, out_ndim, acc: lambda c: getitem_p(c, idx, c.ndim - len(shape), acc)
)
untake_p.defjvp(lambda t, ans, g, idx, shape, out_ndim, acc: untake_p(t, idx, shape, out_ndim, acc))


@implements(np.ndarray.__getitem__)
def getitem(x: Any, idx: Any) -> Any:
    """``x[idx]`` for every NumPy indexing form (basic, slices, integer and
    boolean arrays); repeated integer indices accumulate in the derivative."""
    idx, has_int_array = normalize_index(idx, ndim_of(x))
    return getitem_p(x, idx, 0, has_int_array)


# --- where: choose between two arrays -----------------------------------------
def _where_vjp(which: int):
    def make(ans: Any, cond: Any, x: Any, y: Any):
        shape, n = shape_of((x, y)[which - 1]), ndim_of(ans)
        zero = np.zeros((), dtype=ans.dtype)
        if which == 1:
            return lambda g: unbroadcast(np.where(cond, g, zero), shape, n)
        return lambda g: unbroadcast(np.where(cond, zero, g), shape, n)

    return make


def _where_jvp(which: int):
    def rule(t: Any, ans: Any, cond: Any, x: Any, y: Any) -> Any:
        own = ndim_of((x, y)[which - 1])
        lead = batch_lead(t, own)
        t = pad_batch(t, own, ndim_of(ans))
        zero = np.zeros((), dtype=t.dtype)
        picked = np.where(cond, t, zero) if which == 1 else np.where(cond, zero, t)
        return fit(picked, lead + shape_of(ans))

    return rule


where_p = Primitive("where", np.where)
where_p.defvjp(None, _where_vjp(1), _where_vjp(2))
where_p.defjvp(None, _where_jvp(1), _where_jvp(2))


@implements(np.where)
def where(condition: Any, x: Any = None, y: Any = None) -> Any:
    """Differentiable ``numpy.where``: the derivative flows to whichever of ``x``
    and ``y`` was chosen, and exactly zero (never NaN) to the other."""
    if x is None and y is None:
        return np.nonzero(strip(condition))
    if x is None or y is None:
        raise ValueError("either both or neither of x and y should be given")
    return where_p(strip(condition), x, y)


@implements(np.clip)
def clip(a: Any, a_min: Any = None, a_max: Any = None, out: Any = None, **kwargs: Any) -> Any:
    """Differentiable ``numpy.clip``: derivative 1 inside ``[a_min, a_max]``
    (bounds included), 0 outside, where it flows to the bound instead."""
    if out is not None:
        raise conversion_error("Writing the result of numpy.clip into out=")
    a_min = kwargs.pop("min", a_min)
    a_max = kwargs.pop("max", a_max)
    if a_min is not None:
        a = where(a < a_min, a_min, a)
    if a_max is not None:
        a = where(a > a_max, a_max, a)
    return a


# --- dtype casts --------------------------------------------------------------
def _cast_back(g: Any, dtype: np.dtype) -> Any:
    """The cotangent of a cast from ``dtype``: cast back, the real part for a
    real ``dtype`` (a real value cast to complex)."""
    if dtype.kind != "c" and g.dtype.kind == "c":
        g = np.real(g)
    return g if g.dtype == dtype else cast_p(g, dtype)


# cast_p never casts complex to real: ``astype`` takes the real part first.
cast_p = Primitive("astype", lambda x, dtype: x.astype(dtype))
cast_p.defvjp(lambda ans, x, dtype: lambda g, d=x.dtype: _cast_back(g, d))
cast_p.defjvp(lambda t, ans, x, dtype: cast_p(t, dtype))


@implements(np.ndarray.astype, *([np.astype] if hasattr(np, "astype") else []))
def astype(x: Any, dtype: Any) -> Any:
    """Cast between floating dtypes differentiably; casting to an integer or
    boolean dtype gives a plain array (such values carry no derivative)."""
    dtype = np.dtype(dtype)
    if dtype.kind not in "fc":
        return strip(x).astype(dtype)
    if dtype == x.dtype:
        return x
    if dtype.kind == "f" and x.dtype.kind == "c":  # NumPy keeps the real part
        return astype(np.real(x), dtype)
    return cast_p(x, dtype)


def _is_traced(x: Any) -> bool:
    return isinstance(x, Tracer)


FUNCTIONS[np.copy] = lambda a, *args, **kwargs: a if _is_traced(a) else np.copy(a, *args, **kwargs)


# --- stack ----------------------------------------------------------------------
def _slot(i: int, axis: int) -> tuple:
    """The index that picks entry ``i`` of a stack along negative ``axis``."""
    return (Ellipsis, i) + (slice(None),) * (-axis - 1)


def _stack_jvp(i: int, t: Any, ans: Any, *arrays: Any, axis: int) -> Any:
    own = ndim_of(arrays[i])
    zero = np.zeros(t.shape, dtype=t.dtype)
    parts = [t if j == i else zero for j in range(len(arrays))]
    del own
    return stack_p(*parts, axis=axis)


stack_p = Primitive("stack", lambda *arrays, axis: np.stack(arrays, axis=axis))
stack_p.defvjp(EachArgument(lambda i, ans, *arrays, axis: lambda g: getitem(g, _slot(i, axis))))
stack_p.defjvp(EachArgument(_stack_jvp))


@implements(np.stack)
def stack(arrays: Any, axis: int = 0, out: Any = None, **kwargs: Any) -> Any:
    """Differentiable ``numpy.stack``."""
    arrays = list(arrays)
    if out is not None:
        raise conversion_error("Writing the result of numpy.stack into out=")
    shapes = {shape_of(a) for a in arrays}
    if len(shapes) != 1:
        raise ValueError(f"all input arrays must have the same shape, got {sorted(shapes)}")
    n = len(next(iter(shapes))) + 1
    if not -n <= axis < n:
        raise np.exceptions.AxisError(axis, n)
    return stack_p(*arrays, axis=axis - n if axis >= 0 else axis)


@implements(np.moveaxis)
def moveaxis(a: Any, source: Any, destination: Any) -> Any:
    """Differentiable ``numpy.moveaxis``."""
    n = ndim_of(a)
    src = [_axis(s, n) for s in ((source,) if np.ndim(source) == 0 else source)]
    dst = [_axis(d, n) for d in ((destination,) if np.ndim(destination) == 0 else destination)]
    if len(set(src)) != len(src) or len(set(dst)) != len(dst):
        raise ValueError("repeated axis in `source` or `destination` argument")
    if len(src) != len(dst):
        raise ValueError("`source` and `destination` must have the same number of elements")
    order = [i for i in range(n) if i not in src]
    for d, s in sorted(zip(dst, src)):
        order.insert(d, s)
    return transpose(a, order)


allow_complex(reshape_p, transpose_p, broadcast_to_p, getitem_p, untake_p, where_p, cast_p, stack_p)
