"""Arranging elements: join, split, tile, repeat, flip, roll, pad, diagonals,
take, choose, select and sort.

Only ``concatenate`` is a new primitive. Everything else is written with it
and with the moves of ``shape.py`` (indexing, reshape, transpose,
broadcast_to, where), so its derivatives -- both modes, on batches, to any
order -- are theirs. Which element goes where is worked out on plain integers
from shapes and indices, never from traced values.
"""

from __future__ import annotations

import operator
import warnings
from typing import Any

import numpy as np

from .._backends import is_foreign
from ..core.batching import Batched
from ..core.primitive import EachArgument, Primitive
from ..core.registry import implements
from ..core.staging import Watched
from ..core.trace import is_traced, strip, strip_tree
from ..errors import conversion_error, no_rule_error
from ._util import allow_complex, as_array, batch_lead, ndim_of, recorded, shape_of
from .shape import (
    astype,
    broadcast_to,
    expand_dims,
    getitem,
    getitem_p,
    normalize_index,
    ravel,
    reshape,
    stack,
    swapaxes,
    transpose,
    untake_p,
    where,
)


# --- helpers ----------------------------------------------------------------------
def _array(a: Any) -> Any:
    """A traced value (or a Dask or CuPy array) as it is; anything else as a
    plain ndarray."""
    return a if is_traced(a) or is_foreign(a) else np.asarray(a)


def _tree_array(v: Any) -> Any:
    """Like ``_array``, for nested lists/tuples that may hold traced values."""
    if isinstance(v, (list, tuple)) and any(is_traced(e) for e in _leaves(v)):
        return stack([_tree_array(e) for e in v])
    return _array(v)


def _leaves(v: Any) -> list:
    if isinstance(v, (list, tuple)):
        return [leaf for e in v for leaf in _leaves(e)]
    return [v]


def _axis(axis: Any, ndim: int) -> int:
    """One axis as a non-negative int, checked like NumPy does."""
    axis = operator.index(axis)
    if not -ndim <= axis < ndim:
        raise np.exceptions.AxisError(axis, ndim)
    return axis % ndim


def _axes(axis: Any, ndim: int) -> tuple[int, ...]:
    """``None`` (every axis), an int or a sequence -> non-negative axes."""
    if axis is None:
        return tuple(range(ndim))
    out = tuple(_axis(a, ndim) for a in ((axis,) if np.ndim(axis) == 0 else axis))
    if len(set(out)) != len(out):
        raise ValueError("repeated axis")
    return out


def _along(axis: int, item: Any) -> tuple:
    """The index that applies ``item`` to ``axis`` and leaves the axes before it."""
    return (slice(None),) * axis + (item,)


def _gather(x: Any, idx: tuple) -> Any:
    """``x[idx]`` for integer-array indices known to hold no repeats: the
    derivative scatters without accumulating."""
    return getitem_p(x, normalize_index(idx, ndim_of(x))[0], 0, False)


def _int_array(indices: Any, what: str, error: type = IndexError) -> np.ndarray:
    indices = as_array(strip_tree(indices))
    if indices.dtype.kind not in "iu":
        raise error(f"{what} must be an integer array, got dtype {indices.dtype}")
    return indices


def _refuse_out(name: str, out: Any) -> None:
    if out is not None:
        raise conversion_error(f"Writing the result of numpy.{name} into out=")


# --- concatenate: the one new primitive ----------------------------------------------
def _concat_bounds(i: int, arrays: tuple, axis: int) -> tuple[int, int]:
    start = sum(shape_of(a)[axis] for a in arrays[:i])
    return start, start + shape_of(arrays[i])[axis]


def _concat_vjp(i: int, ans: Any, *arrays: Any, axis: int) -> Any:
    """The cotangent of argument ``i`` is its slice of the output's cotangent."""
    start, stop = _concat_bounds(i, arrays, axis)
    idx = (Ellipsis, slice(start, stop)) + (slice(None),) * (-axis - 1)
    return lambda g: getitem(g, idx)


def _concat_jvp(i: int, t: Any, ans: Any, *arrays: Any, axis: int) -> Any:
    """The tangent of argument ``i`` in its place, zeros before and after it."""
    start, stop = _concat_bounds(i, arrays, axis)
    lead, shape = batch_lead(t, ndim_of(arrays[i])), list(shape_of(ans))

    def zeros(size: int) -> Any:
        shape[axis] = size
        return np.zeros(lead + tuple(shape), dtype=ans.dtype)

    parts = [zeros(start)] if start else []
    parts.append(t)
    rest = shape_of(ans)[axis] - stop
    if rest:
        parts.append(zeros(rest))
    return concatenate_p(*parts, axis=axis) if len(parts) > 1 else t


# concatenate_p(*arrays, axis): join along the negative ``axis``.
concatenate_p = Primitive("concatenate", lambda *arrays, axis: np.concatenate(arrays, axis=axis))
concatenate_p.defvjp(EachArgument(_concat_vjp))
concatenate_p.defjvp(EachArgument(_concat_jvp))
allow_complex(concatenate_p)


