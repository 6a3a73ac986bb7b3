"""Finite differences, integration and interpolation: diff, ediff1d, gradient,
trapezoid, interp, unwrap.

Each is a composition of differentiable operations (slices, arithmetic,
concatenation, gathers) that follows NumPy's own arithmetic step for step, so
the values are NumPy's and every mode and order of derivative comes from the
parts.

Conventions:

* ``interp`` is differentiable in ``x``, ``xp``, ``fp``, ``left`` and
  ``right``. At a knot (``x == xp[j]``) the derivative in ``x`` is the slope
  of the segment to the right (of the last segment at ``xp[-1]``); outside
  ``[xp[0], xp[-1]]`` it is 0. Which segment a point falls in is read from
  the values, as NumPy does (piecewise constant, not differentiated).
* ``unwrap`` adds whole periods, a piecewise-constant correction, so its
  derivative is the identity.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..core.registry import implements
from ..core.trace import is_traced, strip
from ._util import gather
from .reductions import plain_falls_through


def _arr(x: Any) -> Any:
    """A traced value as it is, anything else as NumPy's array."""
    return x if is_traced(x) else np.asanyarray(x)


def _axis_index(axis: Any, ndim: int) -> int:
    axis = int(axis)
    if not -ndim <= axis < ndim:
        raise np.exceptions.AxisError(axis, ndim)
    return axis % ndim


def _along(axis: int, ndim: int, item: Any) -> tuple:
    """An index picking ``item`` on ``axis`` and everything on the other axes."""
    return (slice(None),) * axis + (item,) + (slice(None),) * (ndim - axis - 1)


# --- diff and ediff1d ----------------------------------------------------------------
@implements(np.diff)
@plain_falls_through(np.diff)
def diff(a: Any, n: int = 1, axis: int = -1, prepend: Any = np._NoValue, append: Any = np._NoValue):
    """Differentiable ``numpy.diff``, in ``a`` and in ``prepend``/``append``.

    >>> import chainrule as cr, numpy as np
    >>> cr.jacrev(np.diff)(np.array([1.0, 4.0, 9.0]))
    array([[-1.,  1.,  0.],
           [ 0., -1.,  1.]])
    """
    if n == 0:
        return a
    if n < 0:
        raise ValueError("order must be non-negative but got " + repr(n))
    a = _arr(a)
    nd = a.ndim
    if nd == 0:
        raise ValueError("diff requires input that is at least one dimensional")
    axis = _axis_index(axis, nd)
    combined = []
    for extra, first in ((prepend, True), (None, None), (append, False)):
        if first is None:
            combined.append(a)
        elif extra is not np._NoValue:
            extra = _arr(extra)
            if extra.ndim == 0:
                shape = list(a.shape)
                shape[axis] = 1
                extra = np.broadcast_to(extra, tuple(shape))
            combined.append(extra)
    if len(combined) > 1:
        a = np.concatenate(combined, axis)
    upper = _along(axis, nd, slice(1, None))
    lower = _along(axis, nd, slice(None, -1))
    for _ in range(n):
        a = a[upper] - a[lower]
    return a


@implements(np.ediff1d)
@plain_falls_through(np.ediff1d)
def ediff1d(ary: Any, to_end: Any = None, to_begin: Any = None) -> Any:
    """Differentiable ``numpy.ediff1d``, in ``ary``, ``to_end`` and ``to_begin``.

    >>> import chainrule as cr, numpy as np
    >>> cr.jacrev(lambda a: np.ediff1d(a, to_end=a[0]))(np.array([1.0, 4.0, 9.0]))
    array([[-1.,  1.,  0.],
           [ 0., -1.,  1.],
           [ 1.,  0.,  0.]])
    """
    ary = np.ravel(_arr(ary))
    dtype = strip(ary).dtype
    pieces = []
    for extra, name in ((to_begin, "to_begin"), (None, None), (to_end, "to_end")):
        if name is None:
            pieces.append(ary[1:] - ary[:-1])
            continue
        if extra is None:
            continue
        extra = _arr(extra)
        if not np.can_cast(strip(extra).dtype, dtype, casting="same_kind"):
            raise TypeError(
                f"dtype of `{name}` must be compatible with input `ary` under the `same_kind` rule."
            )
        extra = np.ravel(extra)
        if strip(extra).dtype != dtype:
            extra = extra.astype(dtype)
        pieces.append(extra)
    return pieces[0] if len(pieces) == 1 else np.concatenate(pieces)


