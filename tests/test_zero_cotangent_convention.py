"""A zero cotangent (or tangent) times an infinite derivative is 0, never NaN.

docs/conventions.md states it for every rule and both modes. These tests
enumerate the rule table (``registry.UFUNCS`` and ``registry.CONSTANT_RULES``),
so a rule added later is checked without being listed here, at the points
where derivatives are infinite or overflow: ``log`` and ``sqrt`` at 0,
``arcsin`` at 1, ``exp`` at 1000, ``reciprocal`` of a subnormal, ``x * inf``...

Two checks per rule: the Jacobian at a vector of such points, where every
off-diagonal entry comes from a zero cotangent row (``jacrev``) or a zero
tangent column (``jacfwd``) meeting the derivative, must be exactly 0 with
the diagonal the same in both modes; and ``where(mask, f(x), 0)`` masked at
every point must have gradient exactly 0 in both modes.
"""

from __future__ import annotations

import operator
import warnings

import numpy as np
import pytest

import chainrule as cr
from chainrule.core import registry

# Singular and overflow points of the elementwise functions (and ordinary ones).
POINTS = [
    0.0,
    -0.0,
    1.0,
    -1.0,
    0.5,
    -0.5,
    2.0,
    1000.0,
    -1000.0,
    1e200,
    -1e200,
    1e308,
    -1e308,
    1e-310,
    -1e-310,
    np.inf,
    -np.inf,
]


def _ensure_rules() -> None:
    ensure = getattr(registry, "ensure_rules", None)  # the table may be filled lazily
    if ensure is not None:
        ensure()
    cr.grad(np.sin)(1.0)


_ensure_rules()
# NumPy's own ufuncs: the table also holds scipy.special's once chainrule.scipy
# is imported, which would make this list depend on the order tests import in.
# Elementwise ones with one result: gufuncs (vecdot, matvec, ...) and modf/divmod
# have their own checks (tests/test_vector_products.py, tests/test_split_ufuncs.py).
_NUMPY_UFUNCS = [
    u
    for u in registry.UFUNCS
    if isinstance(u, np.ufunc)
    and getattr(np, u.__name__, None) is u
    and u.signature is None
    and u.nout == 1
]
_UNARY = sorted((u for u in _NUMPY_UFUNCS if u.nin == 1), key=lambda u: u.__name__)
# matmul sits in the table but is no elementwise function.
_BINARY = sorted(
    (u for u in _NUMPY_UFUNCS if u.nin == 2 and u is not np.matmul), key=lambda u: u.__name__
)


def _quiet(fn, *args):
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        return fn(*args)


def _domain(values: np.ndarray) -> np.ndarray:
    """The points where the function has a value (NaN values have no derivative)."""
    return ~np.isnan(values)


def _check_jacobians(f, x: np.ndarray, diagonal_cols) -> None:
    """Both modes' Jacobians of elementwise ``f`` at ``x``: exactly 0 off the
    entries in ``diagonal_cols(i)`` for row ``i``, equal to each other there."""
    jr = _quiet(cr.jacrev(f), x)
    jf = _quiet(cr.jacfwd(f), x)
    assert jr.shape == jf.shape
    off = np.ones(jr.shape, dtype=bool)
    for i in range(jr.shape[0]):
        off[i, diagonal_cols(i)] = False
    assert not np.isnan(jr[off]).any(), "jacrev: a zero cotangent met a derivative and gave NaN"
    assert not np.isnan(jf[off]).any(), "jacfwd: a zero tangent met a derivative and gave NaN"
    assert np.all(jr[off] == 0.0) and np.all(jf[off] == 0.0)
    np.testing.assert_array_equal(jr[~off], jf[~off])


def _check_masked(f, x: np.ndarray) -> None:
    """``where(False, f(x), 0)``: every cotangent reaching ``f`` is 0."""

    def masked(v):
        out = f(v)
        return np.sum(np.where(np.zeros(out.shape, dtype=bool), out, 0.0))

    g_rev = _quiet(cr.grad(masked), x)
    g_fwd = _quiet(cr.jacfwd(masked), x)
    assert np.all(g_rev == 0.0), g_rev
    assert np.all(g_fwd == 0.0), g_fwd


@pytest.mark.parametrize("ufunc", _UNARY, ids=lambda u: u.__name__)
def test_unary_rules_keep_zero_cotangents_zero(ufunc):
    pts = np.array(POINTS)
    x = pts[_domain(_quiet(ufunc, pts))]
    assert x.size >= 3
    _check_jacobians(ufunc, x, lambda i: [i])
    _check_masked(ufunc, x)


@pytest.mark.parametrize("ufunc", _BINARY, ids=lambda u: u.__name__)
def test_binary_rules_keep_zero_cotangents_zero(ufunc):
    if ufunc is np.ldexp:
        pytest.skip("an integer exponent cannot be traced: test_ldexp_overflowing_scale")
    a, b = np.meshgrid(np.array(POINTS), np.array(POINTS), indexing="ij")
    a, b = a.ravel(), b.ravel()
    keep = _domain(_quiet(ufunc, a, b))
    a, b = a[keep], b[keep]
    n = a.size
    assert n >= 10

    def f(v):
        return ufunc(v[:n], v[n:])

    _check_jacobians(f, np.concatenate([a, b]), lambda i: [i, n + i])
    _check_masked(f, np.concatenate([a, b]))


