"""Differentiable ``solve_ivp`` and ``odeint``: SciPy's solvers, with derivatives
by forward sensitivities or by the adjoint method.

The solve is one custom function ``Y = core(y0, p, t0, t1, t_eval)`` (``p``: the
floating-point leaves of ``args``, raveled). Its JVP rule is linear in the
tangents, so chainrule transposes it for reverse mode:

* first order: the tangent map is a linear operator (a ``custom_vjp``) whose
  forward product uses the sensitivity matrix ``S = dY/d(y0, p)`` from one
  augmented solve (``S' = f_y S + f_p``, same solver and tolerances) and whose
  transpose is ``S^T g`` (``sensitivity="forward"``) or one backward adjoint
  solve (``sensitivity="adjoint"``: ``lam' = -f_y^T lam``, ``mu' = -f_p^T lam``,
  with the cotangent of each observation added at its time, on the dense
  forward solution: one integration for the explicit Runge-Kutta methods,
  stopping at each observation to take the jump; for BDF, Radau and LSODA, one
  integration per stretch between observations, each started with the last
  step size);
* when the primals are themselves traced (second and higher order), the
  tangent is ``S t`` with ``S`` from the augmented system solved by the same
  differentiable ``core``: forward sensitivities, to any order.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import scipy.integrate as _si

from .. import tree
from ..core.trace import is_traced
from ..custom import custom_jvp, custom_vjp
from ..transforms import jacfwd, vjp
from ..transforms.jit import jit

_STIFF = ("BDF", "Radau", "LSODA")
#: Forward sensitivities while the number of columns (state + parameters) is at most this.
AUTO_FORWARD_MAX = 10


class _Problem:
    """``fun(t, y, *args)`` with the floating-point leaves of ``args`` as one vector ``p``."""

    def __init__(self, fun: Callable, args: tuple, method: Any, options: dict) -> None:
        leaves, self.treedef = tree.flatten(tuple(args))
        self.leaves = leaves
        self.dynamic = [i for i, v in enumerate(leaves) if _is_float(v)]
        self.shapes = [np.shape(leaves[i]) for i in self.dynamic]
        self.sizes = [int(np.prod(s)) for s in self.shapes]
        self.fun = fun
        self.method = method
        self.options = options

    def p_of(self) -> Any:
        parts = [np.reshape(self.leaves[i], (-1,)) * 1.0 for i in self.dynamic]
        if not parts:
            return np.zeros(0)
        return np.concatenate(parts) if len(parts) > 1 else parts[0]

    def args_of(self, p: Any) -> tuple:
        out = list(self.leaves)
        k = 0
        for i, shape, size in zip(self.dynamic, self.shapes, self.sizes):
            out[i] = np.reshape(p[k : k + size], shape)
            k += size
        return tuple(self.treedef.unflatten(out))

    def f(self, t: Any, y: Any, p: Any) -> Any:
        return self.fun(t, y, *self.args_of(p))


def _is_float(v: Any) -> bool:
    if is_traced(v):
        return True
    try:
        return np.result_type(v).kind == "f"
    except TypeError:
        return False


def _any_traced(*xs: Any) -> bool:
    return any(is_traced(x) for x in xs)


class _Staged:
    """``fn`` staged by ``cr.jit`` (traced once, then replayed: the right-hand sides
    of the sensitivity and adjoint systems run thousands of times); ``fn`` itself
    for traced arguments, or for good if staging ``fn`` fails."""

    def __init__(self, fn: Callable) -> None:
        self.fn = fn
        self.staged: Callable | None = jit(fn)

    def __call__(self, *args: Any) -> Any:
        if self.staged is not None and not _any_traced(*args):
            try:
                return self.staged(*args)
            except Exception:  # the plain call below raises the user's error, if any
                self.staged = None
        return self.fn(*args)


def _scipy_jac(f: Callable, p: Any) -> Callable:
    """``jac(t, y)`` for SciPy's stiff methods: chainrule's forward Jacobian in ``y``."""
    jac_y = _Staged(jacfwd(lambda y, t, p: f(t, y, p)))
    return lambda t, y: np.asarray(jac_y(y, t, p))


class _Solver:
    """One configured solve (method, tolerances, right-hand side) and its rules."""

    def __init__(
        self,
        f: Callable,
        n_p: int,
        method: Any,
        options: dict,
        how: str,
        jac_for: Callable | None = None,
    ) -> None:
        self.f, self.n_p, self.method, self.options, self.how = f, n_p, method, options, how
        # jac_for(p) -> jac(t, y) for the stiff methods; chainrule's by default.
        self.jac_for = jac_for or (lambda p: _scipy_jac(f, p))
        self.last: tuple | None = None
        self.stats: Any = None
        self.s_cache: tuple | None = None
        self.core = custom_jvp(self._solve)
        self.core.defjvp(self._rule)

    # --- the primal solve -----------------------------------------------------------
    def _run(
        self, fun: Callable, t0: Any, t1: Any, y0: Any, te: Any, dense: bool, jac: Callable | None
    ) -> Any:
        opts = dict(self.options)
        if jac is not None and self.method in _STIFF and "jac" not in opts:
            opts["jac"] = jac
        sol = _si.solve_ivp(
            fun,
            (float(t0), float(t1)),
            np.asarray(y0, dtype=float),
            method=self.method,
            t_eval=te,
            dense_output=dense,
            **opts,
        )
        if sol.status < 0:
            raise RuntimeError(f"solve_ivp failed ({sol.message}); no derivative of a failed solve")
        return sol

    def _solve(self, y0: Any, p: Any, t0: Any, t1: Any, te: Any) -> Any:
        key = (y0, p, t0, t1, te)
        if self.last is not None and all(a is b for a, b in zip(self.last[0], key)):
            return self.last[1].y
        f = self.f
        sol = self._run(
            lambda t, y: f(t, y, p),
            t0,
            t1,
            y0,
            np.asarray(te, dtype=float),
            self.how == "adjoint",
            self.jac_for(p),
        )
        self.last = (key, sol, None)
        self.stats = sol
        return sol.y

    def _sensitivity_solver(self, n: int) -> _Solver:
        """The augmented system ``z = [y, S]``, ``S = [dy/dy0 | dy/dp]`` (``n x (n + n_p)``)."""
        f, n_p = self.f, self.n_p

        def rhs(t: Any, z: Any, p: Any) -> Any:
            y = z[:n]
            s = np.reshape(z[n:], (n, n + n_p))
            jy, jp = jacfwd(lambda y, p: f(t, y, p), argnums=(0, 1))(y, p)
            ds = jy @ s + np.concatenate([np.zeros((n, n)), np.reshape(jp, (n, n_p))], axis=1)
            return np.concatenate([f(t, y, p), np.reshape(ds, (-1,))])

        staged_rhs = _Staged(rhs)
        inner_jac = self.jac_for

        def block_jac(p: Any) -> Callable:
            # Newton on the augmented system needs only an approximate Jacobian:
            # f_y on each block, without the second-derivative coupling.
            jac = inner_jac(p)
            return lambda t, z: np.kron(np.eye(1 + n + n_p), np.asarray(jac(t, z[:n])))

        return _Solver(staged_rhs, n_p, self.method, self.options, "forward", block_jac)

    def sensitivities(self, y0: Any, p: Any, t0: Any, t1: Any, te: Any) -> tuple[Any, Any]:
        """``Y`` (n, m) and ``S`` (n, m, n + n_p), differentiable when the inputs are traced."""
        n = np.shape(y0)[0]
        aug = self._sensitivity_solver(n)
        z0 = np.concatenate(
            [y0 * 1.0, np.reshape(np.concatenate([np.eye(n), np.zeros((n, self.n_p))], 1), (-1,))]
        )
        z = aug.core(z0, p, t0, t1, te)
        if getattr(self, "stats", None) is None:  # nested: only the augmented solve ran
            self.stats = getattr(aug, "stats", None)
        m = np.shape(te)[0]
        s = np.reshape(z[n:], (n, n + self.n_p, m))
        return z[:n], np.transpose(s, (0, 2, 1))

    # --- the derivative rule -----------------------------------------------------------
    def _rule(self, primals: tuple, tangents: tuple) -> tuple[Any, Any]:
        y0, p, t0, t1, te = primals
        dy0, dp, dt0, _dt1, dte = tangents
        if _any_traced(*primals):
            y, s = self.sensitivities(y0, p, t0, t1, te)
            return y, self._tangent(y, s, primals, tangents)
        y = self._solve(y0, p, t0, t1, te)
        op = _LinearMap(self, primals, y)
        return y, op.apply(dy0, dp, dt0, dte)

    def _tangent(self, y: Any, s: Any, primals: tuple, tangents: tuple) -> Any:
        y0, p, t0, _t1, te = primals
        dy0, dp, dt0, _dt1, dte = tangents
        f = self.f
        n = np.shape(y0)[0]
        d = np.concatenate([dy0 - f(t0, y0, p) * dt0, dp]) if self.n_p else dy0 - f(t0, y0, p) * dt0
        out = s @ d
        fte = _rhs_at(f, te, y, p)
        return out + fte * dte[None, :] if n else out


def _rhs_at(f: Callable, te: Any, y: Any, p: Any) -> Any:
    """``f(t_i, y_i, p)`` at each observation, as columns (n, m)."""
    m = np.shape(te)[0]
    if m == 0:
        return y * 0.0
    return np.stack([f(te[i], y[:, i], p) for i in range(m)], axis=1)


class _LinearMap:
    """The tangent map of one solve at plain primals, as a custom linear function:
    forward products by the sensitivity matrix, transposed products by ``S^T g``
    or by the adjoint solve."""

    def __init__(self, solver: _Solver, primals: tuple, y: Any) -> None:
        self.solver, self.primals, self.y = solver, primals, y
        self.s: Any = None
        apply = custom_vjp(self._forward)
        apply.defvjp(self._fwd, self._bwd)
        self.apply = apply

    def _matrix(self) -> Any:
        if self.s is None:
            # One augmented solve per point, shared by the rows of a jacfwd batch
            # (each row calls the rule again with the same primals).
            cached = self.solver.s_cache
            if cached is not None and all(a is b for a, b in zip(cached[0], self.primals)):
                self.s = cached[1]
            else:
                _, self.s = self.solver.sensitivities(*self.primals)
                self.solver.s_cache = (self.primals, self.s)
        return self.s

    def _forward(self, dy0: Any, dp: Any, dt0: Any, dte: Any) -> Any:
        if not (np.any(dy0) or np.any(dp) or np.any(dt0) or np.any(dte)):
            return np.zeros_like(self.y)  # the transposition's zero probe: no solve
        return self.solver._tangent(self.y, self._matrix(), self.primals, (dy0, dp, dt0, 0.0, dte))

    def _fwd(self, *ts: Any) -> tuple[Any, None]:
        return self._forward(*ts), None

    def _bwd(self, _res: None, g: Any) -> tuple:
        solver = self.solver
        y0, p, t0, _t1, te = self.primals
        f = solver.f
        g = np.asarray(g, dtype=float)
        fte = _rhs_at(f, te, self.y, p)
        g_te = np.sum(fte * g, axis=0)
        if solver.how == "adjoint":
            lam, mu = _adjoint(solver, y0, p, t0, te, g)
        else:
            s = self._matrix()
            flat = np.einsum("im,imj->j", g, s)
            n = np.shape(y0)[0]
            lam, mu = flat[:n], flat[n:]
        g_t0 = -np.dot(lam, np.asarray(f(t0, y0, p)))
        return lam, mu, np.asarray(g_t0), g_te


def _adjoint(solver: _Solver, y0: Any, p: Any, t0: Any, te: Any, g: np.ndarray) -> tuple:
    """One backward sweep of ``[lam, mu]`` from the last observation to ``t0`` on the
    dense forward solution, the cotangent of each observation added at its time."""
    assert solver.last is not None
    sol = solver.last[1].sol
    f, n_p = solver.f, solver.n_p
    n = np.shape(y0)[0]
    te = np.asarray(te, dtype=float)

    def pullback(t: Any, y: Any, p: Any, lam: Any) -> Any:
        return vjp(lambda y, p: f(t, y, p), y, p)[1](lam)

    staged = _Staged(pullback)

    def rhs(t: float, a: np.ndarray) -> np.ndarray:
        vy, vp = staged(t, sol(t), p, a[:n])
        return -np.concatenate([np.asarray(vy), np.asarray(vp)])

    def jac(t: float, a: np.ndarray) -> np.ndarray:
        jy = np.asarray(jacfwd(lambda y: f(t, y, p))(sol(t)))
        out = np.zeros((n + n_p, n + n_p))
        out[:n, :n] = -jy.T
        return out

    opts = dict(solver.options)
    if solver.method in _STIFF and "jac" not in opts:
        opts["jac"] = jac
    opts.pop("first_step", None)

    def sweep(a: np.ndarray, t_from: float, t_to: float, step: float | None) -> tuple:
        if step is not None:
            step = min(step, abs(t_to - t_from))
        seg = _si.solve_ivp(rhs, (t_from, t_to), a, method=solver.method, first_step=step, **opts)
        if seg.status < 0:
            raise RuntimeError(f"the adjoint solve failed: {seg.message}")
        return seg.y[:, -1], _last_step(seg.t)

    a = np.zeros(n + n_p)
    m = te.shape[0]
    t = float(t0) if m == 0 else te[-1]
    runge_kutta = _runge_kutta(solver.method)
    if runge_kutta is not None:
        return _one_sweep(runge_kutta, rhs, opts, a, t, float(t0), te, g, n)
    step = None
    for i in range(m - 1, -1, -1):
        if te[i] != t:
            a, step = sweep(a, t, te[i], step)
            t = te[i]
        a[:n] += g[:, i]
    if t != float(t0):
        a, _ = sweep(a, t, float(t0), step)
    return a[:n], a[n:]


def _runge_kutta(method: Any) -> Any:
    """SciPy's explicit Runge-Kutta class for ``method``, or None for the others."""
    from scipy.integrate._ivp.rk import RungeKutta

    cls = getattr(_si, method, None) if isinstance(method, str) else method
    return cls if isinstance(cls, type) and issubclass(cls, RungeKutta) else None


