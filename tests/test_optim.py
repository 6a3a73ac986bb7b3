"""chainrule.optim: optimisers, schedules, clipping, the SciPy bridge and Newton's method."""

from __future__ import annotations

import copy
import importlib.util
import math
import re
import sys

import numpy as np
import pytest

import chainrule as cr
from chainrule import optim
from chainrule.optim import (
    AdamState,
    MomentumState,
    NewtonConvergenceError,
    adagrad,
    adam,
    adamw,
    clip_by_global_norm,
    global_norm,
    minimize,
    momentum,
    nesterov,
    rmsprop,
    root,
    sgd,
    with_clipping,
)
from chainrule.optim import schedules as sch

needs_scipy = pytest.mark.skipif(
    importlib.util.find_spec("scipy") is None, reason="SciPy is not installed"
)


# ---------------------------------------------------------------- optimisers: first steps


def one_step(opt, params, grads):
    return opt.step(params, grads, opt.init(params))


def test_sgd_first_step_exact_on_dict_params():
    params = {"w": np.array([1.0, -2.0]), "b": 0.5}
    grads = {"w": np.array([0.5, 1.0]), "b": -2.0}
    new, state = one_step(sgd(0.1), params, grads)
    np.testing.assert_array_equal(new["w"], [1.0 - 0.05, -2.0 - 0.1])
    assert new["b"] == 0.5 + 0.2
    assert state.count == 1


def test_momentum_two_steps_exact():
    opt = momentum(0.1, beta=0.9)
    p, s = one_step(opt, (np.array([1.0]),), (np.array([2.0]),))
    # v1 = 2, p1 = 1 - 0.2
    np.testing.assert_allclose(p[0], [0.8], rtol=0, atol=1e-15)
    p, s = opt.step(p, (np.array([1.0]),), s)
    # v2 = 0.9 * 2 + 1 = 2.8, p2 = 0.8 - 0.28
    np.testing.assert_allclose(s.velocity[0], [2.8], rtol=0, atol=1e-15)
    np.testing.assert_allclose(p[0], [0.52], rtol=0, atol=1e-15)
    assert isinstance(s, MomentumState) and s.count == 2


def test_nesterov_two_steps_exact():
    opt = nesterov(0.1, beta=0.9)
    p, s = one_step(opt, [np.array([1.0])], [np.array([2.0])])
    # v1 = 2, p1 = 1 - 0.1 * (2 + 0.9 * 2) = 0.62
    np.testing.assert_allclose(p[0], [0.62], rtol=0, atol=1e-15)
    p, s = opt.step(p, [np.array([1.0])], s)
    # v2 = 2.8, p2 = 0.62 - 0.1 * (1 + 0.9 * 2.8) = 0.268
    np.testing.assert_allclose(p[0], [0.268], rtol=0, atol=1e-15)


def test_adam_first_two_steps_exact():
    lr, b1, b2, eps = 0.1, 0.9, 0.999, 1e-8
    opt = adam(lr, b1, b2, eps)
    p, s = one_step(opt, {"x": np.array([1.0, 1.0])}, {"x": np.array([0.5, -4.0])})
    # m1 = 0.1 g, v1 = 0.001 g^2; bias-corrected they are g and g^2
    expected = 1.0 - lr * np.array([0.5, -4.0]) / (np.array([0.5, 4.0]) + eps)
    np.testing.assert_allclose(p["x"], expected, rtol=1e-15)
    p2, s2 = opt.step(p, {"x": np.array([1.0, 1.0])}, s)
    m = b1 * 0.1 * np.array([0.5, -4.0]) + 0.1 * 1.0
    v = b2 * 0.001 * np.array([0.25, 16.0]) + 0.001 * 1.0
    step = lr * (m / (1 - b1**2)) / (np.sqrt(v / (1 - b2**2)) + eps)
    np.testing.assert_allclose(p2["x"], expected - step, rtol=1e-14)
    assert isinstance(s2, AdamState) and s2.count == 2


def test_adamw_first_step_exact():
    lr, wd, eps = 0.1, 0.5, 1e-8
    p0, g = np.array([2.0, -1.0]), np.array([3.0, -0.5])
    p, _ = one_step(adamw(lr, weight_decay=wd, eps=eps), p0, g)
    # bias-corrected first step: g / (|g| + eps), plus the decoupled decay wd * p
    np.testing.assert_allclose(p, p0 - lr * (g / (np.abs(g) + eps) + wd * p0), rtol=1e-15)


