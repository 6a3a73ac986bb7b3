"""Reductions, scans, statistics and norms against finite differences: both
modes, to second order, through plain NumPy calls, through ``chainrule.numpy``
and through ndarray methods, over every argument form NumPy accepts; values
against NumPy's own; the documented conventions at non-differentiable points
with exact values."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from conftest import rand
from hypothesis import given, settings
from hypothesis import strategies as st

import chainrule as cr
import chainrule.numpy as cnp
from chainrule.core.registry import FUNCTIONS

RNG = np.random.default_rng(7)


def away_from_zero(*shape):
    """Values in +-[0.5, 1.5]: no zeros, no ties, products of moderate size."""
    return RNG.uniform(0.5, 1.5, size=shape) * RNG.choice([-1.0, 1.0], size=shape)


def nan_mask(shape):
    """Some NaN positions, never a whole slice along any axis (except axis=())."""
    idx = np.indices(shape)
    mask = idx.sum(axis=0) % 3 == 1
    return mask & (idx[0] == 0) if len(shape) > 1 else mask


def with_nans(*shape):
    return np.where(nan_mask(shape), np.nan, rand(*shape))


def traced_value(f, *args):
    """``f``'s value computed while tracing (what a transform would see)."""
    return cr.vjp(f, *args)[0]


def check(f, *args, ref=None, jac=True, **kw):
    """check_grads to order 2; reverse Jacobian == forward Jacobian (batched
    rules of both modes); the traced value equals ``ref`` (NumPy on plain input)."""
    cr.check_grads(f, args, order=2, **kw)
    if jac:
        for i in range(len(args)):
            jr = cr.jacrev(f, argnums=i)(*args)
            jf = cr.jacfwd(f, argnums=i)(*args)
            np.testing.assert_allclose(jr, jf, rtol=1e-10, atol=1e-12)
    if ref is not None:
        np.testing.assert_allclose(traced_value(f, *args), ref, rtol=1e-12, atol=1e-12)


# --- reductions over axes ----------------------------------------------------------
# name: (input generator, has an ndarray method)
REDUCTIONS = {
    "sum": (rand, True),
    "prod": (away_from_zero, True),
    "mean": (rand, True),
    "max": (rand, True),
    "min": (rand, True),
    "amax": (rand, False),
    "amin": (rand, False),
    "ptp": (rand, False),
    "var": (rand, True),
    "std": (rand, True),
    "median": (rand, False),
    "nansum": (with_nans, False),
    "nanmean": (with_nans, False),
    "nanmax": (with_nans, False),
    "nanmin": (with_nans, False),
    "nanprod": (lambda *s: np.where(nan_mask(s), np.nan, away_from_zero(*s)), False),
}
AXES = [None, 0, 1, -1, (0, 2), (-1, -3), (2, 0, 1), ()]
VIA = ["numpy", "chainrule.numpy", "method"]


def _reducer(name, via, **kw):
    if via == "numpy":
        fn = getattr(np, name)
        return lambda x: fn(x, **kw)
    if via == "chainrule.numpy":
        fn = getattr(cnp, name)
        return lambda x: fn(x, **kw)
    return lambda x: getattr(x, name)(**kw)


@pytest.mark.parametrize("keepdims", [False, True])
@pytest.mark.parametrize("axis", AXES, ids=str)
@pytest.mark.parametrize("name", sorted(REDUCTIONS))
def test_reduction_axes(name, axis, keepdims):
    gen, has_method = REDUCTIONS[name]
    x = gen(2, 3, 4)
    if axis == () and name in ("nanmean", "nanmax", "nanmin"):
        pytest.skip("every NaN is an all-NaN slice: see test_all_nan_slices")
    kw = {"axis": axis, "keepdims": keepdims}
    ref = getattr(np, name)(x, **kw)
    for via in VIA[: 3 if has_method else 2]:
        check(_reducer(name, via, **kw), x, ref=ref)


@pytest.mark.parametrize("name", sorted(REDUCTIONS))
def test_reduction_of_0d_and_1d(name):
    gen, has_method = REDUCTIONS[name]
    for x in (np.float64(0.7), np.array(-1.3), gen(5)):
        for kw in ({}, {"keepdims": True}, {"axis": -1} if np.ndim(x) else {"axis": ()}):
            if name in ("var", "std") and np.size(x) == 1:
                continue  # zero variance: a kink (tested with the conventions)
            ref = getattr(np, name)(x, **kw)
            for via in VIA[: 3 if has_method else 2]:
                check(_reducer(name, via, **kw), x, ref=ref)


