"""custom_vjp, custom_jvp and linear_transpose: the classic uses, and every
transform over them to second order."""

from __future__ import annotations

import numpy as np
import pytest
from numpy.testing import assert_allclose

import chainrule as cr

X = np.array([0.3, -1.2, 2.0])


# --- a numerically stable softplus whose naive derivative overflows ----------
def naive_softplus(x):
    return np.log(1.0 + np.exp(x))


def stable_value(x):
    # log(1 + e^x) = max(x, 0) + log(1 + e^-|x|); never overflows.
    return np.maximum(x, 0.0) + np.log(1.0 + np.exp(-np.abs(x)))


def sigmoid(x):
    return 0.5 * (np.tanh(0.5 * x) + 1.0)  # stable at any x


@cr.custom_jvp
def softplus_jvp(x):
    return stable_value(x)


softplus_jvp.defjvp(lambda p, t: (softplus_jvp(p[0]), t[0] * sigmoid(p[0])))


@cr.custom_vjp
def softplus_vjp(x):
    return stable_value(x)


softplus_vjp.defvjp(lambda x: (stable_value(x), x), lambda x, g: (g * sigmoid(x),))


@pytest.mark.parametrize("softplus", [softplus_jvp, softplus_vjp], ids=["custom_jvp", "custom_vjp"])
def test_stable_softplus(softplus):
    with np.errstate(over="ignore", invalid="ignore"):
        naive = cr.grad(naive_softplus)(1000.0)
    # The naive derivative is lost to overflow: 1 / log's inf argument is a zero
    # cotangent, and a zero cotangent times exp's infinite slope is 0 (conventions.md).
    assert not np.isclose(naive, 1.0)
    assert_allclose(cr.grad(softplus)(1000.0), 1.0)
    assert_allclose(cr.grad(softplus)(-1000.0), 0.0)
    assert_allclose(cr.grad(softplus)(0.0), 0.5)
    cr.check_grads(softplus, (X,), order=2)
    expected_h = np.diag(sigmoid(X) * (1 - sigmoid(X)))
    assert_allclose(cr.hessian(lambda x: np.sum(softplus(x)))(X), expected_h, rtol=1e-10)
    assert_allclose(cr.jacrev(softplus)(X), cr.jacfwd(softplus)(X))
    assert_allclose(cr.jvp(softplus, (X,), (np.ones(3),))[1], sigmoid(X))


# --- gradient clipping in the backward pass -----------------------------------
@cr.custom_vjp
def clip_gradient(x):
    return x


clip_gradient.defvjp(lambda x: (x, None), lambda _, g: (np.clip(g, -1.0, 1.0),))


def test_gradient_clipping():
    f = lambda x: np.sum(clip_gradient(x) * np.array([10.0, 0.5, -3.0]))  # noqa: E731
    assert_allclose(cr.grad(f)(X), [1.0, 0.5, -1.0])
    # the forward value is untouched
    assert_allclose(clip_gradient(X), X)
    # Clipping is a reverse-mode device: forward mode transposes the backward
    # rule's linearisation at a zero cotangent, where clip is the identity, so
    # it reports the plain derivative of the function (2 t).
    _, t = cr.jvp(lambda x: clip_gradient(x) * 2.0, (X,), (np.array([0.5, 3.0, -4.0]),))
    assert_allclose(t, [1.0, 6.0, -8.0])


# --- the implicit function theorem: derivative of a fixed point ---------------
def fixed_point_solve(a, x0=0.0, steps=200):
    """Iterate x = cos(a x) to its fixed point (plain NumPy, no derivative)."""
    x = x0
    for _ in range(steps):
        x = np.cos(a * x)
    return x


@cr.custom_vjp
def fixed_point(a):
    return fixed_point_solve(cr.stop_gradient(a))


def _fp_fwd(a):
    # Keep x as fixed_point(a), not the bare solve: when an outer transform
    # follows a, the residual x must carry its own derivative (dx/da) for
    # second derivatives to be right.
    x = fixed_point(a)
    return x, (a, x)


def _fp_bwd(res, g):
    # x = f(a, x) with f = cos(a x):  dx/da = f_a / (1 - f_x)
    a, x = res
    f_a = -np.sin(a * x) * x
    f_x = -np.sin(a * x) * a
    return (g * f_a / (1.0 - f_x),)


fixed_point.defvjp(_fp_fwd, _fp_bwd)


