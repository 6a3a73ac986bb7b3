"""numpy's poly* functions and chainrule.numpy.polynomial.polynomial: both
modes to second order, reverse == forward Jacobians, NumPy's values,
complex coefficients, errors."""

from __future__ import annotations

import numpy as np
import numpy.polynomial.polynomial as NP
import pytest
from cov_checks import check, check_holomorphic, traced_value
from numpy.testing import assert_allclose

import chainrule as cr
import chainrule.numpy as cnp
import chainrule.numpy.polynomial.polynomial as P
from chainrule.core.registry import FUNCTIONS
from chainrule.errors import NoRuleError
from chainrule.rules import polynomials

RNG = np.random.default_rng(13)
PC = RNG.normal(size=4)  # highest power first
X = RNG.normal(size=5)
Y = RNG.normal(size=5)
W = RNG.uniform(0.5, 2.0, 5)
Q = RNG.normal(size=2)
C = RNG.normal(size=4)  # lowest power first
C2 = RNG.normal(size=(3, 2))
XX = RNG.normal(size=(2, 3))
YY = RNG.normal(size=(2, 3))


# --- numpy.poly* -------------------------------------------------------------------------
def test_polyval():
    check(lambda p, x: np.polyval(p, x), PC, X, ref=np.polyval(PC, X))
    assert_allclose(cr.grad(lambda x: np.polyval(np.array([1.0, 0.0, -2.0]), x))(3.0), 6.0)


@pytest.mark.parametrize("kw", [{}, {"N": 3}, {"increasing": True}])
def test_vander(kw):
    check(lambda a: np.vander(a, **kw), X, ref=np.vander(X, **kw))


@pytest.mark.parametrize("kw", [{}, {"w": "w"}, {"cov": True}, {"cov": "unscaled"}])
def test_polyfit(kw):
    kw = {k: (W if v == "w" else v) for k, v in kw.items()}
    ref = np.polyfit(X, Y, 2, **kw)
    check(lambda a, b: np.polyfit(a, b, 2, **kw), X, Y, ref=ref)


def test_polyfit_weights_2d_full_and_closed_form():
    check(lambda w: cnp.polyfit(X, Y, 1, w=w), W, ref=np.polyfit(X, Y, 1, w=W))
    y2 = np.stack([Y, Y**2], axis=1)
    check(lambda b: np.polyfit(X, b, 1), y2, ref=np.polyfit(X, y2, 1))
    c, res, rank, sv, rcond = traced_value(lambda b: np.polyfit(X, b, 2, full=True), Y)
    ref = np.polyfit(X, Y, 2, full=True)
    assert_allclose(c, ref[0])
    assert_allclose(res, ref[1])
    assert rank == ref[2]
    x = np.array([0.0, 1.0, 2.0, 3.0])
    # the fitted line's slope and intercept are linear in y: the least-squares pseudo-inverse
    expected = np.linalg.pinv(np.vander(x, 2))
    assert_allclose(cr.jacrev(lambda y: np.polyfit(x, y, 1))(x), expected, atol=1e-12)


def test_polyfit_errors():
    with pytest.raises(TypeError, match="same length"):
        cr.jacrev(lambda y: np.polyfit(X, y, 1))(Y[:3])
    with pytest.raises(ValueError, match="deg >= 0"):
        cr.jacrev(lambda y: np.polyfit(X, y, -1))(Y)


def test_polyder_polyint():
    check(lambda p: np.polyder(p, 2), PC, ref=np.polyder(PC, 2))
    check(lambda p: np.polyint(p), PC, ref=np.polyint(PC))
    k = np.array([1.0, 2.0])
    check(lambda p, kk: cnp.polyint(p, 2, kk), PC, k, ref=np.polyint(PC, 2, k))
    with pytest.raises(ValueError, match="Order of derivative"):
        cr.jacrev(lambda p: np.polyder(p, -1))(PC)


