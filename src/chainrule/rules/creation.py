"""Ranges and grids with traced endpoints: linspace, logspace, geomspace,
meshgrid.

Compositions that repeat NumPy's arithmetic step for step (so the values are
NumPy's); the derivatives in ``start``, ``stop`` (and ``base`` for
``logspace``) follow from the parts. Integer ``dtype=`` results are
piecewise constant and come back plain.
"""

from __future__ import annotations

import operator
from typing import Any

import numpy as np

from .._backends import is_foreign
from ..core.registry import implements
from ..core.trace import is_traced, strip
from .reductions import plain_falls_through

# NumPy's own, untyped here: its stubs' overloads cannot take pass-through arguments.
_numpy_linspace: Any = np.linspace
_numpy_meshgrid: Any = np.meshgrid


def _arr(x: Any) -> Any:
    return x if is_traced(x) else np.asanyarray(x)


def _cast(x: Any, dtype: Any) -> Any:
    return x if strip(x).dtype == dtype else x.astype(dtype)


@implements(np.linspace)
@plain_falls_through(np.linspace)
def linspace(
    start: Any,
    stop: Any,
    num: int = 50,
    endpoint: bool = True,
    retstep: bool = False,
    dtype: Any = None,
    axis: int = 0,
    *,
    device: Any = None,
) -> Any:
    """Differentiable ``numpy.linspace``, in ``start`` and ``stop`` (scalars or
    arrays).

    >>> import chainrule as cr, numpy as np
    >>> cr.jacrev(lambda b: np.linspace(0.0, b, 3))(2.0)
    array([0. , 0.5, 1. ])
    """
    num = operator.index(num)
    if num < 0:
        raise ValueError(f"Number of samples, {num}, must be non-negative.")
    if dtype is not None and not np.issubdtype(np.dtype(dtype), np.inexact):
        # piecewise constant: NumPy's plain result
        return _numpy_linspace(strip(start), strip(stop), num, endpoint, retstep, dtype, axis)
    # NumPy computes in the promoted type of the endpoints, then casts to dtype.
    # (numpy.linspace's own rule; asking np.linspace itself would compute a Dask end)
    dt = np.result_type(strip(start), strip(stop), float(num))
    div = (num - 1) if endpoint else num
    start, stop = _cast(_arr(start), dt), _cast(_arr(stop), dt)
    delta = stop - start
    y = np.arange(0, num, dtype=dt).reshape((-1,) + (1,) * np.ndim(strip(delta)))
    if div > 0:
        step = delta / div
        # NumPy's path for subnormal steps (not asked of a Dask or CuPy step)
        if not is_foreign(strip(step)) and np.any(strip(step) == 0):
            y = (y / div) * delta
        else:
            y = y * step
    else:
        step = np.nan
        y = y * delta
    y = y + start
    if endpoint and num > 1:
        last = np.broadcast_to(stop, y.shape[1:])
        y = np.concatenate([y[:-1], np.reshape(last, (1,) + y.shape[1:])])
    if axis != 0:
        y = np.moveaxis(y, 0, axis)
    if dtype is not None:
        y = _cast(y, np.dtype(dtype))
    return (y, step) if retstep else y


@implements(np.logspace)
@plain_falls_through(np.logspace)
def logspace(
    start: Any,
    stop: Any,
    num: int = 50,
    endpoint: bool = True,
    base: Any = 10.0,
    dtype: Any = None,
    axis: int = 0,
) -> Any:
    """Differentiable ``numpy.logspace``, in ``start``, ``stop`` and ``base``.

    >>> import chainrule as cr, numpy as np
    >>> cr.jacrev(lambda b: np.logspace(0.0, b, 3))(1.0)
    array([ 0.        ,  3.6407067 , 23.02585093])
    """
    if dtype is not None and not np.issubdtype(np.dtype(dtype), np.inexact):
        return np.logspace(strip(start), strip(stop), num, endpoint, strip(base), dtype, axis)
    if np.ndim(strip(base)):
        ndmax = np.broadcast(strip(start), strip(stop), strip(base)).ndim
        start, stop, base = (_ndmin(_arr(a), ndmax) for a in (start, stop, base))
        base = np.expand_dims(base, axis=axis)
    y = linspace(start, stop, num=num, endpoint=endpoint, axis=axis)
    out = np.power(base, y)
    return out if dtype is None else _cast(out, np.dtype(dtype))


