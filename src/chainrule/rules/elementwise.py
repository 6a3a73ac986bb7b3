"""Elementwise functions: one line each, the local derivative.

An elementwise function's Jacobian is diagonal, so both its VJP (``g * d``)
and its JVP (``t * d``) come from the same elementwise derivative ``d``. Each
entry below gives ``d`` as a lambda whose parameter names say what it needs:
``x`` (and ``y``) are the inputs, ``ans`` is the output. The engine keeps only
what is named, so ``exp`` (``lambda ans: ans``) keeps its output and ``sin``
its input, never both. Binary functions broadcast; the cotangent is summed
back to each operand's shape in one place (``unbroadcast``).
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from typing import Any

import numpy as np

from ..core.primitive import Primitive
from ..core.registry import UFUNCS
from ..core.trace import strip
from ._util import batch_lead, fit, mul0, ndim_of, pad_batch, unbroadcast

_NAMES = ("ans", "x", "y")


def _picker(deriv: Callable[..., Any]) -> Callable[..., tuple]:
    """Return ``pick(ans, x[, y])`` -> the arguments ``deriv`` asks for, by name."""
    code = deriv.__code__
    names = code.co_varnames[: code.co_argcount]
    unknown = set(names) - set(_NAMES)
    if unknown:
        raise ValueError(f"derivative parameters must be among {_NAMES}, got {names}")
    pos = tuple(_NAMES.index(n) for n in names)
    if not pos:
        return lambda *v: ()
    if len(pos) == 1:
        (p,) = pos
        return lambda *v: (v[p],)
    return lambda *v: tuple(v[p] for p in pos)


def unary(ufunc: Any, deriv: Callable[..., Any], *, zero_safe: bool = False) -> Primitive:
    """Register ``ufunc`` with elementwise derivative ``deriv``.

    ``zero_safe`` marks derivatives that can be infinite: a zero cotangent
    then stays zero instead of becoming NaN.
    """
    pick = _picker(deriv)
    mul = mul0 if zero_safe else _mul

    def vjp(ans: Any, x: Any) -> Callable[[Any], Any]:
        args = pick(ans, x)
        return lambda g: mul(g, deriv(*args))

    def jvp(t: Any, ans: Any, x: Any) -> Any:
        return mul(t, deriv(*pick(ans, x)))

    prim = Primitive(ufunc.__name__, ufunc).defvjp(vjp).defjvp(jvp)
    UFUNCS[ufunc] = prim
    return prim


def _mul(a: Any, b: Any) -> Any:
    return a * b


def binary(ufunc: Any, dx: Any, dy: Any, *, zero_safe: bool = False, impl: Any = None) -> Primitive:
    """Register a broadcasting binary ``ufunc`` with partial derivatives
    ``dx``, ``dy``: lambdas as for ``unary`` or the constants 1 and -1.

    ``zero_safe`` may be a predicate of ``(x, y)``, checked per call.
    ``impl`` may name the equivalent Python operator: on NumPy scalars it is
    several times faster than calling the ufunc (same result)."""
    prim = Primitive(ufunc.__name__, impl or ufunc)
    prim.defvjp(_binary_vjp(dx, 1, zero_safe), _binary_vjp(dy, 2, zero_safe))
    prim.defjvp(_binary_jvp(dx, 1, zero_safe), _binary_jvp(dy, 2, zero_safe))
    UFUNCS[ufunc] = prim
    return prim


def _binary_vjp(d: Any, which: int, zero_safe: Any) -> Callable[..., Any]:
    if not callable(d):
        sign = d

        def const_vjp(ans: Any, x: Any, y: Any) -> Callable[[Any], Any]:
            shape, ndim = (x, y)[which - 1].shape, ans.ndim
            if sign == 1:
                return lambda g: unbroadcast(g, shape, ndim)
            return lambda g: unbroadcast(-g, shape, ndim)

        return const_vjp
    pick = _picker(d)

    def vjp(ans: Any, x: Any, y: Any) -> Callable[[Any], Any]:
        shape, ndim = (x, y)[which - 1].shape, ans.ndim
        args = pick(ans, x, y)
        mul = mul0 if _needs_zero_safety(zero_safe, x, y) else _mul
        return lambda g: unbroadcast(mul(g, d(*args)), shape, ndim)

    return vjp


def _binary_jvp(d: Any, which: int, zero_safe: Any) -> Callable[..., Any]:
    pick = None if not callable(d) else _picker(d)

    def jvp(t: Any, ans: Any, x: Any, y: Any) -> Any:
        mul = mul0 if _needs_zero_safety(zero_safe, x, y) else _mul
        own = ndim_of((x, y)[which - 1])
        lead = batch_lead(t, own)
        t = pad_batch(t, own, ans.ndim)
        if pick is None:
            c = t if d == 1 else -t
        else:
            c = mul(t, d(*pick(ans, x, y)))
        return fit(c, lead + ans.shape)

    return jvp


def _needs_zero_safety(zero_safe: Any, x: Any, y: Any) -> bool:
    return zero_safe(x, y) if callable(zero_safe) else zero_safe


def _ties(a: Any, b: Any) -> Any:
    """Where ``a`` wins ``maximum(a, b)``: 1; where they tie: 1/2, split evenly."""
    a, b = strip(a), strip(b)
    return (a > b) + 0.5 * (a == b)


# --- arithmetic -------------------------------------------------------------
binary(np.add, 1, 1, impl=operator.add)
binary(np.subtract, 1, -1, impl=operator.sub)
binary(np.multiply, lambda y: y, lambda x: x, impl=operator.mul)
binary(np.true_divide, lambda y: 1.0 / y, lambda ans, y: -ans / y, zero_safe=True,
       impl=operator.truediv)  # fmt: skip
binary(np.maximum, lambda x, y: _ties(x, y), lambda x, y: _ties(y, x))
binary(np.minimum, lambda x, y: _ties(y, x), lambda x, y: _ties(x, y))
unary(np.negative, lambda: -1.0)
unary(np.positive, lambda: 1.0)
unary(np.square, lambda x: 2.0 * x)
unary(np.reciprocal, lambda ans: -ans * ans)
# |x| has a kink at 0; sign(0) = 0 takes the zero subgradient there.
unary(np.absolute, lambda x: np.sign(x))

# --- exponentials and logarithms ---------------------------------------------
unary(np.exp, lambda ans: ans)
unary(np.log, lambda x: 1.0 / x, zero_safe=True)
# d sqrt(x) = 1/(2 sqrt x): inf at 0, as NumPy's own value would suggest.
unary(np.sqrt, lambda ans: 0.5 / ans, zero_safe=True)

# --- trigonometric and hyperbolic --------------------------------------------
unary(np.sin, lambda x: np.cos(x))
unary(np.cos, lambda x: -np.sin(x))
unary(np.tanh, lambda ans: 1.0 - ans * ans)


# --- power: x ** y needs care at x = 0 and for constant exponents ------------
def _power_dx(ans: Any, x: Any, y: Any) -> Any:
    if isinstance(y, (int, float, np.number)):
        if y == 2:
            return 2.0 * x  # the common square: one pass, no pow
        if y == 1:
            return np.ones_like(strip(x))
    return y * x ** (y - 1)


def _power_dy(ans: Any, x: Any, y: Any) -> Any:
    # d/dy x**y = x**y log x; at x = 0 the product is 0 (for y > 0), not nan.
    xv = strip(x)
    return ans * np.log(np.where(xv == 0, 1.0, x))


def _power_may_be_infinite(x: Any, y: Any) -> bool:
    # x ** (y - 1) is finite everywhere for a constant exponent y >= 1.
    return not (isinstance(y, (int, float, np.number)) and y >= 1)


binary(np.power, _power_dx, _power_dy, zero_safe=_power_may_be_infinite, impl=operator.pow)

# Aliases NumPy exposes under two names.
UFUNCS[np.divide] = UFUNCS[np.true_divide]
