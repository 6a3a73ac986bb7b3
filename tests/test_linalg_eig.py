"""numpy.linalg.eig / eigvals and the roots of polynomials built on them: values
and dtypes against NumPy, both modes to second order against finite differences
(real and complex matrices, complex results of real ones), jacrev == jacfwd, the
closed forms (left eigenvectors; dr/dc = -(dp/dc)(r) / p'(r)), LAPACK's
eigenvector normalisation as the gauge, and the refusals at repeated
eigenvalues."""

from __future__ import annotations

import numpy as np
import numpy.polynomial.polynomial as P
import pytest
import scipy.linalg
from numpy.testing import assert_allclose
from test_complex import check_complex

import chainrule as cr
import chainrule.numpy.polynomial.polynomial as cpoly

RNG = np.random.default_rng(7)
# Real, non-symmetric: eigenvalues 1.63, -0.73 and a complex pair (checked below).
A_REAL = np.array(
    [[0.3, -1.2, 0.5, 0.1], [1.1, 0.2, -0.4, 0.7], [0.0, 0.9, -0.5, 0.3], [0.6, -0.2, 0.8, 1.0]]
)
# Real with real, distinct eigenvalues: NumPy's results are real.
S = np.array([[1.0, 0.3, -0.2], [0.4, 1.2, 0.1], [-0.3, 0.5, 0.9]])
A_REAL_SPECTRUM = S @ np.diag([-1.0, 0.5, 2.0]) @ np.linalg.inv(S)
A_COMPLEX = RNG.standard_normal((3, 3)) + 1j * RNG.standard_normal((3, 3))
STACK = RNG.standard_normal((2, 3, 3))


def test_the_fixtures():
    w = np.linalg.eigvals(A_REAL)
    assert np.iscomplexobj(w) and np.sum(np.abs(w.imag) > 0.1) == 2
    assert np.linalg.eigvals(A_REAL_SPECTRUM).dtype == np.float64
    assert np.iscomplexobj(np.linalg.eigvals(STACK))


@pytest.mark.parametrize(
    "a", [A_REAL, A_REAL_SPECTRUM, A_COMPLEX, STACK], ids=["pair", "real", "complex", "stack"]
)
def test_values_and_dtypes_are_numpys(a):
    seen = {}

    def f(a):
        seen["w"], seen["v"] = np.linalg.eig(a)
        seen["vals"] = np.linalg.eigvals(a)
        return np.sum(np.abs(seen["vals"]))

    cr.grad(f)(a)
    w, v = np.linalg.eig(a)
    for key, expected in (("w", w), ("v", v), ("vals", np.linalg.eigvals(a))):
        got = cr.stop_gradient(seen[key])
        assert got.dtype == expected.dtype, key
        assert_allclose(got, expected, rtol=0, atol=0)


def _eig_function(a):
    """V diag(exp(w / 4)) V^-1 (the matrix exponential of A / 4): no gauge involved."""
    w, v = np.linalg.eig(a)
    return (v * np.exp(w / 4)[..., None, :]) @ np.linalg.inv(v)


# Real-valued functions of a real matrix through complex eigenvalues and eigenvectors.
REAL_FUNCTIONS = {
    "sum |w|^3": lambda a: np.sum(np.abs(np.linalg.eigvals(a)) ** 3),
    "real and imag of w": lambda a: (
        np.real(np.linalg.eigvals(a)) + 2 * np.imag(np.linalg.eigvals(a))
    ),
    "eig values": lambda a: np.abs(np.linalg.eig(a)[0]),
    # These depend on the normalisation: LAPACK's gauge (unit norm, largest entry real).
    "real of V": lambda a: np.real(np.linalg.eig(a)[1]),
    "imag of V": lambda a: np.imag(np.linalg.eig(a)[1]),
    "w times V": lambda a: np.sum(
        np.abs(np.linalg.eig(a)[0][..., None, :] * np.linalg.eig(a)[1]) ** 3
    ),
    "matrix function": lambda a: np.real(_eig_function(a)),
}


@pytest.mark.parametrize("name", REAL_FUNCTIONS)
@pytest.mark.parametrize(
    "a", [A_REAL, A_REAL_SPECTRUM, STACK], ids=["complex pair", "real", "stack"]
)
def test_real_matrices_against_finite_differences(name, a):
    f = REAL_FUNCTIONS[name]
    cr.check_grads(f, (a,), order=2, modes=("fwd", "rev"))
    assert_allclose(cr.jacrev(f)(a), cr.jacfwd(f)(a), rtol=1e-9, atol=1e-10)


@pytest.mark.parametrize(
    "f",
    [
        np.linalg.eigvals,
        lambda a: np.linalg.eig(a)[1],
        lambda a: np.linalg.eig(a).eigenvalues[..., None, :] * np.linalg.eig(a).eigenvectors,
        _eig_function,
    ],
    ids=["eigvals", "vectors", "values and vectors", "matrix function"],
)
@pytest.mark.parametrize(
    "a", [A_REAL, A_COMPLEX, STACK + 0.5j * STACK[::-1]], ids=["real", "complex", "stack"]
)
def test_complex_results_against_finite_differences(f, a):
    """Complex outputs (and complex inputs): forward mode along real and complex
    directions and reverse mode through Re(sum(u * J v)), to second order."""
    check_complex(f, a, order=2)


