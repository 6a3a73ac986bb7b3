"""numpy.linalg.pinv of rank-deficient matrices (the fixed-rank derivative, rank
from pinv's own cut-off) and the gauge of the extra columns of
svd(full_matrices=True): both modes to second order against finite differences,
jacrev == jacfwd, closed forms."""

from __future__ import annotations

import numpy as np
import pytest
from numpy.testing import assert_allclose
from test_complex import check_complex

import chainrule as cr

RNG = np.random.default_rng(23)


def _orth(m, r):
    return np.linalg.qr(RNG.standard_normal((m, r)))[0]


def low_rank(m, n, r):
    """(U_r, s, V_r) of a rank-r m x n matrix U_r diag(s) V_r^T."""
    return _orth(m, r), np.linspace(1.0, 2.0, r), _orth(n, r)


# (m, n, r): tall, wide, square, rank 1 and full rank
SHAPES = [(5, 3, 2), (3, 5, 2), (4, 4, 2), (4, 4, 1), (4, 3, 3)]


@pytest.mark.parametrize("m, n, r", SHAPES)
def test_pinv_along_rank_keeping_curves(m, n, r):
    """pinv((U + Y)(S + X)(V + Z)^T): every such matrix has rank r, and NumPy's
    pinv is smooth along the curve; the derivative in (X, Y, Z) to second order."""
    u, s, v = low_rank(m, n, r)

    def f(x):
        xs, ys, zs = np.split(x, [r * r, r * r + m * r])
        core = np.diag(s) + np.reshape(xs, (r, r))
        left, right = u + np.reshape(ys, (m, r)), v + np.reshape(zs, (n, r))
        return np.linalg.pinv(left @ core @ right.T)

    x0 = 0.1 * RNG.standard_normal(r * r + m * r + n * r)
    cr.check_grads(f, (x0,), order=2, modes=("fwd", "rev"))
    assert_allclose(cr.jacrev(f)(x0), cr.jacfwd(f)(x0), rtol=1e-9, atol=1e-10)


@pytest.mark.parametrize("m, n, r", SHAPES)
def test_pinv_derivative_is_golub_pereyra(m, n, r):
    u, s, v = low_rank(m, n, r)
    a = (u * s) @ v.T
    p = np.linalg.pinv(a)
    t = RNG.standard_normal((m, n))
    expected = (
        -p @ t @ p + p @ p.T @ t.T @ (np.eye(m) - a @ p) + (np.eye(n) - p @ a) @ t.T @ p.T @ p
    )
    assert_allclose(cr.jvp(np.linalg.pinv, (a,), (t,))[1], expected, rtol=1e-10, atol=1e-12)
    g = RNG.standard_normal((n, m))
    (ct,) = cr.vjp(np.linalg.pinv, a)[1](g)
    assert_allclose(np.sum(ct * t), np.sum(g * expected), rtol=1e-10)
    # along a curve that keeps the rank, this is the derivative of NumPy's pinv
    y, z = RNG.standard_normal((m, r)), RNG.standard_normal((n, r))

    def curve(h):
        return np.linalg.pinv(((u + h * y) * s) @ (v + h * z).T)

    fd = (curve(1e-6) - curve(-1e-6)) / 2e-6
    tangent = (y * s) @ v.T + (u * s) @ z.T
    assert_allclose(cr.jvp(np.linalg.pinv, (a,), (tangent,))[1], fd, rtol=1e-6, atol=1e-7)


