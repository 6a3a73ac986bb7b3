"""Derivatives of solutions (root, minimize, least_squares, fixed_point) by the
implicit function theorem, against closed forms and against finite differences of
the solver itself run at tight tolerances."""

import numpy as np
import pytest

import chainrule as cr
from chainrule.optim import (
    ImplicitDifferentiationError,
    fixed_point,
    implicit,
    least_squares,
    minimize,
    root,
)


def fd(f, x, eps=1e-3):
    """Fourth-order central differences of ``f`` (array -> array) at ``x``: the
    truncation error is O(eps^4) ~ 1e-12, the solver's rounding noise / eps ~ 1e-13."""
    x = np.asarray(x, dtype=float)
    cols = []
    for i in range(x.size):
        e = np.zeros_like(x)
        e.flat[i] = eps
        d = (-f(x + 2 * e) + 8 * f(x + e) - 8 * f(x - e) + f(x - 2 * e)) / (12 * eps)
        cols.append(np.ravel(d))
    return np.stack(cols, axis=-1).reshape(np.shape(f(x)) + x.shape)


def rel_err(a, b):
    return float(np.max(np.abs(np.asarray(a) - np.asarray(b))) / np.max(np.abs(b)))


# ---------------------------------------------------------------- root


def cubic_root(a):
    return root(lambda x, a: x**3 + x - a, 1.0, args=(a,), tol=1e-14).x


def test_root_scalar_closed_form_both_modes_and_second_order():
    a = 3.0
    x = float(cubic_root(a))
    assert x**3 + x == pytest.approx(a, abs=1e-13)
    d1 = 1.0 / (3 * x**2 + 1)
    d2 = -6 * x / (3 * x**2 + 1) ** 3
    assert float(cr.grad(cubic_root)(a)) == pytest.approx(d1, rel=1e-13)
    assert float(cr.jacfwd(cubic_root)(a)) == pytest.approx(d1, rel=1e-13)
    assert float(cr.jvp(cubic_root, (a,), (2.0,))[1]) == pytest.approx(2 * d1, rel=1e-13)
    assert float(cr.hessian(cubic_root)(a)) == pytest.approx(d2, rel=1e-12)
    assert float(cr.grad(cr.grad(cubic_root))(a)) == pytest.approx(d2, rel=1e-12)
    assert float(cr.jacfwd(cr.jacfwd(cubic_root))(a)) == pytest.approx(d2, rel=1e-12)


def test_a_traced_starting_point_contributes_nothing():
    # the root does not depend on where Newton's method started
    f = lambda a: root(lambda x, a: x**3 + x - a, a, args=(a,), tol=1e-14).x  # noqa: E731
    x = float(f(3.0))
    assert float(cr.grad(f)(3.0)) == pytest.approx(1 / (3 * x**2 + 1), rel=1e-13)
    g = lambda a: fixed_point(lambda x, a: 0.5 * (x + a / x), a, args=(a,), xtol=1e-15)  # noqa: E731
    assert float(cr.jacfwd(g)(2.0)) == pytest.approx(0.5 / np.sqrt(2.0), rel=1e-12)
    h = lambda a: minimize(lambda x, a: (x - a) ** 2, a + 1.0, args=(a,), tol=1e-12).x  # noqa: E731
    assert float(cr.grad(h)(2.0)) == pytest.approx(1.0, rel=1e-10)


def system(x, p, label, power):
    assert label == "fixed" and power == 3  # non-float leaves of args pass through untouched
    return np.stack([x[0] ** 2 + x[1] - p["a"][0], x[0] - x[1] ** power - p["a"][1] * p["b"]])


def root_of_system(a, b=1.5):
    return root(system, np.array([1.0, 1.0]), args=({"a": a, "b": b}, "fixed", 3), tol=1e-14).x


