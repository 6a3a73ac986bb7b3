"""Statistics: var, std, average, median, quantile, percentile and their nan- versions.

``var``, ``std`` and ``average`` are compositions of differentiable
reductions. The order statistics behind ``median``/``quantile``/``percentile``
come from one primitive, ``order_stat``: the k-th smallest element along the
last axis, whose derivative flows to that element (split evenly among
elements that tie with it, as for ``max``/``min``). A quantile interpolates
between at most two order statistics with a weight that depends only on the
quantile, exactly as NumPy computes it, so the derivative with respect to the
data is the interpolation weight on each of the two elements.

Conventions:

* ``std`` where the variance is exactly 0: derivative 0 (never NaN from
  ``0 * inf``).
* Order statistics with ties: derivative split evenly among the tied elements.
* A slice containing NaN gives NaN (as in NumPy) and passes no derivative on.
"""

from __future__ import annotations

import builtins
import warnings
from typing import Any

import numpy as np

from ..core.primitive import Primitive
from ..core.registry import implements
from ..core.trace import is_traced, strip
from ..errors import conversion_error, no_rule_error
from ._util import as_array, as_intp, keepdims_shape, ndim_of, normalize_axes, shape_of
from .reductions import (
    abs_squared,
    axes_last,
    count_of,
    keepdims_flag,
    mean,
    plain_falls_through,
    sqrt_zero_grad,
    sum,
)
from .shape import astype, broadcast_to, expand_dims, reshape, transpose, where


# --- var and std ------------------------------------------------------------
def _var(
    name: str, a: Any, axis: Any, dtype: Any, out: Any, ddof: Any, keepdims: Any, extra: dict
) -> Any:
    if out is not None:
        raise conversion_error(f"Writing the result of numpy.{name} into out=")
    correction = extra.pop("correction", np._NoValue)
    given_mean = extra.pop("mean", np._NoValue)
    unsupported = sorted(k for k, v in extra.items() if v is not np._NoValue)
    if unsupported:
        raise no_rule_error(f"numpy.{name}", f"arguments {unsupported}")
    if correction is not np._NoValue:
        if ddof != 0:
            raise ValueError("ddof and correction can't be provided simultaneously.")
        ddof = correction
    if dtype is not None:
        a = astype(a, dtype)
    shape = shape_of(a)
    axes = normalize_axes(axis, len(shape))
    m = mean(a, axes, keepdims=True) if given_mean is np._NoValue else given_mean
    total = sum(abs_squared(a - m), axes, keepdims=keepdims_flag(keepdims))
    divisor = builtins.max(count_of(shape, axes) - ddof, 0)
    if divisor == 0:
        warnings.warn("Degrees of freedom <= 0 for slice", RuntimeWarning, stacklevel=3)
        with np.errstate(divide="ignore", invalid="ignore"):
            return total / divisor
    return total / divisor


@implements(np.var)
@plain_falls_through(np.var)
def var(
    a: Any,
    axis: Any = None,
    dtype: Any = None,
    out: Any = None,
    ddof: Any = 0,
    keepdims: Any = False,
    **extra: Any,
) -> Any:
    """Differentiable ``numpy.var`` (``ddof``, ``correction=`` and ``mean=``
    supported; a given ``mean`` is differentiated too)."""
    return _var("var", a, axis, dtype, out, ddof, keepdims, extra)


@implements(np.std)
@plain_falls_through(np.std)
def std(
    a: Any,
    axis: Any = None,
    dtype: Any = None,
    out: Any = None,
    ddof: Any = 0,
    keepdims: Any = False,
    **extra: Any,
) -> Any:
    """Differentiable ``numpy.std``. Where the variance is exactly 0 (all
    elements equal) the derivative is 0, the zero subgradient, not NaN.

    >>> import chainrule as cr, numpy as np
    >>> cr.grad(np.std)(np.array([2.0, 2.0, 2.0]))
    array([0., 0., 0.])
    """
    return sqrt_zero_grad(_var("std", a, axis, dtype, out, ddof, keepdims, extra))


# --- average ----------------------------------------------------------------
def _weights_like(weights: Any, shape: tuple, axis: tuple | None) -> Any:
    """NumPy's weight checks; 1-d (or per-axis) weights are laid out to broadcast."""
    wshape = shape_of(weights)
    if wshape == shape:
        return weights
    if axis is None:
        raise TypeError("Axis must be specified when shapes of a and weights differ.")
    if wshape != tuple(shape[ax] for ax in axis):
        raise ValueError(
            "Shape of weights must be consistent with shape of a along specified axis."
        )
    weights = transpose(weights, tuple(int(i) for i in np.argsort(axis)))
    return reshape(weights, tuple(s if ax in axis else 1 for ax, s in enumerate(shape)))


