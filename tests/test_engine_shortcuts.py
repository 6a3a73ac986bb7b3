"""The reverse trace's shortcuts that change what is recorded, not what is computed.

- ``x + c`` shares ``x``'s tape slot (no entry, no backward step);
- ``sin(x)`` and ``cos(x)`` of one traced array take each other's result as
  their derivative (core.primitive.set_partner), so neither is computed again;
- ``W @ x`` with a constant float64 matrix records a bare ``np.dot`` step
  (core.primitive.set_direct_pair);
- a real scalar's ``sin`` takes its slope forward (set_direct's ``slope``);
- ``grad`` of a function of one float array takes a short way (``_one_array``).

Each is checked against finite differences or closed forms and against the
general path, including where the shortcut must not apply.
"""

from __future__ import annotations

import numpy as np
import pytest
from conftest import fd_jacobian, rand

import chainrule as cr
from chainrule.core.reverse import ReverseTrace
from chainrule.rules.products import _matmul_direct, matmul_p


def _record(f, x):
    """The tape of ``f`` at ``x`` and the output tracer."""
    trace = ReverseTrace()
    with trace:
        out = f(trace.new_input(x))
    return trace.tape, out


# --- x + c shares x's slot ----------------------------------------------------
def test_adding_a_constant_records_nothing():
    tape, out = _record(lambda x: ((x + 1.0) - 2.0 + 0.5) * 3.0, rand(4))
    assert len(tape) == 2  # the input and the product
    assert tape[1][0] == 0  # the product's parent is the input's slot itself


@pytest.mark.parametrize(
    "f",
    [
        lambda x: np.sin(x + 1.0) * np.cos(x),  # partners on different values
        lambda x: (x + 2.0) * (x + 3.0) - (1.0 + x) ** 2,
        lambda x: np.exp(x - 0.5) * (x + 0.5) + x,
        lambda x: np.tanh((x + 1.0) @ np.ones((4, 4)) + 1.0),
    ],
    ids=["sin-cos-shifted", "products-of-shifts", "exp-shift", "matmul-shift"],
)
def test_shared_slots_give_the_right_jacobian(f):
    x = rand(4)
    expected = fd_jacobian(f, x)
    np.testing.assert_allclose(cr.jacrev(f)(x), expected, rtol=1e-7, atol=1e-8)
    np.testing.assert_allclose(cr.jacfwd(f)(x), expected, rtol=1e-7, atol=1e-8)
    s = lambda x: np.sum(np.sin(f(x)))  # noqa: E731
    np.testing.assert_allclose(cr.hessian(s)(x), fd_jacobian(cr.grad(s), x), rtol=1e-6, atol=1e-7)


def test_an_output_and_its_shift_are_both_outputs():
    x, u, v = rand(3), rand(3), rand(3)
    _, pull = cr.vjp(lambda x: (x, x + 1.0, np.sin(x)), x)
    (ct,) = pull((u, v, u))
    np.testing.assert_allclose(ct, u + v + np.cos(x) * u, rtol=1e-14)


def test_the_graph_still_shows_the_addition():
    g = cr.graph(lambda x: np.sum((x + 1.0) * 2.0))(rand(3))
    assert "add" in str(g)


# --- sin and cos of one value ---------------------------------------------------
def test_sin_and_cos_of_one_value_use_each_others_result():
    x = rand(5)
    tape, _ = _record(lambda x: np.sin(x) * np.cos(x), x)
    (_, sin_step, sin_kept), (_, cos_step, cos_kept) = tape[1], tape[2]
    np.testing.assert_array_equal(sin_kept, np.cos(x))  # sin's derivative: cos's result
    np.testing.assert_array_equal(cos_kept, np.sin(x))  # cos's: sin's
    g = rand(5)
    np.testing.assert_array_equal(sin_step(g, sin_kept), g * np.cos(x))
    np.testing.assert_array_equal(cos_step(g, cos_kept), g * -np.sin(x))


