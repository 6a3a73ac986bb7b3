"""A hostile review of the reverse trace's direct steps and core's hooks (issue #12).

The reverse trace records a unary elementwise primitive or an operation with a
Python number as ``(parent, bwd, saved)``, and ``x + c`` as ``(parent,)`` (the
cotangent passed on as it is); ``W @ x`` and ``x @ W`` take their small VJP
directly; the short paths make their tracers with ``object.__new__``; and what
the floors above core add to a traced value (SciPy's lazy rules, scipy.sparse's
``L @ x`` and ``x @ L``, array-API writes, iteration) arrives through hooks.
Each case here checks values against central differences or closed forms, and
against the general path (``general_paths_only``), in the situations where a
shortcut could differ: fan-out onto a passed-on cotangent, higher order with
saved values that are tracers, complex results of real arguments, float32,
NumPy scalars, repeated pull-backs, nesting with checkpoint, custom rules,
``jit`` and ``vmap``. Four cases were bugs when written (vmap results aliasing
each other, twice; scikit-learn's copy of array_api_extra's ``at``; the collector
held off in a custom rule's backward function) and pass since their fixes.
"""

from __future__ import annotations

import contextlib
import gc
import json
import subprocess
import sys
import textwrap
import warnings

import numpy as np
import pytest
from conftest import fd_jacobian
from test_fast_paths import general_paths_only

import chainrule as cr
from chainrule.core.reverse import ReverseTrace, ReverseTracer

X = np.array([0.5, -1.25, 2.0])


def _fast_and_general(fn):
    fast = fn()
    with general_paths_only():
        general = fn()
    return fast, general


def _same(a, b):
    """Equal values, dtypes and types (a NumPy scalar stays one, a 0-d array too)."""
    assert type(a) is type(b), (type(a), type(b))
    assert np.result_type(a) == np.result_type(b)
    np.testing.assert_allclose(a, b, rtol=1e-13, atol=1e-15)


def _fd_grad(f, x, eps=1e-6):
    return fd_jacobian(lambda v: np.asarray(f(v)), x, eps)


# --- fan-out onto the cotangent that x + c passes on ----------------------------------
def fan_out(x):
    y = x + 1.0  # (parent,): y's cotangent becomes x's as it is
    z = y + y * 2  # y used twice, one use itself passed on
    w = x + 1.0  # a second pass-through into the same slot
    u = 3.0 - w  # c - x: the negated cotangent
    return np.sum(z * w + np.sin(w) + u**2 + np.exp(y) / 3.0 + (x - 0.5))


