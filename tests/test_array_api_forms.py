"""NumPy 2's array-API spellings (linalg.diagonal/trace/matrix_transpose,
cumulative_sum/prod), nanvar/nanstd and linalg.cond: values against NumPy's,
derivatives against finite differences in both modes and to second order,
jacrev == jacfwd."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr

RNG = np.random.default_rng(11)
A = RNG.normal(size=(2, 3, 3)) + 3.0 * np.eye(3)
M = RNG.normal(size=(3, 3)) + 3.0 * np.eye(3)
V = RNG.normal(size=5)
T = np.reshape(RNG.normal(size=(4, 4)) + 4.0 * np.eye(4), (4, 2, 2))
B = RNG.normal(size=4)
W = np.array([[0.4, np.nan, -1.1, 2.0], [1.5, 0.3, np.nan, -0.7]])

CASES = {
    "linalg.diagonal": (lambda a: np.linalg.diagonal(a, offset=1), A),
    "linalg.trace": (lambda a: np.linalg.trace(a), A),
    "linalg.trace-offset": (lambda a: np.linalg.trace(a, offset=-1), A),
    "linalg.matrix_transpose": (lambda a: np.linalg.matrix_transpose(a) * a, A),
    "cumulative_sum": (lambda v: np.cumulative_sum(v**2), V),
    "cumulative_sum-initial": (
        lambda a: np.cumulative_sum(a, axis=1, include_initial=True),
        A,
    ),
    "cumulative_prod": (lambda v: np.cumulative_prod(v), V),
    "cumulative_prod-initial": (lambda v: np.cumulative_prod(v, include_initial=True), V),
    "nanvar": (lambda w: np.nanvar(w), W),
    "nanvar-axis": (lambda w: np.nanvar(w, axis=1, ddof=1), W),
    "nanstd": (lambda w: np.nanstd(w, axis=1, keepdims=True), W),
    "linalg.tensorinv": (lambda t: np.linalg.tensorinv(t, ind=1), T),
    "linalg.tensorsolve": (lambda t: np.linalg.tensorsolve(t, B), T),
    "linalg.tensorsolve-axes": (
        lambda t: np.linalg.tensorsolve(np.transpose(t, (0, 2, 1)), B, axes=(1,)),
        T,
    ),
    "block-2x2": (lambda m: np.block([[m, 2.0 * m[:, :1]], [np.ones((1, 3)), m[:1, :1]]]), M),
    "block-1d": (lambda v: np.block([v, 1.0, v[:2] ** 2]), V),
    "block-promotes": (lambda v: np.block([[v], [v**2]]), V),
    "resize-grow": (lambda v: np.resize(v, (3, 4)), V),
    "resize-shrink": (lambda m: np.resize(m, 4), M),
    "compress": (lambda m: np.compress([True, False, True], m, axis=1), M),
    "compress-flat": (lambda m: np.compress([False, True, True, False, True], m), M),
    "extract": (lambda m: np.extract(np.eye(3) == 0, m), M),
    "linalg.cond": (lambda m: np.linalg.cond(m), M),
    "linalg.cond-2": (lambda m: np.linalg.cond(m, -2), M),
    "linalg.cond-fro": (lambda m: np.linalg.cond(m, "fro"), M),
    "linalg.cond-1": (lambda m: np.linalg.cond(m, 1), M),
}


def _plain(f, x):
    return f(np.array(x))


@pytest.mark.parametrize("name", CASES)
def test_values_and_derivatives(name):
    f, x = CASES[name]
    seen = {}

    def traced(y):
        seen["value"] = cr.stop_gradient(f(y))
        return f(y)

    cr.jacfwd(traced)(x)
    np.testing.assert_allclose(seen["value"], _plain(f, x), rtol=1e-12)
    jr, jf = cr.jacrev(f)(x), cr.jacfwd(f)(x)
    np.testing.assert_allclose(jr, jf, rtol=1e-10, atol=1e-12)
    # NaN entries carry no derivative (and none is NaN).
    assert np.all(np.isfinite(jr))
    if np.isnan(x).any():
        assert np.all(jr[..., np.isnan(x)] == 0.0)
    # Central differences on the finite entries.
    out_shape = np.shape(_plain(f, x))
    fd = np.zeros(out_shape + x.shape)
    for idx in zip(*np.nonzero(np.isfinite(x))):
        e = np.zeros_like(x)
        e[idx] = 1e-6
        fd[(...,) + idx] = (_plain(f, x + e) - _plain(f, x - e)) / 2e-6
    np.testing.assert_allclose(np.nan_to_num(jr), fd, rtol=1e-5, atol=1e-7)
    if not np.isnan(x).any():
        cr.check_grads(lambda y: np.sum(f(y) ** 2), (x,), order=2)


def test_nanvar_second_order_on_the_finite_entries():
    x = np.array([0.4, 2.0, -1.1, 0.3])
    with_nan = np.array([0.4, np.nan, 2.0, -1.1, 0.3])
    h_nan = cr.hessian(lambda w: np.nanvar(w))(with_nan)
    h = cr.hessian(lambda w: np.var(w))(x)
    keep = [0, 2, 3, 4]
    np.testing.assert_allclose(h_nan[np.ix_(keep, keep)], h, rtol=1e-12)
    assert np.all(h_nan[1] == 0) and np.all(h_nan[:, 1] == 0)


def test_bad_arguments_are_refused_as_numpy_does():
    with pytest.raises(ValueError, match="axis must be specified"):
        cr.grad(lambda a: np.sum(np.cumulative_sum(a)))(A)
    with pytest.raises(ValueError, match="at least 2-dimensional"):
        cr.grad(lambda v: np.sum(np.linalg.matrix_transpose(v)))(V)


def test_ldexp_nextafter_heaviside():
    x = np.array([0.3, -1.7, 2.2, 0.0])
    e = np.array([1, -2, 3, 0])
    f = lambda v: np.ldexp(v, e) ** 2  # noqa: E731
    np.testing.assert_allclose(cr.jacrev(f)(x), np.diag(2 * x * 4.0**e))
    np.testing.assert_allclose(cr.jacfwd(f)(x), np.diag(2 * x * 4.0**e))
    cr.check_grads(lambda v: np.sum(np.ldexp(v, e) ** 3), (x,), order=2)
    g = lambda v: np.nextafter(v, np.inf) * v  # noqa: E731
    np.testing.assert_allclose(cr.jacrev(g)(x), np.diag(2 * x), atol=1e-12)
    np.testing.assert_allclose(cr.jacfwd(g)(x), np.diag(2 * x), atol=1e-12)
    # heaviside: flat in x1; the slope in x2 is 1 exactly where x1 == 0.
    h = lambda y: np.heaviside(x, y)  # noqa: E731
    y = np.array([0.5, 0.5, 0.5, 0.25])
    np.testing.assert_allclose(cr.stop_gradient(h(y)), np.heaviside(x, y))
    np.testing.assert_allclose(cr.jacrev(h)(y), np.diag([0.0, 0.0, 0.0, 1.0]))
    np.testing.assert_allclose(cr.jacfwd(h)(y), np.diag([0.0, 0.0, 0.0, 1.0]))
    np.testing.assert_allclose(
        cr.grad(lambda v: np.sum(np.heaviside(v, 0.5) * v))(x), np.heaviside(x, 0.5)
    )


def test_the_compress_method_selects_like_numpys():
    # x.compress(condition) takes the condition first in np.compress; the
    # method must not swap them (it would select by the values).
    cond = [True, False, True, False, True]
    g = cr.grad(lambda v: np.sum(v.compress(cond) ** 2))(V)
    np.testing.assert_allclose(g, 2 * V * np.array(cond, dtype=float))