def _cast_all(arrays: list, dtype: Any, casting: str) -> list:
    """Check ``casting`` like NumPy and cast to ``dtype`` when one is given."""
    target = np.dtype(dtype) if dtype is not None else np.result_type(*[a.dtype for a in arrays])
    for a in arrays:
        if not np.can_cast(a.dtype, target, casting=casting):  # type: ignore[arg-type]
            raise TypeError(
                f"Cannot cast array data from {a.dtype!r} to {target!r} "
                f"according to the rule {casting!r}"
            )
    return arrays if dtype is None else [astype(a, target) for a in arrays]


@implements(np.concatenate)
def concatenate(
    arrays: Any, axis: Any = 0, out: Any = None, *, dtype: Any = None, casting: str = "same_kind"
) -> Any:
    """Differentiable ``numpy.concatenate`` (``axis=None`` joins the flattened
    arrays); the cotangent of each input is its slice of the output's.

    >>> import chainrule as cr, numpy as np
    >>> cr.grad(lambda x: np.sum(np.concatenate([x, x**2]) * np.arange(4.0)))(np.ones(2))
    array([4., 7.])
    """
    _refuse_out("concatenate", out)
    arrays = [_array(a) for a in arrays]
    if not arrays:
        raise ValueError("need at least one array to concatenate")
    arrays = _cast_all(arrays, dtype, casting)
    if axis is None:
        arrays, axis = [ravel(a) for a in arrays], 0
    ndim = ndim_of(arrays[0])
    if ndim == 0:
        raise ValueError("zero-dimensional arrays cannot be concatenated")
    if any(ndim_of(a) != ndim for a in arrays):
        raise ValueError("all the input arrays must have same number of dimensions")
    return concatenate_p(*arrays, axis=_axis(axis, ndim) - ndim)


# --- promoting and joining ------------------------------------------------------------
def _atleast(arys: tuple, promote: Any) -> Any:
    out = tuple(promote(_array(a)) for a in arys)
    return out[0] if len(out) == 1 else out


def _to_1d(a: Any) -> Any:
    return reshape(a, (1,)) if ndim_of(a) == 0 else a


def _to_2d(a: Any) -> Any:
    return reshape(a, (1,) * (2 - ndim_of(a)) + shape_of(a)) if ndim_of(a) < 2 else a


def _to_3d(a: Any) -> Any:
    shape = shape_of(a)
    if len(shape) == 0:
        return reshape(a, (1, 1, 1))
    if len(shape) == 1:
        return reshape(a, (1,) + shape + (1,))
    return reshape(a, shape + (1,)) if len(shape) == 2 else a


@implements(np.atleast_1d)
def atleast_1d(*arys: Any) -> Any:
    """Differentiable ``numpy.atleast_1d``."""
    return _atleast(arys, _to_1d)


@implements(np.atleast_2d)
def atleast_2d(*arys: Any) -> Any:
    """Differentiable ``numpy.atleast_2d``."""
    return _atleast(arys, _to_2d)


@implements(np.atleast_3d)
def atleast_3d(*arys: Any) -> Any:
    """Differentiable ``numpy.atleast_3d`` (a 1-d ``(n,)`` becomes ``(1, n, 1)``)."""
    return _atleast(arys, _to_3d)


@implements(np.hstack)
def hstack(tup: Any, *, dtype: Any = None, casting: str = "same_kind") -> Any:
    """Differentiable ``numpy.hstack``."""
    arrays = [_to_1d(_array(a)) for a in tup]
    axis = 0 if arrays and ndim_of(arrays[0]) == 1 else 1
    return concatenate(arrays, axis=axis, dtype=dtype, casting=casting)


@implements(np.vstack)
def vstack(tup: Any, *, dtype: Any = None, casting: str = "same_kind") -> Any:
    """Differentiable ``numpy.vstack``."""
    return concatenate([_to_2d(_array(a)) for a in tup], axis=0, dtype=dtype, casting=casting)


if hasattr(np, "row_stack"):

    @implements(np.row_stack)
    def row_stack(tup: Any, *, dtype: Any = None, casting: str = "same_kind") -> Any:
        """Differentiable ``numpy.row_stack`` (NumPy's deprecated alias of ``vstack``)."""
        warnings.warn(
            "`row_stack` alias is deprecated. Use `np.vstack` directly.",
            DeprecationWarning,
            stacklevel=2,
        )
        return vstack(tup, dtype=dtype, casting=casting)


@implements(np.dstack)
def dstack(tup: Any) -> Any:
    """Differentiable ``numpy.dstack``."""
    return concatenate([_to_3d(_array(a)) for a in tup], axis=2)


@implements(np.column_stack)
def column_stack(tup: Any) -> Any:
    """Differentiable ``numpy.column_stack``: 1-d arrays become columns."""
    arrays = []
    for a in tup:
        a = _array(a)
        arrays.append(reshape(a, (-1, 1)) if ndim_of(a) < 2 else a)
    return concatenate(arrays, axis=1)


