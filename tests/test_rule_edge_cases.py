"""Single rules at their edges, each a bug found once: ``matmul`` with a list operand,
in-place ``sort`` on a traced array, ``x**0`` at zero, and ``full_like``'s fill value.
"""

from __future__ import annotations

import numpy as np
import pytest
from numpy.testing import assert_allclose

import chainrule as cr


def test_matmul_with_a_list_operand():
    A = [[1.0, 2.0], [3.0, 4.0]]
    x = np.array([1.0, -1.0])
    assert_allclose(cr.grad(lambda x: np.sum(np.matmul(A, x)))(x), [4.0, 6.0])
    assert_allclose(cr.grad(lambda x: np.sum(np.matmul(x, A)))(x), [3.0, 7.0])
    assert_allclose(cr.jacfwd(lambda x: np.matmul(A, x))(x), A)


def test_in_place_sort_on_a_traced_array_is_refused():
    # x.sort() used to forward to np.sort and silently leave x unsorted.
    def f(x):
        x.sort()
        return x * np.arange(3.0)

    with pytest.raises(TypeError, match="np.sort"):
        cr.vjp(f, np.array([3.0, 1.0, 2.0]))


def test_power_zero_exponent_at_zero_is_not_nan():
    assert cr.grad(lambda x: x**0.0)(0.0) == 0.0
    assert cr.grad(lambda x: np.sum(x**2))(np.zeros(3)).tolist() == [0.0, 0.0, 0.0]


def test_full_like_is_differentiable_in_the_fill_value():
    import chainrule.numpy as cnp

    assert_allclose(cr.grad(lambda x: np.sum(np.full_like(x, 2.0) * x))(np.ones(2)), [2.0, 2.0])
    assert cr.grad(lambda v: cnp.sum(cnp.full_like(np.zeros(3), v)))(2.0) == 3.0
    assert_allclose(cr.jacfwd(lambda v: cnp.full_like(np.zeros((2, 2)), v))(2.0), np.ones((2, 2)))
