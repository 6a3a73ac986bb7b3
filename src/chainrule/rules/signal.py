"""Discrete convolution and correlation: convolve, correlate.

One primitive, the full convolution along the last axis (leading axes
broadcast, so batches of tangents and cotangents ride along). Every ``mode``
of both functions is a slice of it, and ``correlate(a, v)`` is the
convolution of ``a`` with ``conj(v)`` reversed. The convolution is bilinear:
its JVP in each argument is the convolution with the tangent, and its VJP the
valid part of the convolution of the cotangent with the other argument
reversed (no conjugate: the complex convention of docs/design.md), so the
rules are themselves differentiable to any order. Complex inputs work.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..core.primitive import Primitive
from ..core.registry import implements
from ..core.trace import is_traced, strip
from ._util import allow_complex, ndim_of, pad_batch, shape_of, unbroadcast


def _conv_full(a: Any, v: Any) -> Any:
    if a.ndim == 1 and v.ndim == 1:
        return np.convolve(a, v)
    if a.shape[-1] < v.shape[-1]:  # loop over the shorter one
        a, v = v, a
    n, m = a.shape[-1], v.shape[-1]
    lead = np.broadcast_shapes(a.shape[:-1], v.shape[:-1])
    out = np.zeros(lead + (n + m - 1,), dtype=np.result_type(a, v))
    for k in range(m):
        out[..., k : k + n] += v[..., k : k + 1] * a
    return out


conv_full_p = Primitive("convolve_full", _conv_full)


def _conv_vjp(ans: Any, x: Any, other: Any) -> Any:
    n, m, nd = shape_of(x)[-1], shape_of(other)[-1], ndim_of(ans)
    xshape = shape_of(x)

    def vjp(g: Any) -> Any:
        r = conv_full_p(g, np.flip(other, axis=-1))[..., m - 1 : m - 1 + n]
        return unbroadcast(r, xshape, nd)

    return vjp


conv_full_p.defvjp(
    lambda ans, a, v: _conv_vjp(ans, a, v),
    lambda ans, a, v: _conv_vjp(ans, v, a),
)
conv_full_p.defjvp(
    lambda t, ans, a, v: conv_full_p(pad_batch(t, ndim_of(a), ndim_of(ans)), v),
    lambda t, ans, a, v: conv_full_p(a, pad_batch(t, ndim_of(v), ndim_of(ans))),
)
allow_complex(conv_full_p)

_MODES = {0: "valid", 1: "same", 2: "full", "v": "valid", "s": "same", "f": "full"}


def _mode(mode: Any) -> str:
    """NumPy reads only a mode name's first letter."""
    key = mode.lower()[:1] if isinstance(mode, str) else mode
    if key not in _MODES:
        raise ValueError(f"mode must be one of 'valid', 'same', or 'full' (got {mode!r})")
    return _MODES[key]


def _operands(a: Any, v: Any) -> tuple[Any, Any]:
    a = a if is_traced(a) else np.asanyarray(a)
    v = v if is_traced(v) else np.asanyarray(v)
    if a.ndim > 1 or v.ndim > 1:
        raise ValueError("object too deep for desired array")
    a, v = (np.reshape(x, (1,)) if x.ndim == 0 else x for x in (a, v))
    if a.shape[0] == 0:
        raise ValueError("a cannot be empty")
    if v.shape[0] == 0:
        raise ValueError("v cannot be empty")
    return a, v


def _slice(full: Any, n: int, m: int, mode: str, same_offset: int) -> Any:
    if mode == "full":
        return full
    big, small = max(n, m), min(n, m)
    if mode == "same":
        return full[same_offset : same_offset + big]
    return full[small - 1 : big]


@implements(np.convolve)
def convolve(a: Any, v: Any, mode: Any = "full") -> Any:
    """Differentiable ``numpy.convolve``, in both arguments, every ``mode``,
    real or complex.

    >>> import chainrule as cr, numpy as np
    >>> cr.grad(lambda k: np.convolve(np.array([1.0, 2.0, 3.0]), k, "valid").sum())(
    ...     np.array([1.0, 1.0]))
    array([5., 3.])
    """
    if not (is_traced(a) or is_traced(v)):
        return np.convolve(a, v, mode)
    mode = _mode(mode)
    a, v = _operands(a, v)
    n, m = a.shape[0], v.shape[0]
    return _slice(conv_full_p(a, v), n, m, mode, (min(n, m) - 1) // 2)


@implements(np.correlate)
def correlate(a: Any, v: Any, mode: Any = "valid") -> Any:
    """Differentiable ``numpy.correlate`` (``sum_n a[n + k] * conj(v[n])``), in
    both arguments, every ``mode``, real or complex."""
    if not (is_traced(a) or is_traced(v)):
        return np.correlate(a, v, mode)
    mode = _mode(mode)
    a, v = _operands(a, v)
    n, m = a.shape[0], v.shape[0]
    if np.iscomplexobj(strip(v)):
        v = np.conjugate(v)
    offset = (min(n, m) - 1) // 2 if n >= m else min(n, m) // 2
    return _slice(conv_full_p(a, np.flip(v)), n, m, mode, offset)
