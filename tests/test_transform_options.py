"""The transforms' options and additions of issues #14 and #15: ``hessian(has_aux,
holomorphic)``, ``linearize(has_aux)``, ``cr.optim.hessp``, size-1 outputs for
``grad``, ``elementwise_grad`` and ``cr.tree.ravel``."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import fd_jacobian

import chainrule as cr

X = np.array([0.3, -1.2, 2.0])
EPS = 1e-6


def central_jac(f, x, eps=EPS):
    x = np.asarray(x, dtype=float)
    cols = []
    for i in range(x.size):
        e = np.zeros_like(x)
        e.flat[i] = eps
        cols.append((np.asarray(f(x + e)) - np.asarray(f(x - e))).ravel() / (2 * eps))
    return np.stack(cols, axis=-1)


# ---------------------------------------------------------------------------
# hessian(fun, argnums, has_aux, holomorphic)
# ---------------------------------------------------------------------------
def cubic(x):
    return np.sum(x**3) + x[0] * x[1]


def cubic_hessian(x):
    H = np.diag(6 * x)
    H[0, 1] = H[1, 0] = 1.0
    return H


def test_hessian_has_aux_returns_the_hessian_and_plain_aux():
    H, aux = cr.hessian(lambda x: (cubic(x), {"x2": x**2, "n": 3}), has_aux=True)(X)
    np.testing.assert_allclose(H, cubic_hessian(X), rtol=1e-12)
    assert type(aux["x2"]) is np.ndarray  # no tracer escapes
    np.testing.assert_allclose(aux["x2"], X**2, rtol=1e-12)
    assert aux["n"] == 3
    np.testing.assert_allclose(H, central_jac(cr.grad(cubic), X), rtol=1e-6, atol=1e-6)


def test_hessian_has_aux_with_argnums_tuple():
    f = lambda x, y: (x**2 * y**3, "note")
    H, aux = cr.hessian(f, argnums=(0, 1), has_aux=True)(2.0, 3.0)
    assert aux == "note"
    x, y = 2.0, 3.0
    expected = [[2 * y**3, 6 * x * y**2], [6 * x * y**2, 6 * x**2 * y]]
    np.testing.assert_allclose(np.array(H, dtype=float), expected, rtol=1e-12)


def test_hessian_has_aux_needs_a_pair():
    with pytest.raises(TypeError, match=r"has_aux=True.*pair"):
        cr.hessian(cubic, has_aux=True)(X)


def test_hessian_holomorphic():
    z = np.array([1.0 + 2.0j, -0.5 + 0.3j])
    f = lambda z: np.sum(z**3) + z[0] * z[1]
    H = cr.hessian(f, holomorphic=True)(z)
    expected = np.diag(6 * z)
    expected[0, 1] = expected[1, 0] = 1.0
    np.testing.assert_allclose(H, expected, rtol=1e-12)
    # Complex central differences of the holomorphic gradient along the real axis.
    g = cr.grad(f, holomorphic=True)
    fd = np.stack(
        [(g(z + EPS * e) - g(z - EPS * e)) / (2 * EPS) for e in np.eye(2)],
        axis=-1,
    )
    np.testing.assert_allclose(H, fd, rtol=1e-6, atol=1e-6)


def test_hessian_holomorphic_needs_complex_inputs():
    with pytest.raises(TypeError, match=r"holomorphic=True.*complex"):
        cr.hessian(lambda z: z**3, holomorphic=True)(2.0)


# ---------------------------------------------------------------------------
# linearize(fun, *primals, has_aux)
# ---------------------------------------------------------------------------
def test_linearize_has_aux():
    f = lambda x: (np.sin(x) * x[0], {"norm": np.sum(x**2)})
    out, f_jvp, aux = cr.linearize(f, X, has_aux=True)
    np.testing.assert_allclose(out, np.sin(X) * X[0], rtol=1e-12)
    assert type(aux["norm"]) is np.float64 and np.isclose(aux["norm"], np.sum(X**2))
    t = np.array([1.0, 0.5, -2.0])
    _, expected, _ = cr.jvp(f, (X,), (t,), has_aux=True)
    np.testing.assert_allclose(f_jvp(t), expected, rtol=1e-12)
    fd = central_jac(lambda x: f(x)[0], X) @ t
    np.testing.assert_allclose(f_jvp(t), fd, rtol=1e-6, atol=1e-8)


def test_linearize_without_aux_still_returns_a_pair():
    result = cr.linearize(np.sin, 0.5)
    assert len(result) == 2
    assert np.isclose(result[1](2.0), 2 * np.cos(0.5))


def test_linearize_has_aux_needs_a_pair():
    with pytest.raises(TypeError, match=r"has_aux=True.*pair"):
        cr.linearize(np.sin, X, has_aux=True)


# ---------------------------------------------------------------------------
# cr.optim.hessp for scipy.optimize.minimize
# ---------------------------------------------------------------------------
def rosen(x, a=1.0, b=100.0):
    return np.sum(b * (x[1:] - x[:-1] ** 2) ** 2 + (a - x[:-1]) ** 2)


def test_hessp_matches_scipys_rosenbrock_hessian():
    optimize = pytest.importorskip("scipy.optimize")
    rng = np.random.default_rng(0)
    x, p = rng.normal(size=5), rng.normal(size=5)
    hp = cr.optim.hessp(rosen)(x, p)
    assert type(hp) is np.ndarray and hp.dtype == np.float64
    np.testing.assert_allclose(hp, optimize.rosen_hess(x) @ p, rtol=1e-12)
    np.testing.assert_allclose(hp, optimize.rosen_hess_prod(x, p), rtol=1e-12)


def test_hessp_passes_scipys_args():
    f = lambda x, a, b: a * np.sum(x**4) + b * x[0] * x[1]
    x, p = np.array([1.0, 2.0]), np.array([0.5, -1.0])
    H = np.diag(12 * 3.0 * x**2) + np.array([[0.0, 2.0], [2.0, 0.0]])
    np.testing.assert_allclose(cr.optim.hessp(f)(x, p, 3.0, 2.0), H @ p, rtol=1e-12)
    # against finite differences of the gradient along p
    g = cr.grad(f)
    fd = (g(x + EPS * p, 3.0, 2.0) - g(x - EPS * p, 3.0, 2.0)) / (2 * EPS)
    np.testing.assert_allclose(cr.optim.hessp(f)(x, p, 3.0, 2.0), fd, rtol=1e-6)


@pytest.mark.parametrize("method", ["trust-ncg", "Newton-CG", "trust-krylov"])
def test_hessp_drives_scipy_minimize(method):
    optimize = pytest.importorskip("scipy.optimize")
    x0 = np.array([-1.2, 1.0, -0.5, 0.8])
    res = optimize.minimize(
        rosen,
        x0,
        args=(1.0, 100.0),
        method=method,
        jac=cr.grad(rosen),
        hessp=cr.optim.hessp(rosen),
        tol=1e-10,
        options={"maxiter": 500},
    )
    assert res.success, res.message
    np.testing.assert_allclose(res.x, np.ones(4), atol=1e-6)
    assert res.nhev > 0  # the products were used


def test_hessp_never_forms_the_hessian():
    """n = 40000: a dense Hessian would take 12.8 GB; the product is O(n)."""
    n = 40_000
    x, p = np.linspace(-1.0, 1.0, n), np.ones(n)
    hp = cr.optim.hessp(lambda x: np.sum(x**4))(x, p)
    np.testing.assert_allclose(hp, 12 * x**2, rtol=1e-12)


def test_hessp_checks_p():
    with pytest.raises(ValueError, match=r"p has shape \(3,\).*x has shape \(2,\)"):
        cr.optim.hessp(rosen)(np.zeros(2), np.zeros(3))
    with pytest.raises(TypeError, match="objective function"):
        cr.optim.hessp(3.0)


# ---------------------------------------------------------------------------
# grad of size-1 outputs
# ---------------------------------------------------------------------------
SIZE_ONE = {
    "(1,)": lambda x: np.sum(np.sin(x) * x, keepdims=True),
    "(1, 1)": lambda x: (np.sin(x) * x).sum().reshape(1, 1),
    "(1, 1, 1)": lambda x: np.reshape(x @ np.sin(x), (1, 1, 1)),
    "x[:1] ** 3": lambda x: x[:1] ** 3,
}


@pytest.mark.parametrize("name", list(SIZE_ONE))
def test_grad_of_a_size_one_output_is_the_gradient_of_its_element(name):
    fun = SIZE_ONE[name]
    scalar = lambda x: fun(x).ravel()[0]
    g = cr.grad(fun)(X)
    np.testing.assert_allclose(g, cr.grad(scalar)(X), rtol=1e-12)
    np.testing.assert_allclose(g, fd_jacobian(lambda x: float(scalar(x)), X), rtol=1e-6)
    # forward mode agrees: the Jacobian's only row
    np.testing.assert_allclose(g, cr.jacfwd(fun)(X).reshape(X.shape), rtol=1e-12)


@pytest.mark.parametrize("name", list(SIZE_ONE))
def test_value_and_grad_returns_the_value_as_the_function_did(name):
    fun = SIZE_ONE[name]
    value, g = cr.value_and_grad(fun)(X)
    assert type(value) is np.ndarray and value.shape == fun(X).shape
    np.testing.assert_allclose(value, fun(X), rtol=1e-12)
    np.testing.assert_allclose(g, cr.grad(fun)(X), rtol=1e-12)
    (value, aux), g2 = cr.value_and_grad(lambda x: (fun(x), "a"), has_aux=True)(X)
    assert value.shape == fun(X).shape and aux == "a"
    np.testing.assert_allclose(g2, g, rtol=1e-12)


def test_size_one_output_second_order():
    f = lambda x: np.sum(x**3, keepdims=True)
    np.testing.assert_allclose(cr.grad(lambda x: cr.grad(f)(x)[0])(X), [6 * X[0], 0, 0])
    hv = cr.jvp(cr.grad(f), (X,), (np.ones(3),))[1]
    np.testing.assert_allclose(hv, 6 * X, rtol=1e-12)
    g = cr.grad(lambda s: s * np.ones((1, 1)))(2.0)  # scalar input, (1, 1) output
    assert type(g) is np.float64 and g == 1.0


@pytest.mark.parametrize("shape", [(2,), (1, 2), (0,), (3, 1)])
def test_larger_outputs_still_raise_the_same_error(shape):
    fun = lambda x: np.sum(x) * np.ones(shape)
    for transform in (cr.grad, cr.value_and_grad):
        with pytest.raises(TypeError) as info:
            transform(fun)(X)
        assert str(info.value) == (
            f"{transform.__name__} needs a scalar output, but the function returned an array "
            f"of shape {shape}. Reduce it to a scalar (e.g. output.sum()) or use cr.jacrev / "
            "cr.vjp to differentiate a vector-valued function."
        )


# ---------------------------------------------------------------------------
# elementwise_grad
# ---------------------------------------------------------------------------
ELEMENTWISE = {
    "sin": (np.sin, np.cos, lambda x: -np.sin(x)),
    "x**3": (lambda x: x**3, lambda x: 3 * x**2, lambda x: 6 * x),
    "tanh": (np.tanh, lambda x: 1 - np.tanh(x) ** 2, lambda x: -2 * np.tanh(x) / np.cosh(x) ** 2),
    "x*exp(x)": (
        lambda x: x * np.exp(x),
        lambda x: (1 + x) * np.exp(x),
        lambda x: (2 + x) * np.exp(x),
    ),
}
MATRIX = np.array([[0.3, -1.2, 2.0], [0.7, 0.1, -0.4]])


@pytest.mark.parametrize("name", list(ELEMENTWISE))
def test_elementwise_grad_closed_forms_and_both_modes(name):
    f, df, d2f = ELEMENTWISE[name]
    g = cr.elementwise_grad(f)(MATRIX)
    assert g.shape == MATRIX.shape
    np.testing.assert_allclose(g, df(MATRIX), rtol=1e-12)
    # central differences, element by element (each output depends on one input)
    fd = (f(MATRIX + EPS) - f(MATRIX - EPS)) / (2 * EPS)
    np.testing.assert_allclose(g, fd, rtol=1e-6, atol=1e-8)
    # forward mode: the JVP with a tangent of ones is the same diagonal
    _, t = cr.jvp(f, (MATRIX,), (np.ones_like(MATRIX),))
    np.testing.assert_allclose(g, t, rtol=1e-12)
    # second order, reverse over reverse and forward over reverse
    np.testing.assert_allclose(
        cr.elementwise_grad(cr.elementwise_grad(f))(MATRIX), d2f(MATRIX), rtol=1e-10
    )
    x = MATRIX[0]
    np.testing.assert_allclose(
        cr.jacfwd(cr.elementwise_grad(f))(x), np.diag(d2f(x)), rtol=1e-10, atol=1e-14
    )
    cr.check_grads(cr.elementwise_grad(f), (x,), order=2)


def test_elementwise_grad_argnums_and_scalars():
    f = lambda x, y: x * np.sin(y)
    gx, gy = cr.elementwise_grad(f, argnums=(0, 1))(X, -X)
    np.testing.assert_allclose(gx, np.sin(-X), rtol=1e-12)
    np.testing.assert_allclose(gy, X * np.cos(-X), rtol=1e-12)
    gy = cr.elementwise_grad(f, argnums=1)(X, -X)
    np.testing.assert_allclose(gy, X * np.cos(-X), rtol=1e-12)
    g = cr.elementwise_grad(np.sin)(0.5)
    assert type(g) is np.float64 and np.isclose(g, np.cos(0.5))


def test_elementwise_grad_of_a_non_elementwise_function_sums_jacobian_rows():
    f = lambda x: np.outer(x, x) + np.cumsum(x)
    np.testing.assert_allclose(
        cr.elementwise_grad(f)(X), cr.jacrev(f)(X).reshape(-1, 3).sum(axis=0), rtol=1e-12
    )


def test_elementwise_grad_refuses_complex_and_integer_outputs():
    with pytest.raises(TypeError, match="real-valued outputs"):
        cr.elementwise_grad(lambda x: x * 1j)(X)
    with pytest.raises(TypeError, match="elementwise_grad expects a function"):
        cr.elementwise_grad(3.0)


def test_elementwise_grad_is_public():
    assert "elementwise_grad" in cr.__all__
    assert cr.elementwise_grad.__doc__ and ">>> " in cr.elementwise_grad.__doc__


# ---------------------------------------------------------------------------
# cr.tree.ravel
# ---------------------------------------------------------------------------
def test_ravel_flattens_mixed_dtypes_to_float64_and_back():
    params = {
        "w": np.arange(6.0, dtype=np.float32).reshape(2, 3),
        "b": 0.5,
        "n": np.array([1, 2]),
        "on": np.array([True]),
    }
    flat, unravel = cr.tree.ravel(params)
    assert flat.dtype == np.float64 and flat.shape == (10,)
    # leaves in tree.leaves order: b, n, on, w
    np.testing.assert_array_equal(flat, [0.5, 1.0, 2.0, 1.0, 0, 1, 2, 3, 4, 5])
    back = unravel(flat)
    assert cr.tree.structure(back) == cr.tree.structure(params)
    for key in params:
        assert back[key].shape == np.shape(params[key])
        np.testing.assert_array_equal(back[key], np.asarray(params[key], dtype=float))
    assert back["b"].dtype == np.float64  # the vector's dtype, as the optimisers use it


def test_ravel_is_the_optimisers_flattening():
    from chainrule.optim.ravel import FlatView

    tree = [np.ones((2, 2)), (3.0, np.zeros(1))]
    flat, unravel = cr.tree.ravel(tree)
    np.testing.assert_array_equal(flat, FlatView(tree).flat)
    assert unravel.__func__ is FlatView.unflatten
    flat[0] = 7.0  # a fresh vector: the tree is untouched
    assert tree[0][0, 0] == 1.0


def test_ravel_errors():
    _, unravel = cr.tree.ravel({"a": np.zeros(2), "b": 1.0})
    with pytest.raises(ValueError, match=r"vector of length 3.*shape \(4,\)"):
        unravel(np.zeros(4))
    with pytest.raises(ValueError, match=r"length 3.*shape \(3, 1\)"):
        unravel(np.zeros((3, 1)))
    with pytest.raises(TypeError, match=r"ravel: leaf 0 has dtype complex128"):
        cr.tree.ravel([np.ones(2, dtype=complex)])
    flat, unravel = cr.tree.ravel({})
    assert flat.shape == (0,) and unravel(flat) == {}
    masked = np.ma.masked_array([1.0, 2.0], mask=[False, True])
    with pytest.raises(TypeError, match=r"ravel: leaf 1 is a masked array.*masks are not"):
        cr.tree.ravel([np.zeros(1), masked])


@pytest.mark.filterwarnings("ignore::PendingDeprecationWarning")
def test_ravel_takes_the_values_of_other_array_likes():
    flat, unravel = cr.tree.ravel([np.matrix([[1.0, 2.0]]), (3, 4.0)])
    np.testing.assert_array_equal(flat, [1.0, 2.0, 3.0, 4.0])
    back = unravel(flat)
    assert type(back[0]) is np.ndarray and back[0].shape == (1, 2)


PARAMS = {"w": np.array([[0.5, -1.0], [2.0, 0.3]]), "b": 0.7}


def loss_of_flat(flat):
    return np.sum(np.sin(flat) * flat**2)


def d_loss_of_flat(flat):
    return np.cos(flat) * flat**2 + 2 * flat * np.sin(flat)


def test_ravel_of_traced_leaves_is_differentiable_in_both_modes():
    f = lambda p: loss_of_flat(cr.tree.ravel(p)[0])
    flat, unravel = cr.tree.ravel(PARAMS)
    expected = unravel(d_loss_of_flat(flat))  # the chain rule through a permutation
    g = cr.grad(f)(PARAMS)
    np.testing.assert_allclose(g["w"], expected["w"], rtol=1e-12)
    np.testing.assert_allclose(g["b"], expected["b"], rtol=1e-12)
    tangent = {"w": np.array([[1.0, 0.0], [-1.0, 2.0]]), "b": 0.5}
    _, t = cr.jvp(f, (PARAMS,), (tangent,))
    np.testing.assert_allclose(t, d_loss_of_flat(flat) @ cr.tree.ravel(tangent)[0], rtol=1e-12)
    cr.check_grads(f, (PARAMS,), order=2)


def test_unravel_of_a_traced_vector_is_differentiable_in_both_modes():
    flat, unravel = cr.tree.ravel(PARAMS)
    f = lambda z: np.sum(unravel(z)["w"] ** 2) * unravel(z)["b"]
    g = cr.grad(f)(flat)
    np.testing.assert_allclose(g, fd_jacobian(f, flat), rtol=1e-6)
    np.testing.assert_allclose(cr.jacfwd(f)(flat), g, rtol=1e-12)
    w, b = PARAMS["w"], PARAMS["b"]
    np.testing.assert_allclose(g, np.concatenate([[np.sum(w**2)], 2 * b * w.ravel()]))
    H = cr.hessian(f)(flat)
    np.testing.assert_allclose(H, central_jac(cr.grad(f), flat), rtol=1e-6, atol=1e-6)
    cr.check_grads(f, (flat,), order=2)