def test_implicit_function_theorem():
    a = 0.7
    x = fixed_point(a)
    assert_allclose(x, np.cos(a * x))
    h = 1e-6
    numeric = (fixed_point_solve(a + h) - fixed_point_solve(a - h)) / (2 * h)
    assert_allclose(cr.grad(fixed_point)(a), numeric, rtol=1e-7)
    # forward mode through the transposed rule gives the same number
    assert_allclose(cr.jvp(fixed_point, (a,), (1.0,))[1], numeric, rtol=1e-7)
    # and the second derivative (the rule is written with NumPy, so it is
    # differentiable itself) matches finite differences of the first
    d1 = lambda b: cr.grad(fixed_point)(b)  # noqa: E731
    assert_allclose(cr.grad(d1)(a), (d1(a + 1e-5) - d1(a - 1e-5)) / 2e-5, rtol=1e-5)


# --- composition ----------------------------------------------------------------
@cr.custom_vjp
def sin_times(x, y):
    return np.sin(x) * y


sin_times.defvjp(
    lambda x, y: (np.sin(x) * y, (x, y)),
    lambda r, g: (g * np.cos(r[0]) * r[1], g * np.sin(r[0])),
)


def test_custom_vjp_every_transform():
    y = np.array([2.0, 3.0, -1.0])
    cr.check_grads(sin_times, (X, y), order=2)
    assert_allclose(cr.jacrev(sin_times)(X, y), cr.jacfwd(sin_times)(X, y))
    assert_allclose(cr.hessian(lambda x: np.sum(sin_times(x, y)))(X), np.diag(-np.sin(X) * y))
    g, hv = cr.hvp(lambda x: np.sum(sin_times(x, y)), (X,), (np.ones(3),))
    assert_allclose(hv, -np.sin(X) * y)


def test_custom_rule_inside_custom_rule_and_control_flow():
    @cr.custom_vjp
    def outer(x):
        return sin_times(x, x)

    outer.defvjp(
        lambda x: (sin_times(x, x), x),
        lambda x, g: (cr.vjp(lambda z: sin_times(z, z), x)[1](g)[0],),
    )

    def f(x):
        total = 0.0
        for k in range(3):
            total = total + (outer(x) if k % 2 == 0 else softplus_jvp(x))
        return np.sum(total)

    expected = lambda x: 2 * (np.cos(x) * x + np.sin(x)) + sigmoid(x)  # noqa: E731
    assert_allclose(cr.grad(f)(X), expected(X))
    cr.check_grads(f, (X,), order=2)


def test_multiple_outputs_and_pytrees():
    @cr.custom_vjp
    def polar(p):
        return {
            "r": np.hypot(p[0], p[1]) if False else np.sqrt(p[0] ** 2 + p[1] ** 2),
            "t": np.sin(p[0]),
        }

    def fwd(p):
        r = np.sqrt(p[0] ** 2 + p[1] ** 2)
        return {"r": r, "t": np.sin(p[0])}, (p, r)

    def bwd(res, g):
        p, r = res
        return ((g["r"] * p[0] / r + g["t"] * np.cos(p[0]), g["r"] * p[1] / r),)

    polar.defvjp(fwd, bwd)
    p = (1.5, -0.5)
    f = lambda a, b: polar((a, b))["r"] * polar((a, b))["t"]  # noqa: E731
    cr.check_grads(f, p, order=2)


def test_custom_jvp_reverse_mode_on_batches():
    @cr.custom_jvp
    def cube(x):
        return x**3

    cube.defjvp(lambda p, t: (cube(p[0]), 3.0 * p[0] ** 2 * t[0]))
    assert_allclose(cr.jacrev(cube)(X), np.diag(3 * X**2))
    assert_allclose(cr.hessian(lambda x: np.sum(cube(x)))(X), np.diag(6 * X))
    assert_allclose(cr.jacrev(cr.jacfwd(cube))(X), cr.jacfwd(cr.jacrev(cube))(X))


def test_linear_transpose():
    A = np.arange(6.0).reshape(2, 3)
    (ct,) = cr.linear_transpose(lambda x: A @ x, np.zeros(3))(np.array([1.0, -1.0]))
    assert_allclose(ct, A.T @ np.array([1.0, -1.0]))


def test_custom_rule_errors():
    @cr.custom_vjp
    def f(x):
        return x

    with pytest.raises(TypeError, match="defvjp"):
        cr.grad(f)(1.0)
    f.defvjp(lambda x: (x, None), lambda r, g: g)  # not a tuple
    with pytest.raises(ValueError, match="one cotangent per argument"):
        cr.grad(f)(1.0)
    f.defvjp(lambda x: x, lambda r, g: (g,))  # fwd not a pair
    with pytest.raises(TypeError, match=r"\(out, residuals\)"):
        cr.grad(f)(np.array([1.0]))
    f.defvjp(lambda x: (x, None), lambda r, g: (np.ones(5),))
    with pytest.raises(ValueError, match="shape"):
        cr.grad(lambda x: np.sum(f(x)))(np.ones(2))
