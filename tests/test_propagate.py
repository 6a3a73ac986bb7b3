"""cr.propagate: first-order covariance propagation J cov J^T."""

import numpy as np
import pytest

import chainrule as cr


def test_linear_function_is_exact_both_modes():
    rng = np.random.default_rng(0)
    A = rng.normal(size=(5, 3))
    b = rng.normal(size=5)
    L = rng.normal(size=(3, 3))
    cov = L @ L.T
    x = rng.normal(size=3)
    y, cov_y = cr.propagate(lambda x: A @ x + b, x, cov)  # 3 -> 5: forward mode
    assert np.allclose(y, A @ x + b, rtol=1e-15)
    assert np.allclose(cov_y, A @ cov @ A.T, rtol=1e-13, atol=1e-14)
    B = A.T  # 5 -> 3: reverse mode
    cov5 = np.eye(5) * 0.3 + 0.1
    _, cov_z = cr.propagate(lambda u: B @ u, np.ones(5), cov5)
    assert np.allclose(cov_z, B @ cov5 @ B.T, rtol=1e-13, atol=1e-14)


def test_monte_carlo_on_a_mildly_nonlinear_function():
    def f(x):
        return np.stack([x[0] * np.exp(0.3 * x[1]), x[0] ** 2 + np.sin(x[1]), np.log(x[0])])

    x0 = np.array([1.5, 0.5])
    cov = np.array([[0.02**2, 0.3 * 0.02 * 0.03], [0.3 * 0.02 * 0.03, 0.03**2]])
    y, cov_y = cr.propagate(f, x0, cov)
    rng = np.random.default_rng(12345)
    n = 100_000
    samples = rng.multivariate_normal(x0, cov, size=n)
    ys = np.stack([f(s) for s in samples[:2000]])  # spot check f vectorised below
    outs = np.stack(
        [
            samples[:, 0] * np.exp(0.3 * samples[:, 1]),
            samples[:, 0] ** 2 + np.sin(samples[:, 1]),
            np.log(samples[:, 0]),
        ],
        axis=1,
    )
    assert np.allclose(ys, outs[:2000], rtol=1e-15)
    dev = outs - outs.mean(axis=0)
    products = dev[:, :, None] * dev[:, None, :]
    mc = products.mean(axis=0)
    standard_error = products.std(axis=0) / np.sqrt(n)
    assert np.all(np.abs(cov_y - mc) < 4 * standard_error)
    # not vacuous: the errors are small against the covariances themselves
    assert np.all(4 * standard_error < 0.05 * np.sqrt(np.outer(np.diag(mc), np.diag(mc))))
    assert np.allclose(y, f(x0))


def test_pytree_input_scalar_output_and_scalar_input():
    x = {"a": np.array([1.0, 2.0]), "b": 3.0}
    # cr.tree.ravel's order: the dict's keys sorted, leaves raveled
    flat, _ = cr.tree.ravel(x)
    assert np.allclose(flat, [1.0, 2.0, 3.0])
    cov = np.diag([0.1, 0.2, 0.3])
    y, var = cr.propagate(lambda p: np.sum(p["a"]) * p["b"], x, cov)
    assert float(y) == 9.0
    assert np.shape(var) == ()
    assert float(var) == pytest.approx(9 * 0.1 + 9 * 0.2 + 9 * 0.3, rel=1e-14)
    y, var = cr.propagate(np.exp, 0.5, 0.04)
    assert float(var) == pytest.approx(np.exp(1.0) * 0.04, rel=1e-14)
    # tuple output: its leaves flattened in order
    _, c = cr.propagate(lambda p: (p * 2.0, p**2), np.array([1.0, 3.0]), np.eye(2))
    J = np.array([[2.0, 0.0], [0.0, 2.0], [2.0, 0.0], [0.0, 6.0]])
    assert np.allclose(c, J @ J.T, rtol=1e-15)


def test_propagate_is_differentiable():
    def var_of(x):
        return cr.propagate(lambda u: u[0] * np.sin(u[1]), x, np.diag([0.1, 0.2]))[1]

    x = np.array([1.2, 0.7])
    cr.check_grads(var_of, (x,), order=2)
    closed = 0.1 * np.sin(x[1]) ** 2 + 0.2 * (x[0] * np.cos(x[1])) ** 2
    assert float(var_of(x)) == pytest.approx(closed, rel=1e-14)


def test_bad_covariance_shape():
    with pytest.raises(ValueError, match=r"cov must be the \(3, 3\) covariance"):
        cr.propagate(np.sin, np.zeros(3), np.eye(2))
    with pytest.raises(ValueError, match=r"\(2, 2\)"):
        cr.propagate(np.sin, np.zeros(2), np.ones(2))
