"""Rules that used to answer wrongly or refuse at special points (issue #13):
weighted ``logsumexp`` dominated by a zero weight, ``det`` of a singular
matrix, ``eigvalsh`` at repeated eigenvalues, and reverse mode through many
``split`` pieces. Each is checked against SciPy/NumPy values, closed forms and
central finite differences, in both modes and to second order."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
import chainrule.numpy as cnp

sc = pytest.importorskip("scipy.special")
import chainrule.scipy.special as csp  # noqa: E402

RNG = np.random.default_rng(13)


def fd_grad(f, x, eps=1e-6):
    """Central finite differences of a scalar function of an array."""
    x = np.asarray(x, dtype=float)
    g = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        e = np.zeros_like(x)
        e[i] = eps
        g[i] = (f(x + e) - f(x - e)) / (2 * eps)
    return g


# --- logsumexp with weights -------------------------------------------------------------
LSE_CASES = [
    ([1000.0, 0.0], [0.0, 1.0]),  # a zero weight on the dominant entry
    ([1000.0, 0.0], [0.0, -1.0]),  # ... with a negative sum
    ([1000.0, 1.0, 2.0], [0.0, 2.0, -1.0]),
    ([1.0, 2.0], [1.0, -1.0]),  # negative sum
    ([1.0, 1.0], [1.0, -1.0]),  # zero sum
    ([1.0, 2.0], [0.0, 0.0]),  # all weights zero
    ([1000.0, 999.0], [0.5, 0.0]),
    ([-np.inf, 0.0], [1.0, 1.0]),
]


@pytest.mark.parametrize("lse", [cnp.logsumexp, csp.logsumexp], ids=["numpy", "scipy"])
@pytest.mark.parametrize("a, b", LSE_CASES, ids=str)
def test_logsumexp_weights_value_matches_scipy(lse, a, b):
    a, b = np.array(a), np.array(b)
    with np.errstate(invalid="ignore"):
        np.testing.assert_array_equal(lse(a, b=b), sc.logsumexp(a, b=b))
    val, sign = lse(a, b=b, return_sign=True)
    want_val, want_sign = sc.logsumexp(a, b=b, return_sign=True)
    np.testing.assert_array_equal(val, want_val)
    assert sign == want_sign


def test_logsumexp_zero_weight_dominating_gradient():
    a, b = np.array([1000.0, 0.0]), np.array([0.0, 1.0])
    for jac in (cr.jacrev, cr.jacfwd):
        ga = jac(lambda a: cnp.logsumexp(a, b=b))(a)
        np.testing.assert_array_equal(ga, [0.0, 1.0])
        # d/db_0 = exp(1000) / 1: overflows to inf, which is its true (float) value
        gb = jac(lambda b: cnp.logsumexp(a, b=b))(b)
        np.testing.assert_array_equal(gb, [np.inf, 1.0])
    np.testing.assert_array_equal(cr.hessian(lambda a: cnp.logsumexp(a, b=b))(a), np.zeros((2, 2)))
    # a zero-weighted entry that does not overflow: every derivative is finite and exact
    x = np.array([1.0, 0.0])

    def f(ab):
        return csp.logsumexp(ab[0], b=ab[1])

    ab = np.stack([x, b])
    s = b @ np.exp(x)
    want_grad = np.stack([b * np.exp(x) / s, np.exp(x) / s])
    np.testing.assert_allclose(cr.grad(f)(ab), want_grad)
    np.testing.assert_allclose(cr.jacfwd(f)(ab), want_grad)
    h = cr.hessian(f)(ab)
    # d2/db0^2 = -exp(2 a0) / s^2 and d2/(da0 db0) = exp(a0) / s - 0
    np.testing.assert_allclose(h[1, 0, 1, 0], -np.exp(2.0) / s**2)
    np.testing.assert_allclose(h[0, 0, 1, 0], np.exp(1.0) / s)
    cr.check_grads(f, (ab,), order=2, modes=("fwd", "rev"))


def test_logsumexp_negative_weights_gradient():
    a = np.array([0.3, 1.2, -0.4])
    b = np.array([2.0, -1.0, 0.5])  # sum(b exp(a)) < 0: log|sum| with the sign apart

    def f(a, b):
        return csp.logsumexp(a, b=b, return_sign=True)[0]

    def ref(a, b):
        return sc.logsumexp(a, b=b, return_sign=True)[0]

    np.testing.assert_allclose(f(a, b), ref(a, b))
    for argnum, x in ((0, a), (1, b)):
        want = fd_grad(lambda v, k=argnum: ref(v, b) if k == 0 else ref(a, v), x)
        np.testing.assert_allclose(cr.grad(f, argnum)(a, b), want, rtol=1e-6)
        np.testing.assert_allclose(cr.jacfwd(f, argnum)(a, b), want, rtol=1e-6)
    cr.check_grads(f, (a, b), order=2, modes=("fwd", "rev"))
