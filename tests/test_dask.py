"""Dask arrays as inputs and constants of every transform (issue #20).

The derivative of a function of Dask arrays must equal the NumPy derivative
(both computed), in both modes, for one function of every rule family; the
results must be Dask arrays, and nothing may be computed before the user
asks: a dask callback counts every computation the engine would start
(``Array.__array__``, ``np.asarray`` of a Dask array, ``bool(...)`` all go
through ``compute``). The synchronous scheduler keeps this fast;
tests/test_dask_cluster.py runs on a real ``LocalCluster``.
"""

from __future__ import annotations

import sys

import numpy as np
import pytest

da = pytest.importorskip("dask.array")
dask = pytest.importorskip("dask")
from dask.callbacks import Callback  # noqa: E402

import chainrule as cr  # noqa: E402
import chainrule.numpy as cnp  # noqa: E402
from chainrule._backends import is_foreign, namespace  # noqa: E402

sys.path.insert(0, __file__.rsplit("/", 1)[0])
from test_rule_families import FAMILIES, X  # noqa: E402

pytestmark = pytest.mark.filterwarnings("ignore::FutureWarning")  # dask's "not implemented" notes


@pytest.fixture(autouse=True)
def _synchronous():
    with dask.config.set(scheduler="synchronous"):
        yield


class Computes(Callback):
    """Counts the computations dask starts while the block runs."""

    def __init__(self) -> None:
        super().__init__()
        self.count = 0

    def _start(self, dsk):
        self.count += 1


def lazy(x, chunks=3):
    return da.from_array(np.asarray(x), chunks=chunks)


def _matrix(x):
    return np.reshape(x, (2, 3)) @ np.reshape(x, (3, 2)) + np.eye(2)


# The family table's function where Dask can evaluate it; otherwise a function of
# the same rule module written in the forms Dask's own functions accept (np.insert
# needs axis=, median an axis, a matrix factorisation a matrix in one chunk).
DASK_FAMILIES = dict(FAMILIES)
DASK_FAMILIES.update(
    {
        "array_api_forms": lambda x: (
            np.linalg.vecdot(np.reshape(x, (2, 3)), np.reshape(x[::-1], (2, 3)))
            + np.linalg.matrix_transpose(np.reshape(x, (2, 3)))[0]
        ),
        "editing": lambda x: np.insert(x, 1, x[0] ** 2, axis=0),
        "linalg": lambda x: np.linalg.inv(np.reshape(x[:4], (2, 2)) + 3.0 * np.eye(2)) @ x[4:],
        "fft": lambda x: np.fft.fft(x).real * np.fft.fft(x).imag,
        "statistics": lambda x: np.var(x) + np.std(x[:4]) + np.mean(x**2),
    }
)
# Whole-array chunks where Dask's own function needs them (FFT along one chunk,
# np.linalg.solve on square chunks).
ONE_CHUNK = {"fft", "linalg"}
# unique's result has a data-dependent length: Dask cannot give it lazily.
NOT_LAZY = {"unique"}
# Families whose Dask run computes inside a rule: none (np.convolve, which Dask
# lacks, runs as a sliding sum in the operand's kind).
COMPUTES_INSIDE: set[str] = set()


def _dask_input(family):
    return lazy(X, chunks=-1 if family in ONE_CHUNK else 3)