def test_adamw_with_zero_gradient_only_decays():
    p, _ = one_step(adamw(0.1, weight_decay=0.5), np.array([2.0]), np.array([0.0]))
    np.testing.assert_allclose(p, [1.9], rtol=0, atol=1e-15)


def test_rmsprop_two_steps_exact():
    opt = rmsprop(0.01, decay=0.9, eps=0.0)
    p, s = one_step(opt, np.array([1.0]), np.array([2.0]))
    # v1 = 0.1 * 4 = 0.4, p1 = 1 - 0.01 * 2 / sqrt(0.4)
    p1 = 1.0 - 0.01 * 2.0 / math.sqrt(0.4)
    np.testing.assert_allclose(p, [p1], rtol=1e-15)
    p, s = opt.step(p, np.array([1.0]), s)
    v2 = 0.9 * 0.4 + 0.1 * 1.0
    np.testing.assert_allclose(p, [p1 - 0.01 / math.sqrt(v2)], rtol=1e-15)


def test_adagrad_two_steps_exact():
    opt = adagrad(0.5, eps=0.0, initial_accumulator=1.0)
    p, s = one_step(opt, np.array([1.0]), np.array([3.0]))
    # G1 = 1 + 9 = 10, p1 = 1 - 0.5 * 3 / sqrt(10)
    p1 = 1.0 - 1.5 / math.sqrt(10.0)
    np.testing.assert_allclose(p, [p1], rtol=1e-15)
    p, s = opt.step(p, np.array([-1.0]), s)
    np.testing.assert_allclose(p, [p1 + 0.5 / math.sqrt(11.0)], rtol=1e-15)
    np.testing.assert_allclose(s.sum_sq, [11.0])


ALL_OPTIMISERS = {
    "sgd": lambda: sgd(0.1),
    "momentum": lambda: momentum(0.05, 0.9),
    "nesterov": lambda: nesterov(0.05, 0.9),
    "adam": lambda: adam(0.05),
    "adamw": lambda: adamw(0.05, weight_decay=1e-4),
    "rmsprop": lambda: rmsprop(0.01),
    "adagrad": lambda: adagrad(0.5),
}


@pytest.mark.parametrize("name", sorted(ALL_OPTIMISERS))
def test_step_is_pure_and_state_is_a_pytree(name):
    opt = ALL_OPTIMISERS[name]()
    params = {"w": np.array([1.0, 2.0]), "b": [np.array(0.5), 3.0]}
    grads = {"w": np.array([0.1, -0.2]), "b": [np.array(1.0), -1.0]}
    state = opt.init(params)
    saved = copy.deepcopy((params, grads, state))
    new_params, new_state = opt.step(params, grads, state)
    for before, after in zip(cr.tree.leaves(saved), cr.tree.leaves((params, grads, state))):
        np.testing.assert_array_equal(before, after)
    assert cr.tree.structure(new_params) == cr.tree.structure(params)
    assert cr.tree.structure(new_state) == cr.tree.structure(state)
    assert hasattr(state, "_fields") and state.count == 0 and new_state.count == 1
    # Repeating the same step from the same inputs gives the same answer.
    again, _ = opt.step(params, grads, state)
    for a, b in zip(cr.tree.leaves(again), cr.tree.leaves(new_params)):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("name", sorted(ALL_OPTIMISERS))
def test_converges_on_a_quadratic(name):
    scales = np.array([1.0, 3.0, 0.5])
    target = {"a": np.array([1.0, -2.0, 0.5]), "b": (2.0,)}

    def loss(p):
        return 0.5 * np.sum(scales * (p["a"] - target["a"]) ** 2) + (p["b"][0] - 2.0) ** 2

    opt = ALL_OPTIMISERS[name]()
    params = {"a": np.zeros(3), "b": (0.0,)}
    state = opt.init(params)
    for _ in range(2000):
        params, state = opt.step(params, cr.grad(loss)(params), state)
    np.testing.assert_allclose(params["a"], target["a"], atol=1e-3)
    assert abs(params["b"][0] - 2.0) < 1e-3


