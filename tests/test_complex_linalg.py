"""numpy.linalg on complex matrices: values against NumPy, both modes against
finite differences along real and imaginary directions to second order
(``check_complex``), batched stacks, mixed real/complex arguments, holomorphic
Jacobians, gradients of real functions (``df/dx - i df/dy``), the phase
convention of complex eigen-/singular vectors, and what is still refused."""

from __future__ import annotations

import numpy as np
import pytest
from complex_checks import fd_grad
from numpy.testing import assert_allclose
from test_complex import check_complex

import chainrule as cr
import chainrule.numpy as cnp

RNG = np.random.default_rng(11)


def cmat(*shape):
    """A complex matrix (stack) well away from singularity."""
    z = RNG.standard_normal(shape) + 1j * RNG.standard_normal(shape)
    if len(shape) >= 2 and shape[-1] == shape[-2]:
        z = z + 3.0 * np.eye(shape[-1])
    return z


def rmat(*shape):
    return np.real(cmat(*shape)).copy()


def herm(z):
    return z + np.conj(np.swapaxes(z, -1, -2))


def proj(v, k=2):
    """The projector onto the first ``k`` columns of ``v``: independent of their phases."""
    w = v[..., :, :k]
    return w @ np.conj(np.swapaxes(w, -1, -2))


def svd_lowrank(a):
    u, s, vh = np.linalg.svd(a, full_matrices=False)
    return (u[..., :, :2] * s[..., None, :2]) @ vh[..., :2, :]


def eigh_function(a):
    """V exp(w/4) V^H: a matrix function, independent of the phases."""
    w, v = np.linalg.eigh(a)
    return (v * np.exp(w / 4)[..., None, :]) @ np.conj(np.swapaxes(v, -1, -2))


B = cmat(3, 2)
SQUARE = [(3, 3), (2, 3, 3)]
# name: (function of a complex matrix, shapes, holomorphic)
CASES = {
    "inv": (np.linalg.inv, SQUARE, True),
    "cnp inv": (cnp.linalg.inv, SQUARE, True),
    "det": (np.linalg.det, SQUARE, True),
    "solve matrix": (lambda a: np.linalg.solve(a, B), SQUARE, True),
    "solve vector": (lambda a: np.linalg.solve(a, B[:, 0]), [(3, 3)], True),
    "slogdet sign": (lambda a: np.linalg.slogdet(a)[0], SQUARE, False),
    "slogdet logabsdet": (lambda a: np.linalg.slogdet(a).logabsdet, SQUARE, False),
    "eigvalsh": (np.linalg.eigvalsh, SQUARE, False),
    "eigvalsh U": (lambda a: cnp.linalg.eigvalsh(a, UPLO="U"), SQUARE, False),
    "eigh values": (lambda a: np.linalg.eigh(a)[0], SQUARE, False),
    "eigh projector": (lambda a: proj(np.linalg.eigh(a)[1]), SQUARE, False),
    "eigh U projector": (lambda a: proj(np.linalg.eigh(a, "U").eigenvectors), SQUARE, False),
    "eigh abs vectors": (lambda a: np.abs(np.linalg.eigh(herm(a))[1]), SQUARE, False),
    "eigh function": (eigh_function, SQUARE, False),
    "svd values": (
        lambda a: np.linalg.svd(a, compute_uv=False),
        SQUARE + [(4, 2), (2, 2, 4)],
        False,
    ),
    "svdvals": (np.linalg.svdvals, [(2, 4)], False),
    "svd low rank": (svd_lowrank, SQUARE + [(4, 3), (3, 4), (2, 4, 3)], False),
    "svd abs u": (
        lambda a: np.abs(np.linalg.svd(a, full_matrices=False)[0]),
        [(3, 3), (2, 4, 3)],
        False,
    ),
    "svd abs vh": (lambda a: np.abs(np.linalg.svd(a, full_matrices=False).Vh), [(3, 4)], False),
    "svd hermitian values": (lambda a: np.linalg.svd(herm(a), hermitian=True)[1], SQUARE, False),
    "svd hermitian low rank": (
        lambda a: (lambda u, s, vh: (u[..., :1] * s[..., None, :1]) @ vh[..., :1, :])(
            *np.linalg.svd(a, hermitian=True)
        ),
        [(3, 3)],
        False,
    ),
}


def _cases():
    for name, (_, shapes, _) in CASES.items():
        for shape in shapes:
            yield pytest.param(name, shape, id=f"{name}-{shape}")


