"""``jacfwd`` / ``jacrev``: batch axes that coincide with broadcast axes, outputs that
alias or ignore the inputs, and pytree inputs and outputs with ``has_aux``.
"""

from __future__ import annotations

import numpy as np
import pytest
from conftest import fd_jacobian

import chainrule as cr


def test_batched_broadcast_coincident_batch_size():
    # input size 2 == broadcast axis size 2: batch axes must not line up
    c = np.array([[1.0, 2.0], [3.0, 4.0]])
    x = np.array([0.3, 0.7])
    for f in (
        lambda x: x * c,
        lambda x: c / x,
        lambda x: x**c,
        lambda x: np.where(c > 2, x, c),
        lambda x: cr.at(c)[0].set(x),
        lambda x: x @ c,
        lambda x: np.outer(x, x),
    ):
        ref = fd_jacobian(f, x)
        np.testing.assert_allclose(cr.jacfwd(f)(x), ref, atol=1e-6)
        np.testing.assert_allclose(cr.jacrev(f)(x), ref, atol=1e-6)
    np.testing.assert_array_equal(c, [[1.0, 2.0], [3.0, 4.0]])


def test_outputs_alias_or_ignore_inputs():
    x = np.array([1.0, 2.0, 3.0])
    np.testing.assert_allclose(cr.jacrev(lambda x: x)(x), np.eye(3))
    np.testing.assert_allclose(cr.jacfwd(lambda x: x)(x), np.eye(3))
    np.testing.assert_allclose(cr.jacrev(lambda x: np.ones(2))(x), np.zeros((2, 3)))
    np.testing.assert_allclose(cr.jacfwd(lambda x: np.ones(2))(x), np.zeros((2, 3)))
    assert cr.grad(lambda x: 3.0)(1.0) == 0.0
    jr = cr.jacrev(cr.checkpoint(lambda x: (x, x)))(x)
    np.testing.assert_allclose(jr[0], np.eye(3))
    np.testing.assert_allclose(jr[1], np.eye(3))


def test_jacobians_pytrees_and_aux():
    p = {"w": np.array([1.0, 2.0]), "v": 3.0}

    def f(p):
        return {"a": p["w"] * 2, "b": (p["w"][0] * p["v"],)}, {"aux": p["w"]}

    for jac in (cr.jacrev, cr.jacfwd):
        j, aux = jac(f, has_aux=True)(p)
        np.testing.assert_allclose(j["a"]["w"], 2 * np.eye(2))
        np.testing.assert_allclose(j["a"]["v"], [0.0, 0.0])
        np.testing.assert_allclose(j["b"][0]["w"], [3.0, 0.0])
        assert j["b"][0]["v"] == pytest.approx(1.0)
        np.testing.assert_allclose(aux["aux"], [1.0, 2.0])
