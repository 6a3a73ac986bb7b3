"""``numpy.fft``: discrete Fourier transforms.

Every transform is linear, so each one's JVP is the transform itself applied
to the tangent. For the VJP, the convention of docs/design.md ("Complex
numbers") needs the *transpose* (not the conjugate transpose) of the
transform's matrix, and the DFT matrix ``exp(-2 pi i j k / n)`` is symmetric:
the VJP of ``fftn`` is ``fftn`` again (likewise ``ifftn``, with the same
``norm``). Three primitives do all the work:

* ``c2c_p(x, axes, norm, inverse)``: ``fftn``/``ifftn`` without resizing;
* ``r2c_p(x, axes, norm)``: ``rfftn`` of a real array: the full ``fftn`` with
  the last axis cropped to ``n // 2 + 1``, so its VJP is the real part of
  ``fftn`` of the cotangent zero-padded back to ``n``;
* ``c2r_p(x, axis, n, norm)``: ``irfft`` along one axis: ``Re(A x)`` with
  ``A[j, k] = w_k exp(2 pi i j k / n) * scale``, where ``w_k`` is 2 for the
  coefficients that stand for a conjugate pair and 1 for ``k = 0`` and
  ``k = n / 2`` (whose imaginary parts NumPy ignores). Its VJP is
  ``w * scale * conj(rfft(g))``.

Everything else (``n``/``s`` cropping and zero-padding, ``fft2``, ``irfftn``,
``hfft``, the shifts) is written with these and the shape functions.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ..core.primitive import Primitive
from ..core.registry import implements
from ..core.trace import strip
from ..errors import conversion_error
from ._util import allow_complex, ndim_of, shape_of
from .arrange import concatenate, roll
from .shape import getitem

_NORMS = (None, "backward", "ortho", "forward")


def _check_norm(norm: Any) -> None:
    if norm not in _NORMS:
        raise ValueError(f'Invalid norm value {norm}; should be "backward", "ortho" or "forward".')


def _swap_direction(norm: Any) -> Any:
    """The norm of the opposite transform that has the same scaling (``hfft``)."""
    return {None: "forward", "backward": "forward", "ortho": "ortho", "forward": "backward"}[norm]


def _inverse_scale(norm: Any, n: int) -> float:
    """The factor an inverse transform of length ``n`` applies."""
    if norm in (None, "backward"):
        return 1.0 / n
    return 1.0 / math.sqrt(n) if norm == "ortho" else 1.0


def _c2c_impl(x: Any, axes: tuple, norm: Any, inverse: bool) -> Any:
    return (np.fft.ifftn if inverse else np.fft.fftn)(x, axes=axes, norm=norm)


c2c_p = Primitive("fftn", _c2c_impl)
c2c_p.defvjp(lambda ans, x, axes, norm, inverse: lambda g: c2c_p(g, axes, norm, inverse))
c2c_p.defjvp(lambda t, ans, x, axes, norm, inverse: c2c_p(t, axes, norm, inverse))


r2c_p = Primitive("rfftn", lambda x, axes, norm: np.fft.rfftn(x, axes=axes, norm=norm))
r2c_p.defvjp(
    lambda ans, x, axes, norm: (
        lambda g, n=shape_of(x)[axes[-1]]: np.real(
            c2c_p(_resize(g, axes[-1], n), axes, norm, False)
        )
    )
)
r2c_p.defjvp(lambda t, ans, x, axes, norm: r2c_p(t, axes, norm))


def _pair_weights(n: int, axis: int, dtype: Any) -> np.ndarray:
    """``w_k`` of the module docstring, shaped to broadcast along ``axis``."""
    w = np.full(n // 2 + 1, 2.0, dtype=dtype)
    w[0] = 1.0
    if n % 2 == 0:
        w[-1] = 1.0
    return w.reshape((-1,) + (1,) * (-axis - 1))


def _c2r_vjp(ans: Any, x: Any, axis: int, n: int, norm: Any) -> Any:
    w = _pair_weights(n, axis, strip(ans).dtype) * _inverse_scale(norm, n)
    if not np.iscomplexobj(strip(x)):  # a real input: the real part (allow_complex's rule)
        return lambda g: w * np.real(r2c_p(g, (axis,), "backward"))
    return lambda g: w * np.conjugate(r2c_p(g, (axis,), "backward"))


c2r_p = Primitive("irfft", lambda x, axis, n, norm: np.fft.irfft(x, n=n, axis=axis, norm=norm))
c2r_p.defvjp(_c2r_vjp)
c2r_p.defjvp(lambda t, ans, x, axis, n, norm: c2r_p(t, axis, n, norm))

allow_complex(c2c_p, r2c_p, c2r_p)


# --- argument handling ------------------------------------------------------------------
def _resize(x: Any, axis: int, n: int) -> Any:
    """``x`` cropped or zero-padded at the end of ``axis`` to length ``n``, as
    NumPy's ``n``/``s`` arguments do."""
    size = shape_of(x)[axis]
    if n < 1:
        raise ValueError(f"Invalid number of FFT data points ({n}) specified.")
    if n == size:
        return x
    index = (Ellipsis, slice(0, n)) + (slice(None),) * (-axis - 1)
    if n < size:
        return getitem(x, index)
    shape = list(shape_of(x))
    shape[axis] = n - size
    return concatenate([x, np.zeros(tuple(shape), dtype=strip(x).dtype)], axis=axis)


