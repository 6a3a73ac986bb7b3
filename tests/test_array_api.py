"""The array API standard on traced values (chainrule/array_api.py).

SciPy and scikit-learn read SCIPY_ARRAY_API when first imported, so their
checks run in one subprocess each, which prints what the parent asserts."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from conftest import fd_jacobian

import chainrule as cr
import chainrule.array_api as xp


def both_modes(f, x):
    """Gradient of scalar f by reverse mode and by forward mode (jacfwd)."""
    return cr.grad(f)(x), cr.jacfwd(f)(x)


def test_namespace_of_traced_values_and_asarray_passes_them_through():
    seen = {}

    def f(x):
        ns = x.__array_namespace__()
        seen["ns"] = ns
        y = ns.asarray(x)
        seen["same"] = y is x
        return ns.sum(y * ns.asarray([1.0, 2.0, 3.0]))

    g = cr.grad(f)(np.ones(3))
    assert seen["ns"] is xp and seen["same"]
    np.testing.assert_array_equal(g, [1.0, 2.0, 3.0])
    assert xp.__array_api_version__ == "2024.12"
    plain = xp.asarray([1, 2])
    assert type(plain) is np.ndarray and plain.dtype == np.int64


def test_asarray_stacks_lists_of_traced_values_and_casts():
    f = lambda x: xp.sum(xp.asarray([x, x * x], dtype=xp.float32) ** 2)  # noqa: E731
    g_rev, g_fwd = both_modes(f, 1.5)
    assert g_rev == pytest.approx(2 * 1.5 + 4 * 1.5**3, rel=1e-6)
    assert g_fwd == pytest.approx(g_rev, rel=1e-6)


def test_unsupported_api_version_and_device_are_refused():
    def f(x):
        with pytest.raises(ValueError, match="2024.12, not '1999.01'"):
            x.__array_namespace__(api_version="1999.01")
        with pytest.raises(ValueError, match="device 'cpu'"):
            xp.asarray(x, device="cuda:0")
        with pytest.raises(ValueError, match="device 'cpu'"):
            x.to_device("gpu")
        assert x.device == "cpu" and x.to_device("cpu") is x
        with pytest.raises(TypeError, match="DLPack"):
            x.__dlpack__()
        return xp.sum(x)

    cr.grad(f)(np.ones(2))


@pytest.mark.parametrize(
    "name, f",
    [
        ("vecdot", lambda x: xp.sum(xp.vecdot(x, x * 2.0))),
        (
            "matrix_transpose",
            lambda x: xp.sum(xp.matrix_transpose(x) * xp.arange(6.0).reshape(3, 2)),
        ),
        ("mT", lambda x: xp.sum(x.mT * xp.arange(6.0).reshape(3, 2))),
        (
            "cumulative_sum",
            lambda x: xp.sum(xp.cumulative_sum(x, axis=1, include_initial=True) ** 2),
        ),
        ("cumulative_prod", lambda x: xp.sum(xp.cumulative_prod(x, axis=0))),
        ("linalg.trace", lambda x: xp.linalg.trace(x[:, :2] @ x[:, :2])),
        ("linalg.diagonal", lambda x: xp.sum(xp.linalg.diagonal(x, offset=1) ** 3)),
        ("linalg.vector_norm", lambda x: xp.sum(xp.linalg.vector_norm(x, axis=1))),
        ("sort descending", lambda x: xp.sum(xp.sort(x, axis=1, descending=True) * xp.arange(3.0))),
        ("concat/permute_dims", lambda x: xp.sum(xp.concat([x, xp.permute_dims(x, (0, 1))]) ** 2)),
        ("pow/atan2", lambda x: xp.sum(xp.pow(x, 2.0) + xp.atan2(x, 2.0))),
        ("full traced", lambda x: xp.sum(xp.full((2, 2), x[0, 0]) * x[:, :2])),
        ("fft", lambda x: xp.sum(xp.real(xp.fft.fft(x)) ** 2)),
    ],
)
def test_namespace_functions_differentiate_in_both_modes(name, f):
    x = np.array([[0.3, 1.2, -0.7], [0.5, -1.1, 0.9]])
    g_rev, g_fwd = both_modes(f, x)
    np.testing.assert_allclose(g_rev, fd_jacobian(f, x), rtol=1e-6, atol=1e-8, err_msg=name)
    np.testing.assert_allclose(g_fwd, g_rev, rtol=1e-10, atol=1e-12, err_msg=name)


def test_sorting_and_dtype_helpers():
    x = np.array([2.0, 1.0, 2.0, 0.5])
    np.testing.assert_array_equal(xp.argsort(x, descending=True), [0, 2, 1, 3])
    np.testing.assert_array_equal(xp.sort(x, descending=True), [2.0, 2.0, 1.0, 0.5])

    def f(x):
        assert xp.result_type(x, xp.float32) == np.float64
        assert xp.can_cast(x, xp.float32) is False
        assert xp.finfo(x).eps == np.finfo(np.float64).eps
        assert xp.isdtype(x.dtype, "real floating")
        assert xp.any(x > 1.5) and not xp.all(x > 1.5)
        return xp.sum(xp.astype(x, xp.float64) ** 2)

    np.testing.assert_allclose(cr.grad(f)(x), 2 * x)


def test_second_order_through_the_namespace():
    f = lambda x: xp.sum(xp.exp(x) * xp.vecdot(x, x))  # noqa: E731
    cr.check_grads(f, (np.array([0.2, -0.4, 0.1]),), order=2)


def test_in_place_update_of_an_owned_copy_rebinds_it():
    seen = {}

    def f(x):
        y = xp.asarray(x, copy=True)  # what array_api_extra's at(..., copy=True) does
        before = y * 1.0
        xp.rebind_setitem(y, 0, x[1] ** 2)  # its y[0] = x[1]**2
        seen["x unchanged"] = float(cr.stop_gradient(x)[0])
        return xp.sum(y * xp.asarray([1.0, 2.0, 3.0])) + 10.0 * before[0]

    x = np.array([0.5, 2.0, -1.0])
    g_rev, g_fwd = both_modes(f, x)
    # y = (x1**2, x1, x2): d/dx = (10, 2*x1 + 2, 3)
    np.testing.assert_allclose(g_rev, [10.0, 2 * 2.0 + 2.0, 3.0])
    np.testing.assert_allclose(g_fwd, g_rev)
    assert seen["x unchanged"] == 0.5

    def g(x):
        x[0] = 1.0  # user code: still immutable

    with pytest.raises(TypeError, match="Traced arrays are immutable"):
        cr.grad(g)(x)


def run_child(code: str) -> dict:
    env = dict(os.environ, SCIPY_ARRAY_API="1")
    out = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    assert out.returncode == 0, out.stderr[-3000:]
    return json.loads(out.stdout.strip().splitlines()[-1])


SCIPY_CHILD = """
import json
import numpy as np, chainrule as cr
import scipy.special as sp, scipy.stats as st