@pytest.mark.parametrize(
    "f, df",
    [
        (lambda x: np.sin(x) * np.cos(x), lambda x: np.cos(2 * x)),
        (lambda x: np.cos(x) ** 2 + np.sin(x), lambda x: -np.sin(2 * x) + np.cos(x)),
        (lambda x: np.sinh(x) * np.cosh(x), lambda x: np.cosh(2 * x)),
        (lambda x: np.sin(x) + np.cos(x) + np.cos(x), lambda x: np.cos(x) - 2 * np.sin(x)),
    ],
    ids=["sin*cos", "cos-first", "sinh*cosh", "cos-twice"],
)
def test_partners_give_closed_form_derivatives(f, df):
    x = rand(6)
    np.testing.assert_allclose(cr.grad(lambda x: np.sum(f(x)))(x), df(x), rtol=1e-13, atol=1e-15)
    np.testing.assert_allclose(cr.vmap(cr.grad(f))(x), df(x), rtol=1e-13, atol=1e-15)
    hessian = cr.hessian(lambda x: np.sum(f(x)))(x)  # second order through the partners
    np.testing.assert_allclose(hessian, fd_jacobian(df, x), rtol=1e-6, atol=1e-7)


def test_sinh_and_cosh_partners_keep_zero_cotangents_zero():
    # cosh overflows to inf past ~710: a zero cotangent must stay zero, not nan
    x = np.array([800.0, 1.0])
    with np.errstate(over="ignore"):
        g = cr.grad(lambda x: np.sum(np.where(x < 10, np.sinh(x) * np.cosh(x), 0.0)))(x)
    np.testing.assert_array_equal(g[0], 0.0)
    np.testing.assert_allclose(g[1], np.cosh(2.0), rtol=1e-14)


def test_partners_are_not_kept_after_the_forward_pass():
    trace = ReverseTrace()
    with trace:
        x = trace.new_input(rand(3))
        np.sin(x) * np.cos(x)
        assert trace.shared  # the pairing is looked up while recording ...
    assert not trace.shared  # ... and holds no result once the function returned


# --- W @ x with a constant matrix -------------------------------------------------
@pytest.mark.parametrize("i, v_shape", [(1, (4,)), (1, (4, 2)), (0, (3,)), (0, (5, 3))])
def test_the_matmul_step_equals_the_makers_closure(i, v_shape):
    c = rand(4, 3) if i == 1 else rand(3, 4)
    c = c.T.copy() if i == 1 else c  # c @ v needs c of shape (., 4)
    v = rand(*v_shape)
    ans, step, kept = _matmul_direct(v, c, i)
    operands = (c, v) if i == 1 else (v, c)
    np.testing.assert_allclose(ans, operands[0] @ operands[1], rtol=1e-14)
    for lead in [(), (2,), (2, 3)]:  # jacrev pulls back batches of cotangents
        g = rand(*lead, *ans.shape)
        expected = matmul_p.vjp[i](ans, *operands)(g)
        np.testing.assert_allclose(step(g, kept), expected, rtol=1e-13, atol=1e-15)
        # and the derivative of a product itself: c^T g for c @ v, g c^T for v @ c
        by_hand = (g @ c if v.ndim == 1 else c.T @ g) if i == 1 else g @ c.T
        np.testing.assert_allclose(step(g, kept), by_hand, rtol=1e-13, atol=1e-15)


@pytest.mark.parametrize(
    "v, c",
    [
        (rand(3).astype(np.float32), rand(4, 3).astype(np.float32)),  # not float64
        (rand(3), rand(3)),  # a vector constant
        (rand(2, 2, 3), rand(4, 3)),  # a stack
        (rand(3) + 1j, rand(4, 3)),  # complex
    ],
    ids=["float32", "vector", "stack", "complex"],
)
def test_the_matmul_step_declines_what_it_does_not_cover(v, c):
    assert _matmul_direct(v, c, 1 if c.shape[-1] == v.shape[0] else 0) is None


def test_a_layer_chain_matches_finite_differences_in_every_mode():
    rng = np.random.default_rng(3)
    Ws = [rng.standard_normal((4, 4)) / 2 for _ in range(3)]

    def f(x):
        for W in Ws:
            x = np.tanh(W @ x) @ W
        return x

    x = rand(4)
    expected = fd_jacobian(f, x)
    np.testing.assert_allclose(cr.jacrev(f)(x), expected, rtol=1e-7, atol=1e-9)
    np.testing.assert_allclose(cr.jacfwd(f)(x), expected, rtol=1e-7, atol=1e-9)
    s = lambda x: np.sum(f(x) ** 2)  # noqa: E731
    np.testing.assert_allclose(cr.hessian(s)(x), fd_jacobian(cr.grad(s), x), rtol=1e-6, atol=1e-8)