def test_statistics_of_0d():
    x = np.float64(0.7)
    cases = [
        lambda x: np.quantile(x, 0.3),
        lambda x: np.quantile(x, [0.2, 0.9], keepdims=True),
        lambda x: np.percentile(x, [10, 90], method="nearest"),
        lambda x: cnp.median(x),
        lambda x: np.average(x),
        lambda x: np.average(x, weights=np.float64(2.0), returned=True),
        lambda x: np.ptp(x),
        lambda x: np.linalg.vector_norm(x),
    ]
    for f in cases:
        check(f, x, ref=f(x), jac=not isinstance(f(x), tuple))
    check(lambda w: np.average(np.float64(3.0), weights=w), np.float64(1.5), ref=3.0)


@pytest.mark.parametrize("ddof", [0, 1, 2])
@pytest.mark.parametrize("name", ["var", "std"])
def test_var_std_ddof(name, ddof):
    x = rand(3, 4)
    for axis in (None, 0, -1, (0, 1)):
        for kd in (False, True):
            ref = getattr(np, name)(x, axis=axis, ddof=ddof, keepdims=kd)
            check(
                lambda x, axis=axis, kd=kd: getattr(np, name)(x, axis=axis, ddof=ddof, keepdims=kd),
                x,
                ref=ref,
            )
            check(
                lambda x, axis=axis, kd=kd: getattr(x, name)(axis, None, None, ddof, kd), x, ref=ref
            )
            check(
                lambda x, axis=axis, kd=kd: getattr(cnp, name)(x, axis, ddof=ddof, keepdims=kd),
                x,
                ref=ref,
            )


def test_var_std_correction_and_given_mean():
    x = rand(3, 4)
    ref = np.var(x, axis=1, correction=1)
    check(lambda x: np.var(x, axis=1, correction=1), x, ref=ref)
    check(lambda x: np.std(x, axis=0, correction=1), x, ref=np.std(x, axis=0, correction=1))
    m = np.mean(x, axis=1, keepdims=True)
    ref = np.var(x, axis=1, mean=m)
    check(lambda x: np.var(x, axis=1, mean=np.mean(x, axis=1, keepdims=True)), x, ref=ref)
    # the given mean is differentiated as an argument of its own
    check(lambda x, m: np.var(x, axis=1, mean=m), x, m + 0.3)
    with pytest.raises(ValueError, match="ddof and correction"):
        cr.grad(lambda x: np.var(x, ddof=1, correction=1))(x)


def test_degrees_of_freedom_exhausted_gives_numpys_value():
    x = rand(3)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        np.testing.assert_array_equal(traced_value(lambda x: np.var(x, ddof=3), x), np.inf)


@pytest.mark.parametrize(
    "name", ["sum", "prod", "mean", "var", "std", "nansum", "nanmean", "cumsum", "cumprod"]
)
def test_dtype_argument(name):
    x = away_from_zero(2, 3)
    for dtype in (np.float64, np.float32):
        f = lambda x, dtype=dtype: getattr(np, name)(x, axis=1, dtype=dtype)
        out = traced_value(f, x)
        assert out.dtype == np.dtype(dtype)
        np.testing.assert_allclose(out, getattr(np, name)(x, axis=1, dtype=dtype), rtol=1e-6)
        if dtype is np.float64:
            check(f, x)
        else:
            np.testing.assert_allclose(cr.jacrev(f)(x), cr.jacfwd(f)(x), rtol=1e-6)
            cr.check_grads(f, (x,), order=1, eps=1e-3, rtol=1e-2, atol=1e-3)


def test_refused_arguments():
    x = rand(3)
    with pytest.raises(TypeError):
        cr.grad(lambda x: np.sum(x, out=np.zeros(())))(x)
    with pytest.raises(NotImplementedError, match="where"):
        cr.grad(lambda x: np.var(x, where=x > 0))(x)
    with pytest.raises(NotImplementedError, match="initial"):
        cr.grad(lambda x: np.nanmax(x, initial=5.0))(x)
    with pytest.raises(np.exceptions.AxisError):
        cr.grad(lambda x: np.var(x, axis=2))(x)