def _one_sweep(
    cls: Any,
    rhs: Callable,
    opts: dict,
    a: np.ndarray,
    t: float,
    t0: float,
    te: np.ndarray,
    g: np.ndarray,
    n: int,
) -> tuple:
    """The adjoint sweep as one explicit Runge-Kutta integration: the solver stops
    at each observation (its ``t_bound``), takes the jump in ``lam`` and goes on
    with its step size (the first-same-as-last derivative recomputed)."""
    m = te.shape[0]
    stops = [(float(te[i]), i) for i in range(m - 2, -1, -1)] + [(t0, -1)]
    a = a.copy()
    if m:
        a[:n] += g[:, m - 1]
    opts = {k: v for k, v in opts.items() if k not in ("jac", "jac_sparsity", "lband", "uband")}
    ode: Any = None
    for target, i in stops:
        if target != t:
            if ode is None:
                ode = cls(rhs, t, a, target, **opts)
            else:
                ode.t_bound, ode.status = target, "running"
                ode.y, ode.f = a, rhs(t, a)
            while ode.status == "running":
                ode.step()
            if ode.status == "failed":
                raise RuntimeError("the adjoint solve failed: its step size fell too small")
            a, t = np.array(ode.y, dtype=float), target
        if i >= 0:
            a[:n] += g[:, i]
    return a[:n], a[n:]