def test_integer_params_become_float_state():
    opt = adam(0.1)
    state = opt.init({"n": 3})
    assert state.mu["n"].dtype == np.float64
    params, _ = opt.step({"n": 3}, {"n": 1.0}, state)
    assert params["n"] == pytest.approx(2.9)


def test_float32_params_keep_their_dtype_in_the_state():
    state = momentum(0.1).init(np.ones(2, dtype=np.float32))
    assert state.velocity.dtype == np.float32


def test_mismatched_grads_structure_is_a_value_error():
    opt = sgd(0.1)
    with pytest.raises(ValueError, match="structure"):
        opt.step({"a": 1.0}, {"b": 1.0}, opt.init({"a": 1.0}))


@pytest.mark.parametrize(
    "make",
    [
        lambda: momentum(0.1, beta=1.0),
        lambda: adam(b1=1.5),
        lambda: rmsprop(decay=-0.1),
        lambda: adamw(weight_decay=-1.0),
        lambda: adagrad(initial_accumulator=-1.0),
    ],
)
def test_bad_hyperparameters_are_rejected(make):
    with pytest.raises(ValueError):
        make()


def test_schedule_as_learning_rate_sees_the_step_count():
    seen = []

    def schedule(count):
        seen.append(count)
        return 1.0

    opt = sgd(schedule)
    p, s = np.array([0.0]), opt.init(None)
    for _ in range(3):
        p, s = opt.step(p, np.array([1.0]), s)
    assert seen == [0, 1, 2]
    np.testing.assert_array_equal(p, [-3.0])


def test_piecewise_schedule_drives_sgd():
    opt = sgd(sch.piecewise_constant([2], [1.0, 0.5]))
    p, s = 0.0, opt.init(0.0)
    for _ in range(4):
        p, s = opt.step(p, 1.0, s)
    assert p == -(1.0 + 1.0 + 0.5 + 0.5)


# ---------------------------------------------------------------- schedules


def test_constant():
    assert [sch.constant(0.3)(n) for n in (0, 1, 10**6)] == [0.3, 0.3, 0.3]


def test_exponential_decay_values():
    s = sch.exponential_decay(2.0, 0.1, decay_steps=100)
    assert s(0) == 2.0
    assert s(100) == pytest.approx(0.2)
    assert s(50) == pytest.approx(2.0 * 0.1**0.5)
    stair = sch.exponential_decay(2.0, 0.1, decay_steps=100, staircase=True)
    assert stair(99) == 2.0 and stair(100) == pytest.approx(0.2)


def test_cosine_decay_values():
    s = sch.cosine_decay(1.0, decay_steps=100, alpha=0.1)
    assert s(0) == 1.0
    assert s(50) == pytest.approx(0.1 + 0.9 * 0.5)
    assert s(100) == pytest.approx(0.1)
    assert s(1000) == pytest.approx(0.1)


def test_warmup_cosine_values():
    s = sch.warmup_cosine(1.0, warmup_steps=10, total_steps=110, init_value=0.1, end_value=0.0)
    assert s(0) == pytest.approx(0.1)
    assert s(5) == pytest.approx(0.55)
    assert s(10) == pytest.approx(1.0)
    assert s(60) == pytest.approx(0.5)
    assert s(110) == pytest.approx(0.0, abs=1e-15)
    assert s(500) == pytest.approx(0.0, abs=1e-15)


def test_piecewise_constant_values_and_errors():
    s = sch.piecewise_constant([10, 20], [1.0, 0.5, 0.25])
    assert [s(n) for n in (0, 9, 10, 19, 20, 100)] == [1.0, 1.0, 0.5, 0.5, 0.25, 0.25]
    with pytest.raises(ValueError, match="len"):
        sch.piecewise_constant([10], [1.0])
    with pytest.raises(ValueError, match="increase"):
        sch.piecewise_constant([10, 5], [1.0, 2.0, 3.0])


def test_schedule_argument_errors():
    with pytest.raises(ValueError):
        sch.exponential_decay(1.0, 0.5, decay_steps=0)
    with pytest.raises(ValueError):
        sch.cosine_decay(1.0, decay_steps=0)
    with pytest.raises(ValueError):
        sch.warmup_cosine(1.0, warmup_steps=10, total_steps=10)


# ---------------------------------------------------------------- clipping