@implements(np.append)
def append(arr: Any, values: Any, axis: Any = None) -> Any:
    """Differentiable ``numpy.append`` (``axis=None`` flattens both first)."""
    arr, values = _array(arr), _array(values)
    if axis is None:
        return concatenate([ravel(arr), ravel(values)], axis=0)
    return concatenate([arr, values], axis=axis)


@implements(np.broadcast_arrays)
def broadcast_arrays(*args: Any, subok: bool = False) -> tuple:
    """Differentiable ``numpy.broadcast_arrays``."""
    arrays = [_array(a) for a in args]
    shape = np.broadcast_shapes(*[shape_of(a) for a in arrays])
    return tuple(broadcast_to(a, shape) for a in arrays)


if hasattr(np, "matrix_transpose"):

    @implements(np.matrix_transpose)
    def matrix_transpose(x: Any) -> Any:
        """Differentiable ``numpy.matrix_transpose``: swap the last two axes."""
        x = _array(x)
        if ndim_of(x) < 2:
            raise ValueError(f"Input array must be at least 2-dimensional, but it is {ndim_of(x)}")
        return swapaxes(x, -1, -2)


# --- splitting: each piece is a slice of one shared "hub" ---------------------------------
# Slicing each piece with getitem would make reverse mode quadratic in the number of
# pieces: each piece's VJP scatters its cotangent into a zero array of the full size.
# Instead the pieces are slices of a hub (the array itself, recorded once), and a
# piece's VJP returns its cotangent wrapped in a _Pieces bundle; the engine adds the
# bundles of all pieces (merging them, no arrays touched) and hands the sum to the
# hub's VJP, which writes every piece into one full-size cotangent: linear work, with
# unused pieces left as zeros.
class _Pieces:
    """The cotangent of a split's hub: piece number -> that piece's cotangent."""

    __slots__ = ("parts",)

    def __init__(self, parts: dict) -> None:
        self.parts = parts

    def __add__(self, other: Any) -> Any:
        if not isinstance(other, _Pieces):
            return NotImplemented
        # Each bundle is made fresh by a piece's VJP and held only by the engine's
        # accumulator, so merging into it in place is safe (and keeps fan-in linear).
        mine = self.parts
        for i, g in other.parts.items():
            mine[i] = mine[i] + g if i in mine else g
        return self

    __radd__ = __add__


def _piece_index(axis: int, start: int, stop: int, squeeze: bool) -> tuple:
    """The index of a piece along the negative ``axis`` (batch axes in front allowed)."""
    item = start if squeeze else slice(start, stop)
    return (Ellipsis, item) + (slice(None),) * (-axis - 1)


def _hub_vjp(ans: Any, x: Any, axis: int, bounds: tuple, squeeze: bool):
    shape = shape_of(x)

    def vjp(g: Any) -> Any:
        if not isinstance(g, _Pieces):
            return g
        parts = g.parts
        some = next(iter(parts.values()))
        lead = batch_lead(some, len(shape) - (1 if squeeze else 0))
        dtype = np.result_type(*[strip(v).dtype for v in parts.values()])
        if not any(is_traced(v) for v in parts.values()):
            # Zeros of a Dask or CuPy piece's kind when there is one (assigning
            # it into a NumPy array would compute it, or copy it to the host).
            like = next((v for v in parts.values() if is_foreign(v)), None)
            if like is None:
                out = np.zeros(lead + shape, dtype=dtype)
            else:
                out = np.zeros_like(like, dtype=dtype, shape=lead + shape)
            for i, v in parts.items():
                out[_piece_index(axis, bounds[i], bounds[i + 1], squeeze)] = v
            return out
        # Higher order: the same assembly with differentiable calls.
        pieces, n = [], len(bounds) - 1
        for i in range(n):
            v = parts.get(i)
            if v is None:
                size = list(lead + shape)
                size[axis] = bounds[i + 1] - bounds[i]
                pieces.append(np.zeros(tuple(size), dtype=dtype))
            else:
                pieces.append(expand_dims(v, axis) if squeeze else v)
        return concatenate_p(*pieces, axis=axis)

    return vjp


# split_hub_p(x, axis, bounds, squeeze): x itself; its VJP assembles the pieces' cotangents.
split_hub_p = Primitive("split", lambda x, axis, bounds, squeeze: x)
split_hub_p.defvjp(_hub_vjp)
split_hub_p.defjvp(lambda t, ans, x, axis, bounds, squeeze: t)
# split_piece_p(hub, i, axis, bounds, squeeze): piece i of the hub.
split_piece_p = Primitive(
    "split_piece",
    lambda x, i, axis, bounds, squeeze: x[_piece_index(axis, bounds[i], bounds[i + 1], squeeze)],
)
split_piece_p.defvjp(
    lambda ans, x, i, axis, bounds, squeeze: lambda g: _Pieces({i: g}),
)
split_piece_p.defjvp(
    lambda t, ans, x, i, axis, bounds, squeeze: getitem(
        t, _piece_index(axis, bounds[i], bounds[i + 1], squeeze)
    )
)
allow_complex(split_hub_p, split_piece_p)


