"""chainrule.scipy.integrate.quad: the Leibniz rule in the limits, the integral of
the integrand's derivative in args; against closed forms and finite differences
of SciPy's quad at tight tolerances."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.integrate as si

import chainrule as cr
import chainrule.scipy.integrate as csi
from chainrule.errors import ConversionError


def integrand(x, s, w):
    return np.exp(-s * x * x) * np.cos(w[0] * x + w[1])


def value(a, b, s, w, **kw):
    return csi.quad(integrand, a, b, args=(s, w), **kw)[0]


def scipy_value(a, b, s, w):
    return si.quad(integrand, a, b, args=(s, w), epsabs=1e-14, epsrel=1e-13)[0]


def fd4(f, x, h=1e-3):
    return (-f(x + 2 * h) + 8 * f(x + h) - 8 * f(x - h) + f(x - 2 * h)) / (12 * h)


A, B, S, W = 0.2, 1.7, 0.8, np.array([1.3, 0.4])


def test_value_and_abserr_are_scipys():
    got = csi.quad(integrand, A, B, args=(S, W))
    ref = si.quad(integrand, A, B, args=(S, W))
    assert got == ref
    v, err = cr.value_and_grad(lambda s: csi.quad(integrand, A, B, args=(s, W))[0])(S)
    assert v == ref[0]


def test_leibniz_rule_in_the_limits_both_modes():
    ga, gb = cr.grad(value, argnums=(0, 1))(A, B, S, W)
    assert ga == pytest.approx(-integrand(A, S, W), rel=1e-14)
    assert gb == pytest.approx(integrand(B, S, W), rel=1e-14)
    _, t = cr.jvp(lambda a, b: value(a, b, S, W), (A, B), (1.0, 2.0))
    assert t == pytest.approx(-integrand(A, S, W) + 2 * integrand(B, S, W), rel=1e-14)


def test_args_against_finite_differences():
    rtol = 1e-9
    gs, gw = cr.grad(value, argnums=(2, 3))(A, B, S, W, epsrel=rtol)
    fs = fd4(lambda s: scipy_value(A, B, s, W), S)
    fw = [fd4(lambda u, e=e: scipy_value(A, B, S, W + u * e), 0.0) for e in np.eye(2)]
    assert abs(gs - fs) <= 100 * rtol * abs(fs)
    np.testing.assert_allclose(gw, fw, rtol=100 * rtol)
    jw = cr.jacfwd(value, argnums=3)(A, B, S, W, epsrel=rtol)
    np.testing.assert_allclose(jw, gw, rtol=1e-12)


def test_second_order_closed_form():
    # F(b, k) = int_0^b exp(k x) dx = (exp(k b) - 1) / k
    def f(v):
        return csi.quad(lambda x, k: np.exp(k * x), 0.0, v[0], args=(v[1],), epsrel=1e-12)[0]

    b, k = 1.2, 0.7
    e = np.exp(k * b)
    d_kk = (b * b * e) / k - 2 * b * e / k**2 + 2 * (e - 1) / k**3
    want = np.array([[k * e, b * e], [b * e, d_kk]])
    # within 100 x the quadrature's epsrel
    np.testing.assert_allclose(cr.hessian(f)(np.array([b, k])), want, rtol=100 * 1e-12)
    np.testing.assert_allclose(cr.jacfwd(cr.grad(f))(np.array([b, k])), want, rtol=100 * 1e-12)
    cr.check_grads(f, (np.array([b, k]),), order=2)


def test_infinite_limits():
    # int exp(-x^2 / s) over the real line = sqrt(pi s)
    def g(s):
        return csi.quad(lambda x, s: np.exp(-x * x / s), -np.inf, np.inf, args=(s,))[0]

    assert cr.grad(g)(2.0) == pytest.approx(0.5 * np.sqrt(np.pi / 2.0), rel=1e-8)
    with pytest.raises(ValueError, match="infinite and traced"):
        cr.grad(lambda b: csi.quad(lambda x: np.exp(-x), 0.0, b)[0])(np.inf)


def test_refusals_and_plain_scipy_hint():
    with pytest.raises(ValueError, match="pass it through args"):
        cr.grad(lambda k: csi.quad(lambda x: k * x, 0.0, 1.0)[0])(1.0)
    with pytest.raises(ConversionError, match=r"chainrule\.scipy\.integrate\.quad"):
        cr.grad(lambda k: si.quad(lambda x, k: k * x, 0.0, 1.0, args=(k,))[0])(1.0)
