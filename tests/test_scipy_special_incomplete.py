"""The regularised incomplete gamma and beta functions (and their inverses) in
every argument: values of the shape-parameter derivatives against mpmath to
1e-8 (first) and 1e-6 (second order) relative, both modes, second order
against finite differences, jacrev == jacfwd, plain SciPy calls, edges."""

from __future__ import annotations

import numpy as np
import pytest

sc = pytest.importorskip("scipy.special")

import chainrule as cr  # noqa: E402
import chainrule.scipy.special as csp  # noqa: E402
from chainrule.scipy._incomplete_kernels import (  # noqa: E402
    betainc_derivatives,
    gammainc_derivatives,
)


# --- mpmath references -------------------------------------------------------------------
def _mp():
    mp = pytest.importorskip("mpmath")
    mp.mp.dps = 40
    return mp


def ref_gammainc(n, a, x):
    """``d^n P(a, x)/da^n`` by mpmath, differentiating whichever of P and Q is
    smaller (so that a tiny derivative keeps its digits)."""
    mp = _mp()
    a, x = mp.mpf(a), mp.mpf(x)
    if mp.gammainc(a, 0, x, regularized=True) < 0.5:
        return float(mp.diff(lambda t: mp.gammainc(t, 0, x, regularized=True), a, n))
    return -float(mp.diff(lambda t: mp.gammainc(t, x, mp.inf, regularized=True), a, n))


def ref_betainc(i, j, a, b, x):
    """``d^(i+j) I_x(a, b)/da^i db^j`` by mpmath (the smaller tail, as above)."""
    mp = _mp()
    a, b, x = mp.mpf(a), mp.mpf(b), mp.mpf(x)
    if mp.betainc(a, b, 0, x, regularized=True) < 0.5:
        f = lambda s, t: mp.betainc(s, t, 0, x, regularized=True)  # noqa: E731
        return float(mp.diff(f, (a, b), (i, j)))
    f = lambda s, t: mp.betainc(t, s, 0, 1 - x, regularized=True)  # noqa: E731
    return -float(mp.diff(f, (a, b), (i, j)))


def rel(v, r):
    """Relative error; where the exact value is 0 (d2I/dadb at a = b, x = 1/2,
    by symmetry) the absolute error counted against 1e-12."""
    return abs(v - r) / abs(r) if r else abs(v) / 1e-12 * 1e-8


# Edges of the range (a in [0.05, 200], x in [0, 500]) and the switch
# between the series (x < a + 1) and the continued fraction.
GAMMA_POINTS = [
    (0.05, 1e-3),
    (0.05, 1.04),
    (0.05, 1.06),
    (0.05, 500.0),
    (0.3, 0.5),
    (1.0, 30.0),
    (2.5, 3.0),
    (10.0, 10.0),
    (50.0, 51.0),
    (200.0, 5.0),
    (200.0, 200.0),
    (200.0, 500.0),
]
BETA_POINTS = [
    (0.05, 0.08, 0.5),
    (0.05, 200.0, 0.01),
    (0.7, 1.0, 1e-4),
    (3.0, 7.0, 0.3),
    (40.0, 200.0, 0.7),
    (200.0, 190.0, 0.5),
    (200.0, 0.05, 0.9999),
    (200.0, 7.0, 0.99),
]


@pytest.mark.parametrize("a, x", GAMMA_POINTS)
def test_gammainc_shape_derivatives_against_mpmath(a, x):
    d1 = cr.grad(csp.gammainc)(a, x)
    d2 = cr.grad(cr.grad(csp.gammainc))(a, x)
    assert rel(d1, ref_gammainc(1, a, x)) < 1e-8
    assert rel(d2, ref_gammainc(2, a, x)) < 1e-6
    # Q's derivative is P's negated, and keeps its digits where Q is tiny.
    assert cr.grad(csp.gammaincc)(a, x) == -d1
    # Forward mode gives the same numbers.
    assert cr.jvp(lambda t: sc.gammainc(t, x), (a,), (1.0,))[1] == pytest.approx(d1, rel=1e-14)


