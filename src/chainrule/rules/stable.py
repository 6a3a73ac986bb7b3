"""Numerically stable building blocks NumPy lacks: ``logsumexp``, ``softmax``,
``log_softmax``, ``sigmoid`` (``expit``), ``softplus``, ``xlogy``, ``log1mexp``.

Each is a primitive whose value is computed stably (the maximum subtracted
before ``exp``, the branch of a formula that cannot overflow) and whose rules
are too (softmax weights with the maximum taken out, ``sigmoid(x) sigmoid(-x)``
rather than ``s (1 - s)``), so gradients stay finite and accurate at inputs
like 1000 where the naive formula gives ``inf / inf``. The rules are ordinary
NumPy code, so every higher derivative is stable too. They are published in
``chainrule.numpy`` with SciPy's names and signatures, except that
``softmax`` and ``log_softmax`` default to ``axis=-1`` (as in JAX) rather
than SciPy's ``axis=None``. ``log1mexp(x)`` is ``log(1 - exp(x))`` for
``x <= 0`` (Maechler's definition), not ``log(1 - exp(-|x|))``.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .._backends import is_foreign
from ..core.primitive import Primitive
from ..core.registry import export
from ..core.trace import is_traced, strip
from ._util import batch_lead, keepdims_shape, mul0, ndim_of, normalize_axes, shape_of
from .elementwise import binary_primitive, unary_primitive
from .shape import broadcast_to


def _plain(x: Any) -> Any:
    """A non-traced argument as a floating array (lists and Python numbers allowed)."""
    if is_traced(x):
        return x
    x = np.asarray(x)
    return x if x.dtype.kind in "fc" else x.astype(np.float64)


def _shift(a: Any, axes: tuple) -> Any:
    """The maximum over ``axes`` (kept), 0 where it is not finite: subtracting
    it makes every ``exp`` at most 1 without changing the result."""
    if is_foreign(strip(a)) and 0 not in shape_of(a):  # Dask's max takes no initial=
        m = np.max(a, axis=axes, keepdims=True)
    else:
        m = np.max(a, axis=axes, keepdims=True, initial=-np.inf)
    return np.where(np.isfinite(m), m, 0.0)


def _scalar(x: Any) -> Any:
    return x[()] if isinstance(x, np.ndarray) and x.ndim == 0 else x


# --- softmax and log_softmax ---------------------------------------------------
def _softmax_impl(x: Any, axes: tuple) -> Any:
    e = np.exp(x - _shift(x, axes))
    return e / np.sum(e, axis=axes, keepdims=True)


def _log_softmax_impl(x: Any, axes: tuple) -> Any:
    z = x - _shift(x, axes)
    with np.errstate(divide="ignore"):
        return z - np.log(np.sum(np.exp(z), axis=axes, keepdims=True))


# d softmax = s * (t - sum(s t)); d log_softmax = t - sum(s t), with s = exp(log_softmax).
softmax_p = Primitive("softmax", _softmax_impl)
softmax_p.defvjp(
    lambda ans, x, axes: lambda g: ans * (g - np.sum(g * ans, axis=axes, keepdims=True))
)
softmax_p.defjvp(lambda t, ans, x, axes: ans * (t - np.sum(t * ans, axis=axes, keepdims=True)))
log_softmax_p = Primitive("log_softmax", _log_softmax_impl)
log_softmax_p.defvjp(
    lambda ans, x, axes: lambda g: g - np.exp(ans) * np.sum(g, axis=axes, keepdims=True)
)
log_softmax_p.defjvp(lambda t, ans, x, axes: t - np.sum(t * np.exp(ans), axis=axes, keepdims=True))


@export("softmax")
def softmax(x: Any, axis: Any = -1) -> Any:
    """``exp(x) / sum(exp(x), axis)``, computed without overflow. ``axis`` may be
    an int, a tuple or None (all axes); the default is the last axis.

    >>> import chainrule.numpy as cnp
    >>> cnp.softmax([1000.0, 1000.0])
    array([0.5, 0.5])
    """
    x = _plain(x)
    return softmax_p(x, normalize_axes(axis, ndim_of(x)))


@export("log_softmax")
def log_softmax(x: Any, axis: Any = -1) -> Any:
    """``x - logsumexp(x, axis, keepdims=True)``, computed without overflow;
    ``axis`` as for ``softmax``."""
    x = _plain(x)
    return log_softmax_p(x, normalize_axes(axis, ndim_of(x)))


# --- logsumexp ------------------------------------------------------------------
def _lse_shift(a: Any, b: Any, axes: tuple) -> Any:
    """The shift for ``sum(b exp(a))``: the maximum of ``a`` over the entries
    with a nonzero weight (as SciPy takes it). An entry of weight 0 adds
    nothing to the sum, so it must not set the shift: ``a = [1000, 0]``,
    ``b = [0, 1]`` would otherwise give ``exp(-1000) = 0`` for the only term
    that counts, and ``log 0 = -inf`` instead of 0."""
    if b is None:
        return _shift(a, axes)
    return _shift(np.where(b == 0, -np.inf, a), axes)


def _lse_terms(a: Any, b: Any, axes: tuple) -> Any:
    """``b exp(a - m)`` with 0 for the zero weights (whose ``exp`` may overflow)."""
    e = np.exp(a - _lse_shift(a, b, axes))
    if b is None:
        return e
    with np.errstate(invalid="ignore"):  # 0 * inf, replaced by 0
        return np.where(b == 0, 0.0, b * e)


def _lse_parts(a: Any, b: Any, axes: tuple) -> tuple[Any, Any]:
    """log|sum(b exp(a))| and the sign of the sum, both with ``axes`` kept."""
    with np.errstate(over="ignore"):
        s = np.sum(_lse_terms(a, b, axes), axis=axes, keepdims=True)
    with np.errstate(divide="ignore"):
        return np.log(np.abs(s)) + _lse_shift(a, b, axes), np.sign(s)


def _lse_impl(a: Any, b: Any, axes: tuple, keepdims: bool) -> Any:
    out = _lse_parts(a, b, axes)[0]
    return out if keepdims else _scalar(np.squeeze(out, axis=axes))


def _lse_weights(a: Any, b: Any, axes: tuple) -> tuple[Any, Any]:
    """The derivatives of logsumexp with respect to ``a`` and ``b``:
    ``b exp(a) / S`` (the softmax, when ``b`` is None) and ``exp(a) / S``, with
    ``S = sum(b exp(a))`` (its sign included). Both are computed with the
    maximum ``m`` over the nonzero weights taken out of ``exp`` (``m`` is a
    constant: it cancels), so they never overflow where the weight is nonzero,
    and directly rather than as ``exp(a - lse)``, which would lose digits to
    the rounding of a large ``lse``. Where ``b`` is 0 the derivative in ``a``
    is exactly 0 and the one in ``b``, ``exp(a) / S``, may be ``inf`` (it is
    that large: ``exp(1000)``)."""
    if b is None:
        return softmax_p(a, axes), None
    # exp may overflow only where the weight is 0; mul0 makes those terms 0 while
    # keeping them differentiable in b (the derivatives of inf * t at higher order
    # are masked the same way, hence the errstate).
    with np.errstate(over="ignore", invalid="ignore"):
        e = np.exp(a - _lse_shift(strip(a), strip(b), axes))
        w = e / np.sum(mul0(b, e), axis=axes, keepdims=True)
        return mul0(b, w), w


def _lse_vjp(which: int):
    def make(ans: Any, a: Any, b: Any, axes: tuple, keepdims: bool):
        w = _lse_weights(a, b, axes)[which]
        n, k = ndim_of(ans), keepdims_shape(shape_of(a), axes)
        return lambda g: mul0(np.reshape(g, batch_lead(g, n) + k), w)

    return make


def _lse_jvp(which: int):
    def rule(t: Any, ans: Any, a: Any, b: Any, axes: tuple, keepdims: bool) -> Any:
        w = _lse_weights(a, b, axes)[which]
        return np.sum(mul0(t, w), axis=axes, keepdims=keepdims)

    return rule


# logsumexp_p(a, b, axes, keepdims): a and b (or None) of one shape; axes negative.
logsumexp_p = Primitive("logsumexp", _lse_impl)
logsumexp_p.defvjp(_lse_vjp(0), _lse_vjp(1))
logsumexp_p.defjvp(_lse_jvp(0), _lse_jvp(1))


@export("logsumexp")
def logsumexp(
    a: Any, axis: Any = None, b: Any = None, keepdims: bool = False, return_sign: bool = False
) -> Any:
    """``log(sum(b * exp(a), axis))``, computed without overflow; SciPy's signature.

    Its gradient with respect to ``a`` is the softmax (times ``b``), finite
    for any finite input. A negative sum gives NaN, or with ``return_sign``
    the pair ``(log|sum|, sign)`` (the sign carries no derivative).

    >>> import chainrule as cr, chainrule.numpy as cnp, numpy as np
    >>> cr.grad(cnp.logsumexp)(np.array([1000.0, 1000.0]))
    array([0.5, 0.5])
    """
    a = _plain(a)
    if b is not None:
        b = _plain(b)
        shape = np.broadcast_shapes(shape_of(a), shape_of(b))
        a, b = broadcast_to(a, shape), broadcast_to(b, shape)
    axes = normalize_axes(axis, ndim_of(a))
    out = logsumexp_p(a, b, axes, bool(keepdims))
    if not return_sign and (b is None or not np.any(strip(b) < 0)):
        return out  # the sum is positive (or 0)
    sign = _lse_parts(strip(a), None if b is None else strip(b), axes)[1]
    sign = _scalar(sign if keepdims else np.squeeze(sign, axis=axes))
    if return_sign:
        return out, sign
    return np.where(sign < 0, np.nan, out)


# --- sigmoid and softplus ------------------------------------------------------
def _sigmoid_impl(x: Any) -> Any:
    e = np.exp(-np.abs(x))  # never overflows
    return _scalar(np.where(x >= 0, 1.0, e) / (1.0 + e))


def _softplus_impl(x: Any) -> Any:
    return np.logaddexp(0.0, x)


# sigmoid' = sigmoid(x) sigmoid(-x): unlike s (1 - s) it keeps its accuracy for large x.
sigmoid_p: Primitive = unary_primitive(
    "sigmoid", _sigmoid_impl, lambda x: sigmoid_p(x) * sigmoid_p(-x)
)
softplus_p = unary_primitive("softplus", _softplus_impl, lambda x: sigmoid_p(x))


@export("expit")
@export("sigmoid")
def sigmoid(x: Any) -> Any:
    """The logistic function ``1 / (1 + exp(-x))`` (SciPy's ``expit``), computed
    without overflow for any ``x``.

    >>> import chainrule as cr, chainrule.numpy as cnp
    >>> float(cr.grad(cnp.sigmoid)(0.0))
    0.25
    """
    return sigmoid_p(_plain(x))


@export("softplus")
def softplus(x: Any) -> Any:
    """``log(1 + exp(x))``, computed without overflow (``softplus(1000) == 1000``);
    its derivative is ``sigmoid(x)``."""
    return softplus_p(_plain(x))


# --- xlogy ----------------------------------------------------------------------
def _xlogy_impl(x: Any, y: Any) -> Any:
    with np.errstate(divide="ignore", invalid="ignore"):
        r = x * np.log(y)
    return _scalar(np.where((x == 0) & ~np.isnan(y), 0.0, r))


def _xlogy_dy(x: Any, y: Any) -> Any:
    """``x / y``, but 0 where ``x`` is 0 even if ``y`` is 0 too."""
    with np.errstate(divide="ignore"):
        return mul0(x, 1.0 / y)


xlogy_p = binary_primitive("xlogy", _xlogy_impl, lambda y: np.log(y), _xlogy_dy, zero_safe=True)


@export("xlogy")
def xlogy(x: Any, y: Any) -> Any:
    """``x * log(y)``, with the value 0 where ``x == 0`` (unless ``y`` is NaN), as
    in SciPy. The derivative with respect to ``y`` is ``x / y``, also 0 where
    ``x == 0``; with respect to ``x`` it is ``log(y)`` (``-inf`` at ``y == 0``).

    >>> import chainrule.numpy as cnp
    >>> float(cnp.xlogy(0.0, 0.0))
    0.0
    """
    return xlogy_p(_plain(x), _plain(y))


# --- log1mexp -------------------------------------------------------------------
_LN2 = math.log(2.0)


def _log1mexp_impl(x: Any) -> Any:
    # Maechler (2012): log(-expm1(x)) near 0, log1p(-exp(x)) further out.
    with np.errstate(divide="ignore", invalid="ignore"):
        return _scalar(np.where(x > -_LN2, np.log(-np.expm1(x)), np.log1p(-np.exp(x))))


# d/dx = -1 / expm1(-x); the abs only fixes the sign of the -inf at x = 0 (expm1(-0.0) = -0.0).
log1mexp_p = unary_primitive(
    "log1mexp", _log1mexp_impl, lambda x: -1.0 / np.abs(np.expm1(-x)), zero_safe=True
)


@export("log1mexp")
def log1mexp(x: Any) -> Any:
    """``log(1 - exp(x))`` for ``x <= 0``, accurate over the whole range
    (``log(1 - p)`` from ``x = log p``). It is ``-inf`` at 0, where its
    derivative ``-1 / expm1(-x)`` is ``-inf``; NaN for ``x > 0``."""
    return log1mexp_p(_plain(x))
