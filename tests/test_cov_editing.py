"""insert, delete, rollaxis, partition, piecewise, apply_along_axis,
real_if_close: both modes to second order, reverse == forward Jacobians,
NumPy's values, complex inputs, errors."""

from __future__ import annotations

import numpy as np
import pytest
from cov_checks import check, check_holomorphic, traced_value
from numpy.testing import assert_allclose

import chainrule as cr
import chainrule.numpy as cnp
from chainrule.core.registry import NONDIFF

RNG = np.random.default_rng(3)
X = RNG.normal(size=(3, 4))
Y = RNG.normal(size=(2, 3, 4))
Z = X + 1j * RNG.normal(size=(3, 4))


# --- insert and delete -------------------------------------------------------------------
@pytest.mark.parametrize(
    "obj,values,axis",
    [
        (1, "row", 0),
        ([0, 2, 2], "three", None),
        (2, 1.5, 1),
        (slice(0, 3), "three", 1),
        (-1, "col", 1),
    ],
)
def test_insert(obj, values, axis):
    vals = {"row": RNG.normal(size=4), "three": RNG.normal(size=3), "col": RNG.normal(size=(3, 1))}
    v = vals.get(values, values)
    ref = np.insert(X, obj, v, axis=axis)
    check(lambda a, b: np.insert(a, obj, b, axis=axis), X, v, ref=ref)


def test_insert_plain_array_traced_values_and_closed_form():
    assert_allclose(cr.grad(lambda v: cnp.insert(np.zeros(3), 1, v).sum())(2.0), 1.0)
    # one value broadcast into a whole row: its derivative is the row's sum
    assert_allclose(cr.grad(lambda v: np.sum(cnp.insert(X, 1, v, axis=0) ** 2))(0.5), 2 * 0.5 * 4)


def test_insert_complex():
    check_holomorphic(lambda z: np.insert(z, 1, z[0], axis=0), Z)


@pytest.mark.parametrize(
    "obj,axis", [([0, 2], 1), (np.s_[::2], None), (1, 0), (np.array([True, False, True]), 0)]
)
def test_delete(obj, axis):
    check(lambda a: np.delete(a, obj, axis=axis), X, ref=np.delete(X, obj, axis=axis))


def test_delete_complex_and_error():
    check_holomorphic(lambda z: np.delete(z, 1, axis=1), Z)
    with pytest.raises(IndexError):
        cr.jacrev(lambda a: np.delete(a, 7, axis=0))(X)


# --- rollaxis ------------------------------------------------------------------------
@pytest.mark.parametrize("axis,start", [(2, 0), (0, 3), (1, 1), (-1, -3), (0, 2)])
def test_rollaxis(axis, start):
    check(lambda a: np.rollaxis(a, axis, start), Y, ref=np.rollaxis(Y, axis, start))


def test_rollaxis_errors():
    with pytest.raises(np.exceptions.AxisError):
        cr.jacrev(lambda a: np.rollaxis(a, 3))(Y)
    with pytest.raises(np.exceptions.AxisError, match="'start' arg requires"):
        cr.jacrev(lambda a: np.rollaxis(a, 0, 5))(Y)


# --- partition -----------------------------------------------------------------------
@pytest.mark.parametrize("kth,axis", [(1, -1), ([0, 2], 2), (1, 0), (5, None), ([1, 2], 1)])
def test_partition(kth, axis):
    check(lambda a: np.partition(a, kth, axis=axis), Y, ref=np.partition(Y, kth, axis=axis))


def test_partition_closed_form_ties_and_argpartition():
    assert_allclose(cr.grad(lambda x: np.partition(x, 1)[1])(np.array([3.0, 1.0, 2.0])), [0, 0, 1])
    ties = np.array([2.0, 1.0, 2.0, 0.0])
    assert_allclose(traced_value(lambda x: np.partition(x, 2), ties), np.partition(ties, 2))
    assert np.argpartition in NONDIFF
    idx = cr.grad(lambda x: np.sum(x[np.argpartition(x, 0)[:1]]))(np.array([3.0, 1.0, 2.0]))
    assert_allclose(idx, [0, 1, 0])


