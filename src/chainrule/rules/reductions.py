"""Reductions and scans: sum, mean, max, min, prod, ptp, cumsum, cumprod and
their NaN-ignoring versions.

Axes reach the primitives as sorted tuples of negative integers, so the same
rule serves a batch of cotangents stacked on leading axes.

Conventions at non-differentiable points:

* ``max``/``min`` (and ``nanmax``/``nanmin``, ``ptp``): when several elements
  tie for the extreme, the derivative is split evenly among them.
* ``prod``/``cumprod``: exact at zeros. The derivative of a product with
  respect to one factor is the product of the *other* factors, computed
  without dividing (exclusive prefix and suffix products), so exact zeros need
  no special case and higher derivatives stay exact too.
* ``nan*`` reductions: elements that are NaN get derivative 0; a slice that is
  all NaN gives the value NumPy gives and passes no derivative on.
"""

from __future__ import annotations

import builtins
import functools
import math
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np

from .._backends import is_foreign
from ..core.batching import Batched
from ..core.primitive import Primitive
from ..core.registry import implements
from ..core.trace import is_traced, strip
from ..errors import conversion_error, no_rule_error
from ._util import (
    allow_complex,
    as_array,
    batch_lead,
    keepdims_shape,
    ndim_of,
    normalize_axes,
    shape_of,
)
from .shape import astype, getitem, ravel, reshape, transpose, where


def _spread(g: Any, ans_ndim: int, kshape: tuple, shape: tuple, like: Any = None) -> Any:
    """Broadcast the cotangent of a reduction back over the reduced axes: a
    read-only view, except for small arrays, where a copy is cheaper to make
    than numpy.broadcast_to's view. ``like``: the reduced value when it is a
    Dask or CuPy array, whose kind (and chunks) a NumPy cotangent then takes."""
    lead = batch_lead(g, ans_ndim)
    g = g.reshape(lead + kshape)
    full = lead + shape
    if like is not None and not is_foreign(strip(g)):
        # A NumPy broadcast view meeting a Dask array would be copied into its
        # graph at full size (hundreds of MB); zeros of like's kind plus the
        # small g stay lazy, chunked as the value is.
        zeros = np.zeros_like(like, dtype=strip(g).dtype, shape=None if not lead else full)
        return zeros + g
    if type(g) is np.ndarray and math.prod(full) <= _COPY_BELOW:
        out = np.empty(full, g.dtype)
        out[...] = g
        return out
    return np.broadcast_to(g, full)


_COPY_BELOW = 4096


def _foreign_value(x: Any) -> Any:
    """``x``'s plain value if it is a Dask or CuPy array, else None."""
    v = strip(x)
    return v if type(v) is not np.ndarray and is_foreign(v) else None


def _check_plain_kwargs(name: str, out: Any, extra: dict) -> None:
    if out is None and not extra:
        return
    if out is not None:
        raise conversion_error(f"Writing the result of numpy.{name} into out=")
    unsupported = sorted(k for k, v in extra.items() if v is not np._NoValue)
    if unsupported:
        raise no_rule_error(f"numpy.{name}", f"arguments {unsupported}")


