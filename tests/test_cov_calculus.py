"""diff, ediff1d, gradient, trapezoid, interp, unwrap: derivatives against
finite differences in both modes to second order, reverse == forward
Jacobians, values equal to NumPy's, complex inputs, errors."""

from __future__ import annotations

import numpy as np
import pytest
from cov_checks import check, check_holomorphic, check_real_of_complex, traced_value
from numpy.testing import assert_allclose

import chainrule as cr
import chainrule.numpy as cnp

RNG = np.random.default_rng(11)
X = RNG.normal(size=(4, 5))
COORDS = np.cumsum(RNG.uniform(0.5, 1.0, 5))
Z = RNG.normal(size=(3, 4)) + 1j * RNG.normal(size=(3, 4))


# --- diff and ediff1d -------------------------------------------------------------------
@pytest.mark.parametrize(
    "kw", [{}, {"n": 2, "axis": 0}, {"n": 3}, {"axis": 0, "prepend": 0.5}, {"append": 2.0}]
)
def test_diff(kw):
    check(lambda a: np.diff(a, **kw), X, ref=np.diff(X, **kw))


def test_diff_traced_prepend_and_append():
    row = RNG.normal(size=(4, 1))
    check(
        lambda a, p, q: np.diff(a, axis=1, prepend=p, append=q),
        X,
        row,
        1.5,
        ref=np.diff(X, axis=1, prepend=row, append=1.5),
    )


def test_diff_closed_form_and_order_zero():
    assert_allclose(cr.jacrev(np.diff)(np.zeros(3)), [[-1, 1, 0], [0, -1, 1]])
    assert_allclose(cr.grad(lambda a: np.sum(np.diff(a, n=0)))(np.ones(3)), np.ones(3))


def test_diff_errors():
    with pytest.raises(ValueError, match="order must be non-negative"):
        cr.grad(lambda a: np.diff(a, n=-1).sum())(np.ones(3))
    with pytest.raises(ValueError, match="at least one dimensional"):
        cr.grad(lambda a: np.diff(a).sum())(1.0)


@pytest.mark.parametrize("kw", [{}, {"to_end": 3.0}, {"to_begin": [1.0, 2.0], "to_end": -1.0}])
def test_ediff1d(kw):
    check(lambda a: np.ediff1d(a, **kw), X, ref=np.ediff1d(X, **kw))


def test_ediff1d_traced_ends():
    check(
        lambda a, b: np.ediff1d(a, to_begin=b, to_end=b * 2),
        X[0],
        X[1, :2],
        ref=np.ediff1d(X[0], to_begin=X[1, :2], to_end=X[1, :2] * 2),
    )


def test_diff_complex():
    check_holomorphic(lambda z: np.diff(z, axis=0), Z)
    check_holomorphic(lambda z: np.ediff1d(z), Z[0])


# --- gradient ------------------------------------------------------------------------
@pytest.mark.parametrize("edge_order", [1, 2])
@pytest.mark.parametrize(
    "spacing", [(), (0.7,), (0.3, "coords"), ("uniform", 2.0)], ids=["none", "h", "coords", "uni"]
)
def test_gradient(edge_order, spacing):
    def resolve(s):
        return {"coords": COORDS, "uniform": np.arange(4.0) * 0.5}.get(s, s)

    sp = tuple(resolve(s) for s in spacing)
    ref = np.gradient(X, *sp, edge_order=edge_order)
    check(lambda a: np.gradient(a, *sp, edge_order=edge_order), X, ref=ref)


@pytest.mark.parametrize("edge_order", [1, 2])
def test_gradient_traced_coordinates_and_step(edge_order):
    ref = np.gradient(X, 0.3, COORDS, edge_order=edge_order)
    check(lambda a, h, c: cnp.gradient(a, h, c, edge_order=edge_order), X, 0.3, COORDS, ref=ref)


def test_gradient_axis_and_closed_form():
    check(lambda a: np.gradient(a, axis=1), X, ref=np.gradient(X, axis=1))
    check(lambda a: np.gradient(a, 2.0, axis=(0,)), X, ref=np.gradient(X, 2.0, axis=(0,)))
    assert_allclose(cr.jacrev(np.gradient)(np.zeros(3)), [[-1, 1, 0], [-0.5, 0, 0.5], [0, -1, 1]])


def test_gradient_complex_and_errors():
    check_holomorphic(lambda z: np.gradient(z, axis=1), Z)
    with pytest.raises(ValueError, match="edge_order"):
        cr.jacrev(lambda a: np.gradient(a, edge_order=3))(np.ones(4))
    with pytest.raises(ValueError, match="too small"):
        cr.jacrev(lambda a: np.gradient(a, edge_order=2))(np.ones(2))
    with pytest.raises(TypeError, match="invalid number of arguments"):
        cr.jacrev(lambda a: np.gradient(a, 1.0, 2.0))(np.ones(4))


