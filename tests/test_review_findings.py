"""Review findings for the engine and transforms.

Each test here came from an adversarial review: some pinned down bugs that are
now fixed (fan-out sums that become tracers at higher order, integer leaves in
custom rules under transposition, empty batches, linearize's tangent casting);
the rest are tricky cases that were already right, kept as regressions.
"""

from __future__ import annotations

import threading

import numpy as np
import pytest
from conftest import fd_jacobian

import chainrule as cr

C2 = np.array([1.0, 2.0])


# ---------------------------------------------------------------------------
# BUG 1: _accumulate keeps a slot in `owned` after the sum became a tracer,
# then does np.add(tracer, c, out=tracer) -> ConversionError. Any hessian of a
# value used 4+ times with mixed constant / variable partials hits it.
# ---------------------------------------------------------------------------


def _four_uses(x):
    # d/dx = 3*C2 + 2x ; Hessian = 2 I
    return np.sum(x * C2 + x * x + x * C2 + x * C2)


def test_hessian_fanout_mixed_constant_and_traced_contributions():
    x = np.array([0.3, 0.4])
    np.testing.assert_allclose(cr.hessian(_four_uses)(x), 2 * np.eye(2))


def test_hvp_fanout_mixed_constant_and_traced_contributions():
    x = np.array([0.3, 0.4])
    _, hv = cr.hvp(_four_uses, (x,), (C2,))
    np.testing.assert_allclose(hv, 2 * C2)


def test_grad_of_grad_fanout_mixed_contributions():
    y0 = np.array([0.5, -1.0])

    def outer(x):
        def f(y):
            return np.sum(y * C2 + y * x + y * C2 + y * C2)

        return np.sum(cr.grad(f)(y0))  # = sum(3 * C2 + x)

    np.testing.assert_allclose(cr.grad(outer)(np.array([0.3, 0.4])), [1.0, 1.0])


# ---------------------------------------------------------------------------
# BUG 2: custom rules with a non-float (int) argument or output break in the
# mode obtained by transposition: the transposition runs vjp over *all* leaves.
# ---------------------------------------------------------------------------


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


# ---------------------------------------------------------------------------
# BUG 3: custom rules under jacfwd of a size-0 input: IndexError in _per_batch.
# ---------------------------------------------------------------------------


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


# ---------------------------------------------------------------------------
# BUG 4: linearize's jvp_fn rejects a float64 tangent for a float32 primal
# (jvp accepts it) with a misleading "vjp_fn: cotangent" message: the casted
# tangents from check_primals_tangents are discarded.
# ---------------------------------------------------------------------------


def test_linearize_accepts_tangents_like_jvp():
    x32 = np.array([1.0, 2.0], dtype=np.float32)
    t = np.ones(2)
    _, jv = cr.jvp(lambda x: x * 2, (x32,), (t,))
    _, lin = cr.linearize(lambda x: x * 2, x32)
    np.testing.assert_allclose(lin(t), jv)


# ---------------------------------------------------------------------------
# Passing regression tests for tricky cases.
# ---------------------------------------------------------------------------


def test_perturbation_confusion_reverse_and_forward():
    assert cr.grad(lambda x: x * cr.grad(lambda y: x * y)(2.0))(1.0) == pytest.approx(2.0)
    inner = lambda x: x * cr.jvp(lambda y: x * y, (2.0,), (1.0,))[1]  # noqa: E731
    assert cr.jvp(inner, (1.0,), (1.0,))[1] == pytest.approx(2.0)


def test_same_tracer_several_arguments():
    x = np.array([1.3, 2.6, -3.2])
    for f in (
        lambda x: x @ x,
        lambda x: np.dot(x, x),
        lambda x: np.einsum("i,i->", x, x),
        lambda x: np.sum(np.multiply(x, x)),
    ):
        np.testing.assert_allclose(cr.grad(f)(x), 2 * x)
    w = np.arange(9.0).reshape(3, 3)
    g = cr.grad(lambda x: np.sum(np.stack([x, x, x]) * w))(x)
    np.testing.assert_allclose(g, w.sum(0))
    np.testing.assert_allclose(cr.jacrev(lambda x: x * x * x)(x), np.diag(3 * x**2))


def test_vjp_same_tracer_three_outputs_does_not_mutate_cotangents():
    x = np.array([1.0, 2.0, 3.0])
    _, f = cr.vjp(lambda x: (x, x, x), x)
    a, b, c = np.ones(3), 2 * np.ones(3), 4 * np.ones(3)
    (g,) = f((a, b, c))
    np.testing.assert_allclose(g, 7.0)
    np.testing.assert_allclose((a, b, c), [np.ones(3), 2 * np.ones(3), 4 * np.ones(3)])
    (g2,) = f((a, b, c))
    np.testing.assert_allclose(g, 7.0)
    np.testing.assert_allclose(g2, 7.0)


