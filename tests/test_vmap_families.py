"""cr.vmap over every rule family (the representatives of
tests/test_rule_families.py), with a batch axis other than 0 and a shared
(in_axes=None) argument: values, vmap(grad) and grad(vmap) equal the loop over
examples. And the functions issue #17 names: np.median, np.linalg.lstsq,
x.min()/x.max() methods (also with cr.at)."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from test_rule_families import FAMILIES, X

import chainrule as cr

XB = X[:, None] * (1.0 + 0.05 * np.arange(3))  # 3 examples on axis 1: distinct, positive
W = 0.01 * np.arange(6.0)  # shared by every example


def _loop(fn, w, xb):
    return np.stack([fn(w, xb[:, b]) for b in range(xb.shape[1])])


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_every_rule_family_under_vmap(family):
    f = FAMILIES[family]

    def g(w, x):
        return f(x + w)

    def total(w, x):
        return np.sum(np.sin(g(w, x)))

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        got = cr.vmap(g, in_axes=(None, 1), out_axes=-1)(W, XB)
        np.testing.assert_allclose(np.moveaxis(got, -1, 0), _loop(g, W, XB), rtol=1e-10, atol=1e-12)
        dx = cr.vmap(cr.grad(total, argnums=1), in_axes=(None, 1), out_axes=1)(W, XB)
        ref = _loop(cr.grad(total, argnums=1), W, XB)
        np.testing.assert_allclose(dx, ref.T, rtol=1e-9, atol=1e-11)
        dw = cr.grad(lambda w: np.sum(cr.vmap(total, in_axes=(None, 1))(w, XB)))(W)
        np.testing.assert_allclose(dw, ref.sum(0), rtol=1e-9, atol=1e-11)
    fallbacks = [w for w in caught if issubclass(w.category, cr.BatchingFallbackWarning)]
    assert not fallbacks, [str(w.message) for w in fallbacks]


def test_median_under_vmap():
    rng = np.random.default_rng(3)
    A = rng.standard_normal((5, 4, 7))
    for axis in (None, 0, -1):
        f = lambda x, axis=axis: np.median(x, axis=axis)  # noqa: E731
        np.testing.assert_allclose(cr.vmap(f, in_axes=1)(A), [f(A[:, b]) for b in range(4)])
    ties = np.array([[3.0, 1.0, 3.0, 2.0], [1.0, 4.0, 2.0, 3.0], [5.0, 5.0, 5.0, 1.0]])
    g = cr.vmap(cr.grad(np.median))(ties)
    # even count: half to each middle element; ties split their share evenly
    np.testing.assert_allclose(
        g, [[0.25, 0, 0.25, 0.5], [0, 0, 0.5, 0.5], [1 / 3, 1 / 3, 1 / 3, 0]]
    )
    np.testing.assert_allclose(g, [cr.grad(np.median)(t) for t in ties])
    h = cr.vmap(cr.grad(lambda x: np.median(x**2)))(A[:, 0])
    np.testing.assert_allclose(h, [cr.grad(lambda x: np.median(x**2))(a) for a in A[:, 0]])


@pytest.mark.parametrize("shape", [(6, 3), (3, 3), (3, 5)])
def test_lstsq_under_vmap(shape):
    rng = np.random.default_rng(4)
    m, n = shape
    A = rng.standard_normal((4, m, n))
    B = rng.standard_normal((4, m))
    C = rng.standard_normal((m, 2))  # shared right-hand side (a matrix)
    with warnings.catch_warnings():
        warnings.simplefilter("error", cr.BatchingFallbackWarning)
        x = cr.vmap(lambda a, b: np.linalg.lstsq(a, b)[0])(A, B)
        full = cr.vmap(np.linalg.lstsq, in_axes=(0, None))(A, C)
        loss = lambda a, b: np.sum(np.sin(np.linalg.lstsq(a, b)[0]))  # noqa: E731
        ga, gb = cr.vmap(cr.grad(loss, argnums=(0, 1)))(A, B)
        gA = cr.grad(lambda A: np.sum(cr.vmap(loss, in_axes=(0, None))(A, B[0])))(A)
    np.testing.assert_allclose(x, [np.linalg.lstsq(a, b)[0] for a, b in zip(A, B)], rtol=1e-12)
    refs = [np.linalg.lstsq(a, C) for a in A]
    for k in (0, 1, 3):  # solution, residuals (tall only), singular values
        np.testing.assert_allclose(full[k], np.stack([r[k] for r in refs]), rtol=1e-10, atol=1e-13)
    np.testing.assert_array_equal(full[2], [min(m, n)] * 4)
    for b in range(4):
        ra, rb = cr.grad(loss, argnums=(0, 1))(A[b], B[b])
        np.testing.assert_allclose(ga[b], ra, rtol=1e-10, atol=1e-13)
        np.testing.assert_allclose(gb[b], rb, rtol=1e-10, atol=1e-13)
        np.testing.assert_allclose(gA[b], cr.grad(loss)(A[b], B[0]), rtol=1e-10, atol=1e-13)
    # one entry against central differences
    eps, e = 1e-6, np.zeros((m, n))
    e[1, 0] = eps
    fd = (loss(A[2] + e, B[2]) - loss(A[2] - e, B[2])) / (2 * eps)
    np.testing.assert_allclose(ga[2][1, 0], fd, rtol=1e-6, atol=1e-9)


def test_lstsq_with_a_rank_deficient_example_does_what_the_loop_does():
    A = np.stack([np.eye(3) + 0.1, np.diag([1.0, 2.0, 0.0])])
    f = cr.grad(lambda a: np.sum(np.linalg.lstsq(a, np.arange(1.0, 4.0))[0] ** 2))
    try:
        ref = np.stack([f(a) for a in A])
    except NotImplementedError as err:  # a rank-deficient derivative refused: so is the batch
        with pytest.raises(NotImplementedError, match=str(err).split(":")[0]):
            cr.vmap(f)(A)
    else:
        np.testing.assert_allclose(cr.vmap(f)(A), ref, rtol=1e-10, atol=1e-12)


def test_min_max_methods_on_batched_values():
    X4 = np.array([[1.0, 3.0, 3.0, -2.0], [0.5, 0.5, 2.0, 2.0]])
    f = lambda x: x.max() - 2.0 * x.min() + x.reshape(2, 2).max(axis=0).sum()  # noqa: E731
    with warnings.catch_warnings():
        warnings.simplefilter("error", cr.BatchingFallbackWarning)
        np.testing.assert_allclose(cr.vmap(f)(X4), [f(x) for x in X4])
        g = cr.vmap(cr.grad(f))(X4)
        np.testing.assert_allclose(g, [cr.grad(f)(x) for x in X4])
        # ties share: x.max() of row 0 is split between entries 1 and 2 (both also
        # win a column of the reshaped max); the min, -2, is entry 3
        np.testing.assert_allclose(g[0], [0.0, 0.5 + 1.0, 0.5 + 1.0, -2.0])
        at = lambda x: cr.at(x)[1:3].set(x.max() + x.min())  # noqa: E731
        np.testing.assert_allclose(cr.vmap(at)(X4), [at(x) for x in X4])
        ga = cr.vmap(cr.grad(lambda x: np.sum(at(x) ** 2)))(X4)
        np.testing.assert_allclose(ga, [cr.grad(lambda x: np.sum(at(x) ** 2))(x) for x in X4])


def test_at_max_ties_are_shared_per_example_inside_vmap():
    X2 = np.array([[1.0, 2.0], [3.0, 0.0]])
    V2 = np.array([[1.0, 1.0], [3.0, 2.0]])  # example 0: a 3-way tie; example 1: 2-way

    def f(x, v):
        return cr.at(x)[np.array([0, 0])].max(v)[0]

    with warnings.catch_warnings():
        warnings.simplefilter("error", cr.BatchingFallbackWarning)
        gx, gv = cr.vmap(cr.grad(f, argnums=(0, 1)))(X2, V2)
        tx, tv = cr.vmap(cr.jacfwd(f, argnums=(0, 1)))(X2, V2)
    np.testing.assert_allclose(gx, [[1 / 3, 0.0], [0.5, 0.0]])
    np.testing.assert_allclose(gv, [[1 / 3, 1 / 3], [0.5, 0.0]])
    np.testing.assert_allclose(tx, gx)
    np.testing.assert_allclose(tv, gv)


def test_unique_under_vmap_when_every_example_has_as_many_values():
    X2 = np.array([[3.0, 1.0, 3.0, 2.0], [5.0, 5.0, 0.0, 1.0]])  # 3 unique values each

    def f(x):
        return np.unique(x) ** 2

    def loss(x):
        return np.sum(np.sin(np.unique(x)) * np.arange(3.0))

    with warnings.catch_warnings():
        warnings.simplefilter("error", cr.BatchingFallbackWarning)
        np.testing.assert_allclose(cr.vmap(f)(X2), [[1.0, 4.0, 9.0], [0.0, 1.0, 25.0]])
        g = cr.vmap(cr.grad(loss))(X2)
        jf, jr = cr.vmap(cr.jacfwd(f))(X2), cr.vmap(cr.jacrev(f))(X2)
        h = cr.vmap(cr.hessian(loss))(X2)
        u, inv, cnt = cr.vmap(lambda x: np.unique(x, return_inverse=True, return_counts=True))(X2)
    # a repeated value's cotangent is split evenly between its occurrences
    np.testing.assert_allclose(g[0], [np.cos(3.0), 0.0, np.cos(3.0), np.cos(2.0)])
    np.testing.assert_allclose(g, np.stack([cr.grad(loss)(x) for x in X2]), rtol=1e-12)
    np.testing.assert_allclose(jf, np.stack([cr.jacfwd(f)(x) for x in X2]), rtol=1e-12)
    np.testing.assert_allclose(jr, jf, rtol=1e-12)
    np.testing.assert_allclose(h, np.stack([cr.hessian(loss)(x) for x in X2]), atol=1e-12)
    np.testing.assert_array_equal(inv, [[2, 0, 2, 1], [2, 2, 0, 1]])
    np.testing.assert_array_equal(cnt, [[1, 1, 2], [1, 1, 2]])
    with pytest.raises(NotImplementedError, match="different numbers of unique values"):
        cr.vmap(f)(np.array([[1.0, 1.0], [1.0, 2.0]]))


@pytest.mark.parametrize(
    "f",
    [
        lambda x: np.nanmedian(x, axis=1),
        lambda x: np.nanquantile(x, [0.3, 0.5], axis=-1),
        lambda x: np.nanpercentile(x, 40.0),
    ],
)
def test_nan_quantiles_along_an_axis_under_vmap(f):
    A = np.random.default_rng(5).standard_normal((4, 3, 7))
    A[1, 2, 2] = np.nan
    A[3, 0, [1, 4, 5]] = np.nan  # the count of numbers differs per example and row
    with warnings.catch_warnings():
        warnings.simplefilter("error", cr.BatchingFallbackWarning)
        got = cr.vmap(f)(A)
        g = cr.vmap(cr.grad(lambda x: np.sum(f(x))))(A)
    np.testing.assert_allclose(got, np.stack([f(x) for x in A]), rtol=1e-12)
    np.testing.assert_allclose(g, np.stack([cr.grad(lambda x: np.sum(f(x)))(x) for x in A]))


def test_full_svd_and_clustered_eigenvalues_under_vmap():
    rng = np.random.default_rng(6)
    A = rng.standard_normal((3, 4, 3))
    f = lambda a: np.sum(np.sin(np.linalg.svd(a, full_matrices=True)[0]))  # noqa: E731
    with warnings.catch_warnings():
        warnings.simplefilter("error", cr.BatchingFallbackWarning)  # the complement batches
        np.testing.assert_allclose(
            cr.vmap(cr.grad(f))(A), np.stack([cr.grad(f)(a) for a in A]), rtol=1e-10, atol=1e-12
        )
    # repeated eigenvalues (a cluster in examples 0 and 1): the derivative map of the
    # clusters differs per example and runs per example, right either way
    E = np.stack([np.diag([1.0, 1.0, 2.0]), np.diag([3.0, 1.0, 3.0]), np.diag([1.0, 2.0, 3.0])])
    g = lambda a: np.sum(np.linalg.eigvalsh(a) ** 3 * np.arange(1.0, 4.0))  # noqa: E731
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", cr.BatchingFallbackWarning)
        got = cr.vmap(cr.grad(g))(E)
    np.testing.assert_allclose(got, np.stack([cr.grad(g)(e) for e in E]), rtol=1e-12, atol=1e-12)
    # the cluster {1, 1} of example 0 shares its cotangent: mean of 1*3 and 2*3
    np.testing.assert_allclose(np.diag(got[0]), [4.5, 4.5, 36.0])


def test_lstsq_with_mixed_ranks_in_one_batch():
    A = np.stack([np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]]), np.ones((3, 2))])  # ranks 2, 1
    b = np.array([1.0, 2.0, 3.0])
    x, res, rank, s = cr.vmap(lambda a: np.linalg.lstsq(a, b))(A)
    np.testing.assert_allclose(x, [np.linalg.lstsq(a, b)[0] for a in A], rtol=1e-12)
    np.testing.assert_allclose(s, [np.linalg.lstsq(a, b)[3] for a in A], rtol=1e-12)
    assert res.shape == (2, 0)  # NumPy gives residuals at full rank only
    np.testing.assert_array_equal(rank, [1, 1])  # the smallest rank of the batch
    loss = lambda a: np.sum(np.linalg.lstsq(a, b)[0] ** 2)  # noqa: E731
    try:
        ref = np.stack([cr.grad(loss)(a) for a in A])
    except NotImplementedError:  # rank-deficient derivatives refused: so is the batch
        with pytest.raises(NotImplementedError):
            cr.vmap(cr.grad(loss))(A)
    else:
        np.testing.assert_allclose(cr.vmap(cr.grad(loss))(A), ref, rtol=1e-10, atol=1e-12)