# --- trapezoid -----------------------------------------------------------------------
def test_trapezoid():
    check(lambda y: np.trapezoid(y), X, ref=np.trapezoid(X))
    check(lambda y, x: np.trapezoid(y, x), X, COORDS, ref=np.trapezoid(X, COORDS))
    x2 = np.cumsum(RNG.uniform(0.5, 1, (4, 5)), axis=0)
    check(lambda y, x: np.trapezoid(y, x, axis=0), X, x2, ref=np.trapezoid(X, x2, axis=0))
    check(
        lambda y, h: cnp.trapezoid(y, dx=h, axis=0), X, 0.25, ref=np.trapezoid(X, dx=0.25, axis=0)
    )
    assert_allclose(cr.grad(lambda h: cnp.trapezoid(np.array([1.0, 2.0, 3.0]), dx=h))(0.5), 4.0)


def test_trapezoid_complex():
    check_holomorphic(lambda z: np.trapezoid(z, COORDS[:4], axis=1), Z)


@pytest.mark.skipif(not hasattr(np, "trapz"), reason="numpy.trapz was removed")
@pytest.mark.filterwarnings("ignore:`trapz` is deprecated:DeprecationWarning")
def test_trapz_alias():
    check(lambda y: np.trapz(y), X, ref=np.trapz(X))  # noqa: NPY201


# --- interp --------------------------------------------------------------------------
XP = np.sort(RNG.uniform(0, 5, 6))
FP = RNG.normal(size=6)
XQ = RNG.uniform(-1, 6, 9)


def test_interp_in_every_argument():
    check(lambda x, xp, fp: np.interp(x, xp, fp), XQ, XP, FP, ref=np.interp(XQ, XP, FP))
    check(
        lambda x, fp, lo, hi: cnp.interp(x, XP, fp, lo, hi),
        XQ,
        FP,
        2.0,
        3.0,
        ref=np.interp(XQ, XP, FP, 2.0, 3.0),
    )


def test_interp_periodic_and_scalar():
    check(
        lambda x, fp: np.interp(x, XP, fp, period=4.0),
        XQ,
        FP,
        ref=np.interp(XQ, XP, FP, period=4.0),
    )
    check(lambda x: np.interp(x, XP, FP), 2.5, ref=np.interp(2.5, XP, FP))


def test_interp_closed_form_slopes_and_knots():
    xp, fp = np.array([0.0, 1.0, 3.0]), np.array([0.0, 2.0, 3.0])
    g = cr.grad(lambda x: np.sum(np.interp(x, xp, fp)))
    # inside, at a knot (right-hand slope), at the last knot (last slope), outside
    assert_allclose(g(np.array([0.5, 1.0, 3.0, -1.0, 4.0])), [2.0, 0.5, 0.5, 0.0, 0.0])
    # d/dfp: the hat-function weights
    assert_allclose(cr.jacrev(lambda f: np.interp(2.0, xp, f))(fp), [0.0, 0.5, 0.5])


def test_interp_values_at_knots_nan_and_infinite_slopes():
    xq = np.concatenate([XQ, XP, [np.nan]])
    assert_allclose(traced_value(lambda x: np.interp(x, XP, FP), xq), np.interp(xq, XP, FP))
    xp, fp = np.array([0.0, 1.0, 1.0, 2.0]), np.array([0.0, 1.0, 5.0, 6.0])
    xq = np.array([0.5, 1.0, 1.5])
    assert_allclose(traced_value(lambda f: np.interp(xq, xp, f), fp), np.interp(xq, xp, fp))


def test_interp_complex_fp():
    fpc = FP + 1j * RNG.normal(size=6)
    assert_allclose(traced_value(lambda f: np.interp(XQ, XP, f), fpc), np.interp(XQ, XP, fpc))
    check_holomorphic(lambda f: np.interp(XQ, XP, f), fpc)


def test_interp_errors():
    with pytest.raises(ValueError, match="same length"):
        cr.grad(lambda f: np.interp(1.0, XP, f))(FP[:3])
    with pytest.raises(ValueError, match="period must be a non-zero"):
        cr.grad(lambda f: np.interp(1.0, XP, f, period=0))(FP)


# --- unwrap --------------------------------------------------------------------------
PHASE = np.cumsum(RNG.uniform(0, 3, (3, 8)), axis=1) % (2 * np.pi)


@pytest.mark.parametrize("kw", [{}, {"axis": 0}, {"discont": 4.0}, {"period": 6.0}])
def test_unwrap(kw):
    check(lambda p: np.unwrap(p, **kw), PHASE, ref=np.unwrap(PHASE, **kw))


def test_unwrap_is_identity_derivative():
    jac = cr.jacrev(np.unwrap)(PHASE[0])
    assert_allclose(jac, np.eye(8))


def test_complex_through_real_functions():
    check_real_of_complex(lambda z: np.diff(z, 2), Z)
