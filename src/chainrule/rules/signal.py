"""Discrete convolution and correlation: convolve, correlate.

One primitive, ``convolve_window(a, v, lo, hi)``: entries ``lo .. hi - 1`` of
the full convolution of ``a`` and ``v`` along the last axis (zero outside
it), with leading axes broadcast so batches of tangents and cotangents ride
along. Every ``mode`` of both functions is such a window, and
``correlate(a, v)`` is the convolution of ``a`` with ``conj(v)`` reversed.

The convolution is bilinear: its JVP in each argument is the same window of
the convolution with the tangent, and its VJP a window of the convolution of
the cotangent with the other argument reversed (no conjugate: the complex
convention of docs/design.md). Both are the primitive again, so every order
follows, and a window costs its length times the shorter operand's: the
gradient with respect to a short kernel of a long signal never forms the
long-by-long full convolution.
"""

from __future__ import annotations

import functools
import operator
from typing import Any

import numpy as np

from .._backends import is_foreign
from ..core.primitive import Primitive
from ..core.registry import implements
from ..core.trace import is_traced, strip
from ._util import allow_complex, ndim_of, pad_batch, shape_of, unbroadcast


def _window_operands(x: Any, w: Any, lo: int, hi: int) -> Any:
    """``x`` cut or zero-padded so that the valid convolution with ``w`` is
    the window ``[lo, hi)`` of the full convolution of ``x`` and ``w``."""
    n, m = x.shape[-1], w.shape[-1]
    left, right = m - 1 - lo, hi - n  # padding (negative: elements cut off)
    x = x[..., max(0, -left) : n - max(0, -right)]
    if left > 0 or right > 0:
        pad = [(0, 0)] * (x.ndim - 1) + [(max(0, left), max(0, right))]
        x = np.pad(x, pad)
    return x


def _conv_window(a: Any, v: Any, lo: int, hi: int) -> Any:
    n, m = a.shape[-1], v.shape[-1]
    # A Dask (or CuPy) operand: np.convolve would compute it (Dask has none), so
    # the sliding sum below runs in the operand's own kind, lazily, never in place.
    foreign = (
        type(a) is not np.ndarray and is_foreign(a) or (type(v) is not np.ndarray and is_foreign(v))
    )
    if not foreign and a.ndim == 1 and v.ndim == 1 and (lo, hi) == (0, n + m - 1):
        return np.convolve(a, v)
    if n < m:  # convolution commutes: run over the shorter operand
        a, v, n, m = v, a, m, n
    x = _window_operands(a, v, lo, hi)
    if not foreign and x.ndim == 1 and v.ndim == 1:
        return np.convolve(x, v, "valid")
    width = hi - lo
    terms = (v[..., k : k + 1] * x[..., m - 1 - k : m - 1 - k + width] for k in range(m))
    if foreign:
        return functools.reduce(operator.add, terms)
    lead = np.broadcast_shapes(x.shape[:-1], v.shape[:-1])
    out = np.zeros(lead + (width,), dtype=np.result_type(x, v))
    for term in terms:
        out += term
    return out


conv_window_p = Primitive("convolve_window", _conv_window)


def _conv_vjp(ans: Any, x: Any, other: Any, lo: int) -> Any:
    """Cotangent of ``x`` in the window of ``conv(x, other)`` starting at ``lo``:
    ``x_bar[i] = sum_j g[j] other[j + lo - i]``, itself a window of the
    convolution of ``g`` with ``other`` reversed."""
    n, m, nd = shape_of(x)[-1], shape_of(other)[-1], ndim_of(ans)
    xshape = shape_of(x)
    start = m - 1 - lo

    def vjp(g: Any) -> Any:
        r = conv_window_p(g, np.flip(other, axis=-1), start, start + n)
        return unbroadcast(r, xshape, nd)

    return vjp


conv_window_p.defvjp(
    lambda ans, a, v, lo, hi: _conv_vjp(ans, a, v, lo),
    lambda ans, a, v, lo, hi: _conv_vjp(ans, v, a, lo),
)
conv_window_p.defjvp(
    lambda t, ans, a, v, lo, hi: conv_window_p(pad_batch(t, ndim_of(a), ndim_of(ans)), v, lo, hi),
    lambda t, ans, a, v, lo, hi: conv_window_p(a, pad_batch(t, ndim_of(v), ndim_of(ans)), lo, hi),
)
allow_complex(conv_window_p)

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


def _window(n: int, m: int, mode: str, same_offset: int) -> tuple[int, int]:
    """The window of the full convolution that a ``mode`` keeps."""
    if mode == "full":
        return 0, n + m - 1
    big, small = max(n, m), min(n, m)
    if mode == "same":
        return same_offset, same_offset + big
    return small - 1, big


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
    return conv_window_p(a, v, *_window(n, m, mode, (min(n, m) - 1) // 2))


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
    return conv_window_p(a, np.flip(v), *_window(n, m, mode, offset))