# --- a real scalar's slope, taken forward --------------------------------------------
def test_a_scalar_sin_keeps_its_slope():
    tape, _ = _record(lambda x: np.sin(x * 1.0), np.float64(0.3))
    parent, step, kept = tape[-1]
    assert kept == np.cos(0.3)
    assert step(2.0, kept) == 2.0 * np.cos(0.3)


def test_the_scalar_loop_matches_its_closed_form():
    def f(x):
        for _ in range(50):
            x = np.sin(x) * 1.0001 + 0.1
        return x

    x, slope = 0.3, 1.0
    for _ in range(50):
        slope *= np.cos(x) * 1.0001
        x = np.sin(x) * 1.0001 + 0.1
    np.testing.assert_allclose(cr.grad(f)(np.array(0.3)), slope, rtol=1e-13)
    np.testing.assert_allclose(cr.grad(f)(0.3), slope, rtol=1e-13)


# --- grad of one float array ------------------------------------------------------------
def test_grad_of_one_array_hands_back_a_fresh_writable_array():
    x = rand(3)
    for f in (np.sum, lambda x: np.sum(x + 1.0), lambda x: x[0] * 1.0, lambda x: np.sum(x) * 2):
        g = cr.grad(f)(x)
        assert type(g) is np.ndarray and g.flags.writeable and g.dtype == np.float64
        assert not np.shares_memory(g, x)


@pytest.mark.parametrize(
    "x, f, expected",
    [
        (np.array(2.0), lambda x: x * x, np.array(4.0)),  # a 0-d input: a 0-d gradient
        (np.float32([1.0, 2.0]), lambda x: np.sum(x * x), np.float32([2.0, 4.0])),
        (np.ones(2), lambda x: 3.0, np.zeros(2)),  # nothing reaches the input
        (np.ones(2), lambda x: np.sum(x.astype(np.float32)), np.ones(2)),  # a float32 output
        (np.ones(1), lambda x: x * 2.0, np.array([2.0])),  # a size-1 array output
    ],
    ids=["0-d", "float32", "constant", "float32-output", "size-1-output"],
)
def test_grad_of_one_array_on_the_uncommon_outputs(x, f, expected):
    g = cr.grad(f)(x)
    assert type(g) is np.ndarray and g.dtype == x.dtype and g.shape == x.shape
    np.testing.assert_allclose(g, expected, rtol=1e-6)
    value, g2 = cr.value_and_grad(f)(x)
    np.testing.assert_allclose(value, f(x), rtol=1e-6)
    np.testing.assert_array_equal(g, g2)


def test_grad_of_one_array_refuses_what_grad_refuses():
    with pytest.raises(TypeError, match="scalar output, but the function returned an array"):
        cr.grad(lambda x: x * 2.0)(rand(3))
    with pytest.raises(TypeError, match="real-valued outputs"):
        cr.grad(lambda x: np.sum(x * 1j))(rand(3))
    with pytest.raises(TypeError, match="single scalar"):
        cr.grad(lambda x: (np.sum(x), np.sum(x)))(rand(3))


# --- steps written into a cotangent nothing else holds ------------------------------------
BIG = 1 << 13  # above the size from which the backward pass writes in place


def test_in_place_steps_give_what_the_steps_give():
    x = np.random.default_rng(5).uniform(0.1, 2.0, BIG)

    def f(x):
        return np.sum(np.cos(np.tanh(np.exp(np.sin(x) * 0.5) * 3.0)) * np.cos(x))

    def df(x):  # by hand
        s, c = np.sin(x), np.cos(x)
        e = np.exp(s * 0.5)
        t = np.tanh(e * 3.0)
        outer = -np.sin(t) * c
        return outer * (1 - t * t) * 3.0 * e * 0.5 * c - np.cos(t) * s

    np.testing.assert_allclose(cr.grad(f)(x), df(x), rtol=1e-12, atol=1e-14)


