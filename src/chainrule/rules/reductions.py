"""Reductions: sum, mean, max, min, prod.

Axes reach the primitives as sorted tuples of negative integers, so the same
rule serves a batch of cotangents stacked on leading axes.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..core.primitive import Primitive
from ..core.registry import implements
from ..core.trace import strip
from ..errors import conversion_error, no_rule_error
from ._util import batch_lead, keepdims_shape, ndim_of, normalize_axes, shape_of
from .shape import astype


def _spread(g: Any, ans_ndim: int, kshape: tuple, shape: tuple) -> Any:
    """Broadcast the cotangent of a reduction back over the reduced axes."""
    lead = batch_lead(g, ans_ndim)
    return np.broadcast_to(np.reshape(g, lead + kshape), lead + shape)


def _check_plain_kwargs(name: str, out: Any, extra: dict) -> None:
    if out is not None:
        raise conversion_error(f"Writing the result of numpy.{name} into out=")
    unsupported = sorted(k for k, v in extra.items() if v is not np._NoValue)
    if unsupported:
        raise no_rule_error(f"numpy.{name}", f"arguments {unsupported}")


# --- sum and mean ---------------------------------------------------------------
sum_p = Primitive("sum", lambda x, axes, keepdims: np.sum(x, axis=axes, keepdims=keepdims))
sum_p.defvjp(
    lambda ans, x, axes, keepdims: (
        lambda g, n=ndim_of(ans), k=keepdims_shape(shape_of(x), axes), s=shape_of(x): _spread(
            g, n, k, s
        )
    )
)
sum_p.defjvp(lambda t, ans, x, axes, keepdims: np.sum(t, axis=axes, keepdims=keepdims))


@implements(np.sum)
def sum(a: Any, axis: Any = None, dtype: Any = None, out: Any = None, keepdims: bool = False,
        **extra: Any) -> Any:  # fmt: skip
    """Differentiable ``numpy.sum``.

    >>> import chainrule as cr, chainrule.numpy as cnp, numpy as np
    >>> cr.grad(lambda x: cnp.sum(x * x))(np.array([1.0, 2.0]))
    array([2., 4.])
    """
    _check_plain_kwargs("sum", out, extra)
    if dtype is not None:
        a = astype(a, dtype)
    return sum_p(a, normalize_axes(axis, ndim_of(a)), bool(keepdims))


@implements(np.mean)
def mean(a: Any, axis: Any = None, dtype: Any = None, out: Any = None, keepdims: bool = False,
         **extra: Any) -> Any:  # fmt: skip
    """Differentiable ``numpy.mean``."""
    _check_plain_kwargs("mean", out, extra)
    shape = shape_of(a)
    axes = normalize_axes(axis, len(shape))
    count = int(np.prod([shape[ax] for ax in axes]))
    total = sum(a, axes, dtype=dtype, keepdims=keepdims)
    if not np.issubdtype(strip(total).dtype, np.inexact):
        total = astype(total, np.float64)
    return total / count


# --- max and min: the cotangent goes to the winners, split evenly among ties ---
def _extreme(name: str, numpy_fn: Any) -> tuple[Primitive, Any]:
    prim = Primitive(name, lambda x, axes, keepdims: numpy_fn(x, axis=axes, keepdims=keepdims))

    def share(ans: Any, x: Any, axes: tuple) -> Any:
        """1/k at each of the k elements equal to the extreme, 0 elsewhere."""
        xv, av = strip(x), strip(ans)
        hits = xv == np.reshape(av, keepdims_shape(xv.shape, axes))
        return hits / np.sum(hits, axis=axes, keepdims=True)

    def vjp(ans: Any, x: Any, axes: tuple, keepdims: bool) -> Any:
        w, n, k, s = share(ans, x, axes), ndim_of(ans), keepdims_shape(shape_of(x), axes), x.shape
        return lambda g: _spread(g, n, k, s) * w

    def jvp(t: Any, ans: Any, x: Any, axes: tuple, keepdims: bool) -> Any:
        return np.sum(t * share(ans, x, axes), axis=axes, keepdims=keepdims)

    prim.defvjp(vjp).defjvp(jvp)

    def reduce(a: Any, axis: Any = None, out: Any = None, keepdims: bool = False, **extra: Any):
        _check_plain_kwargs(name, out, extra)
        return prim(a, normalize_axes(axis, ndim_of(a)), bool(keepdims))

    reduce.__name__ = name
    reduce.__doc__ = (
        f"Differentiable ``numpy.{name}``. The derivative goes to the element(s) that are the "
        f"{name}; when several tie, it is split evenly among them."
    )
    return prim, reduce


max_p, max = _extreme("max", np.max)
min_p, min = _extreme("min", np.min)
implements(np.max, np.amax)(max)
implements(np.min, np.amin)(min)


# --- prod ---------------------------------------------------------------------
def _prod_share(ans: Any, x: Any, axes: tuple) -> Any:
    """d prod / d x_i = prod / x_i, valid while no element is zero."""
    if np.any(strip(x) == 0):
        raise no_rule_error(
            "numpy.prod at a point where an element is exactly 0",
            "its derivative there is not implemented yet",
        )
    return np.reshape(ans, keepdims_shape(shape_of(x), axes)) / x


prod_p = Primitive("prod", lambda x, axes, keepdims: np.prod(x, axis=axes, keepdims=keepdims))


def _prod_vjp(ans: Any, x: Any, axes: tuple, keepdims: bool) -> Any:
    w, n, s = _prod_share(ans, x, axes), ndim_of(ans), shape_of(x)
    k = keepdims_shape(s, axes)
    return lambda g: _spread(g, n, k, s) * w


prod_p.defvjp(_prod_vjp)
prod_p.defjvp(
    lambda t, ans, x, axes, keepdims: np.sum(
        t * _prod_share(ans, x, axes), axis=axes, keepdims=keepdims
    )
)


@implements(np.prod)
def prod(a: Any, axis: Any = None, dtype: Any = None, out: Any = None, keepdims: bool = False,
         **extra: Any) -> Any:  # fmt: skip
    """Differentiable ``numpy.prod``."""
    _check_plain_kwargs("prod", out, extra)
    if dtype is not None:
        a = astype(a, dtype)
    return prod_p(a, normalize_axes(axis, ndim_of(a)), bool(keepdims))