@pytest.mark.parametrize("fn", [np.polyadd, np.polysub, np.polymul])
def test_poly_arithmetic(fn):
    check(lambda a, b: fn(a, b), PC, Q, ref=fn(PC, Q))
    check(lambda a, b: fn(a, b), Q, PC, ref=fn(Q, PC))


def test_polymul_trims_leading_zeros_like_poly1d():
    a = np.array([0.0, 1.0, 2.0])
    assert_allclose(traced_value(lambda b: np.polymul(a, b), Q), np.polymul(a, Q))


def test_polydiv_and_poly():
    check(lambda a, b: np.polydiv(a, b), PC, Q, ref=np.polydiv(PC, Q))
    check(lambda z: np.poly(z), X, ref=np.poly(X))
    zc = np.array([1 + 1j, 1 - 1j, 2.0])  # conjugate pairs: a real polynomial, as in NumPy
    assert_allclose(traced_value(lambda z: np.poly(z), zc), np.poly(zc))


def test_roots_are_offered_with_eigvals():
    p = np.array([1.0, -3.0, 2.0, 0.0])
    # the implementations (unwrapped: plain calls otherwise go to NumPy) give NumPy's values
    assert_allclose(polynomials.roots.__wrapped__(p), np.roots(p))
    c = np.array([2.0, -3.0, 1.0, 0.5])
    assert_allclose(polynomials.polyroots.__wrapped__(c), NP.polyroots(c))
    if np.linalg.eigvals not in FUNCTIONS:
        assert np.roots not in FUNCTIONS
        with pytest.raises(NoRuleError, match="numpy.roots"):
            cr.jacrev(lambda q: np.real(np.roots(q)))(p)
        return
    # roots 2, 1, 0 move by -p(r; dp) / p'(r)
    out = cr.jacrev(lambda q: np.real(np.roots(q)))(p)
    r = np.array([2.0, 1.0, 0.0])
    dp = np.polyval(np.polyder(p), r)
    assert_allclose(out, -np.vander(r, 4) / dp[:, None], atol=1e-8)


def test_poly_complex():
    pz = PC + 1j * RNG.normal(size=4)
    check_holomorphic(lambda p: np.polyval(p, X), pz)
    check_holomorphic(lambda x: np.polyval(PC, x), X + 0.5j)
    check_holomorphic(lambda p: np.polymul(p, Q), pz)


# --- numpy.polynomial.polynomial -----------------------------------------------------
def test_namespace_mirrors_numpy_polynomial():
    assert "polyval" in P.DIFFERENTIABLE and "polyfit" in P.DIFFERENTIABLE
    assert P.Polynomial is NP.Polynomial  # no rule: NumPy's own


def test_ppolyval_family():
    check(lambda x, c: P.polyval(x, c), XX, C, ref=NP.polyval(XX, C))
    check(
        lambda x, c: P.polyval(x, c, tensor=False),
        X[:2],
        C2,
        ref=NP.polyval(X[:2], C2, tensor=False),
    )
    check(lambda x, y, c: P.polyval2d(x, y, c), XX, YY, C2, ref=NP.polyval2d(XX, YY, C2))
    c3 = RNG.normal(size=(2, 2, 2))
    check(lambda x, c: P.polyval3d(x, x, x, c), XX, c3, ref=NP.polyval3d(XX, XX, XX, c3))
    check(
        lambda x, y, c: P.polygrid2d(x, y, c), X[:3], Y[:2], C2, ref=NP.polygrid2d(X[:3], Y[:2], C2)
    )
    check(
        lambda x, c: P.polygrid3d(x, x, x, c), X[:2], c3, ref=NP.polygrid3d(X[:2], X[:2], X[:2], c3)
    )
    check(lambda x, r: P.polyvalfromroots(x, r), XX, C, ref=NP.polyvalfromroots(XX, C))
    assert_allclose(cr.grad(lambda c: P.polyval(2.0, c))(np.ones(3)), [1.0, 2.0, 4.0])


