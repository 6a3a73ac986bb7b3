"""Elementwise functions: one line each, the local derivative.

An elementwise function's Jacobian is diagonal, so both its VJP (``g * d``)
and its JVP (``t * d``) come from the same elementwise derivative ``d``. Each
entry below gives ``d`` as a lambda whose parameter names say what it needs:
``x`` (and ``y``) are the inputs, ``ans`` is the output; a NumPy ufunc stands
for a function of ``x`` (``unary(np.sin, np.cos)``). The engine keeps only
what is named, so ``exp`` (``lambda ans: ans``) keeps its output and ``sin``
its input, never both. Binary functions broadcast; the cotangent is summed
back to each operand's shape in one place (``unbroadcast``).
"""

from __future__ import annotations

import math
import operator
import sys
from collections.abc import Callable
from typing import Any

import numpy as np

from ..core.primitive import (
    KEEP_ANS,
    KEEP_C,
    KEEP_NOTHING,
    KEEP_X,
    KEEP_X_AND_C,
    ConstantRule,
    Primitive,
    pass_through,
    set_direct,
    set_joint_vjp,
    set_partner,
    set_step_into,
)
from ..core.registry import CONSTANT_RULES, REAL_ONLY, UFUNCS, implements
from ..core.trace import is_traced, strip
from ..errors import no_rule_error
from ._util import (
    FLOAT64,
    batch_lead,
    div0,
    doubled,
    fit,
    fits_into,
    match_real,
    mul0,
    mul0_into,
    mul_into,
    ndim_of,
    negated,
    pad_batch,
    unbroadcast,
)
from .shape import astype, where

_NAMES = ("ans", "x", "y")


def _parameters(deriv: Any) -> tuple[str, ...]:
    """The names ``deriv`` takes; a NumPy ufunc (``unary(np.sin, np.cos)``) is a
    function of ``x``, called without a lambda around it."""
    if isinstance(deriv, np.ufunc):
        return ("x",)
    code = deriv.__code__
    return tuple(code.co_varnames[: code.co_argcount])


def _picker(deriv: Callable[..., Any]) -> Callable[..., tuple]:
    """Return ``pick(ans, x[, y])`` -> the arguments ``deriv`` asks for, by name."""
    return _picker_of(_parameters(deriv))


def _picker_of(names: tuple[str, ...]) -> Callable[..., tuple]:
    """``pick(ans, x[, y])`` -> the values of ``names`` (among ``_NAMES``)."""
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


def unary_primitive(
    name: str,
    impl: Callable[..., Any],
    deriv: Callable[..., Any],
    *,
    zero_safe: bool = False,
    step: Callable[[Any, Any], Any] | None = None,
    into: Callable[[Any, Any], Any] | None = None,
) -> Primitive:
    """An elementwise primitive ``name`` computed by ``impl``, with elementwise
    derivative ``deriv`` (parameters named ``ans`` and/or ``x``).

    ``zero_safe`` marks derivatives that can be infinite: a zero cotangent
    then stays zero instead of becoming NaN. ``unary`` registers such a
    primitive for a NumPy ufunc; functions NumPy lacks (``sigmoid``) use this
    directly. ``step(g, saved)``, for a derivative of one parameter, is
    ``g * deriv(saved)`` written out, or a cheaper or more careful formula of
    it (log's ``g / x``, without the temporary ``1 / x``): both modes then
    use it, so their Jacobians agree exactly.
    """
    pick = _picker(deriv)
    mul = mul0 if zero_safe else _mul
    names = _parameters(deriv)

    # Micro-optimisation: the two common shapes of derivative get closures
    # that call it directly, without the picker.
    # (and ``*`` itself, unless zero-safety needs ``mul0``).
    if step is not None:  # (zero-safe, if need be, by itself: log's is div0)
        if names not in (("x",), ("ans",)):
            raise ValueError(f"{name}: a step needs a derivative of x or of ans")
        if names == ("x",):

            def vjp(ans: Any, x: Any) -> Callable[[Any], Any]:
                return lambda g: step(g, x)

        else:

            def vjp(ans: Any, x: Any) -> Callable[[Any], Any]:
                return lambda g: step(g, ans)

    elif names == ("x",) and not zero_safe:

        def vjp(ans: Any, x: Any) -> Callable[[Any], Any]:
            return lambda g: g * deriv(x)

    elif names == ("ans",) and not zero_safe:

        def vjp(ans: Any, x: Any) -> Callable[[Any], Any]:
            return lambda g: g * deriv(ans)

    elif names == ("x",):

        def vjp(ans: Any, x: Any) -> Callable[[Any], Any]:
            return lambda g: mul(g, deriv(x))

    elif names == ("ans",):

        def vjp(ans: Any, x: Any) -> Callable[[Any], Any]:
            return lambda g: mul(g, deriv(ans))

    else:

        def vjp(ans: Any, x: Any) -> Callable[[Any], Any]:
            args = pick(ans, x)
            return lambda g: mul(g, deriv(*args))

    if step is not None:  # the same formula in both modes: their Jacobians agree exactly

        def jvp(t: Any, ans: Any, x: Any) -> Any:
            return step(t, *pick(ans, x))

    else:

        def jvp(t: Any, ans: Any, x: Any) -> Any:
            return mul(t, deriv(*pick(ans, x)))

    prim = Primitive(name, impl).defvjp(vjp).defjvp(jvp)
    # The same products as the makers above, without a closure per call.
    if names == ("x",) or names == ("ans",):
        keep = KEEP_X if names == ("x",) else KEEP_ANS
        if step is not None:
            set_direct(prim, step, keep, into=into)
        elif zero_safe:
            set_direct(prim, lambda g, saved: mul(g, deriv(saved)), keep)
        else:  # a ufunc derivative (sin's cos) is also the step's slope
            slope = deriv if isinstance(deriv, np.ufunc) else None
            set_direct(prim, lambda g, saved: g * deriv(saved), keep, slope)
    return prim


