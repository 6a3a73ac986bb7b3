"""scipy.special's distribution functions (chdtr, gdtr, pdtr, stdtr, fdtr,
bdtr and complements) in every real argument: against the same function
written with gammainc/betainc, both modes to second order against finite
differences, jacrev == jacfwd, floored arguments piecewise constant."""

from __future__ import annotations

import numpy as np
import pytest

sc = pytest.importorskip("scipy.special")

import chainrule as cr  # noqa: E402
import chainrule.scipy.special as csp  # noqa: E402

V = np.array([1.5, 3.0, 7.0])
X = np.array([0.8, 2.5, 9.0])
T = np.array([-1.3, 0.4, 2.2])

CASES = {
    "chdtr": (V, X),
    "chdtrc": (V, X),
    "gdtr": (V / 2, V, X),
    "gdtrc": (V / 2, V, X),
    "stdtr": (V, T),
    "fdtr": (V, V[::-1], X / 3),
    "fdtrc": (V, V[::-1], X / 3),
}


@pytest.mark.parametrize("name", sorted(CASES))
@pytest.mark.parametrize("via", ["scipy", "chainrule"])
def test_second_order_both_modes(name, via):
    fn = getattr(sc if via == "scipy" else csp, name)
    cr.check_grads(fn, CASES[name], order=2, modes=("fwd", "rev"))


@pytest.mark.parametrize("name", sorted(CASES))
def test_jacrev_equals_jacfwd(name):
    fn = getattr(sc, name)
    args = CASES[name]
    nums = tuple(range(len(args)))
    jr = cr.jacrev(fn, argnums=nums)(*args)
    jf = cr.jacfwd(fn, argnums=nums)(*args)
    for r, f in zip(jr, jf):
        assert np.allclose(r, f, rtol=1e-13, atol=1e-300)


def _grads(fn, args):
    return cr.grad(lambda *a: np.sum(fn(*a)), argnums=tuple(range(len(args))))(*args)


def _same(fn, ref, args):
    for g, r in zip(_grads(fn, args), _grads(ref, args)):
        assert np.allclose(g, r, rtol=1e-12, atol=1e-300)


def test_gamma_family_matches_gammainc():
    _same(sc.chdtr, lambda v, x: sc.gammainc(v / 2, x / 2), (V, X))
    _same(sc.chdtrc, lambda v, x: sc.gammaincc(v / 2, x / 2), (V, X))
    _same(sc.gdtr, lambda a, b, x: sc.gammainc(b, a * x), (V / 2, V, X))
    _same(sc.gdtrc, lambda a, b, x: sc.gammaincc(b, a * x), (V / 2, V, X))


def test_beta_family_matches_betainc():
    def t_cdf(df, t):
        z = df / (df + t * t)
        lower = 0.5 * sc.betainc(df / 2, 0.5, z)
        return np.where(t > 0, 1.0 - lower, lower)

    _same(sc.stdtr, t_cdf, (V, T))

    def f_cdf(n, d, x):
        return sc.betainc(n / 2, d / 2, n * x / (d + n * x))

    _same(sc.fdtr, f_cdf, (V, V[::-1], X / 3))
    _same(sc.fdtrc, lambda n, d, x: 1.0 - f_cdf(n, d, x), (V, V[::-1], X / 3))


def test_stdtr_at_t_zero():
    # F(0) = 1/2 for every df: no derivative in df, at any order.
    assert cr.grad(lambda d: sc.stdtr(d, 0.0))(3.0) == 0.0
    assert cr.grad(cr.grad(lambda d: sc.stdtr(d, 0.0)))(3.0) == 0.0
    assert cr.grad(lambda t: sc.stdtr(3.0, t))(0.0) == pytest.approx(
        sc.gamma(2.0) / (np.sqrt(3 * np.pi) * sc.gamma(1.5)), rel=1e-14
    )


# SciPy warns when bdtr's n is not an integer (a traced n is a float).
@pytest.mark.filterwarnings("ignore:non-integer arg n:DeprecationWarning")
def test_floored_counts_are_piecewise_constant():
    k, m = np.array([1, 3, 6]), X
    assert np.array_equal(cr.grad(lambda k: np.sum(sc.pdtr(k, m)))(k * 1.0), np.zeros(3))
    _same(lambda m: sc.pdtr(k, m), lambda m: sc.gammaincc(k + 1, m), (m,))
    _same(lambda m: sc.pdtrc(k, m), lambda m: sc.gammainc(k + 1, m), (m,))
    p = np.array([0.2, 0.5, 0.7])
    cr.check_grads(lambda p: sc.bdtr(k, 8, p), (p,), order=2, modes=("fwd", "rev"))
    cr.check_grads(lambda p: csp.bdtrc(k, 8, p), (p,), order=2, modes=("fwd", "rev"))
    _same(lambda p: sc.bdtr(k, 8, p), lambda p: sc.betainc(8 - k, k + 1, 1 - p), (p,))
    g = cr.grad(lambda n: np.sum(sc.bdtr(k, n, p)), argnums=0)(np.array([8.0, 8.0, 8.0]))
    assert np.array_equal(g, np.zeros(3))


def test_wrong_argument_count():
    with pytest.raises(TypeError, match=r"gdtr\(\) takes 3 arguments \(a, b, x\), got 2"):
        csp.gdtr(1.0, 2.0)