def test_ppolyvander():
    check(lambda x: P.polyvander(x, 3), XX, ref=NP.polyvander(XX, 3))
    check(lambda x, y: P.polyvander2d(x, y, [2, 1]), XX, YY, ref=NP.polyvander2d(XX, YY, [2, 1]))
    ref = NP.polyvander3d(XX, YY, XX, [1, 1, 2])
    check(lambda x, y: P.polyvander3d(x, y, x, [1, 1, 2]), XX, YY, ref=ref)


def test_ppolyder_ppolyint():
    check(lambda c, s: P.polyder(c, 2, s), C2, 1.5, ref=NP.polyder(C2, 2, 1.5))
    check(lambda c: P.polyder(c, 1, axis=1), C2, ref=NP.polyder(C2, 1, axis=1))
    check(lambda c: P.polyder(c, 9), C, ref=NP.polyder(C, 9))
    ref = NP.polyint(C, 2, [0.3, 0.6], 0.7, 1.2)
    check(lambda c, k, lb, s: P.polyint(c, 2, [k, 2 * k], lb, s), C, 0.3, 0.7, 1.2, ref=ref)
    check(lambda c, k: P.polyint(c, 2, k, axis=1), C2, 0.3, ref=NP.polyint(C2, 2, 0.3, axis=1))
    check(lambda k: P.polyint(np.zeros(1), 1, k), 0.5, ref=NP.polyint(np.zeros(1), 1, 0.5))
    with pytest.raises(ValueError, match="Too many integration constants"):
        cr.jacrev(lambda c: P.polyint(c, 1, [1.0, 2.0]))(C)


@pytest.mark.parametrize(
    "ours,theirs",
    [
        (P.polyadd, NP.polyadd),
        (P.polysub, NP.polysub),
        (P.polymul, NP.polymul),
        (P.polydiv, NP.polydiv),
    ],
    ids=["add", "sub", "mul", "div"],
)
def test_ppoly_arithmetic(ours, theirs):
    check(lambda a, b: ours(a, b), C, Q, ref=theirs(C, Q))
    check(lambda a, b: ours(a, b), Q, C, ref=theirs(Q, C))


def test_ppoly_more():
    check(lambda c: P.polymulx(c), C, ref=NP.polymulx(C))
    check(lambda c: P.polypow(c, 3), Q, ref=NP.polypow(Q, 3))
    check(lambda r: P.polyfromroots(r), X, ref=NP.polyfromroots(X))
    check(lambda c: P.polycompanion(c), C, ref=NP.polycompanion(C))
    check(lambda c: P.polytrim(c, 0.5), C, ref=NP.polytrim(C, 0.5))
    check(lambda a, b: P.polyline(a, b), 0.5, 2.0, ref=NP.polyline(0.5, 2.0))
    # trailing zeros are trimmed on the values, as NumPy does
    c0 = np.array([1.0, 2.0, 0.0])
    assert_allclose(traced_value(lambda a: P.polyadd(a, Q), c0), NP.polyadd(c0, Q))
    with pytest.raises(ZeroDivisionError):
        cr.jacrev(lambda a: P.polydiv(a, np.zeros(2))[0])(C)


def test_ppolyfit():
    check(lambda x, y, w: P.polyfit(x, y, 2, w=w), X, Y, W, ref=NP.polyfit(X, Y, 2, w=W))
    check(lambda y: P.polyfit(X, y, [0, 2]), Y, ref=NP.polyfit(X, Y, [0, 2]))
    c, (res, rank, sv, rcond) = traced_value(lambda y: P.polyfit(X, y, 1, full=True), Y)
    ref = NP.polyfit(X, Y, 1, full=True)
    assert_allclose(c, ref[0])
    assert_allclose(res, ref[1][0])
    with pytest.raises(TypeError, match="deg must be an int"):
        cr.jacrev(lambda y: P.polyfit(X, y, 1.5))(Y)


def test_ppoly_complex():
    cz = C + 1j * RNG.normal(size=4)
    check_holomorphic(lambda c: P.polyval(X, c), cz)
    check_holomorphic(lambda c: P.polymul(c, Q), cz)
    check_holomorphic(lambda c: P.polyint(P.polyder(c), 1, 1.0), cz)