# --- scans -------------------------------------------------------------------------
@pytest.mark.parametrize("axis", [None, 0, 1, 2, -1, -2], ids=str)
@pytest.mark.parametrize("name", ["cumsum", "cumprod", "nancumsum", "nancumprod"])
def test_scans(name, axis):
    x = away_from_zero(2, 3, 4) if "prod" in name else rand(2, 3, 4)
    if name.startswith("nan"):
        x.reshape(-1)[::5] = np.nan
    ref = getattr(np, name)(x, axis=axis)
    tol = {"rtol": 1e-12} if "prod" in name else {}
    check(lambda x: getattr(np, name)(x, axis=axis), x, **tol)
    check(lambda x: getattr(cnp, name)(x, axis), x)
    np.testing.assert_allclose(
        traced_value(lambda x: getattr(np, name)(x, axis=axis), x), ref, rtol=1e-13
    )
    if not name.startswith("nan"):
        check(lambda x: getattr(x, name)(axis), x)


@pytest.mark.parametrize("name", ["cumsum", "cumprod"])
def test_scans_of_0d_and_1d(name):
    for x in (np.float64(0.7), away_from_zero(1), away_from_zero(7)):
        for axis in (None, 0, -1):
            ref = getattr(np, name)(x, axis=axis)
            check(lambda x, axis=axis: getattr(np, name)(x, axis=axis), x, ref=ref)


def test_scan_axis_errors():
    with pytest.raises(np.exceptions.AxisError):
        cr.grad(lambda x: np.sum(np.cumsum(x, axis=2)))(rand(3, 2))
    with pytest.raises(np.exceptions.AxisError):
        cr.grad(lambda x: np.sum(np.cumprod(x, axis=1)))(np.float64(2.0))


# --- exact at zeros: prod and cumprod ----------------------------------------------
def test_prod_with_zeros_is_exact():
    np.testing.assert_array_equal(cr.grad(np.prod)(np.array([2.0, 0.0, 3.0])), [0.0, 6.0, 0.0])
    np.testing.assert_array_equal(cr.grad(np.prod)(np.array([2.0, 0.0, 3.0, 0.0])), 0.0)
    np.testing.assert_array_equal(
        cr.hessian(np.prod)(np.array([2.0, 0.0, 3.0])), [[0, 3, 0], [3, 0, 2], [0, 2, 0]]
    )
    np.testing.assert_array_equal(
        cr.hessian(np.prod)(np.array([2.0, 0.0, 3.0, 0.0])),
        [[0, 0, 0, 0], [0, 0, 0, 6], [0, 0, 0, 0], [0, 6, 0, 0]],
    )
    # a polynomial: finite differences are valid at the zeros too, to third order
    x = np.array([[0.0, 1.5, -2.0], [0.0, 0.0, 0.7], [1.1, 0.0, 0.9]])
    for axis in (None, 0, 1, (0, 1)):
        for kd in (False, True):
            check(
                lambda x, axis=axis, kd=kd: np.prod(x, axis=axis, keepdims=kd),
                x,
                ref=np.prod(x, axis, keepdims=kd),
            )
    cr.check_grads(np.prod, (x[0],), order=3)


def test_cumprod_with_zeros_is_exact():
    np.testing.assert_array_equal(
        cr.jacrev(np.cumprod)(np.array([2.0, 0.0, 3.0])), [[1, 0, 0], [0, 2, 0], [0, 6, 0]]
    )
    x = np.array([[0.0, 1.5, -2.0, 0.0], [0.5, 0.0, 0.7, 1.2], [1.1, 0.3, 0.9, -1.0]])
    for axis in (None, 0, 1):
        check(lambda x, axis=axis: np.cumprod(x, axis=axis), x, ref=np.cumprod(x, axis=axis))
    cr.check_grads(lambda x: np.cumprod(x), (x[1],), order=3)


def test_prod_of_empty_and_single_element():
    np.testing.assert_array_equal(cr.grad(lambda x: np.prod(x) * 1.0)(np.zeros(0)), np.zeros(0))
    np.testing.assert_array_equal(cr.grad(np.prod)(np.array([0.0])), [1.0])


# --- NaN-ignoring reductions --------------------------------------------------------
@pytest.mark.parametrize(
    "name", ["nansum", "nanmean", "nanmax", "nanmin", "nanprod", "nancumsum", "nancumprod"]
)
def test_nans_get_derivative_zero(name):
    x = np.array([0.5, np.nan, -1.0, np.nan, 2.0])
    g = cr.grad(lambda x: np.sum(getattr(np, name)(x)))(x)
    assert g[1] == 0.0 and g[3] == 0.0
    assert np.all(np.isfinite(g))


