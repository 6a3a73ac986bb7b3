"""cr.vmap of functions with their own derivative rules (custom_jvp,
custom_vjp) and of the solvers built on them (cr.optim.root): values and
derivatives equal the per-example loop, in every composition."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import chainrule as cr

RNG = np.random.default_rng(7)


@cr.custom_jvp
def softplus(x):
    return np.logaddexp(0.0, x)


# a deliberately distinct rule (2x the true derivative), so the tests see it is used
softplus.defjvp(lambda p, t: (softplus(p[0]), 2.0 * t[0] / (1.0 + np.exp(-p[0]))))


def sig(x):
    return 1.0 / (1.0 + np.exp(-x))


def stack_loop(f, X):
    return np.stack([f(x) for x in X])


def test_custom_jvp_under_vmap_in_every_composition():
    X = RNG.standard_normal((5, 3))
    f = lambda x: np.sum(softplus(x) * x)  # noqa: E731
    np.testing.assert_allclose(cr.vmap(softplus)(X), np.logaddexp(0.0, X))
    np.testing.assert_allclose(cr.vmap(f)(X), stack_loop(f, X))
    rule_grad = 2.0 * sig(X) * X + np.logaddexp(0.0, X)  # the rule's derivative, not the true one
    np.testing.assert_allclose(cr.vmap(cr.grad(f))(X), rule_grad, rtol=1e-12)
    np.testing.assert_allclose(cr.vmap(cr.grad(f))(X), stack_loop(cr.grad(f), X), rtol=1e-12)
    J = cr.vmap(cr.jacfwd(softplus))(X)
    np.testing.assert_allclose(J, stack_loop(cr.jacfwd(softplus), X), rtol=1e-12)
    np.testing.assert_allclose(J[:, [0, 1, 2], [0, 1, 2]], 2.0 * sig(X), rtol=1e-12)
    H = cr.vmap(cr.hessian(f))(X)
    np.testing.assert_allclose(H, stack_loop(cr.hessian(f), X), rtol=1e-10, atol=1e-12)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", cr.BatchingFallbackWarning)  # the rule, per example
        g = cr.grad(lambda X: np.sum(cr.vmap(f)(X)))(X)
    np.testing.assert_allclose(g, rule_grad, rtol=1e-12)


def test_custom_jvp_with_in_axes_none():
    X = RNG.standard_normal((4, 3))
    w = RNG.standard_normal(3)
    f = lambda x, w: np.sum(softplus(x * w))  # noqa: E731
    got = cr.vmap(cr.grad(f, argnums=1), in_axes=(0, None))(X, w)
    np.testing.assert_allclose(got, 2.0 * sig(X * w) * X, rtol=1e-12)


def cube_root_of(a):
    """x with x**3 + x = a, by Newton's method (cr.optim.root)."""
    return cr.optim.root(lambda x, a: x**3 + x - a, 0.0, args=(a,)).x


def test_root_on_a_batch_of_parameters():
    A = np.array([0.5, 1.0, 2.0, 10.0])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        x = cr.vmap(cube_root_of)(A)
    np.testing.assert_allclose(x**3 + x, A, rtol=1e-12)
    np.testing.assert_allclose(x, [cube_root_of(a) for a in A], rtol=1e-12)
    # the solver branches on its iterates: it is run per example, and says so once
    msgs = [str(w.message) for w in caught if issubclass(w.category, cr.BatchingFallbackWarning)]
    assert len(msgs) <= 1 and all("branches on batched values" in m for m in msgs)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", cr.BatchingFallbackWarning)
        dx = cr.vmap(cr.grad(cube_root_of))(A)
        np.testing.assert_allclose(dx, 1.0 / (3.0 * x**2 + 1.0), rtol=1e-10)  # implicit fn thm
        d2 = cr.vmap(cr.hessian(cube_root_of))(A)
        np.testing.assert_allclose(d2, -6.0 * x * dx**3, rtol=1e-8)
        g = cr.grad(lambda A: np.sum(cr.vmap(cube_root_of)(A)))(A)
        np.testing.assert_allclose(g, dx, rtol=1e-10)


@pytest.mark.parametrize("jac", [cr.jacfwd, cr.jacrev])
def test_root_of_a_system_on_a_batch(jac):
    def solve(p):
        def eqs(x, p):
            return np.stack([x[0] ** 2 + x[1] - p[0], x[0] - x[1] ** 3 + p[1]])

        return cr.optim.root(eqs, np.array([1.0, 1.0]), args=(p,)).x

    P = np.random.default_rng(0).uniform(1.0, 2.0, (4, 2))  # each has a root near (1, 1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", cr.BatchingFallbackWarning)
        np.testing.assert_allclose(cr.vmap(solve)(P), stack_loop(solve, P), rtol=1e-12)
        J = cr.vmap(jac(solve))(P)
    np.testing.assert_allclose(J, stack_loop(cr.jacrev(solve), P), rtol=1e-10, atol=1e-14)
    # against central differences for one example
    eps = 1e-6
    fd = np.stack(
        [(solve(P[2] + eps * e) - solve(P[2] - eps * e)) / (2 * eps) for e in np.eye(2)], axis=1
    )
    np.testing.assert_allclose(J[2], fd, rtol=1e-6, atol=1e-8)
