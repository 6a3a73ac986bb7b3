"""chainrule.scipy.linalg: sqrtm, logm, expm_frechet, solve_sylvester, solve_banded,
lu_factor/lu_solve, eigh and eig against SciPy's values and finite differences,
in both modes, to second order."""

from __future__ import annotations

import numpy as np
import pytest

sl = pytest.importorskip("scipy.linalg")

from test_complex import check_complex  # noqa: E402

import chainrule as cr  # noqa: E402
import chainrule.scipy.linalg as csl  # noqa: E402
from chainrule.errors import NoRuleError  # noqa: E402

RNG = np.random.default_rng(5)
MODES = ("fwd", "rev")
N = 3
A = RNG.normal(size=(N, N))
SPD = A @ A.T + N * np.eye(N)
CPLX = RNG.normal(size=(N, N)) + 1j * RNG.normal(size=(N, N)) + 3 * np.eye(N)


def _traced(f, *args):
    """``f(*args)`` computed with every argument traced."""
    return cr.jvp(f, args, tuple(np.ones_like(a) for a in args))[0]


def _agree(f, args, argnums):
    jr = cr.jacrev(f, argnums=argnums)(*args)
    jf = cr.jacfwd(f, argnums=argnums)(*args)
    for r, w in zip(jr, jf):
        np.testing.assert_allclose(r, w, rtol=1e-9, atol=1e-10)


def test_solve_sylvester():
    b, q = RNG.normal(size=(2, 2)) + 3 * np.eye(2), RNG.normal(size=(N, 2))
    a = A + 3 * np.eye(N)
    np.testing.assert_allclose(_traced(csl.solve_sylvester, a, b, q), sl.solve_sylvester(a, b, q))
    cr.check_grads(csl.solve_sylvester, (a, b, q), order=2, modes=MODES)
    _agree(csl.solve_sylvester, (a, b, q), (0, 1, 2))
    check_complex(lambda m: csl.solve_sylvester(m, CPLX.T, q @ q.T), CPLX)
    # stacks broadcast: a batch of right-hand sides against one (a, b)
    qs = RNG.normal(size=(4, N, 2))
    want = np.stack([sl.solve_sylvester(a, b, qi) for qi in qs])
    np.testing.assert_allclose(_traced(lambda q: csl.solve_sylvester(a, b, q), qs), want)
    cr.check_grads(lambda a, q: csl.solve_sylvester(a, b, q), (a, qs), order=1, modes=MODES)


def test_sqrtm_values_derivatives_and_closed_form():
    np.testing.assert_allclose(_traced(csl.sqrtm, SPD), sl.sqrtm(SPD), rtol=1e-12)
    cr.check_grads(csl.sqrtm, (SPD,), order=2, modes=MODES)
    _agree(csl.sqrtm, (SPD,), (0,))
    # diagonal: d sqrt(a_ii) / d a_ii = 1 / (2 sqrt(a_ii)); off-diagonal 1 / (sqrt a_ii + sqrt a_jj)
    d = np.diag([4.0, 9.0])
    np.testing.assert_allclose(cr.grad(lambda a: csl.sqrtm(a)[0, 1])(d), [[0, 0.2], [0, 0]])
    np.testing.assert_allclose(cr.grad(lambda a: csl.sqrtm(a)[1, 1])(d), [[0, 0], [0, 1 / 6]])
    # negative eigenvalues: a complex root of a real matrix, differentiated both parts
    m = np.array([[1.0, 2.0], [3.0, 4.0]])
    np.testing.assert_allclose(_traced(csl.sqrtm, m), sl.sqrtm(m), rtol=1e-12)
    cr.check_grads(lambda a: csl.sqrtm(a).imag, (m,), order=2, modes=MODES)
    check_complex(csl.sqrtm, CPLX)
    # a stack of matrices: one root each
    stack = np.stack([SPD, SPD + np.eye(N)])
    want = np.stack([sl.sqrtm(m) for m in stack])
    np.testing.assert_allclose(_traced(csl.sqrtm, stack), want, rtol=1e-12)
    cr.check_grads(csl.sqrtm, (stack,), order=1, modes=MODES)
    x, err = csl.sqrtm(cr.stop_gradient(SPD), disp=False)
    assert err < 1e-12


def test_logm():
    np.testing.assert_allclose(_traced(csl.logm, SPD), sl.logm(SPD), rtol=1e-12)
    small = SPD[:2, :2]  # every second derivative is a logm of a 4n x 4n block: keep n small
    cr.check_grads(csl.logm, (small,), order=2, modes=MODES)
    _agree(csl.logm, (A[:2, :2] + 3 * np.eye(2),), (0,))
    np.testing.assert_allclose(
        cr.grad(lambda a: csl.logm(a)[0, 1])(np.diag([2.0, 3.0])), [[0, np.log(1.5)], [0, 0]]
    )
    check_complex(csl.logm, CPLX[:2, :2], order=1)  # second order: check_grads above
    # logm inverts expm, so d logm(expm(X)) = identity map
    x = 0.3 * A
    t = RNG.normal(size=x.shape)
    _, dt = cr.jvp(lambda x: csl.logm(csl.expm(x)), (x,), (t,))
    np.testing.assert_allclose(dt, t, atol=1e-10)


