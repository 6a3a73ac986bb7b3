"""NumPy 2's array-API spellings of functions that already have rules
(``linalg.diagonal``, ``linalg.trace``, ``linalg.matrix_transpose``,
``cumulative_sum``/``cumulative_prod``), the NaN-skipping ``nanvar``/``nanstd``
and ``linalg.cond``: composites of differentiable functions, so both modes and
every order come from their parts."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..core.registry import implements
from ..core.trace import Tracer, strip
from ..errors import conversion_error

_NO_VALUE = np._NoValue  # NumPy's "argument not given"


@implements(np.linalg.diagonal)
def linalg_diagonal(x: Any, /, *, offset: int = 0) -> Any:
    """Differentiable ``numpy.linalg.diagonal``: the diagonal of the last two axes."""
    return np.diagonal(x, offset, axis1=-2, axis2=-1)


@implements(np.linalg.trace)
def linalg_trace(x: Any, /, *, offset: int = 0, dtype: Any = None) -> Any:
    """Differentiable ``numpy.linalg.trace``: the trace of the last two axes."""
    return np.trace(x, offset, axis1=-2, axis2=-1, dtype=dtype)


@implements(np.linalg.matrix_transpose)
def linalg_matrix_transpose(x: Any, /) -> Any:
    """Differentiable ``numpy.linalg.matrix_transpose``."""
    if np.ndim(x) < 2:
        raise ValueError("Input array must be at least 2-dimensional")
    return np.swapaxes(x, -1, -2)


def _cumulative(cum: Any, start: float, name: str) -> Any:
    def impl(
        x: Any,
        /,
        *,
        axis: Any = None,
        dtype: Any = None,
        out: Any = None,
        include_initial: bool = False,
    ) -> Any:
        if out is not None:
            raise conversion_error(f"Writing the result of numpy.{name} into out=")
        if axis is None:
            if np.ndim(x) != 1:
                raise ValueError(
                    f"axis must be specified for numpy.{name} of a multi-dimensional array"
                )
            axis = 0
        result = cum(x, axis=axis, dtype=dtype)
        if not include_initial:
            return result
        shape = list(np.shape(result))
        shape[axis] = 1
        first = np.full(shape, start, dtype=np.result_type(result))
        return np.concatenate([first, result], axis=axis)

    impl.__name__ = impl.__qualname__ = name
    impl.__doc__ = f"Differentiable ``numpy.{name}``."
    return impl


if hasattr(np, "cumulative_sum"):
    implements(np.cumulative_sum)(_cumulative(np.cumsum, 0.0, "cumulative_sum"))
    implements(np.cumulative_prod)(_cumulative(np.cumprod, 1.0, "cumulative_prod"))


@implements(np.nanvar)
def nanvar(
    a: Any,
    axis: Any = None,
    dtype: Any = None,
    out: Any = None,
    ddof: float = 0,
    keepdims: Any = _NO_VALUE,
    **kwargs: Any,
) -> Any:
    """Differentiable ``numpy.nanvar``: NaN entries are left out, and carry no derivative."""
    if out is not None:
        raise conversion_error("Writing the result of numpy.nanvar into out=")
    if kwargs:
        raise TypeError(f"chainrule's nanvar does not take {sorted(kwargs)}")
    keep = bool(keepdims) if keepdims is not _NO_VALUE else False
    mask = np.logical_not(np.isnan(a))
    # NaN entries are replaced before any arithmetic, so that no NaN reaches a
    # derivative (0 * NaN would be NaN in the cotangent).
    clean = np.where(mask, a, 0.0)
    n = np.sum(mask, axis=axis, keepdims=True)
    mean = np.sum(clean, axis=axis, keepdims=True, dtype=dtype) / n
    dev = np.where(mask, clean - mean, 0.0)
    sq = dev * np.conj(dev) if np.iscomplexobj(a) else dev * dev
    var = np.sum(sq, axis=axis, keepdims=True) / (n - ddof)
    if np.iscomplexobj(a):
        var = np.real(var)
    return var if keep else np.squeeze(var, axis=axis)


@implements(np.nanstd)
def nanstd(
    a: Any,
    axis: Any = None,
    dtype: Any = None,
    out: Any = None,
    ddof: float = 0,
    keepdims: Any = _NO_VALUE,
    **kwargs: Any,
) -> Any:
    """Differentiable ``numpy.nanstd``."""
    return np.sqrt(nanvar(a, axis, dtype, out, ddof, keepdims, **kwargs))


@implements(np.linalg.cond)
def cond(x: Any, p: Any = None) -> Any:
    """Differentiable ``numpy.linalg.cond``: the ratio of the extreme singular
    values for ``p`` in (None, 2, -2), else ``norm(x, p) * norm(inv(x), p)``."""
    if p is None or p == 2 or p == -2:
        s = np.linalg.svd(x, compute_uv=False)
        return s[..., 0] / s[..., -1] if p != -2 else s[..., -1] / s[..., 0]
    return np.linalg.norm(x, p, axis=(-2, -1)) * np.linalg.norm(np.linalg.inv(x), p, axis=(-2, -1))


@implements(np.linalg.tensorinv)
def tensorinv(a: Any, ind: int = 2) -> Any:
    """Differentiable ``numpy.linalg.tensorinv``: the inverse of ``a`` read as a
    matrix (the first ``ind`` axes against the rest), shaped back."""
    shape = np.shape(a)
    if ind <= 0:
        raise ValueError("Invalid ind argument.")
    rows, cols = shape[:ind], shape[ind:]
    inv = np.linalg.inv(np.reshape(a, (int(np.prod(rows)), -1)))
    return np.reshape(inv, cols + rows)


@implements(np.linalg.tensorsolve)
def tensorsolve(a: Any, b: Any, axes: Any = None) -> Any:
    """Differentiable ``numpy.linalg.tensorsolve``: ``tensordot(a, x, x.ndim) = b``
    solved as one square linear system."""
    if axes is not None:
        n = np.ndim(a)
        axes = [ax % n for ax in axes]
        order = [k for k in range(n) if k not in axes] + list(axes)
        a = np.transpose(a, order)
    b_shape = np.shape(b)
    x_shape = np.shape(a)[len(b_shape) :]
    m = int(np.prod(b_shape))
    x = np.linalg.solve(np.reshape(a, (m, -1)), np.reshape(b, (m,)))
    return np.reshape(x, x_shape)


@implements(np.block)
def block(arrays: Any) -> Any:
    """Differentiable ``numpy.block``: nested lists of blocks, the innermost
    joined along the last axis, each outer level along the one before."""

    def depth(a: Any) -> int:
        if isinstance(a, tuple):
            raise TypeError("np.block takes nested lists, not tuples")
        return 1 + depth(a[0]) if isinstance(a, list) and a else 0

    def leaves(a: Any) -> list[Any]:
        return [leaf for x in a for leaf in leaves(x)] if isinstance(a, list) else [a]

    d = depth(arrays)
    ndim = max([d] + [np.ndim(leaf) for leaf in leaves(arrays)])

    def build(a: Any, level: int) -> Any:
        if isinstance(a, list):
            if depth(a) != d - level:
                raise ValueError("List depths are mismatched in np.block's argument")
            return np.concatenate([build(x, level + 1) for x in a], axis=level - d)
        shape = np.shape(a)
        return np.reshape(a, (1,) * (ndim - len(shape)) + tuple(shape))

    return build(arrays, 0)


@implements(np.resize)
def resize(a: Any, new_shape: Any) -> Any:
    """Differentiable ``numpy.resize``: ``a``'s entries repeated in order to fill ``new_shape``."""
    shape = (new_shape,) if isinstance(new_shape, (int, np.integer)) else tuple(new_shape)
    if any(s < 0 for s in shape):
        raise ValueError("all elements of `new_shape` must be non-negative")
    flat = np.reshape(a, (-1,))
    size, total = int(np.size(strip(a))), int(np.prod(shape))
    if size == 0 or total == 0:
        return np.zeros(shape, dtype=np.result_type(strip(a))) * np.sum(flat)
    reps = -(-total // size)
    return np.reshape(np.tile(flat, reps)[:total], shape)


@implements(np.compress)
def compress(condition: Any, a: Any, axis: Any = None, out: Any = None) -> Any:
    """Differentiable ``numpy.compress``: the entries where the (plain) condition holds."""
    if out is not None:
        raise conversion_error("Writing the result of numpy.compress into out=")
    if isinstance(condition, Tracer):
        # x.compress(cond) reaches here with the arguments swapped (the method
        # forwards as np.compress(x, cond)): refuse rather than select wrongly.
        raise TypeError(
            "a traced condition for numpy.compress: for a traced x write "
            "np.compress(condition, x, axis), not x.compress(condition)"
        )
    cond = np.asarray(condition, dtype=bool)
    if cond.ndim != 1:
        raise ValueError("condition must be a 1-d array")
    if axis is None:
        a, axis = np.reshape(a, (-1,)), 0
    return np.take(a, np.nonzero(cond)[0], axis=axis)


@implements(np.extract)
def extract(condition: Any, arr: Any) -> Any:
    """Differentiable ``numpy.extract``: ``arr``'s entries where the (plain) condition holds."""
    cond = np.ravel(np.asarray(strip(condition))).astype(bool)
    return np.take(np.reshape(arr, (-1,)), np.nonzero(cond)[0])