def unary(
    ufunc: Any,
    deriv: Callable[..., Any],
    *,
    zero_safe: bool = False,
    step: Callable[[Any, Any], Any] | None = None,
    into: Callable[[Any, Any], Any] | None = None,
) -> Primitive:
    """Register ``ufunc`` with elementwise derivative ``deriv`` (see ``unary_primitive``)."""
    prim = unary_primitive(ufunc.__name__, ufunc, deriv, zero_safe=zero_safe, step=step, into=into)
    UFUNCS[ufunc] = prim
    return prim


_mul = operator.mul


def _identity(g: Any) -> Any:
    return g


def binary_primitive(
    name: str, impl: Callable[..., Any], dx: Any, dy: Any, *, zero_safe: bool = False
) -> Primitive:
    """A broadcasting binary elementwise primitive ``name`` computed by ``impl``,
    with partial derivatives ``dx``, ``dy``: lambdas as for ``unary``
    (parameters among ``ans``, ``x``, ``y``), the constants 1 and -1, or
    ``None`` where the function is locally constant in that argument.

    ``zero_safe`` as for ``unary_primitive``: set it when a partial derivative
    can be infinite or overflow at finite operands."""
    prim = Primitive(name, impl)
    prim.defvjp(_binary_vjp(dx, 1, zero_safe), _binary_vjp(dy, 2, zero_safe))
    prim.defjvp(_binary_jvp(dx, 1, zero_safe), _binary_jvp(dy, 2, zero_safe))
    return prim


def _numpy_typed(op: Callable[[Any, Any], Any]) -> Callable[[Any, Any], Any]:
    """A Python operator as an implementation that always gives NumPy values:
    ``1j * np.float64(2)`` is computed by Python's complex type and would give
    a plain ``complex`` (no shape, no dtype)."""

    def impl(x: Any, y: Any) -> Any:
        r = op(x, y)
        return np.complex128(r) if type(r) is complex else r

    return impl


def binary(ufunc: Any, dx: Any, dy: Any, *, zero_safe: bool = False, impl: Any = None) -> Primitive:
    """Register the binary ``ufunc`` with partial derivatives ``dx``, ``dy``
    (see ``binary_primitive``). ``impl`` may name the equivalent Python
    operator: on NumPy scalars it is several times faster than calling the
    ufunc (same result)."""
    prim = binary_primitive(
        ufunc.__name__, ufunc if impl is None else _numpy_typed(impl), dx, dy, zero_safe=zero_safe
    )
    UFUNCS[ufunc] = prim
    return prim


class Applied:
    """A partial derivative given as its product with the cotangent or tangent:
    ``apply(g, ...)`` (its other parameters named among ``ans``, ``x``, ``y``)
    replaces ``g * d(...)`` where a cheaper or more careful formula exists:
    divide's ``g / y`` instead of ``g * (1 / y)``. Both modes use it, so
    their Jacobians agree even where the derivative is infinite or NaN."""

    __slots__ = ("apply", "pick")

    def __init__(self, apply: Callable[..., Any]) -> None:
        self.apply = apply
        code = apply.__code__
        self.pick = _picker_of(code.co_varnames[1 : code.co_argcount])  # after g