def test_in_place_steps_never_write_into_the_callers_arrays():
    x = np.random.default_rng(6).uniform(-1.0, 1.0, BIG)
    v = np.random.default_rng(7).uniform(-1.0, 1.0, BIG)
    x0, v0 = x.copy(), v.copy()
    f = lambda x: np.exp(np.sin(x) * 2.0)  # noqa: E731
    out, pull = cr.vjp(f, x)
    out0 = out.copy()
    (ct,) = pull(v)
    np.testing.assert_array_equal(v, v0)  # the cotangent handed in
    np.testing.assert_array_equal(x, x0)
    np.testing.assert_array_equal(out, out0)  # the value handed out
    np.testing.assert_allclose(ct, v * out * 2.0 * np.cos(x), rtol=1e-13)
    np.testing.assert_array_equal(pull(v)[0], ct)  # pulled back again: the same


def test_in_place_steps_keep_dtypes_and_broadcasting():
    x32 = np.random.default_rng(8).uniform(-1.0, 1.0, BIG).astype(np.float32)
    g = cr.grad(lambda x: np.sum(np.exp(x * np.float64(2.0))))(x32)  # float64 result inside
    assert g.dtype == np.float32
    np.testing.assert_allclose(g, 2.0 * np.exp(2.0 * x32.astype(float)), rtol=1e-6)
    X = np.random.default_rng(9).uniform(-1.0, 1.0, (4, BIG // 4))
    w = np.random.default_rng(10).uniform(-1.0, 1.0, BIG // 4)
    gw = cr.grad(lambda w: np.sum(np.tanh(X * w) * 0.5))(w)  # a step whose g is larger than w
    np.testing.assert_allclose(gw, np.sum(0.5 * (1 - np.tanh(X * w) ** 2) * X, axis=0), rtol=1e-12)


def test_an_infinite_slope_meets_zero_cotangents_in_place():
    x = np.full(BIG, 800.0)  # exp overflows: its step must keep the zeros zero
    x[::2] = 1.0
    with np.errstate(over="ignore"):
        g = cr.grad(lambda x: np.sum(np.where(x < 10.0, np.exp(x) * 2.0, 0.0)))(x)
    np.testing.assert_array_equal(g[1::2], 0.0)
    np.testing.assert_allclose(g[::2], 2.0 * np.e, rtol=1e-14)


def test_the_spread_seed_of_a_sum_is_not_multiplied_in():
    # grad of sum(x * w): the seed spread over x is ones, so the cotangent of x is w
    # itself, handed on as a read-only view; the user gets a fresh writable array
    rng = np.random.default_rng(11)
    x, w = rng.uniform(-1.0, 1.0, BIG), rng.uniform(-1.0, 1.0, BIG)
    w0 = w.copy()
    g = cr.grad(lambda x: np.sum(x * w))(x)
    np.testing.assert_array_equal(g, w0)
    assert g.flags.writeable and not np.shares_memory(g, w) and not np.shares_memory(g, x)
    g[0] = 123.0
    np.testing.assert_array_equal(w, w0)
    # the same where the product's other operand is traced too, and feeds on
    h = cr.grad(lambda x: np.sum(np.exp(x) * x))(x)
    np.testing.assert_allclose(h, np.exp(x) * (1 + x), rtol=1e-13, atol=1e-15)
    # a vjp handed a spread cotangent of its own
    ones = np.broadcast_to(1.0, (BIG,))
    (ct,) = cr.vjp(lambda x: x * w, x)[1](ones)
    np.testing.assert_array_equal(ct, w0)
    assert ct.flags.writeable and not np.shares_memory(ct, w)


def test_the_spread_seed_keeps_higher_order_derivatives():
    # forward over reverse: the derivative multiplied by the seed is traced, and
    # must stay traced (a plain copy of it would drop the second derivative)
    x, p = np.linspace(-1.0, 1.0, BIG), np.ones(BIG)
    _, hp = cr.jvp(cr.grad(lambda x: np.sum(x**4)), (x,), (p,))
    np.testing.assert_allclose(hp, 12 * x**2, rtol=1e-12)
    _, hp2 = cr.jvp(cr.grad(lambda x: np.sum(x * np.sin(x))), (x,), (p,))
    np.testing.assert_allclose(hp2, 2 * np.cos(x) - x * np.sin(x), rtol=1e-12, atol=1e-15)
