"""numpy.unique (and the array-API unique_*) differentiate through the unique
values: the permutation finite differences see where no values are tied, the
even split of max ties where they are, in both modes and to second order; the
index, inverse and counts companions are plain integers equal to NumPy's."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import fd_jacobian

import chainrule as cr
from chainrule.core.trace import Tracer

RNG = np.random.default_rng(5)


@pytest.mark.parametrize("shape", [(5,), (3, 4)], ids=str)
def test_unique_without_ties_matches_finite_differences(shape):
    x = RNG.normal(size=shape)
    want = fd_jacobian(np.unique, x)
    np.testing.assert_allclose(cr.jacrev(np.unique)(x), want, atol=1e-9)
    np.testing.assert_allclose(cr.jacfwd(np.unique)(x), want, atol=1e-9)
    cr.check_grads(lambda x: np.sum(np.unique(x) ** 3), (x,), order=2, modes=("fwd", "rev"))


def test_unique_ties_split_evenly_in_both_modes():
    x = np.array([3.0, 1.0, 3.0, 3.0, 2.0])
    # unique values [1, 2, 3]; 3 occurs three times: each occurrence gets 1/3
    want = np.array([[0, 1, 0, 0, 0], [0, 0, 0, 0, 1], [1 / 3, 0, 1 / 3, 1 / 3, 0]])
    np.testing.assert_allclose(cr.jacrev(np.unique)(x), want)
    np.testing.assert_allclose(cr.jacfwd(np.unique)(x), want)
    g = cr.grad(lambda x: np.sum(np.unique(x) ** 2))(x)
    np.testing.assert_allclose(g, [2.0, 2.0, 2.0, 2.0, 4.0])
    h = cr.hessian(lambda x: np.sum(np.unique(x) ** 2))(x)
    np.testing.assert_allclose(h, 2 * want.T @ want)
    # the value is the element itself, bit for bit (not a recomputed mean)
    x = np.array([0.1, 0.1, 0.1])
    assert cr.value_and_grad(lambda x: np.unique(x)[0])(x)[0] == 0.1


def test_unique_companions_are_numpys_integers():
    x = np.array([[2.0, 1.0, 2.0], [5.0, 1.0, 0.5]])
    want = np.unique(x, return_index=True, return_inverse=True, return_counts=True)
    seen = {}

    def f(x):
        u, index, inverse, counts = np.unique(
            x, return_index=True, return_inverse=True, return_counts=True
        )
        seen.update(index=index, inverse=inverse, counts=counts)
        return np.sum(u * np.arange(1.0, 5.0))

    g = cr.grad(f)(x)
    for name, w in zip(("index", "inverse", "counts"), want[1:]):
        assert not isinstance(seen[name], Tracer)
        np.testing.assert_array_equal(seen[name], w)
        assert seen[name].dtype.kind == "i"
    # u = [0.5, 1, 2, 5]: 1 and 2 occur twice, their weights 2 and 3 are split
    np.testing.assert_allclose(g, [[1.5, 1.0, 1.5], [4.0, 1.0, 1.0]])
    np.testing.assert_allclose(cr.jacfwd(f)(x), g)


def test_unique_axis():
    a = np.array([[1.0, 2.0], [1.0, 2.0], [0.0, 1.0]])
    np.testing.assert_array_equal(
        cr.jvp(lambda a: np.unique(a, axis=0), (a,), (a,))[0], np.unique(a, axis=0)
    )
    jr = cr.jacrev(lambda a: np.unique(a, axis=0))(a)
    want = np.zeros((2, 2, 3, 2))
    want[0, :, 2, :] = np.eye(2)  # row [0, 1] from row 2
    want[1, :, 0, :] = want[1, :, 1, :] = np.eye(2) / 2  # row [1, 2], twice
    np.testing.assert_allclose(jr, want)
    np.testing.assert_allclose(cr.jacfwd(lambda a: np.unique(a, axis=0))(a), want)
    b = RNG.normal(size=(3, 4))
    for axis in (0, 1, -1):
        f = lambda b, axis=axis: np.unique(b, axis=axis)  # noqa: E731
        want = fd_jacobian(f, b)
        np.testing.assert_allclose(cr.jacrev(f)(b), want, atol=1e-9)
        np.testing.assert_allclose(cr.jacfwd(f)(b), want, atol=1e-9)


def test_array_api_unique_functions():
    x = np.array([2.0, -1.0, 2.0, 4.0])
    want = np.array([[0, 1, 0, 0], [0.5, 0, 0.5, 0], [0, 0, 0, 1]])
    for name in ("unique_values", "unique_counts", "unique_inverse", "unique_all"):
        fn = getattr(np, name)

        def values(x, fn=fn):
            r = fn(x)
            return r if isinstance(r, (np.ndarray, Tracer)) else r.values

        np.testing.assert_array_equal(values(x), [-1.0, 2.0, 4.0])
        np.testing.assert_allclose(cr.jacrev(values)(x), want, err_msg=name)
        np.testing.assert_allclose(cr.jacfwd(values)(x), want, err_msg=name)
    seen = {}

    def f(x):
        r = np.unique_all(x)
        seen["r"] = r
        return np.sum(r.values)

    cr.grad(f)(x)
    want_all = np.unique_all(x)
    assert type(seen["r"]) is type(want_all)
    for got, w in zip(seen["r"][1:], want_all[1:]):
        np.testing.assert_array_equal(got, w)
    assert np.unique_counts(x).counts.tolist() == [1, 2, 1]
    assert np.unique_inverse(x).inverse_indices.tolist() == [1, 0, 1, 2]