def _pieces(ary: Any, bounds: list[int], axis: int, squeeze: bool = False) -> list:
    """The slices of ``ary`` between consecutive ``bounds`` along ``axis`` (a
    non-negative axis; with ``squeeze`` each piece is one index, its axis dropped)."""
    n = shape_of(ary)[axis]
    ordered = all(0 <= a <= b <= n for a, b in zip(bounds[:-1], bounds[1:]))
    if not is_traced(ary) or not ordered:  # unordered or negative split points: slices
        return [
            getitem(ary, _along(axis, a if squeeze else slice(a, b)))
            for a, b in zip(bounds[:-1], bounds[1:])
        ]
    neg, bounds_t = axis - ndim_of(ary), tuple(bounds)
    hub = split_hub_p(ary, neg, bounds_t, squeeze)
    return [split_piece_p(hub, i, neg, bounds_t, squeeze) for i in range(len(bounds) - 1)]


@implements(np.array_split)
def array_split(ary: Any, indices_or_sections: Any, axis: int = 0) -> list:
    """Differentiable ``numpy.array_split``: a list of slices of ``ary``."""
    ary = _array(ary)
    axis = _axis(axis, ndim_of(ary))
    n = shape_of(ary)[axis]
    if np.ndim(indices_or_sections) == 0:
        sections = operator.index(indices_or_sections)
        if sections <= 0:
            raise ValueError("number sections must be larger than 0.")
        each, extra = divmod(n, sections)
        sizes = [each + 1] * extra + [each] * (sections - extra)
        bounds = [int(b) for b in np.cumsum([0] + sizes)]
    else:
        bounds = [0] + [operator.index(i) for i in indices_or_sections] + [n]
    return _pieces(ary, bounds, axis)


@implements(np.split)
def split(ary: Any, indices_or_sections: Any, axis: int = 0) -> list:
    """Differentiable ``numpy.split``: a list of slices of ``ary``."""
    if np.ndim(indices_or_sections) == 0:
        n = shape_of(ary)[_axis(axis, ndim_of(ary))]
        if n % operator.index(indices_or_sections):
            raise ValueError("array split does not result in an equal division")
    return array_split(ary, indices_or_sections, axis)


@implements(np.hsplit)
def hsplit(ary: Any, indices_or_sections: Any) -> list:
    """Differentiable ``numpy.hsplit``."""
    if ndim_of(ary) == 0:
        raise ValueError("hsplit only works on arrays of 1 or more dimensions")
    return split(ary, indices_or_sections, 1 if ndim_of(ary) > 1 else 0)


@implements(np.vsplit)
def vsplit(ary: Any, indices_or_sections: Any) -> list:
    """Differentiable ``numpy.vsplit``."""
    if ndim_of(ary) < 2:
        raise ValueError("vsplit only works on arrays of 2 or more dimensions")
    return split(ary, indices_or_sections, 0)


@implements(np.dsplit)
def dsplit(ary: Any, indices_or_sections: Any) -> list:
    """Differentiable ``numpy.dsplit``."""
    if ndim_of(ary) < 3:
        raise ValueError("dsplit only works on arrays of 3 or more dimensions")
    return split(ary, indices_or_sections, 2)


def unstack(x: Any, /, *, axis: int = 0) -> tuple:
    """Differentiable ``numpy.unstack``: the slices along ``axis``. Also how a
    traced array iterates, so it exists on NumPy 2.0, which has no unstack."""
    x = _array(x)
    axis = _axis(axis, ndim_of(x))
    return tuple(_pieces(x, list(range(shape_of(x)[axis] + 1)), axis, squeeze=True))


if hasattr(np, "unstack"):  # NumPy 2.1
    implements(np.unstack)(unstack)


# --- tile and repeat: broadcast and reshape, or gather ---------------------------------
@implements(np.tile)
def tile(A: Any, reps: Any) -> Any:
    """Differentiable ``numpy.tile``; the cotangent sums over the copies."""
    A = _array(A)
    reps = (operator.index(reps),) if np.ndim(reps) == 0 else tuple(map(operator.index, reps))
    shape = shape_of(A)
    d = max(len(shape), len(reps))
    shape, reps = (1,) * (d - len(shape)) + shape, (1,) * (d - len(reps)) + reps
    if any(r < 0 for r in reps):
        raise ValueError("negative dimensions are not allowed")
    # Copy k of element j along an axis of size s lands at k * s + j.
    pairs = tuple(x for s in shape for x in (1, s))
    copies = tuple(x for r, s in zip(reps, shape) for x in (r, s))
    A = reshape(A, pairs)
    if copies != pairs:
        A = broadcast_to(A, copies)
    return reshape(A, tuple(r * s for r, s in zip(reps, shape)))


