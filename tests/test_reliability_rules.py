"""Rules that used to answer wrongly or refuse at special points (issue #13):
weighted ``logsumexp`` dominated by a zero weight, ``det`` of a singular
matrix, ``eigvalsh`` at repeated eigenvalues, and reverse mode through many
``split`` pieces. Each is checked against SciPy/NumPy values, closed forms and
central finite differences, in both modes and to second order."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import fd_jacobian

import chainrule as cr
import chainrule.numpy as cnp

sc = pytest.importorskip("scipy.special")
import chainrule.scipy.special as csp  # noqa: E402

RNG = np.random.default_rng(13)


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
        want = fd_jacobian(lambda v, k=argnum: ref(v, b) if k == 0 else ref(a, v), x)
        np.testing.assert_allclose(cr.grad(f, argnum)(a, b), want, rtol=1e-6)
        np.testing.assert_allclose(cr.jacfwd(f, argnum)(a, b), want, rtol=1e-6)
    cr.check_grads(f, (a, b), order=2, modes=("fwd", "rev"))


# --- det at singular matrices -----------------------------------------------------------
def cofactors(a):
    """The cofactor matrix adj(A)^T from its definition (signed minors)."""
    n = a.shape[-1]
    c = np.zeros_like(a)
    for i in range(n):
        for j in range(n):
            minor = np.delete(np.delete(a, i, 0), j, 1)
            c[i, j] = (-1) ** (i + j) * np.linalg.det(minor)
    return c


def cofactor_jacobian(a, eps=1e-5):
    """d cofactors / dA by central differences: exact up to rounding, the
    cofactors of a 4x4 matrix being polynomials of degree 3 in its entries...
    and their second differences, of degree 1, cancel in the central formula."""
    n = a.shape[-1]
    out = np.zeros((n, n, n, n))
    for k in np.ndindex(n, n):
        e = np.zeros_like(a)
        e[k] = eps
        out[..., k[0], k[1]] = (cofactors(a + e) - cofactors(a - e)) / (2 * eps)
    return out


@pytest.mark.parametrize("rank", [3, 2], ids=["rank n-1", "rank n-2"])
def test_det_at_singular_matrices(rank):
    a = RNG.normal(size=(4, rank)) @ RNG.normal(size=(rank, 4))
    assert np.linalg.matrix_rank(a) == rank
    want = cofactors(a)  # zero at rank n-2: every (n-1)-minor vanishes
    np.testing.assert_allclose(cr.grad(np.linalg.det)(a), want, atol=1e-12)
    np.testing.assert_allclose(cr.jacfwd(np.linalg.det)(a), want, atol=1e-12)
    want_h = cofactor_jacobian(a)
    assert np.abs(want_h).max() > 0.1  # the second derivative is not zero at rank n-2
    det = np.linalg.det
    for hess in (cr.hessian(det), cr.jacrev(cr.jacrev(det)), cr.jacfwd(cr.jacfwd(det))):
        np.testing.assert_allclose(hess(a), want_h, atol=1e-8)
    cr.check_grads(np.linalg.det, (a,), order=2, modes=("fwd", "rev"))


def test_det_singular_closed_forms_and_stacks():
    # [[1, 2], [2, 4]]: adj^T = [[4, -2], [-2, 1]]; det = ad - bc has a constant Hessian
    a = np.array([[1.0, 2.0], [2.0, 4.0]])
    np.testing.assert_allclose(cr.grad(np.linalg.det)(a), [[4.0, -2.0], [-2.0, 1.0]], rtol=1e-14)
    h = cr.hessian(np.linalg.det)(a).reshape(4, 4)
    want = np.array([[0, 0, 0, 1], [0, 0, -1, 0], [0, -1, 0, 0], [1, 0, 0, 0]], float)
    np.testing.assert_allclose(h, want, atol=1e-14)
    # the zero matrix (rank 0) of size 3: gradient 0, Hessian 0 (every 2x2 minor vanishes)
    z = np.zeros((3, 3))
    np.testing.assert_array_equal(cr.grad(np.linalg.det)(z), np.zeros((3, 3)))
    np.testing.assert_array_equal(cr.hessian(np.linalg.det)(z), np.zeros((3, 3, 3, 3)))
    # a stack mixing a singular and a regular matrix, and a sign-negative singular one
    b = RNG.normal(size=(3, 2)) @ RNG.normal(size=(2, 3))
    stack = np.stack([b, RNG.normal(size=(3, 3)), -b[::-1]])

    def f(s):
        return np.sum(np.linalg.det(s) * np.array([1.0, 2.0, 3.0]))

    want = np.stack([cofactors(m) for m in stack]) * np.array([1.0, 2.0, 3.0])[:, None, None]
    np.testing.assert_allclose(cr.grad(f)(stack), want, atol=1e-12)
    np.testing.assert_allclose(cr.jacfwd(f)(stack), want, atol=1e-12)
    cr.check_grads(f, (stack,), order=2, modes=("fwd", "rev"))


def test_det_third_order_well_conditioned_and_refused_when_singular():
    w = RNG.normal(size=(3, 3))
    third = cr.jacfwd(cr.hessian(np.linalg.det))(w)
    # det is cubic in a 3x3 matrix: its third derivative is the constant Levi-Civita form
    eps = np.zeros((3, 3, 3))
    for p, sgn in (
        ((0, 1, 2), 1),
        ((1, 2, 0), 1),
        ((2, 0, 1), 1),
        ((0, 2, 1), -1),
        ((2, 1, 0), -1),
        ((1, 0, 2), -1),
    ):
        eps[p] = sgn
    want = np.zeros((3, 3, 3, 3, 3, 3))
    for i, j, k in np.ndindex(3, 3, 3):  # d3 det / dA_ia dA_jb dA_kc = eps_ijk eps_abc
        want[i, :, j, :, k, :] = eps[i, j, k] * eps
    np.testing.assert_allclose(third, want, atol=1e-10)
    singular = np.array([[1.0, 2.0, 3.0], [2.0, 4.0, 6.0], [0.0, 1.0, 1.0]])
    with pytest.raises(NotImplementedError, match="third derivative of numpy.linalg.det"):
        cr.jacfwd(cr.hessian(np.linalg.det))(singular)


def test_slogdet_at_singular_matrix_raises_clearly():
    singular = np.array([[1.0, 2.0], [2.0, 4.0]])
    assert np.linalg.slogdet(singular)[1] == -np.inf
    for jac in (cr.jacrev, cr.jacfwd):
        with pytest.raises(np.linalg.LinAlgError, match="Differentiate numpy.linalg.det"):
            jac(lambda a: np.linalg.slogdet(a)[1])(singular)


# --- eigvalsh at repeated eigenvalues ----------------------------------------------------
def two_cluster_matrix():
    """A symmetric matrix with eigenvalues (1, 1, 3), both triangles equal."""
    q = np.linalg.qr(np.random.default_rng(1).normal(size=(3, 3)))[0]
    b = q @ np.diag([1.0, 1.0, 3.0]) @ q.T
    return np.tril(b) + np.tril(b, -1).T


def lower_fold(m):
    """What a function reading the lower triangle sees of the symmetric gradient m."""
    return np.tril(m) + np.tril(m.T, -1)


def test_eigvalsh_cluster_first_order_convention():
    eye = np.eye(3)
    # each eigenvalue of the cluster {1, 1, 1} moves by tr(dA) / 3, in both modes
    want = np.broadcast_to(eye / 3, (3, 3, 3))
    np.testing.assert_allclose(cr.jacfwd(np.linalg.eigvalsh)(eye), want)
    np.testing.assert_allclose(cr.jacrev(np.linalg.eigvalsh)(eye), want)
    np.testing.assert_allclose(cr.jacrev(lambda a: np.linalg.eigvalsh(a, "U"))(eye), want)
    b = two_cluster_matrix()
    assert np.ptp(np.linalg.eigvalsh(b)[:2]) < 1e-14  # an exact tie up to rounding
    jf, jr = cr.jacfwd(np.linalg.eigvalsh)(b), cr.jacrev(np.linalg.eigvalsh)(b)
    np.testing.assert_allclose(jf, jr, atol=1e-14)
    # symmetric functions of the eigenvalues are exact: against finite differences
    for f in (
        lambda a: np.sum(np.linalg.eigvalsh(a)),  # the trace
        lambda a: np.sum(np.linalg.eigvalsh(a) ** 2),  # ||A||_F^2
        lambda a: np.sum(np.exp(np.linalg.eigvalsh(a))),  # tr exp(A)
    ):
        want = fd_jacobian(f, b)
        np.testing.assert_allclose(cr.grad(f)(b), want, atol=1e-8)
        np.testing.assert_allclose(cr.jacfwd(f)(b), want, atol=1e-8)
    # sum(w**2) = ||A||_F^2 for the symmetric matrix the lower triangle defines
    np.testing.assert_allclose(
        cr.grad(lambda a: np.sum(np.linalg.eigvalsh(a) ** 2))(eye), lower_fold(2 * eye)
    )
    # a non-symmetric use gets the even split: w_0 + 2 w_1 + 5 w_2 behaves as
    # 1.5 (w_0 + w_1) + 5 w_2, a smooth function near b (the cluster stays apart)
    c = np.array([1.0, 2.0, 5.0])
    split = np.array([1.5, 1.5, 5.0])
    want = fd_jacobian(lambda a: np.linalg.eigvalsh(a) @ split, b)
    np.testing.assert_allclose(cr.grad(lambda a: np.linalg.eigvalsh(a) @ c)(b), want, atol=1e-8)
    np.testing.assert_allclose(cr.jacfwd(lambda a: np.linalg.eigvalsh(a) @ c)(b), want, atol=1e-8)
    # away from ties nothing changed: finite differences, both modes
    d = np.diag([1.0, 2.0, 4.0]) + 0.1
    want = fd_jacobian(np.linalg.eigvalsh, d)
    np.testing.assert_allclose(cr.jacfwd(np.linalg.eigvalsh)(d), want, atol=1e-8)
    np.testing.assert_allclose(cr.jacrev(np.linalg.eigvalsh)(d), want, atol=1e-8)


def test_eigvalsh_cluster_second_order():
    b = two_cluster_matrix()
    split = np.array([1.5, 1.5, 5.0])
    c = np.array([1.0, 2.0, 5.0])
    # the Hessian of the even-split function, exact (Daleckii-Krein across the clusters)
    want = fd_jacobian(cr.grad(lambda a: np.linalg.eigvalsh(a) @ split), b)
    assert np.abs(want).max() > 1.0
    f = lambda a: np.linalg.eigvalsh(a) @ c  # noqa: E731
    np.testing.assert_allclose(cr.hessian(f)(b), want, atol=1e-7)
    np.testing.assert_allclose(cr.jacrev(cr.jacrev(f))(b), want, atol=1e-7)
    # the trace: Hessian 0 at I and at b, in both second-order compositions
    tr = lambda a: np.sum(np.linalg.eigvalsh(a))  # noqa: E731
    for x in (np.eye(3), b):
        np.testing.assert_allclose(cr.hessian(tr)(x), 0.0, atol=1e-14)
        np.testing.assert_allclose(cr.jacrev(cr.jacrev(tr))(x), 0.0, atol=1e-14)
    # each eigenvalue's Hessian (jacobian of its gradient), forward and reverse agree
    jf = cr.jacfwd(cr.jacrev(np.linalg.eigvalsh))(b)
    np.testing.assert_allclose(jf, cr.jacrev(cr.jacrev(np.linalg.eigvalsh))(b), atol=1e-12)


@pytest.mark.parametrize(
    "second",
    [cr.hessian, lambda f: cr.jacrev(cr.jacrev(f)), lambda f: cr.jacfwd(cr.jacfwd(f))],
    ids=["hessian", "rev-rev", "fwd-fwd"],
)
def test_eigvalsh_cluster_refuses_second_derivatives_that_need_the_split(second):
    # sum(w**2) = ||A||_F^2 is smooth at I, but its Hessian needs how the cluster splits
    # (2 tr(T^2), not the 2 tr(T)^2 / 3 a linear tangent would give): refused, not wrong
    f = lambda a: np.sum(np.linalg.eigvalsh(a) ** 2)  # noqa: E731
    for x in (np.eye(3), two_cluster_matrix()):
        with pytest.raises(NotImplementedError, match="how the repeated eigenvalues split"):
            second(f)(x)
    # ... while the same function written as a matrix function has it
    np.testing.assert_allclose(
        cr.hessian(lambda a: np.sum(a * a))(np.eye(3)), 2 * np.eye(9).reshape(3, 3, 3, 3)
    )


# --- split into many pieces: linear reverse mode ----------------------------------------
SPLITS = {
    "split": lambda x: np.split(x, 4, axis=1),
    "array_split": lambda x: np.array_split(x, 3, axis=1),
    "array_split indices": lambda x: np.array_split(x, [1, 1, 3], axis=1),
    "hsplit": lambda x: np.hsplit(x, 2),
    "vsplit": lambda x: np.vsplit(x, [1]),
    "unordered indices": lambda x: np.array_split(x, [3, 1], axis=1),
}
if hasattr(np, "unstack"):  # NumPy >= 2.1
    SPLITS["unstack"] = lambda x: np.unstack(x, axis=1)
    SPLITS["unstack 0"] = lambda x: np.unstack(x)


@pytest.mark.parametrize("split", SPLITS.values(), ids=SPLITS.keys())
def test_split_pieces_derivatives(split):
    x = RNG.normal(size=(3, 4))

    def f(x):
        # pieces used unevenly: one twice, one not at all (a zero cotangent)
        pieces = split(x)
        weights = np.arange(1.0, len(pieces) + 1)
        total = sum(w * np.sum(np.sin(p) ** 2) for w, p in zip(weights[1:], pieces[1:]))
        return total + np.sum(pieces[-1] ** 3)

    want = fd_jacobian(f, x)
    np.testing.assert_allclose(cr.grad(f)(x), want, rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(cr.jacfwd(f)(x), want, rtol=1e-6, atol=1e-9)
    cr.check_grads(f, (x,), order=2, modes=("fwd", "rev"))
    # every piece as an output: the Jacobian is a selection, in both modes
    g = lambda x: np.concatenate([np.ravel(p) for p in split(x)])  # noqa: E731
    np.testing.assert_allclose(cr.jacrev(g)(x), cr.jacfwd(g)(x))


def zeros_allocated_by_backward(monkeypatch, split, x):
    """Elements allocated by np.zeros while reverse mode runs through ``split``'s pieces."""
    _, vjp_fn = cr.vjp(lambda x: sum(np.sum(p * p) for p in split(x)), x)
    allocated = []
    real_zeros = np.zeros

    def counting_zeros(shape, *args, **kwargs):
        z = real_zeros(shape, *args, **kwargs)
        allocated.append(z.size)
        return z

    monkeypatch.setattr(np, "zeros", counting_zeros)
    (g,) = vjp_fn(1.0)
    monkeypatch.undo()
    np.testing.assert_allclose(g, 2 * x)
    return sum(allocated)


MANY = 400


@pytest.mark.parametrize(
    "split",
    [
        lambda x: np.split(x, MANY),
        lambda x: np.array_split(x, MANY),
        pytest.param(
            lambda x: np.unstack(x),
            marks=pytest.mark.skipif(not hasattr(np, "unstack"), reason="NumPy >= 2.1"),
        ),
        lambda x: np.vsplit(x, list(range(1, MANY))),
    ],
    ids=["split", "array_split", "unstack", "vsplit indices"],
)
def test_split_reverse_mode_allocates_linearly(monkeypatch, split):
    # n pieces of an (n, 8) array: reverse mode must not build a full-size cotangent
    # for each piece (n * 8n elements); one full-size buffer is enough. Counted
    # exactly, not timed, so a busy machine cannot make it flaky.
    x = RNG.normal(size=(MANY, 8))
    assert zeros_allocated_by_backward(monkeypatch, split, x) <= 2 * x.size
    # the count can fail: slicing each element separately scatters a full array per piece
    slices = zeros_allocated_by_backward(monkeypatch, lambda x: [x[i] for i in range(MANY)], x)
    assert slices >= MANY * x.size
