"""chainrule.scipy.integrate: trapezoid and simpson against SciPy's values (odd and
even sample counts) and finite differences in y, x and dx, both modes, second order."""

from __future__ import annotations

import numpy as np
import pytest

si = pytest.importorskip("scipy.integrate")

import chainrule as cr  # noqa: E402
import chainrule.scipy.integrate as csi  # noqa: E402

RNG = np.random.default_rng(9)
BOTH = ("fwd", "rev")


def _traced(f, *args):
    return cr.jvp(f, args, tuple(np.ones_like(a) for a in args))[0]


def _points(n, *lead):
    return np.sort(RNG.uniform(0.0, 3.0, size=lead + (n,)), axis=-1)


@pytest.mark.parametrize("n", [1, 2, 3, 4, 5, 6, 7, 8])
def test_simpson_matches_scipy_every_sample_count(n):
    y = RNG.normal(size=(3, n))
    x = _points(n)
    for kw in ({}, {"dx": 0.3}, {"x": x}):
        want = si.simpson(y, **kw)
        got = _traced(lambda y, kw=kw: csi.simpson(y, **kw), y)
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-14)
    # x traced too, and along axis 0 with x shaped like y
    got = _traced(lambda y, x: csi.simpson(y, x=x), y, x)
    np.testing.assert_allclose(got, si.simpson(y, x=x), rtol=1e-12, atol=1e-14)
    xs = _points(n, 3).T
    got = _traced(lambda y, x: csi.simpson(y, x=x, axis=0), y.T, xs)
    np.testing.assert_allclose(got, si.simpson(y.T, x=xs, axis=0), rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("n", [2, 3, 4, 5, 6])
def test_derivatives_in_y_x_dx(n):
    y, x = RNG.normal(size=(2, n)), _points(n)
    cr.check_grads(lambda y, x: csi.simpson(y, x=x) ** 2, (y, x), order=2, modes=BOTH)
    cr.check_grads(lambda y, x: csi.trapezoid(y, x) ** 2, (y, x), order=2, modes=BOTH)
    cr.check_grads(lambda d: csi.simpson(y, dx=d) ** 2, (0.4,), order=2, modes=BOTH)
    cr.check_grads(lambda d: csi.trapezoid(y, dx=d) ** 2, (0.4,), order=2, modes=BOTH)
    for f in (lambda y, x: csi.simpson(y, x=x), lambda y, x: csi.trapezoid(y, x)):
        for arg in (0, 1):
            np.testing.assert_allclose(
                cr.jacrev(f, argnums=arg)(y, x), cr.jacfwd(f, argnums=arg)(y, x), atol=1e-12
            )


def test_exact_for_quadratics_and_closed_form_weights():
    # Simpson (Cartwright's end correction included) is exact for parabolas on any grid
    x = _points(6)
    f = lambda x: csi.simpson(x**2, x=x)  # noqa: E731
    np.testing.assert_allclose(f(x), (x[-1] ** 3 - x[0] ** 3) / 3, rtol=1e-12)
    # so its derivative in the end points is the integrand there, zero inside
    g = cr.grad(f)(x)
    np.testing.assert_allclose(g, [-(x[0] ** 2), 0, 0, 0, 0, x[-1] ** 2], atol=1e-10)
    # trapezoid weights with dx: dx/2, dx, ..., dx, dx/2
    np.testing.assert_allclose(
        cr.grad(lambda y: csi.trapezoid(y, dx=0.5))(np.zeros(4)), [0.25, 0.5, 0.5, 0.25]
    )


def test_trapezoid_values_and_complex():
    y = RNG.normal(size=(4, 5)) + 1j * RNG.normal(size=(4, 5))
    x = _points(4)
    want = si.trapezoid(y, x, axis=0)
    np.testing.assert_allclose(_traced(lambda y: csi.trapezoid(y, x, axis=0), y), want)
    _, vjp = cr.vjp(lambda y: csi.trapezoid(y, x, axis=0), y)
    (g,) = vjp(np.ones(5, dtype=complex))
    w = np.diff(x)
    np.testing.assert_allclose(g[:, 0], np.r_[w[0], w[1:] + w[:-1], w[-1]] / 2)


def test_errors_and_fallthrough():
    with pytest.raises(ValueError, match="x has 3 samples but y has 4"):
        cr.grad(lambda y: csi.simpson(y, x=np.arange(3.0)))(np.ones(4))
    with pytest.raises(ValueError, match="x must be 1-d or have y's shape"):
        cr.grad(lambda y: csi.trapezoid(y, np.ones((2, 2, 4))))(np.ones(4))
    assert csi.IntegrationWarning is si.IntegrationWarning  # other names are SciPy's
    assert {"simpson", "trapezoid"} <= set(csi.DIFFERENTIABLE)