@implements(np.repeat)
def repeat(a: Any, repeats: Any, axis: Any = None) -> Any:
    """Differentiable ``numpy.repeat``; the cotangent sums over the repeats."""
    a = _array(a)
    if axis is None:
        a, axis = ravel(a), 0
    axis = _axis(axis, ndim_of(a))
    shape = shape_of(a)
    repeats = as_array(strip_tree(repeats))
    if repeats.ndim == 0 or repeats.shape == (1,):
        r = operator.index(repeats.reshape(()).item())
        if r < 0:
            raise ValueError("repeats may not contain negative values.")
        # Element j, copy k lands at j * r + k: a new axis after ``axis``.
        a = broadcast_to(
            reshape(a, shape[: axis + 1] + (1,) + shape[axis + 1 :]),
            shape[: axis + 1] + (r,) + shape[axis + 1 :],
        )
        return reshape(a, shape[:axis] + (shape[axis] * r,) + shape[axis + 1 :])
    return getitem(a, _along(axis, recorded(np.repeat, np.arange(shape[axis]), repeats)))


# --- flip, roll, rot90 ----------------------------------------------------------------
@implements(np.flip)
def flip(m: Any, axis: Any = None) -> Any:
    """Differentiable ``numpy.flip``: a reversed slice on each axis."""
    m = _array(m)
    axes = _axes(axis, ndim_of(m))
    if not axes:
        return m
    return getitem(
        m, tuple(slice(None, None, -1) if i in axes else slice(None) for i in range(ndim_of(m)))
    )


@implements(np.fliplr)
def fliplr(m: Any) -> Any:
    """Differentiable ``numpy.fliplr``."""
    if ndim_of(m) < 2:
        raise ValueError("Input must be >= 2-d.")
    return flip(m, 1)


@implements(np.flipud)
def flipud(m: Any) -> Any:
    """Differentiable ``numpy.flipud``."""
    if ndim_of(m) < 1:
        raise ValueError("Input must be >= 1-d.")
    return flip(m, 0)


@implements(np.roll)
def roll(a: Any, shift: Any, axis: Any = None) -> Any:
    """Differentiable ``numpy.roll``: two slices joined the other way round."""
    a = _array(a)
    if axis is None:
        return reshape(roll(ravel(a), shift, 0), shape_of(a))
    sv, av = as_array(strip_tree(shift)), np.asarray(axis)
    pairs: Any = np.broadcast(sv, av)
    if pairs.ndim > 1:
        raise ValueError("'shift' and 'axis' should be scalars or 1D sequences")
    if type(sv) is Watched:  # computed from a value staged by cr.jit: read through guards
        pairs = zip(
            np.broadcast_to(sv, pairs.shape).reshape(-1),
            np.broadcast_to(av, pairs.shape).reshape(-1),
        )
    shifts: dict[int, int] = {}
    for s, ax in pairs:
        ax = _axis(ax, ndim_of(a))
        shifts[ax] = shifts.get(ax, 0) + operator.index(s)
    for ax, s in shifts.items():
        n = shape_of(a)[ax]
        if n and s % n:
            k = n - s % n  # the element at k comes first
            a = concatenate(
                [getitem(a, _along(ax, slice(k, None))), getitem(a, _along(ax, slice(None, k)))],
                axis=ax,
            )
    return a


@implements(np.rot90)
def rot90(m: Any, k: int = 1, axes: Any = (0, 1)) -> Any:
    """Differentiable ``numpy.rot90``: flips and a transpose."""
    m = _array(m)
    n = ndim_of(m)
    axes = tuple(axes)
    if len(axes) != 2:
        raise ValueError("len(axes) must be 2.")
    if axes[0] == axes[1] or abs(axes[0] - axes[1]) == n:
        raise ValueError("Axes must be different.")
    if not all(-n <= ax < n for ax in axes):
        raise ValueError(f"Axes={axes} out of range for array of ndim={n}.")
    a0, a1 = axes[0] % n, axes[1] % n
    k = operator.index(k) % 4
    if k == 0:
        return m
    if k == 2:
        return flip(m, (a0, a1))
    perm = list(range(n))
    perm[a0], perm[a1] = a1, a0
    # A quarter turn from a0 towards a1 reverses a1, then swaps the two.
    return transpose(flip(m, a1), perm) if k == 1 else flip(transpose(m, perm), a1)


# --- pad ------------------------------------------------------------------------------
def _pairs(values: Any, ndim: int) -> Any:
    """Per-axis ``(before, after)`` values, as NumPy broadcasts them; traced
    values stay traced. Returns ``(axis, side) -> value``."""
    v = _tree_array(values)
    if is_traced(v):
        v = broadcast_to(v, (ndim, 2))
        return lambda ax, side: getitem(v, (ax, side))
    v = np.broadcast_to(v, (ndim, 2))
    return lambda ax, side: v[ax, side]


