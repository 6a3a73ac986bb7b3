"""np.linalg.lstsq at a rank-deficient matrix: the derivative of the
minimum-norm solution at fixed rank (the rank taken with lstsq's own rcond at
the point), against finite differences along perturbations that keep the rank
(A = U V with U, V varied), in both modes, jacfwd == jacrev, second order;
in b it is pinv(A) (with lstsq's cut-off); residuals and rank as NumPy's."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import fd_jacobian

import chainrule as cr

RNG = np.random.default_rng(21)


# (rows, columns, rank): tall, wide, square, rank one; b a vector or a matrix
SHAPES = [(5, 3, 2), (3, 5, 2), (4, 4, 2), (6, 4, 1)]


def _factors(m, n, r):
    return RNG.normal(size=(m, r)), RNG.normal(size=(r, n))


@pytest.mark.parametrize("m,n,r", SHAPES)
@pytest.mark.parametrize("k", [None, 2])
def test_rank_keeping_perturbations_match_finite_differences(m, n, r, k):
    U, V = _factors(m, n, r)
    b = RNG.normal(size=(m,) if k is None else (m, k))
    assert np.linalg.lstsq(U @ V, b)[2] == r

    def solution(p):  # A = U V keeps rank r for every small change of U and V
        return np.linalg.lstsq(p[: m * r].reshape(m, r) @ p[m * r :].reshape(r, n), b)[0]

    p0 = np.concatenate([U.ravel(), V.ravel()])
    Jf, Jr = cr.jacfwd(solution)(p0), cr.jacrev(solution)(p0)
    np.testing.assert_allclose(Jf, Jr, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(Jf, fd_jacobian(solution, p0), rtol=1e-6, atol=1e-8)
    cr.check_grads(lambda p: np.sum(solution(p) ** 2), (p0,), order=2)


@pytest.mark.parametrize("m,n,r", SHAPES)
def test_directly_in_a_along_a_rank_keeping_direction(m, n, r):
    U, V = _factors(m, n, r)
    A, b = U @ V, RNG.normal(size=m)
    N, W = RNG.normal(size=(m, r)), RNG.normal(size=(r, n))
    dA = N @ V + U @ W  # the tangent of the rank-r curve (U + t N)(V + t W)

    def along(t):
        return np.linalg.lstsq((U + t * N) @ (V + t * W), b)[0]

    numeric = (along(1e-6) - along(-1e-6)) / 2e-6
    _, forward = cr.jvp(lambda a: np.linalg.lstsq(a, b)[0], (A,), (dA,))
    np.testing.assert_allclose(forward, numeric, rtol=1e-6, atol=1e-8)
    # reverse mode through the pairing <u, J dA>
    u = RNG.normal(size=n)
    (ga,) = cr.vjp(lambda a: np.linalg.lstsq(a, b)[0], A)[1](u)
    np.testing.assert_allclose(np.sum(ga * dA), u @ numeric, rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(
        cr.jacfwd(lambda a: np.linalg.lstsq(a, b)[0])(A),
        cr.jacrev(lambda a: np.linalg.lstsq(a, b)[0])(A),
        atol=1e-12,
    )


@pytest.mark.parametrize("m,n,r", SHAPES)
def test_in_b_it_is_the_pseudo_inverse(m, n, r):
    U, V = _factors(m, n, r)
    A = U @ V
    b = RNG.normal(size=m)
    P = np.linalg.pinv(A, rcond=np.finfo(float).eps * max(m, n))
    np.testing.assert_allclose(cr.jacfwd(lambda b: np.linalg.lstsq(A, b)[0])(b), P, atol=1e-12)
    np.testing.assert_allclose(cr.jacrev(lambda b: np.linalg.lstsq(A, b)[0])(b), P, atol=1e-12)
    H = cr.hessian(lambda b: np.sum(np.linalg.lstsq(A, b)[0] ** 2))(b)
    np.testing.assert_allclose(H, 2 * P.T @ P, atol=1e-10)


def test_rank_is_lstsqs_own_with_its_rcond():
    # singular values 1 and 1e-3: rcond=1e-2 cuts the second, the default keeps it
    A = np.diag([1.0, 1e-3])
    b = np.array([1.0, 1.0])
    x, res, rank, s = cr.jvp(lambda a: np.linalg.lstsq(a, b, rcond=1e-2), (A,), (A,))[0]
    assert rank == 1 and res.shape == (0,)
    np.testing.assert_allclose(x, [1.0, 0.0])
    J = cr.jacrev(lambda a: np.linalg.lstsq(a, b, rcond=1e-2)[0])(A)
    # At rank 1 (A = e0 e0^T): a00 scales it, x0 = b0 / a00; a10 and a01 turn its
    # column and row spaces, pinv([[1, 0], [t, 0]]) = [[1, t], [0, 0]] / (1 + t^2)
    # gives dx0/da10 = b1 = 1, and likewise dx1/da01 = b0 = 1; a11 leaves the
    # rank-1 matrices (its component is dropped at fixed rank).
    expect = np.zeros((2, 2, 2))  # [output i, row, column]
    expect[0, 0, 0] = -1.0
    expect[0, 1, 0] = 1.0
    expect[1, 0, 1] = 1.0
    np.testing.assert_allclose(J, expect, atol=1e-12)
    np.testing.assert_allclose(
        cr.jacfwd(lambda a: np.linalg.lstsq(a, b, rcond=1e-2)[0])(A), expect, atol=1e-12
    )
    Jfull = cr.jacrev(lambda a: np.linalg.lstsq(a, b)[0])(A)  # rank 2: x1 = 1e3 moves
    assert abs(Jfull[1, 1, 1] + 1e6) < 1e-3


def test_residuals_of_a_tall_rank_deficient_matrix_are_empty_as_numpys():
    U, V = _factors(5, 3, 2)
    out = cr.jvp(lambda a: np.linalg.lstsq(a, np.ones(5)), (U @ V,), (U @ V,))[0]
    ref = np.linalg.lstsq(U @ V, np.ones(5))
    assert out[1].shape == ref[1].shape == (0,)
    assert out[2] == ref[2] == 2
    np.testing.assert_allclose(out[0], ref[0])
