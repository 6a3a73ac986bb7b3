"""``numpy.unique`` and the array-API ``unique_*`` functions, differentiable in
the unique values.

Each unique value equals every element (or, with ``axis=``, every slice) of
its group of equal ones, so near a point the values are a linear function of
the input: which elements are equal is locally fixed where they differ and is
a tie where they are equal. At a tie the derivative follows the convention of
``max`` ties (docs/conventions.md): a unique value moves by the *mean* of the
tangents of its occurrences, and its cotangent is *split evenly* among them.
That map and its transpose are the rules (so ``jacfwd == jacrev``); where no
values are tied it is the plain permutation finite differences see. The
companions ``return_index``, ``return_inverse`` and ``return_counts`` are
integers, computed from the plain values, with no derivative.
"""

from __future__ import annotations

import inspect
from typing import Any

import numpy as np

from .._backends import is_foreign, library
from ..core.batching import Batched, per_example_marked
from ..core.primitive import Primitive
from ..core.registry import implements
from ..core.trace import is_traced, strip
from ..errors import no_rule_error
from ._util import allow_complex, as_array, ndim_of, shape_of
from .shape import moveaxis, reshape


# --- the group mean and its transpose, on the axis -2 of (..., N, R) stacks --------------
def _segment_mean_impl(t: np.ndarray, inverse: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """``(..., N, R) -> (..., K, R)``: the mean over each group of rows."""
    if type(inverse) is Batched:  # groups per example (np.unique under cr.vmap)
        return per_example_marked(_segment_mean_impl, t, inverse, counts)
    rows = np.moveaxis(t, -2, 0)
    out = np.zeros((counts.shape[0],) + rows.shape[1:], dtype=np.result_type(t, 1.0))
    np.add.at(out, inverse, rows)
    out /= counts.reshape((-1,) + (1,) * (rows.ndim - 1))
    return np.moveaxis(out, 0, -2)


def _spread_mean_impl(g: np.ndarray, inverse: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """``(..., K, R) -> (..., N, R)``: each row gets its group's share ``g_k / c_k``."""
    if type(inverse) is Batched:
        return per_example_marked(_spread_mean_impl, g, inverse, counts)
    return (g / counts[:, None])[..., inverse, :]


segment_mean_p = Primitive("segment_mean", _segment_mean_impl)
spread_mean_p = Primitive("spread_mean", _spread_mean_impl)
segment_mean_p.defvjp(lambda ans, t, inv, cnt: lambda g: spread_mean_p(g, inv, cnt))
segment_mean_p.defjvp(lambda dt, ans, t, inv, cnt: segment_mean_p(dt, inv, cnt))
spread_mean_p.defvjp(lambda ans, g, inv, cnt: lambda c: segment_mean_p(c, inv, cnt))
spread_mean_p.defjvp(lambda dg, ans, g, inv, cnt: spread_mean_p(dg, inv, cnt))


# unique_p(x, index, inverse, counts): rows ``index`` of the (N, R) array ``x`` -- the
# exact unique values -- with the derivative of the group means (equal to them here).
def _unique_impl(x: np.ndarray, index: np.ndarray, inv: np.ndarray, cnt: np.ndarray) -> np.ndarray:
    if type(index) is Batched:
        return per_example_marked(_unique_impl, x, index, inv, cnt)
    return x[..., index, :]


unique_p = Primitive("unique", _unique_impl)
unique_p.defvjp(lambda ans, x, index, inv, cnt: lambda g: spread_mean_p(g, inv, cnt))
unique_p.defjvp(lambda t, ans, x, index, inv, cnt: segment_mean_p(t, inv, cnt))
allow_complex(segment_mean_p, spread_mean_p, unique_p)


# NumPy 2.3 added ``sorted=``; older versions always sort (and refuse the keyword).
_HAS_SORTED = "sorted" in inspect.signature(np.unique).parameters


def _sorted_kw(sorted_: bool) -> dict:
    return {} if sorted_ is True or not _HAS_SORTED else {"sorted": sorted_}


def _differentiable_values(ar: Any, axis: Any, equal_nan: bool, sorted_: bool) -> tuple:
    """(unique values as a traced array, index, inverse, counts) for traced ``ar``."""
    plain = strip(ar)
    _, index, inverse, counts = np.unique(
        plain,
        return_index=True,
        return_inverse=True,
        return_counts=True,
        axis=axis,
        equal_nan=equal_nan,
        **_sorted_kw(sorted_),
    )
    # (a batch mark, under cr.vmap, stays one: each example's inverse)
    inv = (inverse if type(inverse) is Batched else as_array(inverse)).reshape(-1)
    if axis is None:
        u = reshape(unique_p(reshape(ar, (-1, 1)), index, inv, counts), (-1,))
    else:
        ax = int(axis) % max(ndim_of(ar), 1)
        moved = moveaxis(ar, ax, 0)
        rest = shape_of(moved)[1:]
        rows = reshape(moved, (shape_of(moved)[0], int(np.prod(rest))))
        u = moveaxis(reshape(unique_p(rows, index, inv, counts), (len(index),) + rest), 0, ax)
    return u, index, inverse, counts


@implements(np.unique)
def unique(
    ar: Any,
    return_index: bool = False,
    return_inverse: bool = False,
    return_counts: bool = False,
    axis: Any = None,
    *,
    equal_nan: bool = True,
    sorted: bool = True,  # noqa: A002 - NumPy's name
) -> Any:
    """Differentiable ``numpy.unique``: the unique values carry the derivative
    (a value occurring several times gets the mean of their tangents; its
    cotangent is split evenly among them, like ``max`` ties); the index,
    inverse and counts outputs are integers without one.

    >>> import chainrule as cr, numpy as np
    >>> cr.grad(lambda x: np.sum(np.unique(x) ** 2))(np.array([3.0, 1.0, 3.0]))
    array([3., 2., 3.])
    """
    if not is_traced(ar):
        return np.unique(  # type: ignore[call-overload]  # the flags pick NumPy's overload
            ar,
            return_index,
            return_inverse,
            return_counts,
            axis,
            equal_nan=equal_nan,
            sorted=sorted,
        )
    if np.issubdtype(strip(ar).dtype, np.object_):
        raise no_rule_error("numpy.unique of an object array")
    if is_foreign(strip(ar)) and library(strip(ar)) == "dask":
        raise NotImplementedError(
            "numpy.unique of a Dask array inside a function being differentiated: its length "
            "depends on the values, so Dask cannot give it lazily. Compute the array first "
            "(x.compute()), or differentiate a function that does not need the unique values."
        )
    u, index, inverse, counts = _differentiable_values(ar, axis, equal_nan, sorted)
    extra = [
        r
        for flag, r in ((return_index, index), (return_inverse, inverse), (return_counts, counts))
        if flag
    ]
    if not extra:
        # NumPy's own call, for the exact shape and order of what it returns without
        # the companions (the same values; checked, since the rules rely on it).
        want = np.unique(strip(ar), axis=axis, equal_nan=equal_nan, **_sorted_kw(sorted))
        if not np.array_equal(want, strip(u), equal_nan=True):  # pragma: no cover - NumPy's
            raise no_rule_error(
                "numpy.unique", "an order of its values that chainrule did not expect"
            )
        return u
    return (u, *extra)


# --- the array-API spellings --------------------------------------------------------------
if hasattr(np, "unique_all"):
    _AllResult = type(np.unique_all(np.zeros(1)))
    _CountsResult = type(np.unique_counts(np.zeros(1)))
    _InverseResult = type(np.unique_inverse(np.zeros(1)))

    @implements(np.unique_values)
    def unique_values(x: Any) -> Any:
        """Differentiable ``numpy.unique_values`` (see ``unique``)."""
        return unique(x, equal_nan=False, sorted=False)

    @implements(np.unique_counts)
    def unique_counts(x: Any) -> Any:
        """Differentiable ``numpy.unique_counts``: the values carry the derivative."""
        return _CountsResult(*unique(x, return_counts=True, equal_nan=False))

    @implements(np.unique_inverse)
    def unique_inverse(x: Any) -> Any:
        """Differentiable ``numpy.unique_inverse``: the values carry the derivative."""
        values, inverse = unique(x, return_inverse=True, equal_nan=False)
        return _InverseResult(values, np.reshape(inverse, np.shape(strip(x))))

    @implements(np.unique_all)
    def unique_all(x: Any) -> Any:
        """Differentiable ``numpy.unique_all``: the values carry the derivative."""
        values, index, inverse, counts = unique(
            x, return_index=True, return_inverse=True, return_counts=True, equal_nan=False
        )
        return _AllResult(values, index, np.reshape(inverse, np.shape(strip(x))), counts)