@implements(np.average)
@plain_falls_through(np.average)
def average(
    a: Any, axis: Any = None, weights: Any = None, returned: bool = False, *, keepdims: Any = False
) -> Any:
    """Differentiable ``numpy.average``, in the data and in the ``weights``.
    With ``returned=True`` also returns the sum of the weights (differentiable)."""
    shape = shape_of(a)
    keepdims = keepdims_flag(keepdims)
    pos_axes = None
    if axis is not None:
        normalize_axes(axis, len(shape))  # range and duplicate checks
        # NumPy keeps the order the caller gave the axes in (it matters for weights).
        pos_axes = tuple(int(ax) % len(shape) for ax in ((axis,) if np.ndim(axis) == 0 else axis))
    if weights is None:
        avg = mean(a, axis, keepdims=keepdims)
        dtype = strip(avg).dtype
        scl = dtype.type(int(np.prod(shape)) / builtins.max(int(np.prod(shape_of(avg))), 1))
    else:
        w = _weights_like(weights, shape, pos_axes)
        scl = sum(w, pos_axes, keepdims=keepdims)
        if np.any(strip(scl) == 0.0):
            raise ZeroDivisionError("Weights sum to zero, can't be normalized")
        avg = sum(a * w, pos_axes, keepdims=keepdims) / scl
    if not returned:
        return avg
    if shape_of(scl) != shape_of(avg):
        scl = broadcast_to(scl, shape_of(avg))
        if not is_traced(scl):
            scl = scl.copy()
    return avg, scl


# --- order statistics -----------------------------------------------------------
def _order_stat_impl(y: Any, ks: Any) -> Any:
    s = np.sort(y, axis=-1)
    return np.take_along_axis(s, np.broadcast_to(ks, s.shape[:-1] + ks.shape[-1:]), axis=-1)


def _order_share(ans: Any, y: Any) -> Any:
    """Shape ``(..., m, n)``: 1/k on the k elements of ``y`` equal to each chosen
    order statistic (ties split evenly), 0 elsewhere and for NaN results."""
    yv, av = strip(y), strip(ans)
    hits = yv[..., None, :] == av[..., :, None]
    return hits / np.maximum(np.sum(hits, axis=-1, keepdims=True), 1)


# order_stat_p(y, ks): the ks-th smallest elements along the last axis of y
# (ks: integers, shape (m,) or broadcastable to y's leading axes + (m,)).
order_stat_p = Primitive("order_stat", _order_stat_impl)
order_stat_p.defvjp(
    lambda ans, y, ks: lambda g, w=_order_share(ans, y): np.sum(expand_dims(g, -1) * w, axis=-2)
)
order_stat_p.defjvp(
    lambda t, ans, y, ks: np.sum(expand_dims(t, -2) * _order_share(ans, y), axis=-1)
)


def _nan_slices(y: Any) -> Any:
    """Which rows (all but the last axis) of ``y`` hold a NaN."""
    yv = strip(y)
    if not np.issubdtype(yv.dtype, np.inexact):
        return np.zeros(yv.shape[:-1], dtype=bool)
    return np.isnan(yv).any(axis=-1)


def _finish(
    r: Any, y: Any, q_ndim: int, kshape: tuple, keepdims: bool, nan_slices: bool = True
) -> Any:
    """``r`` of shape ``kept + q.shape`` -> NaN for NaN slices (unless the NaNs
    were skipped, ``nan_slices=False``), q's axes first, reduced axes kept as 1
    with ``keepdims``."""
    if nan_slices and np.any(nans := _nan_slices(y)):
        mask = np.reshape(nans, nans.shape + (1,) * q_ndim)
        r = where(mask, np.array(np.nan, dtype=strip(r).dtype), r)
    kept_nd = ndim_of(r) - q_ndim
    perm = tuple(range(kept_nd, kept_nd + q_ndim)) + tuple(range(kept_nd))
    r = transpose(r, perm)
    if keepdims:
        r = reshape(r, shape_of(r)[:q_ndim] + kshape)
    return r


