"""Sparsity detection (cr.jacobian_sparsity, cr.hessian_sparsity): the pattern
found by tracing covers every nonzero of the dense Jacobian (jacfwd) for each
rule family and for random programs, and equals it for stencil problems, also
at points where the values are zero."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st
from test_random_programs import build, programs

import chainrule as cr
from chainrule.sparse.detect import hessian_sparsity, jacobian_sparsity

RNG = np.random.default_rng(18)


def dense_nonzeros(f, x):
    y = f(x)
    return np.asarray(cr.jacfwd(f)(x)).reshape(np.size(y), np.size(x)) != 0


def detected(f, x):
    p = jacobian_sparsity(f)(x)
    assert isinstance(p, sp.csr_array) and p.dtype == np.bool_
    assert p.shape == (np.size(f(x)), np.size(x))
    return p.toarray()


def assert_covers(f, x):
    p, j = detected(f, x), dense_nonzeros(f, x)
    missing = np.argwhere(j & ~p)
    assert missing.size == 0, f"true nonzeros missing from the pattern: {missing[:5]}"
    return p, j


def assert_exact(f, x):
    p, j = assert_covers(f, x)
    np.testing.assert_array_equal(p, j)


X = RNG.uniform(0.5, 1.5, (3, 4))

FAMILIES = {
    # elementwise with broadcasting
    "sin*row": lambda x: np.sin(x) * x[0],
    "col+": lambda x: x[:, :1] + np.exp(x) / (1 + x[:, 2:3] ** 2),
    "maximum": lambda x: np.maximum(x, x[::-1]),
    "abs,where": lambda x: np.where(x > 1.0, x, -x[::-1]),
    # reductions
    "sum0": lambda x: np.sum(x, axis=0),
    "prod1": lambda x: np.prod(x, axis=1),
    "max1": lambda x: np.max(x, axis=1, keepdims=True) * x,
    "mean-all": lambda x: np.mean(x) + x,
    "logsumexp": lambda x: cr.numpy.logsumexp(x, axis=0),
    # shape ops
    "reshape,T": lambda x: x.reshape(4, 3).T * 2.0,
    "moveaxis": lambda x: np.moveaxis(x[None], 0, 2),
    "squeeze": lambda x: np.squeeze(np.expand_dims(x, 1), 1),
    "concat": lambda x: np.concatenate([x[:, :2], np.ones((3, 1)), x[:, 1:] ** 2], axis=1),
    "stack": lambda x: np.stack([x[0], x[2] * x[1]]),
    "split": lambda x: np.split(x, 2, axis=1)[1] - np.split(x, 2, axis=1)[0] ** 2,
    "broadcast_to": lambda x: np.broadcast_to(x[1], (2, 4)),
    "roll,flip": lambda x: np.roll(x, 1, axis=1) * np.flip(x, 0),
    "pad": lambda x: np.pad(x, 1),
    # indexing
    "fancy": lambda x: x[[2, 0, 0], [1, 3, 3]],
    "mask": lambda x: x[np.array([True, False, True])],
    "slice-step": lambda x: x[::2, 1::2] * x[1, 3],
    # cr.at updates
    "at-set": lambda x: cr.at(x)[1, :2].set(x[0, :2] ** 2),
    "at-add": lambda x: cr.at(x)[[0, 0, 2]].add(x[1] * 3.0),
    # products
    "matmul": lambda x: x @ x.T,
    "matmul-vec": lambda x: x.T @ x[:, 0],
    "matmul-stack": lambda x: np.stack([x, 2 * x]) @ x[0][:, None],
    "dot": lambda x: np.dot(x[0], x[1]) * x,
    "outer": lambda x: np.outer(x[0], x[1]),
    "einsum": lambda x: np.einsum("ii->i", x[:, :3]) * np.einsum("ij,kj->ik", x, x**2),
    "tensordot": lambda x: np.tensordot(x, x[:, :2], axes=([0], [0])),
    # running and sorting
    "cumsum": lambda x: np.cumsum(x, axis=1),
    "cumprod": lambda x: np.cumprod(x, axis=0),
    "sort": lambda x: np.sort(x, axis=1),
    "median1": lambda x: np.median(x, axis=1),
    "quantile0": lambda x: np.quantile(x, [0.25, 0.9], axis=0),
    # linalg: dense blocks
    "inv": lambda x: np.linalg.inv(x[:, :3] + 3 * np.eye(3)),
    "det": lambda x: np.linalg.det(x[:, 1:] + np.eye(3)) * x[0, 0],
}


@pytest.mark.parametrize("name", sorted(FAMILIES))
def test_families_cover_the_nonzeros(name):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # a dense fallback is still a cover
        assert_covers(FAMILIES[name], X)


@pytest.mark.parametrize(
    "name",
    "sin*row sum0 reshape,T concat split fancy at-add roll,flip cumsum outer einsum "
    "matmul-stack".split(),
)
def test_structural_families_are_exact(name):
    assert_exact(FAMILIES[name], X)


def test_at_set_replaces_the_rows_it_writes():
    p = detected(FAMILIES["at-set"], X)
    # x[1, 0] was overwritten by x[0, 0]**2: no dependence on its old value
    assert not p[4, 4] and p[4, 0]
    assert_exact(FAMILIES["at-set"], X)


def test_matmul_is_structural_not_numeric():
    # at zero every product term vanishes; the pattern is that of a random point
    f = lambda v: v.reshape(2, 3) @ v.reshape(3, 2)  # noqa: E731
    p0 = detected(f, np.zeros(6))
    assert_exact(f, RNG.uniform(0.5, 1.5, 6))
    np.testing.assert_array_equal(p0, detected(f, RNG.uniform(0.5, 1.5, 6)))
    assert p0[0].tolist() == [True, True, True, False, True, False]  # v0..v2 and v0, v2, v4


def test_sparse_constant_operator():
    n = 7
    lap = sp.diags_array([1.0, -2.0, 1.0], offsets=[-1, 0, 1], shape=(n, n)).tocsr()
    f = lambda u: lap @ u + u**2  # noqa: E731
    p = detected(f, RNG.standard_normal(n))
    np.testing.assert_array_equal(p, lap.toarray() != 0)


def test_value_dependent_choice_takes_both_branches():
    # np.where on a comparison of traced values: both sides count, so the
    # pattern also holds at points on the other side
    f = lambda x: np.where(x > 0, x, x[::-1] ** 2)  # noqa: E731
    p = detected(f, np.array([1.0, 2.0, 3.0]))
    np.testing.assert_array_equal(p, np.eye(3, dtype=bool) | np.eye(3, dtype=bool)[::-1])


def test_sort_follows_the_permutation_at_the_point():
    # np.sort's derivative follows the permutation that sorts the values at the
    # point (stable among ties); that permutation is part of the traced path, so
    # each sorted element depends on exactly the one input at its rank there.
    x = np.array([[3.0, 1.0, 2.0, 1.0], [0.0, 5.0, -1.0, 2.0]])
    for f in (lambda x: np.sort(x, axis=1), lambda x: np.sort(x, axis=None)):
        p = detected(f, x)
        np.testing.assert_array_equal(p, dense_nonzeros(f, x))
        assert (p.sum(axis=0) == 1).all() and (p.sum(axis=1) == 1).all()  # a permutation
    p = detected(lambda x: np.sort(x, axis=1), x)
    order = np.argsort(x, axis=1, kind="stable") + 4 * np.arange(2)[:, None]
    np.testing.assert_array_equal(np.flatnonzero(p), np.arange(8) * 8 + order.ravel())
    assert p[0, 1] and p[1, 3]  # the tie 1.0, 1.0: the stable order, as jacfwd takes
    # at another point the order, and so the pattern, is that point's
    y = x[:, ::-1].copy()
    assert not np.array_equal(detected(lambda x: np.sort(x, axis=1), y), p)
    # a zero value at the point hides nothing: sort(z) = (z1, z0, z2), and
    # sort(z)[1] * z[1] = z0 z1 depends on z1 although its derivative z0 is 0 here
    z = np.array([0.0, -2.0, 1.0])
    f = lambda x: np.sort(x) * x  # noqa: E731
    want = np.array([[1, 1, 0], [1, 1, 0], [0, 0, 1]], bool)
    np.testing.assert_array_equal(detected(f, z), want)
    assert cr.jacfwd(f)(z)[1, 1] == 0.0
    sj = cr.sparse_jacobian(lambda x: np.sort(x, axis=1) ** 2)
    np.testing.assert_array_equal(
        sj(x).toarray(), cr.jacfwd(lambda x: np.sort(x, axis=1) ** 2)(x).reshape(8, 8)
    )


def test_order_statistics_take_their_own_line_only():
    # median / quantile along an axis: every element of that line (which one is
    # picked depends on the values), nothing from the other lines
    p = detected(lambda x: np.median(x, axis=1), X)
    np.testing.assert_array_equal(p, np.kron(np.eye(3, dtype=bool), np.ones((1, 4), bool)))
    q = detected(lambda x: np.quantile(x, [0.25, 0.9], axis=0), X)
    column = np.tile(np.eye(4, dtype=bool), (1, 3))  # quantile of column j: x[:, j]
    np.testing.assert_array_equal(q, np.vstack([column, column]))
    assert detected(lambda x: np.median(x), X).all()


def test_indexing_by_a_traced_argsort_takes_every_element_of_the_axis():
    # x[np.argsort(x)] written out: the index is computed from traced values, so
    # any element may land anywhere (conservative; np.sort is the exact form)
    x = np.array([3.0, 1.0, 2.0])
    p = detected(lambda x: x[np.argsort(x)], x)
    assert p.all()
    assert detected(lambda x: np.sort(x), x).sum() == 3


def test_unknown_primitive_warns_and_is_dense():
    f = lambda x: np.fft.fft(x).real[:2] + x[:2]  # noqa: E731
    with pytest.warns(UserWarning, match="no sparsity rule for"):
        p = detected(f, RNG.standard_normal(4))
    assert p.all()


# -- stencils: exact, also at zero ---------------------------------------------


def laplace1d(u):
    return np.roll(u, 1) + np.roll(u, -1) - 2.0 * u


def laplace2d(u):
    g = u.reshape(6, 5)
    out = np.roll(g, 1, 0) + np.roll(g, -1, 0) + np.roll(g, 1, 1) + np.roll(g, -1, 1) - 4 * g
    return out.ravel()


def brusselator(n, a=1.0, b=3.4, alpha=0.002):
    def f(y):
        u, v = y[: n * n].reshape(n, n), y[n * n :].reshape(n, n)

        def lap(w):
            return (
                np.roll(w, 1, 0) + np.roll(w, -1, 0) + np.roll(w, 1, 1) + np.roll(w, -1, 1) - 4 * w
            )

        du = a + u * u * v - (b + 1) * u + alpha * n * n * lap(u)
        dv = b * u - u * u * v + alpha * n * n * lap(v)
        return np.concatenate([du.ravel(), dv.ravel()])

    return f


@pytest.mark.parametrize("point", ["random", "zero"])
@pytest.mark.parametrize("case", ["lap1d", "lap2d", "brusselator"])
def test_stencils_exact(case, point):
    f, n = {
        "lap1d": (laplace1d, 9),
        "lap2d": (laplace2d, 30),
        "brusselator": (brusselator(5), 50),
    }[case]
    x = RNG.uniform(0.5, 1.5, n) if point == "random" else np.zeros(n)
    p = detected(f, x)
    if point == "random":
        np.testing.assert_array_equal(p, dense_nonzeros(f, x))
    else:  # at zero u*u*v has a zero Jacobian; the pattern must not lose it
        np.testing.assert_array_equal(p, detected(f, RNG.uniform(0.5, 1.5, n)))
        if case == "brusselator":  # 5-point stencil and the other species
            assert p.sum() == n * 6


def test_brusselator_row_count():
    p = jacobian_sparsity(brusselator(8))(np.zeros(128))
    assert p.nnz == 128 * 5 + 128  # each species: 5 neighbours and the other species


# -- random programs -----------------------------------------------------------


@settings(derandomize=True, max_examples=60, deadline=None)
@given(programs(), st.integers(0, 2**16))
def test_random_programs_covered(program, seed):
    shape, steps = program
    x = np.random.default_rng(seed).uniform(-1.0, 1.0, size=shape)
    assert_covers(build(steps, shape), x)


# -- Hessians --------------------------------------------------------------------


def test_hessian_pattern_exact():
    f = lambda x: np.sum((x[1:] - x[:-1] ** 2) ** 2) + np.sum(np.sin(x[:-2] * x[2:]))  # noqa: E731
    x = RNG.uniform(0.5, 1.5, 12)
    p = hessian_sparsity(f)(x).toarray()
    np.testing.assert_array_equal(p, cr.hessian(f)(x) != 0)
    band = np.abs(np.subtract.outer(np.arange(12), np.arange(12))) <= 2
    np.testing.assert_array_equal(p, band)
    np.testing.assert_array_equal(hessian_sparsity(f)(np.zeros(12)).toarray(), band)


def test_hessian_of_linear_terms_is_empty():
    f = lambda x: np.sum(3.0 * x) + x[0] * x[2]  # noqa: E731
    p = hessian_sparsity(f)(np.ones(4)).toarray()
    expected = np.zeros((4, 4), bool)
    expected[0, 2] = expected[2, 0] = True
    np.testing.assert_array_equal(p, expected)


# -- sparse_jacobian / sparse_hessian find their pattern -------------------------


def test_sparse_jacobian_detects_and_equals_jacfwd():
    f = brusselator(6)
    y = RNG.uniform(0.5, 1.5, 72)
    jac = cr.sparse_jacobian(f)
    j = jac(y)
    assert isinstance(jac.pattern, cr.SparsityPattern)
    np.testing.assert_array_equal(j.toarray(), cr.jacfwd(f)(y))
    y2 = RNG.uniform(0.5, 1.5, 72)
    np.testing.assert_allclose(jac(y2).toarray(), cr.jacfwd(f)(y2), rtol=1e-13, atol=1e-13)
    assert jac.pattern.ncolors <= 12


def test_sparse_hessian_detects():
    f = lambda x: np.sum((x[1:] - x[:-1] ** 2) ** 2) + np.sum(np.sin(x[:-2] * x[2:]))  # noqa: E731
    x = RNG.uniform(0.5, 1.5, 20)
    hess = cr.sparse_hessian(f)
    np.testing.assert_allclose(hess(x).toarray(), cr.hessian(f)(x), rtol=1e-12, atol=1e-12)
    assert hess.pattern.mode == "star"


# -- bad input -------------------------------------------------------------------


def test_integer_input_refused():
    with pytest.raises(TypeError, match="float or complex array"):
        jacobian_sparsity(np.sin)(np.arange(3))


def test_bad_argnums_refused():
    with pytest.raises(ValueError, match="argnums 2"):
        jacobian_sparsity(lambda x, y: x * y, argnums=2)(np.ones(2), np.ones(2))


def test_two_arguments_side_by_side():
    p = jacobian_sparsity(lambda x, y: x * y[::-1], argnums=(0, 1))(np.ones(3), np.ones(3))
    np.testing.assert_array_equal(p.toarray(), np.hstack([np.eye(3), np.eye(3)[::-1]]) != 0)


def test_custom_vjp_and_jit_are_followed():
    @cr.custom_vjp
    def rev_sin(x):
        return np.sin(x[::-1])

    rev_sin.defvjp(lambda x: (rev_sin(x), x), lambda x, g: (np.cos(x)[::-1] * g,))
    p = detected(lambda x: rev_sin(x) * x, np.ones(3))
    np.testing.assert_array_equal(p, np.eye(3, dtype=bool) | np.eye(3, dtype=bool)[::-1])
    p = detected(cr.jit(lambda x: x[1:] * x[:-1]), np.ones(3))
    np.testing.assert_array_equal(p, np.array([[1, 1, 0], [0, 1, 1]], bool))
