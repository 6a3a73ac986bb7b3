"""CuPy arrays on a GPU (issue #20): the foreign-array path that Dask and the
duck array of tests/test_foreign_arrays.py take, on device memory. Marked
``gpu``; skipped where CuPy or a CUDA device is missing (``pytest -m gpu`` on
a machine with one). Every result must stay a CuPy array (CuPy refuses
``np.asarray`` of a device array, so a conversion inside the engine raises).
"""

from __future__ import annotations

import sys

import numpy as np
import pytest

import chainrule as cr
import chainrule.numpy as cnp
from chainrule._backends import is_foreign, namespace

cp = pytest.importorskip("cupy")


def _has_device() -> bool:
    try:
        return cp.cuda.runtime.getDeviceCount() > 0
    except Exception:  # no driver, no device
        return False


pytestmark = [
    pytest.mark.gpu,
    pytest.mark.skipif(not _has_device(), reason="no CUDA device for CuPy"),
]

sys.path.insert(0, __file__.rsplit("/", 1)[0])
from test_rule_families import FAMILIES, X  # noqa: E402


def host(x):
    """A result's values on the host: a CuPy array's, or a NumPy result's (the
    derivative of a linear function is built from NumPy constants alone)."""
    return cp.asnumpy(x) if isinstance(x, cp.ndarray) else np.asarray(x)


def test_cupy_arrays_are_foreign():
    x = cp.asarray(X)
    assert is_foreign(x)
    assert namespace(x).__name__.startswith("cupy")


@pytest.mark.parametrize("family", sorted(FAMILIES))
@pytest.mark.parametrize("jac", [cr.jacrev, cr.jacfwd], ids=["rev", "fwd"])
def test_family_on_cupy_equals_numpy(family, jac):
    f = FAMILIES[family]
    want = jac(f)(X)
    got = jac(f)(cp.asarray(X))
    np.testing.assert_allclose(host(got), want, rtol=1e-10, atol=1e-12)


def mlp(params, X, Y):
    h = np.tanh(X @ params["W1"] + params["b1"])
    z = h @ params["W2"] + params["b2"]
    return -np.mean(np.sum(Y * (z - cnp.logsumexp(z, axis=1, keepdims=True)), axis=1))


def test_mlp_gradient_hvp_and_jvp_on_the_device():
    rng = np.random.default_rng(0)
    p = {
        "W1": rng.standard_normal((8, 16)) / 3,
        "b1": rng.standard_normal(16) / 10,
        "W2": rng.standard_normal((16, 4)) / 4,
        "b2": rng.standard_normal(4) / 10,
    }
    Xh, Yh = rng.standard_normal((32, 8)), np.eye(4)[rng.integers(0, 4, 32)]
    pd = {k: cp.asarray(v) for k, v in p.items()}
    Xd, Yd = cp.asarray(Xh), cp.asarray(Yh)
    want = cr.grad(mlp)(p, Xh, Yh)
    got = cr.grad(mlp)(pd, Xd, Yd)
    for k in p:
        assert isinstance(got[k], cp.ndarray)
        np.testing.assert_allclose(cp.asnumpy(got[k]), want[k], rtol=1e-10, atol=1e-12)
    v = rng.standard_normal(16)
    f = lambda b1, P, X, Y: mlp({**P, "b1": b1}, X, Y)
    _, hv = cr.hvp(lambda b: f(b, pd, Xd, Yd), (pd["b1"],), (cp.asarray(v),))
    _, hv_want = cr.hvp(lambda b: f(b, p, Xh, Yh), (p["b1"],), (v,))
    np.testing.assert_allclose(cp.asnumpy(hv), hv_want, rtol=1e-9, atol=1e-11)
    _, t = cr.jvp(lambda b: f(b, pd, Xd, Yd), (pd["b1"],), (cp.asarray(v),))
    _, t_want = cr.jvp(lambda b: f(b, p, Xh, Yh), (p["b1"],), (v,))
    np.testing.assert_allclose(cp.asnumpy(t), t_want, rtol=1e-10)


def test_least_squares_on_the_device():
    rng = np.random.default_rng(1)
    A, y, th = rng.standard_normal((500, 20)), rng.standard_normal(500), rng.standard_normal(20)
    loss = lambda th, A, y: np.mean((A @ th - y) ** 2)
    g = cr.grad(loss)(cp.asarray(th), cp.asarray(A), cp.asarray(y))
    assert isinstance(g, cp.ndarray)
    np.testing.assert_allclose(cp.asnumpy(g), 2 * A.T @ (A @ th - y) / 500, rtol=1e-10)
