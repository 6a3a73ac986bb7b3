"""Coverage of the elementwise functions (rules/elementwise.py, clip and where
from rules/shape.py, the non-differentiable ufuncs) and of the stable building
blocks (rules/stable.py).

Every function: both modes against finite differences to second order, over
0-d, 1-d, n-d and broadcasting shapes, through plain ``np.X`` and through
``chainrule.numpy.X``; ``jacrev == jacfwd`` (the batched rules of both modes);
Hessians against ``jacrev(jacrev)``; exact values at the documented
non-differentiable points; stability at extreme inputs, against SciPy.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
import scipy.special as sp
from conftest import rand
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import chainrule as cr
import chainrule.numpy as cnp

RNG = np.random.default_rng(7)

pytestmark = pytest.mark.filterwarnings("ignore::RuntimeWarning")  # 1/0 at the singular points


# --- inputs -----------------------------------------------------------------------
def pos(shape):
    return RNG.uniform(0.5, 2.0, size=shape)


def unit(shape):  # inside (-1, 1), away from the ends
    return RNG.uniform(-0.9, 0.9, size=shape)


def above1(shape):
    return RNG.uniform(1.2, 3.0, size=shape)


def away0(shape):  # |x| in [0.3, 1.5], either sign: away from the kink of abs
    return RNG.uniform(0.3, 1.5, size=shape) * RNG.choice([-1.0, 1.0], size=shape)


def indep(gx, gy):
    return lambda sx, sy: (gx(sx), gy(sy))


def mod_pair(sx, sy):
    """x and y with x / y at least 0.05 away from an integer everywhere they meet
    (the remainders jump there)."""
    for _ in range(1000):
        x, y = rand(sx, low=-5.0, high=5.0), away0(sy) * 1.5
        q = x / y
        if np.all(np.abs(q - np.round(q)) > 0.05):
            return x, y
    raise AssertionError("no sample away from the jumps")  # pragma: no cover


def distinct(sx, sy):
    """Operands that never (nearly) tie."""
    for _ in range(1000):
        x, y = rand(sx), rand(sy)
        if np.all(np.abs(x - y) > 0.01):
            return x, y
    raise AssertionError("no sample without ties")  # pragma: no cover


UNARY = {
    "negative": (np.negative, rand),
    "positive": (np.positive, rand),
    "reciprocal": (np.reciprocal, away0),
    "square": (np.square, rand),
    "sqrt": (np.sqrt, pos),
    "cbrt": (np.cbrt, away0),
    "exp": (np.exp, rand),
    "exp2": (np.exp2, rand),
    "expm1": (np.expm1, rand),
    "log": (np.log, pos),
    "log2": (np.log2, pos),
    "log10": (np.log10, pos),
    "log1p": (np.log1p, unit),
    "sin": (np.sin, rand),
    "cos": (np.cos, rand),
    "tan": (np.tan, rand),
    "arcsin": (np.arcsin, unit),
    "arccos": (np.arccos, unit),
    "arctan": (np.arctan, rand),
    "sinh": (np.sinh, rand),
    "cosh": (np.cosh, rand),
    "tanh": (np.tanh, rand),
    "arcsinh": (np.arcsinh, rand),
    "arccosh": (np.arccosh, above1),
    "arctanh": (np.arctanh, unit),
    "acos": (np.acos, unit),  # NumPy 2's array-API aliases: the same ufuncs
    "asin": (np.asin, unit),
    "atan": (np.atan, rand),
    "asinh": (np.asinh, rand),
    "acosh": (np.acosh, above1),
    "atanh": (np.atanh, unit),
    "deg2rad": (np.deg2rad, rand),
    "rad2deg": (np.rad2deg, rand),
    "degrees": (np.degrees, rand),
    "radians": (np.radians, rand),
    "absolute": (np.absolute, away0),
    "abs": (np.abs, away0),
    "fabs": (np.fabs, away0),
    "sinc": (np.sinc, lambda s: rand(s, low=-2.5, high=2.5)),
    "nan_to_num": (np.nan_to_num, rand),
}

BINARY = {
    "add": (np.add, indep(rand, rand)),
    "subtract": (np.subtract, indep(rand, rand)),
    "multiply": (np.multiply, indep(rand, rand)),
    "divide": (np.divide, indep(rand, away0)),
    "true_divide": (np.true_divide, indep(rand, away0)),
    "power": (np.power, indep(pos, rand)),
    "float_power": (np.float_power, indep(pos, rand)),
    "logaddexp": (np.logaddexp, indep(rand, rand)),
    "logaddexp2": (np.logaddexp2, indep(rand, rand)),
    "arctan2": (np.arctan2, indep(away0, away0)),
    "atan2": (np.atan2, indep(away0, away0)),
    "pow": (np.pow, indep(pos, rand)),
    "hypot": (np.hypot, indep(away0, away0)),
    "maximum": (np.maximum, distinct),
    "minimum": (np.minimum, distinct),
    "fmax": (np.fmax, distinct),
    "fmin": (np.fmin, distinct),
    "mod": (np.mod, mod_pair),
    "remainder": (np.remainder, mod_pair),
    "fmod": (np.fmod, mod_pair),
    "copysign": (np.copysign, indep(away0, away0)),
}

UNARY_SHAPES = [(), (3,), (2, 3), (2, 1, 2)]
BINARY_SHAPES = [
    ((), ()),
    ((3,), (3,)),
    ((2, 3), (3,)),
    ((3,), (2, 3)),
    ((2, 1), (1, 3)),
    ((), (2, 3)),
    ((2, 3), ()),
    ((2, 1, 3), (2, 1)),
]
VIA = ["numpy", "chainrule.numpy"]


def _fn(table, name, via):
    return table[name][0] if via == "numpy" else getattr(cnp, name)


def assert_same_jacobians(f, args, argnums=0):
    jr = cr.jacrev(f, argnums)(*args)
    jf = cr.jacfwd(f, argnums)(*args)
    np.testing.assert_allclose(jr, jf, rtol=1e-10, atol=1e-12)
    return jr


# --- unary ------------------------------------------------------------------------
@pytest.mark.parametrize("shape", UNARY_SHAPES, ids=str)
@pytest.mark.parametrize("name", sorted(UNARY))
@pytest.mark.parametrize("via", VIA)
def test_unary(name, shape, via):
    fn = _fn(UNARY, name, via)
    x = UNARY[name][1](shape)
    np.testing.assert_allclose(fn(x), UNARY[name][0](x))  # same value as NumPy
    cr.check_grads(fn, (x,), order=2)
    jac = assert_same_jacobians(fn, (x,))
    if shape:  # diagonal Jacobian whose diagonal is the elementwise derivative
        d = cr.vjp(fn, x)[1](np.ones_like(fn(x)))[0]
        n = x.size
        np.testing.assert_allclose(jac.reshape(n, n), np.diag(d.ravel()), atol=1e-12)


@pytest.mark.parametrize("name", sorted(UNARY))
def test_unary_hessian(name):
    fn, gen = UNARY[name]
    x = gen((3,))
    scalar = lambda x: np.sum(fn(x) ** 2)  # noqa: E731
    h = cr.hessian(scalar)(x)
    np.testing.assert_allclose(h, cr.jacrev(cr.jacrev(scalar))(x), rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(h, cr.jacfwd(cr.jacfwd(scalar))(x), rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(h, h.T, rtol=1e-10, atol=1e-10)


def test_unary_on_python_scalars_and_float32():
    for name in sorted(UNARY):
        fn, gen = UNARY[name]
        x = float(gen(()))
        np.testing.assert_allclose(cr.grad(fn)(x), cr.grad(getattr(cnp, name))(x))
        x32 = gen((3,)).astype(np.float32)
        cr.check_grads(fn, (x32,), order=1, eps=1e-2, rtol=2e-2, atol=1e-3)


# --- binary -----------------------------------------------------------------------
@pytest.mark.parametrize("shapes", BINARY_SHAPES, ids=str)
@pytest.mark.parametrize("name", sorted(BINARY))
@pytest.mark.parametrize("via", VIA)
def test_binary(name, shapes, via):
    fn = _fn(BINARY, name, via)
    x, y = BINARY[name][1](*shapes)
    np.testing.assert_allclose(fn(x, y), BINARY[name][0](x, y))
    cr.check_grads(fn, (x, y), order=2)
    assert_same_jacobians(fn, (x, y), argnums=0)
    assert_same_jacobians(fn, (x, y), argnums=1)


@pytest.mark.parametrize("name", sorted(BINARY))
@pytest.mark.parametrize("via", VIA)
def test_binary_with_constant_operand(name, via):
    fn, gen = _fn(BINARY, name, via), BINARY[name][1]
    x, c = gen((2, 3), ())  # a Python float, then an array, as the constant
    cr.check_grads(lambda x: fn(x, float(c)), (x,), order=2)
    x, a = gen((2, 3), (3,))
    cr.check_grads(lambda x: fn(x, a), (x,), order=2)
    c2, y = gen((), (2, 3))
    cr.check_grads(lambda y: fn(float(c2), y), (y,), order=2)
    a2, y2 = gen((2, 3), (3,))
    cr.check_grads(lambda y: fn(a2, y), (y2,), order=2)


@pytest.mark.parametrize("name", sorted(BINARY))
def test_binary_hessian(name):
    fn, gen = BINARY[name]
    x, y = gen((3,), (3,))
    scalar = lambda x, y: np.sum(fn(x, y) ** 2 + fn(x, y) * np.sin(x + y))  # noqa: E731
    for argnums in (0, 1, (0, 1)):
        h = cr.hessian(scalar, argnums)(x, y)
        _assert_nested_close(h, cr.jacrev(cr.jacrev(scalar, argnums), argnums)(x, y))
    # Mixed partials agree: d/dy (d/dx f) == d/dx (d/dy f).
    dxy = cr.jacrev(cr.grad(scalar, 0), 1)(x, y)
    dyx = cr.jacrev(cr.grad(scalar, 1), 0)(x, y)
    np.testing.assert_allclose(dxy, dyx.T, rtol=1e-9, atol=1e-10)


def _assert_nested_close(a, b):
    if isinstance(a, (tuple, list)):
        assert len(a) == len(b)
        for u, v in zip(a, b):
            _assert_nested_close(u, v)
    else:
        np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-10)


@settings(max_examples=60, derandomize=True, deadline=None)
@given(
    name=st.sampled_from(sorted(BINARY)),
    shapes=hnp.mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=3, max_side=3),
)
def test_binary_broadcasting_property(name, shapes):
    fn = BINARY[name][0]
    x, y = BINARY[name][1](*shapes.input_shapes)
    assert np.shape(fn(x, y)) == shapes.result_shape
    cr.check_grads(fn, (x, y), order=2)
    assert_same_jacobians(fn, (x, y), argnums=0)
    assert_same_jacobians(fn, (x, y), argnums=1)


def test_operators_reach_the_same_rules():
    x, y = mod_pair((2, 3), (3,))
    cr.check_grads(lambda x, y: x % y, (x, y), order=2)
    cr.check_grads(lambda x, y: -x + (+y) - abs(x) / y, (x, y), order=2)
    np.testing.assert_allclose(cr.grad(lambda y: np.sum(x % y))(y), -np.floor(x / y).sum(0))


def test_ufunc_out_and_keywords_are_refused():
    buf = np.zeros(3)
    with pytest.raises(TypeError, match="out="):
        cr.grad(lambda x: np.sum(np.hypot(x, 1.0, out=buf)))(np.ones(3))
    with pytest.raises(NotImplementedError, match="keyword"):
        cr.grad(lambda x: np.sum(np.cbrt(x, dtype=np.float64)))(np.ones(3))


# --- conventions at non-differentiable points --------------------------------------
def g(fn, x):
    """The elementwise derivative of ``fn`` at ``x`` by reverse and forward mode
    (must agree exactly), as one array."""
    x = np.asarray(x, dtype=float)
    rev = cr.grad(lambda x: np.sum(fn(x)))(x)
    fwd = cr.jvp(fn, (x,), (np.ones_like(x),))[1]
    np.testing.assert_array_equal(rev, fwd)
    return rev


def test_abs_is_zero_at_zero():
    for fn in (np.abs, np.absolute, np.fabs, cnp.fabs):
        np.testing.assert_array_equal(g(fn, [-2.0, 0.0, -0.0, 3.0]), [-1.0, 0.0, 0.0, 1.0])
        np.testing.assert_array_equal(cr.hessian(lambda x, f=fn: np.sum(f(x)))(np.zeros(2)), 0.0)


@pytest.mark.parametrize("fn", [np.maximum, np.minimum, np.fmax, np.fmin])
def test_selection_ties_split_evenly(fn):
    x = np.array([1.0, 2.0, -0.5])
    y = np.array([1.0, 0.0, -0.5])
    big = fn is np.maximum or fn is np.fmax
    gx = cr.grad(lambda x: np.sum(fn(x, y)))(x)
    gy = cr.grad(lambda y: np.sum(fn(x, y)))(y)
    np.testing.assert_array_equal(gx, [0.5, 1.0 if big else 0.0, 0.5])
    np.testing.assert_array_equal(gx + gy, 1.0)
    # Forward mode and a tie with itself: total derivative 1, as for the identity.
    np.testing.assert_array_equal(cr.jacfwd(lambda x: fn(x, y))(x), np.diag(gx))
    np.testing.assert_array_equal(g(lambda x: fn(x, x), x), 1.0)


def test_nan_handling_of_selections():
    x = np.array([1.0, np.nan, np.nan])
    y = np.array([np.nan, 2.0, np.nan])
    for fn, expect_x in [
        (np.maximum, [0.0, 1.0, 0.5]),
        (np.minimum, [0.0, 1.0, 0.5]),
        (np.fmax, [1.0, 0.0, 0.5]),
        (np.fmin, [1.0, 0.0, 0.5]),
    ]:
        # The slopes themselves are finite even where the value is NaN.
        gx = g(lambda x, fn=fn: fn(x, y), x)
        gy = g(lambda y, fn=fn: fn(x, y), y)
        np.testing.assert_array_equal(gx, expect_x)
        np.testing.assert_array_equal(gx + gy, 1.0)


def test_infinite_slopes_are_inf_and_masked_slopes_are_zero():
    cases = [  # function, point where its slope is infinite, the sign of that slope
        (np.sqrt, 0.0, 1),
        (np.cbrt, 0.0, 1),
        (np.log, 0.0, 1),
        (np.log2, 0.0, 1),
        (np.log10, 0.0, 1),
        (np.log1p, -1.0, 1),
        (np.arcsin, 1.0, 1),
        (np.arcsin, -1.0, 1),
        (np.arccos, 1.0, -1),
        (np.arccosh, 1.0, 1),
        (np.arctanh, 1.0, 1),
        (np.arctanh, -1.0, 1),
        (lambda x: x**0.5, 0.0, 1),
        (lambda x: np.float_power(x, 0.5), 0.0, 1),
    ]
    for fn, at, sign in cases:
        assert g(fn, at) == sign * np.inf
        # where() discards the branch: a zero cotangent meets the infinite slope.
        masked = lambda x, fn=fn, at=at: np.where(x == at, 0.0, fn(x))  # noqa: E731
        np.testing.assert_array_equal(g(masked, [at, at]), 0.0)
        h = cr.hessian(lambda x, m=masked: np.sum(m(x)))(np.array([at]))
        np.testing.assert_array_equal(h, 0.0)


def test_cbrt_and_sqrt_values_around_zero():
    np.testing.assert_allclose(g(np.cbrt, [-8.0, 8.0]), [1 / 12, 1 / 12])
    np.testing.assert_allclose(g(np.cbrt, [1e-300]), [1 / (3 * np.cbrt(1e-300) ** 2)])


def test_power_with_constant_exponents_at_zero():
    x = np.array([0.0, 2.0])
    np.testing.assert_array_equal(g(lambda x: x**0, x), [0.0, 0.0])
    np.testing.assert_array_equal(g(lambda x: x**1, x), [1.0, 1.0])
    np.testing.assert_array_equal(g(lambda x: x**2, x), [0.0, 4.0])
    np.testing.assert_array_equal(g(lambda x: x**3.0, x), [0.0, 12.0])
    np.testing.assert_array_equal(g(lambda x: np.float_power(x, 0), x), [0.0, 0.0])
    np.testing.assert_array_equal(g(lambda x: np.float_power(x, 2), x), [0.0, 4.0])
    # d/dy 0 ** y = 0 (for y > 0), not nan
    np.testing.assert_array_equal(g(lambda y: np.power(0.0, y), [0.5, 2.0]), [0.0, 0.0])
    np.testing.assert_array_equal(g(lambda y: np.float_power(0.0, y), [0.5, 2.0]), [0.0, 0.0])


@pytest.mark.parametrize("exponent", [0, 1, 2, 3, -1, 0.5, -1.5, 2.5])
def test_constant_exponents(exponent):
    x = pos((2, 3))
    for fn in (
        lambda x: x**exponent,
        lambda x: np.power(x, exponent),
        lambda x: np.float_power(x, exponent),
        lambda x: cnp.float_power(x, exponent),
    ):
        cr.check_grads(fn, (x,), order=2)
        assert_same_jacobians(fn, (x,))


def test_float_power_computes_in_float64():
    x = pos((3,)).astype(np.float32)
    y = rand((3,)).astype(np.float32)
    out = cr.jvp(lambda x: np.float_power(x, y), (x,), (np.ones_like(x),))
    assert out[0].dtype == np.float64 and out[1].dtype == np.float64
    x64, y64 = x.astype(np.float64), y.astype(np.float64)
    np.testing.assert_allclose(out[1], y64 * x64 ** (y64 - 1), rtol=1e-14)
    gx, gy = cr.grad(lambda x, y: np.sum(np.float_power(x, y)), (0, 1))(x, y)
    assert gx.dtype == np.float32 and gy.dtype == np.float32
    np.testing.assert_allclose(gy, x64**y64 * np.log(x64), rtol=1e-6)
    h = cr.hessian(lambda x: np.sum(np.float_power(x, y)))(x)
    np.testing.assert_allclose(np.diag(h), y64 * (y64 - 1) * x64 ** (y64 - 2), rtol=1e-5)


def test_hypot_and_arctan2_at_the_origin():
    z = np.zeros(2)
    for fn in (np.hypot, np.arctan2):
        for argnums in (0, 1):
            grad = cr.grad(lambda x, y, f=fn: np.sum(f(x, y)), argnums)(z, z)
            np.testing.assert_array_equal(grad, 0.0)
            np.testing.assert_array_equal(cr.jacfwd(fn, argnums)(z, z), 0.0)
    # Away from it, the usual formulas; tiny and huge values do not under/overflow.
    for s in (1e-200, 1.0, 1e200):
        x, y = np.array([3.0 * s]), np.array([4.0 * s])
        gx, gy = cr.grad(lambda x, y: np.sum(np.hypot(x, y)), (0, 1))(x, y)
        np.testing.assert_allclose([gx, gy], [[0.6], [0.8]])
        gx, gy = cr.grad(lambda x, y: np.sum(np.arctan2(x, y)), (0, 1))(x, y)
        np.testing.assert_allclose([gx, gy], [[0.16 / s], [-0.12 / s]])
    np.testing.assert_allclose(g(np.arcsinh, [1e200, -1e200]), [1e-200, 1e-200])
    np.testing.assert_allclose(g(np.arccosh, [1e200]), [1e-200])


@pytest.mark.parametrize(
    "fn, quotient", [(np.mod, np.floor), (np.remainder, np.floor), (np.fmod, np.trunc)]
)
def test_remainders(fn, quotient):
    x = np.array([5.5, -5.5, 5.5, -5.5, 0.25])
    y = np.array([2.0, 2.0, -2.0, -2.0, 3.0])
    gx, gy = cr.grad(lambda x, y: np.sum(fn(x, y)), (0, 1))(x, y)
    np.testing.assert_array_equal(gx, 1.0)
    np.testing.assert_array_equal(gy, -quotient(x / y))
    _, ty = cr.jvp(lambda y: fn(x, y), (y,), (np.ones_like(y),))
    np.testing.assert_array_equal(ty, -quotient(x / y))
    np.testing.assert_array_equal(cr.hessian(lambda y: np.sum(fn(x, y)))(y), 0.0)


def test_copysign():
    x = np.array([2.0, -2.0, 2.0, -2.0, 0.0, 3.0, -3.0])
    y = np.array([1.0, 1.0, -1.0, -1.0, -1.0, 0.0, -0.0])
    gx, gy = cr.grad(lambda x, y: np.sum(np.copysign(x, y)), (0, 1))(x, y)
    np.testing.assert_array_equal(gx, [1.0, -1.0, -1.0, 1.0, 0.0, 1.0, 1.0])
    np.testing.assert_array_equal(gy, 0.0)
    np.testing.assert_array_equal(cr.jacfwd(lambda y: np.copysign(x, y))(y), 0.0)
    np.testing.assert_array_equal(g(lambda x: np.copysign(x, y), x), gx)


def test_nan_to_num():
    x = np.array([1.5, np.nan, np.inf, -np.inf, -2.0])
    for f in (np.nan_to_num, cnp.nan_to_num, lambda x: np.nan_to_num(x, nan=1.0, posinf=9.0)):
        out = cr.jvp(f, (x,), (np.ones_like(x),))
        np.testing.assert_array_equal(out[0], f(x))
        np.testing.assert_array_equal(out[1], [1.0, 0.0, 0.0, 0.0, 1.0])
        np.testing.assert_array_equal(g(f, x), [1.0, 0.0, 0.0, 0.0, 1.0])
        np.testing.assert_array_equal(assert_same_jacobians(f, (x,)), np.diag([1, 0, 0, 0, 1]))
    # The derivative of a replaced entry goes to the replacement value.
    w = np.arange(1.0, 6.0)
    f = lambda n, p, m: np.sum(cnp.nan_to_num(x, nan=n, posinf=p, neginf=m) * w)  # noqa: E731
    gs = cr.grad(f, (0, 1, 2))(0.5, 7.0, -7.0)
    np.testing.assert_array_equal(gs, (2.0, 3.0, 4.0))
    x32 = x.astype(np.float32)
    assert cr.jvp(np.nan_to_num, (x32,), (np.ones_like(x32),))[0].dtype == np.float32
    np.testing.assert_array_equal(
        cr.jvp(np.nan_to_num, (x32,), (np.ones_like(x32),))[0], np.nan_to_num(x32)
    )
    # untraced: NumPy's own, including copy=False
    y = x.copy()
    assert cnp.nan_to_num(y, copy=False) is y and np.isfinite(y).all()


def test_sinc_at_and_near_zero():
    x = np.array([0.0])
    np.testing.assert_array_equal(g(np.sinc, x), [0.0])
    np.testing.assert_allclose(cr.hessian(lambda x: np.sum(np.sinc(x)))(x), [[-(np.pi**2) / 3]])
    d3 = cr.jacfwd(cr.jacfwd(cr.jacfwd(lambda x: np.sinc(x))))(0.0)
    d4 = cr.jacfwd(cr.jacfwd(cr.jacrev(cr.jacrev(lambda x: np.sinc(x)))))(0.0)
    np.testing.assert_allclose([d3, d4], [0.0, np.pi**4 / 5], atol=1e-12)
    # Derivatives against their exact values from mpmath, on both sides of the
    # switch to the series, and where the closed form would cancel badly.
    mpmath = pytest.importorskip("mpmath")
    mpmath.mp.dps = 40
    points = [1e-12, -3e-7, 5e-3, -0.0099999, 0.0100001, 0.3, -1.7]
    f1 = lambda x: cr.grad(np.sinc)(x)  # noqa: E731
    f2 = lambda x: cr.grad(cr.grad(np.sinc))(x)  # noqa: E731
    f3 = lambda x: cr.jacfwd(cr.grad(cr.grad(np.sinc)))(x)  # noqa: E731
    for p in points:
        exact = [
            float(mpmath.diff(lambda t: mpmath.sinc(mpmath.pi * t), mpmath.mpf(p), n))
            for n in (1, 2, 3)
        ]
        got = [f1(p), f2(p), f3(p)]
        np.testing.assert_allclose(got, exact, rtol=1e-9, atol=1e-12)


# --- clip and where (rules in shape.py) ---------------------------------------------
CLIPS = {
    "scalars": lambda x: np.clip(x, -0.5, 0.5),
    "lower only": lambda x: np.clip(x, -0.5, None),
    "upper only": lambda x: np.clip(x, None, 0.5),
    "keywords": lambda x: np.clip(x, a_min=-0.5, a_max=0.7),
    "array bounds": lambda x: np.clip(x, np.array([-0.5, 0.0, -1.0]), 0.8),
    "method": lambda x: x.clip(-0.5, 0.7),
    "method upper": lambda x: x.clip(max=0.7),
    "chainrule.numpy": lambda x: cnp.clip(x, -0.5, 0.5),
}


def _off_kinks(x, kinks):
    for k in kinks:
        x = x + np.where(np.abs(x - k) < 0.05, 0.1, 0.0)
    return x


@pytest.mark.parametrize("shape", [(), (3,), (2, 3)], ids=str)
@pytest.mark.parametrize("name", sorted(CLIPS))
def test_clip(name, shape):
    x = _off_kinks(rand(shape), [-0.5, 0.5, 0.7, 0.8, -1.0, 0.0])
    if name == "array bounds" and shape == ():
        x = rand((3,))
    cr.check_grads(CLIPS[name], (x,), order=2)
    assert_same_jacobians(CLIPS[name], (x,))


def test_clip_bounds_are_differentiable_and_count_as_inside():
    x = np.array([-1.0, -0.5, 0.0, 0.5, 1.0])
    np.testing.assert_array_equal(g(lambda x: np.clip(x, -0.5, 0.5), x), [0, 1, 1, 1, 0])
    lo, hi = cr.grad(lambda lo, hi: np.sum(np.clip(x, lo, hi)), (0, 1))(-0.5, 0.5)
    assert (lo, hi) == (1.0, 1.0)
    cr.check_grads(lambda lo, hi: np.clip(x, lo, hi), (-0.7, 0.3), order=2)


@pytest.mark.parametrize(
    "shapes",
    [
        ((3,), (3,), (3,)),
        ((2, 3), (3,), ()),
        ((2, 1), (1, 3), (3,)),
        ((), (2, 3), (2, 3)),
        ((2, 3), (), ()),
    ],
    ids=str,
)
@pytest.mark.parametrize("via", VIA)
def test_where(shapes, via):
    where = np.where if via == "numpy" else cnp.where
    c_shape, x_shape, y_shape = shapes
    cond = RNG.uniform(size=c_shape) > 0.5
    x, y = rand(x_shape), rand(y_shape)
    f = lambda x, y: where(cond, x * x, np.sin(y))  # noqa: E731
    cr.check_grads(f, (x, y), order=2)
    assert_same_jacobians(f, (x, y), 0)
    assert_same_jacobians(f, (x, y), 1)
    cr.check_grads(lambda x: where(cond, x, 0.0), (x,), order=2)


# --- non-differentiable ufuncs work on traced values --------------------------------
NONDIFF = [
    np.floor,
    np.ceil,
    np.trunc,
    np.rint,
    np.sign,
    np.signbit,
    np.isnan,
    np.isfinite,
    np.isinf,
    lambda x: np.floor_divide(x, 0.3),
    lambda x: x // 0.3,
    np.round,
    np.around,
    np.fix,
    lambda x: np.greater(x, 0.1),
]


@pytest.mark.parametrize("k", range(len(NONDIFF)))
def test_nondifferentiable_functions_give_plain_results(k):
    fn = NONDIFF[k]
    x = _off_kinks(rand((2, 3)) * 3, [float(i) for i in range(-5, 6)])
    seen = []

    def f(x):
        r = fn(x)
        seen.append(r)
        return np.sum(x * r)

    grad = cr.grad(f)(x)
    assert type(seen[0]) is np.ndarray  # plain, not traced
    np.testing.assert_array_equal(seen[0], fn(x))
    np.testing.assert_array_equal(grad, fn(x))  # the derivative of x * c(x) is c
    np.testing.assert_array_equal(
        cr.jacfwd(lambda x: x * fn(x))(x).reshape(6, 6), np.diag(np.ravel(fn(x)).astype(float))
    )


# --- stable building blocks -------------------------------------------------------
AXES = [None, 0, 1, -1, (0, 2), (-1, -3), ()]


def test_stable_functions_are_exported():
    for name in [
        "logsumexp",
        "softmax",
        "log_softmax",
        "sigmoid",
        "expit",
        "softplus",
        "xlogy",
        "log1mexp",
    ]:
        assert name in cnp.DIFFERENTIABLE and callable(getattr(cnp, name))
        assert getattr(cnp, name).__doc__
    assert cnp.expit is cnp.sigmoid


@pytest.mark.parametrize("axis", AXES, ids=str)
@pytest.mark.parametrize("keepdims", [False, True])
def test_logsumexp_axes(axis, keepdims):
    x = rand((2, 3, 4))
    f = lambda x: cnp.logsumexp(x, axis=axis, keepdims=keepdims)  # noqa: E731
    np.testing.assert_allclose(f(x), sp.logsumexp(x, axis=axis, keepdims=keepdims))
    cr.check_grads(f, (x,), order=2)
    assert_same_jacobians(f, (x,))
    # The gradient is the softmax over the reduced axes.
    ax = tuple(range(3)) if axis is None else axis
    np.testing.assert_allclose(
        cr.grad(lambda x: np.sum(f(x)))(x), sp.softmax(x, axis=ax) if ax != () else np.ones_like(x)
    )


def test_logsumexp_0d_and_lists():
    np.testing.assert_allclose(cnp.logsumexp(0.3), 0.3)
    cr.check_grads(cnp.logsumexp, (np.float64(0.3),), order=2)
    np.testing.assert_allclose(cnp.logsumexp([1.0, 2.0]), sp.logsumexp([1.0, 2.0]))
    np.testing.assert_allclose(cnp.logsumexp([1, 2]), sp.logsumexp([1, 2]))


@pytest.mark.parametrize(
    "b_shape, axis",
    [((2, 3, 4), None), ((3, 4), -1), ((4,), (0, 1)), ((2, 1, 4), 1), ((), 0)],
    ids=str,
)
def test_logsumexp_with_b(b_shape, axis):
    a, b = rand((2, 3, 4)), pos(b_shape)
    f = lambda a, b: cnp.logsumexp(a, axis=axis, b=b)  # noqa: E731
    np.testing.assert_allclose(f(a, b), sp.logsumexp(a, axis=axis, b=b))
    cr.check_grads(f, (a, b), order=2)
    assert_same_jacobians(f, (a, b), 0)
    assert_same_jacobians(f, (a, b), 1)
    # b broadcasting a: a smaller than the result
    f2 = lambda b, a: cnp.logsumexp(a[0, 0], axis=-1, b=b, keepdims=True)  # noqa: E731
    cr.check_grads(f2, (pos((3, 4)), a), order=2)


def test_logsumexp_with_negative_b_and_return_sign():
    a = rand((2, 3))
    b = np.array([[1.0, -0.2, 0.5], [-1.0, 0.3, -0.4]])  # row sums of b e^a: one of each sign
    out, sign = cnp.logsumexp(a, axis=1, b=b, return_sign=True)
    ref, ref_sign = sp.logsumexp(a, axis=1, b=b, return_sign=True)
    np.testing.assert_allclose(out, ref)
    np.testing.assert_array_equal(sign, ref_sign)
    assert set(sign) == {-1.0, 1.0}
    f = lambda a, b: cnp.logsumexp(a, axis=1, b=b, return_sign=True)[0]  # noqa: E731
    cr.check_grads(f, (a, b), order=2)
    assert_same_jacobians(f, (a, b), 0)
    nan_rows = np.isnan(cnp.logsumexp(a, axis=1, b=b))
    np.testing.assert_array_equal(nan_rows, np.isnan(sp.logsumexp(a, axis=1, b=b)))
    _, s0 = cnp.logsumexp(a, return_sign=True)
    assert s0 == 1.0


def test_logsumexp_is_stable():
    x = np.array([1000.0, 1000.0])
    np.testing.assert_allclose(cnp.logsumexp(x), 1000.0 + np.log(2.0))
    np.testing.assert_array_equal(cr.grad(cnp.logsumexp)(x), [0.5, 0.5])
    np.testing.assert_allclose(cr.hessian(cnp.logsumexp)(x), [[0.25, -0.25], [-0.25, 0.25]])
    np.testing.assert_array_equal(cr.grad(cnp.logsumexp)(-x), [0.5, 0.5])
    y = np.array([-np.inf, 0.0, 2000.0])
    np.testing.assert_array_equal(cr.grad(cnp.logsumexp)(y), [0.0, 0.0, 1.0])
    np.testing.assert_array_equal(cr.jacfwd(cnp.logsumexp)(y), [0.0, 0.0, 1.0])
    assert np.all(np.isfinite(cr.hessian(cnp.logsumexp)(np.array([-800.0, 0.0, 800.0]))))
    assert cnp.logsumexp(np.array([-np.inf, -np.inf])) == -np.inf
    cr.check_grads(cnp.logsumexp, (np.array([1000.0, 1001.0, 999.5]),), order=2)


@pytest.mark.parametrize("axis", [None, 0, 1, -1, (0, 2), (-1, -3)], ids=str)
@pytest.mark.parametrize("fn, ref", [("softmax", sp.softmax), ("log_softmax", sp.log_softmax)])
def test_softmax_family(fn, ref, axis):
    x = rand((2, 3, 4))
    f = lambda x: getattr(cnp, fn)(x, axis=axis)  # noqa: E731
    np.testing.assert_allclose(f(x), ref(x, axis=axis), rtol=1e-12)
    cr.check_grads(f, (x,), order=2)
    assert_same_jacobians(f, (x,))
    h = cr.hessian(lambda x: np.sum(f(x) * x))(x)
    np.testing.assert_allclose(h, cr.jacrev(cr.jacrev(lambda x: np.sum(f(x) * x)))(x), atol=1e-12)


def test_softmax_default_axis_is_last_and_jacobian():
    x = rand((2, 3))
    np.testing.assert_allclose(cnp.softmax(x), sp.softmax(x, axis=-1))
    np.testing.assert_allclose(cnp.log_softmax(x), sp.log_softmax(x, axis=-1))
    s = cnp.softmax(x[0])
    np.testing.assert_allclose(cr.jacrev(cnp.softmax)(x[0]), np.diag(s) - np.outer(s, s))
    np.testing.assert_allclose(cr.jacfwd(cnp.log_softmax)(x[0]), np.eye(3) - s)
    with pytest.raises(np.exceptions.AxisError):  # as NumPy's reductions: no axis -1 in 0-d
        cnp.softmax(np.float64(0.2))


def test_softmax_family_is_stable():
    x = np.array([1000.0, 0.0, -1000.0])
    np.testing.assert_allclose(cnp.softmax(x), [1.0, 0.0, 0.0])
    np.testing.assert_allclose(cnp.log_softmax(x), [0.0, -1000.0, -2000.0])
    for f in (cnp.softmax, cnp.log_softmax):
        for jac in (cr.jacrev(f)(x), cr.jacfwd(f)(x), cr.hessian(lambda x, f=f: f(x)[1])(x)):
            assert np.all(np.isfinite(jac))
    np.testing.assert_allclose(
        cr.jacrev(cnp.log_softmax)(x), [[0, 0, 0], [-1, 1, 0], [-1, 0, 1]], atol=1e-300
    )
    y = np.array([1000.0, 1000.0])
    np.testing.assert_allclose(cr.jacrev(cnp.softmax)(y), [[0.25, -0.25], [-0.25, 0.25]])
    cr.check_grads(cnp.log_softmax, (np.array([700.0, 701.0, 699.0]),), order=2)


@settings(max_examples=40, derandomize=True, deadline=None)
@given(data=st.data())
def test_reductions_over_random_axes(data):
    shape = data.draw(hnp.array_shapes(min_dims=0, max_dims=3, min_side=1, max_side=3))
    ndim = len(shape)
    axes = [st.none(), hnp.valid_tuple_axes(ndim)]  # tuples include ()
    if ndim:
        axes.append(st.integers(-ndim, ndim - 1))
    axis = data.draw(st.one_of(*axes))
    keepdims = data.draw(st.booleans())
    x = rand(shape) * 5
    f = lambda x: cnp.logsumexp(x, axis=axis, keepdims=keepdims)  # noqa: E731
    np.testing.assert_allclose(f(x), sp.logsumexp(x, axis=axis, keepdims=keepdims))
    cr.check_grads(f, (x,), order=2)
    assert_same_jacobians(f, (x,))
    for fn, ref in ((cnp.softmax, sp.softmax), (cnp.log_softmax, sp.log_softmax)):
        g_ = lambda x, fn=fn: fn(x, axis=axis)  # noqa: E731
        np.testing.assert_allclose(g_(x), ref(x, axis=axis), rtol=1e-12, atol=1e-300)
        cr.check_grads(g_, (x,), order=2)
        assert_same_jacobians(g_, (x,))


ELEMENTWISE_STABLE = {
    "sigmoid": (cnp.sigmoid, sp.expit, rand),
    "expit": (cnp.expit, sp.expit, rand),
    "softplus": (cnp.softplus, lambda x: np.logaddexp(0.0, x), rand),
    "log1mexp": (cnp.log1mexp, lambda x: np.log(-np.expm1(x)), lambda s: -pos(s)),
}


@pytest.mark.parametrize("shape", UNARY_SHAPES, ids=str)
@pytest.mark.parametrize("name", sorted(ELEMENTWISE_STABLE))
def test_stable_elementwise(name, shape):
    fn, ref, gen = ELEMENTWISE_STABLE[name]
    x = gen(shape) * 3
    np.testing.assert_allclose(fn(x), ref(x), rtol=1e-13)
    cr.check_grads(fn, (x,), order=2)
    assert_same_jacobians(fn, (x,))
    h = cr.hessian(lambda x: np.sum(fn(x) ** 2))(np.atleast_1d(x))
    np.testing.assert_allclose(
        h, cr.jacrev(cr.jacrev(lambda x: np.sum(fn(x) ** 2)))(np.atleast_1d(x))
    )


def test_sigmoid_and_softplus_are_stable():
    x = np.array([-1000.0, -40.0, 0.0, 40.0, 1000.0])
    np.testing.assert_array_equal(cnp.sigmoid(x), sp.expit(x))
    s = sp.expit(x)
    exact_slope = s * sp.expit(-x)  # e^-|x| for large |x|
    np.testing.assert_allclose(g(cnp.sigmoid, x), exact_slope, rtol=1e-14)
    assert g(cnp.sigmoid, [40.0])[0] == pytest.approx(math.exp(-40.0), rel=1e-14)
    np.testing.assert_allclose(
        cnp.softplus(x), [0.0, math.log1p(math.exp(-40.0)), math.log(2.0), 40.0, 1000.0], rtol=1e-15
    )
    np.testing.assert_allclose(g(cnp.softplus, x), s, rtol=1e-14)
    assert g(cnp.softplus, [1000.0])[0] == 1.0 and g(cnp.softplus, [-1000.0])[0] == 0.0
    h = np.diag(cr.hessian(lambda x: np.sum(cnp.softplus(x)))(x))
    np.testing.assert_allclose(h, exact_slope, rtol=1e-14)
    assert np.all(np.isfinite(cr.hessian(lambda x: np.sum(cnp.sigmoid(x)))(x)))
    assert cnp.sigmoid(np.float32(3.0)).dtype == np.float32
    assert cnp.softplus(np.ones(2, np.float32)).dtype == np.float32
    assert np.ndim(cnp.sigmoid(0.5)) == 0 and cnp.sigmoid(0.0) == 0.5


XLOGY_SHAPES = [((), ()), ((3,), (3,)), ((2, 3), (3,)), ((3,), (2, 3)), ((2, 1), (1, 3))]


@pytest.mark.parametrize("shapes", XLOGY_SHAPES, ids=str)
def test_xlogy(shapes):
    x, y = rand(shapes[0]), pos(shapes[1])
    np.testing.assert_allclose(cnp.xlogy(x, y), sp.xlogy(x, y))
    cr.check_grads(cnp.xlogy, (x, y), order=2)
    assert_same_jacobians(cnp.xlogy, (x, y), 0)
    assert_same_jacobians(cnp.xlogy, (x, y), 1)


def test_xlogy_at_zero():
    x = np.array([0.0, 0.0, 0.0, 0.0, 1.0, 2.0])
    y = np.array([0.0, 2.0, np.inf, np.nan, 0.0, 3.0])
    np.testing.assert_array_equal(cnp.xlogy(x, y), sp.xlogy(x, y))
    gx, gy = cr.grad(lambda x, y: np.sum(cnp.xlogy(x, y)), (0, 1))(x, y)
    np.testing.assert_array_equal(gy[:3], [0.0, 0.0, 0.0])  # 0 where x == 0
    np.testing.assert_array_equal(gy[4:], [np.inf, 2.0 / 3.0])
    np.testing.assert_array_equal(gx[[0, 1, 4, 5]], [-np.inf, np.log(2.0), -np.inf, np.log(3.0)])
    # Mixed second derivatives agree at x == 0 (both 1/y).
    h = cr.hessian(lambda v: cnp.xlogy(v[0], v[1]))(np.array([0.0, 2.0]))
    np.testing.assert_allclose(h, [[0.0, 0.5], [0.5, 0.0]])
    np.testing.assert_array_equal(
        cr.grad(lambda x: cnp.xlogy(x, 0.5) * 0.0 + cnp.xlogy(0.0, x))(0.0), 0.0
    )


def test_log1mexp():
    x = np.array([-1e-20, -1e-8, -0.5, -np.log(2.0), -1.0, -40.0, -1000.0])
    mpmath = pytest.importorskip("mpmath")
    mpmath.mp.dps = 50
    exact = [float(mpmath.log(1 - mpmath.exp(mpmath.mpf(v)))) for v in x]
    exact_slope = [float(-1 / mpmath.expm1(-mpmath.mpf(v))) for v in x]
    np.testing.assert_allclose(cnp.log1mexp(x), exact, rtol=1e-14)
    np.testing.assert_allclose(g(cnp.log1mexp, x), exact_slope, rtol=1e-14, atol=1e-300)
    assert cnp.log1mexp(0.0) == -np.inf and g(cnp.log1mexp, [0.0])[0] == -np.inf
    assert np.isnan(cnp.log1mexp(0.5))
    masked = lambda x: np.where(x < 0, cnp.log1mexp(x), 0.0)  # noqa: E731
    np.testing.assert_array_equal(g(masked, [0.0, -np.log(2.0)]), [0.0, -1.0])


def test_stable_functions_on_plain_values():
    x = rand((3,))
    np.testing.assert_allclose(cnp.logsumexp(x), sp.logsumexp(x))
    np.testing.assert_allclose(cnp.softmax(list(x)), sp.softmax(x))
    np.testing.assert_allclose(cnp.sigmoid(x), sp.expit(x))
    np.testing.assert_allclose(cnp.xlogy(x, 2.0), sp.xlogy(x, 2.0))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the stable forms warn about nothing
        cnp.logsumexp(np.array([-np.inf, 1000.0]))
        cnp.softplus(np.array([-1000.0, 1000.0]))
        cnp.sigmoid(np.array([-1000.0, 1000.0]))
        cnp.log_softmax(np.array([-np.inf, 0.0]))