@pytest.mark.parametrize("name, shape", list(_cases()))
def test_complex_linalg(name, shape):
    f, _, holomorphic = CASES[name]
    a = cmat(*shape)
    out, _ = cr.vjp(f, a)
    with np.errstate(all="ignore"):
        assert_allclose(out, f(a), rtol=1e-12, atol=1e-12)  # plain NumPy
    check_complex(f, a, order=2, rtol=1e-5, atol=1e-6)
    if holomorphic and len(shape) == 2:
        jr = cr.jacrev(f, holomorphic=True)(a)
        assert_allclose(jr, cr.jacfwd(f, holomorphic=True)(a), rtol=1e-10, atol=1e-10)
        # the complex derivative: f(a + h e) - f(a - h e) / 2h for real h
        e = np.zeros(shape)
        e[1, 2] = 1e-6
        d = (f(a + e) - f(a - e)) / 2e-6
        assert_allclose(jr[..., 1, 2], d, rtol=1e-6, atol=1e-7)


def test_numpy_values_and_dtypes():
    a = cmat(2, 3, 3)
    seen = {}

    def f(a):
        seen["eigh"], seen["svd"] = np.linalg.eigh(a), np.linalg.svd(a)
        seen["slogdet"] = np.linalg.slogdet(a)
        w, s, lad = seen["eigh"][0], seen["svd"][1], seen["slogdet"][1]
        seen["plain"] = [cr.stop_gradient(x) for x in (*seen.pop("eigh"), *seen.pop("svd"))]
        seen["plain"] += [cr.stop_gradient(x) for x in seen.pop("slogdet")]
        return np.sum(w) + np.sum(s) + np.sum(lad)

    cr.grad(f)(a)
    expected = [*np.linalg.eigh(a), *np.linalg.svd(a), *np.linalg.slogdet(a)]
    for got, want in zip(seen["plain"], expected):
        assert got.dtype == want.dtype and got.shape == want.shape
        assert_allclose(got, want, rtol=1e-13, atol=1e-13)
    assert np.array_equal(seen["plain"][-2], expected[-2])  # NumPy's sign, exactly


# --- mixed real and complex arguments ------------------------------------------------------
@pytest.mark.parametrize("kinds", ["rc", "cr", "cc"])
@pytest.mark.parametrize("bshape", [(3,), (3, 2), (2, 3, 2)])
def test_solve_mixed(kinds, bshape):
    a = cmat(3, 3) if kinds[0] == "c" else rmat(3, 3)
    b = cmat(*bshape) if kinds[1] == "c" else rmat(*bshape)
    check_complex(lambda a: np.linalg.solve(a, b), a, order=2)
    check_complex(lambda b: np.linalg.solve(a, b), b, order=2)
    ga, gb = cr.grad(lambda a, b: np.sum(np.abs(np.linalg.solve(a, b)) ** 2), argnums=(0, 1))(a, b)
    assert ga.dtype == a.dtype and gb.dtype == b.dtype


def test_real_input_through_complex_linalg():
    """Real parameters building complex matrices: real gradients, finite
    differences, Hessians both ways."""
    x = RNG.standard_normal(12)

    def build(x):
        return np.reshape(x[:9], (3, 3)) * (1 + 0.5j) + np.diag(x[9:]) * 1j + 3 * np.eye(3)

    fs = [
        lambda x: np.linalg.slogdet(build(x))[1],
        lambda x: np.real(np.linalg.slogdet(build(x))[0] * (1 + 2j)),
        lambda x: np.abs(np.linalg.det(build(x))),
        lambda x: np.sum(np.abs(np.linalg.eigvalsh(build(x)))),
        lambda x: np.real(np.trace(proj(np.linalg.eigh(build(x))[1]) @ build(x))),
        lambda x: np.sum(np.linalg.svd(build(x), compute_uv=False) ** 3),
        lambda x: np.sum(np.abs(svd_lowrank(build(x))) ** 2),
        lambda x: np.real(np.sum(np.linalg.inv(build(x)) * (1 - 1j))),
        lambda x: np.linalg.norm(build(x), 2),
    ]
    for f in fs:
        g = cr.grad(f)(x)
        assert g.dtype == np.float64
        cr.check_grads(f, (x,), order=2)
        h = cr.hessian(f)(x)
        assert_allclose(h, cr.jacrev(cr.jacrev(f))(x), rtol=1e-8, atol=1e-8)
        assert_allclose(h, h.T, rtol=1e-8, atol=1e-8)