def _fill(value: Any, shape: tuple, dtype: np.dtype) -> Any:
    """A block of ``shape`` filled with ``value``, in the array's dtype."""
    if not is_traced(value):
        return np.full(shape, value, dtype=dtype)
    if dtype.kind in "fc" and value.dtype != dtype:
        value = astype(value, dtype)
    return broadcast_to(value, shape)


def _with_size(shape: tuple, axis: int, size: int) -> tuple:
    return shape[:axis] + (size,) + shape[axis + 1 :]


def _pad_constant(arr: Any, widths: np.ndarray, values: Any) -> Any:
    value = _pairs(values, len(widths))
    dtype = np.dtype(arr.dtype)
    for ax, (b, e) in enumerate(widths):
        parts = [_fill(value(ax, 0), _with_size(shape_of(arr), ax, b), dtype)] if b else []
        parts.append(arr)
        if e:
            parts.append(_fill(value(ax, 1), _with_size(shape_of(arr), ax, e), dtype))
        if len(parts) > 1:
            arr = concatenate(parts, axis=ax)
    return arr


def _pad_copies(arr: Any, widths: np.ndarray, mode: str, reflect_type: str) -> Any:
    """edge, wrap, reflect, symmetric: NumPy pads an index vector to say which
    element each new position copies. With ``reflect_type="odd"`` the new
    values are integer combinations of old ones; NumPy pads the identity
    matrix to give that linear map."""
    for ax, (b, e) in enumerate(widths):
        if not (b or e):
            continue
        n = shape_of(arr)[ax]
        if reflect_type == "odd":
            lanes = np.pad(np.eye(n), ((b, e), (0, 0)), mode, reflect_type="odd")  # type: ignore[call-overload]
            moved = swapaxes(arr, ax, -1) @ lanes.T
            if np.dtype(arr.dtype).kind in "fc" and moved.dtype != arr.dtype:
                moved = astype(moved, arr.dtype)
            arr = swapaxes(moved, ax, -1)
        else:
            copies = np.pad(np.arange(n), (b, e), mode)  # type: ignore[call-overload]
            arr = getitem(arr, _along(ax, copies))
    return arr


_STATS = {"mean": np.mean, "maximum": np.max, "minimum": np.min, "median": np.median}


def _pad_stat(arr: Any, widths: np.ndarray, stat: Any, stat_length: Any) -> Any:
    """Each side is filled with ``stat`` of the ``stat_length`` elements nearest it."""
    if stat_length is None:
        lengths = np.full(widths.shape, np.iinfo(np.intp).max)
    else:  # rounded, as NumPy does
        lengths = np.broadcast_to(np.round(np.asarray(stat_length)).astype(np.intp), widths.shape)
    for ax, (b, e) in enumerate(widths):
        if not (b or e):
            continue
        n = shape_of(arr)[ax]
        lb, le = (min(int(s), n) for s in lengths[ax])
        parts = []
        if b:
            near = stat(getitem(arr, _along(ax, slice(None, lb))), axis=ax, keepdims=True)
            parts.append(broadcast_to(near, _with_size(shape_of(arr), ax, b)))
        parts.append(arr)
        if e:
            near = stat(getitem(arr, _along(ax, slice(n - le, None))), axis=ax, keepdims=True)
            parts.append(broadcast_to(near, _with_size(shape_of(arr), ax, e)))
        arr = concatenate(parts, axis=ax)
    return arr


def _pad_ramp(arr: Any, widths: np.ndarray, end_values: Any) -> Any:
    """Linear ramps from the end value (outermost) towards the edge value."""
    end = _pairs(end_values, len(widths))
    ndim = len(widths)
    for ax, (b, e) in enumerate(widths):
        if not (b or e):
            continue
        n = shape_of(arr)[ax]
        tail = (1,) * (ndim - ax - 1)
        parts = []
        if b:
            edge = getitem(arr, _along(ax, slice(None, 1)))
            w = np.reshape(np.arange(b) / b, (b,) + tail)
            parts.append(end(ax, 0) + (edge - end(ax, 0)) * w)
        parts.append(arr)
        if e:
            edge = getitem(arr, _along(ax, slice(n - 1, None)))
            w = np.reshape(np.arange(e)[::-1] / e, (e,) + tail)
            parts.append(end(ax, 1) + (edge - end(ax, 1)) * w)
        dtype = np.dtype(arr.dtype)
        if dtype.kind in "fc":
            parts = [p if np.dtype(p.dtype) == dtype else astype(p, dtype) for p in parts]
        arr = concatenate(parts, axis=ax)
    return arr