def test_partition_matches_numpy_with_many_ties():
    for seed in range(20):
        a = np.random.default_rng(seed).integers(0, 4, size=(3, 9)).astype(float)
        assert_allclose(
            traced_value(lambda x: np.partition(x, 4, axis=1), a), np.partition(a, 4, axis=1)
        )


def test_partition_complex():
    check_holomorphic(lambda z: np.partition(z, 1, axis=0), Z)


# --- piecewise -----------------------------------------------------------------------
XS = np.linspace(-2.0, 2.0, 7) + 0.1


def _pieces(a):
    return np.piecewise(a, [a < 0, a > 1], [lambda v: v**2, np.sin, 0.5])


def test_piecewise():
    check(_pieces, XS, ref=_pieces(XS))
    f = lambda x: np.piecewise(x, [x < 0, x >= 0], [lambda v: -v, lambda v: v**2])  # noqa: E731
    assert_allclose(cr.grad(lambda x: f(x).sum())(np.array([-1.0, 3.0])), [-1.0, 6.0])


def test_piecewise_traced_parameters_and_scalar_condition():
    def f(a, k):
        return cnp.piecewise(XS, [XS < 0], [lambda v: k * v, lambda v: k**2])

    check(f, XS, 1.5)
    check(lambda a: np.piecewise(a, a > 0, [np.exp]), XS, ref=np.piecewise(XS, XS > 0, [np.exp]))
    check(lambda a: np.piecewise(a, True, [np.sin]), 0.3, ref=np.sin(0.3))


def test_piecewise_complex_and_errors():
    zs = XS + 1j
    check_holomorphic(lambda z: np.piecewise(z, [XS < 0], [lambda v: v**2, np.exp]), zs)
    with pytest.raises(ValueError, match="with 1 condition"):
        cr.grad(lambda a: np.piecewise(a, [a < 0], [np.sin, np.cos, np.tan]).sum())(XS)


# --- apply_along_axis ---------------------------------------------------------------
@pytest.mark.parametrize(
    "func,axis",
    [
        (lambda r: np.cumsum(r) * r[0], 1),
        (lambda r: np.outer(r, r), 0),
        (np.sum, -1),
        (lambda r: r @ r, 2),
    ],
    ids=["cumsum", "outer", "sum", "scalar"],
)
def test_apply_along_axis(func, axis):
    check(lambda a: np.apply_along_axis(func, axis, a), Y, ref=np.apply_along_axis(func, axis, Y))


def test_apply_along_axis_extra_arguments_and_traced_closure():
    ref = np.apply_along_axis(np.polyval, 1, X, 0.5)
    check(lambda a: np.apply_along_axis(np.polyval, 1, a, 0.5), X, ref=ref)
    check(lambda k: cnp.apply_along_axis(lambda r: k * r, 0, X), 2.0, ref=2.0 * X)


def test_apply_along_axis_complex_and_errors():
    check_holomorphic(lambda z: np.apply_along_axis(lambda r: r * r[0], 1, z), Z)
    with pytest.raises(ValueError, match="iteration dimensions are 0"):
        cr.grad(lambda a: np.apply_along_axis(np.sum, 1, a).sum())(np.ones((0, 2)))
    with pytest.raises(np.exceptions.AxisError):
        cr.grad(lambda a: np.apply_along_axis(np.sum, 3, a).sum())(X)


# --- real_if_close ------------------------------------------------------------------
def test_real_if_close():
    out = traced_value(lambda a: np.real_if_close(a + 1e-20j), X)
    assert out.dtype == np.float64
    assert_allclose(out, X)
    assert traced_value(lambda a: np.real_if_close(a + 1j), X).dtype == np.complex128
    check(lambda a: np.real_if_close(a + 1e-20j), X)
    check(lambda a: np.real_if_close(a), X, ref=X)  # real input: unchanged
    check_holomorphic(lambda z: np.real_if_close(z), Z)


def test_rollaxis_complex():
    check_holomorphic(lambda z: np.rollaxis(z, 1), Z)