def test_global_norm_over_a_tree():
    assert float(global_norm({"a": np.array([1.0, 2.0]), "b": [np.array([[2.0]]), 4.0]})) == 5.0
    assert float(global_norm({})) == 0.0


def test_clip_by_global_norm_scales_all_leaves_together():
    grads = {"a": np.array([3.0, 0.0]), "b": (np.array([[0.0, 4.0]]),)}
    clipped = clip_by_global_norm(grads, 1.0)
    np.testing.assert_allclose(clipped["a"], [0.6, 0.0])
    np.testing.assert_allclose(clipped["b"][0], [[0.0, 0.8]])
    assert float(global_norm(clipped)) == pytest.approx(1.0)
    assert cr.tree.structure(clipped) == cr.tree.structure(grads)


def test_clip_leaves_small_and_zero_gradients_alone():
    small = [np.array([0.1, -0.2])]
    np.testing.assert_array_equal(clip_by_global_norm(small, 1.0)[0], small[0])
    np.testing.assert_array_equal(clip_by_global_norm([np.zeros(3)], 1.0)[0], np.zeros(3))
    with pytest.raises(ValueError, match="positive"):
        clip_by_global_norm(small, 0.0)


def test_clip_norm_argument_equals_with_clipping():
    params, grads = {"w": np.array([1.0, 1.0])}, {"w": np.array([30.0, 40.0])}
    a, _ = one_step(adam(0.1, clip_norm=2.0), params, grads)
    b, _ = one_step(with_clipping(adam(0.1), 2.0), params, grads)
    np.testing.assert_array_equal(a["w"], b["w"])
    c, _ = one_step(sgd(1.0, clip_norm=5.0), params, grads)
    np.testing.assert_allclose(c["w"], [1.0 - 3.0, 1.0 - 4.0])


def test_clipping_works_inside_a_differentiated_function():
    # clip_by_global_norm uses no conversions, so it can be traced.
    g = cr.grad(lambda x: np.sum(clip_by_global_norm([x], 1.0)[0]))(np.array([3.0, 4.0]))
    np.testing.assert_allclose(g, [1 / 5 - 3 * 7 / 125, 1 / 5 - 4 * 7 / 125])


# ---------------------------------------------------------------- minimize (SciPy bridge)


def rosen(x):
    return np.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2)


def rosen_tree(p):
    xs = [p["a"][0], p["a"][1], p["b"]]
    return sum(100.0 * (xs[i + 1] - xs[i] ** 2) ** 2 + (1.0 - xs[i]) ** 2 for i in range(2))


METHODS = [
    "BFGS",
    "L-BFGS-B",
    "CG",
    "Newton-CG",
    "trust-ncg",
    "trust-krylov",
    "trust-exact",
    "trust-constr",
    "dogleg",
    "TNC",
    "SLSQP",
]
# How close each method gets with tol=1e-8 (TNC and SLSQP stop on the change in f).
ACCURACY = {"TNC": 5e-4, "SLSQP": 1e-4, "L-BFGS-B": 1e-5}
EXTRA_OPTIONS = {"TNC": {"options": {"maxfun": 1000}}}


@needs_scipy
@pytest.mark.parametrize("method", METHODS)
def test_minimize_rosenbrock_2d(method):
    res = minimize(
        rosen, np.array([-1.2, 1.0]), method=method, tol=1e-8, **EXTRA_OPTIONS.get(method, {})
    )
    assert res.success, res.message
    np.testing.assert_allclose(res.x, [1.0, 1.0], atol=ACCURACY.get(method, 1e-6))
    assert isinstance(res.x, np.ndarray) and res.x.shape == (2,)


@needs_scipy
@pytest.mark.parametrize("method", METHODS)
def test_minimize_rosenbrock_pytree(method):
    x0 = {"a": np.array([-1.2, 1.0]), "b": 1.0}
    res = minimize(rosen_tree, x0, method=method, tol=1e-8, **EXTRA_OPTIONS.get(method, {}))
    assert res.success, res.message
    assert set(res.x) == {"a", "b"} and res.x["a"].shape == (2,) and isinstance(res.x["b"], float)
    atol = ACCURACY.get(method, 1e-6)
    np.testing.assert_allclose(res.x["a"], [1.0, 1.0], atol=atol)
    assert res.x["b"] == pytest.approx(1.0, abs=2 * atol)
    if method != "trust-constr":  # trust-constr reports the gradient as `grad`
        assert cr.tree.structure(res.jac) == cr.tree.structure(res.x)
    else:
        assert cr.tree.structure(res.grad) == cr.tree.structure(res.x)


