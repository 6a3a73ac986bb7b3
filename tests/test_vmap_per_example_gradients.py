"""``vmap(grad(f))`` over mapped arguments is computed as one gradient of the
summed batch (chainrule/transforms/per_example.py). It must give what the
per-example loop gives, and leave every case it does not cover to the
general route: gradients of unmapped (shared) arguments, ``has_aux``,
other axes, ``chunk_size``, wrappers that only copy ``grad``'s attributes.
"""

from __future__ import annotations

import functools

import numpy as np
import pytest
from conftest import rand

import chainrule as cr
from chainrule.transforms import per_example


def _loop(f, *args, in_axes=0):
    axes = in_axes if isinstance(in_axes, tuple) else (in_axes,) * len(args)
    n = next(a.shape[ax] for a, ax in zip(args, axes) if ax is not None)
    rows = [
        f(*[a if ax is None else np.take(a, i, axis=ax) for a, ax in zip(args, axes)])
        for i in range(n)
    ]
    return np.stack(rows)


@pytest.fixture
def calls(monkeypatch):
    """How often the summed-gradient route answered."""
    seen = []
    real = per_example.SummedGradient.__call__

    def counting(self, *a, **k):
        out = real(self, *a, **k)
        seen.append(out is not NotImplemented)
        return out

    monkeypatch.setattr(per_example.SummedGradient, "__call__", counting)
    return seen


def _f(x):
    return np.sin(x) * np.exp(-0.5 * x) + np.log(1.0 + x * x) / (2.0 + np.cos(x))


def _df(x):  # by hand
    s, c, e = np.sin(x), np.cos(x), np.exp(-0.5 * x)
    q, d = 1.0 + x * x, 2.0 + c
    return c * e - 0.5 * s * e + (2.0 * x / q) / d + np.log(q) * s / (d * d)


def test_scalar_function_over_points(calls):
    x = rand(200)
    got = cr.vmap(cr.grad(_f))(x)
    np.testing.assert_allclose(got, _loop(cr.grad(_f), x), rtol=1e-13)
    np.testing.assert_allclose(got, _df(x), rtol=1e-12, atol=1e-14)
    assert calls == [True]


def test_vector_examples_and_two_mapped_arguments(calls):
    X, Y = rand(6, 3), rand(6, 3)
    f = lambda x, y: np.sum(np.tanh(x * y) ** 2) + np.dot(x, y)  # noqa: E731
    got = cr.vmap(cr.grad(f, argnums=(0, 1)))(X, Y)
    want = [_loop(lambda x, y, k=k: cr.grad(f, argnums=(0, 1))(x, y)[k], X, Y) for k in (0, 1)]
    np.testing.assert_allclose(got[0], want[0], rtol=1e-13)
    np.testing.assert_allclose(got[1], want[1], rtol=1e-13)
    t = np.tanh(X * Y)  # by hand: 2 t (1 - t^2) times the other factor, plus it
    np.testing.assert_allclose(got[0], 2 * t * (1 - t * t) * Y + Y, rtol=1e-12)
    np.testing.assert_allclose(got[1], 2 * t * (1 - t * t) * X + X, rtol=1e-12)
    assert calls == [True]


def test_a_shared_unmapped_argument_is_still_mapped_over(calls):
    X, w = rand(5, 3), rand(3)
    f = lambda x, w: np.sum(np.tanh(w * x))  # noqa: E731
    got = cr.vmap(cr.grad(f), in_axes=(0, None))(X, w)
    np.testing.assert_allclose(got, _loop(cr.grad(f), X, w, in_axes=(0, None)), rtol=1e-13)
    np.testing.assert_allclose(got, (1 - np.tanh(w * X) ** 2) * w, rtol=1e-12)
    assert calls == [True]


def test_gradients_of_shared_parameters_take_the_general_route(calls):
    X, w = rand(5, 3), rand(3)
    f = lambda w, x: np.sum(np.tanh(w * x))  # noqa: E731
    got = cr.vmap(cr.grad(f), in_axes=(None, 0))(w, X)
    np.testing.assert_allclose(got, _loop(cr.grad(f), w, X, in_axes=(None, 0)), rtol=1e-13)
    np.testing.assert_allclose(got, (1 - np.tanh(w * X) ** 2) * X, rtol=1e-12)
    assert calls == [False]  # per-example gradients of w differ from the sum's


def test_uncovered_forms_give_the_same_answers():
    X = rand(4, 3)
    f = lambda x: np.sum(np.sin(x) ** 2)  # noqa: E731
    want = _loop(cr.grad(f), X)
    np.testing.assert_allclose(want, np.sin(2 * X), rtol=1e-13)  # 2 sin cos
    np.testing.assert_allclose(cr.vmap(cr.grad(f), in_axes=1)(X.T), want, rtol=1e-13)
    np.testing.assert_allclose(cr.vmap(cr.grad(f), out_axes=1)(X), want.T, rtol=1e-13)
    np.testing.assert_allclose(cr.vmap(cr.grad(f), chunk_size=3)(X), want, rtol=1e-13)
    g, aux = cr.vmap(cr.grad(lambda x: (f(x), x[0]), has_aux=True))(X)
    np.testing.assert_allclose(g, want, rtol=1e-13)
    np.testing.assert_array_equal(aux, X[:, 0])


def test_a_wrapper_copying_grads_attributes_is_not_taken_for_grad(calls):
    X = rand(4, 3)
    g = cr.grad(lambda x: np.sum(x**2))

    @functools.wraps(g)  # copies grad's mark, but is another function
    def doubled_value(x):
        return np.sum(x**2) * 2.0

    np.testing.assert_allclose(cr.vmap(doubled_value)(X), 2 * np.sum(X**2, axis=1))
    assert calls == []


def test_a_non_scalar_output_gets_grads_error():
    with pytest.raises(TypeError, match=r"scalar output, but the function returned an array"):
        cr.vmap(cr.grad(lambda x: np.sin(x)))(rand(4, 3))


def test_batched_control_flow_is_refused_as_before():
    with pytest.raises(cr.BatchedControlFlowError):
        cr.vmap(cr.grad(lambda x: x * 2.0 if x > 0 else x))(rand(4))


def test_composes_with_jit_and_higher_order():
    x = rand(30)
    f = lambda x: np.sin(x) ** 3  # noqa: E731
    np.testing.assert_allclose(
        cr.jit(cr.vmap(cr.grad(f)))(x), 3 * np.sin(x) ** 2 * np.cos(x), rtol=1e-13
    )
    second = cr.vmap(cr.grad(cr.grad(f)))(x)
    want = 6 * np.sin(x) * np.cos(x) ** 2 - 3 * np.sin(x) ** 3
    np.testing.assert_allclose(second, want, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(
        cr.grad(lambda x: np.sum(cr.vmap(cr.grad(f))(x)))(x), want, rtol=1e-12, atol=1e-14
    )