def _binary_vjp(d: Any, which: int, zero_safe: bool) -> Any:
    if d is None:
        return None
    if isinstance(d, Applied):
        apply, pick = d.apply, d.pick

        def applied_vjp(ans: Any, x: Any, y: Any) -> Callable[[Any], Any]:
            own = (x, y)[which - 1]
            shape, ndim = own.shape, ans.ndim
            args = pick(ans, x, y)  # only what apply needs is kept
            if shape == ans.shape:
                vjp = lambda g: apply(g, *args)  # noqa: E731
            else:
                vjp = lambda g: unbroadcast(apply(g, *args), shape, ndim)  # noqa: E731
            return match_real(vjp, ans, own) if ans.dtype.kind == "c" else vjp

        return applied_vjp
    if not callable(d):
        sign = d

        def const_vjp(ans: Any, x: Any, y: Any) -> Callable[[Any], Any]:
            own = (x, y)[which - 1]
            shape, ndim = own.shape, ans.ndim
            if shape == ans.shape:  # no broadcasting: skip the shape bookkeeping
                vjp = _identity if sign == 1 else operator.neg
            elif sign == 1:
                vjp = lambda g: unbroadcast(g, shape, ndim)  # noqa: E731
            else:
                vjp = lambda g: unbroadcast(-g, shape, ndim)  # noqa: E731
            return match_real(vjp, ans, own) if ans.dtype.kind == "c" else vjp

        return const_vjp
    pick = _picker(d)
    mul = mul0 if zero_safe else _mul

    def vjp(ans: Any, x: Any, y: Any) -> Callable[[Any], Any]:
        own = (x, y)[which - 1]
        shape, ndim = own.shape, ans.ndim
        args = pick(ans, x, y)
        if shape == ans.shape:  # no broadcasting: skip the shape bookkeeping
            vjp = lambda g: mul(g, d(*args))  # noqa: E731
        else:
            vjp = lambda g: unbroadcast(mul(g, d(*args)), shape, ndim)  # noqa: E731
        # A real operand of a complex result (x * 1j) takes the real part.
        return match_real(vjp, ans, own) if ans.dtype.kind == "c" else vjp

    return vjp


def _binary_jvp(d: Any, which: int, zero_safe: bool) -> Any:
    if d is None:
        return None
    if isinstance(d, Applied):
        return _applied_jvp(d, which)
    pick = None if not callable(d) else _picker(d)
    mul = mul0 if zero_safe else _mul

    def jvp(t: Any, ans: Any, x: Any, y: Any) -> Any:
        shape = ans.shape
        # The common case: no batch of tangents and no broadcasting.
        if t.shape == shape and (x, y)[which - 1].shape == shape:
            if pick is None:
                return t if d == 1 else -t
            return mul(t, d(*pick(ans, x, y)))
        own = ndim_of((x, y)[which - 1])
        lead = batch_lead(t, own)
        t = pad_batch(t, own, ans.ndim)
        if pick is None:
            c = t if d == 1 else -t
        else:
            c = mul(t, d(*pick(ans, x, y)))
        return fit(c, lead + ans.shape)

    return jvp


def _applied_jvp(d: Applied, which: int) -> Any:
    apply, pick = d.apply, d.pick

    def jvp(t: Any, ans: Any, x: Any, y: Any) -> Any:
        shape = ans.shape
        if t.shape == shape and (x, y)[which - 1].shape == shape:
            return apply(t, *pick(ans, x, y))
        own = ndim_of((x, y)[which - 1])
        lead = batch_lead(t, own)
        return fit(apply(pad_batch(t, own, ans.ndim), *pick(ans, x, y)), lead + ans.shape)

    return jvp


def _share(beats: Any, nan_wins: bool) -> tuple[Callable[..., Any], Callable[..., Any]]:
    """The two partial derivatives of a selection between ``x`` and ``y``
    (``maximum``: ``beats`` is ``np.greater``): 1 for the chosen operand, 0 for
    the other, 1/2 each where they tie, so the shares always sum to 1. A NaN
    is chosen over a number when ``nan_wins`` (``maximum``) and never
    otherwise (``fmax``); two NaNs tie."""

    def share(a: Any, b: Any) -> Any:
        a, b = strip(a), strip(b)
        na, nb = np.isnan(a), np.isnan(b)
        wins = beats(a, b) | ((na & ~nb) if nan_wins else (nb & ~na))
        tie = (a == b) | (na & nb)
        return (wins + 0.5 * tie).astype(np.result_type(a, b, np.float16))

    return (lambda x, y: share(x, y)), (lambda x, y: share(y, x))


def _is_complex(x: Any) -> bool:
    return np.iscomplexobj(strip(x))


_PLAIN_MASKS = (np.ndarray, np.bool_, bool)


