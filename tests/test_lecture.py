"""The examples of the lecture (seed/lecture-multivariate-calculus-II.md) as tests.

Every derivative is compared with the closed form the lecture derives, or one
derived by hand here, at several points; forward and reverse mode must agree.
"""

import numpy as np
import pytest
from numpy.testing import assert_allclose

import chainrule as cr
import chainrule.numpy as cnp

POINTS = [(3.0, 2.0), (0.0, 0.0), (-1.5, 0.25), (1e-3, -7.0), (2.0, -2.0)]


def jac_closed_form(x1, x2):
    """The lecture's J_f(x1, x2) = [[2 x1, 1], [x2, x1]]."""
    return np.array([[2.0 * x1, 1.0], [x2, x1]])


# ---------------------------------------------------------------------------
# Section 1: the Jacobian of f(x1, x2) = [x1^2 + x2, x1 x2]
# ---------------------------------------------------------------------------
def f_cnp_stack(x):
    return cnp.stack([x[0] ** 2 + x[1], x[0] * x[1]])


def f_cnp_array(x):
    return cnp.array([x[0] ** 2 + x[1], x[0] * x[1]])


def f_np_stack(x):
    # plain NumPy: np.stack reaches chainrule through __array_function__
    return np.stack([x[0] ** 2 + x[1], x[0] * x[1]])


def f_np_unpacked(x):
    x1, x2 = x  # iteration over a traced vector
    return np.stack([np.square(x1) + x2, np.multiply(x1, x2)])


def f_no_stack(x):
    # no stacking at all: basis vectors times the components
    e1, e2 = np.array([1.0, 0.0]), np.array([0.0, 1.0])
    return e1 * (x[0] ** 2 + x[1]) + e2 * (x[0] * x[1])


def f_slices(x):
    # advanced/fancy indexing and slicing instead of scalar indexing
    first = x[[0]] ** 2 + x[1:]
    second = x[:1] * x[-1:]
    return cnp.stack([first[0], second[0]])


LECTURE_FS = [f_cnp_stack, f_cnp_array, f_np_stack, f_np_unpacked, f_no_stack, f_slices]


@pytest.mark.parametrize("f", LECTURE_FS, ids=lambda f: f.__name__)
@pytest.mark.parametrize("point", POINTS)
@pytest.mark.parametrize("jac", [cr.jacrev, cr.jacfwd, cr.jacobian], ids=["rev", "fwd", "jacobian"])
def test_lecture_jacobian(f, point, jac):
    x = np.array(point)
    J = jac(f)(x)
    assert J.shape == (2, 2)
    assert_allclose(J, jac_closed_form(*point), rtol=1e-12, atol=1e-12)
    # the function value itself is untouched by tracing
    assert_allclose(f(x), [point[0] ** 2 + point[1], point[0] * point[1]])


