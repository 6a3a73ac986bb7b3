"""A value used several times: its contributions are summed right, at every order.

The first three tests pin a fixed bug: the accumulator kept a slot it owned after
the sum had become a tracer, then did ``np.add(tracer, c, out=tracer)`` (a
ConversionError), so any hessian of a value used four or more times with mixed
constant and variable partials failed. The others are tricky cases that were
already right: the same tracer as several arguments, as several outputs (the
user's cotangents are not mutated), and through views and aliases.
"""

from __future__ import annotations

import numpy as np

import chainrule as cr

C2 = np.array([1.0, 2.0])


def _four_uses(x):
    # d/dx = 3*C2 + 2x ; Hessian = 2 I
    return np.sum(x * C2 + x * x + x * C2 + x * C2)


def test_hessian_fanout_mixed_constant_and_traced_contributions():
    x = np.array([0.3, 0.4])
    np.testing.assert_allclose(cr.hessian(_four_uses)(x), 2 * np.eye(2))


def test_hvp_fanout_mixed_constant_and_traced_contributions():
    x = np.array([0.3, 0.4])
    _, hv = cr.hvp(_four_uses, (x,), (C2,))
    np.testing.assert_allclose(hv, 2 * C2)


def test_grad_of_grad_fanout_mixed_contributions():
    y0 = np.array([0.5, -1.0])

    def outer(x):
        def f(y):
            return np.sum(y * C2 + y * x + y * C2 + y * C2)

        return np.sum(cr.grad(f)(y0))  # = sum(3 * C2 + x)

    np.testing.assert_allclose(cr.grad(outer)(np.array([0.3, 0.4])), [1.0, 1.0])


def test_same_tracer_several_arguments():
    x = np.array([1.3, 2.6, -3.2])
    for f in (
        lambda x: x @ x,
        lambda x: np.dot(x, x),
        lambda x: np.einsum("i,i->", x, x),
        lambda x: np.sum(np.multiply(x, x)),
    ):
        np.testing.assert_allclose(cr.grad(f)(x), 2 * x)
    w = np.arange(9.0).reshape(3, 3)
    g = cr.grad(lambda x: np.sum(np.stack([x, x, x]) * w))(x)
    np.testing.assert_allclose(g, w.sum(0))
    np.testing.assert_allclose(cr.jacrev(lambda x: x * x * x)(x), np.diag(3 * x**2))


def test_vjp_same_tracer_three_outputs_does_not_mutate_cotangents():
    x = np.array([1.0, 2.0, 3.0])
    _, f = cr.vjp(lambda x: (x, x, x), x)
    a, b, c = np.ones(3), 2 * np.ones(3), 4 * np.ones(3)
    (g,) = f((a, b, c))
    np.testing.assert_allclose(g, 7.0)
    np.testing.assert_allclose((a, b, c), [np.ones(3), 2 * np.ones(3), 4 * np.ones(3)])
    (g2,) = f((a, b, c))
    np.testing.assert_allclose(g, 7.0)
    np.testing.assert_allclose(g2, 7.0)


def test_fanout_with_broadcast_views_and_aliases():
    x = np.array([0.5, 1.5])
    f = lambda x: np.sum(x) + np.sum(x + 0.0) + np.sum(x * 1.0) + np.sum(x)  # noqa: E731
    np.testing.assert_allclose(cr.grad(f)(x), [4.0, 4.0])
    np.testing.assert_allclose(x, [0.5, 1.5])
