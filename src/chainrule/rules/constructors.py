"""Constructors that take a shape from an array: ``full_like`` is the one
whose value can carry a derivative (``zeros_like``/``ones_like``/``empty_like``
are non-differentiable, in ``nondiff.py``)."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..core.registry import implements
from ..core.trace import Tracer, strip
from ._util import shape_of
from .shape import astype, broadcast_to


@implements(np.full_like)
def full_like(
    a: Any,
    fill_value: Any,
    dtype: Any = None,
    order: str = "K",
    subok: bool = True,
    shape: Any = None,
    **kwargs: Any,
) -> Any:
    """``numpy.full_like``: differentiable in ``fill_value`` (its derivative
    is the sum over the filled array); ``a`` only lends its shape and dtype.

    >>> import chainrule as cr, chainrule.numpy as cnp, numpy as np
    >>> float(cr.grad(lambda v: cnp.sum(cnp.full_like(np.zeros(3), v)))(2.0))
    3.0
    """
    plain = strip(a)
    if not isinstance(fill_value, Tracer):
        return np.full_like(
            plain, fill_value, dtype=dtype, order=order, subok=subok, shape=shape, **kwargs
        )
    target = np.dtype(dtype) if dtype is not None else np.result_type(plain)
    if target.kind not in "fc":
        return np.full_like(plain, strip(fill_value), dtype=target, shape=shape)
    out_shape = shape_of(plain) if shape is None else tuple(int(n) for n in np.atleast_1d(shape))
    filled = broadcast_to(fill_value, out_shape)
    filled = astype(filled, target) if strip(filled).dtype != target else filled
    return filled * np.ones((), dtype=target)  # a writable array, like NumPy's