def test_all_nan_slices():
    x = np.array([[np.nan, np.nan], [1.0, 3.0]])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        for name in ("nanmean", "nanmax", "nanmin"):
            f = lambda x, name=name: getattr(np, name)(x, axis=1)
            np.testing.assert_array_equal(traced_value(f, x), getattr(np, name)(x, axis=1))
            for jac in (cr.jacrev(f)(x), cr.jacfwd(f)(x)):
                np.testing.assert_array_equal(jac[0], 0.0)
                assert np.all(np.isfinite(jac))
        np.testing.assert_array_equal(cr.jacrev(lambda x: np.nansum(x, axis=1))(x)[0], 0.0)


# --- max / min / ptp ties -----------------------------------------------------------
def test_ties_split_evenly():
    x = np.array([1.0, 3.0, 3.0, -2.0])
    np.testing.assert_array_equal(cr.grad(np.max)(x), [0, 0.5, 0.5, 0])
    np.testing.assert_array_equal(cr.grad(np.ptp)(x), [0, 0.5, 0.5, -1])
    np.testing.assert_array_equal(cr.grad(np.nanmax)(np.array([3.0, np.nan, 3.0])), [0.5, 0, 0.5])
    np.testing.assert_array_equal(
        cr.jacfwd(lambda x: np.min(x, axis=0))(np.array([[1.0, 2.0], [1.0, 0.0]])),
        [[[0.5, 0], [0.5, 0]], [[0, 0], [0, 1]]],
    )


# --- std and var at zero variance ---------------------------------------------------
def test_std_at_zero_variance_has_derivative_zero():
    for x in (np.full(3, 2.0), np.full(4, 0.1), np.float64(5.0)):
        for ddof in (0, 1):
            if np.size(x) == 1 and ddof:
                continue
            f = lambda x, ddof=ddof: np.std(x, ddof=ddof)
            np.testing.assert_array_equal(cr.grad(f)(x), np.zeros_like(x))
            np.testing.assert_array_equal(cr.jacfwd(f)(x), np.zeros_like(x))
            np.testing.assert_array_equal(
                cr.hessian(f)(x), np.zeros((np.size(x),) * 2 if np.ndim(x) else ())
            )
    # equal elements whose mean rounds: the variance comes out ~1e-34, not 0, yet the
    # deviations are all equal and the chain rule through the mean cancels them exactly
    np.testing.assert_array_equal(cr.grad(np.std)(np.full(3, 0.1)), 0.0)
    # one constant row among ordinary ones: only that row gets the convention
    x = np.array([[1.0, 1.0, 1.0], [0.3, -0.4, 1.2]])
    jac = cr.jacrev(lambda x: np.std(x, axis=1))(x)
    np.testing.assert_array_equal(jac[0], 0.0)
    d = x[1] - x[1].mean()
    np.testing.assert_allclose(jac[1, 1], d / (3 * np.std(x[1])))
    np.testing.assert_array_equal(cr.grad(np.var)(np.full(3, 2.0)), 0.0)


# --- average --------------------------------------------------------------------------
def test_average_without_weights():
    x = rand(2, 3, 4)
    for axis in (None, 0, -1, (0, 2)):
        for kd in (False, True):
            ref = np.average(x, axis=axis, keepdims=kd)
            check(lambda x, axis=axis, kd=kd: np.average(x, axis=axis, keepdims=kd), x, ref=ref)
            check(lambda x, axis=axis, kd=kd: cnp.average(x, axis, keepdims=kd), x, ref=ref)
            avg, scl = np.average(x, axis=axis, keepdims=kd, returned=True)
            got = traced_value(
                lambda x, axis=axis, kd=kd: np.average(x, axis=axis, keepdims=kd, returned=True), x
            )
            np.testing.assert_allclose(got[0], avg)
            np.testing.assert_array_equal(got[1], scl)
            assert np.shape(got[1]) == np.shape(scl)


WEIGHTED = [  # (x shape, weights shape, axis)
    ((2, 3, 4), (2, 3, 4), None),
    ((2, 3, 4), (2, 3, 4), 1),
    ((2, 3, 4), (3,), 1),
    ((2, 3, 4), (4,), -1),
    ((2, 3, 4), (2, 4), (0, 2)),
    ((2, 3, 4), (4, 2), (2, 0)),  # NumPy lays weights out in the order the axes were given
    ((5,), (5,), None),
    ((5,), (5,), 0),
]


