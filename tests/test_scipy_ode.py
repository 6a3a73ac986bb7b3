"""chainrule.scipy.integrate.solve_ivp and odeint: derivatives by forward
sensitivities and by the adjoint method, against finite differences of SciPy's
own solver run at rtol 1e-11 and against closed forms."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.integrate as si

import chainrule as cr
import chainrule.scipy.integrate as csi
from chainrule.errors import ConversionError

RTOL = 1e-8  # the differentiated solves; agreement required: 100 x RTOL
TE = np.array([0.3, 0.9, 1.4, 2.0])


def osc(t, y, p):
    """A damped, driven nonlinear oscillator: two states, two parameters."""
    k, c = p[0], p[1]
    return np.stack([y[1], -k * np.sin(y[0]) - c * y[1] + 0.3 * np.cos(t)])


def observe(y0, p, t_eval=TE, t0=0.0, how="auto", rtol=RTOL, atol=1e-12, method="RK45"):
    r = csi.solve_ivp(
        osc,
        (t0, 2.0),
        y0,
        method=method,
        t_eval=t_eval,
        args=(p,),
        sensitivity=how,
        rtol=rtol,
        atol=atol,
    )
    return r.y


def loss(y0, p, how="auto", rtol=RTOL, method="RK45"):
    y = observe(y0, p, how=how, rtol=rtol, method=method)
    return np.sum(np.sin(y) * np.arange(1.0, 1.0 + y.size).reshape(y.shape))


def scipy_loss(y0, p, method="RK45"):
    r = si.solve_ivp(
        osc, (0.0, 2.0), y0, method=method, t_eval=TE, args=(p,), rtol=1e-11, atol=1e-13
    )
    return np.sum(np.sin(r.y) * np.arange(1.0, 1.0 + r.y.size).reshape(r.y.shape))


def fd4(f, x, h=1e-3):
    """Fourth-order central differences of f at x (every coordinate)."""
    out = np.zeros_like(x)
    for i in range(x.size):
        e = np.zeros_like(x)
        e[i] = h
        out[i] = (-f(x + 2 * e) + 8 * f(x + e) - 8 * f(x - e) + f(x - 2 * e)) / (12 * h)
    return out


Y0 = np.array([0.8, -0.2])
P = np.array([2.0, 0.4])


def close(a, b, rtol=100 * RTOL):
    scale = np.max(np.abs(b))
    assert np.max(np.abs(np.asarray(a) - b)) <= rtol * scale, (a, b)


@pytest.fixture(scope="module")
def fd_grads():
    return fd4(lambda p: scipy_loss(Y0, p), P), fd4(lambda y: scipy_loss(y, P), Y0)


@pytest.mark.parametrize("how", ["forward", "adjoint"])
def test_grad_matches_finite_differences_of_scipy(how, fd_grads):
    gy0, gp = cr.grad(loss, argnums=(0, 1))(Y0, P, how)
    close(gp, fd_grads[0])
    close(gy0, fd_grads[1])


def test_forward_mode_and_methods_agree(fd_grads):
    jac_fwd = cr.jacfwd(lambda p: observe(Y0, p, how="forward"))(P)
    g = np.cos(np.arange(TE.size * 2.0)).reshape(2, TE.size)  # one cotangent, all entries
    for how in ("adjoint", "forward"):
        _, pull = cr.vjp(lambda p, how=how: observe(Y0, p, how=how), P)
        close(pull(g)[0], np.einsum("im,imj->j", g, jac_fwd))
    _, t = cr.jvp(lambda p: loss(Y0, p), (P,), (np.array([1.0, 0.0]),))
    close(t, fd_grads[0][0])


def test_exponential_decay_in_every_input():
    # y' = -k y: y(t) = y0 exp(-k (t - t0)), in y0, k, t0 and each t_eval.
    def y(y0, k, t0, te, how="auto"):
        r = csi.solve_ivp(
            lambda t, y, k: -k * y,
            (t0, 2.0),
            y0,
            t_eval=te,
            args=(k,),
            sensitivity=how,
            rtol=1e-10,
            atol=1e-13,
        )
        return r.y[0]

    y0, k, t0, te = np.array([1.5]), 0.7, 0.2, np.array([0.5, 1.0, 2.0])
    exact = y0[0] * np.exp(-k * (te - t0))
    for how in ("forward", "adjoint"):
        jy0, jk, jt0, jte = cr.jacrev(y, argnums=(0, 1, 2, 3))(y0, k, t0, te, how)
        np.testing.assert_allclose(y(y0, k, t0, te), exact, rtol=1e-8)
        np.testing.assert_allclose(jy0[:, 0], exact / y0[0], rtol=1e-7)
        np.testing.assert_allclose(jk, -(te - t0) * exact, rtol=1e-7)
        np.testing.assert_allclose(jt0, k * exact, rtol=1e-7)
        np.testing.assert_allclose(jte, np.diag(-k * exact), rtol=1e-7, atol=1e-12)
    jt0_fwd, jte_fwd = cr.jacfwd(y, argnums=(2, 3))(y0, k, t0, te)
    np.testing.assert_allclose(jt0_fwd, k * exact, rtol=1e-7)
    np.testing.assert_allclose(jte_fwd, np.diag(-k * exact), rtol=1e-7, atol=1e-12)


def test_second_order_closed_form():
    # d2/dk2 y0 exp(-k t) = t^2 y; d2/(dk dy0) = -t exp(-k t)
    def y_end(v):
        r = csi.solve_ivp(
            lambda t, y, k: -k * y,
            (0.0, 1.5),
            v[:1],
            t_eval=np.array([1.5]),
            args=(v[1],),
            rtol=1e-9,
            atol=1e-13,
        )
        return r.y[0, 0]

    v = np.array([2.0, 0.6])
    e = np.exp(-0.6 * 1.5)
    want = np.array([[0.0, -1.5 * e], [-1.5 * e, 1.5**2 * 2.0 * e]])
    np.testing.assert_allclose(cr.hessian(y_end)(v), want, rtol=1e-6, atol=1e-10)
    np.testing.assert_allclose(cr.jacrev(cr.jacrev(y_end))(v), want, rtol=1e-6, atol=1e-10)


def test_stiff_method_gets_chainrule_jacobian():
    y0, p = np.array([0.8, -0.2]), np.array([2.0, 0.4])
    r = csi.solve_ivp(
        osc, (0.0, 2.0), y0, method="BDF", t_eval=TE, args=(p,), rtol=1e-8, atol=1e-12
    )
    assert r.njev > 0 and r.success and r.status == 0 and isinstance(r.message, str)
    g = cr.grad(lambda p: loss(y0, p, method="BDF"))(p)
    fd = fd4(lambda p: scipy_loss(y0, p, method="BDF"), p)
    close(g, fd, rtol=1e-5)  # BDF's error control is looser than its rtol
    g_adjoint = cr.grad(lambda p: loss(y0, p, how="adjoint", method="BDF"))(p)
    close(g_adjoint, fd, rtol=1e-5)  # the stiff adjoint: stretches between observations


def test_odeint_matches_closed_form_and_scipy():
    t = np.array([0.0, 0.5, 1.0])

    def traj(y0, k):
        return csi.odeint(lambda y, t, k: -k * y, y0, t, args=(k,), rtol=1e-10, atol=1e-12)

    y0 = np.array([1.0, 2.0])
    out = traj(y0, 0.5)
    np.testing.assert_allclose(
        out, si.odeint(lambda y, t: -0.5 * y, y0, t, rtol=1e-10, atol=1e-12), rtol=1e-12
    )
    dk = cr.jacrev(traj, argnums=1)(y0, 0.5)
    np.testing.assert_allclose(dk, -t[:, None] * np.exp(-0.5 * t)[:, None] * y0, rtol=1e-6)
    # t[0] moves the start and the first observation together: y(t0) = y0 stays.
    dt = cr.jacfwd(lambda t: csi.odeint(lambda y, t: -y, y0, t, rtol=1e-10, atol=1e-12))(t)
    np.testing.assert_allclose(dt[0], 0.0, atol=1e-12)
    np.testing.assert_allclose(dt[2, :, 2], -np.exp(-1.0) * y0, rtol=1e-6)


def test_result_object_and_untraced_call():
    r = csi.solve_ivp(osc, (0.0, 2.0), Y0, t_eval=TE, args=(P,))
    ref = si.solve_ivp(osc, (0.0, 2.0), Y0, t_eval=TE, args=(P,))
    np.testing.assert_array_equal(r.y, ref.y)
    assert r.nfev == ref.nfev and r.success


def test_t_eval_none_uses_the_solver_times():
    def last(k):
        return csi.solve_ivp(
            lambda t, y, k: -k * y, (0.0, 1.0), np.array([1.0]), args=(k,), rtol=1e-10, atol=1e-12
        ).y[0, -1]

    np.testing.assert_allclose(cr.grad(last)(0.5), -np.exp(-0.5), rtol=1e-7)


def test_refusals():
    f = lambda t, y, k: -k * y  # noqa: E731
    with pytest.raises(NotImplementedError, match="dense_output"):
        cr.grad(
            lambda k: csi.solve_ivp(f, (0, 1), np.ones(1), args=(k,), dense_output=True).y[0, -1]
        )(1.0)
    with pytest.raises(ValueError, match="sensitivity must be"):
        csi.solve_ivp(f, (0, 1), np.ones(1), args=(1.0,), sensitivity="backward")
    with pytest.raises(ValueError, match="pass it through args"):
        cr.grad(lambda k: csi.solve_ivp(lambda t, y: -k * y, (0, 1), np.ones(1)).y[0, -1])(1.0)
    with pytest.raises(NotImplementedError, match="pass t_eval"):
        cr.grad(lambda t1: csi.solve_ivp(f, (0, t1), np.ones(1), args=(1.0,)).y[0, -1])(1.0)


def test_plain_scipy_names_the_chainrule_function():
    with pytest.raises(ConversionError, match=r"chainrule\.scipy\.integrate\.solve_ivp"):
        cr.grad(
            lambda k: si.solve_ivp(lambda t, y, k: -k * y, (0, 1), np.ones(1), args=(k,)).y[0, -1]
        )(1.0)
    with pytest.raises(ConversionError, match=r"chainrule\.scipy\.integrate\.odeint"):
        cr.grad(lambda y0: si.odeint(lambda y, t: -y, y0, [0.0, 1.0])[1, 0])(np.ones(1))


def test_backward_time_and_pytree_args():
    def f(t, y, prm):
        return -prm["k"] * y + prm["c"][0] * np.cos(t)

    te = np.array([1.5, 1.0, 0.4])

    def out(prm, how="auto"):
        return csi.solve_ivp(
            f,
            (2.0, 0.0),
            np.array([1.0, 0.5]),
            t_eval=te,
            args=(prm,),
            sensitivity=how,
            rtol=1e-10,
            atol=1e-12,
            vectorized=True,
        ).y

    prm = {"k": np.array([0.3, 0.7]), "c": np.array([0.2])}
    adj = cr.jacrev(out)(prm, "adjoint")
    fwd = cr.jacfwd(out)(prm, "forward")

    def plain(k):
        return si.solve_ivp(
            f,
            (2.0, 0.0),
            np.array([1.0, 0.5]),
            t_eval=te,
            args=({"k": k, "c": prm["c"]},),
            rtol=1e-12,
            atol=1e-13,
        ).y

    fd = (plain(prm["k"] + [1e-5, 0]) - plain(prm["k"] - [1e-5, 0])) / 2e-5
    close(adj["k"][..., 0], fd, rtol=1e-6)
    close(fwd["k"], adj["k"])
    close(fwd["c"], adj["c"])


def test_hessian_against_finite_differences_of_scipy():
    # Second order runs on forward sensitivities of the sensitivity system,
    # whatever sensitivity= says; here through the adjoint setting.
    hess = cr.hessian(lambda p: loss(Y0, p, "adjoint"))(P)
    h = 1e-4
    e = np.eye(2) * h
    fd = np.array(
        [
            [
                (
                    scipy_loss(Y0, P + a + b)
                    - scipy_loss(Y0, P + a - b)
                    - scipy_loss(Y0, P - a + b)
                    + scipy_loss(Y0, P - a - b)
                )
                / (4 * h * h)
                for b in e
            ]
            for a in e
        ]
    )
    close(hess, fd, rtol=1e-5)  # the difference quotient's own error is ~1e-7


# --- every method, both sensitivities, 100 x rtol ----------------------------------------
METHODS = ["RK23", "RK45", "DOP853", "BDF", "Radau", "LSODA"]


@pytest.mark.parametrize("method", METHODS)
def test_every_method_forward_and_adjoint_within_100_rtol(method, fd_grads):
    # the reference: differences of SciPy's RK45 at rtol 1e-11 (the same solution,
    # far tighter than any of the differentiated solves)
    fd = fd_grads[0]
    g_fwd = cr.grad(lambda p: loss(Y0, p, "forward", method=method))(P)
    g_adj = cr.grad(lambda p: loss(Y0, p, "adjoint", method=method))(P)
    close(g_fwd, fd)
    close(g_adj, fd)
    close(g_adj, g_fwd)


class CountingBDF(si.BDF):
    made = 0

    def __init__(self, *args, **kwargs):
        type(self).made += 1
        super().__init__(*args, **kwargs)


class CountingRadau(si.Radau):
    made = 0

    def __init__(self, *args, **kwargs):
        type(self).made += 1
        super().__init__(*args, **kwargs)


class CountingLSODA(si.LSODA):
    made = 0

    def __init__(self, *args, **kwargs):
        type(self).made += 1
        super().__init__(*args, **kwargs)


@pytest.mark.parametrize("cls", [CountingBDF, CountingRadau, CountingLSODA])
def test_the_adjoint_is_one_backward_solve(cls):
    # One solver object for the forward solve and one for the backward sweep over
    # all four observations (jumps at each), not one per stretch.
    def f(p):
        r = csi.solve_ivp(
            osc,
            (0.0, 2.0),
            Y0,
            method=cls,
            t_eval=TE,
            args=(p,),
            sensitivity="adjoint",
            rtol=1e-8,
            atol=1e-12,
        )
        return np.sum(r.y**2)

    cls.made = 0
    g = cr.grad(f)(P)
    assert cls.made == 2
    g_fwd = cr.grad(
        lambda p: np.sum(
            csi.solve_ivp(
                osc,
                (0.0, 2.0),
                Y0,
                method=cls.__mro__[1].__name__,
                t_eval=TE,
                args=(p,),
                sensitivity="forward",
                rtol=1e-8,
                atol=1e-12,
            ).y
            ** 2
        )
    )(P)
    close(g, g_fwd)


def test_rk_forward_sensitivities_reuse_the_primal_solve(monkeypatch):
    # value_and_grad by forward sensitivities: one recorded RK45 solve, no second one.
    from chainrule.scipy import _rk

    made = []
    original = _rk.RkRecord.__init__

    def counting(self, *args, **kwargs):
        made.append(1)
        original(self, *args, **kwargs)

    monkeypatch.setattr(_rk.RkRecord, "__init__", counting)
    value, g = cr.value_and_grad(lambda p: loss(Y0, p, "forward"))(P)
    assert len(made) == 1
    assert value == pytest.approx(loss(Y0, P), rel=1e-12)


def test_right_hand_side_with_a_python_branch_on_t(fd_grads):
    # cr.vmap cannot map a Python `if` on t: the Jacobians are taken one point at a time.
    def kinked(t, y, p):
        drive = 0.3 * np.cos(t) if t < 1.0 else 0.3 * np.cos(t) + 0.0 * y[0]
        return np.stack([y[1], -p[0] * np.sin(y[0]) - p[1] * y[1] + drive])

    def kinked_loss(p, how):
        r = csi.solve_ivp(
            kinked, (0.0, 2.0), Y0, t_eval=TE, args=(p,), sensitivity=how, rtol=RTOL, atol=1e-12
        )
        return np.sum(np.sin(r.y) * np.arange(1.0, 1.0 + r.y.size).reshape(r.y.shape))

    for how in ("forward", "adjoint"):
        close(cr.grad(kinked_loss)(P, how), fd_grads[0])


def large_problem(n, seed=0):
    rng = np.random.default_rng(seed)
    a = -np.eye(n) + 0.1 * rng.standard_normal((n, n)) / np.sqrt(n)
    w = rng.standard_normal((n, n)) / np.sqrt(n)
    return a, w, 0.1 * rng.standard_normal(n), rng.standard_normal(n)


def test_many_parameters_adjoint_by_products_matches_forward_and_differences():
    # benchmarks/ode_large.py's system at n = 24: n (n + n_p) > BATCH_JACOBIAN_MAX, so
    # the adjoint takes one staged vector-Jacobian product per evaluation.
    from chainrule.scipy import _ode

    n = 24
    assert n * 2 * n > _ode.BATCH_JACOBIAN_MAX
    a, w, p, y0 = large_problem(n)

    def rhs(t, y, p):
        return a @ y + np.tanh(w @ y + p)

    te = np.array([0.5, 1.0])

    def loss_p(p, how):
        r = csi.solve_ivp(
            rhs, (0.0, 1.0), y0, t_eval=te, args=(p,), sensitivity=how, rtol=RTOL, atol=1e-12
        )
        return np.sum(r.y**2)

    def plain(p):
        r = si.solve_ivp(rhs, (0.0, 1.0), y0, t_eval=te, args=(p,), rtol=1e-11, atol=1e-13)
        return np.sum(r.y**2)

    g_adj = cr.grad(loss_p)(p, "adjoint")
    g_fwd = cr.grad(loss_p)(p, "forward")
    # a few coordinates of the reference are enough
    fd = fd4(lambda q: plain(np.concatenate([q, p[4:]])), p[:4])
    close(g_adj[:4], fd)
    close(g_adj, g_fwd)


def test_hessian_every_sensitivity_within_100_rtol():
    # Second order at rtol 1e-6 (agreement 1e-4) against differences of SciPy's gradient
    # by differences: the reference's error (~1e-6) is then well inside the bound.
    rtol = 1e-6

    def f(p, how):
        return loss(Y0, p, how, rtol=rtol)

    ref = np.stack(
        [
            (fd4(lambda p: scipy_loss(Y0, p), P + e) - fd4(lambda p: scipy_loss(Y0, p), P - e))
            / 2e-3
            for e in np.eye(2) * 1e-3
        ],
        axis=1,
    )
    for how in ("forward", "adjoint"):
        close(cr.hessian(lambda p, how=how: f(p, how))(P), ref, rtol=100 * rtol)
    close(cr.jacfwd(cr.grad(lambda p: f(p, "adjoint")))(P), ref, rtol=100 * rtol)


@pytest.mark.parametrize("how", ["forward", "adjoint"])
def test_odeint_gradient_within_100_rtol(how):
    t = np.linspace(0.0, 2.0, 5)

    def traj(p, **kw):
        return csi.odeint(lambda y, t, p: osc(t, y, p), Y0, t, args=(p,), **kw)

    def plain(p):
        return np.sum(np.sin(si.odeint(lambda y, t: osc(t, y, p), Y0, t, rtol=1e-12, atol=1e-13)))

    g = cr.grad(lambda p: np.sum(np.sin(traj(p, rtol=RTOL, atol=1e-12, sensitivity=how))))(P)
    close(g, fd4(plain, P))


def test_odeint_hessian_within_100_rtol():
    t = np.linspace(0.0, 2.0, 5)
    rtol = 1e-6

    def f(p):
        ys = csi.odeint(lambda y, t, p: osc(t, y, p), Y0, t, args=(p,), rtol=rtol, atol=1e-12)
        return np.sum(np.sin(ys))

    def plain(p):
        ys = si.odeint(lambda y, t: osc(t, y, p), Y0, t, rtol=1e-12, atol=1e-13)
        return np.sum(np.sin(ys))

    ref = np.stack(
        [(fd4(plain, P + e) - fd4(plain, P - e)) / 2e-3 for e in np.eye(2) * 1e-3], axis=1
    )
    close(cr.hessian(f)(P), ref, rtol=100 * rtol)


def test_stage_jacobians_in_chunks_give_the_same_gradient(monkeypatch):
    from chainrule.scipy import _ode

    whole = cr.grad(lambda p: loss(Y0, p, "forward"))(P)
    monkeypatch.setattr(_ode, "CHUNK_ENTRIES", 7 * 2 * 4)  # 7 points a call
    chunked = cr.grad(lambda p: loss(Y0, p, "forward"))(P)
    np.testing.assert_allclose(chunked, whole, rtol=1e-13)