def test_fanout_with_broadcast_views_and_aliases():
    x = np.array([0.5, 1.5])
    f = lambda x: np.sum(x) + np.sum(x + 0.0) + np.sum(x * 1.0) + np.sum(x)  # noqa: E731
    np.testing.assert_allclose(cr.grad(f)(x), [4.0, 4.0])
    np.testing.assert_allclose(x, [0.5, 1.5])


def test_hessians_by_every_nesting_agree_with_fd():
    x = np.array([1.0, 2.0, 3.0])
    f = lambda x: np.sin(x[:2]) * x[1:]  # noqa: E731
    ref = fd_jacobian(lambda x: cr.jacrev(f)(x), x, 1e-5)
    for outer in (cr.jacfwd, cr.jacrev):
        for inner in (cr.jacfwd, cr.jacrev):
            np.testing.assert_allclose(outer(inner(f))(x), ref, atol=1e-6)


def test_batched_broadcast_coincident_batch_size():
    # input size 2 == broadcast axis size 2: batch axes must not line up
    c = np.array([[1.0, 2.0], [3.0, 4.0]])
    x = np.array([0.3, 0.7])
    for f in (
        lambda x: x * c,
        lambda x: c / x,
        lambda x: x**c,
        lambda x: np.where(c > 2, x, c),
        lambda x: cr.at(c)[0].set(x),
        lambda x: x @ c,
        lambda x: np.outer(x, x),
    ):
        ref = fd_jacobian(f, x)
        np.testing.assert_allclose(cr.jacfwd(f)(x), ref, atol=1e-6)
        np.testing.assert_allclose(cr.jacrev(f)(x), ref, atol=1e-6)
    np.testing.assert_array_equal(c, [[1.0, 2.0], [3.0, 4.0]])


def test_hessian_and_hvp_several_arguments():
    f = lambda a, b: a**2 * b**3  # noqa: E731
    h = cr.hessian(f, argnums=(0, 1))(2.0, 3.0)
    np.testing.assert_allclose(np.array(h, dtype=float), [[54.0, 108.0], [108.0, 72.0]])
    g, hv = cr.hvp(f, (2.0, 3.0), (1.0, 0.0))
    np.testing.assert_allclose(g, (108.0, 108.0))
    np.testing.assert_allclose(hv, (54.0, 108.0))


def test_linearize_various():
    x = np.array([0.3, 0.6, -0.2])
    v = np.array([1.0, 2.0, 3.0])
    _, lin = cr.linearize(lambda a, b: a * b, x, 2 * x)
    np.testing.assert_allclose(lin(v, v), 3 * x * v)
    _, lin = cr.linearize(lambda x: (x, x**2), x)
    t0, t1 = lin(v)
    np.testing.assert_allclose(t0, v)
    np.testing.assert_allclose(t1, 2 * x * v)
    _, lin = cr.linearize(cr.checkpoint(lambda x: np.sin(x) * x), x)
    np.testing.assert_allclose(lin(v), (np.cos(x) * x + np.sin(x)) * v)
    assert cr.grad(lambda y: cr.linearize(lambda x: x**3, y)[1](1.0))(2.0) == pytest.approx(12.0)


def test_outputs_alias_or_ignore_inputs():
    x = np.array([1.0, 2.0, 3.0])
    np.testing.assert_allclose(cr.jacrev(lambda x: x)(x), np.eye(3))
    np.testing.assert_allclose(cr.jacfwd(lambda x: x)(x), np.eye(3))
    np.testing.assert_allclose(cr.jacrev(lambda x: np.ones(2))(x), np.zeros((2, 3)))
    np.testing.assert_allclose(cr.jacfwd(lambda x: np.ones(2))(x), np.zeros((2, 3)))
    assert cr.grad(lambda x: 3.0)(1.0) == 0.0
    jr = cr.jacrev(cr.checkpoint(lambda x: (x, x)))(x)
    np.testing.assert_allclose(jr[0], np.eye(3))
    np.testing.assert_allclose(jr[1], np.eye(3))


def test_float32_gradient_dtypes():
    x32 = np.array([1.0, 2.0], dtype=np.float32)
    assert cr.grad(lambda x: np.sum(np.sin(x) * np.float64(2.0)))(x32).dtype == np.float32
    assert cr.jacrev(lambda x: x * 2.0)(x32).dtype == np.float32
    assert cr.jacfwd(lambda x: x * 2.0)(x32).dtype == np.float32
    assert cr.hessian(lambda x: np.sum(x**3))(x32).dtype == np.float32
    assert cr.grad(lambda x: x * 2.0)(np.float32(1.0)).dtype == np.float32


