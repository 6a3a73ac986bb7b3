"""The short path for an operator with a Python number (``x * 2.0``, ``1 - x``).

Operators whose other operand is a Python ``float``/``int`` or a NumPy
``float64`` scalar skip the general broadcasting rules (``ConstantRule``). Each
form here is checked against the general path (the same constant given as a
0-d array, which never takes the short path), against finite differences in
both modes, under nesting and batching, and where the short path must hand
over to the general one (``x / 0.0``, ``x ** 0.5`` at 0).
"""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
from chainrule.core.registry import CONSTANT_RULES, UFUNCS

FORMS = {
    "x + c": lambda x, c: x + c,
    "c + x": lambda x, c: c + x,
    "x - c": lambda x, c: x - c,
    "c - x": lambda x, c: c - x,
    "x * c": lambda x, c: x * c,
    "c * x": lambda x, c: c * x,
    "x / c": lambda x, c: x / c,
    "c / x": lambda x, c: c / x,
    "x ** c": lambda x, c: x**c,
    "c ** x": lambda x, c: c**x,
}
CONSTANTS = [2.5, 3, np.float64(1.5)]
X = np.array([0.7, 1.3, 2.1])


def _as_array(c):
    """The same constant as a 0-d array: the general path."""
    return np.array(c, dtype=float)


@pytest.mark.parametrize("c", CONSTANTS, ids=["float", "int", "float64"])
@pytest.mark.parametrize("form", list(FORMS))
def test_short_path_matches_general_path_and_finite_differences(form, c):
    op = FORMS[form]

    def short(x):
        return np.sum(np.sin(op(x, c)))

    def general(x):
        return np.sum(np.sin(op(x, _as_array(c))))

    g_short, g_general = cr.grad(short)(X), cr.grad(general)(X)
    np.testing.assert_allclose(g_short, g_general, rtol=1e-14, atol=1e-15)
    _, t_short = cr.jvp(short, (X,), (np.ones(3),))
    np.testing.assert_allclose(t_short, g_general.sum(), rtol=1e-13)
    cr.check_grads(short, (X,), order=2, modes=("fwd", "rev"))


@pytest.mark.parametrize("form", list(FORMS))
def test_jacobians_and_hessians_through_the_short_path(form):
    op = FORMS[form]
    f = lambda x: op(x, 2.0) * x  # noqa: E731
    f_general = lambda x: op(x, _as_array(2.0)) * x  # noqa: E731
    expected = cr.jacrev(f_general)(X)
    np.testing.assert_allclose(cr.jacrev(f)(X), expected, rtol=1e-13)
    np.testing.assert_allclose(cr.jacfwd(f)(X), expected, rtol=1e-13)
    s = lambda x: np.sum(f(x))  # noqa: E731
    s_general = lambda x: np.sum(f_general(x))  # noqa: E731
    np.testing.assert_allclose(cr.hessian(s)(X), cr.hessian(s_general)(X), rtol=1e-12)
    # and against finite differences, not only our own general path
    eps = 1e-6
    fd = np.stack([(f(X + eps * e) - f(X - eps * e)) / (2 * eps) for e in np.eye(3)], axis=1)
    np.testing.assert_allclose(cr.jacrev(f)(X), fd, rtol=1e-6, atol=1e-8)
    cr.check_grads(s, (X,), order=2, modes=("fwd", "rev"))


def test_closed_forms_to_third_order():
    f = lambda x: (3.0 * x - 1) ** 3 / 2.0  # noqa: E731
    x = 0.8
    assert cr.grad(f)(x) == pytest.approx(4.5 * (3 * x - 1) ** 2)
    assert cr.grad(cr.grad(f))(x) == pytest.approx(27.0 * (3 * x - 1))
    assert cr.grad(cr.grad(cr.grad(f)))(x) == pytest.approx(81.0)
    assert cr.jvp(cr.grad(f), (x,), (1.0,))[1] == pytest.approx(27.0 * (3 * x - 1))
    g = lambda x: 1.0 / x - 2**x  # noqa: E731
    assert cr.grad(g)(x) == pytest.approx(-1 / x**2 - np.log(2) * 2**x)
    assert cr.grad(cr.grad(g))(x) == pytest.approx(2 / x**3 - np.log(2) ** 2 * 2**x)


def test_the_scalar_loop_of_the_benchmark():
    def loop(x):
        for _ in range(50):
            x = np.sin(x) * 1.0001 + 0.1
        return x

    x, slope = np.array(0.3), 1.0
    for _ in range(50):
        slope *= np.cos(x) * 1.0001
        x = np.sin(x) * 1.0001 + 0.1
    assert cr.grad(loop)(np.array(0.3)) == pytest.approx(slope, rel=1e-13)
    assert cr.jvp(loop, (np.array(0.3),), (np.array(1.0),))[1] == pytest.approx(slope, rel=1e-13)


# The short path hands over to the general rules where those handle infinities.
def test_division_by_zero_constant_takes_the_general_path():
    with np.errstate(divide="ignore"):
        g = cr.grad(lambda x: np.sum(np.where(x > 5, x / 0.0, x)))(np.array([1.0, 2.0]))
    np.testing.assert_array_equal(g, [1.0, 1.0])


@pytest.mark.parametrize("c", [0.5, 0, 0.0, -1.0])
def test_small_exponents_keep_masked_zeros(c):
    # The masked branch's slope c x ** (c - 1) is infinite or NaN at x = 0;
    # its zero cotangent must stay zero.
    def f(x):
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.sum(np.where(x > 0, x**c, 0.0))

    g = cr.grad(f)(np.array([0.0, 4.0]))
    assert g[0] == 0.0
    assert g[1] == pytest.approx(c * 4.0 ** (c - 1))


