"""linspace, logspace, geomspace with traced endpoints and meshgrid: both
modes to second order, reverse == forward Jacobians, NumPy's values, complex."""

from __future__ import annotations

import numpy as np
import pytest
from cov_checks import check, check_holomorphic, traced_value
from numpy.testing import assert_allclose

import chainrule as cr
import chainrule.numpy as cnp

A = np.array([1.0, -2.0])
B = np.array([3.0, -0.5])


@pytest.mark.parametrize(
    "kw",
    [{}, {"num": 1}, {"num": 4, "endpoint": False}, {"num": 3, "axis": -1}],
)
def test_linspace_arrays(kw):
    kw = {"num": 5, **kw}
    check(lambda s, t: np.linspace(s, t, **kw), A, B, ref=np.linspace(A, B, **kw))


def test_linspace_float32_dtype():
    f = lambda s, t: np.linspace(s, t, 5, dtype=np.float32)  # noqa: E731
    out = traced_value(f, A, B)
    assert out.dtype == np.float32
    assert_allclose(out, np.linspace(A, B, 5, dtype=np.float32))
    assert_allclose(cr.jacrev(f)(A, B), cr.jacfwd(f)(A, B))
    assert_allclose(cr.jacrev(f, argnums=1)(A, B)[:, 1, 1], [0, 0.25, 0.5, 0.75, 1], rtol=1e-6)


def test_linspace_scalars_closed_form_and_retstep():
    check(lambda s, t: np.linspace(s, t, 5), 0.5, 2.5, ref=np.linspace(0.5, 2.5, 5))
    assert_allclose(cr.jacrev(lambda b: np.linspace(0.0, b, 3))(2.0), [0.0, 0.5, 1.0])
    check(lambda s, t: np.linspace(s, t, 4, retstep=True)[1], A, B)
    value, step = traced_value(lambda s: np.linspace(s, 1.0, 4, retstep=True), 0.0)
    assert_allclose(value, np.linspace(0.0, 1.0, 4))
    assert_allclose(step, 1.0 / 3)


def test_linspace_integer_dtype_is_plain_and_errors():
    out = cr.jacrev(lambda s: np.linspace(s, 10.0, 4, dtype=int) * 1.0)(0.0)
    assert_allclose(out, np.zeros(4))
    with pytest.raises(ValueError, match="must be non-negative"):
        cr.jacrev(lambda s: np.linspace(s, 1.0, -1))(0.0)


def test_logspace():
    check(lambda s, t: np.logspace(s, t, 4), A, B, ref=np.logspace(A, B, 4))
    check(
        lambda s, t: np.logspace(s, t, 4, base=2.0),
        0.3,
        1.2,
        ref=np.logspace(0.3, 1.2, 4, base=2.0),
    )
    base = np.array([2.0, 3.0])
    check(
        lambda s, b: cnp.logspace(s, 1.0, 3, base=b, axis=1),
        A,
        base,
        ref=np.logspace(A, 1.0, 3, base=base, axis=1),
    )


@pytest.mark.parametrize("kw", [{}, {"endpoint": False}, {"axis": 1}, {"num": 1}])
def test_geomspace(kw):
    s, t = np.array([1.0, -2.0]), np.array([3.0, -0.5])
    check(
        lambda a, b: np.geomspace(a, b, **{"num": 5, **kw}),
        s,
        t,
        ref=np.geomspace(s, t, **{"num": 5, **kw}),
    )


def test_geomspace_complex():
    z0 = 1.0 + 1.0j
    assert_allclose(
        traced_value(lambda s: np.geomspace(s, 2 + 1j, 4), z0), np.geomspace(z0, 2 + 1j, 4)
    )
    check_holomorphic(lambda s: np.geomspace(s, 2.0 + 1.0j, 4), np.array([1.0 + 1.0j]))
    with pytest.raises(ValueError, match="cannot include zero"):
        cr.jacrev(lambda s: np.geomspace(s, 2.0, 3))(0.0)


@pytest.mark.parametrize("indexing", ["xy", "ij"])
@pytest.mark.parametrize("sparse", [False, True])
def test_meshgrid(indexing, sparse):
    x, y, z = np.array([1.0, 2.0]), np.arange(3.0), np.array([0.5, -1.0, 2.0, 3.0])

    def f(a, b, c):
        return np.meshgrid(a, b, c, indexing=indexing, sparse=sparse)

    check(f, x, y, z, ref=np.meshgrid(x, y, z, indexing=indexing, sparse=sparse))


def test_meshgrid_mixed_plain_and_closed_form():
    grid = np.ones(2)
    assert_allclose(cr.grad(lambda x: np.sum(np.meshgrid(x, grid)[0]))(np.arange(3.0)), [2, 2, 2])
    out = traced_value(lambda x: np.meshgrid(x, grid)[1], np.arange(3.0))
    assert out.flags.writeable  # a plain result is NumPy's copy, not a read-only view
    with pytest.raises(ValueError, match="indexing"):
        cr.grad(lambda x: np.sum(np.meshgrid(x, indexing="yx")[0]))(np.ones(2))


def test_meshgrid_complex():
    check_holomorphic(lambda z: np.meshgrid(z, np.arange(2.0))[0], np.array([1 + 1j, 2 - 1j]))


def test_linspace_logspace_complex_endpoints():
    z0, z1 = np.array([1.0 + 2.0j]), np.array([-0.5 + 0.25j])
    ref = np.linspace(z0, z1, 4)
    assert_allclose(traced_value(lambda s: np.linspace(s, z1, 4), z0), ref, rtol=1e-12)
    check_holomorphic(lambda s: np.linspace(s, z1, 4), z0)
    check_holomorphic(lambda t: np.linspace(z0, t, 4, endpoint=False), z1)
    check_holomorphic(lambda s: np.logspace(s, z1, 3), z0)