# --- gradient ------------------------------------------------------------------------
def _spacings(f: Any, varargs: tuple, axes: list[int]) -> list:
    """NumPy's checks on ``varargs`` -> one spacing per axis: a scalar step or
    the 1-d array of differences between coordinates."""
    n = len(varargs)
    len_axes = len(axes)
    if n == 0:
        return [1.0] * len_axes
    if n == 1 and np.ndim(strip(varargs[0])) == 0:
        return [varargs[0]] * len_axes
    if n != len_axes:
        raise TypeError("invalid number of arguments")
    dx = list(varargs)
    for i, distances in enumerate(dx):
        distances = _arr(distances)
        if distances.ndim == 0:
            continue
        if distances.ndim != 1:
            raise ValueError("distances must be either scalars or 1d")
        if len(distances) != f.shape[axes[i]]:
            raise ValueError(
                "when 1d, distances must match the length of the corresponding dimension"
            )
        if np.issubdtype(strip(distances).dtype, np.integer):
            distances = distances.astype(np.float64)
        diffx = distances[1:] - distances[:-1]
        dv = strip(diffx)
        if dv.size and (dv == dv[0]).all():  # uniform: NumPy keeps the scalar step
            diffx = diffx[0]
        dx[i] = diffx
    return dx


@implements(np.gradient)
@plain_falls_through(np.gradient)
def gradient(f: Any, *varargs: Any, axis: Any = None, edge_order: int = 1) -> Any:
    """Differentiable ``numpy.gradient``, in ``f`` and in the spacings or
    coordinates given in ``varargs``.

    >>> import chainrule as cr, numpy as np
    >>> cr.jacrev(np.gradient)(np.array([1.0, 2.0, 4.0]))
    array([[-1. ,  1. ,  0. ],
           [-0.5,  0. ,  0.5],
           [ 0. , -1. ,  1. ]])
    """
    f = _arr(f)
    n = f.ndim
    if axis is None:
        axes = list(range(n))
    else:
        given = (axis,) if np.ndim(axis) == 0 else tuple(axis)
        axes = [_axis_index(a, n) for a in given]
        if len(set(axes)) != len(axes):
            raise ValueError(f"duplicate value in 'axis': {axis}")
    dx = _spacings(f, varargs, axes)
    if edge_order > 2:
        raise ValueError("'edge_order' greater than 2 not supported")
    if np.issubdtype(strip(f).dtype, np.integer) or strip(f).dtype.kind == "b":
        f = f.astype(np.float64)
    outs = []
    for ax, h in zip(axes, dx):
        if f.shape[ax] < edge_order + 1:
            raise ValueError(
                "Shape of array too small to calculate a numerical gradient, "
                "at least (edge_order + 1) elements are required."
            )
        outs.append(_gradient_1axis(f, ax, h, edge_order))
    return outs[0] if len(axes) == 1 else tuple(outs)


def _gradient_1axis(f: Any, ax: int, h: Any, edge_order: int) -> Any:
    """NumPy's second-order central differences inside, one-sided at the ends."""
    nd = f.ndim

    def s(item: Any) -> Any:
        return f[_along(ax, nd, item)]

    def shaped(v: Any) -> Any:  # a 1-d coefficient laid along ``ax``
        shape = [1] * nd
        shape[ax] = -1
        return np.reshape(v, shape)

    uniform = np.ndim(strip(h)) == 0
    if uniform:
        interior = (s(slice(2, None)) - s(slice(None, -2))) / (2.0 * h)
    else:
        dx1, dx2 = h[0:-1], h[1:]
        a = -(dx2) / (dx1 * (dx1 + dx2))
        b = (dx2 - dx1) / (dx1 * dx2)
        c = dx1 / (dx2 * (dx1 + dx2))
        interior = (
            shaped(a) * s(slice(None, -2))
            + shaped(b) * s(slice(1, -1))
            + shaped(c) * s(slice(2, None))
        )
    if edge_order == 1:
        d0 = h if uniform else h[0]
        dn = h if uniform else h[-1]
        first = (s(slice(1, 2)) - s(slice(0, 1))) / d0
        last = (s(slice(-1, None)) - s(slice(-2, -1))) / dn
    elif uniform:
        first = (
            (-1.5 / h) * s(slice(0, 1)) + (2.0 / h) * s(slice(1, 2)) + (-0.5 / h) * s(slice(2, 3))
        )
        last = (
            (0.5 / h) * s(slice(-3, -2))
            + (-2.0 / h) * s(slice(-2, -1))
            + (1.5 / h) * s(slice(-1, None))
        )
    else:
        dx1, dx2 = h[0], h[1]
        a = -(2.0 * dx1 + dx2) / (dx1 * (dx1 + dx2))
        b = (dx1 + dx2) / (dx1 * dx2)
        c = -dx1 / (dx2 * (dx1 + dx2))
        first = a * s(slice(0, 1)) + b * s(slice(1, 2)) + c * s(slice(2, 3))
        dx1, dx2 = h[-2], h[-1]
        a = dx2 / (dx1 * (dx1 + dx2))
        b = -(dx2 + dx1) / (dx1 * dx2)
        c = (2.0 * dx2 + dx1) / (dx2 * (dx1 + dx2))
        last = a * s(slice(-3, -2)) + b * s(slice(-2, -1)) + c * s(slice(-1, None))
    return np.concatenate([first, interior, last], axis=ax)