def test_reciprocal_of_a_masked_zero_keeps_its_zero_cotangent():
    def f(x):
        with np.errstate(divide="ignore"):
            return np.sum(np.where(x != 0, 1.0 / x, 0.0))

    for transform in (cr.grad(f), lambda x: cr.jacfwd(f)(x)):
        g = transform(np.array([0.0, 2.0]))
        np.testing.assert_array_equal(g, [0.0, -0.25])


def test_dtypes_are_kept():
    g = cr.grad(lambda x: np.sum(x * 2.0 + 1 - 3.0 / x))(np.array([1.0, 2.0], dtype=np.float32))
    assert g.dtype == np.float32
    np.testing.assert_allclose(g, 2.0 + 3.0 / np.array([1.0, 4.0]), rtol=1e-6)


def test_complex_values_through_the_short_path():
    z = np.array([1.0 + 2.0j, -0.5 + 0.3j])
    h = cr.grad(lambda z: np.sum(z * 2.0 + 1.0), holomorphic=True)(z)
    np.testing.assert_allclose(h, [2.0, 2.0])
    g = cr.grad(lambda z: np.sum(np.abs(3.0 * z - 1) ** 2))(z)
    np.testing.assert_allclose(g, 2 * 3.0 * np.conj(3.0 * z - 1))


def test_other_constants_take_the_general_path():
    # bool, complex and float32 constants promote or broadcast differently.
    x = np.array([1.0, 2.0])
    assert cr.grad(lambda x: np.sum(x * True))(x).tolist() == [1.0, 1.0]
    g = cr.grad(lambda x: np.sum(np.real(x * 1j) + np.imag(x * 1j)))(x)
    np.testing.assert_allclose(g, [1.0, 1.0])
    g32 = cr.grad(lambda x: np.sum(x * np.float32(2.0)))(x.astype(np.float32))
    assert g32.dtype == np.float32
    np.testing.assert_allclose(g32, [2.0, 2.0])


def test_the_graph_records_short_path_operations():
    g = cr.graph(lambda x: (x * 2.0 + 1) ** 2)(np.array([1.0]))
    listing = str(g)
    for name in ("multiply", "add", "power"):
        assert name in listing
    assert "3 primitives" in listing
    backward = str(g.backward())
    assert "multiply" in backward or "*" in backward


def test_the_constant_rules_are_the_arithmetic_operators():
    ufuncs = {
        "add": np.add,
        "sub": np.subtract,
        "mul": np.multiply,
        "truediv": np.true_divide,
        "pow": np.power,
    }
    assert set(CONSTANT_RULES) == {f"__{r}{op}__" for op in ufuncs for r in ("", "r")} - {
        "__rpow__"
    }
    for name, rule in CONSTANT_RULES.items():
        op = name.strip("_").removeprefix("r") if name.startswith("__r") else name.strip("_")
        assert rule.prim is UFUNCS[ufuncs[op]], name
        assert rule.reflected == name.startswith("__r"), name
        assert getattr(cr.core.trace.Tracer, name).__name__ == name


# Found by review: the short paths must keep what the general rules guarantee.
@pytest.mark.parametrize("c", [1e-310, float("nan"), float("inf"), 0.0, -0.0])
def test_divisors_without_a_finite_reciprocal_keep_zero_cotangents_zero(c):
    x = np.array([1.0, 2.0])

    def f(x):
        with np.errstate(all="ignore"):
            return np.sum(np.where(x > 1.5, x / c, 0.0))

    def f_general(x):
        with np.errstate(all="ignore"):
            return np.sum(np.where(x > 1.5, x / np.array(c), 0.0))

    with np.errstate(all="ignore"):
        g, g_general = cr.grad(f)(x), cr.grad(f_general)(x)
        jac = cr.jacrev(lambda x: x / c)(x)
        tangent = cr.jvp(lambda x: x / c, (x,), (np.array([1.0, 0.0]),))[1]
    assert g[0] == 0.0
    np.testing.assert_array_equal(g, g_general)
    assert jac[0, 1] == 0.0 and jac[1, 0] == 0.0
    assert tangent[1] == 0.0


def test_division_keeps_float32_in_forward_mode():
    x = np.array([1.0, 2.0], np.float32)
    y = np.array([3.0, 4.0], np.float32)
    assert [a.dtype for a in cr.jvp(lambda x: x / y, (x,), (x,))] == [np.float32, np.float32]
    assert cr.jacfwd(lambda x: x / y)(x).dtype == np.float32
    assert cr.hessian(lambda x: np.sum(1.0 / x))(x).dtype == np.float32
    assert cr.hvp(lambda x: np.sum(2.0 / x), (x,), (x,))[1].dtype == np.float32
    np.testing.assert_allclose(cr.hessian(lambda x: np.sum(1.0 / x))(x), np.diag(2.0 / x**3))


def test_a_python_zero_divisor_gives_numpy_infinities():
    x = np.array([1.0, -2.0])
    with np.errstate(divide="ignore"):
        t = cr.jvp(lambda x: x / 0.0, (x,), (np.ones(2),))[1]
        t_neg = cr.jvp(lambda x: x / -0.0, (x,), (np.ones(2),))[1]
    np.testing.assert_array_equal(t, [np.inf, np.inf])
    np.testing.assert_array_equal(t_neg, [-np.inf, -np.inf])
