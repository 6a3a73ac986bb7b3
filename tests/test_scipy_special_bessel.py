"""SciPy's Bessel functions in their argument: closed forms (the recurrences),
both modes to second order against finite differences, jacrev == jacfwd,
complex arguments, plain ``scipy.special`` calls, and a traced order refused."""

from __future__ import annotations

import numpy as np
import pytest

sc = pytest.importorskip("scipy.special")

import chainrule as cr  # noqa: E402
import chainrule.scipy.special as csp  # noqa: E402
from chainrule.errors import NoRuleError  # noqa: E402

X = np.array([0.4, 1.7, 3.9, 8.2])
UNARY = ["j0", "j1", "y0", "y1", "i0", "i1", "k0", "k1", "k0e", "k1e"]
ORDERED = ["jv", "yv", "iv", "ive", "kv", "kve", "yn"]


@pytest.mark.parametrize("name", UNARY)
@pytest.mark.parametrize("via", ["scipy", "chainrule"])
def test_unary_second_order_both_modes(name, via):
    fn = getattr(sc if via == "scipy" else csp, name)
    cr.check_grads(fn, (X,), order=2, modes=("fwd", "rev"))
    jr = cr.jacrev(fn)(X)
    assert np.array_equal(jr, cr.jacfwd(fn)(X))
    assert np.allclose(np.diag(jr), (fn(X + 1e-6) - fn(X - 1e-6)) / 2e-6, rtol=1e-7)


@pytest.mark.parametrize("name", ORDERED)
@pytest.mark.parametrize("order", [0, 1, 2.5, -1.5])
def test_ordered_second_order_both_modes(name, order):
    if name == "yn" and order != int(order):
        pytest.skip("yn takes integer orders")
    fn = getattr(sc, name)
    cr.check_grads(lambda z: fn(order, z), (X,), order=2, modes=("fwd", "rev"))
    cr.check_grads(lambda z: getattr(csp, name)(order, z), (X,), order=1, modes=("fwd", "rev"))


def test_closed_forms():
    x = 2.3
    assert cr.grad(sc.j0)(x) == -sc.j1(x)
    assert cr.grad(sc.y0)(x) == -sc.y1(x)
    assert cr.grad(sc.i0)(x) == sc.i1(x)
    assert cr.grad(sc.k0)(x) == -sc.k1(x)
    assert cr.grad(sc.j1)(x) == pytest.approx(sc.j0(x) - sc.j1(x) / x, rel=1e-14)
    assert cr.grad(sc.k1)(x) == pytest.approx(-sc.k0(x) - sc.k1(x) / x, rel=1e-14)
    v = 1.3
    assert cr.grad(lambda z: sc.jv(v, z))(x) == pytest.approx(
        sc.jv(v - 1, x) - v / x * sc.jv(v, x), rel=1e-13
    )
    assert cr.grad(lambda z: sc.kve(v, z))(x) == pytest.approx(
        np.exp(x) * (sc.kv(v, x) - 0.5 * (sc.kv(v - 1, x) + sc.kv(v + 1, x))), rel=1e-13
    )
    # Second derivative from Bessel's equation: z^2 J'' + z J' + (z^2 - v^2) J = 0.
    j = sc.jv(v, x)
    d1 = cr.grad(lambda z: sc.jv(v, z))(x)
    d2 = cr.grad(cr.grad(lambda z: sc.jv(v, z)))(x)
    assert x * x * d2 + x * d1 + (x * x - v * v) * j == pytest.approx(0.0, abs=1e-13)


def test_values_at_zero():
    # J1'(0) = I1'(0) = 1/2; J0'(0) = 0.
    assert cr.grad(sc.j1)(0.0) == 0.5
    assert cr.grad(sc.i1)(0.0) == 0.5
    assert cr.grad(sc.j0)(0.0) == 0.0


def test_jacrev_equals_jacfwd_with_broadcast_orders():
    v = np.array([[0.5], [2.0]])
    for name in ("jv", "iv", "kv", "kve", "ive", "yv"):
        fn = getattr(sc, name)
        jr = cr.jacrev(lambda z, fn=fn: fn(v, z))(X)
        jf = cr.jacfwd(lambda z, fn=fn: fn(v, z))(X)
        assert jr.shape == (2, 4, 4)
        assert np.allclose(jr, jf, rtol=1e-14, atol=0)


@pytest.mark.parametrize("name", ["jv", "yv", "iv", "kv", "kve"])
def test_complex_argument_is_holomorphic(name):
    fn = getattr(sc, name)
    z, h = 1.3 + 0.6j, 1e-6
    f = lambda z: fn(0.7, z)  # noqa: E731
    g = cr.grad(f, holomorphic=True)(z)
    assert g == pytest.approx((f(z + h) - f(z - h)) / (2 * h), rel=1e-8)
    assert g == pytest.approx((f(z + 1j * h) - f(z - 1j * h)) / (2j * h), rel=1e-8)
    g2 = cr.grad(cr.grad(f, holomorphic=True), holomorphic=True)(z)
    assert g2 == pytest.approx((f(z + 1e-4) - 2 * f(z) + f(z - 1e-4)) / 1e-8, rel=1e-5)
    # Forward mode agrees.
    assert cr.jvp(f, (z,), (1.0 + 0j,))[1] == pytest.approx(g, rel=1e-14)


def test_ive_of_complex_argument_is_refused():
    # ive = iv exp(-|Re z|) is not holomorphic: refused rather than a wrong rule.
    with pytest.raises(NotImplementedError, match="complex"):
        cr.grad(lambda z: sc.ive(0.5, z), holomorphic=True)(1.0 + 1.0j)


@pytest.mark.parametrize("name, arg", [("jv", "v"), ("kve", "v"), ("yn", "n")])
def test_a_traced_order_is_refused_by_name(name, arg):
    fn = getattr(sc, name)
    msg = f"scipy.special.{name} .its order {arg} is not differentiable"
    with pytest.raises(NoRuleError, match=msg):
        cr.grad(lambda v: fn(v, 2.0))(1.0)
    with pytest.raises(NoRuleError, match=msg):
        cr.jvp(lambda v: fn(v, 2.0), (1.0,), (1.0,))
    with pytest.raises(NoRuleError, match=msg):
        cr.grad(lambda v: getattr(csp, name)(v, 2.0))(1.0)


def test_plain_and_chainrule_agree():
    for name in UNARY:
        assert cr.grad(getattr(sc, name))(1.1) == cr.grad(getattr(csp, name))(1.1)
    assert cr.grad(lambda z: sc.yn(2, z))(1.5) == cr.grad(lambda z: csp.yn(2, z))(1.5)


def test_jn_integer_order_alias():
    """scipy.special.jn (integer order; the same ufunc as jv in recent SciPy):
    d/dz J_n(z) = (J_{n-1}(z) - J_{n+1}(z)) / 2."""
    g = cr.grad(lambda z: np.sum(sc.jn(2, z)))(X)
    np.testing.assert_allclose(g, (sc.jv(1, X) - sc.jv(3, X)) / 2, rtol=1e-12)
    cr.check_grads(lambda z: sc.jn(3, z), (X,), order=2, modes=("fwd", "rev"))