def test_eigvals_of_a_complex_matrix_is_holomorphic():
    jr = cr.jacrev(np.linalg.eigvals, holomorphic=True)(A_COMPLEX)
    assert_allclose(jr, cr.jacfwd(np.linalg.eigvals, holomorphic=True)(A_COMPLEX), rtol=1e-10)
    e = np.zeros((3, 3))
    e[2, 0] = 1e-6
    d = (np.linalg.eigvals(A_COMPLEX + e) - np.linalg.eigvals(A_COMPLEX - e)) / 2e-6
    assert_allclose(jr[:, 2, 0], d, rtol=1e-7, atol=1e-8)


@pytest.mark.parametrize("a", [A_REAL, A_COMPLEX], ids=["real", "complex"])
def test_eigenvalue_derivative_closed_form_with_left_eigenvectors(a):
    """dw_i = u_i^H dA v_i / (u_i^H v_i), left eigenvectors from SciPy."""
    w, ul, vr = scipy.linalg.eig(a, left=True, right=True)
    t = RNG.standard_normal(a.shape)
    (w_ours, dw) = cr.jvp(np.linalg.eigvals, (a,), (t,))
    # match SciPy's order to NumPy's
    order = [int(np.argmin(np.abs(w - x))) for x in w_ours]
    ul, vr = ul[:, order], vr[:, order]
    expected = np.einsum("ki,kl,li->i", ul.conj(), t, vr) / np.einsum("ki,ki->i", ul.conj(), vr)
    assert_allclose(dw, expected, rtol=1e-10, atol=1e-12)


def test_real_gradient_of_a_real_matrix():
    """grad of sum(w^2) = tr(A^2) is 2 A^T, real, though the eigenvalues are complex."""
    g = cr.grad(lambda a: np.real(np.sum(np.linalg.eigvals(a) ** 2)))(A_REAL)
    assert g.dtype == np.float64
    assert_allclose(g, 2 * A_REAL.T, rtol=1e-10, atol=1e-12)
    g = cr.grad(lambda a: np.real(np.sum(np.linalg.eig(a)[0] ** 3)))(A_REAL)
    assert_allclose(g, 3 * (A_REAL @ A_REAL).T, rtol=1e-10, atol=1e-12)


def test_forward_tangent_keeps_lapacks_normalisation():
    t = RNG.standard_normal((4, 4))
    (w, v), (dw, dv) = cr.jvp(np.linalg.eig, (A_REAL,), (t,))
    assert_allclose(np.real(np.sum(np.conj(v) * dv, axis=0)), 0, atol=1e-12)  # unit norm
    top = np.argmax(np.abs(v), axis=0)
    assert_allclose(np.imag(dv[top, np.arange(4)]), 0, atol=1e-12)  # largest entry real
    # and A V = V diag(w) to first order
    assert_allclose(t @ v + A_REAL @ dv, dv * w + v * dw, atol=1e-10)


# --- repeated eigenvalues --------------------------------------------------------------------
REPEATED = S @ np.diag([1.0, 1.0, 3.0]) @ np.linalg.inv(S)  # diagonalizable, w = 1 twice


def _with_exact_ties(a):
    w = np.linalg.eigvals(a)
    return np.sum(np.abs(w[:, None] - w[None, :]) == 0) > len(w)


def test_repeated_eigenvalues_symmetric_uses_only():
    a = np.diag([2.0, 2.0, 5.0]) + np.triu(np.ones((3, 3)), 2)  # triangular: exact ties
    assert _with_exact_ties(a)
    # the sum (the trace) and sum(w^2) (tr A^2) treat the tied ones alike: reverse mode works
    assert_allclose(cr.grad(lambda a: np.real(np.sum(np.linalg.eigvals(a))))(a), np.eye(3))
    g = cr.grad(lambda a: np.real(np.sum(np.linalg.eig(a)[0] ** 2)))(a)
    assert_allclose(g, 2 * a.T, atol=1e-12)
    # forward mode along a direction that moves the tied pair together
    t = np.diag([1.0, 1.0, 0.0])
    assert_allclose(cr.jvp(np.linalg.eigvals, (a,), (t,))[1], [1.0, 1.0, 0.0], atol=1e-12)
    with pytest.raises(NotImplementedError, match="repeated eigenvalues"):
        cr.grad(lambda a: np.real(np.linalg.eigvals(a)[0]))(a)
    with pytest.raises(NotImplementedError, match="repeated eigenvalues"):
        cr.jvp(np.linalg.eigvals, (a,), (np.triu(np.ones((3, 3))),))


def test_repeated_eigenvalues_refuse_eigenvectors():
    a = np.diag([2.0, 2.0, 5.0])
    with pytest.raises(NotImplementedError, match="eig's eigenvectors.*repeated"):
        cr.grad(lambda a: np.sum(np.abs(np.linalg.eig(a)[1])))(a)
    with pytest.raises(NotImplementedError, match="forward mode"):
        cr.jvp(lambda a: np.linalg.eig(a)[0], (a,), (np.ones((3, 3)),))