def _ratio0(n: Any, d: Any) -> Any:
    """``n / d``, but 0 where ``d`` is 0, and so are its derivatives there."""
    zero = strip(d) == 0
    if type(zero) in _PLAIN_MASKS and not np.any(zero):  # (a Dask mask is not asked: lazy)
        return n / d
    return np.where(zero, 0.0, n / np.where(zero, 1.0, d))


_LN2, _LN10, _DEG = math.log(2.0), math.log(10.0), math.pi / 180.0

# --- arithmetic -------------------------------------------------------------
binary(np.add, 1, 1, impl=operator.add)
binary(np.subtract, 1, -1, impl=operator.sub)
# An operand may be infinite (x * inf, x * log(x) at 0): zero_safe keeps zero cotangents zero.
binary(np.multiply, lambda y: y, lambda x: x, zero_safe=True, impl=operator.mul)


def _reciprocal(y: Any) -> Any:
    """``1 / y`` with NumPy's answer for a Python zero divisor (inf, not
    ZeroDivisionError), and a Python 1.0 so as not to promote float32."""
    if isinstance(y, (int, float)) and y == 0:
        return math.copysign(math.inf, y) if isinstance(y, float) else math.inf
    return 1.0 / y


# g / y (no temporary 1 / y) and -(g / y) (x / y): the quotient shared when both
# operands are traced (_divide_joint); the same formulas in both modes.
binary(
    np.true_divide,
    Applied(lambda g, y: div0(g, y)),
    Applied(lambda g, ans, y: negated(mul0(div0(g, y), ans))),
    zero_safe=True,
    impl=operator.truediv,
)


def _shares_shape(ans: Any, x: Any, y: Any) -> bool:
    """Real operands and result of one shape: no broadcasting, no real part to take."""
    shape = ans.shape
    return ans.dtype.kind != "c" and x.dtype.kind != "c" and x.shape == shape and y.shape == shape


def _square_joint(ans: Any, x: Any, y: Any) -> Any:
    """x * x, one value twice: 2 g x as one product doubled (exactly g x + g x)."""
    if not _shares_shape(ans, x, y):
        return None

    def vjp(g: Any) -> tuple[Any, None]:
        return doubled(mul0(g, x)), None

    return vjp


def _divide_joint(ans: Any, x: Any, y: Any) -> Any:
    """x / y, both traced: g / y, and -(g / y) (x / y) from it."""
    if not _shares_shape(ans, x, y):
        return None

    def vjp(g: Any) -> tuple[Any, Any]:
        gx = div0(g, y)
        return gx, negated(mul0(gx, ans))

    return vjp


set_joint_vjp(UFUNCS[np.multiply], _square_joint, same_value=True)
set_joint_vjp(UFUNCS[np.true_divide], _divide_joint)
unary(np.negative, lambda: -1.0)
unary(np.positive, lambda: 1.0)
unary(np.square, lambda x: 2.0 * x, zero_safe=True)  # 2x overflows past 9e307
unary(np.reciprocal, lambda ans: -ans * ans, zero_safe=True)


# --- a Python number as the other operand (ConstantRule): x + 1.0, 2 * x ---------
def _constant(
    name: str,
    ufunc: Any,
    reflected: bool,
    op: Any,
    vjp: Any,
    jvp: Any,
    applies: Any = None,
    direct: tuple[Any, int] = (None, KEEP_NOTHING),
) -> None:
    rule = ConstantRule(UFUNCS[ufunc], reflected, op, vjp, jvp, applies, *direct)
    CONSTANT_RULES[name] = rule


def _negate_tangent(t: Any, ans: Any, x: Any, c: Any) -> Any:
    return -t


def _same_tangent(t: Any, ans: Any, x: Any, c: Any) -> Any:
    return t


def _scaled_tangent(t: Any, ans: Any, x: Any, c: Any) -> Any:
    return t * c  # c is finite: x * inf takes the general rules


def _reflected(op: Any) -> Any:
    return lambda x, c: op(c, x)


# The direct steps (bwd(g, saved), see core.primitive.set_direct) repeat the
# makers' products; the makers stay for the general path.
_PASS = (pass_through, KEEP_NOTHING)
for _name, _reflect in (("__add__", False), ("__radd__", True)):
    _constant(
        _name,
        np.add,
        _reflect,
        operator.add,
        lambda ans, x, c: _identity,
        _same_tangent,
        direct=_PASS,
    )
_constant(
    "__sub__",
    np.subtract,
    False,
    operator.sub,
    lambda ans, x, c: _identity,
    _same_tangent,
    direct=_PASS,
)
_constant(
    "__rsub__",
    np.subtract,
    True,
    _reflected(operator.sub),
    lambda ans, x, c: operator.neg,
    _negate_tangent,
    direct=(lambda g, saved: -g, KEEP_NOTHING),
)