# A Python number as the other operand takes the ConstantRule short path.
_CONSTANTS = [0.0, 2.0, -3.0, 0.5, -1.0, 1e300, 1e-310, np.inf, -np.inf]


@pytest.mark.parametrize("name", sorted(registry.CONSTANT_RULES))
@pytest.mark.parametrize("c", _CONSTANTS, ids=repr)
def test_constant_rules_keep_zero_cotangents_zero(name, c):
    pts = np.array(POINTS)

    def f(v):
        return getattr(v, name)(c)

    reflected = name.startswith("__r")
    op = getattr(operator, name.strip("_").removeprefix("r") if reflected else name.strip("_"))
    values = _quiet(lambda: op(c, pts) if reflected else op(pts, c))
    x = pts[_domain(values)]
    if x.size < 2:
        pytest.skip("no point has a value")
    _check_jacobians(f, x, lambda i: [i])
    _check_masked(f, x)


def test_the_issue_examples():
    """The reports of issue #13: reverse and forward mode agree on 0."""
    f = lambda x: np.where(x < 700, np.exp(x), 0.0)  # noqa: E731
    assert _quiet(cr.grad(f), 1000.0) == 0.0
    assert _quiet(cr.jacfwd(f), 1000.0) == 0.0
    xlogx = lambda x: np.where(x > 0, x * np.log(x), 0.0)  # noqa: E731
    assert _quiet(cr.grad(xlogx), 0.0) == 0.0
    assert _quiet(cr.jacfwd(xlogx), 0.0) == 0.0
    # Off the masked point the derivative is the ordinary one, log(x) + 1.
    assert np.isclose(_quiet(cr.grad(xlogx), 2.0), np.log(2.0) + 1.0)
    # exp's Jacobian at an overflowing point: inf on the diagonal, exact zeros off it.
    x = np.array([1000.0, 1.0])
    for jac in (cr.jacrev, cr.jacfwd):
        j = _quiet(jac(np.exp), x)
        assert j[0, 0] == np.inf and j[1, 1] == np.exp(1.0)
        assert j[0, 1] == 0.0 and j[1, 0] == 0.0


def test_second_order_keeps_zero_cotangents_zero():
    """The Hessian of a masked overflow: the zero-safe product is
    differentiated like any other, so its derivative is 0 there too."""
    f = lambda x: np.sum(np.where(x < 700, np.exp(x), 0.0))  # noqa: E731
    x = np.array([1000.0, 1.0])
    h = _quiet(cr.hessian(f), x)
    np.testing.assert_array_equal(h, [[0.0, 0.0], [0.0, np.exp(1.0)]])


def test_genuine_nan_stays():
    """Only a zero cotangent is protected: a NaN derivative meeting a nonzero
    cotangent is still NaN (nothing is hidden)."""
    g = _quiet(cr.grad(lambda x: np.sum(np.sqrt(x))), np.array([-1.0, 4.0]))
    assert np.isnan(g[0])
    assert g[1] == 0.25
    assert _quiet(cr.grad(lambda x: x * np.inf), 1.0) == np.inf


def _scipy_unary_ufuncs() -> list:
    """scipy.special's one-argument ufuncs that have rules (chainrule.scipy registers them)."""
    special = pytest.importorskip("scipy.special")
    import chainrule.scipy  # noqa: F401

    _ensure_rules()
    found = [
        u
        for u in registry.UFUNCS
        if isinstance(u, np.ufunc) and u.nin == 1 and getattr(special, u.__name__, None) is u
    ]
    return sorted(found, key=lambda u: u.__name__)


try:
    _SCIPY_UNARY = _scipy_unary_ufuncs()
except pytest.skip.Exception:  # SciPy is optional
    _SCIPY_UNARY = []


@pytest.mark.parametrize("ufunc", _SCIPY_UNARY, ids=lambda u: u.__name__)
def test_scipy_special_rules_keep_zero_cotangents_zero(ufunc):
    """The same convention for scipy.special's rules (poles of gamma and digamma,
    the overflow of erfcx and log_ndtr's tail)."""
    pts = np.array(POINTS + [-2.0, -3.0, 30.0, -30.0, 200.0, -200.0])
    values = _quiet(ufunc, pts)
    f = ufunc
    if values.dtype.kind == "c":  # wofz: complex values of a real argument

        def f(v):
            return np.real(ufunc(v))

    x = pts[_domain(values)]
    assert x.size >= 3
    _check_jacobians(f, x, lambda i: [i])
    _check_masked(f, x)


def test_ldexp_overflowing_scale():
    """ldexp(x, n) has slope 2**n in x, infinite for large n: zero cotangents stay 0."""
    x = np.array([0.5, -1.0, 2.0, 1e-300, 3.0])
    n = np.array([1, 2000, -3, 1100, 0])

    def f(v):
        return np.ldexp(v, n)

    _check_jacobians(f, x, lambda i: [i])
    _check_masked(f, x)
