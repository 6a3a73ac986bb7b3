"""``chainrule.scipy.signal``: ``convolve``, ``correlate``, ``fftconvolve`` and
``lfilter`` with SciPy's signatures, differentiable in every array argument
(real or complex).

Plain ``scipy.signal`` calls convert their inputs with ``np.asarray`` and so
refuse traced values: use these instead. Other names fall through to
``scipy.signal``.

Every ``mode`` of the convolutions is a window of the full convolution:
1-d inputs use the primitive of ``numpy.convolve`` (``rules/signal.py``),
N-d inputs its N-d sibling (``_convnd.py``).

``lfilter`` is split into differentiable pieces. With ``a`` normalised so
that ``a[0] = 1`` and ``A(z) = 1 + c_1 z^-1 + ... + c_K z^-K``, the output is
``y = (1/A) w`` with ``w = b * x + zi`` (the causal part of the convolution,
plus the initial state on the first samples: SciPy's transposed direct form
II starting from ``zi`` responds exactly as ``1/A`` to that input), and the
final state is the tail of ``b * x + zi - a * y`` past the last sample.
Only the all-pole filter ``1/A`` is a new primitive (``allpole``):

* in ``w`` it is linear: JVP ``(1/A) dw``; VJP ``R (1/A) R g``, the same filter
  run backwards in time (``R`` reverses time: the transpose of a causal
  Toeplitz matrix is the anti-causal one);
* in ``c``: from ``A y = w``, ``dy = -(1/A)(dc * y)``, so the VJP of ``c_k`` is
  ``-sum_n v[n] y[n - k]`` with ``v = R (1/A) R g``: one backwards filter and
  one correlation, no loop over samples.

>>> import chainrule as cr, chainrule.scipy.signal as css, numpy as np
>>> x = np.array([1.0, 0.0, 0.0])
>>> cr.grad(lambda a1: css.lfilter([1.0], [1.0, a1], x).sum())(0.25)
np.float64(-0.5)
"""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.signal as _sps

from ..core.primitive import Primitive
from ..core.registry import export as _export
from ..core.trace import is_traced, strip
from ..rules._util import allow_complex, ndim_of, pad_batch, shape_of, unbroadcast
from ..rules.signal import conv_window_p
from ._convnd import convnd_window_p
from ._special_rules import as_float

_NS = "scipy.signal"
_MODES = ("full", "same", "valid")
_METHODS = ("auto", "direct", "fft")


# --- the convolutions -------------------------------------------------------------------
def _check(mode: Any, method: Any = "auto") -> None:
    if mode not in _MODES:
        raise ValueError(f"mode must be one of 'full', 'same' or 'valid', got {mode!r}")
    if method not in _METHODS:
        raise ValueError(f"method must be one of 'auto', 'direct' or 'fft', got {method!r}")