def test_expm_frechet():
    e = RNG.normal(size=(N, N))
    want = sl.expm_frechet(A, e)
    got = _traced(csl.expm_frechet, A, e)
    for g, w in zip(got, want):
        np.testing.assert_allclose(g, w, rtol=1e-12, atol=1e-13)
    np.testing.assert_allclose(
        _traced(lambda a: csl.expm_frechet(a, e, compute_expm=False), A), want[1]
    )
    f = lambda a, e: csl.expm_frechet(a, e, compute_expm=False)  # noqa: E731
    cr.check_grads(f, (A, e), order=2, modes=MODES)
    cr.check_grads(lambda a, e: csl.expm_frechet(a, e)[0], (A, e), order=2, modes=MODES)
    _agree(f, (A, e), (0, 1))
    got = _traced(csl.expm_frechet, 0.3 * CPLX, CPLX.T)
    for g, w in zip(got, sl.expm_frechet(0.3 * CPLX, CPLX.T)):
        np.testing.assert_allclose(g, w, rtol=1e-12, atol=1e-13)
    check_complex(lambda a: csl.expm_frechet(a, CPLX.T, compute_expm=False), 0.3 * CPLX)
    # its derivative in E is itself (linear in E)
    t = RNG.normal(size=e.shape)
    np.testing.assert_allclose(cr.jvp(lambda e: f(A, e), (e,), (t,))[1], sl.expm_frechet(A, t)[1])


@pytest.mark.parametrize("l, u", [(1, 1), (0, 2), (2, 0)])
def test_solve_banded(l, u):
    ab = RNG.normal(size=(l + u + 1, 5))
    ab[u] += 4.0
    for b in (RNG.normal(size=5), RNG.normal(size=(5, 2))):
        np.testing.assert_allclose(
            _traced(lambda ab, b: csl.solve_banded((l, u), ab, b), ab, b),
            sl.solve_banded((l, u), ab, b),
            rtol=1e-12,
        )
        f = lambda ab, b: csl.solve_banded((l, u), ab, b)  # noqa: E731
        cr.check_grads(f, (ab, b), order=2, modes=MODES)
        _agree(f, (ab, b), (0, 1))
    # the unused corners of the banded storage do not matter
    g = cr.grad(lambda ab: csl.solve_banded((l, u), ab, np.ones(5)).sum())(ab)
    corners = [(r, c) for r in range(l + u + 1) for c in range(5) if not 0 <= c + r - u < 5]
    assert all(g[i] == 0 for i in corners)
    with pytest.raises(ValueError, match=r"ab must have shape \(l \+ u \+ 1, n\)"):
        cr.grad(lambda ab: csl.solve_banded((l + 1, u), ab, np.ones(5)).sum())(ab)


def test_solve_banded_gradient_is_the_transposed_solve():
    # grad_b sum(c * A^-1 b) = A^-T c and grad_A = -(A^-T c) x^T on the band, for a long system
    n, c = 400, RNG.normal(size=400)
    ab = RNG.normal(size=(3, n))
    ab[1] += 4.0
    dense = np.diag(ab[1]) + np.diag(ab[0, 1:], 1) + np.diag(ab[2, :-1], -1)
    b = RNG.normal(size=n)
    f = lambda ab, b: np.sum(c * csl.solve_banded((1, 1), ab, b))  # noqa: E731
    g_ab, g_b = cr.grad(f, argnums=(0, 1))(ab, b)
    z, x = np.linalg.solve(dense.T, c), np.linalg.solve(dense, b)
    np.testing.assert_allclose(g_b, z, rtol=1e-10)
    full = -np.outer(z, x)
    np.testing.assert_allclose(g_ab[1], np.diag(full), rtol=1e-10)
    np.testing.assert_allclose(g_ab[0, 1:], np.diag(full, 1), rtol=1e-10)
    np.testing.assert_allclose(g_ab[2, :-1], np.diag(full, -1), rtol=1e-10)
    assert g_ab[0, 0] == 0 and g_ab[2, -1] == 0


@pytest.mark.parametrize("trans", [0, 1, 2])
def test_lu_solve_through_lu_factor_matches_solve(trans):
    b = RNG.normal(size=(N, 2))
    f = lambda a, b: csl.lu_solve(csl.lu_factor(a), b, trans=trans)  # noqa: E731
    g = lambda a, b: np.linalg.solve(a.T if trans else a, b)  # noqa: E731
    np.testing.assert_allclose(_traced(f, A, b), sl.lu_solve(sl.lu_factor(A), b, trans=trans))
    for arg in (0, 1):
        np.testing.assert_allclose(
            cr.jacrev(f, argnums=arg)(A, b), cr.jacrev(g, argnums=arg)(A, b), atol=1e-12
        )
        np.testing.assert_allclose(
            cr.jacfwd(f, argnums=arg)(A, b), cr.jacrev(g, argnums=arg)(A, b), atol=1e-12
        )
    cr.check_grads(f, (A, b[:, 0]), order=2, modes=MODES)
    # a plain factorisation and a traced right-hand side
    lu = sl.lu_factor(A)
    cr.check_grads(lambda b: csl.lu_solve(lu, b, trans=trans), (b,), order=2, modes=MODES)