@pytest.mark.parametrize("shapes", WEIGHTED, ids=str)
@pytest.mark.parametrize("keepdims", [False, True])
def test_average_with_weights(shapes, keepdims):
    xs, ws, axis = shapes
    x, w = rand(*xs), RNG.uniform(0.5, 2.0, size=ws)
    ref = np.average(x, axis=axis, weights=w, keepdims=keepdims)
    check(lambda x, w: np.average(x, axis=axis, weights=w, keepdims=keepdims), x, w, ref=ref)
    check(lambda x: np.average(x, axis, w, keepdims=keepdims), x, ref=ref)
    check(lambda w: np.average(x, axis, w, keepdims=keepdims), w, ref=ref)  # only w traced
    avg, scl = np.average(x, axis=axis, weights=w, returned=True, keepdims=keepdims)
    f = lambda x, w: np.average(x, axis, w, returned=True, keepdims=keepdims)
    got = traced_value(f, x, w)
    np.testing.assert_allclose(got[0], avg, rtol=1e-12)
    np.testing.assert_allclose(got[1], scl, rtol=1e-12)
    cr.check_grads(f, (x, w), order=2)


def test_average_errors():
    x = rand(2, 3)
    with pytest.raises(TypeError, match="Axis must be specified"):
        cr.grad(lambda x: np.average(x, weights=np.ones(3)))(x)
    with pytest.raises(ValueError, match="consistent"):
        cr.grad(lambda x: np.average(x, axis=0, weights=np.ones(3)))(x)
    with pytest.raises(ZeroDivisionError):
        cr.grad(lambda w: np.average(x, axis=1, weights=w)[0])(np.array([1.0, -1.0, 0.0]))


# --- median, quantile, percentile ------------------------------------------------------
METHODS = [
    "linear",
    "lower",
    "higher",
    "nearest",
    "midpoint",
    "inverted_cdf",
    "averaged_inverted_cdf",
    "closest_observation",
    "interpolated_inverted_cdf",
    "hazen",
    "weibull",
    "median_unbiased",
    "normal_unbiased",
]
CONTINUOUS = [
    "linear",
    "interpolated_inverted_cdf",
    "hazen",
    "weibull",
    "median_unbiased",
    "normal_unbiased",
]
QS = [0.3, np.float64(0.0), 1.0, np.array([0.1, 0.5, 0.77]), np.array([[0.2, 0.9], [0.45, 0.6]])]


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("q", QS, ids=str)
def test_quantile_methods(q, method):
    x = rand(3, 4, 5)
    for axis in (None, 1, -1, (0, 2)):
        for kd in (False, True):
            ref = np.quantile(x, q, axis=axis, method=method, keepdims=kd)
            f = lambda x, axis=axis, kd=kd: np.quantile(x, q, axis=axis, method=method, keepdims=kd)
            np.testing.assert_array_equal(traced_value(f, x), ref)  # bit for bit
            check(f, x)
    pq = q * 100
    ref = np.percentile(x, pq, axis=1, method=method)
    np.testing.assert_array_equal(
        traced_value(lambda x: cnp.percentile(x, pq, 1, method=method), x), ref
    )
    check(lambda x: np.percentile(x, pq, axis=1, method=method), x)


@pytest.mark.parametrize("n", [1, 2, 3, 4, 7, 8])
def test_quantile_values_for_every_method_and_size(n):
    x = rand(2, n)
    q = np.linspace(0.0, 1.0, 41)
    for method in METHODS:
        ref = np.quantile(x, q, axis=1, method=method)
        f = lambda x, method=method: np.quantile(x, q, axis=1, method=method)
        out, tangent = cr.jvp(f, (x,), (np.ones_like(x),))
        np.testing.assert_array_equal(out, ref, err_msg=method)
        np.testing.assert_allclose(tangent, 1.0, err_msg=method)  # weights sum to 1


def test_quantile_derivative_flows_to_the_order_statistics():
    x = np.array([4.0, 1.0, 3.0, 2.0, 5.0])  # sorted: 1 2 3 4 5 at positions 1 3 2 0 4
    np.testing.assert_allclose(cr.grad(lambda x: np.quantile(x, 0.3))(x), [0, 0, 0.2, 0.8, 0])
    np.testing.assert_allclose(
        cr.grad(lambda x: np.quantile(x, 0.3, method="lower"))(x), [0, 0, 0, 1, 0]
    )
    np.testing.assert_allclose(
        cr.grad(lambda x: np.percentile(x, 75, method="midpoint"))(x), [1, 0, 0, 0, 0]
    )
    np.testing.assert_allclose(cr.grad(np.median)(x), [0, 0, 1, 0, 0])
    np.testing.assert_allclose(cr.grad(np.median)(x[:4]), [0, 0, 0.5, 0.5])
    assert np.all(cr.hessian(lambda x: np.quantile(x, 0.3))(x) == 0)  # piecewise linear