@implements(np.pad)
def pad(array: Any, pad_width: Any, mode: Any = "constant", **kwargs: Any) -> Any:
    """Differentiable ``numpy.pad``.

    Modes ``constant`` (``constant_values`` may be traced, and is then
    differentiated too), ``edge``, ``wrap``, ``reflect`` and ``symmetric``
    (either ``reflect_type``), ``linear_ramp`` (``end_values`` may be
    traced), ``mean``, ``maximum``, ``minimum``, ``median`` (with
    ``stat_length``; the derivative of maximum/minimum at ties is split
    evenly, as for ``max``) and ``empty`` (whose padding is zeros here). A
    function as ``mode`` has no rule.
    """
    array = _array(array)
    if callable(mode):
        raise no_rule_error("numpy.pad", "a function as mode")
    # NumPy checks every argument and raises its own errors, on a stand-in.
    shape = shape_of(array)
    np.pad(np.zeros(shape), pad_width, mode, **strip_tree(kwargs))
    widths = np.broadcast_to(np.asarray(pad_width), (len(shape), 2)).astype(int)
    if mode in ("constant", "empty"):
        return _pad_constant(array, widths, kwargs.get("constant_values", 0))
    if mode in ("edge", "wrap", "reflect", "symmetric"):
        return _pad_copies(array, widths, mode, kwargs.get("reflect_type", "even"))
    if mode in _STATS:
        return _pad_stat(array, widths, _STATS[mode], kwargs.get("stat_length"))
    if mode == "linear_ramp":
        return _pad_ramp(array, widths, kwargs.get("end_values", 0))
    raise no_rule_error("numpy.pad", f"mode {mode!r}")  # pragma: no cover - NumPy refused it


# --- diagonals and triangles ------------------------------------------------------------
def _diag_positions(n1: int, n2: int, offset: int) -> tuple[np.ndarray, np.ndarray]:
    """Row and column indices of diagonal ``offset`` of an ``n1 x n2`` matrix."""
    r0, c0 = max(-offset, 0), max(offset, 0)
    length = max(0, min(n1 - r0, n2 - c0))
    i = np.arange(length)
    return i + r0, i + c0


@implements(np.diagonal)
def diagonal(a: Any, offset: int = 0, axis1: int = 0, axis2: int = 1) -> Any:
    """Differentiable ``numpy.diagonal``: the diagonal becomes the last axis."""
    a = _array(a)
    n = ndim_of(a)
    if n < 2:
        raise ValueError("diag requires an array of at least two dimensions")
    ax1, ax2 = _axis(axis1, n), _axis(axis2, n)
    if ax1 == ax2:
        raise ValueError("axis1 and axis2 cannot be the same")
    rest = [i for i in range(n) if i not in (ax1, ax2)]
    a = transpose(a, rest + [ax1, ax2])
    rows, cols = _diag_positions(shape_of(a)[-2], shape_of(a)[-1], operator.index(offset))
    return _gather(a, (Ellipsis, rows, cols))


@implements(np.diag)
def diag(v: Any, k: int = 0) -> Any:
    """Differentiable ``numpy.diag``: a 1-d ``v`` becomes the ``k``-th diagonal
    of a square matrix; a 2-d ``v`` gives its ``k``-th diagonal."""
    v = _array(v)
    k = operator.index(k)
    if ndim_of(v) == 2:
        return diagonal(v, k)
    if ndim_of(v) != 1:
        raise ValueError("Input must be 1- or 2-d.")
    size = shape_of(v)[0] + abs(k)
    rows, cols = _diag_positions(size, size, k)
    return untake_p(v, (rows, cols), (size, size), 1, False)


@implements(np.diagflat)
def diagflat(v: Any, k: int = 0) -> Any:
    """Differentiable ``numpy.diagflat``."""
    return diag(ravel(_array(v)), k)


@implements(np.trace)
def trace(
    a: Any, offset: int = 0, axis1: int = 0, axis2: int = 1, dtype: Any = None, out: Any = None
) -> Any:
    """Differentiable ``numpy.trace``: the sum of a diagonal."""
    _refuse_out("trace", out)
    return np.sum(diagonal(a, offset, axis1, axis2), axis=-1, dtype=dtype)


def _triangle(m: Any, mask: np.ndarray) -> Any:
    return where(mask, m, np.zeros((), dtype=m.dtype))


@implements(np.tril)
def tril(m: Any, k: int = 0) -> Any:
    """Differentiable ``numpy.tril`` (on the last two axes)."""
    m = _array(m)
    return _triangle(m, np.tri(*shape_of(m)[-2:], k=k, dtype=bool))  # type: ignore[call-overload]


@implements(np.triu)
def triu(m: Any, k: int = 0) -> Any:
    """Differentiable ``numpy.triu`` (on the last two axes)."""
    m = _array(m)
    return _triangle(m, ~np.tri(*shape_of(m)[-2:], k=k - 1, dtype=bool))  # type: ignore[call-overload]


# --- take, choose, select ---------------------------------------------------------------
def _apply_mode(indices: np.ndarray, n: int, mode: str, error: Any) -> np.ndarray:
    if mode == "raise":
        return indices
    if mode not in ("wrap", "clip"):
        raise ValueError(f"clipmode must be one of 'clip', 'raise', or 'wrap' (got {mode!r})")
    if n == 0 and indices.size:
        raise error
    return indices % n if mode == "wrap" else np.clip(indices, 0, n - 1)