def test_lu_factor_packed_factor():
    lu, piv = sl.lu_factor(A)
    got, got_piv = _traced(lambda a: csl.lu_factor(a)[0], A), csl.lu_factor(A)[1]
    np.testing.assert_allclose(got, lu, rtol=1e-12)
    assert np.array_equal(got_piv, piv)
    cr.check_grads(lambda a: csl.lu_factor(a)[0], (A,), order=2, modes=MODES)
    # log|det A| from the factor's diagonal: its gradient is inv(A)^T
    logdet = lambda a: np.sum(np.log(np.abs(np.diag(csl.lu_factor(a)[0]))))  # noqa: E731
    np.testing.assert_allclose(cr.grad(logdet)(A), np.linalg.inv(A).T, rtol=1e-10)
    with pytest.raises(ValueError, match="square 2-d matrix"):
        cr.grad(lambda a: csl.lu_factor(a)[0].sum())(np.ones((2, 3)))


@pytest.mark.parametrize("trans", [0, 1, 2])
def test_lu_complex(trans):
    b = RNG.normal(size=N) + 1j * RNG.normal(size=N)
    want = sl.lu_solve(sl.lu_factor(CPLX), b, trans=trans)
    got = _traced(lambda a: csl.lu_solve(csl.lu_factor(a), b, trans=trans), CPLX)
    np.testing.assert_allclose(got, want, rtol=1e-12)
    check_complex(lambda a: csl.lu_solve(csl.lu_factor(a), b, trans=trans), CPLX)
    check_complex(lambda b: csl.lu_solve(csl.lu_factor(CPLX), b, trans=trans), b)
    check_complex(lambda a: csl.lu_factor(a)[0], CPLX)


def test_eigh_standard_and_generalized():
    w, v = sl.eigh(SPD)
    w2, v2 = _traced(csl.eigh, SPD)
    np.testing.assert_allclose(w2, w, rtol=1e-12)
    np.testing.assert_allclose(np.abs(v2), np.abs(v), atol=1e-12)  # eigenvectors up to sign
    cr.check_grads(lambda a: csl.eigh(a, eigvals_only=True), (SPD,), order=2, modes=MODES)
    cr.check_grads(lambda a: csl.eigh(a, lower=False)[0], (SPD,), order=2, modes=MODES)
    b = RNG.normal(size=(N, N))
    b = b @ b.T + np.eye(N)
    for lower in (True, False):
        w, v = sl.eigh(SPD, b, lower=lower)
        w2, v2 = _traced(lambda a, b, lo=lower: csl.eigh(a, b, lower=lo), SPD, b)
        np.testing.assert_allclose(w2, w, rtol=1e-12)
        np.testing.assert_allclose(np.abs(v2), np.abs(v), atol=1e-12)
        f = lambda a, b, lo=lower: csl.eigh(a, b, lower=lo, eigvals_only=True)  # noqa: E731
        cr.check_grads(f, (SPD, b), order=2, modes=MODES)
        _agree(f, (SPD, b), (0, 1))

        # an invariant of the eigenvectors' sign: v v^T for the lowest eigenvector
        def proj(a, b, lo=lower):
            v = csl.eigh(a, b, lower=lo)[1][:, :1]
            return v @ v.T

        cr.check_grads(proj, (SPD, b), order=2 if lower else 1, modes=MODES)
    got = _traced(lambda a: csl.eigh(a, subset_by_index=(1, 2), eigvals_only=True), SPD)
    np.testing.assert_allclose(got, sl.eigh(SPD, subset_by_index=(1, 2), eigvals_only=True))
    with pytest.raises(NoRuleError, match="subset_by_value"):
        cr.grad(lambda a: csl.eigh(a, subset_by_value=(0, 5), eigvals_only=True).sum())(SPD)


def test_eig_values_are_complex_like_scipys():
    w, _ = sl.eig(A)
    w2, v2 = _traced(csl.eig, A)
    assert w2.dtype == np.complex128
    np.testing.assert_allclose(np.sort_complex(w2), np.sort_complex(w), rtol=1e-12)
    cr.check_grads(lambda a: np.abs(csl.eig(a)[0]), (A,), order=2, modes=MODES)
    with pytest.raises(NoRuleError, match="left"):
        cr.grad(lambda a: csl.eig(a, left=True)[0].real.sum())(A)


def test_plain_inputs_are_scipys_own_results():
    assert np.array_equal(csl.sqrtm(SPD), sl.sqrtm(SPD))
    assert np.array_equal(csl.logm(SPD), sl.logm(SPD))
    lu, piv = csl.lu_factor(A)
    assert np.array_equal(lu, sl.lu_factor(A)[0])
    assert set(csl.DIFFERENTIABLE) >= {"sqrtm", "logm", "lu_solve", "eig", "solve_banded"}