def test_jacrev_equals_jacfwd_through_a_real_parametrisation():
    """jacfwd needs holomorphic=True for complex inputs, so compare the modes on
    z = x + i y with real x, y (batched rules in both modes)."""
    xy = RNG.standard_normal((2, 2, 3, 3))
    fs = [
        lambda z: np.linalg.eigvalsh(z),
        lambda z: proj(np.linalg.eigh(z)[1]),
        lambda z: svd_lowrank(z[..., :2, :]),
        lambda z: np.abs(np.linalg.svd(z)[0]),
        lambda z: np.linalg.slogdet(z + 3 * np.eye(3))[0],
        lambda z: np.linalg.inv(z + 3 * np.eye(3)),
        lambda z: np.linalg.norm(z, "nuc", axis=(-2, -1)),
    ]
    for f in fs:

        def g(xy, f=f):
            r = f(xy[0] + 1j * xy[1])
            return cnp.stack([np.real(r), np.imag(r)])

        jr, jf = cr.jacrev(g)(xy), cr.jacfwd(g)(xy)
        assert_allclose(jr, jf, rtol=1e-9, atol=1e-9)


# --- gradients of real functions: df/dx - i df/dy --------------------------------------------
REAL_FUNCTIONS = {
    "log|det|": lambda a: np.linalg.slogdet(a)[1],
    "|det|^2": lambda a: np.abs(np.linalg.det(a)) ** 2,
    "angle det": lambda a: np.angle(np.linalg.slogdet(a)[0]),
    "sum |eigvalsh|": lambda a: np.sum(np.abs(np.linalg.eigvalsh(a - 3 * np.eye(3)))),
    "max eigvalsh": lambda a: np.linalg.eigh(a, UPLO="U")[0][-1],
    "nuclear": lambda a: np.sum(np.linalg.svd(a, compute_uv=False)),
    "|inv|^2": lambda a: np.sum(np.abs(np.linalg.inv(a)) ** 2),
    "eigenvector moduli": lambda a: np.sum(np.abs(np.linalg.eigh(a)[1][0]) ** 3),
}


@pytest.mark.parametrize("name", REAL_FUNCTIONS)
def test_grad_of_real_functions(name):
    f = REAL_FUNCTIONS[name]
    a = cmat(3, 3)
    g = cr.grad(f)(a)
    assert g.dtype == np.complex128
    assert_allclose(g, fd_grad(f, a), rtol=1e-6, atol=1e-7)


def test_closed_forms():
    a = cmat(3, 3)
    # grad log|det A| = conj of the usual gradient A^-H, i.e. A^-T
    assert_allclose(cr.grad(lambda a: np.linalg.slogdet(a)[1])(a), np.linalg.inv(a).T)
    assert_allclose(
        cr.grad(np.linalg.det, holomorphic=True)(a), np.linalg.det(a) * np.linalg.inv(a).T
    )
    # the largest singular value: grad = conj(u_1) v_1^T, with v_1 = conj(vh[0])
    u, s, vh = np.linalg.svd(a)
    assert_allclose(cr.grad(lambda a: np.linalg.norm(a, 2))(a), np.conj(np.outer(u[:, 0], vh[0])))
    # eigenvalues of a Hermitian matrix read from the lower triangle, real diagonal
    h = herm(a)
    w, v = np.linalg.eigh(h)
    g = cr.grad(lambda a: np.linalg.eigvalsh(a)[0])(h)
    k = np.outer(np.conj(v[:, 0]), v[:, 0])  # the gradient of w_0 w.r.t. a full Hermitian h
    expected = np.tril(k + k.conj().T, -1) + np.diag(np.real(np.diag(k)))
    assert_allclose(g, expected, atol=1e-12)
    # d sign = i Im(tr(A^-1 dA)) sign
    t = cmat(3, 3)
    sign, dsign = cr.jvp(lambda a: np.linalg.slogdet(a)[0], (a,), (t,))
    assert_allclose(dsign, 1j * np.imag(np.trace(np.linalg.solve(a, t))) * sign)


# --- norms -----------------------------------------------------------------------------------
VECTOR_ORDS = [None, 1, 2, 3, 0.5, -1, np.inf, -np.inf]
MATRIX_ORDS = [None, "fro", "nuc", 1, -1, 2, -2, np.inf, -np.inf]