@implements(np.take)
def take(a: Any, indices: Any, axis: Any = None, out: Any = None, mode: str = "raise") -> Any:
    """Differentiable ``numpy.take``; repeated indices add up in the cotangent."""
    _refuse_out("take", out)
    a = _array(a)
    if axis is None:
        a, axis = ravel(a), 0
    axis = _axis(axis, ndim_of(a))
    indices = _int_array(indices, "indices", TypeError)
    err = IndexError("cannot do a non-empty take from an empty axes.")
    indices = _apply_mode(indices, shape_of(a)[axis], mode, err)
    return getitem(a, _along(axis, indices))


def _along_axis_index(shape: tuple, indices: np.ndarray, axis: int) -> tuple:
    """Fancy index picking ``indices`` along ``axis`` and the matching position
    on every other axis."""
    n = len(shape)
    grid = [np.arange(s).reshape((1,) * i + (s,) + (1,) * (n - i - 1)) for i, s in enumerate(shape)]
    grid[axis] = indices
    return tuple(grid)


@implements(np.take_along_axis)
def take_along_axis(arr: Any, indices: Any, axis: Any = -1) -> Any:
    """Differentiable ``numpy.take_along_axis``; repeats add up in the cotangent."""
    arr = _array(arr)
    marked = strip_tree(indices)
    if type(marked) is Batched and marked.dtype.kind in "iu":
        indices = marked  # carries cr.vmap's batch (np.argsort of a batched value): keep it
    else:
        indices = _int_array(indices, "`indices`")
    if axis is None:
        if indices.ndim != 1:
            raise ValueError("when axis=None, `indices` must have a single dimension.")
        arr, axis = ravel(arr), 0
    if indices.ndim != ndim_of(arr):
        raise ValueError("`indices` and `arr` must have the same number of dimensions")
    return getitem(arr, _along_axis_index(shape_of(arr), indices, _axis(axis, ndim_of(arr))))


@implements(np.choose)
def choose(a: Any, choices: Any, out: Any = None, mode: str = "raise") -> Any:
    """Differentiable ``numpy.choose`` (in ``choices``; ``a`` is an index array)."""
    _refuse_out("choose", out)
    a = _int_array(a, "the index array of choose", TypeError)
    if hasattr(choices, "shape"):
        choices = _array(choices)
        n, each = shape_of(choices)[0], [shape_of(choices)[1:]]
    else:
        choices = [_array(c) for c in choices]
        n, each = len(choices), [shape_of(c) for c in choices]
    if mode == "raise" and (np.any(a < 0) or np.any(a >= n)):
        raise ValueError("invalid entry in choice array")
    a = _apply_mode(a, n, mode, ValueError("invalid entry in choice array"))
    shape = np.broadcast_shapes(a.shape, *each)
    if isinstance(choices, list):
        stacked = stack([broadcast_to(c, shape) for c in choices])
    else:
        stacked = broadcast_to(choices, (n,) + shape)
    positions = tuple(np.indices(shape, sparse=True)) if shape else ()
    return _gather(stacked, (np.broadcast_to(a, shape),) + positions)


@implements(np.select)
def select(condlist: Any, choicelist: Any, default: Any = 0) -> Any:
    """Differentiable ``numpy.select``: each element comes from the first
    choice whose condition holds (else from ``default``), and so does its
    derivative."""
    conds = [as_array(strip(c)) for c in condlist]
    choices = [_array(c) for c in choicelist]
    if len(conds) != len(choices):
        raise ValueError("list of cases must be same length as list of conditions")
    if not conds:
        raise ValueError("select with an empty condition list is not possible")
    for i, c in enumerate(conds):
        if c.dtype != bool:
            raise TypeError(f"invalid entry {i} in condlist: should be boolean ndarray")
    result = _array(default)
    for cond, choice in zip(reversed(conds), reversed(choices)):
        result = where(cond, choice, result)
    shape = np.broadcast_shapes(
        *[c.shape for c in conds], *[shape_of(c) for c in choices], shape_of(default)
    )
    return broadcast_to(result, shape)


# --- sort -------------------------------------------------------------------------------
@implements(np.sort)
def sort(a: Any, axis: Any = -1, kind: Any = None, order: Any = None, *, stable: Any = None) -> Any:
    """Differentiable ``numpy.sort`` (of the values; the order is locally
    constant). The derivative follows the permutation that sorts the values;
    among tied values that is the stable order (ties keep their original
    order), one of the one-sided derivatives there."""
    if not is_traced(a):
        extra = {} if stable is None else {"stable": stable}
        return np.sort(np.asarray(a), axis=axis, kind=kind, order=order, **extra)
    if order is not None:
        raise no_rule_error("numpy.sort", "order= (structured arrays)")
    if axis is None:
        a, axis = ravel(a), 0
    axis = _axis(axis, ndim_of(a))
    perm = np.argsort(strip(a), axis=axis, kind="stable")
    return _gather(a, _along_axis_index(shape_of(a), perm, axis))
