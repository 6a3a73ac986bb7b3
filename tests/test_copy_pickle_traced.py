"""copy, deepcopy and pickle of a traced value (issue #13).

Traced values are immutable, so ``copy.copy`` gives the same value, whose
derivative flows back like the original's (as ``x.copy()`` and ``np.copy(x)``
do). ``copy.deepcopy`` and pickling are refused with a message saying what to
do (issue #13), and what the messages suggest works.
"""

from __future__ import annotations

import copy
import pickle

import numpy as np
import pytest

import chainrule as cr

X = np.array([1.0, -2.0, 0.5])


@pytest.mark.parametrize("copier", [copy.copy, lambda x: x.copy()], ids=["copy", "method"])
def test_copies_are_differentiated_like_the_original(copier):
    def f(x):
        return np.sum(copier(x) * x**2)  # sum(x^3): gradient 3 x^2, Hessian diag(6 x)

    np.testing.assert_allclose(cr.grad(f)(X), 3 * X**2)
    np.testing.assert_allclose(cr.jacfwd(f)(X), 3 * X**2)
    _, t = cr.jvp(f, (X,), (np.ones(3),))
    assert np.isclose(t, np.sum(3 * X**2))
    np.testing.assert_allclose(cr.hessian(f)(X), np.diag(6 * X))


@pytest.mark.parametrize("transform", [cr.grad, cr.jacfwd], ids=["grad", "jacfwd"])
@pytest.mark.parametrize(
    "target", [lambda x: x, lambda x: {"w": x, "meta": [1, 2]}], ids=["leaf", "pytree"]
)
def test_deepcopy_is_refused_saying_what_to_do(transform, target):
    def f(x):
        copy.deepcopy(target(x))
        return np.sum(x)

    with pytest.raises(TypeError, match=r"copy\.deepcopy of a traced value is refused") as info:
        transform(f)(X)
    assert "cr.tree.map(lambda v: v, tree)" in str(info.value)


def test_the_suggested_container_copy_is_differentiated():
    def f(x):
        state = {"w": x, "meta": [1, 2]}
        twin = cr.tree.map(lambda v: v, state)
        assert twin is not state and twin["meta"] is not state["meta"]
        return np.sum(twin["w"] * state["w"])

    np.testing.assert_allclose(cr.grad(f)(X), 2 * X)
    np.testing.assert_allclose(cr.jacfwd(f)(X), 2 * X)


@pytest.mark.parametrize(
    "transform",
    [lambda f: cr.grad(f)(X), lambda f: cr.jvp(f, (X,), (np.ones(3),))],
    ids=["grad", "jvp"],
)
@pytest.mark.parametrize(
    "dump",
    [
        lambda x: pickle.dumps(x),
        lambda x: pickle.dumps({"a": [x]}),
        lambda x: pickle.dumps(x, protocol=0),
    ],
    ids=["leaf", "pytree", "protocol0"],
)
def test_pickling_a_traced_value_is_refused(transform, dump):
    def f(x):
        dump(x)
        return np.sum(x)

    with pytest.raises(TypeError) as info:
        transform(f)
    message = str(info.value)
    assert "cannot be pickled while it is being differentiated" in message
    assert "has_aux=True" in message and "cr.stop_gradient(x)" in message


def test_what_the_message_suggests_works():
    # The plain value pickles inside the function ...
    def f(x):
        saved = pickle.loads(pickle.dumps(cr.stop_gradient(x)))
        return np.sum(saved * x)

    np.testing.assert_allclose(cr.grad(f)(X), X)
    # ... and the result pickles after the transform.
    (value, aux), g = cr.value_and_grad(lambda x: (np.sum(x**2), x * 2.0), has_aux=True)(X)
    np.testing.assert_array_equal(pickle.loads(pickle.dumps(aux)), 2 * X)
    np.testing.assert_array_equal(pickle.loads(pickle.dumps(g)), 2 * X)
