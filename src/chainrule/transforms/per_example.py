"""``vmap(grad(f))`` over mapped arguments, computed as one gradient of a sum.

Under ``vmap`` the examples never meet: example ``i``'s output depends on
example ``i``'s slices of the mapped arguments (and on the unmapped ones)
only. So when every argument ``grad`` differentiates is mapped, the
per-example gradients are the gradient of the *sum* over the batch of the
per-example outputs, taken with respect to the whole batched arguments:

    vmap(grad(f))(X)[i] == grad(f)(X[i]) == grad(lambda X: sum(vmap(f)(X)))(X)[i]

The right-hand side records one reverse-mode tape of batched operations on
plain arrays, instead of a tape of batched values (``BatchTracer`` within
``ReverseTracer``): the backward pass then runs on arrays, with every short
path of the reverse trace, and costs what ``grad`` of a vectorised function
costs. The answer is the same; the rounding may differ in the last place.

When a gradient is taken with respect to an argument that is *not* mapped
(``in_axes=None``: per-example gradients of shared parameters), the sum's
gradient would be the sum of the per-example gradients, so that case, and
every other one this module does not cover (``has_aux``, ``holomorphic``,
``value_and_grad``, ``out_axes`` or mapped axes other than 0, ``chunk_size``),
takes the general route: ``grad`` run on batched values.
"""

from __future__ import annotations

import math
import weakref
from collections.abc import Callable
from typing import Any

import numpy as np

_MARK = "__chainrule_grad__"


class GradOf:
    """What ``grad`` attaches to the function it returns: the function it
    differentiates and ``argnums``. ``made`` refers back (weakly) to that
    very function, so a wrapper that copies its ``__dict__``
    (``functools.wraps``) is not mistaken for it."""

    __slots__ = ("made", "fun", "argnums")

    def __init__(self, made: Callable[..., Any], fun: Callable[..., Any], argnums: Any) -> None:
        self.made = weakref.ref(made)
        self.fun = fun
        self.argnums = argnums


def mark_gradient(made: Callable[..., Any], fun: Callable[..., Any], argnums: Any) -> None:
    """Record that ``made`` is ``grad(fun, argnums)`` (no aux, not holomorphic)."""
    setattr(made, _MARK, GradOf(made, fun, argnums))


def gradient_of(fun: Any) -> GradOf | None:
    """``fun``'s mark if ``fun`` itself is a function ``grad`` made, else None."""
    mark = getattr(fun, _MARK, None)
    if type(mark) is GradOf and mark.made() is fun:
        return mark
    return None


class SummedGradient:
    """``vmap(grad(f), in_axes, axis_size=...)`` (``out_axes=0``) as the gradient
    of the summed batch: made once per ``vmap`` call site, applied per call."""

    __slots__ = ("mark", "in_axes", "summed")

    def __init__(self, mark: GradOf, in_axes: Any, axis_size: int | None) -> None:
        from .reverse_mode import grad
        from .vmap import vmap

        self.mark = mark
        self.in_axes = in_axes
        batched = vmap(mark.fun, in_axes=in_axes, axis_size=axis_size)

        def total(*a: Any, **k: Any) -> Any:
            out = batched(*a, **k)
            shape = getattr(out, "shape", None)
            if type(shape) is not tuple or not shape or math.prod(shape[1:]) != 1:
                raise _NotOneScalarEach  # grad's own error follows, by the general route
            return np.sum(out)

        self.summed = grad(total, argnums=mark.argnums)

    def __call__(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        """The per-example gradients, or ``NotImplemented`` where this route
        does not apply (see the module docstring)."""
        argnums, in_axes = self.mark.argnums, self.in_axes
        nums = (argnums,) if isinstance(argnums, int) else tuple(argnums)
        if not nums or any(not isinstance(n, int) or not -len(args) <= n < len(args) for n in nums):
            return NotImplemented  # the general route gives grad's error
        for n in nums:
            axis = in_axes[n % len(args)] if isinstance(in_axes, (tuple, list)) else in_axes
            if not (isinstance(axis, int) and axis == 0):
                return NotImplemented
            if not all(hasattr(leaf, "shape") and leaf.ndim > 0 for leaf in _leaves(args[n])):
                return NotImplemented
        try:
            return self.summed(*args, **kwargs)
        except _NotOneScalarEach:
            return NotImplemented


class _NotOneScalarEach(Exception):
    """The function gave something other than one scalar per example."""


def _leaves(x: Any) -> list[Any]:
    from .. import tree

    return tree.leaves(x)