def _scale_vjp(ans: Any, x: Any, c: Any) -> Callable[[Any], Any]:
    return lambda g: g * c  # c is finite: x * inf takes the general rules


# x * c for a finite c (x * inf takes the general rules, which keep zero
# cotangents zero): the backward step is the C-level product itself. (An int
# too large for math.isfinite is refused by NumPy too, with the same error.)
for _name, _reflect in (("__mul__", False), ("__rmul__", True)):
    _constant(
        _name,
        np.multiply,
        _reflect,
        operator.mul,
        _scale_vjp,
        _scaled_tangent,
        applies=math.isfinite,
        direct=(operator.mul, KEEP_C),
    )
# x / c pulls back g / c, as the general rule (div0) has it. A c whose reciprocal
# is not finite (0, nan, inf, subnormal) goes there: it keeps zero cotangents zero.
_SMALLEST_INVERTIBLE = 1.0 / sys.float_info.max
_constant(
    "__truediv__",
    np.true_divide,
    False,
    operator.truediv,
    lambda ans, x, c: lambda g: g / c,
    lambda t, ans, x, c: t / c,
    applies=lambda c: _SMALLEST_INVERTIBLE < abs(c) < math.inf,
    direct=(operator.truediv, KEEP_C),  # g / c, as div0 has it for these c
)
_constant(
    "__rtruediv__",
    np.true_divide,
    True,
    _reflected(operator.truediv),
    lambda ans, x, c: lambda g: mul0(g, -ans / x),
    lambda t, ans, x, c: mul0(t, -ans / x),
)


# |x| has a kink at 0; sign(0) = 0 takes the zero subgradient there. For
# complex x the slope is conj(x) / |x| (0 at 0), and |x| is not holomorphic:
# its tangent is the real part of t * slope.
def _abs_slope(ans: Any, x: Any) -> Any:
    if strip(x).dtype.kind == "c":
        return _ratio0(np.conjugate(x), ans)
    return np.sign(x)


def _abs_jvp(t: Any, ans: Any, x: Any) -> Any:
    d = _abs_slope(ans, x)
    return np.real(t * d) if strip(x).dtype.kind == "c" else t * d


unary(np.absolute, lambda ans, x: _abs_slope(ans, x)).defjvp(_abs_jvp)
unary(np.fabs, lambda x: np.sign(x))
REAL_ONLY.add(np.sign)  # sign is non-differentiable (rules/nondiff.py) for real values only
# copysign(x, y) = ±|x|: slope ±sign(x), 0 at x = 0 like abs; constant in y.
binary(np.copysign, lambda x, y: np.sign(strip(x)) * np.copysign(1.0, strip(y)), None)

# --- selections: ties split the derivative evenly -----------------------------
binary(np.maximum, *_share(np.greater, nan_wins=True))
binary(np.minimum, *_share(np.less, nan_wins=True))
binary(np.fmax, *_share(np.greater, nan_wins=False))
binary(np.fmin, *_share(np.less, nan_wins=False))


# --- remainders: x - q y with q = floor(x / y) (mod) or trunc(x / y) (fmod) ----
def _quotient(ans: Any, x: Any, y: Any) -> Any:
    """The integer ``q`` with ``x = q y + ans``: locally constant, so no derivative."""
    return np.round((strip(x) - strip(ans)) / strip(y))


# The quotient overflows for a tiny divisor.
binary(np.remainder, 1, lambda ans, x, y: -_quotient(ans, x, y), zero_safe=True)
binary(np.fmod, 1, lambda ans, x, y: -_quotient(ans, x, y), zero_safe=True)

# --- exponentials and logarithms ---------------------------------------------
# Derivatives that overflow for large arguments are zero-safe like those infinite at a point.
unary(np.exp, lambda ans: ans, zero_safe=True, step=mul0, into=mul0_into)
unary(np.exp2, lambda ans: ans * _LN2, zero_safe=True)
unary(np.expm1, np.exp, zero_safe=True)
unary(np.log, lambda x: 1.0 / x, zero_safe=True, step=div0)  # g / x: no 1 / x made
unary(np.log2, lambda x: 1.0 / (x * _LN2), zero_safe=True)
unary(np.log10, lambda x: 1.0 / (x * _LN10), zero_safe=True)
unary(np.log1p, lambda x: 1.0 / (1.0 + x), zero_safe=True)
# At two infinite operands of one sign the slopes are exp(inf - inf) = NaN: zero_safe.
binary(
    np.logaddexp,
    lambda ans, x: np.exp(x - ans),
    lambda ans, y: np.exp(y - ans),
    zero_safe=True,
)
binary(
    np.logaddexp2,
    lambda ans, x: np.exp2(x - ans),
    lambda ans, y: np.exp2(y - ans),
    zero_safe=True,
)
# d sqrt(x) = 1/(2 sqrt x): inf at 0, as NumPy's own value would suggest; likewise cbrt.
unary(np.sqrt, lambda ans: 0.5 / ans, zero_safe=True)
unary(np.cbrt, lambda ans: 1.0 / (3.0 * ans * ans), zero_safe=True)
# hypot's slope x / hypot(x, y) is taken as 0 at the origin, like abs at 0; it is
# inf / inf = NaN at two infinite operands (zero_safe).
binary(
    np.hypot,
    lambda ans, x: _ratio0(x, ans),
    lambda ans, y: _ratio0(y, ans),
    zero_safe=True,
)