def _scipy_older_than(version: tuple[int, int]) -> bool:
    if importlib.util.find_spec("scipy") is None:
        return False
    from importlib.metadata import version as installed

    release = installed("scipy").split(".")[:2]
    return tuple(int(p) for p in release) < version


@needs_scipy
@pytest.mark.parametrize(
    "method",
    [
        "Nelder-Mead",
        "Powell",
        pytest.param(
            "COBYQA",
            marks=pytest.mark.skipif(_scipy_older_than((1, 14)), reason="COBYQA: SciPy >= 1.14"),
        ),
    ],
)
def test_minimize_derivative_free_methods_get_no_derivatives(method, recwarn):
    res = minimize(rosen, np.array([-1.2, 1.0]), method=method, options={"maxiter": 5000})
    np.testing.assert_allclose(res.x, [1.0, 1.0], atol=1e-3)
    assert not [w for w in recwarn if "does not use" in str(w.message)]


@needs_scipy
def test_value_and_gradient_come_from_one_evaluation():
    calls = []

    def counted(x):
        calls.append(1)
        return rosen(x)

    res = minimize(counted, np.array([-1.2, 1.0]), method="BFGS")
    assert res.success
    assert len(calls) == res.nfev  # no separate gradient evaluations
    assert res.njev == res.nfev


@needs_scipy
@pytest.mark.parametrize("method", ["Newton-CG", "trust-ncg", "trust-krylov", "trust-constr"])
def test_hessian_free_methods_never_form_the_hessian(method, monkeypatch):
    from chainrule.optim import scipy_bridge

    def forbidden(*args, **kwargs):
        raise AssertionError("the Hessian was formed")

    monkeypatch.setattr(scipy_bridge, "hessian", forbidden)
    products = []
    real_hvp = scipy_bridge.hvp
    monkeypatch.setattr(scipy_bridge, "hvp", lambda *a: products.append(1) or real_hvp(*a))
    res = minimize(rosen, np.full(50, 0.5), method=method, tol=1e-8)
    assert res.success
    np.testing.assert_allclose(res.x, np.ones(50), atol=1e-4)
    assert products


@needs_scipy
def test_trust_exact_gets_the_hessian():
    res = minimize(rosen, np.array([-1.2, 1.0]), method="trust-exact")
    assert res.success and res.nhev > 0
    np.testing.assert_allclose(res.x, [1.0, 1.0], atol=1e-6)


def circle_problem():
    # minimise x + y on the circle x^2 + y^2 = 2 with x >= -0.5:
    # without the inequality the answer is (-1, -1); with it, (-0.5, -sqrt(1.75)).
    objective = lambda p: p["x"] + p["y"]
    on_circle = lambda p: p["x"] ** 2 + p["y"] ** 2 - 2.0
    right_of = lambda p: p["x"] + 0.5
    return objective, on_circle, right_of, {"x": 0.5, "y": -0.5}


@needs_scipy
@pytest.mark.parametrize("method", ["trust-constr", "SLSQP"])
def test_constrained_with_dict_constraints(method):
    objective, on_circle, right_of, x0 = circle_problem()
    options = (
        {"gtol": 1e-12, "xtol": 1e-14, "barrier_tol": 1e-12} if method == "trust-constr" else {}
    )
    res = minimize(
        objective,
        x0,
        method=method,
        options=options,
        constraints=[{"type": "eq", "fun": on_circle}, {"type": "ineq", "fun": right_of}],
    )
    assert res.success, res.message
    assert res.x["x"] == pytest.approx(-0.5, abs=1e-6)
    assert res.x["y"] == pytest.approx(-math.sqrt(1.75), abs=1e-6)