def _last_step(ts: np.ndarray) -> float | None:
    """The last accepted step, to start the next stretch of the backward sweep
    where this one ended (without a new search for the first step)."""
    if ts.shape[0] < 2:
        return None
    # The last step is often cut short by the segment's end: take the larger of the last two.
    return float(np.max(np.abs(np.diff(ts[-3:]))))


# --- the public functions ---------------------------------------------------------------
class OdeResult(dict):
    """SciPy's ``OdeResult`` fields (``t``, ``y``, ``status``, ``message``, ``nfev``,
    ``njev``, ``nlu``, ``success``, ``sol``, ``t_events``, ``y_events``) as attributes,
    with ``t`` and ``y`` traced when the inputs are."""

    def __getattr__(self, name: str) -> Any:
        try:
            return self[name]
        except KeyError:
            raise AttributeError(name) from None

    def __repr__(self) -> str:
        return "OdeResult(" + ", ".join(f"{k}={v!r}" for k, v in self.items()) + ")"


def _choose(how: str, n: int, n_p: int) -> str:
    if how not in ("auto", "forward", "adjoint"):
        raise ValueError(
            f"solve_ivp: sensitivity must be 'auto', 'forward' or 'adjoint', got {how!r}"
        )
    if how == "auto":
        return "forward" if n + n_p <= AUTO_FORWARD_MAX else "adjoint"
    return how