@implements(np.median)
@plain_falls_through(np.median)
def median(
    a: Any, axis: Any = None, out: Any = None, overwrite_input: bool = False, keepdims: bool = False
) -> Any:
    """Differentiable ``numpy.median``: the derivative flows to the middle
    element, or half to each of the two middle ones; tied elements share it
    evenly. A slice containing NaN gives NaN and passes no derivative on.

    >>> import chainrule as cr, numpy as np
    >>> cr.grad(np.median)(np.array([3.0, 1.0, 4.0, 2.0]))
    array([0.5, 0. , 0. , 0.5])
    """
    if out is not None:
        raise conversion_error("Writing the result of numpy.median into out=")
    shape = shape_of(a)
    axes = normalize_axes(axis, len(shape))
    if count_of(shape, axes) == 0:
        return np.median(strip(a), axis=axis, keepdims=keepdims)
    y, _, _ = axes_last(a, axes)
    n = shape_of(y)[-1]
    ks = np.array([n // 2] if n % 2 else [n // 2 - 1, n // 2])
    r = mean(order_stat_p(y, ks), axis=-1)
    return _finish(r, y, 0, keepdims_shape(shape, axes), keepdims)


# The continuous methods: (alpha, beta) of Hyndman and Fan's virtual index.
_CONTINUOUS = {
    "linear": (1.0, 1.0),
    "interpolated_inverted_cdf": (0.0, 1.0),
    "hazen": (0.5, 0.5),
    "weibull": (0.0, 0.0),
    "median_unbiased": (1 / 3.0, 1 / 3.0),
    "normal_unbiased": (3 / 8.0, 3 / 8.0),
}
_DISCRETE = (
    "inverted_cdf",
    "averaged_inverted_cdf",
    "closest_observation",
    "lower",
    "higher",
    "midpoint",
    "nearest",
)


def _neighbours(h: Any, n: int) -> tuple[Any, Any, Any]:
    """The two order statistics around virtual index ``h`` (NumPy's rule: both
    the last beyond the end, both the first before the start) -> (lo, hi, edge)."""
    lo = np.floor(h)
    hi = lo + 1
    edge = np.logical_or(h >= n - 1, h < 0)  # no | on traced booleans under cr.vmap
    lo = np.where(h >= n - 1, n - 1, np.where(h < 0, 0, lo))
    hi = np.where(h >= n - 1, n - 1, np.where(h < 0, 0, hi))
    return as_intp(lo), as_intp(hi), edge


def _discrete_index(index: Any, pick_previous: Any) -> Any:
    previous = np.floor(index)
    res = np.where(pick_previous(index - previous, index), previous, previous + 1)
    return as_intp(np.maximum(res, 0))


def _positions(n: Any, q: Any, method: str) -> tuple[Any, Any, Any]:
    """-> (lo, hi, gamma): the quantile is ``lerp(y[lo], y[hi], gamma)`` for the
    sorted data ``y`` of ``n`` values (an int, or an array of counts, one per row,
    for the NaN-skipping versions); ``gamma`` is traced when ``q`` is (continuous methods),
    ``None`` when the quantile is the single order statistic ``y[lo]``."""
    qv = strip(q)
    if method in _CONTINUOUS:
        if method == "linear":
            h = (n - 1) * q
        else:
            alpha, beta = _CONTINUOUS[method]
            h = n * q + (alpha + q * (1 - alpha - beta)) - 1
        hv = strip(h)
        if not isinstance(hv, np.ndarray):  # an array (or cr.vmap's marked one) stays as is
            hv = as_array(hv)
        lo, hi, edge = _neighbours(hv, n)
        if np.issubdtype(hv.dtype, np.integer):
            return as_intp(np.clip(hv, 0, n - 1)), None, None
        gamma = h - np.floor(hv)
        if np.any(strip(edge)):  # a test of the whole batch under cr.vmap
            gamma = where(edge, 0.0, gamma)
        return lo, hi, gamma
    if method in ("lower", "higher", "nearest"):
        h = (n - 1) * as_array(qv)
        rounding: dict[str, Any] = {"lower": np.floor, "higher": np.ceil, "nearest": np.around}
        h = rounding[method](h)
        return as_intp(np.clip(h, 0, n - 1)), None, None
    if method == "inverted_cdf":
        idx = _discrete_index(n * as_array(qv) - 1, lambda g, _: g == 0)
        return np.minimum(idx, n - 1), None, None
    if method == "closest_observation":
        idx = _discrete_index(
            n * as_array(qv) - 1 - 0.5, lambda g, i: np.logical_and(g == 0, np.floor(i) % 2 == 1)
        )
        return np.minimum(idx, n - 1), None, None
    if method == "midpoint":
        h = (n - 1) * as_array(qv)
        h = 0.5 * (np.floor(h) + np.ceil(h))
        lo, hi, _ = _neighbours(h, n)
        return lo, hi, np.where(h % 1 == 0, 0.0, 0.5)
    if method == "averaged_inverted_cdf":
        h = n * as_array(qv) - 1
        lo, hi, edge = _neighbours(h, n)
        frac = h - np.where(h >= n - 1, -1, lo)  # NumPy measures from its own index
        return lo, hi, np.where(frac == 0, 0.5, 1.0)
    raise ValueError(f"{method!r} is not a valid method. Use one of: {_ALL_METHODS}")


_ALL_METHODS = tuple(_CONTINUOUS) + _DISCRETE


def _lerp(a: Any, b: Any, t: Any) -> Any:
    """NumPy's interpolation ``a + (b - a) t`` (from ``b``'s side when ``t >= 0.5``)."""
    d = b - a
    return where(strip(t) >= 0.5, b - d * (1 - t), a + d * t)


def _quantile(
    name: str,
    a: Any,
    q: Any,
    axis: Any,
    out: Any,
    method: str,
    keepdims: bool,
    weights: Any,
    weak: bool,
    skip_nan: bool = False,
) -> Any:
    if out is not None:
        raise conversion_error(f"Writing the result of numpy.{name} into out=")
    if weights is not None:
        raise no_rule_error(f"numpy.{name} with weights=")
    if method not in _ALL_METHODS:
        raise ValueError(f"{method!r} is not a valid method. Use one of: {_ALL_METHODS}")
    if np.iscomplexobj(strip(a)):
        raise TypeError("a must be an array of real numbers")
    if not is_traced(q):
        q = np.asanyarray(q)
    qv = strip(q)
    if not (np.all(qv >= 0) and np.all(qv <= 1)):
        what = (
            "Percentiles must be in the range [0, 100]"
            if name.endswith("percentile")
            else ("Quantiles must be in the range [0, 1]")
        )
        raise ValueError(what)
    shape = shape_of(a)
    axes = normalize_axes(axis, len(shape))
    if count_of(shape, axes) == 0:  # NumPy's answer, with nothing to differentiate
        plain = np.nanquantile if skip_nan else np.quantile
        return plain(strip(a), strip(q), axis, None, False, method, keepdims)  # type: ignore[call-overload]
    y, _, _ = axes_last(a, axes)
    if skip_nan:
        return _nan_quantile(y, q, qv, method, weak, keepdims_shape(shape, axes), keepdims)
    n = shape_of(y)[-1]
    lo, hi, gamma = _positions(n, q, method)
    ylo = reshape(order_stat_p(y, np.ravel(lo)), shape_of(y)[:-1] + np.shape(lo))
    if gamma is None:
        r = ylo
    else:
        if weak:
            gamma = (
                astype(gamma, strip(y).dtype)
                if is_traced(gamma)
                else np.asarray(gamma, dtype=strip(y).dtype)
            )
        yhi = reshape(order_stat_p(y, np.ravel(hi)), shape_of(y)[:-1] + np.shape(hi))
        r = _lerp(ylo, yhi, gamma)
    return _finish(r, y, np.ndim(qv), keepdims_shape(shape, axes), keepdims_flag(keepdims))


@implements(np.quantile)
@plain_falls_through(np.quantile)
def quantile(
    a: Any,
    q: Any,
    axis: Any = None,
    out: Any = None,
    overwrite_input: bool = False,
    method: str = "linear",
    keepdims: bool = False,
    *,
    weights: Any = None,
) -> Any:
    """Differentiable ``numpy.quantile``, every ``method``. The derivative
    flows to the one or two order statistics the quantile interpolates
    between, with the interpolation weights (tied elements share evenly);
    for the continuous methods (``linear`` and the other Hyndman-Fan
    interpolations) ``q`` is differentiable too. ``weights=`` is not supported.

    >>> import chainrule as cr, numpy as np
    >>> cr.grad(lambda x: np.quantile(x, 0.25))(np.array([4.0, 1.0, 3.0, 2.0, 5.0]))
    array([0., 0., 0., 1., 0.])
    """
    weak = type(q) in (int, float)  # NumPy's weak promotion of a Python number
    return _quantile("quantile", a, q, axis, out, method, keepdims, weights, weak)


@implements(np.percentile)
@plain_falls_through(np.percentile)
def percentile(
    a: Any,
    q: Any,
    axis: Any = None,
    out: Any = None,
    overwrite_input: bool = False,
    method: str = "linear",
    keepdims: bool = False,
    *,
    weights: Any = None,
) -> Any:
    """Differentiable ``numpy.percentile``: ``quantile`` at ``q / 100``."""
    weak = type(q) in (int, float)  # NumPy's weak promotion of a Python number
    q = q / 100 if is_traced(q) else np.true_divide(q, 100)
    return _quantile("percentile", a, q, axis, out, method, keepdims, weights, weak)


# --- the NaN-skipping versions --------------------------------------------------
def _nan_quantile(
    y: Any, q: Any, qv: Any, method: str, weak: bool, kshape: tuple, keepdims: Any
) -> Any:
    """Quantiles of each row of ``y`` (shape ``kept + (n,)``) over its non-NaN
    entries. Sorting puts NaN last, so a row with ``m`` numbers has them as its
    first ``m`` order statistics, and the quantile of those is taken with NumPy's
    positions for a sample of ``m`` (a row of its own length each); an all-NaN
    row gives NaN, and NaN entries never receive a derivative."""
    yv = strip(y)
    kept = shape_of(y)[:-1]
    q_nd = np.ndim(qv)
    # counted from y itself (not its plain values) so that under cr.vmap the
    # counts stay per example
    m = np.reshape(np.sum(np.logical_not(np.isnan(y)), axis=-1), kept + (1,) * q_nd)
    lo, hi, gamma = _positions(m, q, method)  # each kept + q.shape
    full = kept + np.shape(qv)

    def pick(k: Any) -> Any:  # k: one index per row and q, shape ``full`` already
        return reshape(order_stat_p(y, np.reshape(k, kept + (-1,))), full)

    ylo = pick(lo)
    if gamma is None:
        r = ylo
    else:
        if weak:
            gamma = (
                astype(gamma, yv.dtype) if is_traced(gamma) else np.asarray(gamma, dtype=yv.dtype)
            )
        r = _lerp(ylo, pick(hi), gamma)
    if np.any(strip(m) == 0):
        warnings.warn("All-NaN slice encountered", RuntimeWarning, stacklevel=4)
    return _finish(r, y, q_nd, kshape, keepdims_flag(keepdims), nan_slices=False)


@implements(np.nanquantile)
@plain_falls_through(np.nanquantile)
def nanquantile(
    a: Any,
    q: Any,
    axis: Any = None,
    out: Any = None,
    overwrite_input: bool = False,
    method: str = "linear",
    keepdims: Any = np._NoValue,
    *,
    weights: Any = None,
) -> Any:
    """Differentiable ``numpy.nanquantile``: ``quantile`` of the non-NaN entries
    of each slice, every ``method``; NaN entries get no derivative, an all-NaN
    slice gives NaN. For the continuous methods ``q`` is differentiable too.

    >>> import chainrule as cr, numpy as np
    >>> cr.grad(lambda x: np.nanquantile(x, 0.5))(np.array([4.0, np.nan, 1.0, 3.0]))
    array([0., 0., 0., 1.])
    """
    weak = type(q) in (int, float)
    return _quantile("nanquantile", a, q, axis, out, method, keepdims, weights, weak, True)


@implements(np.nanpercentile)
@plain_falls_through(np.nanpercentile)
def nanpercentile(
    a: Any,
    q: Any,
    axis: Any = None,
    out: Any = None,
    overwrite_input: bool = False,
    method: str = "linear",
    keepdims: Any = np._NoValue,
    *,
    weights: Any = None,
) -> Any:
    """Differentiable ``numpy.nanpercentile``: ``nanquantile`` at ``q / 100``.

    >>> import chainrule as cr, numpy as np
    >>> cr.grad(lambda x: np.nanpercentile(x, 75))(np.array([4.0, np.nan, 1.0, 3.0, 2.0]))
    array([0.25, 0.  , 0.  , 0.75, 0.  ])
    """
    weak = type(q) in (int, float)
    q = q / 100 if is_traced(q) else np.true_divide(q, 100)
    return _quantile("nanpercentile", a, q, axis, out, method, keepdims, weights, weak, True)


@implements(np.nanmedian)
@plain_falls_through(np.nanmedian)
def nanmedian(
    a: Any,
    axis: Any = None,
    out: Any = None,
    overwrite_input: bool = False,
    keepdims: Any = np._NoValue,
) -> Any:
    """Differentiable ``numpy.nanmedian``: the median of the non-NaN entries of
    each slice (half the derivative to each middle element of an even count).

    >>> import chainrule as cr, numpy as np
    >>> cr.grad(np.nanmedian)(np.array([3.0, np.nan, 1.0, 4.0, 2.0]))
    array([0.5, 0. , 0. , 0. , 0.5])
    """
    return _quantile("nanmedian", a, 0.5, axis, out, "linear", keepdims, None, True, True)