@needs_scipy
def test_constrained_with_nonlinear_constraint_objects():
    from scipy.optimize import NonlinearConstraint

    objective, on_circle, right_of, x0 = circle_problem()
    both = lambda p: np.stack([on_circle(p), right_of(p)])
    con = NonlinearConstraint(both, [0.0, 0.0], [0.0, np.inf])
    options = {"gtol": 1e-12, "xtol": 1e-14, "barrier_tol": 1e-12}
    res = minimize(objective, x0, method="trust-constr", constraints=con, options=options)
    assert res.success, res.message
    assert res.x["x"] == pytest.approx(-0.5, abs=1e-6)
    assert res.x["y"] == pytest.approx(-math.sqrt(1.75), abs=1e-6)


@needs_scipy
def test_constraint_jacobian_comes_from_jacrev():
    from chainrule.optim.constraints import to_constraints
    from chainrule.optim.ravel import FlatView

    view = FlatView({"x": 0.0, "y": np.zeros(2)})
    fun = lambda p: np.stack([p["x"] * p["y"][0], p["y"][1] ** 2])
    [con] = to_constraints({"type": "ineq", "fun": fun}, view, "trust-constr")
    z = np.array([2.0, 3.0, 5.0])
    np.testing.assert_allclose(con.jac(z), [[3.0, 2.0, 0.0], [0.0, 0.0, 10.0]])
    # the Hessian of v . c as products: v = (1, 1) gives [[0,1,0],[1,0,0],[0,0,2]]
    H = con.hess(z, np.array([1.0, 1.0]))
    np.testing.assert_allclose(H @ np.array([1.0, 1.0, 1.0]), [1.0, 1.0, 2.0])


@needs_scipy
def test_bounds_as_pairs_and_as_a_pytree():
    fun = lambda p: np.sum((p["w"] - 3.0) ** 2) + (p["b"] + 3.0) ** 2
    x0 = {"b": 0.0, "w": np.zeros(2)}  # flattened as b, w0, w1
    pairs = [(-1.0, 1.0), (0.0, 1.0), (None, 2.0)]
    res = minimize(fun, x0, method="L-BFGS-B", bounds=pairs)
    assert res.x["b"] == pytest.approx(-1.0)
    np.testing.assert_allclose(res.x["w"], [1.0, 2.0])
    tree_bounds = {"b": (-1.0, None), "w": (np.array([0.0, 0.0]), np.array([1.0, 2.0]))}
    res = minimize(fun, x0, method="L-BFGS-B", bounds=tree_bounds)
    assert res.x["b"] == pytest.approx(-1.0)
    np.testing.assert_allclose(res.x["w"], [1.0, 2.0])
    with pytest.raises(ValueError, match="pair"):
        minimize(fun, x0, method="L-BFGS-B", bounds={"b": 1.0, "w": (0.0, 1.0)})


@needs_scipy
def test_callback_and_args_see_the_pytree():
    seen = []
    res = minimize(
        lambda p, c: np.sum((p[0] - c) ** 2) + (p[1] - c) ** 2,
        (np.zeros(2), 0.0),
        args=(2.0,),
        method="BFGS",
        callback=seen.append,
    )
    np.testing.assert_allclose(res.x[0], [2.0, 2.0], atol=1e-6)
    assert seen and all(isinstance(x, tuple) and x[0].shape == (2,) for x in seen)


@needs_scipy
def test_minimize_errors():
    with pytest.raises(ValueError, match="unknown method 'newton'"):
        minimize(rosen, np.zeros(2), method="newton")
    with pytest.raises(TypeError, match=r"scalar.*shape \(2,\)"):
        minimize(lambda x: x**2, np.zeros(2))
    with pytest.raises(TypeError, match=r"scalar.*shape \(2,\)"):
        minimize(lambda x: x**2, np.zeros(2), method="Nelder-Mead")
    with pytest.raises(TypeError, match="jac"):
        minimize(rosen, np.zeros(2), jac=lambda x: x)
    with pytest.raises(ValueError, match="constraints"):
        minimize(rosen, np.zeros(2), method="BFGS", constraints={"type": "eq", "fun": rosen})
    with pytest.raises(ValueError, match="bounds"):
        minimize(rosen, np.zeros(2), method="CG", bounds=[(0, 1), (0, 1)])
    with pytest.raises(TypeError, match="dtype complex"):
        minimize(rosen, np.zeros(2, dtype=complex))