# --- trigonometric and hyperbolic --------------------------------------------
def _neg_mul(g: Any, s: Any) -> Any:
    """``g * -s`` (exactly ``-(g * s)``): cos's step given sin's result."""
    return negated(g * s)


def _neg_mul_into(g: np.ndarray, s: Any) -> Any:
    if not fits_into(g, s):
        return NotImplemented
    np.multiply(g, s, out=g)
    return np.negative(g, out=g)


set_step_into(_neg_mul, _neg_mul_into)
set_step_into(operator.mul, mul_into)  # x * c, sin's partner, a scalar's slope

sin_p = unary(np.sin, np.cos)
cos_p = unary(np.cos, lambda x: -np.sin(x))
# sin(x) and cos(x) of one x: each one's derivative is the other's value, computed once
set_partner(sin_p, cos_p, operator.mul)  # g * cos(x)
set_partner(cos_p, sin_p, _neg_mul)  # g * (-sin(x)), exactly
unary(np.tan, lambda ans: 1.0 + ans * ans)
unary(np.arcsin, lambda x: 1.0 / np.sqrt((1.0 - x) * (1.0 + x)), zero_safe=True)
unary(np.arccos, lambda x: -1.0 / np.sqrt((1.0 - x) * (1.0 + x)), zero_safe=True)
unary(np.arctan, lambda x: 1.0 / (1.0 + x * x))


def _over_r2(n: Any, x: Any, y: Any) -> Any:
    """``n / (x**2 + y**2)``, as ``(n / r) / r`` with ``r = hypot(x, y)`` so that
    tiny or huge points neither under- nor overflow; 0 at the origin."""
    r = np.hypot(x, y)
    return _ratio0(_ratio0(n, r), r)


# arctan2(x, y) is the angle of the point (y, x); at the origin its slopes are taken as 0.
binary(
    np.arctan2,
    lambda x, y: _over_r2(y, x, y),
    lambda x, y: _over_r2(-x, x, y),
    zero_safe=True,  # 1 / r overflows near the origin
)
sinh_p = unary(np.sinh, np.cosh, zero_safe=True)
cosh_p = unary(np.cosh, np.sinh, zero_safe=True)
set_partner(sinh_p, cosh_p, mul0)  # (zero-safe: cosh overflows)
set_partner(cosh_p, sinh_p, mul0)


def _tanh_step(g: Any, t: Any) -> Any:
    """``g * (1 - t t)`` in one call. A float64 array subtracts from a 0-d
    array's 1, which NumPy does faster than from a Python float (the same
    value, bit for bit)."""
    one = _ONE64 if type(t) is np.ndarray and t.dtype is FLOAT64 else 1.0
    return g * (one - t * t)


def _tanh_into(g: np.ndarray, t: Any) -> Any:
    return np.multiply(g, 1.0 - t * t, out=g) if fits_into(g, t) else NotImplemented


_ONE64 = np.ones((), dtype=FLOAT64)
unary(np.tanh, lambda ans: 1.0 - ans * ans, step=_tanh_step, into=_tanh_into)
unary(np.arcsinh, lambda x: 1.0 / (np.sqrt(x * x + 1.0) if _is_complex(x) else np.hypot(x, 1.0)))
unary(np.arccosh, lambda x: 1.0 / (np.sqrt(x - 1.0) * np.sqrt(x + 1.0)), zero_safe=True)
unary(np.arctanh, lambda x: 1.0 / ((1.0 - x) * (1.0 + x)), zero_safe=True)
unary(np.deg2rad, lambda: _DEG)
unary(np.radians, lambda: _DEG)
unary(np.rad2deg, lambda: 1.0 / _DEG)
unary(np.degrees, lambda: 1.0 / _DEG)