def _neg_axis(axis: Any, ndim: int) -> int:
    a = int(axis)
    if not -ndim <= a < ndim:
        raise np.exceptions.AxisError(a, ndim)
    return a - ndim if a >= 0 else a


def _axes_and_sizes(x: Any, s: Any, axes: Any) -> tuple[tuple[int, ...], list[Any]]:
    """NumPy's rules for ``s`` and ``axes``: -> (negative axes, sizes or None)."""
    nd = ndim_of(x)
    if axes is None:
        axes = range(-len(s), 0) if s is not None else range(nd)
    axes = tuple(_neg_axis(a, nd) for a in axes)
    if s is None:
        return axes, [None] * len(axes)
    s = list(s)
    if len(s) != len(axes):
        raise ValueError("Shape and axes have different lengths.")
    return axes, s


def _refuse_out(name: str, out: Any) -> None:
    if out is not None:
        raise conversion_error(f"Writing the result of numpy.fft.{name} into out=")


def _operand(a: Any) -> Any:
    return a if hasattr(a, "ndim") else np.asarray(a)


# --- complex transforms -------------------------------------------------------------------
def _c2c(a: Any, s: Any, axes: Any, norm: Any, inverse: bool) -> Any:
    _check_norm(norm)
    a = _operand(a)
    axes, sizes = _axes_and_sizes(a, s, axes)
    for ax, n in zip(axes, sizes):
        if n is not None:
            a = _resize(a, ax, int(n))
    if len(set(axes)) != len(axes):  # NumPy transforms a repeated axis again
        for ax in axes:
            a = c2c_p(a, (ax,), norm, inverse)
        return a
    return c2c_p(a, axes, norm, inverse)


def _one(n: Any) -> Any:
    return None if n is None else (n,)


@implements(np.fft.fft)
def fft(a: Any, n: Any = None, axis: int = -1, norm: Any = None, out: Any = None) -> Any:
    """Differentiable ``numpy.fft.fft``."""
    _refuse_out("fft", out)
    return _c2c(a, _one(n), (axis,), norm, False)


@implements(np.fft.ifft)
def ifft(a: Any, n: Any = None, axis: int = -1, norm: Any = None, out: Any = None) -> Any:
    """Differentiable ``numpy.fft.ifft``."""
    _refuse_out("ifft", out)
    return _c2c(a, _one(n), (axis,), norm, True)


@implements(np.fft.fftn)
def fftn(a: Any, s: Any = None, axes: Any = None, norm: Any = None, out: Any = None) -> Any:
    """Differentiable ``numpy.fft.fftn``."""
    _refuse_out("fftn", out)
    return _c2c(a, s, axes, norm, False)


@implements(np.fft.ifftn)
def ifftn(a: Any, s: Any = None, axes: Any = None, norm: Any = None, out: Any = None) -> Any:
    """Differentiable ``numpy.fft.ifftn``."""
    _refuse_out("ifftn", out)
    return _c2c(a, s, axes, norm, True)


@implements(np.fft.fft2)
def fft2(a: Any, s: Any = None, axes: Any = (-2, -1), norm: Any = None, out: Any = None) -> Any:
    """Differentiable ``numpy.fft.fft2``."""
    _refuse_out("fft2", out)
    return _c2c(a, s, axes, norm, False)


@implements(np.fft.ifft2)
def ifft2(a: Any, s: Any = None, axes: Any = (-2, -1), norm: Any = None, out: Any = None) -> Any:
    """Differentiable ``numpy.fft.ifft2``."""
    _refuse_out("ifft2", out)
    return _c2c(a, s, axes, norm, True)


# --- real transforms ------------------------------------------------------------------------
def _r2c(a: Any, s: Any, axes: Any, norm: Any) -> Any:
    _check_norm(norm)
    a = _operand(a)
    if np.iscomplexobj(strip(a)):
        raise TypeError("numpy.fft.rfft* needs a real input; use fft/fftn for complex arrays")
    axes, sizes = _axes_and_sizes(a, s, axes)
    for ax, n in zip(axes, sizes):
        if n is not None:
            a = _resize(a, ax, int(n))
    if len(set(axes)) != len(axes):
        raise ValueError("repeated axes in rfftn are not supported; list each axis once")
    return r2c_p(a, axes, norm)