@pytest.mark.parametrize("a, b, x", BETA_POINTS)
def test_betainc_shape_derivatives_against_mpmath(a, b, x):
    g = cr.grad(csp.betainc, argnums=(0, 1))(a, b, x)
    h = cr.hessian(lambda v: csp.betainc(v[0], v[1], x))(np.array([a, b]))
    assert rel(g[0], ref_betainc(1, 0, a, b, x)) < 1e-8
    assert rel(g[1], ref_betainc(0, 1, a, b, x)) < 1e-8
    assert rel(h[0, 0], ref_betainc(2, 0, a, b, x)) < 1e-6
    assert rel(h[0, 1], ref_betainc(1, 1, a, b, x)) < 1e-6
    assert rel(h[1, 1], ref_betainc(0, 2, a, b, x)) < 1e-6
    assert h[0, 1] == pytest.approx(h[1, 0], rel=1e-12)


@pytest.mark.slow
def test_gammainc_accuracy_grid():
    worst = {1: 0.0, 2: 0.0}
    for a in [0.05, 0.3, 1, 2.5, 10, 50, 199, 200]:
        for x in [1e-3, 0.04, 0.5, 1, 1.06, 3, 9, 11, 30, 49, 51, 60, 150, 199, 201, 230, 300, 500]:
            for n in (1, 2):
                r = ref_gammainc(n, a, x)
                worst[n] = max(worst[n], rel(gammainc_derivatives(n, a, x), r))
    assert worst[1] < 1e-8 and worst[2] < 1e-6, worst


@pytest.mark.slow
def test_betainc_accuracy_grid():
    worst = 0.0
    for a in [0.05, 0.7, 3, 40, 200]:
        for b in [0.05, 1, 7, 200]:
            for x in [1e-4, 0.01, 0.3, 0.5, 0.7, 0.99, 0.9999]:
                for i, j in [(1, 0), (0, 1), (2, 0), (1, 1), (0, 2)]:
                    r = ref_betainc(i, j, a, b, x)
                    tol = 1e-8 if i + j == 1 else 1e-6
                    worst = max(worst, rel(betainc_derivatives(i, j, a, b, x), r) / tol)
    assert worst < 1, worst


@pytest.mark.slow
def test_random_points_near_the_bulk():
    """Random a, b (log-uniform on [0.05, 200]) and x, mostly near the centre
    of the distribution where P and I move fastest in their parameters."""
    rng = np.random.default_rng(11)
    worst = 0.0
    for _ in range(100):
        a = float(np.exp(rng.uniform(np.log(0.05), np.log(200))))
        x = min(float(a * np.exp(rng.normal(0, 0.5))), 500.0)
        for n, tol in ((1, 1e-8), (2, 1e-6)):
            worst = max(worst, rel(gammainc_derivatives(n, a, x), ref_gammainc(n, a, x)) / tol)
    for _ in range(40):
        a, b = np.exp(rng.uniform(np.log(0.05), np.log(200), size=2))
        m = a / (a + b)
        x = float(np.clip(m + rng.normal(0, 0.2) * np.sqrt(m * (1 - m)), 1e-6, 1 - 1e-6))
        for i, j in [(1, 0), (0, 1), (2, 0), (1, 1), (0, 2)]:
            tol = 1e-8 if i + j == 1 else 1e-6
            r = ref_betainc(i, j, a, b, x)
            worst = max(worst, rel(betainc_derivatives(i, j, a, b, x), r) / tol)
    assert worst < 1, worst


# --- closed forms and finite differences -----------------------------------------------------
def test_limit_derivatives_are_the_densities():
    a, b, x = 2.5, 4.0, 0.3
    dens = x ** (a - 1) * np.exp(-x) / sc.gamma(a)
    assert cr.grad(csp.gammainc, argnums=1)(a, x) == pytest.approx(dens, rel=1e-13)
    assert cr.grad(csp.gammaincc, argnums=1)(a, x) == pytest.approx(-dens, rel=1e-13)
    bdens = x ** (a - 1) * (1 - x) ** (b - 1) / sc.beta(a, b)
    assert cr.grad(csp.betainc, argnums=2)(a, b, x) == pytest.approx(bdens, rel=1e-13)
    assert cr.grad(csp.betaincc, argnums=2)(a, b, x) == pytest.approx(-bdens, rel=1e-13)
    # d2P/da dx = density * (log x - digamma(a)): closed form.
    mixed = cr.grad(cr.grad(csp.gammainc), argnums=1)(a, x)
    assert mixed == pytest.approx(dens * (np.log(x) - sc.digamma(a)), rel=1e-12)


A = np.array([0.4, 2.0, 7.0, 30.0])
X = np.array([0.3, 4.0, 5.0, 45.0])