def plain_falls_through(numpy_fn: Any) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Decorate a composite rule so that, when no argument is traced, NumPy's own
    ``numpy_fn`` runs instead: plain inputs get exactly NumPy's behaviour."""

    def wrap(fn: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(fn)
        def run(*args: Any, **kwargs: Any) -> Any:
            if any(is_traced(v) for v in args) or any(is_traced(v) for v in kwargs.values()):
                return fn(*args, **kwargs)
            return numpy_fn(*args, **kwargs)

        return run

    return wrap


def keepdims_flag(keepdims: Any) -> bool:
    """NumPy's ``keepdims`` default is sometimes the ``_NoValue`` sentinel."""
    return False if keepdims is np._NoValue else bool(keepdims)


def count_of(shape: tuple, axes: tuple) -> int:
    n = len(shape)
    return math.prod(shape[a + n] for a in axes)


def abs_squared(x: Any) -> Any:
    """``|x| ** 2`` elementwise; real inputs need only ``x * x``."""
    if np.iscomplexobj(strip(x)):
        return np.real(np.conjugate(x) * x)
    return x * x


def sqrt_zero_grad(v: Any) -> Any:
    """``sqrt(v)`` for ``v >= 0`` whose derivative at ``v == 0`` is 0 instead of
    ``inf``: the convention for ``std`` at zero variance and for norms at the
    zero vector (never ``0 * inf``). NaN and ``inf`` pass through as in NumPy."""
    zero = strip(v) == 0
    if not is_foreign(zero) and not np.any(zero):  # asked of NumPy values only (no compute)
        return np.sqrt(v)
    return where(zero, np.zeros((), dtype=strip(v).dtype), np.sqrt(where(zero, 1.0, v)))


# --- sum and mean ---------------------------------------------------------------
def _sum(x: Any, axes: tuple, keepdims: bool) -> Any:
    # The method skips numpy.sum's Python wrapper; the result is the same.
    if type(x) is np.ndarray:
        return x.sum(axis=axes, keepdims=keepdims)
    return np.sum(x, axis=axes, keepdims=keepdims)


sum_p = Primitive("sum", _sum)


def _sum_vjp(ans: Any, x: Any, axes: tuple, keepdims: bool) -> Any:
    n, k, s = ndim_of(ans), keepdims_shape(shape_of(x), axes), shape_of(x)
    like = _foreign_value(x)
    return lambda g: _spread(g, n, k, s, like)


sum_p.defvjp(_sum_vjp)
sum_p.defjvp(lambda t, ans, x, axes, keepdims: np.sum(t, axis=axes, keepdims=keepdims))


@implements(np.sum)
def sum(
    a: Any,
    axis: Any = None,
    dtype: Any = None,
    out: Any = None,
    keepdims: bool = False,
    **extra: Any,
) -> Any:
    """Differentiable ``numpy.sum``.

    >>> import chainrule as cr, chainrule.numpy as cnp, numpy as np
    >>> cr.grad(lambda x: cnp.sum(x * x))(np.array([1.0, 2.0]))
    array([2., 4.])
    """
    _check_plain_kwargs("sum", out, extra)
    if dtype is not None:
        a = astype(a, dtype)
    return sum_p(a, normalize_axes(axis, ndim_of(a)), keepdims_flag(keepdims))


@implements(np.mean)
def mean(
    a: Any,
    axis: Any = None,
    dtype: Any = None,
    out: Any = None,
    keepdims: bool = False,
    **extra: Any,
) -> Any:
    """Differentiable ``numpy.mean``."""
    _check_plain_kwargs("mean", out, extra)
    shape = shape_of(a)
    axes = normalize_axes(axis, len(shape))
    if dtype is None:  # the usual call: straight to the primitive
        total = sum_p(a, axes, keepdims_flag(keepdims))
    else:
        total = sum(a, axes, dtype=dtype, keepdims=keepdims)
    if strip(total).dtype.kind not in "fc":
        total = astype(total, np.float64)
    return total / count_of(shape, axes)


# --- max and min: the cotangent goes to the winners, split evenly among ties ---
def _keep_batch(v: Any) -> Any:
    """``as_array(v)``, except that a value carrying cr.vmap's batch (a
    ``Batched`` mark) stays marked: the tie shares of a batched ``x`` are then
    computed per example by the mark's own NumPy protocol."""
    return v if type(v) is Batched else as_array(v)


def _extreme(name: str, numpy_fn: Any, skip_nan: bool = False) -> tuple[Primitive, Any]:
    method = None if skip_nan else name  # ndarray.max / .min skip numpy.max's Python wrapper

    def impl(x: Any, axes: tuple, keepdims: bool) -> Any:
        if method is not None and type(x) is np.ndarray:
            return getattr(x, method)(axis=axes, keepdims=keepdims)
        return numpy_fn(x, axis=axes, keepdims=keepdims)

    prim = Primitive(name, impl)

    def share(ans: Any, x: Any, axes: tuple, kshape: tuple) -> Any:
        """1/k at each of the k elements equal to the extreme, 0 elsewhere
        (NaN never equals the extreme, so with ``skip_nan`` NaNs get 0, and an
        all-NaN slice passes nothing on)."""
        xv, av = _keep_batch(strip(x)), _keep_batch(strip(ans))
        hits = xv == av.reshape(kshape)
        count = hits.sum(axis=axes, keepdims=True)
        return hits / (np.maximum(count, 1) if skip_nan else count)

    def vjp(ans: Any, x: Any, axes: tuple, keepdims: bool) -> Any:
        k = keepdims_shape(shape_of(x), axes)
        w, n = share(ans, x, axes, k), ndim_of(ans)
        # g with the reduced axes kept broadcasts against w: no _spread needed.
        return lambda g: g.reshape(batch_lead(g, n) + k) * w

    def jvp(t: Any, ans: Any, x: Any, axes: tuple, keepdims: bool) -> Any:
        w = share(ans, x, axes, keepdims_shape(shape_of(x), axes))
        return np.sum(t * w, axis=axes, keepdims=keepdims)

    prim.defvjp(vjp).defjvp(jvp)

    def reduce(a: Any, axis: Any = None, out: Any = None, keepdims: bool = False, **extra: Any):
        _check_plain_kwargs(name, out, extra)
        return prim(a, normalize_axes(axis, ndim_of(a)), keepdims_flag(keepdims))

    reduce.__name__ = name
    reduce.__doc__ = (
        f"Differentiable ``numpy.{name}``. The derivative goes to the element(s) that are the "
        f"{name.removeprefix('nan')}; when several tie, it is split evenly among them."
        + (" NaNs are ignored and get derivative 0." if skip_nan else "")
    )
    return prim, reduce


max_p, max = _extreme("max", np.max)
min_p, min = _extreme("min", np.min)
implements(np.max, np.amax)(max)
implements(np.min, np.amin)(min)
nanmax_p, nanmax = _extreme("nanmax", np.nanmax, skip_nan=True)
nanmin_p, nanmin = _extreme("nanmin", np.nanmin, skip_nan=True)
implements(np.nanmax)(nanmax)
implements(np.nanmin)(nanmin)


@implements(np.ptp)
@plain_falls_through(np.ptp)
def ptp(a: Any, axis: Any = None, out: Any = None, keepdims: Any = False) -> Any:
    """Differentiable ``numpy.ptp``: ``max - min``, ties split evenly as for those."""
    _check_plain_kwargs("ptp", out, {})
    return max(a, axis, keepdims=keepdims) - min(a, axis, keepdims=keepdims)


# --- shifting along the last axis (the building block of exact scans) ---------
def _shift_impl(x: Any, k: int, fill: float) -> Any:
    """``out[..., i] = x[..., i - k]`` where that exists, ``fill`` elsewhere."""
    n = x.shape[-1]
    out = np.full(x.shape, fill, dtype=x.dtype)
    if k >= 0:
        out[..., k:] = x[..., : builtins.max(n - k, 0)]
    else:
        out[..., : builtins.max(n + k, 0)] = x[..., -k:]
    return out


# shift_p(x, k, fill) moves the last axis by k places; it is affine, so its
# VJP moves the cotangent back (filling with 0) and its JVP moves the tangent.
shift_p = Primitive("shift", _shift_impl)
shift_p.defvjp(lambda ans, x, k, fill: lambda g: shift_p(g, -k, 0.0))
shift_p.defjvp(lambda t, ans, x, k, fill: shift_p(t, k, 0.0))


def _flip_last(y: Any) -> Any:
    return getitem(y, (Ellipsis, slice(None, None, -1)))


def _cumprod_last(y: Any) -> Any:
    """Inclusive product scan along the last axis, with multiplications only
    (Hillis-Steele: log2(n) steps), so that it is exact at zeros and its own
    derivatives are exact too. Plain values take NumPy's ``cumprod``."""
    if not is_traced(y):
        return np.cumprod(y, axis=-1)
    k, n = 1, y.shape[-1]
    while k < n:
        y = y * shift_p(y, k, 1.0)
        k *= 2
    return y


def axes_last(x: Any, axes: tuple) -> tuple[Any, tuple, tuple]:
    """Move the (negative) ``axes`` of ``x`` to the end and flatten them into
    one: -> (array of shape ``kept + (n,)``, the permutation, the moved shape)."""
    nd = ndim_of(x)
    perm = tuple(i for i in range(nd) if i - nd not in axes) + tuple(a + nd for a in axes)
    y = transpose(x, perm)
    moved = shape_of(y)
    kept = moved[: nd - len(axes)]
    return reshape(y, kept + (count_of(shape_of(x), axes),)), perm, moved


def axes_back(y: Any, perm: tuple, moved: tuple) -> Any:
    """Undo ``axes_last`` on an array of the same size."""
    return transpose(reshape(y, moved), tuple(int(i) for i in np.argsort(perm)))


def others_product(x: Any, axes: tuple) -> Any:
    """For each element, the product of the other elements reduced with it:
    ``d prod(x) / d x_i``, exact when elements are 0 (no division)."""
    y, perm, moved = axes_last(x, axes)
    left = shift_p(_cumprod_last(y), 1, 1.0)
    right = _flip_last(shift_p(_cumprod_last(_flip_last(y)), 1, 1.0))
    return axes_back(left * right, perm, moved)


# --- prod ---------------------------------------------------------------------
prod_p = Primitive("prod", lambda x, axes, keepdims: np.prod(x, axis=axes, keepdims=keepdims))


def _prod_vjp(ans: Any, x: Any, axes: tuple, keepdims: bool) -> Any:
    w, n, s = others_product(x, axes), ndim_of(ans), shape_of(x)
    k = keepdims_shape(s, axes)
    return lambda g: _spread(g, n, k, s) * w


prod_p.defvjp(_prod_vjp)
prod_p.defjvp(
    lambda t, ans, x, axes, keepdims: np.sum(
        t * others_product(x, axes), axis=axes, keepdims=keepdims
    )
)


@implements(np.prod)
def prod(
    a: Any,
    axis: Any = None,
    dtype: Any = None,
    out: Any = None,
    keepdims: bool = False,
    **extra: Any,
) -> Any:
    """Differentiable ``numpy.prod``. The derivative with respect to each factor
    is the product of the others, computed without division: exact at zeros
    (with one zero, only that factor's derivative is nonzero; with two or more,
    all are 0), and so are the higher derivatives.

    >>> import chainrule as cr, numpy as np
    >>> cr.grad(np.prod)(np.array([2.0, 0.0, 3.0]))
    array([0., 6., 0.])
    """
    _check_plain_kwargs("prod", out, extra)
    if dtype is not None:
        a = astype(a, dtype)
    return prod_p(a, normalize_axes(axis, ndim_of(a)), keepdims_flag(keepdims))


# --- cumulative sum and product -------------------------------------------------
def _cumsum_impl(x: Any, axis: int, reverse: bool) -> Any:
    if reverse:
        return np.flip(np.cumsum(np.flip(x, axis), axis), axis)
    return np.cumsum(x, axis)


# cumsum_p(x, axis, reverse): running sums from the start (or from the end);
# the VJP of one direction is the other direction.
cumsum_p = Primitive("cumsum", _cumsum_impl)
cumsum_p.defvjp(lambda ans, x, axis, reverse: lambda g: cumsum_p(g, axis, not reverse))
cumsum_p.defjvp(lambda t, ans, x, axis, reverse: cumsum_p(t, axis, reverse))

# Sums, shifts and products are complex-linear or holomorphic: their rules
# need no change for complex values (docs/design.md, "Complex numbers").
allow_complex(sum_p, shift_p, prod_p, cumsum_p)


def _scan_setup(name: str, a: Any, axis: Any, dtype: Any, out: Any) -> tuple[Any, int]:
    """Common argument handling of ``cumsum``/``cumprod``: -> (array, negative axis)."""
    if out is not None:
        raise conversion_error(f"Writing the result of numpy.{name} into out=")
    if dtype is not None:
        a = astype(a, dtype)
    if axis is None or ndim_of(a) == 0:
        if axis is not None:
            normalize_axes(axis, 1)  # a 0-d array scans as a 1-d one
        return ravel(a), -1
    (ax,) = normalize_axes(axis, ndim_of(a))
    return a, ax


@implements(np.cumsum)
def cumsum(a: Any, axis: Any = None, dtype: Any = None, out: Any = None) -> Any:
    """Differentiable ``numpy.cumsum`` (``axis=None`` scans the flattened array)."""
    a, ax = _scan_setup("cumsum", a, axis, dtype, out)
    return cumsum_p(a, ax, False)


@implements(np.cumprod)
@plain_falls_through(np.cumprod)
def cumprod(a: Any, axis: Any = None, dtype: Any = None, out: Any = None) -> Any:
    """Differentiable ``numpy.cumprod`` (``axis=None`` scans the flattened array).

    Exact at zeros, to every order: on traced values the scan is built from
    multiplications alone (log2(n) steps), so its value may differ from
    NumPy's in the last bits of rounding.

    >>> import chainrule as cr, numpy as np
    >>> cr.jacrev(np.cumprod)(np.array([2.0, 0.0, 3.0]))
    array([[1., 0., 0.],
           [0., 2., 0.],
           [0., 6., 0.]])
    """
    a, ax = _scan_setup("cumprod", a, axis, dtype, out)
    if ax == -1:
        return _cumprod_last(a)
    return np.swapaxes(_cumprod_last(np.swapaxes(a, ax, -1)), ax, -1)


# --- NaN-ignoring versions ----------------------------------------------------
def _nan_to(a: Any, fill: float) -> Any:
    """``a`` with NaNs replaced by ``fill`` (which has no derivative)."""
    nans = np.isnan(strip(a))
    return where(nans, fill, a) if np.any(nans) else a


@implements(np.nansum)
@plain_falls_through(np.nansum)
def nansum(
    a: Any,
    axis: Any = None,
    dtype: Any = None,
    out: Any = None,
    keepdims: Any = False,
    **extra: Any,
) -> Any:
    """Differentiable ``numpy.nansum``: NaNs count as 0 and get derivative 0."""
    _check_plain_kwargs("nansum", out, extra)
    return sum(_nan_to(a, 0.0), axis, dtype=dtype, keepdims=keepdims)


@implements(np.nanprod)
@plain_falls_through(np.nanprod)
def nanprod(
    a: Any,
    axis: Any = None,
    dtype: Any = None,
    out: Any = None,
    keepdims: Any = False,
    **extra: Any,
) -> Any:
    """Differentiable ``numpy.nanprod``: NaNs count as 1 and get derivative 0."""
    _check_plain_kwargs("nanprod", out, extra)
    return prod(_nan_to(a, 1.0), axis, dtype=dtype, keepdims=keepdims)


@implements(np.nanmean)
@plain_falls_through(np.nanmean)
def nanmean(
    a: Any,
    axis: Any = None,
    dtype: Any = None,
    out: Any = None,
    keepdims: Any = False,
    **extra: Any,
) -> Any:
    """Differentiable ``numpy.nanmean``: the mean of the non-NaN elements; NaNs get
    derivative 0, and an all-NaN slice gives NaN (with NumPy's warning)."""
    _check_plain_kwargs("nanmean", out, extra)
    keepdims = keepdims_flag(keepdims)
    axes = normalize_axes(axis, ndim_of(a))
    total = sum(_nan_to(a, 0.0), axes, dtype=dtype, keepdims=keepdims)
    if strip(total).dtype.kind not in "fc":
        total = astype(total, np.float64)
    dtype = strip(total).dtype
    count = np.sum(~np.isnan(strip(a)), axis=axes, keepdims=keepdims).astype(dtype)
    empty = count == 0
    if np.any(empty):  # all-NaN slices: NaN, as in NumPy, with derivative 0 in both modes
        warnings.warn("Mean of empty slice", RuntimeWarning, stacklevel=2)
        return where(empty, np.array(np.nan, dtype=dtype), total / np.where(empty, 1, count))
    return total / count


@implements(np.nancumsum)
@plain_falls_through(np.nancumsum)
def nancumsum(a: Any, axis: Any = None, dtype: Any = None, out: Any = None) -> Any:
    """Differentiable ``numpy.nancumsum``: NaNs count as 0 and get derivative 0."""
    return cumsum(_nan_to(a, 0.0), axis, dtype, out)


@implements(np.nancumprod)
@plain_falls_through(np.nancumprod)
def nancumprod(a: Any, axis: Any = None, dtype: Any = None, out: Any = None) -> Any:
    """Differentiable ``numpy.nancumprod``: NaNs count as 1 and get derivative 0."""
    return cumprod(_nan_to(a, 1.0), axis, dtype, out)
