"""np.modf and np.divmod, the two-result ufuncs: the fractional part and the
remainder move with their inputs, the integral part and the quotient are
piecewise constant. Both modes against finite differences and closed forms,
jacfwd == jacrev, second order, batched Jacobians and cr.vmap."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import fd_jacobian

import chainrule as cr

RNG = np.random.default_rng(3)
# away from the integers, where the parts jump
X = np.array([-2.7, -0.4, 0.3, 1.6, 3.45])
B = np.array([0.7, 1.3, -0.9, 2.2, 0.45])


def _modf_mix(x):
    frac, whole = np.modf(x)
    return np.sin(frac) * whole + frac**2


def test_modf_values_and_jacobians():
    (frac, whole), (tf, tw) = cr.jvp(np.modf, (X,), (np.ones(5),))
    np.testing.assert_array_equal(frac, np.modf(X)[0])
    np.testing.assert_array_equal(whole, np.modf(X)[1])
    np.testing.assert_array_equal(tf, np.ones(5))
    np.testing.assert_array_equal(tw, np.zeros(5))
    J = cr.jacrev(lambda x: np.modf(x)[0])(X)
    np.testing.assert_allclose(J, np.eye(5))
    np.testing.assert_allclose(cr.jacfwd(lambda x: np.modf(x)[1])(X), np.zeros((5, 5)))
    Jf, Jr = cr.jacfwd(_modf_mix)(X), cr.jacrev(_modf_mix)(X)
    np.testing.assert_allclose(Jf, Jr)
    np.testing.assert_allclose(Jf, fd_jacobian(_modf_mix, X), atol=1e-8)
    frac, whole = np.modf(X)
    np.testing.assert_allclose(np.diag(Jf), np.cos(frac) * whole + 2 * frac)
    cr.check_grads(_modf_mix, (X,), order=2)
    H = cr.hessian(lambda x: np.sum(_modf_mix(x)))(X)
    np.testing.assert_allclose(H, np.diag(-np.sin(frac) * whole + 2), atol=1e-12)


def _divmod_mix(a, b):
    q, r = np.divmod(a, b)
    return np.sin(r) * q + r**2


@pytest.mark.parametrize("argnum", [0, 1])
def test_divmod_jacobians(argnum):
    f = (lambda a: _divmod_mix(a, B)) if argnum == 0 else (lambda b: _divmod_mix(X, b))
    x = (X, B)[argnum]
    Jf, Jr = cr.jacfwd(f)(x), cr.jacrev(f)(x)
    np.testing.assert_allclose(Jf, Jr)
    np.testing.assert_allclose(Jf, fd_jacobian(f, x), atol=1e-7)
    cr.check_grads(_divmod_mix, (X, B), order=2)


def test_divmod_remainder_closed_form_with_broadcasting():
    # r = a - floor(a / b) b: dr/da = 1, dr/db = -floor(a / b), b a scalar here
    b = np.array(0.8)
    Jb = cr.jacrev(lambda b: np.divmod(X, b)[1])(b)
    np.testing.assert_allclose(Jb, -np.floor(X / 0.8))
    np.testing.assert_allclose(cr.jacfwd(lambda b: np.divmod(X, b)[1])(b), Jb)
    np.testing.assert_allclose(cr.jacfwd(lambda a: np.divmod(a, b)[1])(X), np.eye(5))
    np.testing.assert_allclose(cr.jacrev(lambda a: np.divmod(a, B)[0])(X), np.zeros((5, 5)))


def test_under_vmap():
    xs = RNG.uniform(0.1, 0.9, size=(4, 3)) + np.arange(3)
    np.testing.assert_allclose(cr.vmap(lambda x: np.modf(x)[0])(xs), np.modf(xs)[0])
    g = cr.vmap(cr.grad(lambda x: np.sum(np.divmod(x, 0.7)[1] ** 2)))(xs)
    np.testing.assert_allclose(g, 2 * np.remainder(xs, 0.7))


def test_complex_is_refused_as_numpy_does():
    with pytest.raises(TypeError):
        cr.grad(lambda z: np.abs(np.modf(z)[0]).sum())(np.array([1.5 + 1j]))


def test_zero_cotangents_stay_zero_where_the_quotient_overflows():
    # docs/conventions.md: a zero cotangent (or tangent) times an infinite or
    # overflowing derivative is 0, never NaN; dr/db = -q overflows for a tiny b
    a = np.array([1e300, 3.0, -2.5, 1e-310])
    b = np.array([1e-310, 0.7, 1e-300, 2.0])

    def masked(v):
        q, r = np.divmod(v[:4], v[4:])
        return np.sum(np.where(np.zeros(4, dtype=bool), r + q, 0.0))

    v = np.concatenate([a, b])
    with np.errstate(all="ignore"):
        assert np.all(cr.grad(masked)(v) == 0.0)
        assert np.all(cr.jacfwd(masked)(v) == 0.0)
        J = cr.jacrev(lambda v: np.divmod(v[:4], v[4:])[1])(v)
        Jf = cr.jacfwd(lambda v: np.divmod(v[:4], v[4:])[1])(v)
    off = np.ones((4, 8), dtype=bool)
    off[np.arange(4), np.arange(4)] = off[np.arange(4), 4 + np.arange(4)] = False
    assert np.all(J[off] == 0.0) and np.all(Jf[off] == 0.0)
    np.testing.assert_array_equal(J[~off], Jf[~off])
    x = np.array([np.inf, -1e308, 0.0, 2.5])
    with np.errstate(all="ignore"):
        g = cr.grad(lambda x: np.sum(np.where(np.zeros(4, bool), np.modf(x)[0], 0.0)))(x)
    assert np.all(g == 0.0)