def test_order_statistic_ties_split_evenly():
    np.testing.assert_allclose(cr.grad(np.median)(np.array([2.0, 1.0, 2.0])), [0.5, 0, 0.5])
    np.testing.assert_allclose(cr.grad(np.median)(np.array([2.0, 1.0, 5.0, 2.0])), [0.5, 0, 0, 0.5])
    np.testing.assert_allclose(
        cr.grad(lambda x: np.quantile(x, 1.0))(np.array([3.0, 3.0, 1.0])), [0.5, 0.5, 0]
    )


@pytest.mark.parametrize("axis", [None, 0, -1, (0, 1), (2, 0)], ids=str)
@pytest.mark.parametrize("keepdims", [False, True])
def test_median(axis, keepdims):
    for shape in ((2, 3, 4), (2, 3, 5)):
        x = rand(*shape)
        ref = np.median(x, axis=axis, keepdims=keepdims)
        check(lambda x: np.median(x, axis=axis, keepdims=keepdims), x, ref=ref)
        check(lambda x: cnp.median(x, axis, keepdims=keepdims), x, ref=ref)


@pytest.mark.parametrize("method", CONTINUOUS)
def test_quantile_is_differentiable_in_q(method):
    x = rand(3, 6)
    for q in (np.float64(0.37), np.array([0.13, 0.55, 0.81])):
        check(lambda x, q: np.quantile(x, q, axis=1, method=method), x, q)
        check(lambda q: np.percentile(x, q * 100, axis=1, method=method), q)
    # the derivative in q is the slope between the two order statistics
    x = np.array([1.0, 2.0, 4.0, 8.0])
    np.testing.assert_allclose(cr.grad(lambda q: np.quantile(x, q))(0.5), 3 * (4.0 - 2.0))


def test_quantile_nan_slices_give_nan_and_no_derivative():
    x = np.array([[1.0, np.nan, 3.0], [2.0, 0.5, 1.0]])
    for f in (lambda x: np.median(x, axis=1), lambda x: np.quantile(x, [0.2, 0.6], axis=1)):
        ref = f(x)
        np.testing.assert_array_equal(traced_value(f, x), ref)
        jac = cr.jacrev(f)(x)
        np.testing.assert_array_equal(jac[..., 0, :], 0.0)
        np.testing.assert_array_equal(cr.jacfwd(f)(x)[..., 0, :], 0.0)


def test_quantile_errors():
    x = rand(4)
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        cr.grad(lambda x: np.quantile(x, 1.5))(x)
    with pytest.raises(ValueError, match=r"\[0, 100\]"):
        cr.grad(lambda x: np.percentile(x, -1))(x)
    with pytest.raises(ValueError, match="not a valid method"):
        cr.grad(lambda x: np.quantile(x, 0.5, method="bogus"))(x)
    with pytest.raises(NotImplementedError, match="weights"):
        cr.grad(lambda x: np.quantile(x, 0.5, method="inverted_cdf", weights=np.ones(4)))(x)


def test_float32_quantile_keeps_numpys_dtype():
    x = rand(7).astype(np.float32)
    for q in (0.3, np.array([0.3, 0.6])):
        out = traced_value(lambda x, q=q: np.quantile(x, q), x)
        ref = np.quantile(x, q)
        assert out.dtype == ref.dtype
        # To the last bit or one float32 rounding away: NumPy's own float32
        # interpolation rounds differently between releases (2.0 against 2.4).
        np.testing.assert_allclose(out, ref, rtol=np.finfo(np.float32).eps, atol=0)


# --- norms ---------------------------------------------------------------------------
VECTOR_ORDS = [None, 2, 1, np.inf, -np.inf, 0, 3, 4, 0.5, 1.5, -1, -2, -np.pi]
MATRIX_ORDS = [None, "fro", "nuc", 1, -1, 2, -2, np.inf, -np.inf]


@pytest.mark.parametrize("ord", VECTOR_ORDS, ids=str)
def test_vector_norms(ord):
    x = away_from_zero(5)
    X = away_from_zero(2, 3, 4)
    cases = [
        (x, None, False),
        (x, 0, True),
        (x, -1, False),
        (X, 1, False),
        (X, -1, True),
        (X, (0,), False),
        (x[:1], None, False),
    ]
    for a, axis, kd in cases:
        if axis is None and ord is not None and a.ndim != 1:
            continue
        ref = np.linalg.norm(a, ord=ord, axis=axis, keepdims=kd)
        tol = {"rtol": 1e-4} if ord == 0.5 else {}
        check(
            lambda a, axis=axis, kd=kd, ord=ord: np.linalg.norm(a, ord=ord, axis=axis, keepdims=kd),
            a,
            ref=ref,
            **tol,
        )
        check(
            lambda a, axis=axis, kd=kd, ord=ord: cnp.linalg.norm(a, ord, axis, kd),
            a,
            ref=ref,
            **tol,
        )