def test_root_system_pytree_args_jacobians_against_solver_differences():
    a = np.array([3.0, 0.5])
    expected = fd(root_of_system, a)
    assert rel_err(cr.jacfwd(root_of_system)(a), expected) < 1e-10
    assert rel_err(cr.jacrev(root_of_system)(a), expected) < 1e-10
    # derivative in the other float leaf of the same args pytree
    db = cr.jacfwd(lambda b: root_of_system(a, b))(1.5)
    assert rel_err(db, fd(lambda b: root_of_system(a, float(b)), np.array(1.5))) < 1e-10


def test_root_hessian_against_differences_of_the_gradient():
    a = np.array([3.0, 0.5])
    first = lambda a: root_of_system(a)[0]  # noqa: E731
    h = cr.hessian(first)(a)
    expected = fd(lambda a: cr.grad(first)(a), a)
    assert rel_err(h, expected) < 1e-9
    assert np.allclose(h, h.T, rtol=1e-12, atol=0)
    assert rel_err(cr.jacrev(cr.jacfwd(first))(a), expected) < 1e-9
    cr.check_grads(first, (a,), order=2, eps=1e-4, rtol=1e-6)


def test_root_singular_jacobian_at_the_solution_raises_when_differentiated():
    # x^3 = a at a = 0: the root x = 0 is triple, dF/dx = 3 x^2 = 0 there (x = a^(1/3)
    # has an infinite derivative)
    f = lambda a: root(lambda x, a: x**3 - a, 0.0, args=(a,)).x  # noqa: E731
    assert float(f(0.0)) == 0.0
    with pytest.raises(ImplicitDifferentiationError, match="singular"):
        cr.grad(f)(0.0)


def test_root_matrix_free_gmres_matches_dense():
    rng = np.random.default_rng(0)
    n = 12
    W = rng.normal(size=(n, n)) / (2 * np.sqrt(n))
    c = rng.normal(size=n)

    def solve(theta, linear_solver):
        return root(
            lambda x, t: x + np.tanh(W @ x + t) - c,
            np.zeros(n),
            args=(theta,),
            tol=1e-14,
            linear_solver=linear_solver,
        ).x

    theta = rng.normal(size=n)
    dense = cr.jacfwd(lambda t: solve(t, "dense"))(theta)
    assert rel_err(dense, fd(lambda t: solve(t, "dense"), theta)) < 1e-9
    g = cr.jacfwd(lambda t: solve(t, "gmres"))(theta)
    assert rel_err(g, dense) < 1e-9
    w = rng.normal(size=n)
    gr = cr.grad(lambda t: solve(t, "gmres") @ w)(theta)
    assert rel_err(gr, dense.T @ w) < 1e-9


@pytest.mark.parametrize("linear_solver", ["gmres", "cg"])
def test_matrix_free_second_order_matches_dense(linear_solver):
    # the Krylov solve is differentiable itself: Hessians need no dense Jacobian
    rng = np.random.default_rng(3)
    n = 6
    d = 2.0 + rng.random(n)

    def argmin(t, solver):
        obj = lambda x, t: 0.5 * np.sum(d * x**2) + 0.25 * np.sum(x**4) - np.sum(np.sin(t) * x)  # noqa: E731
        return minimize(
            obj, np.zeros(n), args=(t,), method="Newton-CG", tol=1e-14, linear_solver=solver
        ).x

    t = rng.normal(size=n)
    w = rng.normal(size=n)
    scalar = lambda solver: lambda t: argmin(t, solver) @ w  # noqa: E731
    dense = cr.hessian(scalar("dense"))(t)
    assert rel_err(dense, fd(lambda t: cr.grad(scalar("dense"))(t), t)) < 1e-8
    assert rel_err(cr.hessian(scalar(linear_solver))(t), dense) < 1e-9
    assert rel_err(cr.jacrev(cr.grad(scalar(linear_solver)))(t), dense) < 1e-9
    assert rel_err(cr.jacfwd(cr.jacfwd(scalar(linear_solver)))(t), dense) < 1e-9


# ---------------------------------------------------------------- minimize


def objective(x, a):
    return np.sum((x - a) ** 2) + np.sum(x**4) + x[0] * x[1]


def argmin(a, method="BFGS", **kw):
    kw.setdefault("tol", 1e-13)
    return minimize(objective, np.zeros(2), args=(a,), method=method, **kw).x