def _auto_jac(fun: Callable, method: Any, options: dict) -> dict:
    if method in _STIFF and options.get("jac") is None:
        jac_y = jacfwd(lambda y, t, *a: fun(t, y, *a))
        options = dict(options, jac=lambda t, y, *a: np.asarray(jac_y(np.asarray(y), t, *a)))
    return options


def solve_ivp(
    fun: Callable,
    t_span: Any,
    y0: Any,
    method: Any = "RK45",
    t_eval: Any = None,
    args: tuple = (),
    sensitivity: str = "auto",
    **options: Any,
) -> OdeResult:
    """``scipy.integrate.solve_ivp``, differentiable in ``y0``, the floating-point
    leaves of ``args`` (a tuple of pytrees of arrays), ``t_span`` and ``t_eval``.

    ``fun(t, y, *args)`` is ordinary NumPy code. Derivatives: forward
    sensitivities (the state augmented with ``dy/d(y0, args)``, solved by the same
    method and tolerances) or the adjoint method (one backward sweep on the dense
    forward solution), chosen by ``sensitivity``: ``"auto"`` takes forward
    sensitivities while ``len(y0)`` + the number of parameters is at most 10.
    Forward-mode products (``jvp``, ``jacfwd``) always use forward sensitivities;
    ``sensitivity`` picks how reverse-mode products are computed. Second and
    higher derivatives use forward sensitivities of the sensitivity system.
    Stiff methods (``BDF``, ``Radau``, ``LSODA``) get ``jac`` from ``cr.jacfwd``
    unless one is passed. ``dense_output`` and ``events`` are refused when an
    input is traced; ``fun`` must take traced parameters through ``args``.

    >>> import chainrule as cr, numpy as np
    >>> from chainrule.scipy.integrate import solve_ivp
    >>> def y_at_1(k):  # y' = -k y, y(0) = 1: y(1) = exp(-k)
    ...     return solve_ivp(lambda t, y, k: -k * y, (0.0, 1.0), np.array([1.0]),
    ...                      t_eval=np.array([1.0]), args=(k,), rtol=1e-10, atol=1e-12).y[0, 0]
    >>> bool(abs(cr.grad(y_at_1)(2.0) + np.exp(-2.0)) < 1e-8)
    True
    """
    options = dict(options)
    inputs = (*tree.leaves(tuple(t_span)), y0, t_eval, *tree.leaves(tuple(args)))
    if not any(is_traced(v) for v in inputs):
        _choose(sensitivity, 0, 0)

        def checked(t: Any, y: Any, *a: Any) -> Any:
            out = fun(t, y, *a)
            if is_traced(out):
                raise ValueError(_CLOSURE)
            return out

        return OdeResult(
            _si.solve_ivp(
                checked,
                t_span,
                y0,
                method,
                t_eval,
                args=tuple(args) or None,
                **_auto_jac(fun, method, options),
            )
        )
    for bad in ("dense_output", "events"):
        if options.get(bad):
            raise NotImplementedError(
                f"solve_ivp: {bad} is not supported when differentiating; pass t_eval "
                "with the times you need instead"
            )
    if "jac" in options and method not in _STIFF:
        options.pop("jac")
    # The augmented systems are evaluated one state at a time.
    options.pop("vectorized", None)
    if len(t_span) != 2:
        raise ValueError(f"solve_ivp: t_span must be (t0, t1), got {t_span!r}")
    t0, t1 = t_span[0], t_span[1]
    y0 = y0 * 1.0 if is_traced(y0) else np.asarray(y0, dtype=float)
    if np.ndim(y0) != 1:
        raise ValueError(f"solve_ivp: y0 must be 1-d, got shape {np.shape(y0)}")
    problem = _Problem(fun, tuple(args), method, options)
    p = problem.p_of()
    _check_closure(problem, t0, y0)
    if t_eval is None:
        if is_traced(t0) or is_traced(t1):
            raise NotImplementedError(
                "solve_ivp: derivatives in t_span need t_eval (the solver's own output "
                "times move with t_span); pass t_eval"
            )
        plain = _si.solve_ivp(
            lambda t, y: problem.f(t, y, _value(p)),
            (float(t0), float(t1)),
            _value(y0),
            method=method,
            **{k: v for k, v in options.items() if k != "jac"},
        )
        t_eval = plain.t
    n, n_p = np.shape(y0)[0], np.shape(p)[0]
    how = _choose(sensitivity, n, n_p)
    user_jac = options.pop("jac", None)
    jac_for = None
    if callable(user_jac):
        jac_for = lambda p: lambda t, y: user_jac(t, y, *problem.args_of(p))  # noqa: E731
    solver = _Solver(problem.f, n_p, method, options, how, jac_for)
    te = t_eval * 1.0 if is_traced(t_eval) else np.asarray(t_eval, dtype=float)
    y = solver.core(y0, p, _scalar(t0), _scalar(t1), te)
    stats = solver.stats
    return OdeResult(
        t=t_eval if is_traced(t_eval) else np.asarray(t_eval, dtype=float),
        y=y,
        sol=None,
        t_events=None,
        y_events=None,
        nfev=stats.nfev,
        njev=stats.njev,
        nlu=stats.nlu,
        status=stats.status,
        message=stats.message,
        success=stats.success,
    )