def test_fan_out_through_passed_on_cotangents_matches_differences_and_general_path():
    g, g_general = _fast_and_general(lambda: cr.grad(fan_out)(X))
    np.testing.assert_allclose(g, _fd_grad(fan_out, X), rtol=1e-7, atol=1e-9)
    np.testing.assert_array_equal(g, g_general)
    np.testing.assert_allclose(cr.jacfwd(fan_out)(X), g, rtol=1e-13)
    h, h_general = _fast_and_general(lambda: cr.hessian(fan_out)(X))
    np.testing.assert_allclose(h, _fd_grad(cr.grad(fan_out), X), rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(h, h_general, rtol=1e-13, atol=1e-13)


def test_a_passed_on_user_cotangent_is_never_written_into():
    # x + 1.0, recorded last, is walked first: it hands the user's cotangent
    # array itself to x's slot, and the later contributions (sin, 2 - x, x * 1)
    # must be added into a new array, not into it.
    def f(x):
        return np.sin(x), 2.0 - x, x * 1.0, x + 1.0

    out, pull = cr.vjp(f, X)
    cts = (np.array([1.0, 2.0, 3.0]), np.ones(3), np.ones(3), np.array([10.0, 20.0, 30.0]))
    copies = [c.copy() for c in cts]
    first = pull(cts)[0]
    for c, kept in zip(cts, copies):
        np.testing.assert_array_equal(c, kept)
    second = pull(cts)[0]  # the tape pulled back twice: the same answer
    for c, kept in zip(cts, copies):
        np.testing.assert_array_equal(c, kept)
    expected = copies[0] * np.cos(X) - copies[1] + copies[2] + copies[3]
    np.testing.assert_allclose(first, expected, rtol=1e-14)
    np.testing.assert_array_equal(second, first)


def test_a_pass_through_chain_into_a_fan_out_of_the_seed():
    # (x + 1.0) + 2.0 - 0.5 passes the seed through three slots; each use of x
    # adds its own contribution, in whatever order the walk meets them.
    def f(x):
        a = ((x + 1.0) + 2.0) - 0.5
        return np.sum(a * a) + np.sum(x * 3) + np.sum(np.tanh(a))

    g = cr.grad(f)(X)
    a = X + 2.5
    np.testing.assert_allclose(g, 2 * a + 3 + (1 - np.tanh(a) ** 2), rtol=1e-14)


def test_repeated_results_of_one_pass_through_entry():
    # one tracer returned twice, and one array given as every cotangent: the
    # seeds meet in one slot, then pass on to x's
    def f(x):
        y = x + 1.0
        return y, y, np.exp(x), y * 1.0

    out, pull = cr.vjp(f, X)
    v = np.array([1.0, 2.0, 3.0])
    (g,) = pull((v, v, v, v))
    np.testing.assert_array_equal(v, [1.0, 2.0, 3.0])
    np.testing.assert_allclose(g, 3 * v + v * np.exp(X), rtol=1e-14)
    (g2,) = pull((v, v, v, v))
    np.testing.assert_array_equal(g2, g)
    np.testing.assert_array_equal(v, [1.0, 2.0, 3.0])


# --- complex results of real arguments, complex inputs ----------------------------------
@pytest.mark.parametrize(
    "f",
    [
        lambda x: np.real(np.sum((x * 1j) ** 2)),  # -sum x^2
        lambda x: np.sum(np.abs(np.exp(x) * (1 + 2j)) ** 2),
        lambda x: np.real(np.sum(np.sin(x) * (1 + 2j))),
        lambda x: np.imag(np.sum(np.exp(x * 1j) * 2.0 + 1.0)),
        lambda x: np.real(np.sum((x + 1j) ** 2 / 3.0)),
        lambda x: np.real(np.sum(np.sqrt(x + 0j) * np.sin(x))),
        lambda x: np.abs(np.sum(np.cos(x) * np.array([1j, 2.0, 1 - 1j]) - 2.0)),
    ],
    ids=["x*1j sq", "exp*(1+2j)", "sin*(1+2j)", "exp(ix)", "(x+i)**2/3", "sqrt(x+0j)", "mixed"],
)
def test_real_arguments_of_complex_results(f):
    x = np.array([0.5, 1.25, 2.0])
    g, g_general = _fast_and_general(lambda: cr.grad(f)(x))
    assert g.dtype == np.float64
    np.testing.assert_allclose(g, _fd_grad(f, x), rtol=1e-7, atol=1e-9)
    np.testing.assert_allclose(g, g_general, rtol=1e-13, atol=1e-15)
    np.testing.assert_allclose(cr.jacfwd(f)(x), g, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(cr.hessian(f)(x), _fd_grad(cr.grad(f), x), rtol=1e-6, atol=1e-7)


def test_complex_inputs_through_direct_steps():
    # real f of complex z: grad = df/dx - i df/dy
    def f(z):
        w = np.sin(z) * 2.0 + 1.0
        return np.sum(np.abs(w - 0.5j) ** 2 + np.real(np.exp(z) ** 2 / 4.0))

    z = np.array([0.3 + 0.2j, -0.7 + 1.1j])
    g, g_general = _fast_and_general(lambda: cr.grad(f)(z))
    eps = 1e-6
    fd = np.array(
        [
            (f(z + eps * e) - f(z - eps * e)) / (2 * eps)
            - 1j * (f(z + 1j * eps * e) - f(z - 1j * eps * e)) / (2 * eps)
            for e in np.eye(2)
        ]
    )
    np.testing.assert_allclose(g, fd, rtol=1e-7, atol=1e-9)
    np.testing.assert_allclose(g, g_general, rtol=1e-13)


def test_refusals_of_complex_values_read_the_same_on_both_paths():
    # digamma has a direct step but real rules only: the refusal comes first
    sc = pytest.importorskip("scipy.special")
    z = np.array([0.3 + 0.2j])
    messages = []
    for general in (False, True):
        ctx = general_paths_only() if general else contextlib.nullcontext()
        with ctx, pytest.raises(NotImplementedError) as info:
            cr.grad(lambda z: np.real(np.sum(sc.digamma(z) * 2.0)))(z)
        messages.append(str(info.value))
    assert messages[0] == messages[1]
    assert messages[0].startswith("digamma met a complex value inside a function being diff")


# --- dtypes, NumPy scalars, constants of every kind ---------------------------------------
CONSTANT_PROGRAMS = {
    "x*2.0": lambda x: x * 2.0,
    "x*3": lambda x: x * 3,
    "3*x": lambda x: 3 * x,
    "x*f64": lambda x: x * np.float64(2.0),
    "f64*x": lambda x: np.float64(0.5) * x,
    "x*True": lambda x: x * True,
    "x+False": lambda x: x + False,
    "x-c": lambda x: x - 0.25,
    "c-x": lambda x: 0.25 - x,
    "x+f64": lambda x: x + np.float64(1.5),
    "x/3": lambda x: x / 3,
    "x/-7.5": lambda x: x / -7.5,
    "x**2": lambda x: x**2,
    "x**3": lambda x: x**3,
    "x**1": lambda x: x**1,
    "x**f64": lambda x: x ** np.float64(2.5),
    "x**True": lambda x: x**True,
    "sin": lambda x: np.sin(x),
    "exp": lambda x: np.exp(x),
    "expm1": lambda x: np.expm1(x),
    "cosh": lambda x: np.cosh(x),
    "sqrt": lambda x: np.sqrt(x),
    "tanh*2": lambda x: np.tanh(x) * 2.0,
}
INPUTS = {
    "f64 array": np.array([0.5, 1.25, 2.0]),
    "f32 array": np.array([0.5, 1.25, 2.0], dtype=np.float32),
    "0-d f64": np.array(0.75),
    "0-d f32": np.array(0.75, dtype=np.float32),
    "np.float64": np.float64(0.75),
    "np.float32": np.float32(0.75),
    "float": 0.75,
}


@pytest.mark.parametrize("name", list(CONSTANT_PROGRAMS))
@pytest.mark.parametrize("kind", list(INPUTS))
def test_constants_and_input_kinds_match_the_general_path(name, kind):
    op = CONSTANT_PROGRAMS[name]
    x = INPUTS[kind]

    def f(x):
        return np.sum(np.sin(op(x)))

    g, g_general = _fast_and_general(lambda: cr.grad(f)(x))
    _same(g, g_general)
    assert np.result_type(g) == np.result_type(np.asarray(x, dtype=float) if kind == "float" else x)
    xf = np.asarray(x, dtype=np.float64)
    fd = _fd_grad(lambda v: f(v), xf)
    tol = 1e-7 if np.result_type(g) == np.float64 else 2e-3
    np.testing.assert_allclose(np.asarray(g, dtype=np.float64), fd, rtol=tol, atol=tol * 1e-2)
    # the cotangent a pull-back gives back keeps the output's dtype through every step
    out, pull = cr.vjp(op, x)
    (ct,) = pull(np.ones_like(np.asarray(out)))
    with general_paths_only():
        out_general, pull_general = cr.vjp(op, x)
        (ct_general,) = pull_general(np.ones_like(np.asarray(out_general)))
    _same(ct, ct_general)


@pytest.mark.parametrize("c", [1e-300, 2.5e-308, 1e308, -1e308, 3.0e-310, 0.0, np.inf])
def test_division_by_tiny_and_huge_constants(c):
    x = np.array([0.5, -1.0, 2.0])

    def f(x):
        # the masked entry's zero cotangent must stay zero, whatever 1 / c is
        return np.sum(np.where(x > 0, x / c, 0.0))

    with np.errstate(divide="ignore", over="ignore", invalid="ignore"):
        g, g_general = _fast_and_general(lambda: cr.grad(f)(x))
        expected = np.where(x > 0, 1.0 / c, 0.0) if c != 0.0 else np.array([np.inf, 0.0, np.inf])
    np.testing.assert_array_equal(g, g_general)
    np.testing.assert_allclose(g, expected, rtol=1e-15)
    assert g[1] == 0.0


def test_powers_with_their_closed_forms_to_second_order():
    x = np.array([0.5, -1.25, 2.0])
    for c in (1, 2, 3, 4.5, np.float64(2.0), 7):
        xs = np.abs(x) if not float(c).is_integer() else x

        def f(x, c=c):
            return np.sum(x**c)

        g = cr.grad(f)(xs)
        np.testing.assert_allclose(g, c * xs ** (c - 1), rtol=1e-14)
        h, h_general = _fast_and_general(lambda f=f, xs=xs: cr.hessian(f)(xs))
        np.testing.assert_allclose(h, np.diag(c * (c - 1) * xs ** (c - 2.0)), rtol=1e-13)
        np.testing.assert_allclose(h, h_general, rtol=1e-14)


def test_float32_intermediate_cotangents_stay_float32():
    # x * 2.0, x + 1.0, x ** 2, sin: float32 throughout when the constants are
    # Python numbers; a direct step must not widen the cotangent.
    x = np.array([0.5, -1.25, 2.0], dtype=np.float32)
    seen = []
    ident = cr.custom_vjp(lambda y: y)

    def fwd(y):
        return y, None

    def bwd(_, g):
        seen.append(g.dtype)
        return (g,)

    ident.defvjp(fwd, bwd)

    def h(x):
        y = ident(x)
        return np.sum(np.sin(y * 2.0 + 1.0) ** 2 / 3.0 - 0.5 * np.exp(y) + (2.0 - y) * 3)

    g = cr.grad(h)(x)
    assert g.dtype == np.float32
    assert seen == [np.float32]
    np.testing.assert_allclose(g, _fd_grad(h, x.astype(np.float64)), rtol=2e-3, atol=1e-4)


# --- higher order: saved values that are tracers of a lower level ---------------------------
def deep(x):
    y = np.tanh(x * 1.5) + 0.25
    z = np.exp(-y) * 2.0 - np.log1p(y**2) / 3.0
    return np.sum(np.sin(z) ** 3 + (1.0 - z) * x + np.cosh(x) ** 2)


def test_every_second_order_composition_agrees():
    v = np.array([0.3, -0.2, 1.0])

    def all_of_them():
        return [
            cr.hessian(deep)(X),
            cr.jacrev(cr.grad(deep))(X),
            cr.jacfwd(cr.grad(deep))(X),
            cr.jacrev(cr.jacfwd(deep))(X),
            np.stack([cr.grad(lambda y, i=i: cr.grad(deep)(y)[i])(X) for i in range(3)]),
            cr.jvp(cr.grad(deep), (X,), (v,))[1],
            cr.hvp(deep, (X,), (v,))[1],
        ]

    fast, general = _fast_and_general(all_of_them)
    fd = _fd_grad(cr.grad(deep), X)
    for k, (a, b) in enumerate(zip(fast, general)):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-13, err_msg=str(k))
        expected = fd @ v if a.ndim == 1 else fd
        np.testing.assert_allclose(a, expected, rtol=1e-6, atol=1e-7, err_msg=str(k))
    cr.check_grads(deep, (X,), order=2)


def test_third_order_through_direct_steps():
    # d^3/dx^3 of sin(2x) + x**3 / 6 + exp(x) * 0.5 = -8 cos(2x) + 1 + 0.5 exp(x)
    f = lambda x: np.sin(x * 2.0) + x**3 / 6.0 + np.exp(x) * 0.5  # noqa: E731
    d3 = cr.grad(cr.grad(cr.grad(f)))
    for x in (0.3, -1.1, 2.0):
        np.testing.assert_allclose(d3(x), -8 * np.cos(2 * x) + 1 + 0.5 * np.exp(x), rtol=1e-12)


# --- matmul's direct small-case VJP -----------------------------------------------------------
def test_matmul_direct_vjps_all_shapes_and_modes():
    rng = np.random.default_rng(3)
    W = rng.standard_normal((3, 4))
    V = rng.standard_normal((4, 3))
    Wc = W + 1j * rng.standard_normal((3, 4))
    x1, x2 = rng.standard_normal(3), rng.standard_normal((2, 3))
    y1, y2 = rng.standard_normal(4), rng.standard_normal((4, 2))
    cases = [
        (lambda x: np.sum(np.sin(x @ W)), x1),
        (lambda x: np.sum(np.sin(x @ W)), x2),
        (lambda x: np.sum(np.sin(W @ x)), y1),
        (lambda x: np.sum(np.sin(W @ x)), y2),
        (lambda x: np.sum(np.tanh(V @ (W @ x)) ** 2), y2),
        (lambda x: np.sum(np.abs(x @ Wc) ** 2), x1),  # complex product of a real x
        (lambda x: np.sum(np.abs(Wc @ x) ** 2), y2),
        (lambda x: np.sum(np.cos((x @ W) @ V)), x2),
    ]
    for f, x in cases:
        g, g_general = _fast_and_general(lambda f=f, x=x: cr.grad(f)(x))
        assert g.dtype == np.float64
        np.testing.assert_allclose(g, g_general, rtol=1e-13, atol=1e-14)
        np.testing.assert_allclose(g, _fd_grad(f, x), rtol=1e-7, atol=1e-8)
        j = cr.jacrev(lambda x, f=f: np.stack([f(x), f(x) * 2.0]))(x)  # batched cotangents
        np.testing.assert_allclose(j[0], g, rtol=1e-13)
        np.testing.assert_allclose(j[1], 2 * g, rtol=1e-13)
        np.testing.assert_allclose(cr.hessian(f)(x), _fd_grad(cr.grad(f), x), rtol=1e-6, atol=1e-6)


# --- tracers made with object.__new__ -------------------------------------------------------
def test_short_path_tracers_are_complete_reverse_tracers():
    seen = {}

    def f(x):
        for name, y in (("unary", np.sin(x)), ("constant", x * 2.0), ("pass", x + 1.0)):
            seen[name] = y
            assert type(y) is ReverseTracer
            assert isinstance(y._trace, ReverseTrace) and y._trace is x._trace
            if name == "pass":  # x + c shares x's slot: no entry of its own
                assert y._index == x._index
            else:
                assert y._trace.tape[y._index] is not None
            assert y.shape == (3,) and y.dtype == np.float64
            assert "ReverseTracer" in repr(y)
        return np.sum(seen["unary"] * seen["constant"] + seen["pass"])

    g = cr.grad(f)(X)
    np.testing.assert_allclose(g, 2 * (np.cos(X) * X + np.sin(X)) + 1, rtol=1e-14)


# --- consume=True, pull-backs twice, checkpoint and custom rules inside ----------------------
def test_grad_consumes_its_tape_and_vjp_keeps_it():
    out, pull = cr.vjp(deep, X)
    first = pull(1.0)[0]
    second = pull(1.0)[0]
    np.testing.assert_array_equal(first, second)
    np.testing.assert_allclose(first, cr.grad(deep)(X), rtol=1e-14)
    vg = cr.value_and_grad(deep)(X)
    np.testing.assert_allclose(vg[1], first, rtol=1e-14)


def test_checkpoint_and_custom_rules_around_direct_steps():
    inner = cr.checkpoint(lambda x: np.exp(np.sin(x) * 2.0 + 1.0) / 3.0)

    @cr.custom_vjp
    def scaled(x):
        return x * 4.0 + 0.5

    scaled.defvjp(lambda x: (x * 4.0 + 0.5, None), lambda _, g: (g * 4.0,))

    def f(x):
        return np.sum(inner(scaled(x) - 2.0) ** 2 + np.tanh(x) * 0.5)

    g, g_general = _fast_and_general(lambda: cr.grad(f)(X / 4))
    np.testing.assert_allclose(g, _fd_grad(f, X / 4), rtol=1e-7, atol=1e-8)
    np.testing.assert_allclose(g, g_general, rtol=1e-13)
    h = cr.hessian(lambda x: np.sum(inner(x) ** 2))(X / 4)
    hf = _fd_grad(cr.grad(lambda x: np.sum(inner(x) ** 2)), X / 4)
    np.testing.assert_allclose(h, hf, rtol=1e-6, atol=1e-7)


# --- jit and vmap of programs using these paths ---------------------------------------------
def test_jit_of_grad_with_direct_steps_replays_right_and_keeps_results():
    jf = cr.jit(cr.value_and_grad(fan_out))
    results = []
    for k in range(12):  # past the interpreted replays into the compiled ones
        x = X + 0.1 * k
        v, g = jf(x)
        ev, eg = cr.value_and_grad(fan_out)(x)
        np.testing.assert_allclose(v, ev, rtol=1e-13)
        np.testing.assert_allclose(g, eg, rtol=1e-13)
        results.append((g, g.copy()))
    for g, kept in results:  # no later replay wrote into an earlier result
        np.testing.assert_array_equal(g, kept)


def test_vmap_of_grad_and_grad_of_vmap_with_direct_steps():
    xs = np.random.default_rng(5).uniform(-1, 1, (4, 3))
    per_example = np.stack([cr.grad(deep)(x) for x in xs])
    np.testing.assert_allclose(cr.vmap(cr.grad(deep))(xs), per_example, rtol=1e-13)
    total = lambda xs: np.sum(cr.vmap(deep)(xs))  # noqa: E731
    np.testing.assert_allclose(cr.grad(total)(xs), per_example, rtol=1e-13)
    hs = np.stack([cr.hessian(deep)(x) for x in xs])
    np.testing.assert_allclose(cr.vmap(cr.hessian(deep))(xs), hs, rtol=1e-12, atol=1e-13)


def test_vmap_value_and_grad_results_do_not_share_memory():
    v, g = cr.vmap(cr.value_and_grad(np.exp))(X)
    np.testing.assert_allclose(g, np.exp(X))
    assert not np.shares_memory(v, g)


def test_vmap_results_never_alias_each_other():
    def two(x):
        y = np.exp(x)
        return y, y * 1.0

    a, b = cr.vmap(two)(X)
    assert not np.shares_memory(a, b)
    big = np.linspace(-1.0, 1.0, 6000)
    a, b = cr.vmap(lambda x: (np.sin(x), np.sin(x)))(big)
    assert not np.shares_memory(a, b)


# --- cr.graph of programs using the short paths ----------------------------------------------
def test_graph_lists_direct_steps_and_pass_throughs():
    def prog(x):
        y = x + 1.0
        z = 2.0 - np.sin(y) * 3
        return np.sum(z**2)

    g = cr.graph(prog)(np.zeros(2))
    text = str(g)
    assert text.startswith("graph of prog: 1 input, 6 primitives, 1 output"), text
    for line in ("y    = add(x, 1)", "v2   = sin(y)", "v3   = multiply(v2, 3)"):
        assert line in text, text
    for line in ("z    = subtract(2, v3)", "v5   = power(z, 2)", "prog = sum(v5"):
        assert line in text, text
    assert [v.op for v in g.ops()] == ["add", "sin", "multiply", "subtract", "power", "sum"]
    back = str(g.backward())
    for line in ("ḡz    =  ḡv5 * 2 * z^(2-1)", "ḡv3   =  -ḡz", "ḡy    =  ḡv2 * cos(y)"):
        assert line in back, back
    assert "ḡx    =  ḡy" in back, back  # x + 1.0 passes the cotangent on


# --- scipy.sparse, iteration and array-API hooks ---------------------------------------------
def test_scipy_sparse_hooks_on_both_sides():
    sp = pytest.importorskip("scipy.sparse")
    spl = pytest.importorskip("scipy.sparse.linalg")
    dense = np.array([[2.0, 0.0, 1.0], [1.0, 3.0, 0.0], [0.0, -1.0, 4.0]])
    x = np.array([0.3, -0.5, 1.2])
    for L in (sp.csr_array(dense), sp.csr_matrix(dense)):
        pairs = [
            (lambda x, L=L: np.sum(np.sin(L @ x) * 2.0), lambda x: np.sum(np.sin(dense @ x) * 2.0)),
            (lambda x, L=L: np.sum(np.sin(x @ L) + 1.0), lambda x: np.sum(np.sin(x @ dense) + 1.0)),
            (lambda x, L=L: np.sum(np.exp(L.dot(x))), lambda x: np.sum(np.exp(dense @ x))),
        ]
        for f, ref in pairs:
            np.testing.assert_allclose(f(x), ref(x), rtol=1e-14)
            np.testing.assert_allclose(cr.grad(f)(x), cr.grad(ref)(x), rtol=1e-13)
            np.testing.assert_allclose(cr.jacfwd(f)(x), cr.grad(ref)(x), rtol=1e-13)
            np.testing.assert_allclose(cr.hessian(f)(x), cr.hessian(ref)(x), rtol=1e-12, atol=1e-14)
    # under vmap and jit too (vmap loops over sparse_linear's examples, and says so)
    xs = np.array([[0.3, -0.5, 1.2], [1.0, 2.0, -0.1]])
    L = sp.csr_array(dense)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", cr.BatchingFallbackWarning)
        np.testing.assert_allclose(cr.vmap(lambda x: x @ L)(xs), xs @ dense, rtol=1e-14)
        np.testing.assert_allclose(cr.vmap(lambda x: L @ x)(xs), xs @ dense.T, rtol=1e-14)
    jitted = cr.jit(cr.grad(lambda x: np.sum(np.sin(x @ L))))
    for x_k in (x, x + 0.5, x - 0.25, x * 2.0):
        expected = np.cos(x_k @ dense) @ dense.T
        np.testing.assert_allclose(jitted(x_k), expected, rtol=1e-13)
    with pytest.raises(cr.ConversionError, match=r"scipy\.sparse\.linalg\.spsolve converts"):
        cr.grad(lambda x: np.sum(spl.spsolve(sp.csr_array(dense), x)))(x)
    # an operand the hook does not handle: the usual matmul, or NumPy's own error
    g = cr.grad(lambda x: x @ [1.0, 2.0, 3.0])(x)
    np.testing.assert_array_equal(g, [1.0, 2.0, 3.0])
    with pytest.raises(TypeError, match="matmul"):
        cr.grad(lambda x: x @ "abc")(x)


def test_iteration_unstacks_in_both_modes_and_second_order():
    def f(x):
        total = 0.0
        for row in x:
            total = total + np.sum(np.sin(row) * 2.0) * (row[0] + 1.0)
        return total

    x = np.array([[0.3, -0.4], [1.1, 0.2], [-0.5, 0.9]])
    g = cr.grad(f)(x)
    np.testing.assert_allclose(g, _fd_grad(f, x), rtol=1e-7, atol=1e-9)
    np.testing.assert_allclose(cr.jacfwd(f)(x), g, rtol=1e-13)
    np.testing.assert_allclose(cr.hessian(f)(x), _fd_grad(cr.grad(f), x), rtol=1e-6, atol=1e-7)
    with pytest.raises(TypeError, match="iteration over a 0-d traced array"):
        cr.grad(lambda s: sum(s))(1.0)


def test_user_writes_and_namespace_versions_keep_their_messages():
    with pytest.raises(TypeError, match=r"Traced arrays are immutable: x\[idx\] = v"):
        cr.grad(lambda x: x.__setitem__(0, 1.0))(X)
    with pytest.raises(ValueError, match="array API version 2024.12, not '2031.12'"):
        cr.grad(lambda x: x.__array_namespace__(api_version="2031.12"))(X)

    def f(x):
        assert x.__array_namespace__() is sys.modules["chainrule.array_api"]
        return np.sum(x)

    np.testing.assert_array_equal(cr.grad(f)(X), np.ones(3))


def _owned_update(at):
    import chainrule.array_api as xp

    def f(x):
        y = xp.asarray(x, copy=True)
        y = at(y, 0).set(x[1] ** 2)  # array_api_extra writes y[0] = ... into its copy
        y = at(y, 2).multiply(3.0)
        return xp.sum(y * xp.asarray([1.0, 2.0, 3.0]))

    x = np.array([0.5, 2.0, -1.0])
    # y = (x1^2, x1, 3 x2): d/dx = (0, 2 x1 + 2, 9)
    np.testing.assert_allclose(cr.grad(f)(x), [0.0, 6.0, 9.0], rtol=1e-14)
    np.testing.assert_allclose(cr.jacfwd(f)(x), [0.0, 6.0, 9.0], rtol=1e-14)


def test_array_api_extra_writes_of_scipys_copy_are_rebound():
    extra = pytest.importorskip("scipy._lib.array_api_extra")
    _owned_update(extra.at)


def test_array_api_extra_writes_of_sklearns_copy_are_rebound():
    extra = pytest.importorskip("sklearn.externals.array_api_extra")
    _owned_update(extra.at)


# --- scipy.special without chainrule.scipy, in a fresh interpreter ----------------------------
FRESH = """
import json, sys
import numpy as np, scipy.special as sc, chainrule as cr
before = "chainrule.scipy" in sys.modules
g = float(cr.grad(lambda x: sc.erf(x) * 2.0 + 1.0)(0.3))
t = float(cr.jvp(lambda x: sc.expit(x), (0.3,), (1.0,))[1])
h = float(cr.hessian(lambda x: sc.gammaln(x))(2.5))
after = "chainrule.scipy" in sys.modules
try:
    cr.grad(lambda x: np.sum(np.frexp(x)[0]))(np.array([0.3]))
    frexp = "no error"
except Exception as e:
    frexp = type(e).__name__ + ": " + str(e)
import scipy.stats as st
try:
    cr.grad(lambda x: st.norm.logpdf(x))(0.3)
    logpdf = "no error"
except Exception as e:
    logpdf = type(e).__name__ + ": " + str(e)
print(json.dumps({"before": before, "after": after, "g": g, "t": t, "h": h,
                  "frexp": frexp, "logpdf": logpdf}))
"""


def test_scipy_special_ufuncs_load_their_rules_in_a_fresh_interpreter():
    pytest.importorskip("scipy")
    sc = pytest.importorskip("scipy.special")
    out = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(FRESH)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert out.returncode == 0, out.stderr[-3000:]
    res = json.loads(out.stdout.strip().splitlines()[-1])
    assert res["before"] is False and res["after"] is True
    np.testing.assert_allclose(res["g"], 4 / np.sqrt(np.pi) * np.exp(-0.09), rtol=1e-14)
    s = 1 / (1 + np.exp(-0.3))
    np.testing.assert_allclose(res["t"], s * (1 - s), rtol=1e-14)
    np.testing.assert_allclose(res["h"], sc.polygamma(1, 2.5), rtol=1e-13)
    assert res["frexp"].startswith("NoRuleError: chainrule has no derivative rule for numpy.frexp")
    assert res["logpdf"].startswith(
        "ConversionError: scipy.stats.norm.logpdf converts its inputs with np.asarray and "
        "cannot be differentiated; call chainrule.scipy.stats.norm.logpdf"
    )


# --- the collector around the backward pass ----------------------------------------------
def test_backward_leaves_the_collector_as_it_found_it():
    assert gc.isenabled()
    cr.grad(deep)(X)
    assert gc.isenabled()
    gc.disable()
    try:
        np.testing.assert_allclose(cr.grad(deep)(X), _fd_grad(deep, X), rtol=1e-7, atol=1e-9)
        out, pull = cr.vjp(deep, X)
        pull(1.0)
        assert not gc.isenabled()  # the user's choice stays
    finally:
        gc.enable()


class _Cyclic:
    __slots__ = ("me",)

    def __init__(self) -> None:
        self.me = self  # a reference cycle: only the collector frees it


def _peak_mib(fun, x):
    import tracemalloc

    tracemalloc.start()
    try:
        cr.grad(fun)(x)
        return tracemalloc.get_traced_memory()[1] / 2**20
    finally:
        tracemalloc.stop()


def _make_cycles(n=3 * 10**5):
    for _ in range(n):
        _Cyclic()


def test_the_collector_runs_inside_the_users_forward_function():
    def f(x):
        _make_cycles()
        return np.sum(x * 2.0)

    assert _peak_mib(f, X) < 8.0  # 3e5 cycles held at once would be about 16 MiB


def test_the_collector_runs_inside_a_custom_rules_backward_function():
    @cr.custom_vjp
    def doubled(x):
        return x * 2.0

    def bwd(_, g):
        _make_cycles()
        return (g * 2.0,)

    doubled.defvjp(lambda x: (x * 2.0, None), bwd)
    assert _peak_mib(lambda x: np.sum(doubled(x)), X) < 8.0