def exact_argmin(a):
    """The argmin of ``objective`` by Newton's method on its gradient (to rounding), the
    Jacobian ``dx/da = H^-1 2I`` and the second derivatives, from
    ``(dH/da_k) J + H d2x/da_k = 0``, ``dH/da_k = diag(24 x * J[:, k])``: all exact."""
    swap = np.array([[0.0, 1.0], [1.0, 0.0]])
    x = np.zeros(2)
    for _ in range(60):
        hess = 2 * np.eye(2) + np.diag(12 * x**2) + swap
        x = x - np.linalg.solve(hess, 2 * (x - a) + 4 * x**3 + x[::-1])
    hess = 2 * np.eye(2) + np.diag(12 * x**2) + swap
    jac = np.linalg.solve(hess, 2 * np.eye(2))
    second = np.stack(
        [-np.linalg.solve(hess, np.diag(24 * x * jac[:, k]) @ jac) for k in range(2)], axis=-1
    )  # second[i, j, k] = d2 x_i / da_j da_k
    return x, jac, second


@pytest.mark.parametrize("method", ["BFGS", "Newton-CG"])
def test_minimize_jacobian_within_100_tol(method):
    # The derivative is taken at the point the solver returns: its error follows the
    # solution's. At tol 1e-13 these methods return x within ~3e-13 of the exact
    # argmin, and the implicit derivative is within 100 x tol of the exact one; the
    # fourth-order differences of the tight solve are themselves only ~3e-11 from it
    # (their truncation), so the closed form is the reference here.
    a = np.array([1.0, 0.5])
    tol = 1e-13
    x, exact, _ = exact_argmin(a)
    f = lambda a: argmin(a, method, tol=tol)  # noqa: E731
    assert rel_err(f(a), x) < 100 * tol
    assert rel_err(cr.jacfwd(f)(a), exact) < 100 * tol
    assert rel_err(cr.jacrev(f)(a), exact) < 100 * tol
    differences = fd(lambda a: argmin(a, "Newton-CG"), a)
    assert rel_err(differences, exact) < 1e-10


def test_minimize_lbfgsb_derivative_follows_its_solution():
    # L-BFGS-B's tol bounds the relative decrease of the objective, not x: at tol 1e-13
    # it stops ~1e-9 from the argmin. The derivative at its point is off by as much,
    # no more (the implicit derivative at the exact argmin is exact, test above).
    a = np.array([1.0, 0.5])
    x, exact, _ = exact_argmin(a)
    f = lambda a: argmin(a, "L-BFGS-B")  # noqa: E731
    off = rel_err(f(a), x)
    assert 1e-13 < off < 1e-7
    assert rel_err(cr.jacfwd(f)(a), exact) < 100 * off
    assert rel_err(cr.jacrev(f)(a), exact) < 100 * off


def test_minimize_closed_form_quadratic_and_hessian_of_the_argmin():
    # min (x - a)^2 + x^4: stationarity 2(x - a) + 4x^3 = 0, dx/da = 2 / (2 + 12 x^2),
    # and differentiating (2 + 12 x^2) x' = 2 once more: 24 x x'^2 + (2 + 12 x^2) x'' = 0
    f = lambda a: (
        minimize(  # noqa: E731
            lambda x, a: (x - a) ** 2 + x**4, 0.0, args=(a,), method="Newton-CG", tol=1e-14
        ).x
    )
    a = 0.8
    x = float(f(a))
    d1 = 2 / (2 + 12 * x**2)
    d2 = -24 * x * d1**2 / (2 + 12 * x**2)
    assert float(cr.grad(f)(a)) == pytest.approx(d1, rel=1e-11)
    assert float(cr.jacfwd(f)(a)) == pytest.approx(d1, rel=1e-11)
    assert float(cr.hessian(f)(a)) == pytest.approx(d2, rel=1e-10)
    assert float(cr.jacfwd(cr.grad(f))(a)) == pytest.approx(d2, rel=1e-10)