# --- power: x ** y needs care at x = 0 and for constant exponents ------------
_REAL_NUMBER = (int, float, np.integer, np.floating)


def _power_dx(x: Any, y: Any, pow_fn: Any = np.power) -> Any:
    # Needs only x and y, so the output x ** y is not kept for the backward pass.
    if isinstance(y, _REAL_NUMBER):
        if y == 2:
            return 2.0 * x  # the common square: one pass, no pow
        if y == 1 or y == 0:  # constant slopes; x ** -1 would be inf at 0
            xv = strip(x)
            return np.full(np.shape(xv), float(y), dtype=np.result_type(xv, 1.0))
    return y * pow_fn(x, y - 1)


def _power_dy(ans: Any, x: Any, y: Any) -> Any:
    # d/dy x**y = x**y log x; at x = 0 the product is 0 (for y > 0), not nan.
    xv = strip(x)
    return ans * np.log(np.where(xv == 0, 1.0, x))


binary(
    np.power,
    lambda x, y: _power_dx(x, y),
    _power_dy,
    zero_safe=True,  # infinite at 0 for y < 1; overflows for large x otherwise
    impl=operator.pow,
)
# x ** c for c >= 1 has the slope c x ** (c - 1), finite at 0 (smaller c go the
# general way, which handles x = 0) but overflowing for large x.
_constant(
    "__pow__",
    np.power,
    False,
    operator.pow,
    lambda ans, x, c: lambda g: mul0(g, _power_dx(x, c)),
    lambda t, ans, x, c: mul0(t, _power_dx(x, c)),
    applies=lambda c: c >= 1,
    direct=(lambda g, xc: mul0(g, _power_dx(*xc)), KEEP_X_AND_C),
)


def _f64(v: Any) -> Any:
    """``v`` in at least double precision (float_power computes in float64, and so
    do its derivatives, so that ``y - 1`` and ``log x`` lose nothing to float32)."""
    if isinstance(v, (int, float, complex)):
        return v
    return astype(v, np.result_type(strip(v), np.float64))


binary(
    np.float_power,
    lambda x, y: _power_dx(_f64(x), _f64(y), np.float_power),
    lambda ans, x, y: _power_dy(ans, _f64(x), _f64(y)),
    zero_safe=True,
)

# Aliases NumPy exposes under two names.
UFUNCS[np.divide] = UFUNCS[np.true_divide]


# --- sinc: smooth at 0, where its formula is 0/0 -------------------------------
# d sinc / dx = pi^2 x * sum_k c_k (pi x)^(2k - 2), from the Taylor series of sinc.
_SINC_SERIES = [(-1) ** k * 2 * k / math.factorial(2 * k + 1) for k in range(1, 11)]
_SINC_SMALL = 0.1  # below: the series to rounding; above: the closed form loses < 1e-13


def _sinc_deriv(x: Any) -> Any:
    """(cos(pi x) - sinc(x)) / x, by its Taylor series where |x| is small: that
    avoids both the cancellation and the 0/0 at 0 (where it is 0), and, being
    written with differentiable calls, gives every higher derivative too."""
    small = np.abs(strip(x)) < _SINC_SMALL
    if not np.any(small):
        return (np.cos(np.pi * x) - sinc_p(x)) / x
    z = (np.pi * np.pi) * (x * x)
    series = _SINC_SERIES[-1]
    for c in reversed(_SINC_SERIES[:-1]):
        series = series * z + c
    series = (np.pi * np.pi) * x * series
    if np.all(small):
        return series
    xs = np.where(small, 1.0, x)
    return np.where(small, series, (np.cos(np.pi * xs) - sinc_p(xs)) / xs)


sinc_p = unary_primitive("sinc", np.sinc, lambda x: _sinc_deriv(x))


@implements(np.sinc)
def sinc(x: Any) -> Any:
    """Differentiable ``numpy.sinc``, sin(pi x) / (pi x) with sinc(0) = 1. It is
    smooth everywhere; its derivative at 0 is 0 and its second -pi**2 / 3."""
    return sinc_p(x)


@implements(np.nan_to_num)
def nan_to_num(
    x: Any, copy: bool = True, nan: Any = 0.0, posinf: Any = None, neginf: Any = None
) -> Any:
    """Differentiable ``numpy.nan_to_num`` (real values): the derivative is 1
    where ``x`` is finite and 0 where it is replaced; there it goes to the
    replacement (``nan``, ``posinf``, ``neginf``) instead. Traced values are
    never changed in place, whatever ``copy`` says."""
    if not any(is_traced(v) for v in (x, nan, posinf, neginf)):
        return np.nan_to_num(x, copy=copy, nan=nan, posinf=posinf, neginf=neginf)
    xv = strip(x) if is_traced(x) else np.asarray(x)
    if xv.dtype.kind not in "f":
        if xv.dtype.kind == "c":
            raise no_rule_error("numpy.nan_to_num", "complex traced values")
        return x  # integers and booleans are always finite
    info = np.finfo(xv.dtype)
    out = where(np.isnan(xv), nan, x)
    out = where(np.isposinf(xv), info.max if posinf is None else posinf, out)
    out = where(np.isneginf(xv), info.min if neginf is None else neginf, out)
    return astype(out, xv.dtype)


