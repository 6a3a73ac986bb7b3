"""Direct backward steps (core.primitive.set_direct) against the VJP makers.

The reverse trace records a unary elementwise primitive, or an operation with
a Python number, as ``(parent, bwd, saved)`` instead of a closure from the
VJP maker. Every direct step must give what the maker's closure gives, on
ordinary points and on the points where zero-safety matters (an infinite
local derivative met by a zero cotangent).
"""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
from chainrule.core import registry
from chainrule.core.primitive import (
    KEEP_ANS,
    KEEP_C,
    KEEP_NOTHING,
    KEEP_X,
    KEEP_X_AND_C,
    pass_through,
)

registry.ensure_rules()

DIRECT = sorted(
    (p for p in set(registry.UFUNCS.values()) if p.direct is not None), key=lambda p: p.name
)
CONSTANT = sorted(
    ((name, rule) for name, rule in registry.CONSTANT_RULES.items() if rule.bwd is not None),
    key=lambda item: item[0],
)


def _saved(keep, ans, x, c=None):
    return {KEEP_ANS: ans, KEEP_X: x, KEEP_C: c, KEEP_NOTHING: None, KEEP_X_AND_C: (x, c)}[keep]


def _points(prim):
    """Points inside the domain of ``prim``: NumPy gives finite values there."""
    x = np.linspace(0.05, 0.95, 7)
    with np.errstate(all="ignore"):
        ok = np.isfinite(prim.impl(x))
    return x[ok]


def test_direct_steps_exist_for_the_common_primitives():
    names = {p.name for p in DIRECT}
    assert {"sin", "cos", "exp", "tanh", "log", "sqrt"} <= names
    assert {"__add__", "__radd__", "__sub__", "__rsub__", "__mul__", "__rmul__"} <= {
        name for name, _ in CONSTANT
    }


@pytest.mark.parametrize("prim", DIRECT, ids=lambda p: p.name)
def test_unary_direct_step_equals_the_makers_closure(prim):
    x = _points(prim)
    if x.size == 0:
        pytest.skip(f"{prim.name} has no finite value on (0, 1)")
    ans = prim.impl(x)
    g = np.linspace(-1.5, 2.0, x.size)
    bwd, keep, slope = prim.direct
    expected = prim.vjp[0](ans, x)(g)
    np.testing.assert_array_equal(bwd(g, _saved(keep, ans, x)), expected)
    if slope is not None:  # taken forward for a real scalar: the step is then g * slope
        np.testing.assert_array_equal(g * slope(_saved(keep, ans, x)), expected)
    # a zero cotangent stays zero wherever the maker keeps it so
    zero = np.zeros_like(g)
    np.testing.assert_array_equal(bwd(zero, _saved(keep, ans, x)), prim.vjp[0](ans, x)(zero))


@pytest.mark.parametrize("name,rule", CONSTANT, ids=lambda v: v if isinstance(v, str) else "")
@pytest.mark.parametrize("c", [2.5, -0.75, 3, np.float64(1.25)])
def test_constant_direct_step_equals_the_makers_closure(name, rule, c):
    if rule.applies is not None and not rule.applies(c):
        pytest.skip(f"{name} does not apply to {c}")
    x = np.linspace(0.1, 2.0, 6)
    ans = rule.op(x, c)
    g = np.linspace(-1.0, 1.0, 6)
    expected = rule.vjp(ans, x, c)(g)
    got = g if rule.bwd is pass_through else rule.bwd(g, _saved(rule.keep, ans, x, c))
    np.testing.assert_array_equal(got, expected)


def test_scaling_by_an_infinite_constant_keeps_zero_cotangents_zero():
    # x * inf: the direct step decides in the backward pass, as the maker did
    x = np.array([-1.0, 2.0])
    with np.errstate(invalid="ignore"):
        g = cr.grad(lambda x: np.sum(np.where(x > 0, 0.0, x * np.inf)))(x)
    np.testing.assert_array_equal(g, [np.inf, 0.0])


def test_a_program_of_direct_steps_matches_finite_differences():
    def f(x):
        y = np.sin(x) * 1.5 + 0.25
        z = 2.0 - np.exp(-y) / 3.0
        return np.sum(np.tanh(z) ** 2 - z * 0.5)

    x = np.array([0.3, -1.2, 2.0])
    eps = 1e-6
    fd = np.array([(f(x + eps * e) - f(x - eps * e)) / (2 * eps) for e in np.eye(3)])
    np.testing.assert_allclose(cr.grad(f)(x), fd, rtol=1e-7, atol=1e-9)
    # second order goes through the same steps with traced saved values
    h = cr.hessian(f)(x)
    hfd = np.array(
        [(cr.grad(f)(x + eps * e) - cr.grad(f)(x - eps * e)) / (2 * eps) for e in np.eye(3)]
    )
    np.testing.assert_allclose(h, hfd, rtol=1e-6, atol=1e-8)


def test_a_pull_back_never_hands_back_the_callers_own_cotangent():
    # x + 1.0 and the identity pass the cotangent on unchanged: the caller gets a copy
    x, v = np.ones(3), np.arange(3.0)
    for f in (lambda x: x + 1.0, lambda x: x, lambda x: 1.0 + x - 0.5):
        (ct,) = cr.vjp(f, x)[1](v)
        np.testing.assert_array_equal(ct, v)
        assert not np.shares_memory(ct, v)


def test_the_dot_method_with_a_scipy_sparse_matrix_is_x_at_L():
    sp = pytest.importorskip("scipy.sparse")
    L = sp.random(5, 4, density=0.5, random_state=0, format="csr")
    u = np.arange(5.0)
    f = lambda u: np.sum(u.dot(L) ** 2)  # noqa: E731
    dense = L.toarray()
    np.testing.assert_allclose(cr.grad(f)(u), 2 * dense @ (u @ dense), rtol=1e-12)
    t = np.linspace(-1.0, 1.0, 5)
    np.testing.assert_allclose(cr.jvp(f, (u,), (t,))[1], 2 * (u @ dense) @ (t @ dense))