def test_minimize_hessian_within_100_tol():
    a = np.array([1.0, 0.5])
    tol = 1e-13
    _, _, second = exact_argmin(a)
    for i in range(2):
        first = lambda a, i=i: argmin(a, "Newton-CG", tol=tol)[i]  # noqa: E731
        assert rel_err(cr.hessian(first)(a), second[i]) < 100 * tol
        assert rel_err(cr.jacrev(cr.jacfwd(first))(a), second[i]) < 100 * tol
    # differences of the gradient agree, to their own truncation error
    first = lambda a: argmin(a, "Newton-CG")[0]  # noqa: E731
    assert rel_err(fd(lambda a: cr.grad(first)(a), a), second[0]) < 1e-9


def test_minimize_pytree_x0_and_args():
    def obj(p, data):
        return np.sum((p["w"] * data["x"] + p["b"] - data["y"]) ** 2) + 0.1 * np.sum(p["w"] ** 2)

    x = np.linspace(0, 1, 7)

    def fit(y):
        res = minimize(
            obj, {"w": np.zeros(1), "b": 0.0}, args=({"x": x, "y": y},), method="BFGS", tol=1e-13
        )
        return np.concatenate([res.x["w"], np.reshape(res.x["b"], (1,))])

    y = np.sin(3 * x)
    # ridge regression: the fit is linear in y, so the solver's differences are exact
    assert rel_err(cr.jacrev(fit)(y), fd(fit, y)) < 1e-8
    assert rel_err(cr.jacfwd(fit)(y), fd(fit, y)) < 1e-8


def test_minimize_unconverged_raises_only_when_differentiated():
    a = np.array([1.0, 0.5])
    res = minimize(objective, np.zeros(2), args=(a,), method="BFGS", options={"maxiter": 1})
    assert not res.success  # a plain call returns SciPy's verdict
    with pytest.raises(ImplicitDifferentiationError, match="BFGS.*Maximum number of iterations"):
        cr.grad(lambda a: argmin(a, "BFGS", options={"maxiter": 1})[0])(a)
    with pytest.raises(ImplicitDifferentiationError, match="did not converge"):
        cr.jacfwd(lambda a: argmin(a, "BFGS", options={"maxiter": 1}))(a)


def test_minimize_active_bound_refuses_to_differentiate():
    f = lambda a: (
        minimize(  # noqa: E731
            lambda x, a: np.sum((x - a) ** 2),
            np.zeros(2),
            args=(a,),
            method="L-BFGS-B",
            bounds=[(0.0, 1.0), (0.0, 1.0)],
        ).x
    )
    inside = np.array([0.3, 0.6])
    assert np.allclose(cr.jacfwd(f)(inside), np.eye(2), atol=1e-6)
    with pytest.raises(ImplicitDifferentiationError, match="bound is active"):
        cr.jacfwd(f)(np.array([0.3, 1.6]))


@pytest.mark.parametrize(
    "n, dense_max", [(40, 20), pytest.param(600, implicit.DENSE_MAX, marks=pytest.mark.slow)]
)
def test_minimize_large_matrix_free_cg_path(n, dense_max, monkeypatch):
    # above the dense threshold (600 > 500 unknowns, or a lowered threshold for speed):
    # Hessian-vector products and CG, chosen automatically
    monkeypatch.setattr(implicit, "DENSE_MAX", dense_max)
    monkeypatch.setattr(implicit, "_krylov", counted(implicit._krylov))
    rng = np.random.default_rng(1)
    d = 1.0 + rng.random(n)

    def obj(x, t):
        return 0.5 * np.sum(d * x**2) + 0.25 * np.sum(x**4) - np.sum(t * x)

    t = rng.normal(size=n)
    f = lambda t: minimize(obj, np.zeros(n), args=(t,), method="L-BFGS-B", tol=1e-14).x  # noqa: E731
    x = f(t)
    w = rng.normal(size=n)
    # separable: dx_i/dt_i = 1 / (d_i + 3 x_i^2)
    g = cr.grad(lambda t: f(t) @ w)(t)
    assert rel_err(g, w / (d + 3 * x**2)) < 1e-7
    _, tangent = cr.jvp(f, (t,), (w,))
    assert rel_err(tangent, w / (d + 3 * x**2)) < 1e-7
    # matrix-free throughout: reverse mode transposes the tangent map at a zero
    # right-hand side (returned at once) and solves once with A^T; forward mode once
    assert implicit._krylov.calls == 3