@pytest.mark.parametrize("fn", [sc.gammainc, sc.gammaincc, csp.gammainc, csp.gammaincc])
def test_gamma_pair_second_order_both_modes(fn):
    cr.check_grads(fn, (A, X), order=2, modes=("fwd", "rev"))


@pytest.mark.parametrize("fn", [sc.betainc, sc.betaincc, csp.betainc])
def test_beta_second_order_both_modes(fn):
    a, b, x = np.array([0.6, 2.0, 30.0]), np.array([0.9, 5.0, 12.0]), np.array([0.2, 0.5, 0.8])
    cr.check_grads(fn, (a, b, x), order=2, modes=("fwd", "rev"))


@pytest.mark.parametrize(
    "fn, args",
    [
        (sc.gammaincinv, (np.array([0.5, 3.0, 40.0]), np.array([0.2, 0.5, 0.9]))),
        (sc.gammainccinv, (np.array([0.5, 3.0, 40.0]), np.array([0.2, 0.5, 0.9]))),
        (sc.betaincinv, (np.array([0.8, 3.0]), np.array([2.0, 9.0]), np.array([0.3, 0.6]))),
    ],
)
def test_inverses_second_order_both_modes(fn, args):
    cr.check_grads(fn, args, order=2, modes=("fwd", "rev"), rtol=1e-4)


def test_inverse_undoes_the_function_to_first_order():
    # P(a, gammaincinv(a, p)) = p for every a: d/da of the composition is 0.
    comp = lambda a, p: sc.gammainc(a, sc.gammaincinv(a, p))  # noqa: E731
    assert abs(cr.grad(comp)(3.0, 0.4)) < 1e-12
    assert cr.grad(comp, argnums=1)(3.0, 0.4) == pytest.approx(1.0, rel=1e-12)
    compb = lambda a, b, p: sc.betainc(a, b, sc.betaincinv(a, b, p))  # noqa: E731
    g = cr.grad(compb, argnums=(0, 1, 2))(2.0, 3.0, 0.7)
    assert np.allclose(g, [0.0, 0.0, 1.0], atol=1e-12)


def test_third_order_matches_finite_differences_of_the_second():
    d3 = cr.grad(cr.grad(cr.grad(csp.gammainc)))(3.0, 2.0)
    h = 1e-4
    d2 = cr.grad(cr.grad(csp.gammainc))
    assert d3 == pytest.approx((d2(3.0 + h, 2.0) - d2(3.0 - h, 2.0)) / (2 * h), rel=1e-6)
    dxa2 = cr.grad(cr.grad(cr.grad(csp.gammainc)), argnums=1)(3.0, 2.0)
    assert dxa2 == pytest.approx((d2(3.0, 2.0 + h) - d2(3.0, 2.0 - h)) / (2 * h), rel=1e-6)
    f = lambda v: csp.betainc(v[0], v[1], 0.4)  # noqa: E731
    t3 = cr.jacfwd(cr.hessian(f))(np.array([2.0, 3.0]))
    hh = cr.hessian(f)
    e = np.array([h, 0.0])
    assert np.allclose(
        t3[..., 0],
        (hh(np.array([2.0, 3.0]) + e) - hh(np.array([2.0, 3.0]) - e)) / (2 * h),
        rtol=1e-5,
        atol=1e-9,
    )


def test_jacrev_equals_jacfwd_with_broadcasting():
    a = np.array([[0.5], [3.0]])
    x = np.array([0.2, 2.0, 9.0])
    for argnums in (0, 1):
        jr = cr.jacrev(sc.gammainc, argnums=argnums)(a, x)
        jf = cr.jacfwd(sc.gammainc, argnums=argnums)(a, x)
        assert jr.shape == (2, 3) + (a, x)[argnums].shape
        assert np.allclose(jr, jf, rtol=1e-13, atol=0)
    b = np.array([1.5, 4.0, 6.0])
    for argnums in (0, 1, 2):
        args = (a, b, np.array(0.35))
        jr = cr.jacrev(sc.betainc, argnums=argnums)(*args)
        jf = cr.jacfwd(sc.betainc, argnums=argnums)(*args)
        assert np.allclose(jr, jf, rtol=1e-13, atol=0)