def _c2r(a: Any, s: Any, axes: Any, norm: Any) -> Any:
    _check_norm(norm)
    a = _operand(a)
    axes, sizes = _axes_and_sizes(a, s, axes)
    if len(set(axes)) != len(axes):
        raise ValueError("repeated axes in irfftn are not supported; list each axis once")
    for ax, n in zip(axes[:-1], sizes[:-1]):
        if n is not None:
            a = _resize(a, ax, int(n))
    last = axes[-1]
    n = sizes[-1]
    n = 2 * (shape_of(a)[last] - 1) if n is None else int(n)
    if n < 1:
        raise ValueError(f"Invalid number of FFT data points ({n}) specified.")
    if len(axes) > 1:
        a = c2c_p(a, axes[:-1], norm, True)
    return c2r_p(_resize(a, last, n // 2 + 1), last, n, norm)


@implements(np.fft.rfft)
def rfft(a: Any, n: Any = None, axis: int = -1, norm: Any = None, out: Any = None) -> Any:
    """Differentiable ``numpy.fft.rfft`` (of a real array)."""
    _refuse_out("rfft", out)
    return _r2c(a, _one(n), (axis,), norm)


@implements(np.fft.irfft)
def irfft(a: Any, n: Any = None, axis: int = -1, norm: Any = None, out: Any = None) -> Any:
    """Differentiable ``numpy.fft.irfft``. As in NumPy, the imaginary parts of
    the zero-frequency term (and of the Nyquist term, for even ``n``) do not
    affect the result, so their derivative is 0."""
    _refuse_out("irfft", out)
    return _c2r(a, _one(n), (axis,), norm)


@implements(np.fft.rfftn)
def rfftn(a: Any, s: Any = None, axes: Any = None, norm: Any = None, out: Any = None) -> Any:
    """Differentiable ``numpy.fft.rfftn`` (of a real array)."""
    _refuse_out("rfftn", out)
    return _r2c(a, s, axes, norm)


@implements(np.fft.irfftn)
def irfftn(a: Any, s: Any = None, axes: Any = None, norm: Any = None, out: Any = None) -> Any:
    """Differentiable ``numpy.fft.irfftn``."""
    _refuse_out("irfftn", out)
    return _c2r(a, s, axes, norm)


@implements(np.fft.rfft2)
def rfft2(a: Any, s: Any = None, axes: Any = (-2, -1), norm: Any = None, out: Any = None) -> Any:
    """Differentiable ``numpy.fft.rfft2`` (of a real array)."""
    _refuse_out("rfft2", out)
    return _r2c(a, s, axes, norm)


@implements(np.fft.irfft2)
def irfft2(a: Any, s: Any = None, axes: Any = (-2, -1), norm: Any = None, out: Any = None) -> Any:
    """Differentiable ``numpy.fft.irfft2``."""
    _refuse_out("irfft2", out)
    return _c2r(a, s, axes, norm)


@implements(np.fft.hfft)
def hfft(a: Any, n: Any = None, axis: int = -1, norm: Any = None, out: Any = None) -> Any:
    """Differentiable ``numpy.fft.hfft``: ``irfft`` of ``conj(a)`` with the
    opposite normalisation, as NumPy computes it."""
    _refuse_out("hfft", out)
    _check_norm(norm)
    a = _operand(a)
    return _c2r(np.conjugate(a), _one(n), (axis,), _swap_direction(norm))


@implements(np.fft.ihfft)
def ihfft(a: Any, n: Any = None, axis: int = -1, norm: Any = None, out: Any = None) -> Any:
    """Differentiable ``numpy.fft.ihfft`` (of a real array): ``conj(rfft(a))``
    with the opposite normalisation, as NumPy computes it."""
    _refuse_out("ihfft", out)
    _check_norm(norm)
    return np.conjugate(_r2c(a, _one(n), (axis,), _swap_direction(norm)))


# --- shifts -------------------------------------------------------------------------------
def _shift(x: Any, axes: Any, sign: int) -> Any:
    x = _operand(x)
    shape = shape_of(x)
    if axes is None:
        axes = tuple(range(len(shape)))
    elif isinstance(axes, (int, np.integer)):
        axes = (int(axes),)
    shifts = [sign * (shape[int(a)] // 2) for a in axes]
    return roll(x, shifts, tuple(axes)) if shifts else x


@implements(np.fft.fftshift)
def fftshift(x: Any, axes: Any = None) -> Any:
    """Differentiable ``numpy.fft.fftshift``: the zero frequency moved to the centre."""
    return _shift(x, axes, 1)


@implements(np.fft.ifftshift)
def ifftshift(x: Any, axes: Any = None) -> Any:
    """Differentiable ``numpy.fft.ifftshift``, the inverse of ``fftshift``."""
    return _shift(x, axes, -1)