# --- trapezoid -----------------------------------------------------------------------
def _trapezoid(y: Any, x: Any = None, dx: Any = 1.0, axis: int = -1) -> Any:
    y = _arr(y)
    if x is None:
        d = dx
    else:
        x = _arr(x)
        if x.ndim == 1:
            d = x[1:] - x[:-1]
            shape = [1] * y.ndim
            shape[axis] = d.shape[0]
            d = np.reshape(d, shape)
        else:
            d = diff(x, axis=axis)
    nd = y.ndim
    ax = _axis_index(axis, nd)
    upper = y[_along(ax, nd, slice(1, None))]
    lower = y[_along(ax, nd, slice(None, -1))]
    return np.sum(d * (upper + lower) / 2.0, axis=axis)


_TRAPEZOIDS = [getattr(np, n) for n in ("trapezoid", "trapz") if hasattr(np, n)]


@implements(*_TRAPEZOIDS)
def trapezoid(y: Any, x: Any = None, dx: Any = 1.0, axis: int = -1) -> Any:
    """Differentiable ``numpy.trapezoid`` (and ``trapz`` where NumPy still has
    it), in ``y``, the sample points ``x`` and the spacing ``dx``.

    >>> import chainrule as cr, numpy as np
    >>> float(cr.grad(lambda h: np.trapezoid(np.array([1.0, 2.0, 3.0]), dx=h))(0.5))
    4.0
    """
    if not any(is_traced(v) for v in (y, x, dx)):
        return _TRAPEZOIDS[0](y, x=x, dx=dx, axis=axis)
    return _trapezoid(y, x, dx, axis)


# --- interp --------------------------------------------------------------------------
@implements(np.interp)
@plain_falls_through(np.interp)
def interp(x: Any, xp: Any, fp: Any, left: Any = None, right: Any = None, period: Any = None):
    """Differentiable ``numpy.interp``, in ``x``, ``xp``, ``fp``, ``left`` and
    ``right`` (complex ``fp`` too). At a knot the derivative in ``x`` is the
    right-hand slope; outside the table it is 0.

    >>> import chainrule as cr, numpy as np
    >>> xp, fp = np.array([0.0, 1.0, 3.0]), np.array([0.0, 2.0, 3.0])
    >>> float(cr.grad(np.interp)(2.0, xp, fp))
    0.5
    """
    x, xp, fp = _arr(x), _arr(xp), _arr(fp)
    if xp.ndim != 1 or fp.ndim != 1:
        raise ValueError("object too deep for desired array")
    if xp.shape[0] != fp.shape[0]:
        raise ValueError("fp and xp are not of the same length.")
    if xp.shape[0] == 0:
        raise ValueError("array of sample points is empty")
    complex_fp = np.iscomplexobj(strip(fp))
    if np.iscomplexobj(strip(x)) or np.iscomplexobj(strip(xp)):
        raise TypeError(
            "Cannot cast array data from dtype('complex128') to dtype('float64') "
            "according to the rule 'safe'"
        )
    fdtype = np.complex128 if complex_fp else np.float64
    x = x.astype(np.float64) if strip(x).dtype != np.float64 else x
    xp = xp.astype(np.float64) if strip(xp).dtype != np.float64 else xp
    fp = fp.astype(fdtype) if strip(fp).dtype != fdtype else fp
    if period is not None:
        if period == 0:
            raise ValueError("period must be a non-zero value")
        period = abs(period)
        left = right = None
        x = np.remainder(x, period)
        xp = np.remainder(xp, period)
        order = np.argsort(strip(xp))
        xp, fp = xp[order], fp[order]
        xp = np.concatenate((xp[-1:] - period, xp, xp[0:1] + period))
        fp = np.concatenate((fp[-1:], fp, fp[0:1]))
    return _interp(x, xp, fp, left, right, fdtype)