def test_plain_and_chainrule_calls_agree_and_accept_integers():
    g1 = cr.grad(lambda a: sc.gammainc(a, 3))(2.0)
    g2 = cr.grad(lambda a: csp.gammainc(a, [3]))(2.0)
    assert g1 == pytest.approx(float(g2[()] if np.ndim(g2) == 0 else g2), rel=1e-15)
    assert cr.grad(lambda x: sc.betainc(2, 3, x))(0.25) == pytest.approx(
        cr.grad(lambda x: csp.betainc(2, 3, x))(0.25), rel=1e-15
    )
    # Values are SciPy's own.
    assert csp.gammainc(2.0, 3.0) == sc.gammainc(2.0, 3.0)
    assert csp.betainc(2.0, 3.0, 0.3) == sc.betainc(2.0, 3.0, 0.3)


# --- edges -----------------------------------------------------------------------------------
def test_edges_of_the_support():
    # x = 0 and x = inf: P is 0 or 1 for every a, so its a-derivatives vanish.
    assert cr.grad(csp.gammainc)(2.0, 0.0) == 0.0
    assert cr.grad(csp.gammainc)(2.0, np.inf) == 0.0
    assert cr.grad(cr.grad(csp.gammainc))(0.5, 0.0) == 0.0
    # The x-derivative at 0 is the density's limit: inf, 1 or 0 for a <, =, > 1.
    dx = cr.grad(csp.gammainc, argnums=1)
    assert dx(0.5, 0.0) == np.inf and dx(1.0, 0.0) == 1.0 and dx(2.0, 0.0) == 0.0
    assert dx(2.0, np.inf) == 0.0 and dx(0.5, np.inf) == 0.0
    assert cr.grad(cr.grad(csp.gammainc), argnums=1)(2.0, np.inf) == 0.0
    assert betainc_derivatives(1, 0, 2.0, 3.0, 0.0) == 0.0
    assert betainc_derivatives(0, 2, 2.0, 3.0, 1.0) == 0.0
    assert cr.grad(csp.betainc, argnums=2)(2.0, 3.0, 0.0) == 0.0
    # Outside the domain SciPy answers NaN, and so do the derivatives.
    assert np.isnan(gammainc_derivatives(1, -1.0, 2.0))
    assert np.isnan(gammainc_derivatives(1, 2.0, -1.0))
    assert np.isnan(betainc_derivatives(1, 0, 2.0, 3.0, 1.5))
    assert np.isnan(betainc_derivatives(0, 1, 2.0, -3.0, 0.5))
    # Outside the range where the series keep their digits: NaN, not a guess.
    assert np.isnan(gammainc_derivatives(2, 1e-20, 30.0))
    assert np.isnan(gammainc_derivatives(1, 2e5, 2e5))
    assert np.isnan(betainc_derivatives(0, 2, 3.0, 1e-6, 0.9))
    # Far in the tail the derivatives underflow to 0 without iterating.
    assert gammainc_derivatives(1, 2.0, 1e308) == 0.0


def test_zero_cotangent_against_an_infinite_density_stays_zero():
    # a = 0.5, x = 0: dP/dx is inf; a Jacobian row that does not involve it stays 0.
    a = np.array([0.5, 2.0])
    x = np.array([0.0, 1.0])
    j = cr.jacrev(sc.gammainc, argnums=1)(a, x)
    assert j[1, 0] == 0.0 and j[0, 1] == 0.0 and j[0, 0] == np.inf
    assert np.array_equal(j, cr.jacfwd(sc.gammainc, argnums=1)(a, x))


def test_large_x_tail_keeps_relative_accuracy():
    # Q(0.05, 500) ~ 1e-220: dP/da = -dQ/da is tiny but exact to many digits.
    d = cr.grad(csp.gammainc)(0.05, 500.0)
    assert 0 > d > -1e-200
    assert cr.grad(csp.gammaincc)(0.05, 500.0) == -d


def test_no_convergence_gives_nan_not_a_guess(monkeypatch):
    import chainrule.scipy._incomplete_kernels as kernels

    monkeypatch.setattr(kernels, "_MAX_TERMS", 20)
    # a = 2000 near its mean needs ~ sqrt(a) terms: more than 20.
    out = gammainc_derivatives(1, np.array([2000.0, 2.0]), np.array([2000.0, 1.0]))
    assert np.isnan(out[0]) and np.isfinite(out[1])
    out = gammainc_derivatives(1, 2000.0, 2100.0)
    assert np.isnan(out)
    out = betainc_derivatives(1, 0, np.array([2000.0, 2.0]), 2000.0, np.array([0.5, 1e-3]))
    assert np.isnan(out[0]) and np.isfinite(out[1])