def counted(fun):
    def wrapper(*args, **kwargs):
        wrapper.calls += 1
        return fun(*args, **kwargs)

    wrapper.calls = 0
    return wrapper


# ---------------------------------------------------------------- least_squares

T = np.linspace(0.0, 3.0, 12)


def decay_residuals(p, y):
    return p[0] * np.exp(-p[1] * T) - y


# The differentiated solves run at SciPy's default tolerances, 1e-8. SciPy's own point
# is no better than ~5e-10 (relative) from the exact solution even at xtol = ftol =
# gtol = 1e-15: its stopping tests compare changes of the cost, which stall there. The
# implicit derivative at that point was off by as much (and its second order by
# ~3e-6): the solution's accuracy, not the implicit derivative nor the differences,
# was the limiting factor (at the exact solution the derivative agrees with the
# differences to ~5e-13: test_least_squares_derivative_at_the_exact_solution).
# Differentiated, least_squares now refines SciPy's point by Newton steps on the
# stationarity, and the derivatives agree to 1e-10 (1e-9 for the steeper losses,
# where the differences limit), far inside 100 x LSQ_TOL.
LSQ_TOL = 1e-8
LSQ_AGREE = 1e-8  # the references' own error (differences) dominates; < 100 x LSQ_TOL


def decay_fit(y, x0=(1.0, 1.0), **kw):
    for name in ("xtol", "ftol", "gtol"):
        kw.setdefault(name, LSQ_TOL)
    return least_squares(decay_residuals, np.array(x0), args=(y,), **kw).x


# data far from the model: a large residual, where Gauss-Newton's derivative is wrong
Y = 2.0 * np.exp(-0.7 * T) + 0.3 * np.sin(4 * T)

RHO = {
    "linear": lambda z: z,
    "soft_l1": lambda z: 2 * (np.sqrt(1 + z) - 1),
    "cauchy": np.log1p,
    "arctan": np.arctan,
    "huber": lambda z: np.where(z <= 1, z, 2 * np.sqrt(np.maximum(z, 1)) - 1),
}


def decay_exact(y, loss="linear", f_scale=1.0):
    """The reference solver: SciPy's least_squares stops with a gradient ~1e-8 whatever
    its tolerances (its steps stall), so the tight solve is Newton's method (to 1e-14)
    on the cost's stationarity, started near the solution."""

    def cost(p, y):
        r = decay_residuals(p, y) / f_scale
        return 0.5 * f_scale**2 * np.sum(RHO[loss](r**2))

    start = np.array([2.2, 0.8])
    return root(cr.grad(cost), start, args=(y,), tol=1e-14).x


def test_least_squares_exact_not_gauss_newton():
    jf = cr.jacfwd(decay_fit)(Y)
    expected = fd(decay_exact, Y)
    assert rel_err(jf, expected) < LSQ_AGREE
    assert rel_err(cr.jacrev(decay_fit)(Y), expected) < LSQ_AGREE
    # Gauss-Newton's (J^T J)^-1 J^T misses the residual's curvature term by far more
    p = decay_fit(Y)
    J = cr.jacfwd(decay_residuals)(p, Y)
    gauss_newton = np.linalg.solve(J.T @ J, J.T)
    assert rel_err(gauss_newton, expected) > 1e-3


def test_least_squares_second_order():
    first = lambda y: decay_fit(y)[1]  # noqa: E731
    y = Y[:]
    h = cr.hessian(first)(y)
    assert np.allclose(h, h.T, rtol=1e-10, atol=1e-14)
    # differences of the gradient at the exact (Newton-polished) solutions
    expected = fd(lambda y: cr.grad(lambda y: decay_exact(y)[1])(y), y)
    assert rel_err(h, expected) < LSQ_AGREE


