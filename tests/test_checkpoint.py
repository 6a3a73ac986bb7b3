"""checkpoint: same derivatives, a fraction of the memory."""

from __future__ import annotations

import tracemalloc

import numpy as np
from numpy.testing import assert_allclose, assert_array_equal

import chainrule as cr


def layer(x):
    return np.sin(x) * np.cos(x) + np.tanh(x) * np.exp(-x * x)


def ten_layers(x):
    for _ in range(10):
        x = layer(x)
    return x


segment = cr.checkpoint(ten_layers)


def plain(x):
    for _ in range(10):
        x = ten_layers(x)
    return np.sum(x)


def checkpointed(x):
    for _ in range(10):
        x = segment(x)
    return np.sum(x)


def peak_bytes(fun, x):
    tracemalloc.start()
    try:
        fun(x)
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_identical_results():
    x = np.random.default_rng(0).uniform(-1, 1, 1000)
    assert_array_equal(cr.grad(checkpointed)(x), cr.grad(plain)(x))
    assert_array_equal(segment(x), ten_layers(x))


def test_memory_of_100_layers_in_10_segments():
    x = np.random.default_rng(1).uniform(-1, 1, 100_000)
    plain_peak = peak_bytes(cr.grad(plain), x)
    checkpointed_peak = peak_bytes(cr.grad(checkpointed), x)
    assert checkpointed_peak <= plain_peak / 4, (checkpointed_peak, plain_peak)


def test_every_transform_through_a_checkpoint():
    x = np.array([0.3, -0.8, 1.1])
    cr.check_grads(segment, (x,), order=2)
    assert_allclose(cr.jacrev(segment)(x), cr.jacfwd(ten_layers)(x))
    assert_allclose(
        cr.hessian(lambda x: np.sum(segment(x)))(x),
        cr.hessian(lambda x: np.sum(ten_layers(x)))(x),
    )


def test_checkpoint_with_pytrees_and_constants():
    @cr.checkpoint
    def f(params, x, n):
        w, b = params["w"], params["b"]
        for _ in range(n):
            x = np.tanh(w * x + b)
        return x

    params = {"w": 1.5, "b": np.array([0.1, -0.2])}
    x = np.array([0.5, 0.7])
    g = cr.grad(lambda p: np.sum(f(p, x, 3)))(params)
    g_ref = cr.grad(lambda p: np.sum(f.__wrapped__(p, x, 3)))(params)
    assert_allclose(g["w"], g_ref["w"])
    assert_allclose(g["b"], g_ref["b"])