rng = np.random.default_rng(1)
x = rng.normal(size=5)
p = rng.uniform(0.1, 1.0, size=5)
w = rng.normal(size=5)  # a fixed direction, so every case is a scalar function
cases = {
    "logsumexp": (lambda v: sp.logsumexp(v), x),
    "softmax": (lambda v: sp.softmax(v) @ w, x),
    "log_softmax": (lambda v: sp.log_softmax(v) @ w, x),
    "zscore": (lambda v: st.zscore(v) @ w, x),
    "moment": (lambda v: st.moment(v, 3), x),
    "entropy": (lambda v: st.entropy(v), p),
    "gammaln": (lambda v: np.sum(sp.gammaln(v)), p),
}
plain = {
    "logsumexp": lambda v: sp.logsumexp(v), "softmax": lambda v: sp.softmax(v) @ w,
    "log_softmax": lambda v: sp.log_softmax(v) @ w, "zscore": lambda v: st.zscore(v) @ w,
    "moment": lambda v: st.moment(v, 3), "entropy": lambda v: st.entropy(v),
    "gammaln": lambda v: np.sum(sp.gammaln(v)),
}

def fd(f, v, eps=1e-6):
    return [(f(v + eps * e) - f(v - eps * e)) / (2 * eps) for e in np.eye(v.size)]