def test_least_squares_derivative_at_the_exact_solution():
    # Started at the exact (Newton-polished) solution, SciPy stops there at once: the
    # implicit derivative, first and second order, then agrees with the differences of
    # the exact solutions to their own error (~1e-12), far inside 100 x 1e-8.
    exact = decay_exact(Y)
    f = lambda y: decay_fit(y, x0=tuple(exact), xtol=1e-15, ftol=1e-15, gtol=1e-15)  # noqa: E731
    assert rel_err(f(Y), exact) < 1e-14
    assert rel_err(cr.jacfwd(f)(Y), fd(decay_exact, Y)) < 1e-10
    assert rel_err(cr.jacrev(f)(Y), fd(decay_exact, Y)) < 1e-10
    second = fd(lambda y: cr.grad(lambda y: decay_exact(y)[1])(y), Y)
    assert rel_err(cr.hessian(lambda y: f(y)[1])(Y), second) < 1e-8


@pytest.mark.parametrize(
    "loss",
    [
        "soft_l1",
        "huber",
        pytest.param("cauchy", marks=pytest.mark.slow),
        pytest.param("arctan", marks=pytest.mark.slow),
    ],
)
def test_least_squares_robust_losses(loss):
    # f_scale 0.3 keeps every scaled residual off huber's kink |r| = f_scale by more
    # than the differences' steps
    f = lambda y: decay_fit(y, loss=loss, f_scale=0.3)  # noqa: E731
    expected = fd(lambda y: decay_exact(y, loss, 0.3), Y)
    assert rel_err(cr.jacfwd(f)(Y), expected) < LSQ_AGREE
    assert rel_err(cr.jacrev(f)(Y), expected) < LSQ_AGREE


def test_least_squares_result_is_scipys_with_pytree_x0_and_kwargs():
    def residuals(p, y, *, scale):
        return scale * (p["a"] * np.exp(-p["k"] * T) - y)

    res = least_squares(
        residuals, {"a": 1.0, "k": np.array(1.0)}, args=(Y,), kwargs={"scale": 2.0}, xtol=1e-14
    )
    assert res.status > 0 and res.jac.shape == (12, 2) and res.fun.shape == (12,)
    assert isinstance(res.x["a"], float)
    ref = decay_fit(Y)
    assert res.x["a"] == pytest.approx(ref[0], rel=1e-6)
    assert float(res.x["k"]) == pytest.approx(ref[1], rel=1e-6)


def test_unknown_linear_solver_is_refused():
    with pytest.raises(ValueError, match="linear_solver must be 'dense', 'gmres', 'cg' or None"):
        root(lambda x: x - 1.0, 0.0, linear_solver="lu")


def test_least_squares_failure_and_bad_input():
    with pytest.raises(ImplicitDifferentiationError, match="least_squares did not converge"):
        cr.jacfwd(lambda y: decay_fit(y, max_nfev=2))(Y)
    with pytest.raises(TypeError, match="jac"):
        least_squares(decay_residuals, np.ones(2), args=(Y,), jac="2-point")
    with pytest.raises(ValueError, match="loss must be one of"):
        least_squares(decay_residuals, np.ones(2), args=(Y,), loss=lambda z: z)
    with pytest.raises(ImplicitDifferentiationError, match="bound is active"):
        cr.jacfwd(lambda y: decay_fit(y, bounds=([0.0, 0.0], [1.5, 5.0])))(Y)


# ---------------------------------------------------------------- fixed_point


def babylonian(a):
    return fixed_point(lambda x, a: 0.5 * (x + a / x), 1.0, args=(a,), xtol=1e-15)


def test_fixed_point_closed_form_to_second_order():
    a = 2.0
    assert float(babylonian(a)) == pytest.approx(np.sqrt(a), rel=1e-15)
    assert float(cr.grad(babylonian)(a)) == pytest.approx(0.5 / np.sqrt(a), rel=1e-12)
    assert float(cr.jacfwd(babylonian)(a)) == pytest.approx(0.5 / np.sqrt(a), rel=1e-12)
    assert float(cr.hessian(babylonian)(a)) == pytest.approx(-0.25 * a**-1.5, rel=1e-11)
    cr.check_grads(babylonian, (a,), order=2, eps=1e-4, rtol=1e-6)