def test_integer_and_boolean_intermediates_have_zero_derivative():
    x = np.array([1.3, 2.6, -3.2])
    np.testing.assert_allclose(cr.grad(lambda x: np.sum(x.astype(int).astype(float)))(x), 0.0)
    np.testing.assert_allclose(cr.grad(lambda x: np.sum(x.astype(int) * x))(x), [1, 2, -3])
    np.testing.assert_allclose(cr.grad(lambda x: np.sum(x[x > 1.5] ** 2))(x), [0, 5.2, 0])
    np.testing.assert_allclose(cr.grad(lambda x: np.sum(x % 1.0))(x), 1.0)
    np.testing.assert_allclose(cr.grad(lambda x: np.sum(np.floor(x)))(x), 0.0)


def test_inplace_operators():
    x = np.array([1.0, 2.0, 3.0])

    def f(x):
        x += 1  # rebinds the tracer
        return np.sum(x * x)

    np.testing.assert_allclose(cr.grad(f)(x), 2 * (x + 1))
    np.testing.assert_array_equal(x, [1.0, 2.0, 3.0])

    def g(x):
        a = np.zeros(3)
        a += x  # would drop the derivative
        return np.sum(a)

    with pytest.raises(TypeError):
        cr.grad(g)(x)
    with pytest.raises(TypeError):
        cr.grad(lambda y: np.sum(x * [y, y, y]))(2.0)


def test_user_arrays_not_mutated_by_transforms():
    c = np.array([[1.0, 2.0], [3.0, 4.0]])
    v = np.array([5.0, 6.0])
    cr.grad(lambda v: np.sum(cr.at(c)[0].set(v)))(v)
    cr.grad(lambda v: np.sum(cr.at(c)[0].add(v)))(v)
    cr.jacfwd(lambda v: cr.at(c)[:, 1].multiply(v))(v)
    cr.hessian(lambda c: np.sum(cr.at(c)[:, 1].min(v) ** 2))(c)
    cr.jvp(lambda v: v * c, (v,), (v,))
    np.testing.assert_array_equal(c, [[1.0, 2.0], [3.0, 4.0]])
    np.testing.assert_array_equal(v, [5.0, 6.0])


def test_leaked_tracer_is_reported():
    leak = []
    cr.grad(lambda x: (leak.append(x), x * 2)[1])(1.0)
    with pytest.raises(Exception, match="after its transform returned"):
        cr.grad(lambda y: leak[0] * y)(2.0)


def test_vjp_fn_twice_and_from_another_thread():
    x = np.array([0.1, 0.2, 0.3])
    _, f = cr.vjp(lambda x: np.sin(x) * x, x)
    res = {}
    th = threading.Thread(target=lambda: res.setdefault("r", f(np.ones(3))))
    th.start()
    th.join()
    d = np.cos(x) * x + np.sin(x)
    np.testing.assert_allclose(res["r"][0], d)
    np.testing.assert_allclose(f(2 * np.ones(3))[0], 2 * d)
    np.testing.assert_allclose(f(np.ones(3))[0], d)


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


def test_checkpoint_inside_hessian_and_jacfwd():
    x = np.array([0.1, 0.2])
    ck = cr.checkpoint(lambda y: cr.checkpoint(np.sin)(y) ** 2)
    ref = cr.hessian(lambda x: np.sum(np.sin(x) ** 2))(x)
    np.testing.assert_allclose(cr.hessian(lambda x: np.sum(ck(x)))(x), ref)
    np.testing.assert_allclose(cr.jacfwd(ck)(x), np.diag(np.sin(2 * x)))


def test_stop_gradient_nested():
    assert cr.grad(lambda x: x * cr.stop_gradient(x))(3.0) == pytest.approx(3.0)
    f = lambda x: cr.grad(lambda y: y * cr.stop_gradient(x * y))(x)  # noqa: E731
    assert cr.grad(f)(2.0) == pytest.approx(0.0)


def test_jacobians_pytrees_and_aux():
    p = {"w": np.array([1.0, 2.0]), "v": 3.0}

    def f(p):
        return {"a": p["w"] * 2, "b": (p["w"][0] * p["v"],)}, {"aux": p["w"]}

    for jac in (cr.jacrev, cr.jacfwd):
        j, aux = jac(f, has_aux=True)(p)
        np.testing.assert_allclose(j["a"]["w"], 2 * np.eye(2))
        np.testing.assert_allclose(j["a"]["v"], [0.0, 0.0])
        np.testing.assert_allclose(j["b"][0]["w"], [3.0, 0.0])
        assert j["b"][0]["v"] == pytest.approx(1.0)
        np.testing.assert_allclose(aux["aux"], [1.0, 2.0])