def test_pinv_rank_from_its_own_cut_off():
    """With rtol=1e-4 NumPy's pinv drops the singular value 1e-7 and the ones a
    small perturbation creates: the fixed-rank derivative is that of NumPy's
    function along every direction, to second order."""
    u, s, v = low_rank(4, 3, 2)
    a = (u * s) @ v.T + 1e-7 * np.outer(_orth(4, 1)[:, 0], _orth(3, 1)[:, 0])
    f = lambda a: np.linalg.pinv(a, rtol=1e-4)  # noqa: E731
    cr.check_grads(f, (a,), order=2, modes=("fwd", "rev"), eps=1e-7, rtol=1e-5, atol=1e-5)
    g = lambda a: np.linalg.pinv(a, rcond=1e-4)  # noqa: E731
    assert_allclose(cr.jacfwd(g)(a), cr.jacfwd(f)(a), rtol=1e-12)
    # the default cut-off keeps 1e-7: full rank, and a very different derivative
    assert np.max(np.abs(cr.jacfwd(np.linalg.pinv)(a))) > 1e10
    with pytest.raises(ValueError, match="rtol"):
        cr.jacfwd(lambda a: np.linalg.pinv(a, rcond=1e-3, rtol=1e-3))(a)


def test_pinv_stack_with_mixed_ranks_and_hermitian():
    u, _, v = low_rank(3, 3, 1)
    b = RNG.standard_normal((3, 3))

    def curve(x):  # the first matrix stays of rank 1, the second of full rank
        first = np.outer(u[:, 0] + x[:3], v[:, 0] + x[3:6])
        return np.linalg.pinv(np.stack([first, b + np.reshape(x[6:], (3, 3))]))

    x0 = 0.1 * RNG.standard_normal(15)
    cr.check_grads(curve, (x0,), order=2, modes=("fwd", "rev"))
    assert_allclose(cr.jacrev(curve)(x0), cr.jacfwd(curve)(x0), rtol=1e-9, atol=1e-10)
    # hermitian=True reads the lower triangle: a symmetric rank-2 curve
    w = _orth(4, 2)

    def sym(x):
        b = w + np.reshape(x, (4, 2))
        return np.linalg.pinv(b @ np.diag([1.0, -2.0]) @ b.T, hermitian=True)

    cr.check_grads(sym, (0.1 * RNG.standard_normal(8),), order=2, modes=("fwd", "rev"))


def test_pinv_rank_one_closed_form():
    a = np.array([[1.0, 2.0], [2.0, 4.0]])  # pinv(c a) = a / (25 c)
    assert_allclose(cr.jvp(np.linalg.pinv, (a,), (a,))[1], -a / 25)
    p = a / 25
    ones = np.ones((2, 2))
    expected = -p.T @ ones @ p.T + (np.eye(2) - a @ p) @ ones @ p @ p.T
    expected += p.T @ p @ ones @ (np.eye(2) - p @ a)
    assert_allclose(cr.grad(lambda a: np.sum(np.linalg.pinv(a)))(a), expected, atol=1e-14)


# --- svd(full_matrices=True) ---------------------------------------------------------------
def _svd_uses(k):
    def u_ut(a):
        u = np.linalg.svd(a)[0]
        return u @ np.swapaxes(u, -1, -2)

    def extra_projectors(a):
        u, _, vh = np.linalg.svd(a)
        u2, vh2 = u[..., :, k:], vh[..., k:, :]
        return np.sum((u2 @ np.swapaxes(u2, -1, -2)) ** 2) + np.sum(
            (np.swapaxes(vh2, -1, -2) @ vh2) ** 3
        )

    def first_columns(a):
        u, s, vh = np.linalg.svd(a)
        return np.sum(u[..., :, :k] ** 3) + np.sum(s**2) + np.sum(vh[..., :k, :] ** 3)

    return {"u @ u.T": u_ut, "extra projectors": extra_projectors, "first k": first_columns}


@pytest.mark.parametrize("shape", [(5, 3), (3, 5), (2, 4, 3)])
@pytest.mark.parametrize("use", ["u @ u.T", "extra projectors", "first k"])
def test_full_svd_rotation_invariant_uses(shape, use):
    a = RNG.standard_normal(shape)
    f = _svd_uses(min(shape[-2:]))[use]
    cr.check_grads(f, (a,), order=2, modes=("fwd", "rev"))
    assert_allclose(cr.jacrev(f)(a), cr.jacfwd(f)(a), rtol=1e-9, atol=1e-10)


