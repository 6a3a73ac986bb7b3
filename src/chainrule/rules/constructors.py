"""Constructors.

* Those that take a shape from an array: ``full_like`` is the one whose value
  can carry a derivative (``zeros_like``/``ones_like``/``empty_like`` are
  non-differentiable, in ``nondiff.py``).
* NumPy's constructors with a ``like=`` argument (``np.ones(3, like=x)``,
  ``np.arange``, ``np.eye``, ``np.array``, ...). NumPy hands such a call to
  ``type(like).__array_function__`` (without the ``like`` argument), the only
  way these functions reach a traced value: the traced ``like`` supplies the
  namespace and nothing else, so the result is NumPy's plain constant, as
  without ``like``. Values that are traced themselves keep their derivative:
  the contents of ``np.array([x0, x1], like=x)`` (stacked) and the fill value of
  ``np.full(shape, v, like=x)``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .._backends import is_foreign
from ..core.registry import implements
from ..core.trace import Tracer, is_traced, strip
from ._util import shape_of
from .shape import astype, broadcast_to, reshape, stack

# NumPy's own, called untyped: their overloads cannot take pass-through arguments.
_np_full_like: Any = np.full_like
_np_full: Any = np.full


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
        if is_foreign(plain) and order == "K" and subok is True:  # Dask's takes neither
            return _np_full_like(plain, fill_value, dtype=dtype, shape=shape, **kwargs)
        return _np_full_like(
            plain, fill_value, dtype=dtype, order=order, subok=subok, shape=shape, **kwargs
        )
    target = np.dtype(dtype) if dtype is not None else np.result_type(plain)
    if target.kind not in "fc":
        return np.full_like(plain, strip(fill_value), dtype=target, shape=shape)
    out_shape = shape_of(plain) if shape is None else tuple(int(n) for n in np.atleast_1d(shape))
    filled = broadcast_to(fill_value, out_shape)
    filled = astype(filled, target) if strip(filled).dtype != target else filled
    return filled * np.ones((), dtype=target)  # a writable array, like NumPy's


# --- like= constructors -----------------------------------------------------------------
# Their other arguments are shapes, ranges, files and buffers: a traced one among them
# is converted by NumPy, which raises chainrule's conversion error.
_CONSTANTS = (
    "arange empty eye identity ones zeros tri frombuffer fromfile fromiter fromstring "
    "loadtxt genfromtxt fromfunction"
).split()


def _constant(numpy_function: Any) -> Any:
    def constant(*args: Any, **kwargs: Any) -> Any:
        return numpy_function(*args, **kwargs)

    constant.__name__ = constant.__qualname__ = numpy_function.__name__
    constant.__doc__ = (
        f"``numpy.{numpy_function.__name__}`` called with a traced ``like=``: NumPy's plain "
        "result (``like`` only chooses the namespace; a constant has no derivative)."
    )
    return constant


for _name in _CONSTANTS:
    if hasattr(np, _name):
        implements(getattr(np, _name))(_constant(getattr(np, _name)))


def _has_tracer(obj: Any) -> bool:
    if is_traced(obj):
        return True
    return isinstance(obj, (list, tuple)) and any(_has_tracer(o) for o in obj)


def _nested(obj: Any) -> Any:
    """A (differentiable) array from nested lists/tuples holding traced values."""
    if isinstance(obj, (list, tuple)):
        if not _has_tracer(obj):
            return np.array(obj)
        return stack([_nested(o) for o in obj])
    return obj if is_traced(obj) else np.asarray(obj)


def _array_constructor(numpy_function: Any) -> Any:
    def build(obj: Any, dtype: Any = None, *args: Any, **kwargs: Any) -> Any:
        if not _has_tracer(obj):
            return numpy_function(obj, dtype, *args, **kwargs)
        out = _nested(obj)
        if dtype is not None and strip(out).dtype != np.dtype(dtype):
            out = astype(out, dtype)
        ndmin = int(kwargs.get("ndmin", 0))
        if out.ndim < ndmin:
            out = reshape(out, (1,) * (ndmin - out.ndim) + out.shape)
        return out

    build.__name__ = build.__qualname__ = numpy_function.__name__
    build.__doc__ = (
        f"``numpy.{numpy_function.__name__}`` called with a traced ``like=``: NumPy's plain "
        "array from plain contents; traced contents (nested lists of traced values) are "
        "stacked, keeping their derivative."
    )
    return build


for _name in ("array", "asarray", "asanyarray", "ascontiguousarray", "asfortranarray", "require"):
    implements(getattr(np, _name))(_array_constructor(getattr(np, _name)))


@implements(np.full)
def full(shape: Any, fill_value: Any, dtype: Any = None, order: str = "C", **kwargs: Any) -> Any:
    """``numpy.full`` called with a traced ``like=``: differentiable in a traced
    ``fill_value`` (its derivative is the sum over the filled array), NumPy's
    plain array otherwise.

    >>> import chainrule as cr, numpy as np
    >>> float(cr.grad(lambda v: np.sum(np.full((2, 3), v, like=v)))(2.0))
    6.0
    """
    if not is_traced(fill_value):
        return _np_full(shape, fill_value, dtype, order, **kwargs)
    target = np.dtype(dtype) if dtype is not None else strip(fill_value).dtype
    if target.kind not in "fc":
        return _np_full(shape, strip(fill_value), target, order, **kwargs)
    out_shape = tuple(int(n) for n in np.atleast_1d(shape))
    filled = broadcast_to(fill_value, out_shape)
    filled = astype(filled, target) if strip(filled).dtype != target else filled
    return filled * np.ones((), dtype=target)
