"""Transform inputs: float32 keeps float32 gradients, integer and boolean
intermediates have zero derivative, in-place operators on traced and plain arrays,
and the user's arrays are never mutated by a transform.
"""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr


def test_float32_gradient_dtypes():
    x32 = np.array([1.0, 2.0], dtype=np.float32)
    assert cr.grad(lambda x: np.sum(np.sin(x) * np.float64(2.0)))(x32).dtype == np.float32
    assert cr.jacrev(lambda x: x * 2.0)(x32).dtype == np.float32
    assert cr.jacfwd(lambda x: x * 2.0)(x32).dtype == np.float32
    assert cr.hessian(lambda x: np.sum(x**3))(x32).dtype == np.float32
    assert cr.grad(lambda x: x * 2.0)(np.float32(1.0)).dtype == np.float32


def test_integer_and_boolean_intermediates_have_zero_derivative():
    x = np.array([1.3, 2.6, -3.2])
    np.testing.assert_allclose(cr.grad(lambda x: np.sum(x.astype(int).astype(float)))(x), 0.0)
    np.testing.assert_allclose(cr.grad(lambda x: np.sum(x.astype(int) * x))(x), [1, 2, -3])
    np.testing.assert_allclose(cr.grad(lambda x: np.sum(x[x > 1.5] ** 2))(x), [0, 5.2, 0])
    np.testing.assert_allclose(cr.grad(lambda x: np.sum(x % 1.0))(x), 1.0)
    np.testing.assert_allclose(cr.grad(lambda x: np.sum(np.floor(x)))(x), 0.0)


def test_inplace_operators():
    x = np.array([1.0, 2.0, 3.0])

    def f(x):
        x += 1  # rebinds the tracer
        return np.sum(x * x)

    np.testing.assert_allclose(cr.grad(f)(x), 2 * (x + 1))
    np.testing.assert_array_equal(x, [1.0, 2.0, 3.0])

    def g(x):
        a = np.zeros(3)
        a += x  # would drop the derivative
        return np.sum(a)

    with pytest.raises(TypeError):
        cr.grad(g)(x)
    with pytest.raises(TypeError):
        cr.grad(lambda y: np.sum(x * [y, y, y]))(2.0)


def test_user_arrays_not_mutated_by_transforms():
    c = np.array([[1.0, 2.0], [3.0, 4.0]])
    v = np.array([5.0, 6.0])
    cr.grad(lambda v: np.sum(cr.at(c)[0].set(v)))(v)
    cr.grad(lambda v: np.sum(cr.at(c)[0].add(v)))(v)
    cr.jacfwd(lambda v: cr.at(c)[:, 1].multiply(v))(v)
    cr.hessian(lambda c: np.sum(cr.at(c)[:, 1].min(v) ** 2))(c)
    cr.jvp(lambda v: v * c, (v,), (v,))
    np.testing.assert_array_equal(c, [[1.0, 2.0], [3.0, 4.0]])
    np.testing.assert_array_equal(v, [5.0, 6.0])