@pytest.mark.parametrize("shape", [(4, 2), (2, 4)])
def test_full_svd_gauge(shape):
    """The extra columns turn only as much as orthogonality to the others needs:
    U2^T dU2 = 0 and U1^T dU2 = -dU1^T U2 (and the same for the rows of Vh)."""
    a = RNG.standard_normal(shape)
    t = RNG.standard_normal(shape)
    k = min(shape)
    (u, s, vh), (du, ds, dvh) = cr.jvp(np.linalg.svd, (a,), (t,))
    for q, dq in ((u, du), (vh.T, dvh.T)):
        assert_allclose(q.T @ dq + dq.T @ q, 0, atol=1e-12)  # stays orthogonal
        assert_allclose(q[:, k:].T @ dq[:, k:], 0, atol=1e-12)  # no turn among themselves
    assert_allclose(a, (u[:, :k] * s) @ vh[:k], atol=1e-12)
    assert_allclose(
        t, (du[:, :k] * s + u[:, :k] * ds) @ vh[:k] + (u[:, :k] * s) @ dvh[:k], atol=1e-12
    )


@pytest.mark.parametrize("shape", [(4, 2), (2, 3, 4)])
def test_full_svd_complex(shape):
    a = RNG.standard_normal(shape) + 1j * RNG.standard_normal(shape)
    k = min(shape[-2:])

    def projectors(a):
        u, _, vh = np.linalg.svd(a)
        u2, v2 = u[..., :, k:], np.conj(np.swapaxes(vh[..., k:, :], -1, -2))
        h = lambda x: np.reshape(x @ np.conj(np.swapaxes(x, -1, -2)), (-1,))  # noqa: E731
        return np.concatenate([h(u2), h(v2)])

    check_complex(projectors, a, order=2)


def test_full_svd_rank_deficient_refuses():
    a = np.array([[1.0, 0.0], [0.0, 0.0], [0.0, 0.0]])  # a zero singular value
    with pytest.raises(NotImplementedError, match="rank-deficient"):
        cr.jacfwd(lambda a: np.linalg.svd(a)[0][:, 2:] @ np.linalg.svd(a)[0][:, 2:].T)(a)


@pytest.mark.parametrize("shape", [(3, 3), (4, 2), (2, 4), (2, 3, 2)])
def test_pinv_complex_full_rank(shape):
    a = RNG.standard_normal(shape) + 1j * RNG.standard_normal(shape)
    check_complex(np.linalg.pinv, a, order=2)


def test_pinv_complex_rank_deficient_and_hermitian():
    m, n, r = 4, 3, 2
    u = RNG.standard_normal((m, r)) + 1j * RNG.standard_normal((m, r))
    v = RNG.standard_normal((n, r)) + 1j * RNG.standard_normal((n, r))

    def curve(x):  # (U + X)(V + Y)^H has rank 2 for every complex x
        left = u + np.reshape(x[: m * r], (m, r))
        right = v + np.reshape(x[m * r :], (n, r))
        return np.linalg.pinv(left @ np.conj(right.T))

    check_complex(curve, np.zeros(m * r + n * r, complex), order=2)
    w = RNG.standard_normal((3, 2)) + 1j * RNG.standard_normal((3, 2))
    h = w @ np.diag([1.0, -3.0]) @ np.conj(w.T)  # Hermitian of rank 2

    def sym(x):
        b = w + np.reshape(x, (3, 2))
        return np.linalg.pinv(b @ np.diag([1.0, -3.0]) @ np.conj(b.T), hermitian=True)

    check_complex(sym, np.zeros(6, complex), order=2)
    # a real function of a complex matrix: grad is df/dx - i df/dy
    f = lambda a: np.sum(np.abs(np.linalg.pinv(a)) ** 2)  # noqa: E731
    g = cr.grad(f)(h + np.eye(3))
    e, z = 1e-6, h + np.eye(3)
    k = np.zeros((3, 3))
    k[1, 2] = e
    fd = (f(z + k) - f(z - k)) / (2 * e) - 1j * (f(z + 1j * k) - f(z - 1j * k)) / (2 * e)
    assert_allclose(g[1, 2], fd, rtol=1e-6)
