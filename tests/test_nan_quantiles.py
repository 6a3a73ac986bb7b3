"""np.nanmedian, np.nanquantile and np.nanpercentile: NumPy's values for every
method, axis and keepdims, derivatives in both modes against finite differences
(NaN entries get none), jacfwd == jacrev, a traced q for the continuous
methods, second order, all-NaN slices and cr.vmap."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from test_cov_reductions import CONTINUOUS, METHODS  # quantile's methods, as named there

import chainrule as cr


def _data():
    x = np.random.default_rng(11).normal(size=(3, 7))
    x[0, 2] = np.nan
    x[1, [0, 5, 6]] = np.nan
    return x


X = _data()


def fd_jacobian(f, x, eps=1e-6):
    y = np.asarray(f(x))
    J = np.zeros(y.shape + x.shape)
    for i in np.ndindex(x.shape):
        if np.isnan(x[i]):
            continue
        e = np.zeros_like(x)
        e[i] = eps
        J[(...,) + i] = (f(x + e) - f(x - e)) / (2 * eps)
    return J


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize(
    "q,axis,keepdims",
    [(0.3, None, False), (np.array([0.0, 0.45, 0.9, 1.0]), 1, True), (0.62, 0, False)],
)
def test_nanquantile_values_and_jacobians(method, q, axis, keepdims):
    def f(x):
        return np.nanquantile(x, q, axis=axis, method=method, keepdims=keepdims)

    expect = f(X)
    value, _ = cr.jvp(f, (X,), (np.ones_like(X),))
    np.testing.assert_allclose(value, expect)
    assert np.shape(value) == np.shape(expect)
    Jf, Jr = cr.jacfwd(f)(X), cr.jacrev(f)(X)
    np.testing.assert_allclose(Jf, Jr)
    np.testing.assert_allclose(Jf, fd_jacobian(f, X), atol=1e-6)
    assert not np.any(Jf[..., np.isnan(X)]), "a NaN entry gets no derivative"


@pytest.mark.parametrize("method", CONTINUOUS)
def test_traced_q_for_continuous_methods(method):
    q = np.array([0.23, 0.71])  # away from the kinks where the index is whole

    def f(q):
        return np.nanquantile(X, q, axis=1, method=method)

    Jf, Jr = cr.jacfwd(f)(q), cr.jacrev(f)(q)
    np.testing.assert_allclose(Jf, Jr)
    np.testing.assert_allclose(Jf, fd_jacobian(f, q), rtol=1e-6, atol=1e-8)


def test_nanmedian_and_nanpercentile():
    g = cr.grad(lambda x: np.sum(np.nanmedian(x, axis=1)))(X)
    # row 0: six numbers, the two middle ones share; row 1: four; row 2: seven, one middle
    for row, n in zip(g, (6, 4, 7)):
        assert np.isclose(row.sum(), 1.0)
        assert np.count_nonzero(row) == (1 if n % 2 else 2)
    np.testing.assert_allclose(cr.jvp(np.nanmedian, (X,), (X,))[0], np.nanmedian(X))
    np.testing.assert_allclose(
        cr.jvp(lambda x: np.nanmedian(x, axis=0, keepdims=True), (X,), (X,))[0],
        np.nanmedian(X, axis=0, keepdims=True),
    )

    def f(x):
        return np.nanpercentile(x, [10, 90], axis=0, method="hazen")

    np.testing.assert_allclose(cr.jacfwd(f)(X), fd_jacobian(f, X), atol=1e-6)
    np.testing.assert_allclose(cr.jacrev(f)(X), cr.jacfwd(f)(X))


def test_second_order():
    x = np.where(np.isnan(X), np.nan, X)

    def f(x):
        return np.sum(np.nanquantile(x, [0.3, 0.8], axis=1) ** 3)

    H = cr.hessian(f)(x)
    assert np.all(np.isfinite(H))
    gf = cr.jacfwd(cr.grad(f))(x)
    np.testing.assert_allclose(H, gf)
    grad_fd = fd_jacobian(cr.grad(f), x)
    np.testing.assert_allclose(np.nan_to_num(H), grad_fd, atol=1e-6)
    clean = np.nan_to_num(X, nan=5.0)  # check_grads needs finite points
    cr.check_grads(lambda x: np.nanquantile(x, 0.4, axis=0) ** 2, (clean,), order=2)


def test_an_all_nan_slice_gives_nan_and_no_derivative():
    x = X.copy()
    x[2] = np.nan
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        expect = np.nanquantile(x, 0.5, axis=1)
        with pytest.warns(RuntimeWarning, match="All-NaN slice"):
            value, t = cr.jvp(lambda x: np.nanquantile(x, 0.5, axis=1), (x,), (np.ones_like(x),))
        J = cr.jacrev(lambda x: np.nanmedian(x, axis=1))(x)
    np.testing.assert_allclose(value, expect)
    assert np.isnan(value[2]) and np.isfinite(value[:2]).all()
    assert not np.any(J[2]) and not np.any(J[:, 2])


@pytest.mark.parametrize("method", ["linear", "hazen", "closest_observation", "midpoint"])
def test_under_vmap_each_row_counts_its_own_numbers(method):
    # the counts differ per example (6, 4, 7 numbers): the positions are per example
    # (order statistics at batched positions may run per example: a warning, not an error)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", cr.BatchingFallbackWarning)
        got = cr.vmap(lambda r: np.nanquantile(r, [0.4, 0.75], method=method))(X)
        g = cr.vmap(cr.grad(lambda r: np.sum(np.nanquantile(r, [0.4, 0.75], method=method))))(X)
        med = cr.vmap(np.nanmedian)(X)
    np.testing.assert_allclose(got, np.nanquantile(X, [0.4, 0.75], axis=1, method=method).T)
    loop = [cr.grad(lambda r: np.sum(np.nanquantile(r, [0.4, 0.75], method=method)))(x) for x in X]
    np.testing.assert_allclose(g, np.stack(loop))
    np.testing.assert_allclose(med, np.nanmedian(X, axis=1))