@pytest.mark.parametrize("family", sorted(set(FAMILIES) - NOT_LAZY))
@pytest.mark.parametrize("jac", [cr.jacrev, cr.jacfwd], ids=["rev", "fwd"])
def test_family_derivative_on_dask_equals_numpy(family, jac):
    f = DASK_FAMILIES[family]
    want = jac(f)(X)
    got = jac(f)(_dask_input(family))
    (got,) = dask.compute(got)
    np.testing.assert_allclose(np.asarray(got), want, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("family", sorted(set(FAMILIES) - NOT_LAZY - COMPUTES_INSIDE))
def test_family_nothing_computed_before_the_user_computes(family):
    f = DASK_FAMILIES[family]
    x = _dask_input(family)
    with Computes() as c:
        g = cr.grad(lambda x: np.sum(f(x) ** 2))(x)
        out, t = cr.jvp(f, (x,), (np.ones(6),))
    assert c.count == 0
    # (the tangent of a linear function may be NumPy's: it depends on the tangent alone)
    assert isinstance(g, da.Array) and isinstance(out, da.Array)
    want_g = cr.grad(lambda x: np.sum(f(x) ** 2))(X)
    np.testing.assert_allclose(g.compute(), want_g, rtol=1e-10, atol=1e-12)
    want_out, want_t = cr.jvp(f, (X,), (np.ones(6),))
    (out, t) = dask.compute(out, t)
    np.testing.assert_allclose(out, want_out, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(t, want_t, rtol=1e-10, atol=1e-12)


def test_unique_of_a_dask_array_is_refused_with_what_to_do():
    with pytest.raises(NotImplementedError, match=r"unique of a Dask array.*x\.compute\(\)"):
        cr.grad(lambda x: np.sum(np.unique(x) ** 2))(lazy(X))


# --- the transforms ---------------------------------------------------------------
W = np.linspace(0.5, 2.0, 40)
A = np.random.default_rng(3).standard_normal((40, 3))
Y = np.random.default_rng(4).standard_normal(40)
THETA = np.array([0.3, -0.2, 0.5])


def wls(theta, w, A, y):
    r = A @ theta - y
    return np.sum(w * r**2) / r.shape[0]


def _check_lazy_equal(got, want):
    assert isinstance(got, da.Array), type(got)
    np.testing.assert_allclose(got.compute(), want, rtol=1e-12, atol=1e-14)


def test_grad_wrt_dask_inputs_and_constants_is_lazy_and_exact():
    w, Ad, yd = lazy(W, 8), lazy(A, (8, 3)), lazy(Y, 8)
    want_t, want_w = cr.grad(wls, argnums=(0, 1))(THETA, W, A, Y)
    with Computes() as c:
        g_t, g_w = cr.grad(wls, argnums=(0, 1))(THETA, w, Ad, yd)
    assert c.count == 0
    _check_lazy_equal(g_t, want_t)
    _check_lazy_equal(g_w, want_w)
    assert g_w.chunks == w.chunks  # the gradient keeps its input's chunks
    # closed form: d/dw_i = r_i^2 / N, d/dtheta = 2 A^T (w r) / N
    r = A @ THETA - Y
    np.testing.assert_allclose(g_w.compute(), r**2 / 40, rtol=1e-12)
    np.testing.assert_allclose(g_t.compute(), 2 * A.T @ (W * r) / 40, rtol=1e-12)


def test_value_and_grad_share_one_computation():
    w = lazy(W, 8)
    Ad = lazy(A, (8, 3))
    with Computes() as c:
        value, g = cr.value_and_grad(wls, argnums=1)(THETA, w, Ad, Y)
        assert c.count == 0
        v, gw = dask.compute(value, g)
    assert c.count == 1  # one graph for both, its common part run once
    np.testing.assert_allclose(v, wls(THETA, W, A, Y), rtol=1e-12)
    np.testing.assert_allclose(gw, (A @ THETA - Y) ** 2 / 40, rtol=1e-12)


def test_pytree_of_dask_leaves():
    params = {"w": lazy(W, 10), "theta": THETA}
    f = lambda p: wls(p["theta"], p["w"], A, Y)
    with Computes() as c:
        g = cr.grad(f)(params)
    assert c.count == 0
    want = cr.grad(f)({"w": W, "theta": THETA})
    np.testing.assert_allclose(np.asarray(g["w"]), want["w"], rtol=1e-12)
    np.testing.assert_allclose(g["theta"], want["theta"], rtol=1e-12)


def test_gradient_of_a_dask_input_is_a_dask_array_even_from_numpy_cotangents():
    g = cr.grad(lambda w: w @ Y**2)(lazy(W, 10))  # matmul's VJP: g * Y**2, NumPy alone
    _check_lazy_equal(g, Y**2)


def test_sum_spreads_its_cotangent_in_the_values_kind():
    # The seed (a NumPy 1.0) broadcast back over a Dask w: a lazy array chunked as
    # w is, never a full-size NumPy array copied into the graph.
    w = da.ones(40, chunks=10)  # no data in the graph
    c = Y**2
    g = cr.grad(lambda w: np.sum(w * c))(w)
    assert g.chunks == w.chunks
    held = [v for v in dict(g.__dask_graph__()).values() if isinstance(v, np.ndarray)]
    assert sum(v.nbytes for v in held) < 2 * c.nbytes  # c and the 1-element seed only
    _check_lazy_equal(g, c)


def test_like_input_makes_the_inputs_kind():
    from chainrule.transforms._inputs import like_input

    w = lazy(W, 10)
    g = like_input(Y**2, w)
    assert isinstance(g, da.Array) and g.chunks == w.chunks
    np.testing.assert_array_equal(g.compute(), Y**2)
    assert like_input(Y, W) is Y


def test_vjp_and_jvp_with_dask_inputs():
    f = lambda x: np.sin(x) * np.exp(x / 4.0)
    x, xd = W, lazy(W, 10)
    cot = np.cos(W)
    with Computes() as c:
        out, f_vjp = cr.vjp(f, xd)
        (ct,) = f_vjp(cot)
        out2, tan = cr.jvp(f, (xd,), (cot,))
    assert c.count == 0
    deriv = np.cos(x) * np.exp(x / 4.0) + np.sin(x) * np.exp(x / 4.0) / 4.0
    _check_lazy_equal(out, f(x))
    _check_lazy_equal(ct, cot * deriv)
    _check_lazy_equal(tan, cot * deriv)


def test_jvp_with_dask_tangents():
    f = lambda x: np.tanh(x) ** 2
    xd, td = lazy(W, 10), lazy(np.cos(W), 10)
    with Computes() as c:
        _, tan = cr.jvp(f, (xd,), (td,))
    assert c.count == 0
    _check_lazy_equal(tan, 2 * np.tanh(W) * (1 - np.tanh(W) ** 2) * np.cos(W))


def test_vjp_with_a_dask_cotangent_stays_lazy():
    _, f_vjp = cr.vjp(np.sin, lazy(W, 10))
    with Computes() as c:
        f_vjp(lazy(np.ones(40), 10))
    assert c.count == 0


def test_jacfwd_jacrev_hessian_and_hvp():
    f = lambda x: np.sum(np.log1p(x**2) * x[::-1])
    x, xd = W[:6], lazy(W[:6], 3)
    with Computes() as c:
        jf = cr.jacfwd(cr.grad(f))(xd)
        g, hv = cr.hvp(f, (xd,), (np.arange(6.0),))
        jr = cr.jacrev(lambda x: np.sin(x) * x.sum())(xd)
    assert c.count == 0
    H = cr.hessian(f)(x)
    _check_lazy_equal(jf, H)
    _check_lazy_equal(hv, H @ np.arange(6.0))
    _check_lazy_equal(g, cr.grad(f)(x))
    _check_lazy_equal(jr, cr.jacrev(lambda x: np.sin(x) * x.sum())(x))


def test_second_order_on_dask_matches_finite_differences():
    f = lambda x: np.sum(np.exp(-(x**2)) * np.cos(x))
    xd = lazy(W[:5], 2)
    H = np.asarray(cr.jacfwd(cr.grad(f))(xd).compute())
    eps = 1e-5
    g = cr.grad(f)
    fd = np.stack([(g(W[:5] + eps * e) - g(W[:5] - eps * e)) / (2 * eps) for e in np.eye(5)])
    np.testing.assert_allclose(H, fd, rtol=1e-6, atol=1e-8)


def test_logsumexp_and_fancy_indexing_on_dask():
    idx = np.array([0, 2, 2, 5])  # a repeated index: its cotangents add up
    f = lambda x: cnp.logsumexp(x[idx] * 2.0) + np.max(x)
    x = W[:6]
    with Computes() as c:
        g = cr.grad(f)(lazy(x, 3))
        jr = cr.jacrev(lambda x: x[idx] ** 2)(lazy(x, 3))
    assert c.count == 0
    _check_lazy_equal(g, cr.grad(f)(x))
    _check_lazy_equal(jr, cr.jacrev(lambda x: x[idx] ** 2)(x))


def test_dask_input_refused_for_integer_dtype():
    with pytest.raises(TypeError, match="integer dtype int64.*astype"):
        cr.grad(lambda x: np.sum(x))(da.arange(4, chunks=2))


def test_a_dask_output_that_does_not_depend_on_the_input():
    c = lazy(W, 10)
    out, tan = cr.jvp(lambda x: (x * 2.0, c + 1.0), (1.0,), (1.0,))
    assert isinstance(out[1], da.Array)
    np.testing.assert_allclose(out[1].compute(), W + 1.0)
    zero = tan[1]
    assert isinstance(zero, da.Array) and zero.chunks == c.chunks
    np.testing.assert_array_equal(zero.compute(), np.zeros(40))


def test_the_namespace_of_a_dask_array():
    x = lazy(W, 10)
    assert is_foreign(x) and not is_foreign(W) and not is_foreign(1.0)
    assert namespace(x) is da
    assert namespace(W) is np