def test_defective_matrix_refuses():
    jordan = np.array([[1.0, 1.0], [0.0, 1.0]])
    with pytest.raises(NotImplementedError, match="defective"):
        cr.grad(lambda a: np.real(np.sum(np.linalg.eigvals(a))))(jordan)


def test_non_square_refuses_like_numpy():
    with pytest.raises(np.linalg.LinAlgError, match="square"):
        cr.grad(lambda a: np.sum(np.abs(np.linalg.eigvals(a))))(np.ones((2, 3)))


# --- roots ---------------------------------------------------------------------------------
def _roots_closed_form(p, r):
    """dr_i/dp_k = -r_i^(N-k) / p'(r_i) for p highest power first."""
    n = len(p) - 1
    return -(r[:, None] ** (n - np.arange(n + 1))[None, :]) / np.polyval(np.polyder(p), r)[:, None]


def test_np_roots_real_roots_closed_form_and_finite_differences():
    p = np.array([2.0, -12.0, 22.0, -12.0])  # 2 (x - 1)(x - 2)(x - 3)
    assert_allclose(np.sort(cr.jvp(np.roots, (p,), (p,))[0]), [1.0, 2.0, 3.0])
    r = np.roots(p)
    expected = _roots_closed_form(p, r)
    assert_allclose(cr.jacrev(np.roots)(p), expected, rtol=1e-9, atol=1e-10)
    assert_allclose(cr.jacfwd(np.roots)(p), expected, rtol=1e-9, atol=1e-10)
    cr.check_grads(lambda p: np.sort(np.roots(p)), (p,), order=2, modes=("fwd", "rev"))


def test_np_roots_complex_roots_and_trailing_zeros():
    p = np.array([1.0, 0.5, -1.0, 2.0, 0.0])  # one root at 0, a complex pair
    r = np.roots(p)
    assert np.iscomplexobj(r) and r[-1] == 0
    jr = cr.jacfwd(np.roots)(p)

    # NumPy trims the trailing zero (the root at 0); its coefficient still moves every root
    full = _roots_closed_form(p, r)
    assert_allclose(jr, full, rtol=1e-9, atol=1e-10)
    jre = cr.jacrev(lambda p: np.real(np.roots(p)))(p)
    jim = cr.jacrev(lambda p: np.imag(np.roots(p)))(p)
    assert_allclose(jre + 1j * jim, full, rtol=1e-9, atol=1e-10)
    cr.check_grads(lambda p: np.real(np.roots(p) * np.conj(np.roots(p))), (p,), order=2)
    check_complex(np.roots, p, order=2)
    check_complex(np.roots, p + 0.3j * p[::-1], order=2)
    with pytest.raises(NotImplementedError, match="repeated root at 0"):
        cr.jacrev(np.roots)(np.array([1.0, 2.0, 0.0, 0.0]))


def test_polyroots_closed_form_and_finite_differences():
    c = np.array([2.0, -1.0, 0.5, 1.0])  # lowest power first; roots -1.74 and a pair
    r = cpoly.polyroots(c)
    assert_allclose(r, P.polyroots(c), rtol=1e-14)
    n = len(c) - 1
    expected = -(r[:, None] ** np.arange(n + 1)[None, :]) / P.polyval(r, P.polyder(c))[:, None]
    assert_allclose(cr.jacfwd(cpoly.polyroots)(c), expected, rtol=1e-9, atol=1e-10)
    cr.check_grads(lambda c: np.abs(cpoly.polyroots(c)), (c,), order=2, modes=("fwd", "rev"))
    check_complex(cpoly.polyroots, c, order=2)
    # linear and real-rooted cases
    assert_allclose(cr.grad(lambda c: cpoly.polyroots(c)[0])(np.array([3.0, 2.0])), [-0.5, 0.75])
    c3 = np.array([-6.0, 11.0, -6.0, 1.0])  # roots 1, 2, 3 (sorted)
    cr.check_grads(cpoly.polyroots, (c3,), order=2, modes=("fwd", "rev"))


def test_repeated_root_refuses():
    with pytest.raises(NotImplementedError, match="repeated"):
        cr.jacfwd(np.roots)(np.array([1.0, -2.0, 1.0]))


def test_poly_of_a_matrix_is_its_characteristic_polynomial():
    """np.poly(A) goes through eigvals: c1 = -tr(A), c3 = -det(A) for 3 x 3."""
    a = A_REAL[:3, :3]
    assert_allclose(cr.jacrev(lambda a: np.poly(a)[1])(a), -np.eye(3), atol=1e-12)
    d_det = np.linalg.det(a) * np.linalg.inv(a).T
    assert_allclose(cr.jacfwd(lambda a: np.poly(a)[3])(a), -d_det, atol=1e-12)
    cr.check_grads(np.poly, (a,), order=2, modes=("fwd", "rev"))