def _scalar(t: Any) -> Any:
    return t * 1.0 if is_traced(t) else float(t)


def _value(x: Any) -> Any:
    from ..core.trace import strip

    v = x
    while is_traced(v):
        v = strip(v)
    return np.asarray(v, dtype=float)


def _check_closure(problem: _Problem, t0: Any, y0: Any) -> None:
    """``fun`` may not close over traced values: their derivative would be lost."""
    plain_args = problem.args_of(_value(problem.p_of()))
    out = problem.fun(_value(t0), _value(y0), *plain_args)
    if is_traced(out):
        raise ValueError(_CLOSURE)


_CLOSURE = (
    "solve_ivp: fun uses a traced value it does not receive as an argument "
    "(a closure or global); pass it through args=(...) so its derivative is kept"
)


def odeint(func: Callable, y0: Any, t: Any, args: tuple = (), **options: Any) -> Any:
    """``scipy.integrate.odeint`` (``func(y, t, *args)``, LSODA), differentiable in
    ``y0``, ``t`` and the floating-point leaves of ``args``; returns the states at
    ``t`` as rows, shape ``(len(t), len(y0))``. ``rtol``/``atol`` as SciPy's
    (default 1.49012e-8); ``full_output`` and the other LSODA options are refused
    when an input is traced. ``sensitivity=`` as for :func:`solve_ivp`.

    >>> import chainrule as cr, numpy as np
    >>> from chainrule.scipy.integrate import odeint
    >>> t = np.array([0.0, 1.0])
    >>> d = cr.grad(lambda y0: odeint(lambda y, t: -y, y0, t)[1, 0])(np.array([1.0]))
    >>> bool(abs(d - np.exp(-1.0)) < 1e-6)
    True
    """
    options = dict(options)
    sensitivity = options.pop("sensitivity", "auto")
    if not any(is_traced(v) for v in (y0, t, *tree.leaves(tuple(args)))):
        return _si.odeint(func, y0, t, args=tuple(args), **options)
    rtol = options.pop("rtol", None)
    atol = options.pop("atol", None)
    if options:
        raise NotImplementedError(
            f"odeint: options {sorted(options)} are not supported when differentiating "
            "(rtol and atol are); call chainrule.scipy.integrate.solve_ivp(method='LSODA') "
            "for more control"
        )
    rtol = 1.49012e-8 if rtol is None else rtol
    atol = 1.49012e-8 if atol is None else atol
    res = solve_ivp(
        lambda s, y, *a: func(y, s, *a),
        (t[0], t[-1]),
        y0,
        method="LSODA",
        t_eval=t,
        args=tuple(args),
        sensitivity=sensitivity,
        rtol=rtol,
        atol=atol,
    )
    return np.transpose(res.y)
