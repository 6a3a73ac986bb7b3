"""Custom rules (``custom_vjp`` / ``custom_jvp``) in modes their rule does not define.

Fixed bugs kept as regressions: a rule with an integer argument or output broke in
the mode obtained by transposition (it ran vjp over *all* leaves), and ``jacfwd``
of a size-0 input raised IndexError in the per-batch loop. Also a rule that is not
batch-aware, under ``jacrev``, ``jacfwd`` and ``hessian``.
"""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr


def _make_custom_vjp_pow():
    @cr.custom_vjp
    def powf(x, n):
        return x**n

    powf.defvjp(lambda x, n: (x**n, (x, n)), lambda r, g: (g * r[1] * r[0] ** (r[1] - 1), None))
    return powf


def _make_custom_jvp_pow():
    @cr.custom_jvp
    def powj(x, n):
        return x**n

    powj.defjvp(lambda p, t: (p[0] ** p[1], p[1] * p[0] ** (p[1] - 1) * t[0]))
    return powj


def test_custom_vjp_int_argument_reverse_ok():
    assert cr.grad(_make_custom_vjp_pow())(2.0, 3) == pytest.approx(12.0)


def test_custom_jvp_int_argument_forward_ok():
    _, t = cr.jvp(lambda x: _make_custom_jvp_pow()(x, 3), (2.0,), (1.0,))
    assert t == pytest.approx(12.0)


def test_custom_vjp_int_argument_under_jvp():
    powf = _make_custom_vjp_pow()
    _, t = cr.jvp(lambda x: powf(x, 3), (2.0,), (1.0,))
    assert t == pytest.approx(12.0)


def test_custom_vjp_int_argument_under_hessian():
    powf = _make_custom_vjp_pow()
    x = np.array([1.0, 2.0])
    np.testing.assert_allclose(cr.hessian(lambda x: np.sum(powf(x, 3)))(x), np.diag(6 * x))


def test_custom_jvp_int_argument_under_grad():
    powj = _make_custom_jvp_pow()
    assert cr.grad(lambda x: powj(x, 3))(2.0) == pytest.approx(12.0)


def test_custom_jvp_int_argument_under_jacrev():
    powj = _make_custom_jvp_pow()
    x = np.array([1.0, 2.0])
    np.testing.assert_allclose(cr.jacrev(lambda x: powj(x, 3))(x), np.diag(3 * x**2))


def test_custom_vjp_int_output_under_jvp():
    @cr.custom_vjp
    def f(x):
        return x * 2, np.int64(3)

    f.defvjp(lambda x: ((x * 2, np.int64(3)), None), lambda r, g: (2 * g[0],))
    assert cr.grad(lambda x: f(x)[0])(2.0) == pytest.approx(2.0)  # reverse is fine
    _, t = cr.jvp(lambda x: f(x)[0], (2.0,), (1.0,))
    assert t == pytest.approx(2.0)


def test_custom_jvp_int_output_under_grad():
    @cr.custom_jvp
    def f(x):
        return x * 2, np.int64(3)

    f.defjvp(lambda p, t: ((p[0] * 2, np.int64(3)), (t[0] * 2, np.int64(0))))
    assert cr.jvp(lambda x: f(x)[0], (2.0,), (1.0,))[1] == pytest.approx(2.0)  # fine
    assert cr.grad(lambda x: f(x)[0])(2.0) == pytest.approx(2.0)


def test_custom_vjp_jacfwd_empty_input():
    @cr.custom_vjp
    def csin(x):
        return np.sin(x)

    csin.defvjp(lambda x: (np.sin(x), np.cos(x)), lambda c, g: (g * c,))
    assert cr.jacfwd(csin)(np.zeros(0)).shape == (0, 0)


def test_custom_jvp_jacfwd_empty_input():
    @cr.custom_jvp
    def cexp(x):
        return np.exp(x)

    cexp.defjvp(lambda p, t: (np.exp(p[0]), np.exp(p[0]) * t[0]))
    assert cr.jacfwd(cexp)(np.zeros(0)).shape == (0, 0)


def test_custom_rules_under_batching_and_nesting():
    @cr.custom_vjp
    def mv(x):
        return np.array([[1.0, 2.0], [3.0, 4.0]]) @ x

    a = np.array([[1.0, 2.0], [3.0, 4.0]])
    mv.defvjp(lambda x: (a @ x, None), lambda r, g: (np.dot(a.T, g),))  # not batch-aware
    x = np.array([0.5, -0.5])
    np.testing.assert_allclose(cr.jacrev(mv)(x), a)
    np.testing.assert_allclose(cr.jacfwd(mv)(x), a)
    np.testing.assert_allclose(cr.hessian(lambda x: np.sum(mv(x) ** 2))(x), 2 * a.T @ a)
