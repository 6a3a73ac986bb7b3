"""ndarray methods on traced values: non-differentiable ones (x.argmax(), x.round())
give NumPy's answers like the np. functions; x.compress keeps its argument order."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import fd_jacobian

import chainrule as cr

X = np.array([1.0, 3.0, 2.0, -0.5])


@pytest.mark.parametrize("name", ["argmax", "argmin", "argsort", "nonzero", "round"])
@pytest.mark.parametrize("transform", [cr.grad, cr.jacfwd])
def test_non_differentiable_methods_answer_like_numpy(name, transform):
    seen = {}

    def f(x):
        seen["traced"] = getattr(x, name)()
        return np.sum(x * x)

    transform(f)(X)
    expected = getattr(X, name)()
    if isinstance(expected, tuple):
        for a, b in zip(seen["traced"], expected):
            np.testing.assert_array_equal(a, b)
    else:
        np.testing.assert_array_equal(seen["traced"], expected)


def test_searchsorted_method():
    def f(x):
        assert x.searchsorted(2.5) == 2
        return np.sum(x)

    cr.grad(f)(np.array([1.0, 2.0, 3.0]))


def test_argmax_index_differentiates_the_selected_entry():
    f = lambda x: x[x.argmax()] ** 2  # noqa: E731
    np.testing.assert_allclose(cr.grad(f)(X), [0.0, 6.0, 0.0, 0.0])
    np.testing.assert_allclose(cr.jacfwd(f)(X), [0.0, 6.0, 0.0, 0.0])


def test_compress_method_takes_the_condition_first():
    cond = [True, False, True, True]
    f = lambda x: np.sum(x.compress(cond) ** 3)  # noqa: E731
    assert f(X) == np.sum(X.compress(cond) ** 3)
    g = cr.grad(f)(X)
    np.testing.assert_allclose(g, fd_jacobian(f, X), rtol=1e-6)
    np.testing.assert_allclose(cr.jacfwd(f)(X), g)
