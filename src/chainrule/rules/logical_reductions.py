"""``np.all`` / ``np.any`` (and ``x.all()`` / ``x.any()``) of traced values.

Their result is boolean, so it carries no derivative: they run on the plain
values and record nothing, like the comparisons in ``nondiff``. Under
``cr.vmap`` the batch axis is kept out of the reduction (one answer per
example), with no per-example loop.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..core import batching as _b
from ..core.registry import NONDIFF

NONDIFF.update({np.all, np.any})


def _batched(fn: Any, vals: list, batched: list, kwargs: dict, size: int) -> Any:
    """``fn`` of a batched array (batch on axis 0) reducing each example alone."""
    # (a plain array, or a tracer of a lower level, grad(vmap(f)), whose own
    # protocol then takes the call)
    x = vals[0] if len(vals) == 1 and batched[0] else None
    where = kwargs.get("where", True)
    if type(where) is _b.Batched:  # a mask computed from the batch: batch on axis 0 too
        w = where.view(np.ndarray)  # its .ndim is one example's; the view's counts the batch
        where = w if x is not None and w.ndim == x.ndim else None
    if x is None or where is None or set(kwargs) - {"axis", "keepdims", "where"}:
        # a positional axis, or a mask of another rank: the loop knows what they mean
        return _b.loop_rule(lambda a, k: fn(*a, **k), fn.__name__, vals, batched, kwargs, size)
    ndim = x.ndim - 1  # one example's
    axis = kwargs.get("axis")
    if axis is None:
        axis = tuple(range(ndim))
    elif not isinstance(axis, tuple):
        axis = (axis,)
    shifted = tuple((a + ndim if a < 0 else a) + 1 for a in axis)  # out of range: NumPy says
    return fn(x, axis=shifted, keepdims=kwargs.get("keepdims", False), where=where)


_b.NONDIFF_RULES.setdefault(np.all, _batched)
_b.NONDIFF_RULES.setdefault(np.any, _batched)