def _ndmin(a: Any, ndmin: int) -> Any:
    return np.reshape(a, (1,) * (ndmin - a.ndim) + a.shape) if a.ndim < ndmin else a


@implements(np.geomspace)
@plain_falls_through(np.geomspace)
def geomspace(
    start: Any, stop: Any, num: int = 50, endpoint: bool = True, dtype: Any = None, axis: int = 0
) -> Any:
    """Differentiable ``numpy.geomspace``, in ``start`` and ``stop`` (real or
    complex).

    >>> import chainrule as cr, numpy as np
    >>> cr.jacrev(lambda s: np.geomspace(s, 8.0, 4))(1.0)
    array([1.        , 1.33333333, 1.33333333, 0.        ])
    """
    start, stop = _arr(start), _arr(stop)
    if np.any(strip(start) == 0) or np.any(strip(stop) == 0):
        raise ValueError("Geometric sequence cannot include zero")
    dt = np.result_type(strip(start), strip(stop), float(num), np.zeros((), dtype))
    dtype = dt if dtype is None else np.dtype(dtype)
    if not np.issubdtype(dtype, np.inexact):
        return np.geomspace(strip(start), strip(stop), num, endpoint, dtype, axis)
    start, stop = _cast(start, dt), _cast(stop, dt)
    if np.issubdtype(dt, np.complexfloating):
        # NumPy rotates start onto the positive real axis: the rotation,
        # start / |start|, depends on start, so it is differentiated too.
        out_sign = start / np.abs(start)
    else:
        out_sign = np.sign(strip(start))
    start = start / out_sign
    stop = stop / out_sign
    result = logspace(
        np.log10(start), np.log10(stop), num=num, endpoint=endpoint, base=10.0, dtype=dt
    )
    if num > 0:  # NumPy puts the endpoints back exactly
        first = np.reshape(np.broadcast_to(start, result.shape[1:]), (1,) + result.shape[1:])
        pieces = [first]
        if num > 1 and endpoint:
            last = np.reshape(np.broadcast_to(stop, result.shape[1:]), (1,) + result.shape[1:])
            pieces += [result[1:-1], last]
        else:
            pieces.append(result[1:])
        result = np.concatenate(pieces)
    result = result * out_sign
    if axis != 0:
        result = np.moveaxis(result, 0, axis)
    return _cast(result, dtype)


@implements(np.meshgrid)
def meshgrid(*xi: Any, copy: bool = True, sparse: bool = False, indexing: str = "xy") -> Any:
    """Differentiable ``numpy.meshgrid``, in every coordinate vector.

    >>> import chainrule as cr, numpy as np
    >>> f = lambda x: np.sum(np.meshgrid(x, np.ones(2))[0])
    >>> cr.grad(f)(np.array([1.0, 2.0, 3.0]))
    array([2., 2., 2.])
    """
    if not any(is_traced(x) for x in xi):
        return _numpy_meshgrid(*xi, copy=copy, sparse=sparse, indexing=indexing)
    if indexing not in ["xy", "ij"]:
        raise ValueError("Valid values for `indexing` are 'xy' and 'ij'.")
    ndim = len(xi)
    s0 = (1,) * ndim
    shapes = [s0[:i] + (-1,) + s0[i + 1 :] for i in range(ndim)]
    if indexing == "xy" and ndim > 1:
        shapes[0] = (1, -1) + s0[2:]
        shapes[1] = (-1, 1) + s0[2:]
    output = [np.reshape(_arr(x), s) for x, s in zip(xi, shapes)]
    if not sparse:
        output = list(np.broadcast_arrays(*output))
    # Traced values are never written to; plain ones are copied as NumPy does.
    return tuple(x if is_traced(x) or not copy else np.array(x, copy=True) for x in output)
