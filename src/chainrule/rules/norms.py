"""``numpy.linalg.norm``, every ``ord``, as a composition of differentiable
reductions (it follows NumPy's own case analysis, so values agree).

Conventions at non-differentiable points:

* The 2-norm (and ``'fro'``) at the zero vector/matrix: derivative 0, the
  zero subgradient, instead of ``0/0``; likewise every p-norm with ``p > 0``.
* Elements equal to 0 inside ``|x|**p`` with ``p < 1`` (including negative
  ``p``): derivative 0 instead of an infinite one.
* ``ord=1``/``inf`` and their negatives: ``|x|`` has derivative 0 at 0 and the
  ``max``/``min`` over rows or columns splits ties evenly.
* ``ord=0`` counts the nonzero elements: piecewise constant, derivative 0.
* The spectral norms (``ord=2``/``-2`` and ``'nuc'`` of matrices) are
  functions of the singular values, differentiated by the rule of
  ``numpy.linalg.svd`` (rules/linalg.py; its conventions apply: derivative 0
  at a zero singular value). At repeated singular values reverse mode splits
  the derivative evenly among the tied ones (as ``max`` does); forward mode
  raises the svd rule's ``NotImplementedError`` there.
* Complex input: every order works, with ``|x|`` the modulus and the spectral
  norms through svd's complex rule; ``grad`` gives ``df/dx - i df/dy``
  (docs/design.md, "Complex numbers").
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..core.registry import implements
from ..core.trace import strip
from ._util import keepdims_shape, ndim_of, normalize_axes, shape_of
from .reductions import (
    abs_squared,
    axes_last,
    max,
    min,
    plain_falls_through,
    sqrt_zero_grad,
    sum,
)
from .shape import moveaxis, ravel, reshape, where


def _modulus(x: Any) -> Any:
    """``|x|``; for complex ``x`` as ``sqrt(re**2 + im**2)`` (derivative 0 at 0)."""
    if np.iscomplexobj(strip(x)):
        return sqrt_zero_grad(abs_squared(x))
    return abs(x)


def _abs_pow(x: Any, p: float) -> Any:
    """``|x| ** p``, with derivative 0 at ``x == 0`` to every order (instead of
    an infinite one for ``p < 2``); ``inf`` there for negative ``p``, as in NumPy.
    Even powers are smooth at 0 and keep their exact derivatives."""
    real = not np.iscomplexobj(strip(x))
    if p == 2 and real:
        return x * x
    if p > 0 and float(p).is_integer() and int(p) % 2 == 0 and real:
        return x**p
    a = _modulus(x)
    zero = strip(a) == 0
    if not np.any(zero):
        return a**p
    at_zero = np.array(0.0 if p > 0 else np.inf, dtype=strip(a).dtype)
    return where(zero, at_zero, where(zero, 1.0, a) ** p)


def _root(s: Any, p: float) -> Any:
    """``s ** (1/p)`` with derivative 0 at ``s == 0`` (the zero vector)."""
    inv = np.reciprocal(np.array(p, dtype=strip(s).dtype))
    zero = strip(s) == 0
    if p < 0 or not np.any(zero):
        return s**inv
    return where(zero, np.zeros((), dtype=strip(s).dtype), where(zero, 1.0, s) ** inv)


def _svd_norm(x: Any, row: int, col: int, reduce: Any) -> Any:
    """``reduce`` of the singular values of the matrices in the axes (row, col),
    differentiated by the rule of ``numpy.linalg.svd(..., compute_uv=False)``."""
    y = moveaxis(x, (row, col), (-2, -1))
    return reduce(np.linalg.svd(y, compute_uv=False), axis=-1)


def _vector_norm(x: Any, ord: Any, axis: tuple, keepdims: bool) -> Any:
    if ord == np.inf:
        return max(_modulus(x), axis=axis, keepdims=keepdims)
    if ord == -np.inf:
        return min(_modulus(x), axis=axis, keepdims=keepdims)
    if isinstance(ord, str):
        raise ValueError(f"Invalid norm order '{ord}' for vectors")
    if ord == 0:
        nonzero = (strip(x) != 0).astype(np.real(strip(x)).dtype)
        return np.sum(nonzero, axis=axis, keepdims=keepdims)
    if ord == 1:
        return sum(_modulus(x), axis=axis, keepdims=keepdims)
    if ord is None or ord == 2:
        return sqrt_zero_grad(sum(abs_squared(x), axis=axis, keepdims=keepdims))
    p = float(ord)
    return _root(sum(_abs_pow(x, p), axis=axis, keepdims=keepdims), p)


def _matrix_norm(x: Any, ord: Any, axis: tuple, keepdims: bool) -> Any:
    nd = ndim_of(x)
    row, col = (int(a) for a in axis)
    if not (-nd <= row < nd and -nd <= col < nd):
        raise np.exceptions.AxisError(row if not -nd <= row < nd else col, nd)
    row, col = row % nd, col % nd
    if row == col:
        raise ValueError("Duplicate axes given.")
    if ord == 2:
        r = _svd_norm(x, row, col, max)
    elif ord == -2:
        r = _svd_norm(x, row, col, min)
    elif ord == "nuc":
        r = _svd_norm(x, row, col, sum)
    elif ord in (1, -1):
        # the largest (smallest) column sum: reduce over rows, then over columns
        r = (max if ord == 1 else min)(sum(_modulus(x), axis=row), axis=col - (col > row))
    elif ord in (np.inf, -np.inf):
        # the largest (smallest) row sum
        r = (max if ord == np.inf else min)(sum(_modulus(x), axis=col), axis=row - (row > col))
    elif ord in (None, "fro", "f"):
        r = sqrt_zero_grad(sum(abs_squared(x), axis=(row, col)))
    else:
        raise ValueError("Invalid norm order for matrices.")
    if keepdims:
        shape = list(shape_of(x))
        shape[row] = shape[col] = 1
        r = reshape(r, tuple(shape))
    return r


@implements(np.linalg.norm)
@plain_falls_through(np.linalg.norm)
def norm(x: Any, ord: Any = None, axis: Any = None, keepdims: bool = False) -> Any:
    """Differentiable ``numpy.linalg.norm``: vector norms (``ord`` None, 2, 1,
    ``inf``, ``-inf``, 0, any p) and matrix norms (``'fro'``, ``'nuc'``, 1,
    -1, 2, -2, ``inf``, ``-inf``) over ``axis`` (an int, or a pair for
    matrices), with ``keepdims``.

    At the zero vector (and zero matrix, ``'fro'``) the derivative is 0, the
    zero subgradient, never NaN. ``ord=0`` (a count) has derivative 0. The
    spectral norms (matrix ``ord=2``, ``-2``, ``'nuc'``) are differentiated
    through ``numpy.linalg.svd``.

    >>> import chainrule as cr, numpy as np
    >>> cr.grad(np.linalg.norm)(np.array([3.0, 4.0]))
    array([0.6, 0.8])
    >>> cr.grad(np.linalg.norm)(np.zeros(2))
    array([0., 0.])
    """
    nd = ndim_of(x)
    if 0 in shape_of(x):  # no elements: a constant, with nothing to differentiate
        return np.linalg.norm(strip(x), ord, axis, keepdims)
    if axis is None:
        if ord is None or (ord in ("f", "fro") and nd == 2) or (ord == 2 and nd == 1):
            r = sqrt_zero_grad(sum(abs_squared(x)))
            return reshape(r, (1,) * nd) if keepdims else r
        axis = tuple(range(nd))
    elif not isinstance(axis, tuple):
        try:
            axis = (int(axis),)
        except Exception as e:
            raise TypeError("'axis' must be None, an integer or a tuple of integers") from e
    if len(axis) == 1:
        return _vector_norm(x, ord, axis, keepdims)
    if len(axis) == 2:
        return _matrix_norm(x, ord, axis, keepdims)
    raise ValueError("Improper number of dimensions to norm.")


if hasattr(np.linalg, "vector_norm"):  # NumPy >= 2.0

    @implements(np.linalg.vector_norm)
    @plain_falls_through(np.linalg.vector_norm)
    def vector_norm(x: Any, /, *, axis: Any = None, keepdims: bool = False, ord: Any = 2) -> Any:
        """Differentiable ``numpy.linalg.vector_norm``: ``norm`` of the elements
        over ``axis`` (None: all; a tuple: those axes together), same conventions."""
        shape = shape_of(x)
        if axis is None or isinstance(axis, tuple):
            axes = normalize_axes(axis, len(shape))
            y = ravel(x) if axis is None else axes_last(x, axes)[0]
            r = norm(y, ord=ord, axis=-1)
        else:
            axes = normalize_axes(axis, len(shape))
            r = norm(x, ord=ord, axis=axis)
        return reshape(r, keepdims_shape(shape, axes)) if keepdims else r

    @implements(np.linalg.matrix_norm)
    @plain_falls_through(np.linalg.matrix_norm)
    def matrix_norm(x: Any, /, *, keepdims: bool = False, ord: Any = "fro") -> Any:
        """Differentiable ``numpy.linalg.matrix_norm``: ``norm`` over the last two axes."""
        return norm(x, ord=ord, axis=(-2, -1), keepdims=keepdims)
