"""The one default batching rule, a loop stacking per-example results
(core.batching.stack_examples): vmap's fallback for a primitive without a
rule, and jacrev's loop over a user's custom_vjp rule, which sees one
cotangent at a time."""

from __future__ import annotations

import warnings

import numpy as np

import chainrule as cr
from chainrule.core.batching import stack_examples
from chainrule.core.primitive import Primitive


def test_stack_examples_stacks_positions_and_fills_symbolic_zeros():
    a, b = np.arange(3.0), np.ones(2)
    out = stack_examples([(a, None, None), (2 * a, b, None)])
    assert isinstance(out, tuple) and out[2] is None
    np.testing.assert_array_equal(out[0], [a, 2 * a])
    np.testing.assert_array_equal(out[1], [np.zeros(2), b])
    np.testing.assert_array_equal(stack_examples([a, a + 1]), [a, a + 1])
    assert isinstance(stack_examples([[a], [a]]), list)


@cr.custom_vjp
def scaled(x, y):
    return np.stack([2.0 * x[0], y[0] * y[1]])


def _fwd(x, y):
    return scaled(x, y), (y,)


def _bwd(res, g):
    (y,) = res
    gx = np.stack([2.0 * g[0], 0.0 * g[0]])
    # a symbolic zero for y when its output's cotangent is zero (a row of jacrev)
    gy = None if g[1] == 0 else g[1] * np.stack([y[1], y[0]])
    return gx, gy


scaled.defvjp(_fwd, _bwd)


def test_jacrev_through_a_custom_rule_with_symbolic_zeros():
    x, y = np.array([1.0, 2.0]), np.array([3.0, 4.0])
    jx, jy = cr.jacrev(scaled, argnums=(0, 1))(x, y)
    np.testing.assert_array_equal(jx, [[2.0, 0.0], [0.0, 0.0]])
    np.testing.assert_array_equal(jy, [[0.0, 0.0], [4.0, 3.0]])
    # the same loop under vmap: per example, equal to the loop
    X, Y = np.stack([x, 2 * x]), np.stack([y, y + 1])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", cr.BatchingFallbackWarning)
        got = cr.vmap(cr.jacrev(scaled, argnums=(0, 1)))(X, Y)
    for b in range(2):
        ref = cr.jacrev(scaled, argnums=(0, 1))(X[b], Y[b])
        np.testing.assert_array_equal(got[0][b], ref[0])
        np.testing.assert_array_equal(got[1][b], ref[1])


def test_vmap_fallback_of_a_multi_result_primitive():
    prim = Primitive("vmap_test_pair", lambda x: (x**2, -x), multiple_results=True)
    X = np.arange(6.0).reshape(3, 2)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        sq, neg = cr.vmap(lambda x: prim(x))(X)
    np.testing.assert_array_equal(sq, X**2)
    np.testing.assert_array_equal(neg, -X)
    assert any("vmap_test_pair has no batching rule" in str(w.message) for w in caught)
