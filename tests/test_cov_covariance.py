"""cov, corrcoef and i0: both modes to second order (i0 to fourth),
reverse == forward Jacobians, NumPy's values, complex data, closed forms,
errors."""

from __future__ import annotations

import numpy as np
import pytest
from cov_checks import check, check_real_of_complex, traced_value
from numpy.testing import assert_allclose

import chainrule as cr
import chainrule.numpy as cnp
from chainrule.rules import bessel

RNG = np.random.default_rng(17)
X = RNG.normal(size=(3, 6))
Y = RNG.normal(size=6)
AW = RNG.uniform(0.5, 2.0, 6)
FW = np.array([1, 2, 1, 3, 1, 1])
XC = X + 1j * RNG.normal(size=(3, 6))


# --- cov ---------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "kw",
    [
        {},
        {"bias": True},
        {"ddof": 2},
        {"fweights": FW},
        {"aweights": AW},
        {"fweights": FW, "aweights": AW},
        {"fweights": FW, "aweights": AW, "ddof": 0},
    ],
    ids=["plain", "bias", "ddof", "fw", "aw", "fw-aw", "fw-aw-ddof0"],
)
def test_cov(kw):
    check(lambda a: np.cov(a, **kw), X, ref=np.cov(X, **kw))


def test_cov_y_rowvar_and_vector():
    check(lambda a, b: np.cov(a, b), X, Y, ref=np.cov(X, Y))
    check(lambda a: np.cov(a, rowvar=False), X.T, ref=np.cov(X.T, rowvar=False))
    check(lambda a: np.cov(a), Y, ref=np.cov(Y))


def test_cov_traced_aweights():
    ref = np.cov(X, aweights=AW, fweights=FW)
    check(lambda a, w: cnp.cov(a, fweights=FW, aweights=w), X, AW, ref=ref)


def test_cov_closed_form():
    # d var(x) / dx = 2 (x - mean) / (n - 1)
    x = np.array([1.0, 2.0, 4.0])
    assert_allclose(cr.grad(np.cov)(x), 2 * (x - x.mean()) / 2)


def test_cov_complex():
    assert_allclose(traced_value(np.cov, XC), np.cov(XC), rtol=1e-12)
    check_real_of_complex(np.cov, XC)


def test_cov_errors():
    with pytest.raises(ValueError, match="more than 2 dimensions"):
        cr.jacrev(np.cov)(np.ones((2, 2, 2)))
    with pytest.raises(TypeError, match="fweights must be integer"):
        cr.jacrev(lambda a: np.cov(a, fweights=AW))(X)
    with pytest.raises(ValueError, match="aweights cannot be negative"):
        cr.jacrev(lambda a: np.cov(a, aweights=-AW))(X)
    with pytest.raises(RuntimeError, match="incompatible numbers of samples"):
        cr.jacrev(lambda a: np.cov(a, aweights=AW[:3]))(X)
    with pytest.warns(RuntimeWarning, match="Degrees of freedom"), np.errstate(all="ignore"):
        out = traced_value(lambda a: np.cov(a, ddof=6), X)
        ref = np.cov(X, ddof=6)
    assert_allclose(out, ref, equal_nan=True)


# --- corrcoef ------------------------------------------------------------------------
def test_corrcoef():
    check(lambda a: np.corrcoef(a), X, ref=np.corrcoef(X))
    check(lambda a, b: np.corrcoef(a, b), X[0], Y, ref=np.corrcoef(X[0], Y))
    check(lambda a: np.corrcoef(a, rowvar=False), X.T, ref=np.corrcoef(X.T, rowvar=False))


def test_corrcoef_closed_form_and_diagonal():
    # the diagonal is identically 1: derivative 0
    jac = cr.jacrev(np.corrcoef)(X)
    for i in range(3):
        assert_allclose(jac[i, i], 0.0, atol=1e-12)
    # r = <u, v> / (|u| |v|) for centred u, v: dr/dx = (v/(|u||v|) - r u/|u|^2), centred
    x, y = X[0], Y
    u, v = x - x.mean(), y - y.mean()
    r = u @ v / np.linalg.norm(u) / np.linalg.norm(v)
    expected = v / (np.linalg.norm(u) * np.linalg.norm(v)) - r * u / (u @ u)
    assert_allclose(cr.grad(lambda a: np.corrcoef(a, y)[0, 1])(x), expected - expected.mean())


def test_corrcoef_complex():
    assert_allclose(traced_value(np.corrcoef, XC), np.corrcoef(XC), rtol=1e-12)
    check_real_of_complex(lambda z: np.corrcoef(z)[0, 1:], XC)


# --- i0 --------------------------------------------------------------------------------
T = np.array([-2.0, 0.0, 0.5, 3.0, 12.0])


def test_i0():
    check(np.i0, T, ref=np.i0(T))
    cr.check_grads(np.i0, (T[:4],), order=4)


def test_i0_closed_form():
    # I0' = I1: I1(1) = 0.565159103992485...; I1'(0) = 1/2
    assert_allclose(cr.grad(np.i0)(1.0), 0.5651591039924850, rtol=1e-14)
    assert_allclose(cr.grad(cr.grad(np.i0))(0.0), 0.5, rtol=1e-15)
    assert_allclose(cr.grad(cr.grad(cr.grad(np.i0)))(0.0), 0.0, atol=1e-15)


def test_i1_without_scipy_matches_scipy():
    special = pytest.importorskip("scipy.special")
    x = np.concatenate([np.linspace(-50, 50, 201), [0.0, 1e-8, 0.99, 1.0, 300.0, 700.0]])
    assert_allclose(bessel._i1_quadrature(x), special.i1(x), rtol=1e-13, atol=0)


def test_i0_refuses_complex():
    with pytest.raises(TypeError, match="complex"):
        cr.jacrev(lambda z: np.i0(z), holomorphic=True)(np.array([1.0 + 1j]))