@pytest.mark.parametrize("ord", VECTOR_ORDS, ids=str)
@pytest.mark.parametrize("axis, keepdims", [(None, False), (-1, True), (0, False)])
def test_vector_norm(ord, axis, keepdims):
    z = cmat(3, 4) if axis is not None else cmat(4)
    f = lambda z: np.linalg.norm(z, ord, axis, keepdims)  # noqa: E731
    out, _ = cr.vjp(f, z)
    assert_allclose(out, f(z))
    check_complex(f, z, order=2)
    s = lambda z: np.sum(f(z))  # noqa: E731
    assert_allclose(cr.grad(s)(z), fd_grad(s, z), rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("ord", MATRIX_ORDS, ids=str)
@pytest.mark.parametrize("shape, axis", [((3, 3), None), ((2, 4, 3), (2, 1)), ((2, 3), (0, 1))])
def test_matrix_norm(ord, shape, axis):
    z = cmat(*shape)
    f = lambda z: np.linalg.norm(z, ord, axis)  # noqa: E731
    out, _ = cr.vjp(f, z)
    assert_allclose(out, f(z))
    check_complex(f, z, order=2)
    s = lambda z: np.sum(f(z))  # noqa: E731
    assert_allclose(cr.grad(s)(z), fd_grad(s, z), rtol=1e-6, atol=1e-7)


def test_array_api_norms_and_zero_ord():
    z = cmat(2, 3, 3)
    check_complex(lambda z: np.linalg.matrix_norm(z, ord="nuc", keepdims=True), z, order=2)
    check_complex(lambda z: np.linalg.vector_norm(z, axis=(0, 2), ord=3), z, order=2)
    check_complex(lambda z: cnp.linalg.norm(z, 2, axis=(-2, -1)), z, order=2)
    assert_allclose(cr.grad(lambda z: np.linalg.norm(z[0, 0], 0))(z), 0.0)
    assert_allclose(cr.grad(lambda z: np.linalg.norm(z))(np.zeros((2, 2), complex)), 0.0)


# --- the phase of complex eigen-/singular vectors --------------------------------------------
@pytest.mark.parametrize(
    "f",
    [
        lambda a: np.linalg.eigh(a)[1],
        lambda a: np.real(np.linalg.eigh(a)[1][1, 0]),
        lambda a: np.linalg.svd(a)[0],
        lambda a: np.real(np.sum(np.linalg.svd(a)[2])),
    ],
)
def test_phase_dependent_uses_refuse_in_reverse_mode(f):
    a = cmat(3, 3)
    out, vjp_fn = cr.vjp(f, a)
    with pytest.raises(NotImplementedError, match="phases"):
        vjp_fn(np.ones_like(out))


def test_forward_mode_phase_convention():
    """Forward mode follows JAX's convention: v_k^H dv_k = 0 for eigh; for svd
    the same for V, the relative phase of (u_k, v_k) carried by u_k."""
    a, t = cmat(2, 3, 3), cmat(2, 3, 3)
    (w, v), (dw, dv) = cr.jvp(np.linalg.eigh, (a,), (t,))
    assert_allclose(np.einsum("...ik,...ik->...k", v.conj(), dv), 0, atol=1e-12)
    (u, s, vh), (du, ds, dvh) = cr.jvp(lambda a: np.linalg.svd(a), (a,), (t,))
    assert_allclose(np.einsum("...ki,...ki->...k", vh, dvh.conj()), 0, atol=1e-12)
    assert np.all(np.abs(np.einsum("...ik,...ik->...k", u.conj(), du).real) < 1e-12)


def test_repeated_eigenvalues_still_refuse():
    a = np.diag([1.0, 1.0, 2.0]).astype(complex)
    with pytest.raises(NotImplementedError, match="repeated"):
        cr.grad(lambda a: np.sum(np.abs(np.linalg.eigh(a)[1])))(a)
    g = cr.grad(lambda a: np.sum(np.linalg.eigvalsh(a)))(a)  # the trace: fine
    assert_allclose(g, np.eye(3))


# --- still refused -----------------------------------------------------------------------------
@pytest.mark.parametrize(
    "f",
    [
        np.linalg.cholesky,
        lambda a: np.linalg.qr(a)[1],
        lambda a: np.linalg.lstsq(a, np.ones(3))[0],
    ],
)
def test_unconverted_functions_refuse_complex(f):
    a = cmat(3, 3)
    a = a @ a.conj().T
    with pytest.raises(NotImplementedError, match="complex"):
        cr.grad(lambda a: np.abs(np.sum(f(a))))(a)