def _interp(x: Any, xp: Any, fp: Any, left: Any, right: Any, fdtype: Any) -> Any:
    xv, xpv = strip(x), strip(xp)
    n = xpv.shape[0]
    j = np.searchsorted(xpv, xv, side="right") - 1
    below, above = j < 0, (j >= n - 1) & (xv > xpv[-1])
    j = np.clip(j, 0, n - 1)
    if n == 1:
        val = gather(fp, j) + 0.0 * x
    else:
        k = np.minimum(j, n - 2)  # the segment whose slope applies (the last at xp[-1])
        slope = (gather(fp, k + 1) - gather(fp, k)) / (gather(xp, k + 1) - gather(xp, k))
        with np.errstate(invalid="ignore"):
            val = (x - gather(xp, j)) * slope + gather(fp, j)
        bad = np.isnan(strip(val)) & ~np.isnan(xv)
        if np.any(bad):  # NumPy's retries for infinite slopes: from the right end...
            with np.errstate(invalid="ignore"):
                retry = slope * (x - gather(xp, j + 1)) + gather(fp, j + 1)
            val = np.where(bad, retry, val)
            still = (
                bad & np.isnan(strip(retry)) & (strip(gather(fp, j)) == strip(gather(fp, j + 1)))
            )
            if np.any(still):  # ...then the flat value
                val = np.where(still, gather(fp, j), val)
    lval = fp[0] if left is None else left
    rval = fp[-1] if right is None else right
    if np.any(below):
        val = np.where(below, lval, val)
    if np.any(above):
        val = np.where(above, rval, val)
    if np.any(np.isnan(xv)):
        val = np.where(np.isnan(xv), np.array(np.nan, dtype=fdtype), val)
    if strip(val).dtype != fdtype:
        val = val.astype(fdtype)
    return val


# --- unwrap --------------------------------------------------------------------------
@implements(np.unwrap)
@plain_falls_through(np.unwrap)
def unwrap(p: Any, discont: Any = None, axis: int = -1, *, period: Any = 2 * np.pi) -> Any:
    """Differentiable ``numpy.unwrap``: the added multiples of ``period`` are
    piecewise constant, so the derivative is the identity.

    >>> import chainrule as cr, numpy as np
    >>> cr.grad(lambda p: np.unwrap(p).sum())(np.array([0.0, 3.0, 6.5]))
    array([1., 1., 1.])
    """
    p = _arr(p)
    nd = p.ndim
    ax = _axis_index(axis, nd)
    pv = strip(p)
    # NumPy's result is p + a cumulative correction from the second element on
    # (the correction computed on the values, as NumPy computes it).
    dd = np.diff(pv, axis=ax)
    dtype = np.result_type(dd, period)
    if discont is None:
        discont = period / 2
    interval_high = period / 2
    boundary_ambiguous = True
    if np.issubdtype(dtype, np.integer):
        interval_high, rem = divmod(period, 2)
        boundary_ambiguous = rem == 0
    interval_low = -interval_high
    ddmod = np.mod(dd - interval_low, period) + interval_low
    if boundary_ambiguous:
        ddmod[(ddmod == interval_low) & (dd > 0)] = interval_high
    ph_correct = ddmod - dd
    ph_correct[np.abs(dd) < discont] = 0
    tail = _along(ax, nd, slice(1, None))
    corrected = p[tail] + ph_correct.cumsum(ax)
    first = p[_along(ax, nd, slice(0, 1))]
    out = np.concatenate([first, corrected.astype(strip(first).dtype)], axis=ax)
    return out if strip(out).dtype == dtype else out.astype(dtype)