def test_minimize_without_scipy_says_how_to_install_it(monkeypatch):
    monkeypatch.setitem(sys.modules, "scipy", None)
    monkeypatch.setitem(sys.modules, "scipy.optimize", None)
    from chainrule.errors import install_hint

    hint = install_hint("scipy", "scipy")
    assert '"' in hint or hint == "pip install scipy"  # quoted for every shell
    with pytest.raises(ImportError, match=re.escape("install it with: " + hint)):
        minimize(rosen, np.zeros(2))


# ---------------------------------------------------------------- root (Newton)


def circles(p):
    return (p[0] ** 2 + p[1] ** 2 - 4.0, (p[0] - 1.0) ** 2 + p[1] ** 2 - 4.0)


def test_root_finds_a_circle_intersection():
    res = root(circles, np.array([1.0, 1.0]))
    assert res.success and res.status == 0
    np.testing.assert_allclose(res.x, [0.5, math.sqrt(3.75)], rtol=0, atol=1e-12)
    assert len(res.history) == res.nit + 1 and res.history[-1] <= 1e-10
    assert isinstance(res.fun, tuple) and len(res.fun) == 2
    assert res.njev == res.nit


def test_root_converges_quadratically():
    exact = np.array([0.5, math.sqrt(3.75)])
    iterates = [np.array([2.0, 3.0])]
    root(circles, iterates[0], tol=1e-14, callback=iterates.append)
    errors = [np.linalg.norm(x - exact) for x in iterates]
    ratios = [e1 / e0**2 for e0, e1 in zip(errors, errors[1:]) if e0 > 1e-7 and e1 > 0]
    assert len(ratios) >= 3
    assert max(ratios) < 1.0  # ||e_{k+1}|| <= C ||e_k||^2 with a modest C
    assert errors[-1] < 1e-12


def test_root_on_a_pytree_with_line_search_from_far_away():
    def system(p):
        return {"u": np.exp(p["a"]) - 2.0, "v": p["b"] ** 3 - p["a"]}

    res = root(system, {"a": 10.0, "b": np.array([3.0])})
    assert res.success
    assert res.x["a"] == pytest.approx(math.log(2.0), abs=1e-12)
    np.testing.assert_allclose(res.x["b"], [math.log(2.0) ** (1 / 3)], atol=1e-12)
    assert isinstance(res.x["a"], float) and res.x["b"].shape == (1,)
    assert all(b < a for a, b in zip(res.history, res.history[1:]))


def test_root_error_when_there_is_no_root():
    with pytest.raises(NewtonConvergenceError) as info:
        root(lambda x: x**2 + 1.0, 3.0)
    err = info.value
    assert isinstance(err, RuntimeError)
    message = str(err)
    assert "residual norm" in message and "iterations" in message
    assert err.residual_norm >= 1.0 and err.nit == err.result.nit
    assert err.result.success is False
    assert "did not converge" in message


def test_root_error_when_maxiter_is_reached():
    with pytest.raises(NewtonConvergenceError, match="maxiter=2") as info:
        root(lambda x: np.arctan(x), 1.3, maxiter=2)
    assert info.value.nit == 2
    assert f"{info.value.residual_norm:.3e}" in str(info.value)


@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # plain Newton overflows, on purpose
def test_root_without_line_search_is_plain_newton():
    # arctan from 1.5 diverges under plain Newton; the line search rescues it.
    assert root(np.arctan, 1.5).x == pytest.approx(0.0, abs=1e-10)
    with pytest.raises(NewtonConvergenceError):
        root(np.arctan, 1.5, line_search=False, maxiter=20)


@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # log(-1), on purpose
def test_root_rejects_non_square_systems_and_non_finite_values():
    with pytest.raises(ValueError, match="3 values for 2 unknowns"):
        root(lambda x: np.concatenate([x, x[:1]]), np.ones(2))
    with pytest.raises(NewtonConvergenceError, match="non-finite"):
        root(lambda x: np.log(x), -1.0)


def test_namespace_exports():
    for name in [
        "sgd",
        "momentum",
        "nesterov",
        "adam",
        "adamw",
        "rmsprop",
        "adagrad",
        "minimize",
        "root",
        "clip_by_global_norm",
        "constant",
        "exponential_decay",
        "cosine_decay",
        "warmup_cosine",
        "piecewise_constant",
    ]:
        assert callable(getattr(optim, name)), name
        assert ">>> " in (getattr(optim, name).__doc__ or ""), name
