"""Editing and rearranging arrays: insert, delete, rollaxis, partition,
piecewise, apply_along_axis, real_if_close.

All are compositions of differentiable gathers, transposes and functional
updates. ``insert`` and ``delete`` let NumPy itself lay out an array of
element labels (so every form of ``obj`` and ``axis`` NumPy accepts means what
it means there) and then gather the traced elements by those labels.
``partition`` gathers by ``argpartition``'s indices, which are
non-differentiable (integers).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..at import at
from ..core.registry import NONDIFF, implements
from ..core.trace import is_traced, strip, strip_tree
from ._util import as_array
from .reductions import plain_falls_through

NONDIFF.add(np.argpartition)


def _arr(x: Any) -> Any:
    return x if is_traced(x) else np.asanyarray(x)


def _inexact(dtype: Any) -> bool:
    return np.issubdtype(dtype, np.inexact)


# --- insert and delete -----------------------------------------------------------------
@implements(np.insert)
@plain_falls_through(np.insert)
def insert(arr: Any, obj: Any, values: Any, axis: Any = None) -> Any:
    """Differentiable ``numpy.insert``, in ``arr`` and ``values`` (``values``
    are cast to ``arr``'s dtype, as NumPy does).

    >>> import chainrule as cr, numpy as np
    >>> float(cr.grad(lambda v: np.insert(np.zeros(3), 1, v).sum())(2.0))
    1.0
    """
    arr, values = _arr(arr), _arr(values)
    av, vv = strip(arr), strip(values)
    if not _inexact(av.dtype):  # the values are cast to arr's integer dtype
        return np.insert(av, strip(obj), vv, axis=axis)
    labels = np.arange(av.size).reshape(av.shape)
    # vv.size: np.size of a Dask array would compute it
    n_values = vv.size if hasattr(vv, "size") else np.size(vv)
    value_labels = (av.size + np.arange(n_values)).reshape(np.shape(vv))
    where = np.insert(labels, strip(obj), value_labels, axis=axis)
    if vv.dtype != av.dtype:
        values = values.astype(av.dtype)
    pool = np.concatenate([np.ravel(arr), np.ravel(values)])
    return np.take(pool, where)


@implements(np.delete)
@plain_falls_through(np.delete)
def delete(arr: Any, obj: Any, axis: Any = None) -> Any:
    """Differentiable ``numpy.delete``: the kept elements carry their derivatives.

    >>> import chainrule as cr, numpy as np
    >>> cr.grad(lambda a: np.sum(np.delete(a, 1) ** 2))(np.array([1.0, 2.0, 3.0]))
    array([2., 0., 6.])
    """
    arr = _arr(arr)
    labels = np.arange(arr.size).reshape(arr.shape)
    return np.take(np.ravel(arr), np.delete(labels, strip(obj), axis=axis))


# --- rollaxis --------------------------------------------------------------------------
@implements(np.rollaxis)
@plain_falls_through(np.rollaxis)
def rollaxis(a: Any, axis: int, start: int = 0) -> Any:
    """Differentiable ``numpy.rollaxis`` (a transpose).

    >>> import chainrule as cr, numpy as np
    >>> cr.jacrev(lambda a: np.rollaxis(a, 1))(np.ones((2, 3))).shape
    (3, 2, 2, 3)
    """
    n = a.ndim
    axis = int(axis)
    if not -n <= axis < n:
        raise np.exceptions.AxisError(axis, n)
    axis %= n
    if start < 0:
        start += n
    if not 0 <= start < n + 1:
        raise np.exceptions.AxisError(
            f"'start' arg requires {-n} <= start < {n + 1}, but {start} was passed in"
        )
    if axis < start:
        start -= 1
    if axis == start:
        return a
    axes = list(range(n))
    axes.remove(axis)
    axes.insert(start, axis)
    return np.transpose(a, axes)


# --- partition -------------------------------------------------------------------------
@implements(np.partition)
@plain_falls_through(np.partition)
def partition(a: Any, kth: Any, axis: Any = -1, kind: Any = "introselect", order: Any = None):
    """Differentiable ``numpy.partition``: each element carries its derivative
    to where it lands. ``numpy.argpartition`` (integers) is non-differentiable.

    >>> import chainrule as cr, numpy as np
    >>> cr.grad(lambda x: np.partition(x, 1)[1])(np.array([3.0, 1.0, 2.0]))
    array([0., 0., 1.])
    """
    if order is not None:
        raise ValueError("order= needs a structured array, which cannot be traced")
    if axis is None:
        a, axis = np.ravel(a), -1
    idx = np.argpartition(strip(a), kth, axis=axis, kind=kind)
    return np.take_along_axis(a, idx, axis=axis)


# --- piecewise and apply_along_axis ---------------------------------------------------
@implements(np.piecewise)
def piecewise(x: Any, condlist: Any, funclist: Any, *args: Any, **kw: Any) -> Any:
    """Differentiable ``numpy.piecewise``, in ``x`` and in whatever the pieces
    compute (functions closing over traced values, traced constants). Each
    function sees only the elements its condition selects, as in NumPy.

    >>> import chainrule as cr, numpy as np
    >>> f = lambda x: np.piecewise(x, [x < 0, x >= 0], [lambda v: -v, lambda v: v**2])
    >>> cr.grad(lambda x: f(x).sum())(np.array([-1.0, 3.0]))
    array([-1.,  6.])
    """
    x = _arr(x)
    n2 = len(funclist)
    xv = strip(x)
    condlist = strip(condlist) if is_traced(condlist) else strip_tree(condlist)
    if np.isscalar(condlist) or (
        not isinstance(condlist[0], (list, np.ndarray)) and np.ndim(xv) != 0
    ):
        condlist = [condlist]
    # np.stack rather than np.asarray of the list: a condition computed from a
    # value staged by cr.jit stays recorded (see _util.as_array)
    condlist = np.stack([as_array(c, bool) for c in condlist])
    n = len(condlist)
    if n == n2 - 1:  # the extra function is for "otherwise"
        condelse = ~np.any(condlist, axis=0, keepdims=True)
        condlist = np.concatenate([condlist, condelse], axis=0)
        n += 1
    elif n != n2:
        raise ValueError(f"with {n} condition(s), either {n} or {n + 1} functions are expected")
    y = np.zeros_like(xv)
    for cond, func in zip(condlist, funclist):
        if not callable(func):
            y = at(y)[cond].set(func)
        else:
            vals = x[cond]
            if vals.size > 0:
                y = at(y)[cond].set(func(vals, *args, **kw))
    return y


@implements(np.apply_along_axis)
def apply_along_axis(func1d: Any, axis: int, arr: Any, *args: Any, **kwargs: Any) -> Any:
    """Differentiable ``numpy.apply_along_axis``: ``func1d`` runs on each 1-d
    slice (a traced value when ``arr`` is traced) and the results are stacked
    as NumPy stacks them.

    >>> import chainrule as cr, numpy as np
    >>> f = lambda a: np.apply_along_axis(lambda r: r @ r, 1, a).sum()
    >>> cr.grad(f)(np.array([[1.0, 2.0], [3.0, 4.0]]))
    array([[2., 4.],
           [6., 8.]])
    """
    arr = _arr(arr)
    nd = arr.ndim
    axis = int(axis)
    if not -nd <= axis < nd:
        raise np.exceptions.AxisError(axis, nd)
    axis %= nd
    moved = np.moveaxis(arr, axis, -1)
    lead = moved.shape[:-1]
    if 0 in lead:
        raise ValueError("Cannot apply_along_axis when any iteration dimensions are 0")
    results = [_arr(func1d(moved[ind], *args, **kwargs)) for ind in np.ndindex(lead)]
    dtype = strip(results[0]).dtype
    res_nd = results[0].ndim
    buff = np.reshape(np.stack(results), lead + results[0].shape)
    if strip(buff).dtype != dtype:  # NumPy fills a buffer of the first result's dtype
        buff = buff.astype(dtype)
    dims = list(range(buff.ndim))
    perm = dims[:axis] + dims[buff.ndim - res_nd :] + dims[axis : buff.ndim - res_nd]
    return np.transpose(buff, perm)


# --- real_if_close ---------------------------------------------------------------------
@implements(np.real_if_close)
@plain_falls_through(np.real_if_close)
def real_if_close(a: Any, tol: Any = 100) -> Any:
    """Differentiable ``numpy.real_if_close``: the real part when every
    imaginary part is within ``tol`` machine epsilons of 0 (decided on the
    values), else ``a`` unchanged."""
    a = _arr(a)
    dtype = strip(a).dtype
    if not np.issubdtype(dtype, np.complexfloating):
        return a
    if tol > 1:
        tol = np.finfo(dtype).eps * tol
    if np.all(np.abs(strip(a).imag) < tol):
        return np.real(a)
    return a