@pytest.mark.parametrize("ord", MATRIX_ORDS, ids=str)
def test_matrix_norms(ord):
    A = rand(3, 4)
    S = rand(2, 3, 4)
    cases = [
        (A, None, False),
        (A, (0, 1), True),
        (A, (1, 0), False),
        (S, (1, 2), False),
        (S, (-1, 0), True),
        (S, (2, 1), False),
        (S, (0, -2), True),
    ]
    for a, axis, kd in cases:
        if axis is None and ord is None and a.ndim != 2:
            continue
        f = lambda a, axis=axis, kd=kd: np.linalg.norm(a, ord=ord, axis=axis, keepdims=kd)
        ref = np.linalg.norm(a, ord=ord, axis=axis, keepdims=kd)
        check(f, a, ref=ref)
        check(lambda a, axis=axis, kd=kd: cnp.linalg.norm(a, ord, axis, kd), a, ref=ref)


@pytest.mark.parametrize("ord", [2, 1, np.inf, -np.inf, 3, 0.5, 0], ids=str)
def test_vector_norm(ord):
    X = away_from_zero(2, 3, 4)
    for axis in (None, 1, -1, (0, 2), (2, 0), ()):
        for kd in (False, True):
            ref = np.linalg.vector_norm(X, ord=ord, axis=axis, keepdims=kd)
            f = lambda a, axis=axis, kd=kd: np.linalg.vector_norm(
                a, axis=axis, keepdims=kd, ord=ord
            )
            check(f, X, ref=ref)
            g = lambda a, axis=axis, kd=kd: cnp.linalg.vector_norm(
                a, axis=axis, keepdims=kd, ord=ord
            )
            check(g, X, ref=ref)


@pytest.mark.parametrize("ord", MATRIX_ORDS[1:], ids=str)
def test_matrix_norm(ord):
    X = rand(2, 3, 4)
    for kd in (False, True):
        ref = np.linalg.matrix_norm(X, ord=ord, keepdims=kd)
        check(lambda a, kd=kd: np.linalg.matrix_norm(a, keepdims=kd, ord=ord), X, ref=ref)
        check(lambda a, kd=kd: cnp.linalg.matrix_norm(a, keepdims=kd, ord=ord), X, ref=ref)


def test_norm_of_0d_and_flattened():
    check(np.linalg.norm, np.float64(-0.7), ref=0.7)
    X = rand(2, 3, 4)
    check(np.linalg.norm, X, ref=np.linalg.norm(X))
    check(lambda x: np.linalg.norm(x, keepdims=True), X, ref=np.linalg.norm(X, keepdims=True))


def test_norm_at_zero_has_derivative_zero():
    z = np.zeros(3)
    for ord in (None, 2, 1, np.inf, 3, 4, 0.5, 1.5):
        g = cr.grad(lambda x, ord=ord: np.linalg.norm(x, ord=ord))(z)
        np.testing.assert_array_equal(g, 0.0)
        np.testing.assert_array_equal(
            cr.jacfwd(lambda x, ord=ord: np.linalg.norm(x, ord=ord))(z), 0.0
        )
        assert np.all(np.isfinite(cr.hessian(lambda x, ord=ord: np.linalg.norm(x, ord=ord))(z)))
    for ord in (None, "fro", 1, np.inf):
        np.testing.assert_array_equal(
            cr.grad(lambda x, ord=ord: np.linalg.norm(x, ord))(np.zeros((2, 2))), 0.0
        )
    # a zero row among others: only that row's norm takes the convention
    X = np.array([[0.0, 0.0], [3.0, 4.0]])
    np.testing.assert_allclose(
        cr.jacrev(lambda x: np.linalg.norm(x, axis=1))(X), [[[0, 0], [0, 0]], [[0, 0], [0.6, 0.8]]]
    )
    # zero elements in |x|**p with p < 1: derivative 0 there, finite elsewhere
    x = np.array([0.0, 1.0, -2.0])
    for ord in (0.5, -1, -np.inf, 0):
        g = cr.grad(lambda x, ord=ord: np.linalg.norm(x, ord))(x)
        assert np.all(np.isfinite(g)) and g[0] == 0.0