# --- complex numbers (docs/design.md, "Complex numbers") -------------------------
# Holomorphic functions need nothing new: their VJP g * f'(z) and JVP t * f'(z)
# are the real rules above. Unary ones cannot meet a real argument with a
# complex result; binary ones take the real part for a real operand
# (``match_real`` in ``_binary_vjp``).
_HOLOMORPHIC = (
    np.add,
    np.subtract,
    np.multiply,
    np.true_divide,
    np.power,
    np.float_power,
    np.negative,
    np.positive,
    np.square,
    np.reciprocal,
    np.exp,
    np.exp2,
    np.expm1,
    np.log,
    np.log2,
    np.log10,
    np.log1p,
    np.sqrt,
    np.sin,
    np.cos,
    np.tan,
    np.arcsin,
    np.arccos,
    np.arctan,
    np.sinh,
    np.cosh,
    np.tanh,
    np.arcsinh,
    np.arccosh,
    np.arctanh,
)
_ufunc: np.ufunc  # the loops below take ufuncs of several typed kinds
for _ufunc in _HOLOMORPHIC:
    UFUNCS[_ufunc].complex_ok = True
UFUNCS[np.absolute].complex_ok = True  # its own complex rule, above
sinc_p.complex_ok = True
# Selections pick one operand (NumPy orders complex numbers lexicographically):
# the derivative is that operand's, a real 0/1 (1/2 at ties) share either way.
for _ufunc in (np.maximum, np.minimum, np.fmax, np.fmin):
    UFUNCS[_ufunc].complex_ok = True

# conj is complex-linear over the reals: its tangent is conj(t), and the
# cotangent pairs as Re(g conj(t)) = Re(conj(g) t), so its VJP is conj(g) too.
conjugate_p = Primitive("conjugate", np.conjugate, complex_ok=True)
conjugate_p.defvjp(lambda ans, x: np.conjugate)
conjugate_p.defjvp(lambda t, ans, x: np.conjugate(t))
UFUNCS[np.conjugate] = conjugate_p

# real(z) and imag(z) are Re(1 t) and Re(-i t) of the tangent: cotangents g and -i g.
real_p = Primitive("real", np.real, complex_ok=True)
real_p.defvjp(lambda ans, x: lambda g, d=x.dtype: astype(g, d))
real_p.defjvp(lambda t, ans, x: np.real(t))
imag_p = Primitive("imag", np.imag, complex_ok=True)
imag_p.defvjp(lambda ans, x: lambda g: g * -1j)
imag_p.defjvp(lambda t, ans, x: np.imag(t))


@implements(np.real)
def real(val: Any) -> Any:
    """Differentiable ``numpy.real`` (also ``x.real``); the real part of a real array is itself."""
    return real_p(val) if _is_complex(val) else val


@implements(np.imag)
def imag(val: Any) -> Any:
    """Differentiable ``numpy.imag`` (also ``x.imag``); the imaginary part of a
    real array is a constant 0, with no derivative."""
    return imag_p(val) if _is_complex(val) else np.zeros_like(strip(val))


def _angle_slope(ans: Any, x: Any) -> Any:
    """d angle = Im(conj(x) t) / |x|^2 = Re(-i conj(x) t / |x|^2); 0 at 0."""
    return _ratio0(-1j * np.conjugate(x), np.real(x * np.conjugate(x)))


angle_p = Primitive("angle", np.angle, complex_ok=True)
angle_p.defvjp(lambda ans, x: lambda g: g * _angle_slope(ans, x))
angle_p.defjvp(lambda t, ans, x: np.real(t * _angle_slope(ans, x)))


@implements(np.angle)
def angle(z: Any, deg: bool = False) -> Any:
    """Differentiable ``numpy.angle``: the argument of ``z``, in (-pi, pi]. Its
    derivative is taken as 0 at ``z = 0``, like ``abs``; the angle of a real
    array (0 or pi) is a constant with no derivative."""
    if not _is_complex(z):
        return np.angle(strip(z), deg=deg)
    a = angle_p(z)
    return a * (180.0 / math.pi) if deg else a
