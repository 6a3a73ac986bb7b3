"""cr.checkpoint of a function that is not deterministic is refused (issue #13).

checkpoint runs its function again in the backward pass; a random draw or a
counter inside it would make the derivative belong to another value. The
recomputed output is compared with the first one (rtol 1e-12) and a
difference raises a RuntimeError saying the function must be deterministic.
"""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr

X = np.array([0.5, -1.0, 2.0])


def _counter_scaled(rel: float):
    calls = [0]

    def scaled(x):
        calls[0] += 1
        return np.sin(x) * (1.0 + rel * calls[0])

    return scaled


@pytest.mark.parametrize(
    "transform",
    [
        lambda f: cr.grad(lambda x: np.sum(f(x)))(X),
        lambda f: cr.value_and_grad(lambda x: np.sum(f(x)))(X),
        lambda f: cr.vjp(f, X)[1](np.ones(3)),
        lambda f: cr.jacrev(f)(X),
        lambda f: cr.hessian(lambda x: np.sum(f(x) ** 2))(X),
    ],
    ids=["grad", "value_and_grad", "vjp", "jacrev", "hessian"],
)
@pytest.mark.parametrize("impurity", ["random draw", "counter"])
def test_an_impure_checkpoint_is_refused(transform, impurity):
    if impurity == "random draw":
        rng = np.random.default_rng(1)
        f = cr.checkpoint(lambda x: x * rng.standard_normal(3))
    else:
        f = cr.checkpoint(_counter_scaled(1e-6))
    with pytest.raises(RuntimeError) as info:
        transform(f)
    message = str(info.value)
    assert "cr.checkpoint" in message and "different result" in message
    assert "must be deterministic" in message
    assert "pass the results in as arguments" in message


def test_a_changed_structure_is_refused():
    calls = [0]

    def grows(x):
        calls[0] += 1
        return (np.sin(x),) * calls[0]

    f = cr.checkpoint(grows)
    with pytest.raises(RuntimeError, match="structure"):
        cr.grad(lambda x: np.sum(f(x)[0]))(X)


def test_rounding_level_differences_are_accepted():
    """A recomputation within rtol 1e-12 of the first run is the same value."""
    f = cr.checkpoint(_counter_scaled(1e-15))
    g = cr.grad(lambda x: np.sum(f(x)))(X)
    np.testing.assert_allclose(g, np.cos(X), rtol=1e-12)
    # ... and one just outside it is not.
    f = cr.checkpoint(_counter_scaled(1e-11))
    with pytest.raises(RuntimeError, match="must be deterministic"):
        cr.grad(lambda x: np.sum(f(x)))(X)


def test_the_suggested_fix_works():
    """The random draw made outside and passed in: the checkpointed gradient
    is the plain one."""
    noise = np.random.default_rng(1).standard_normal(3)
    f = cr.checkpoint(lambda x, n: np.tanh(x * n))
    g_ckpt = cr.grad(lambda x: np.sum(f(x, noise)))(X)
    g_plain = cr.grad(lambda x: np.sum(np.tanh(x * noise)))(X)
    np.testing.assert_allclose(g_ckpt, g_plain, rtol=1e-14)
    np.testing.assert_allclose(g_plain, noise / np.cosh(X * noise) ** 2, rtol=1e-12)


def test_deterministic_outputs_of_every_kind_pass():
    """NaN and inf values, integer and boolean outputs, pytrees: unchanged
    recomputations are accepted, with the right derivative."""

    def f(x):
        with np.errstate(divide="ignore", invalid="ignore"):
            r = np.log(x)  # NaN and -inf among the values
        return {"r": r, "n": np.arange(3), "b": x > 0, "s": np.sum(x**2)}

    ck = cr.checkpoint(f)
    x = np.array([0.0, -1.0, 2.0])
    g = cr.grad(lambda x: ck(x)["s"] + np.sum(np.where(x > 0, ck(x)["r"], 0.0)))(x)
    np.testing.assert_allclose(g, 2 * x + np.where(x > 0, 1 / np.where(x > 0, x, 1), 0))