def test_norm_errors():
    x = rand(3)
    with pytest.raises(ValueError, match="Invalid norm order"):
        cr.grad(lambda x: np.linalg.norm(x, "fro", axis=0))(x)
    with pytest.raises(ValueError, match="Invalid norm order for matrices"):
        cr.grad(lambda x: np.linalg.norm(x, 3))(rand(2, 2))
    with pytest.raises(ValueError, match="Improper number of dimensions"):
        cr.grad(lambda x: np.linalg.norm(x, 2))(rand(2, 2, 2))
    with pytest.raises(ValueError, match="Duplicate axes"):
        cr.grad(lambda x: np.linalg.norm(x, axis=(1, -1)))(rand(2, 2))


def test_norm_is_in_chainrule_numpy_linalg():
    assert cnp.linalg.norm is FUNCTIONS[np.linalg.norm]


# --- hessians of scalar functions: forward-over-reverse vs reverse-over-reverse ----------
HESSIAN_CASES = {
    "prod": lambda x: np.prod(x, axis=1),
    "prod with zeros": lambda x: np.prod(x * np.array([1.0, 0.0, 1.0, 1.0]), axis=0),
    "cumprod": lambda x: np.cumprod(x, axis=1),
    "cumsum": lambda x: np.cumsum(x * x),
    "var": lambda x: np.var(x, axis=0, ddof=1),
    "std": lambda x: np.std(x, axis=1),
    "median": lambda x: np.median(x * x, axis=1),
    "quantile": lambda x: np.quantile(np.sin(x), [0.2, 0.7], axis=0),
    "average": lambda x: np.average(x, axis=1, weights=x[0] ** 2 + 1.0),
    "norm": lambda x: np.linalg.norm(x, axis=1),
    "norm 3": lambda x: np.linalg.norm(x, 3, axis=0),
    "fro": lambda x: np.linalg.norm(x, "fro"),
    "matrix 1": lambda x: np.linalg.norm(x, 1),
    "nuclear": lambda x: np.linalg.norm(x, "nuc"),
    "spectral": lambda x: np.linalg.norm(x, 2),
    "spectral -2": lambda x: np.linalg.norm(x, -2),
    "nanmean": lambda x: np.nanmean(np.where([0, 1, 0, 0], np.nan, x), axis=1),
    "ptp": lambda x: np.ptp(x, axis=0),
}


@pytest.mark.parametrize("name", sorted(HESSIAN_CASES))
def test_hessian_forward_over_reverse_matches_reverse_over_reverse(name):
    f = HESSIAN_CASES[name]
    x = away_from_zero(3, 4)
    scalar = lambda x: np.sum(f(x) ** 2)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        h = cr.hessian(scalar)(x)
        np.testing.assert_allclose(h, cr.jacrev(cr.jacrev(scalar))(x), rtol=1e-9, atol=1e-12)
        np.testing.assert_allclose(h, cr.jacfwd(cr.jacfwd(scalar))(x), rtol=1e-9, atol=1e-12)


# --- Hypothesis: random shapes and axis arguments ----------------------------------------
@st.composite
def shape_and_axis(draw):
    shape = tuple(draw(st.lists(st.integers(1, 3), min_size=0, max_size=3)))
    nd = len(shape)
    kind = draw(st.sampled_from(["none", "int", "tuple"]))
    if kind == "none" or nd == 0:
        axis = None
    elif kind == "int":
        axis = draw(st.integers(-nd, nd - 1))
    else:
        picks = draw(st.lists(st.integers(0, nd - 1), unique=True, max_size=nd))
        axis = tuple(p - nd if draw(st.booleans()) else p for p in picks)
    return shape, axis, draw(st.booleans())


HYPO_FUNCS = [
    "sum",
    "prod",
    "mean",
    "max",
    "min",
    "ptp",
    "var",
    "std",
    "median",
    "nansum",
    "nanmax",
    "quantile",
    "average",
]


@settings(derandomize=True, max_examples=60, deadline=None)
@given(shape_and_axis(), st.sampled_from(HYPO_FUNCS))
def test_random_shapes_and_axes(case, name):
    shape, axis, keepdims = case
    x = away_from_zero(*shape)
    if name in ("var", "std"):
        axes = () if axis is None else axis if isinstance(axis, tuple) else (axis,)
        n = x.size if axis is None else int(np.prod([shape[a] for a in axes]))
        if n < 2:
            return  # zero variance is a kink; the conventions test covers it
    if name == "quantile":
        f = lambda x: np.quantile(x, [0.25, 0.8], axis=axis, keepdims=keepdims)
    else:
        f = lambda x: getattr(np, name)(x, axis=axis, keepdims=keepdims)
    check(f, x, ref=f(x))