out = {}
for name, (f, v) in cases.items():
    value = cr.value_and_grad(f)(v)
    out[name] = {
        "value": float(value[0]), "plain": float(plain[name](v)),
        "grad": list(value[1]), "fwd": list(cr.jacfwd(f)(v)), "fd": fd(plain[name], v),
    }
print(json.dumps(out))
"""


def test_scipy_array_api_functions_differentiate_unmodified():
    pytest.importorskip("scipy")
    res = run_child(SCIPY_CHILD)
    for name, r in res.items():
        assert r["value"] == pytest.approx(r["plain"], rel=1e-12, abs=1e-14), name
        np.testing.assert_allclose(r["grad"], r["fd"], rtol=1e-6, atol=1e-8, err_msg=name)
        np.testing.assert_allclose(r["fwd"], r["grad"], rtol=1e-10, atol=1e-12, err_msg=name)


SKLEARN_CHILD = """
import json
import numpy as np, chainrule as cr, sklearn
import sklearn.metrics as M, sklearn.metrics.pairwise as P
sklearn.set_config(array_api_dispatch=True)
y = np.array([0.5, -1.0, 2.0, 0.3]); yp = np.array([0.4, -0.8, 2.5, 0.0])
labels = np.array([0, 1, 1, 0]); prob = np.array([0.2, 0.7, 0.6, 0.4])
X = np.array([[0.1, 0.5], [1.0, -0.3], [0.4, 0.9]])

def fd(f, v, eps=1e-6):
    g = np.zeros(v.shape)
    for i in np.ndindex(v.shape):
        e = np.zeros(v.shape); e[i] = eps
        g[i] = (f(v + e) - f(v - e)) / (2 * eps)
    return g.tolist()

works = {
    "mse_raw": (lambda v: M.mean_squared_error(y, v, multioutput="raw_values")[0], yp),
    "r2_raw": (lambda v: M.r2_score(y, v, multioutput="raw_values", force_finite=False)[0], yp),
    "rbf_kernel": (lambda v: np.sum(P.rbf_kernel(v, gamma=0.7) * np.arange(9.0).reshape(3, 3)), X),
}
out = {}
for name, (f, v) in works.items():
    value, g = cr.value_and_grad(f)(v)
    out[name] = {"value": float(value), "plain": float(f(v)), "grad": g.tolist(),
                 "fwd": cr.jacfwd(f)(v).tolist(), "fd": fd(f, v)}
refused = {
    "mean_squared_error": (lambda v: M.mean_squared_error(y, v), yp),
    "r2_score": (lambda v: M.r2_score(y, v), yp),
    "log_loss": (lambda v: M.log_loss(labels, v), prob),
}
for name, (f, v) in refused.items():
    try:
        cr.grad(f)(v)
        out[name] = "ok"
    except Exception as e:
        out[name] = type(e).__name__ + ": " + str(e)
print(json.dumps(out))
"""


def test_sklearn_through_the_array_api():
    pytest.importorskip("sklearn")
    res = run_child(SKLEARN_CHILD)
    for name in ("mse_raw", "r2_raw", "rbf_kernel"):  # rbf_kernel: sklearn's _fill_diagonal
        r = res[name]
        assert r["value"] == pytest.approx(r["plain"], rel=1e-12), name
        np.testing.assert_allclose(r["grad"], r["fd"], rtol=1e-6, atol=1e-8, err_msg=name)
        np.testing.assert_allclose(r["fwd"], r["grad"], rtol=1e-10, atol=1e-12, err_msg=name)
    # Measured, not working (docs/howto/array-api.md): scikit-learn returns
    # float(result), fills an array it made with xp.ones, or turns the labels
    # into a second (NumPy) namespace. Each stops with chainrule's or
    # array_api_compat's own error, never a wrong number.
    assert res["mean_squared_error"].startswith("ConversionError: float()")
    assert res["r2_score"].startswith("ConversionError: Converting to a NumPy array")
    assert res["log_loss"].startswith("TypeError: Multiple namespaces")
