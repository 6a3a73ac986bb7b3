"""The batching trace's fast paths on large batches: an elementwise function
of one batched array asked again of the same array is computed once (reverse
mode asks sin's derivative cos(x) of an x whose cos the function computed),
and 1.0 * x (reverse mode's first cotangent) is x itself. Both give exactly
what the plain computation gives."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
from chainrule.core.registry import UFUNCS, ensure_rules

ensure_rules()
RNG = np.random.default_rng(11)
N = 5000  # above the size from which results are reused


def f(x):
    return np.sin(x) * np.exp(-0.5 * x) + np.log(1.0 + x * x) / (2.0 + np.cos(x))


def df(x):
    s, c, e = np.sin(x), np.cos(x), np.exp(-0.5 * x)
    q, d = 1.0 + x * x, 2.0 + np.cos(x)
    return c * e - 0.5 * s * e + (2.0 * x / q) / d + np.log(q) * s / (d * d)


@pytest.fixture
def counted(monkeypatch):
    calls = {"sin": 0, "cos": 0}
    for u in (np.sin, np.cos):
        prim = UFUNCS[u]
        impl = prim.impl

        def counting(*a, _impl=impl, _name=u.__name__, **k):
            calls[_name] += 1
            return _impl(*a, **k)

        monkeypatch.setattr(prim, "impl", counting)
    return calls


def test_sin_and_cos_of_the_batch_are_computed_once(counted):
    x = RNG.uniform(-2, 2, N)
    g = cr.vmap(cr.grad(f))(x)
    np.testing.assert_allclose(g, df(x), rtol=1e-12, atol=1e-14)
    # forward: sin(x), cos(x); backward: cos(x) for sin, sin(x) for cos, both reused
    assert counted == {"sin": 1, "cos": 1}
    small = RNG.uniform(-2, 2, 10)  # small batches too (the reverse trace's partners)
    np.testing.assert_allclose(cr.vmap(cr.grad(f))(small), df(small), rtol=1e-12)
    assert counted == {"sin": 2, "cos": 2}


def test_reuse_never_confuses_temporaries():
    # x * k dies each turn: a new temporary may get the old one's id, and must
    # not be given the old one's cosine
    x = RNG.uniform(-2, 2, N)

    def h(x):
        total = 0.0
        for k in range(1, 30):
            total = total + np.cos(x * (1.0 + 0.01 * k))
        return total

    np.testing.assert_allclose(cr.vmap(h)(x), h(x), rtol=1e-13)
    np.testing.assert_allclose(cr.vmap(cr.grad(h))(x), cr.elementwise_grad(h)(x), rtol=1e-12)


def test_times_one_keeps_numpy_dtypes():
    x64 = RNG.standard_normal(N)
    x32 = x64.astype(np.float32)
    out = cr.vmap(lambda x: 1.0 * x)(x64)
    np.testing.assert_array_equal(out, x64)
    assert out.dtype == np.float64
    assert cr.vmap(lambda x: x * 1.0)(x32).dtype == np.float32  # weak Python scalar
    assert cr.vmap(lambda x: np.float64(1.0) * x)(x32).dtype == np.float64  # as NumPy
    y = cr.vmap(lambda x: 1.0 * x)(x64)
    y[0] = 123.0  # the result is the user's to write to: the input is untouched
    assert x64[0] != 123.0
    assert cr.vmap(lambda x: x)(x64) is not x64  # nor is the identity's