def test_fixed_point_vector_against_solver_differences():
    rng = np.random.default_rng(2)
    W = rng.normal(size=(4, 4)) / 4

    def equilibrium(theta):
        return fixed_point(
            lambda x, t: np.tanh(W @ x + t),
            np.zeros(4),
            args=(theta,),
            xtol=1e-15,
            method="iteration",
            maxiter=2000,
        )

    theta = rng.normal(size=4)
    expected = fd(equilibrium, theta)
    assert rel_err(cr.jacfwd(equilibrium)(theta), expected) < 1e-8
    assert rel_err(cr.jacrev(equilibrium)(theta), expected) < 1e-8


def test_fixed_point_not_converging_raises_with_scipys_message():
    with pytest.raises(RuntimeError, match="fixed_point: SciPy's fixed_point did not converge"):
        fixed_point(lambda x: x + 1.0, 0.0, method="iteration", maxiter=5)


# ------------------------------------------- closed forms: 100 x the solve's tolerance


def test_root_jacobian_and_hessian_within_100_tol():
    # F(x, a) = [x0^2 + x1 - a0, x0 - x1^3 - a1 b]: F_x J = diag(1, b), and once more
    # F_x x_kl = -[2 J0k J0l, -6 x1 J1k J1l]. Exact at the solution (Newton, tol 1e-14).
    tol, b = 1e-14, 1.5
    a = np.array([3.0, 0.5])
    x = root_of_system(a, b)
    fx = np.array([[2 * x[0], 1.0], [1.0, -3 * x[1] ** 2]])
    jac = np.linalg.solve(fx, np.diag([1.0, b]))
    second = np.stack(
        [
            -np.linalg.solve(fx, np.array([2 * jac[0] * jac[0, k], -6 * x[1] * jac[1] * jac[1, k]]))
            for k in range(2)
        ],
        axis=-1,
    )  # second[i, l, k]
    assert rel_err(cr.jacfwd(root_of_system)(a), jac) < 100 * tol
    assert rel_err(cr.jacrev(root_of_system)(a), jac) < 100 * tol
    for i in range(2):
        first = lambda a, i=i: root_of_system(a)[i]  # noqa: E731
        assert rel_err(cr.hessian(first)(a), second[i]) < 100 * tol
        assert rel_err(cr.jacfwd(cr.jacrev(first))(a), second[i]) < 100 * tol


def test_fixed_point_jacobian_and_hessian_within_100_tol():
    # x = tanh(W x + t): (I - D W) x_k = D e_k, D = diag(1 - x^2), and once more
    # (I - D W) x_kl = -2 x x_k x_l / (1 - x^2) (elementwise).
    rng = np.random.default_rng(2)
    W = rng.normal(size=(4, 4)) / 4
    xtol = 1e-15

    def equilibrium(theta):
        return fixed_point(
            lambda x, t: np.tanh(W @ x + t), np.zeros(4), args=(theta,), xtol=xtol, method="del2"
        )

    theta = rng.normal(size=4)
    x = equilibrium(theta)
    assert rel_err(x, np.tanh(W @ x + theta)) < 1e-15
    s = 1 - x**2
    m = np.eye(4) - s[:, None] * W
    jac = np.linalg.solve(m, np.diag(s))
    second = np.stack(
        [np.linalg.solve(m, -2 * x[:, None] * jac * jac[:, [k]] / s[:, None]) for k in range(4)],
        axis=-1,
    )  # second[i, l, k]
    # 100 x xtol is 1e-13: the linear solves' rounding (~1e-15 x cond) stays inside it
    assert rel_err(cr.jacfwd(equilibrium)(theta), jac) < 100 * xtol
    assert rel_err(cr.jacrev(equilibrium)(theta), jac) < 100 * xtol
    first = lambda t: equilibrium(t)[1]  # noqa: E731
    assert rel_err(cr.hessian(first)(theta), second[1]) < 100 * xtol