@pytest.mark.parametrize("point", POINTS)
@pytest.mark.parametrize("jac", [cr.jacrev, cr.jacfwd], ids=["rev", "fwd"])
def test_lecture_jacobian_two_scalar_arguments(point, jac):
    """f written as a function of two scalars x1, x2: argnums=(0, 1) gives the
    two columns of the Jacobian."""
    f = lambda x1, x2: cnp.stack([x1**2 + x2, x1 * x2])
    col1, col2 = jac(f, argnums=(0, 1))(*point)
    J = jac_closed_form(*point)
    assert_allclose(col1, J[:, 0], rtol=1e-12, atol=1e-12)
    assert_allclose(col2, J[:, 1], rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("point", POINTS)
def test_lecture_jacobian_rows_are_gradients(point):
    """'The Jacobian stacks the gradient transposes as rows.'"""
    x = np.array(point)
    rows = [cr.grad(lambda x, i=i: f_np_stack(x)[i])(x) for i in range(2)]
    assert_allclose(np.stack(rows), jac_closed_form(*point), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("point", POINTS)
def test_lecture_jacobian_is_best_linear_approximation(point):
    """f(x0 + h) = f(x0) + J h + o(|h|): the remainder shrinks faster than |h|."""
    x0 = np.array(point)
    J = cr.jacrev(f_np_stack)(x0)
    direction = np.array([0.6, -0.8])
    ratios = []
    for scale in (1e-1, 1e-2, 1e-3):
        h = scale * direction
        remainder = f_np_stack(x0 + h) - f_np_stack(x0) - J @ h
        ratios.append(np.linalg.norm(remainder) / np.linalg.norm(h))
    # for this quadratic f the remainder is exactly [h1^2, h1 h2]: ratio ~ |h|
    assert ratios[0] > ratios[1] > ratios[2]
    assert ratios[2] < 2e-3


@pytest.mark.parametrize("point", POINTS)
def test_lecture_jvp_and_vjp_are_products_with_the_jacobian(point):
    x = np.array(point)
    J = jac_closed_form(*point)
    v = np.array([0.3, -1.7])
    u = np.array([2.0, 0.5])
    out, tangent = cr.jvp(f_cnp_stack, (x,), (v,))
    assert_allclose(out, [point[0] ** 2 + point[1], point[0] * point[1]])
    assert_allclose(tangent, J @ v, rtol=1e-12, atol=1e-12)
    out2, vjp_fn = cr.vjp(f_cnp_stack, x)
    assert_allclose(out2, out)
    (cotangent,) = vjp_fn(u)
    assert_allclose(cotangent, u @ J, rtol=1e-12, atol=1e-12)


# ---------------------------------------------------------------------------
# Section 2.1: least squares, grad (1/N)||X theta - Y||^2 = (2/N) X^T (X theta - Y)
# ---------------------------------------------------------------------------
def _data(seed, N=7, D=3):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(N, D)), rng.normal(size=N), rng.normal(size=D)


def risk_mean(theta, X, Y):
    return np.mean((X @ theta - Y) ** 2)


def risk_dot(theta, X, Y):
    z = X @ theta - Y  # f: residual
    s = z @ z  # g: sum of squares
    return s / len(Y)  # h: scaling by 1/N


def risk_sum_sq(theta, X, Y):
    z = X @ theta - Y
    return np.sum(z**2) / X.shape[0]


def risk_cnp(theta, X, Y):
    z = cnp.matmul(X, theta) - Y
    return cnp.sum(cnp.square(z)) / len(Y)


def risk_dot_method(theta, X, Y):
    z = np.dot(X, theta) - Y  # (X.dot(theta) is an ndarray method NumPy never dispatches)
    return z.dot(z) / len(Y)


RISKS = [risk_mean, risk_dot, risk_sum_sq, risk_cnp, risk_dot_method]


def risk_grad_closed_form(theta, X, Y):
    return 2.0 / len(Y) * X.T @ (X @ theta - Y)


@pytest.mark.parametrize("risk", RISKS, ids=lambda f: f.__name__)
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_least_squares_gradient(risk, seed):
    X, Y, theta = _data(seed)
    expected = risk_grad_closed_form(theta, X, Y)
    g = cr.grad(risk)(theta, X, Y)
    assert g.shape == theta.shape
    assert_allclose(g, expected, rtol=1e-12, atol=1e-12)
    value, g2 = cr.value_and_grad(risk)(theta, X, Y)
    assert_allclose(value, np.sum((X @ theta - Y) ** 2) / len(Y), rtol=1e-12)
    assert_allclose(g2, expected, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("risk", RISKS, ids=lambda f: f.__name__)
def test_least_squares_gradient_forward_mode(risk):
    X, Y, theta = _data(3, N=5, D=4)
    expected = risk_grad_closed_form(theta, X, Y)
    assert_allclose(cr.jacfwd(risk)(theta, X, Y), expected, rtol=1e-12, atol=1e-12)
    for k in range(4):
        e = np.zeros(4)
        e[k] = 1.0
        _, dk = cr.jvp(lambda t: risk(t, X, Y), (theta,), (e,))
        assert_allclose(dk, expected[k], rtol=1e-12, atol=1e-12)


def test_least_squares_gradient_wrt_data():
    """d/dX (1/N)||X theta - Y||^2 = (2/N) (X theta - Y) theta^T and
    d/dY = -(2/N) (X theta - Y)."""
    X, Y, theta = _data(4)
    z = X @ theta - Y
    gX, gY = cr.grad(risk_dot, argnums=(1, 2))(theta, X, Y)
    assert_allclose(gX, 2.0 / len(Y) * np.outer(z, theta), rtol=1e-12, atol=1e-12)
    assert_allclose(gY, -2.0 / len(Y) * z, rtol=1e-12, atol=1e-12)


def test_least_squares_gradient_vanishes_at_normal_equations_solution():
    """At theta_hat = (X^T X)^{-1} X^T Y the gradient is zero."""
    X, Y, _ = _data(5, N=20, D=3)
    theta_hat = np.linalg.solve(X.T @ X, X.T @ Y)
    assert_allclose(cr.grad(risk_mean)(theta_hat, X, Y), np.zeros(3), atol=1e-12)


def test_least_squares_backprop_by_chaining_vjps():
    """The lecture's backward pass: J_h(s) J_g(z) J_f(theta), one VJP at a time."""
    X, Y, theta = _data(6)
    N = len(Y)
    f = lambda t: X @ t - Y
    g = lambda z: z @ z
    h = lambda s: s / N
    z, f_vjp = cr.vjp(f, theta)
    s, g_vjp = cr.vjp(g, z)
    r, h_vjp = cr.vjp(h, s)
    assert_allclose(r, np.sum((X @ theta - Y) ** 2) / N)
    (ct_s,) = h_vjp(1.0)  # J_h = 1/N
    assert_allclose(ct_s, 1.0 / N)
    (ct_z,) = g_vjp(ct_s)  # (1/N) 2 z^T
    assert_allclose(ct_z, 2.0 / N * z, rtol=1e-12)
    (ct_theta,) = f_vjp(ct_z)  # (2/N) z^T X
    assert_allclose(ct_theta, risk_grad_closed_form(theta, X, Y), rtol=1e-12, atol=1e-12)
    # the pieces' Jacobians are the ones the lecture lists
    assert_allclose(cr.jacrev(f)(theta), X, rtol=1e-12)
    assert_allclose(cr.grad(g)(z), 2.0 * z, rtol=1e-12)
    assert_allclose(cr.grad(h)(s), 1.0 / N, rtol=1e-12)


def test_least_squares_gradient_descent_converges():
    """Use the gradient as the lecture intends: gradient descent reaches the
    closed-form least-squares solution."""
    X, Y, _ = _data(7, N=30, D=3)
    theta_hat = np.linalg.solve(X.T @ X, X.T @ Y)
    theta = np.zeros(3)
    step = 0.5 / np.linalg.eigvalsh(2.0 / len(Y) * X.T @ X).max()
    for _ in range(400):
        theta = theta - step * cr.grad(risk_mean)(theta, X, Y)
    assert_allclose(theta, theta_hat, rtol=1e-6, atol=1e-8)


# ---------------------------------------------------------------------------
# Theorem 1: J_{g o f}(x) = J_g(f(x)) J_f(x)
# ---------------------------------------------------------------------------
def f_R3_R4(x):
    return cnp.stack([np.sin(x[0]) * x[1], x[1] * x[2], np.exp(x[2]), x[0] ** 2])


def Jf_closed(x):
    x0, x1, x2 = x
    return np.array(
        [
            [np.cos(x0) * x1, np.sin(x0), 0.0],
            [0.0, x2, x1],
            [0.0, 0.0, np.exp(x2)],
            [2 * x0, 0.0, 0.0],
        ]
    )


def g_R4_R2(y):
    return cnp.stack([y[0] * y[1] + y[2], np.tanh(y[3]) * y[0]])


def Jg_closed(y):
    y0, y1, y2, y3 = y
    t = np.tanh(y3)
    return np.array([[y1, y0, 1.0, 0.0], [t, 0.0, 0.0, (1 - t**2) * y0]])


CHAIN_POINTS = [np.array([0.3, -1.2, 0.7]), np.array([1.0, 2.0, -0.5]), np.zeros(3)]


@pytest.mark.parametrize("x", CHAIN_POINTS)
@pytest.mark.parametrize("jac", [cr.jacrev, cr.jacfwd], ids=["rev", "fwd"])
def test_chain_rule(x, jac):
    Jf = jac(f_R3_R4)(x)
    Jg = jac(g_R4_R2)(f_R3_R4(x))
    assert Jf.shape == (4, 3) and Jg.shape == (2, 4)
    assert_allclose(Jf, Jf_closed(x), rtol=1e-12, atol=1e-12)
    assert_allclose(Jg, Jg_closed(f_R3_R4(x)), rtol=1e-12, atol=1e-12)
    Jh = jac(lambda x: g_R4_R2(f_R3_R4(x)))(x)
    assert Jh.shape == (2, 3)
    assert_allclose(Jh, Jg_closed(f_R3_R4(x)) @ Jf_closed(x), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("x", CHAIN_POINTS)
def test_chain_rule_against_finite_differences(x):
    h = lambda x: g_R4_R2(f_R3_R4(x))
    eps = 1e-6
    fd = np.stack([(h(x + eps * e) - h(x - eps * e)) / (2 * eps) for e in np.eye(3)], axis=1)
    assert_allclose(cr.jacrev(h)(x), fd, rtol=1e-6, atol=1e-8)


# ---------------------------------------------------------------------------
# Fan-out: a node used several times sums its contributions
# ---------------------------------------------------------------------------
def fan(x):
    return x * x + np.sin(x) * x


def fan_prime(x):
    return 2 * x + np.cos(x) * x + np.sin(x)


@pytest.mark.parametrize("x0", [0.0, 0.5, -2.0, 3.0])
def test_fan_out_scalar(x0):
    expected = fan_prime(x0)
    assert_allclose(cr.grad(fan)(x0), expected, rtol=1e-12, atol=1e-14)
    assert_allclose(cr.jvp(fan, (x0,), (1.0,))[1], expected, rtol=1e-12, atol=1e-14)
    assert_allclose(cr.jacfwd(fan)(x0), expected, rtol=1e-12, atol=1e-14)
    assert_allclose(cr.jacrev(fan)(x0), expected, rtol=1e-12, atol=1e-14)


def test_fan_out_vector_diagonal_jacobian():
    x = np.array([0.0, 0.5, -2.0, 3.0])
    for jac in (cr.jacrev, cr.jacfwd):
        assert_allclose(jac(fan)(x), np.diag(fan_prime(x)), rtol=1e-12, atol=1e-14)
    assert_allclose(cr.grad(lambda x: np.sum(fan(x)))(x), fan_prime(x), rtol=1e-12)


def test_fan_out_many_uses():
    """x used ten times: d/dx sum_k x^k/k! ... written as repeated products."""

    def f(x):
        acc, term = 0.0, 1.0
        for k in range(1, 11):
            term = term * x / k
            acc = acc + term
        return acc

    x0 = 0.8
    expected = sum(x0 ** (k - 1) / np.prod(np.arange(1, k)) for k in range(1, 11))
    assert_allclose(cr.grad(f)(x0), expected, rtol=1e-12)
    assert_allclose(cr.jvp(f, (x0,), (1.0,))[1], expected, rtol=1e-12)


# ---------------------------------------------------------------------------
# Forward and reverse mode agree
# ---------------------------------------------------------------------------
RNG = np.random.default_rng(42)
A = RNG.normal(size=(5, 3))

FWD_REV_CASES = {
    "lecture": (f_np_stack, np.array([1.3, -0.4])),
    "R3->R4": (f_R3_R4, np.array([0.2, 0.9, -1.1])),
    "composite": (lambda x: g_R4_R2(f_R3_R4(x)), np.array([0.2, 0.9, -1.1])),
    "layer": (lambda x: np.tanh(A @ x) * np.exp(-np.sum(x**2)), RNG.normal(size=3)),
    "reductions": (
        lambda x: cnp.stack([np.max(x), np.mean(x), np.prod(x), np.sum(np.sqrt(x * x + 1))]),
        np.array([0.5, 2.0, -1.0]),
    ),
    "matrix": (lambda M: np.log(1 + (M @ M.T) ** 2), RNG.normal(size=(3, 2))),
    "broadcast": (lambda x: x[:, None] * np.cos(x)[None, :] / (1 + x**2), RNG.normal(size=4)),
}


@pytest.mark.parametrize("name", list(FWD_REV_CASES))
def test_forward_and_reverse_agree(name):
    f, x = FWD_REV_CASES[name]
    Jr = cr.jacrev(f)(x)
    Jf = cr.jacfwd(f)(x)
    out_shape = np.shape(f(x))
    assert Jr.shape == out_shape + x.shape
    assert_allclose(Jr, Jf, rtol=1e-12, atol=1e-12)
    # and both agree with central finite differences
    eps = 1e-6
    flat = np.zeros(x.size)
    cols = []
    for k in range(x.size):
        flat[:] = 0.0
        flat[k] = eps
        d = flat.reshape(x.shape)
        cols.append((f(x + d) - f(x - d)) / (2 * eps))
    fd = np.moveaxis(np.array(cols), 0, -1).reshape(out_shape + x.shape)
    assert_allclose(Jr, fd, rtol=1e-5, atol=1e-7)
    # single products agree with the Jacobian too
    v = RNG.normal(size=x.shape)
    u = RNG.normal(size=out_shape)
    J2 = Jr.reshape(int(np.prod(out_shape)), x.size)
    assert_allclose(cr.jvp(f, (x,), (v,))[1].ravel(), J2 @ v.ravel(), rtol=1e-10, atol=1e-12)
    assert_allclose(cr.vjp(f, x)[1](u)[0].ravel(), u.ravel() @ J2, rtol=1e-10, atol=1e-12)
