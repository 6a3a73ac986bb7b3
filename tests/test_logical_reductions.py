"""np.all / np.any and x.all() / x.any() of traced float arrays: boolean
answers with no derivative, in every transform and under cr.vmap."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import chainrule as cr
from chainrule.errors import BatchingFallbackWarning

X = np.array([[1.5, 0.0, -2.0], [0.5, 3.0, 1.0]])


def _gated(x):
    # each row scaled by whether it has no zero; plus a scalar any()
    return x * np.all(x, axis=1, keepdims=True) + x.any() * x**2 + np.any(x > 2.5)


def test_answers_are_numpys_booleans():
    seen = {}

    def f(x):
        seen["all"] = np.all(x)
        seen["rows"] = x.all(axis=1)
        seen["any"] = np.any(x, axis=0, keepdims=True)
        seen["meth"] = x.any()
        return np.sum(x)

    cr.grad(f)(X)
    np.testing.assert_array_equal(seen["all"], False)
    np.testing.assert_array_equal(seen["rows"], [False, True])
    np.testing.assert_array_equal(seen["any"], [[True, True, True]])
    assert seen["meth"] is np.True_ or seen["meth"] == True  # noqa: E712
    for v in seen.values():
        assert np.asarray(v).dtype == bool


@pytest.mark.parametrize("jac", [cr.jacfwd, cr.jacrev])
def test_derivative_treats_the_booleans_as_constants(jac):
    mask = np.all(X, axis=1, keepdims=True)
    expect_diag = (mask + 2.0 * X * np.any(X)).ravel()
    J = jac(_gated)(X).reshape(X.size, X.size)
    np.testing.assert_allclose(J, np.diag(expect_diag))
    np.testing.assert_allclose(
        cr.hessian(lambda x: np.sum(_gated(x)))(X).reshape(6, 6), np.diag(np.full(6, 2.0))
    )
    cr.check_grads(_gated, (X + 0.1,), order=2)


def test_under_vmap_each_example_is_answered_alone():
    with warnings.catch_warnings():
        warnings.simplefilter("error", BatchingFallbackWarning)  # a batching rule, no loop
        np.testing.assert_array_equal(cr.vmap(np.all)(X), [False, True])
        np.testing.assert_array_equal(cr.vmap(lambda r: r.any())(X * 0.0), [False, False])
        np.testing.assert_array_equal(
            cr.vmap(lambda m: m.all(axis=-1, keepdims=True))(np.stack([X, X > 0])),
            np.all(np.stack([X, X > 0]), axis=-1, keepdims=True),
        )
        g = cr.vmap(cr.grad(lambda r: np.sum(r**2) * np.all(r)))(X)
    np.testing.assert_allclose(g, [[0.0, 0.0, 0.0], 2.0 * X[1]])


def test_under_vmap_a_plain_where_mask_applies_to_each_example():
    with warnings.catch_warnings():
        warnings.simplefilter("error", BatchingFallbackWarning)
        out = cr.vmap(lambda r: np.any(r, where=np.array([True, False, False])))(X)
        out2 = cr.vmap(lambda r: np.all(r, where=np.array([True, False, True])))(X)
    np.testing.assert_array_equal(out, [True, True])
    np.testing.assert_array_equal(out2, [True, True])


def test_a_batched_where_mask_is_taken_per_example_under_vmap():
    X = np.arange(12.0).reshape(3, 4) - 2.0
    for f in (
        lambda r: np.all(r, where=r > 1),
        lambda r: np.any(r > 0, where=r < 5),
        lambda r: np.all(r < 9, axis=0, where=r > -1),
    ):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", BatchingFallbackWarning)
            got = cr.vmap(f)(X)
        np.testing.assert_array_equal(got, [f(x) for x in X])