def _window(n: tuple, m: tuple, mode: str, name: str) -> tuple[tuple, tuple]:
    """The window of the full convolution that ``mode`` keeps, per axis."""
    if mode == "full":
        return (0,) * len(n), tuple(a + b - 1 for a, b in zip(n, m))
    if mode == "same":  # centred on the full result, the size of in1
        lo = tuple((b - 1) // 2 for b in m)
        return lo, tuple(s + a for s, a in zip(lo, n))
    if not (all(a >= b for a, b in zip(n, m)) or all(b >= a for a, b in zip(n, m))):
        raise ValueError(
            f"{name}: for 'valid' mode, one input must be at least as large as the other in "
            f"every dimension, got shapes {n} and {m}"
        )
    lo = tuple(min(a, b) - 1 for a, b in zip(n, m))
    return lo, tuple(max(a, b) for a, b in zip(n, m))


def _operand(x: Any) -> Any:
    return x if is_traced(x) else np.asarray(x)


def _conv_last(a: Any, v: Any, k: int, mode: str, method: str, name: str) -> Any:
    """``mode`` of the convolution of ``a`` and ``v`` over their last ``k`` axes
    (the leading axes broadcast)."""
    n, m = shape_of(a)[ndim_of(a) - k :], shape_of(v)[ndim_of(v) - k :]
    if 0 in n or 0 in m:
        raise ValueError(f"{name}: the inputs must not be empty, got shapes {n} and {m}")
    lo, hi = _window(n, m, mode, name)
    if ndim_of(a) == 1 and ndim_of(v) == 1:  # the primitive of numpy.convolve
        return conv_window_p(a, v, lo[0], hi[0])
    return convnd_window_p(a, v, k, lo, hi, method)


def _same_ndim(in1: Any, in2: Any, name: str) -> None:
    if ndim_of(in1) != ndim_of(in2):
        raise ValueError(
            f"{name}: in1 and in2 should have the same dimensionality, got {ndim_of(in1)}-d "
            f"and {ndim_of(in2)}-d"
        )


@_export("convolve", _NS)
def convolve(in1: Any, in2: Any, mode: str = "full", method: str = "auto") -> Any:
    """``scipy.signal.convolve``: the N-d convolution of ``in1`` and ``in2`` (same
    number of dimensions), the ``'full'`` result, its ``'same'`` centre (the size
    of ``in1``) or its ``'valid'`` part. Differentiable in both inputs; ``method``
    picks how the values are computed, as in SciPy.

    >>> import chainrule as cr, chainrule.scipy.signal as css, numpy as np
    >>> cr.grad(lambda k: css.convolve(np.array([1.0, 2.0, 3.0]), k, "valid").sum())(
    ...     np.array([1.0, 1.0]))
    array([5., 3.])
    """
    _check(mode, method)
    if not (is_traced(in1) or is_traced(in2)):
        return _sps.convolve(in1, in2, mode=mode, method=method)
    in1, in2 = _operand(in1), _operand(in2)
    _same_ndim(in1, in2, "convolve")
    if ndim_of(in1) == 0:
        return in1 * in2
    return _conv_last(in1, in2, ndim_of(in1), mode, method, "convolve")


def _reverse_conj(x: Any) -> Any:
    x = np.flip(x, axis=tuple(range(ndim_of(x))))
    return np.conjugate(x) if np.iscomplexobj(strip(x)) else x


@_export("correlate", _NS)
def correlate(in1: Any, in2: Any, mode: str = "full", method: str = "auto") -> Any:
    """``scipy.signal.correlate``: ``z[k] = sum_l in1[l] conj(in2[l - k + K])``, the
    convolution of ``in1`` with ``in2`` reversed and conjugated, in every
    ``mode``. Differentiable in both inputs.

    >>> import chainrule as cr, chainrule.scipy.signal as css, numpy as np
    >>> cr.grad(lambda x: css.correlate(x, np.array([1.0, 2.0]), "valid")[0])(
    ...     np.array([3.0, 4.0, 5.0]))
    array([1., 2., 0.])
    """
    _check(mode, method)
    if not (is_traced(in1) or is_traced(in2)):
        return _sps.correlate(in1, in2, mode=mode, method=method)
    in1, in2 = _operand(in1), _operand(in2)
    _same_ndim(in1, in2, "correlate")
    if ndim_of(in1) == 0:
        return in1 * np.conjugate(in2) if np.iscomplexobj(strip(in2)) else in1 * in2
    return _conv_last(in1, _reverse_conj(in2), ndim_of(in1), mode, method, "correlate")


@_export("fftconvolve", _NS)
def fftconvolve(in1: Any, in2: Any, mode: str = "full", axes: Any = None) -> Any:
    """``scipy.signal.fftconvolve``: the convolution over ``axes`` (default all),
    computed by FFT; along the other axes the inputs must have equal lengths or
    length 1, and broadcast. Differentiable in both inputs.

    >>> import chainrule as cr, chainrule.scipy.signal as css, numpy as np
    >>> x = np.array([[1.0, 2.0], [3.0, 4.0]])
    >>> cr.grad(lambda k: css.fftconvolve(x, k, "valid", axes=1).sum())(np.ones((2, 1)))
    array([[3.],
           [7.]])
    """
    _check(mode)
    if not (is_traced(in1) or is_traced(in2)):
        return _sps.fftconvolve(in1, in2, mode=mode, axes=axes)
    in1, in2 = _operand(in1), _operand(in2)
    _same_ndim(in1, in2, "fftconvolve")
    nd = ndim_of(in1)
    if nd == 0:
        return in1 * in2
    if axes is None:
        axes = tuple(range(nd))
    axes = sorted({int(ax) % nd for ax in np.atleast_1d(axes)}) if nd else []
    s1, s2 = shape_of(in1), shape_of(in2)
    for ax in range(nd):
        if ax not in axes and s1[ax] != s2[ax] and 1 not in (s1[ax], s2[ax]):
            raise ValueError(
                f"fftconvolve: along axis {ax}, which is not convolved, the shapes must be "
                f"equal or 1, got {s1[ax]} and {s2[ax]}"
            )
    k, last = len(axes), list(range(nd - len(axes), nd))
    a, v = np.moveaxis(in1, axes, last), np.moveaxis(in2, axes, last)
    out = _conv_last(a, v, k, mode, "fft", "fftconvolve")
    return np.moveaxis(out, last, axes)


# --- lfilter ----------------------------------------------------------------------------
def _allpole_impl(c: Any, w: Any) -> Any:
    if c.shape[-1] == 0:
        return w.copy()
    one = np.ones(1, dtype=c.dtype)
    return _sps.lfilter(one, np.concatenate([one, c]), w, axis=-1)


allpole_p = Primitive("allpole", _allpole_impl)


def _backwards(c: Any, g: Any) -> Any:
    """The adjoint of the all-pole filter: the filter run backwards in time."""
    return np.flip(allpole_p(c, np.flip(g, axis=-1)), axis=-1)


def _allpole_vjp_c(ans: Any, c: Any, w: Any):
    n, k, nd = shape_of(ans)[-1], shape_of(c)[-1], ndim_of(ans)

    def vjp(g: Any) -> Any:
        v = _backwards(c, g)
        # one lag at a time: K (the filter order) products of two long signals, never
        # a loop over samples
        lags = [np.sum(v[..., j:] * ans[..., : n - j], axis=-1) for j in range(1, k + 1)]
        return unbroadcast(-np.stack(lags, axis=-1), (k,), nd)

    return vjp


def _allpole_jvp_c(t: Any, ans: Any, c: Any, w: Any) -> Any:
    shifted = np.pad(t, [(0, 0)] * (ndim_of(t) - 1) + [(1, 0)])  # lags 1..K
    drive = conv_window_p(ans, pad_batch(shifted, 1, ndim_of(ans)), 0, shape_of(ans)[-1])
    return -allpole_p(c, drive)


allpole_p.defvjp(_allpole_vjp_c, lambda ans, c, w: lambda g: _backwards(c, g))
allpole_p.defjvp(_allpole_jvp_c, lambda t, ans, c, w: allpole_p(c, t))
allow_complex(allpole_p)


def _coefficients(x: Any, name: str) -> Any:
    if isinstance(x, (list, tuple)) and any(is_traced(e) for e in x):
        # SciPy users write [1.0, a1]: stack it so the traced entries keep their derivative
        x = np.stack([e if is_traced(e) else np.asarray(e, dtype=float) for e in x])
    x = as_float(x)
    if ndim_of(x) != 1 or shape_of(x)[0] == 0:
        raise ValueError(f"lfilter: {name} must be a non-empty 1-d array, got shape {shape_of(x)}")
    return x


def _entries(x: Any) -> tuple:
    return tuple(x) if isinstance(x, (list, tuple)) else ()


def _pad_last(x: Any, before: int, after: int) -> Any:
    return np.pad(x, [(0, 0)] * (ndim_of(x) - 1) + [(before, after)])


def _causal_fir(x: Any, b: Any) -> Any:
    """``sum_j b[j] x[i - j]`` for the samples of ``x``: one shifted copy per tap, so
    the derivative in ``b`` is one product per tap, whatever the leading axes
    (the convolution primitive would loop over samples when both operands are
    long and batched)."""
    m, n = shape_of(b)[0], shape_of(x)[-1]
    padded = _pad_last(x, m - 1, 0)
    return sum(b[j] * padded[..., m - 1 - j : m - 1 - j + n] for j in range(m))


@_export("lfilter", _NS)
def lfilter(b: Any, a: Any, x: Any, axis: int = -1, zi: Any = None) -> Any:
    """``scipy.signal.lfilter``: filter ``x`` along ``axis`` with the rational
    transfer function ``B(z)/A(z)``; with an initial state ``zi`` (shape of ``x``
    with ``axis`` of length ``max(len(a), len(b)) - 1``) returns ``(y, zf)``.
    Differentiable in ``b``, ``a``, ``x`` and ``zi``.

    >>> import chainrule as cr, chainrule.scipy.signal as css, numpy as np
    >>> x = np.array([1.0, 2.0, 3.0])
    >>> cr.grad(lambda b: css.lfilter(b, [1.0], x)[-1])(np.array([1.0, 1.0]))
    array([3., 2.])
    """
    if not any(is_traced(v) for v in (b, a, x, zi, *_entries(b), *_entries(a))):
        return _sps.lfilter(b, a, x, axis=axis, zi=zi)
    b, a, x = _coefficients(b, "b"), _coefficients(a, "a"), as_float(x)
    if ndim_of(x) == 0:
        raise ValueError("lfilter: x must have at least one dimension")
    if strip(a)[0] == 0:
        raise ValueError("lfilter: a[0] must not be 0 (the filter is normalised by it)")
    k = max(shape_of(a)[0], shape_of(b)[0]) - 1
    x = np.moveaxis(x, axis, -1)
    n = shape_of(x)[-1]
    if zi is not None:
        zi = np.moveaxis(as_float(zi), axis, -1)
        want = shape_of(x)[:-1] + (k,)
        if shape_of(zi) != want:
            raise ValueError(
                f"lfilter: zi must have shape {want} along axis {axis} last "
                f"(max(len(a), len(b)) - 1 = {k} states), got {shape_of(zi)}"
            )
    bn, an = b / a[0], a / a[0]
    w = _causal_fir(x, bn)
    if zi is not None:
        head = zi[..., : min(k, n)]
        w = w + _pad_last(head, 0, n - shape_of(head)[-1])
    y = allpole_p(an[1:], w) if shape_of(an)[0] > 1 else w
    if zi is None:
        return np.moveaxis(y, -1, axis)
    # The final state: what b * x + zi - a * y still owes past the last sample.
    zf = conv_window_p(x, bn, n, n + k) - conv_window_p(y, an, n, n + k)
    if k > n:
        zf = zf + _pad_last(zi[..., n:], 0, n)
    return np.moveaxis(y, -1, axis), np.moveaxis(zf, -1, axis)


def __getattr__(name: str) -> Any:
    try:
        return getattr(_sps, name)
    except AttributeError:
        raise AttributeError(f"module 'chainrule.scipy.signal' has no attribute {name!r}") from None


#: The names this module defines itself (as opposed to falling through to SciPy).
DIFFERENTIABLE = sorted(["convolve", "correlate", "fftconvolve", "lfilter"])
