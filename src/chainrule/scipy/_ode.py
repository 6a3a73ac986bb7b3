"""Differentiable ``solve_ivp`` and ``odeint``: SciPy's solvers, with derivatives
by forward sensitivities or by the adjoint method.

The solve is one custom function ``Y = core(y0, p, t0, t1, t_eval)`` (``p``: the
floating-point leaves of ``args``, raveled). Its JVP rule is linear in the
tangents, so chainrule transposes it for reverse mode:

* first order: the tangent map is a linear operator (a ``custom_vjp``) whose
  forward product uses the sensitivity matrix ``S = dY/d(y0, p)`` and whose
  transpose is ``S^T g`` (``sensitivity="forward"``) or one backward adjoint
  solve (``sensitivity="adjoint"``: ``lam' = -f_y^T lam``, ``mu' = -f_p^T lam``,
  with the cotangent of each observation added at its time, on the dense
  forward solution, by one solver object of the same method and tolerances that
  stops at each observation for the jump). ``S`` comes, for RK23/RK45, from the
  recorded primal solve (``_rk``: the Runge-Kutta formulas applied to the
  tangent system on the same steps), else from one augmented solve
  (``S' = f_y S + f_p``, same solver and tolerances);
* when the primals are themselves traced (second and higher order), the
  tangent is ``S t`` with ``S`` from the augmented system solved by the same
  differentiable ``core``: forward sensitivities, to any order.

A small right-hand side costs far more to differentiate through chainrule than
to run, per call: small systems take their Jacobians at many points per call
(every stage point of a recorded solve; every stage time of an adjoint step),
and the programs called again and again are staged with ``cr.jit``.
"""

from __future__ import annotations

import contextvars
from collections.abc import Callable
from typing import Any

import numpy as np
import scipy.integrate as _si

from .. import tree
from ..core.trace import is_traced
from ..custom import custom_jvp, custom_vjp
from ..transforms import jacfwd, vjp
from ..transforms.jit import jit
from ..transforms.vmap import vmap
from . import _rk

_STIFF = ("BDF", "Radau", "LSODA")


def _is_stiff(method: Any) -> bool:
    """The implicit methods (by name or SciPy class, subclasses too): they take ``jac``."""
    if isinstance(method, str):
        return method in _STIFF
    return isinstance(method, type) and issubclass(method, (_si.BDF, _si.Radau, _si.LSODA))


#: Forward sensitivities while the number of columns (state + parameters) is at most this.
AUTO_FORWARD_MAX = 10
#: Systems with at most this many entries in ``[f_y | f_p]`` take Jacobians at many
#: points per call (the stage points of a whole solve, or of one adjoint step)
#: instead of one product per right-hand-side evaluation.
BATCH_JACOBIAN_MAX = 1024
#: Jacobian entries per batched call at most (the points are split into chunks).
CHUNK_ENTRIES = 1 << 20


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
                # A fresh context: outside every transform, so that cr.jit replays
                # (inside one it would run fn inline, traced at every call). The
                # arguments are plain, and fn closes over no traced value
                # (_check_closure), so nothing of the outer transforms is lost.
                return contextvars.Context().run(self.staged, *args)
            except Exception:  # the plain call below raises the user's error, if any
                self.staged = None
        return self.fn(*args)


def _scipy_jac(f: Callable, p: Any) -> Callable:
    """``jac(t, y)`` for SciPy's stiff methods: chainrule's forward Jacobian in ``y``."""
    jac_y = _Staged(jacfwd(lambda y, t, p: f(t, y, p)))
    return lambda t, y: np.asarray(jac_y(y, t, p))


def _fresh(fn: Callable, *args: Any) -> Any:
    """``fn(*args)`` outside every transform (see ``_Staged``)."""
    return contextvars.Context().run(fn, *args)


class _Jacobians:
    """``f_y`` and ``f_p`` of ``f(t, y, p)`` at many points per call: chainrule's
    forward Jacobian mapped over the points (``cr.vmap``), staged with ``cr.jit``
    for a fixed number of points; a loop over the points where ``f`` cannot be
    mapped (Python branches on ``t`` or ``y``)."""

    def __init__(self, f: Callable, n_p: int) -> None:
        def jac(y: Any, t: Any, p: Any) -> Any:
            return jacfwd(lambda y, p: f(t, y, p), argnums=(0, 1))(y, p)

        self.mapped: Callable | None = vmap(jac, in_axes=(0, 0, None))
        self.single = _Staged(jac)
        self.staged: dict[int, Callable] = {}

    def at(self, ts: np.ndarray, ys: np.ndarray, p: Any, stage: bool = False) -> tuple:
        """``(f_y, f_p)`` at the points ``(ts[i], ys[i])``, stacked; ``stage``: the
        same number of points comes again and again (stage it once)."""
        if self.mapped is not None:
            try:
                if stage:
                    fn = self.staged.get(ts.shape[0])
                    if fn is None:
                        fn = self.staged[ts.shape[0]] = jit(self.mapped)
                    jy, jp = _fresh(fn, ys, ts, p)
                    return np.asarray(jy), np.asarray(jp)
                # in chunks, so that a long solve's intermediates stay bounded
                n, m = ys.shape[1], ys.shape[1] + int(np.size(p))
                step = max(1, CHUNK_ENTRIES // (n * m))
                parts = [
                    _fresh(self.mapped, ys[i : i + step], ts[i : i + step], p)
                    for i in range(0, ts.shape[0], step)
                ]
                return (
                    np.concatenate([np.asarray(a) for a, _ in parts]),
                    np.concatenate([np.asarray(b) for _, b in parts]),
                )
            except Exception:  # e.g. a Python branch on t: one point at a time
                self.mapped = None
        pairs = [self.single(ys[i], ts[i], p) for i in range(ts.shape[0])]
        return (
            np.array([np.asarray(a) for a, _ in pairs]),
            np.array([np.asarray(b) for _, b in pairs]),
        )


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
        self._jacobians: _Jacobians | None = None
        self.core = custom_jvp(self._solve)
        self.core.defjvp(self._rule)

    # --- the primal solve -----------------------------------------------------------
    def _run(
        self, fun: Callable, t0: Any, t1: Any, y0: Any, te: Any, dense: bool, jac: Callable | None
    ) -> Any:
        opts = dict(self.options)
        if jac is not None and _is_stiff(self.method) and "jac" not in opts:
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
            return self.last[2]
        f = self.f
        te = np.asarray(te, dtype=float)
        cls = _rk.record_class(self.method)
        if cls is not None:
            # Every step kept: the checkpoint of the adjoint, and the stage points
            # of the forward sensitivities.
            _check_t_eval(te, float(t0), float(t1))
            opts = {k: v for k, v in self.options.items() if k not in _NOT_RK}
            rec = _rk.RkRecord(
                cls,
                lambda t, y: np.asarray(f(t, y, p), dtype=float),
                float(t0),
                float(t1),
                np.asarray(y0, dtype=float),
                opts,
            )
            y = np.transpose(rec.dense(te)) if te.shape[0] else np.zeros((rec.y.shape[1], 0))
            self.last = (key, rec, y)
            self.stats = rec
            return y
        sol = self._run(
            lambda t, y: f(t, y, p), t0, t1, y0, te, self.how == "adjoint", self.jac_for(p)
        )
        self.last = (key, sol, sol.y)
        self.stats = sol
        return sol.y

    def dense(self) -> Callable:
        """The last forward solution as a function of times (rows of states)."""
        assert self.last is not None
        held = self.last[1]
        if isinstance(held, _rk.RkRecord):
            return held.dense
        sol = held.sol
        return lambda ts: np.transpose(sol(np.asarray(ts, dtype=float)))

    def batched(self, n: int) -> bool:
        """Whether Jacobians are taken at many points per call (a small system)."""
        return n * (n + self.n_p) <= BATCH_JACOBIAN_MAX

    def jacobians(self) -> _Jacobians:
        if self._jacobians is None:
            self._jacobians = _Jacobians(self.f, self.n_p)
        return self._jacobians

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
        if (
            not _any_traced(y0, p, t0, t1, te)
            and _rk.record_class(self.method) is not None
            and self.batched(n)
        ):
            y = self._solve(y0, p, t0, t1, te)
            assert self.last is not None
            rec = self.last[1]
            tau, z = rec.stage_points()
            jy, jp = self.jacobians().at(tau, z, p)
            return y, rec.sensitivities(jy, jp, np.asarray(te, dtype=float))
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


# solve_ivp's options that are not the solver class's (or not the explicit methods').
_NOT_RK = ("jac", "jac_sparsity", "lband", "uband", "min_step", "dense_output", "events")


def _check_t_eval(te: np.ndarray, t0: float, t1: float) -> None:
    """solve_ivp's own checks of ``t_eval`` (the recorded solve skips solve_ivp)."""
    if te.ndim != 1:
        raise ValueError("`t_eval` must be 1-dimensional.")
    lo, hi = min(t0, t1), max(t0, t1)
    if np.any(te < lo) or np.any(te > hi):
        raise ValueError("Values in `t_eval` are not within `t_span`.")
    d = np.diff(te)
    if (t1 >= t0 and np.any(d <= 0)) or (t1 < t0 and np.any(d >= 0)):
        raise ValueError("Values in `t_eval` are not properly sorted.")


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
    """One backward solve of ``[lam, mu]`` (``lam' = -f_y^T lam``, ``mu' = -f_p^T lam``)
    from the last observation to ``t0`` on the dense forward solution, by the same
    method and tolerances, the cotangent of each observation added at its time."""
    n = np.shape(y0)[0]
    te = np.asarray(te, dtype=float)
    cls = _solver_class(solver.method)
    rhs = _AdjointRhs(solver, solver.dense(), p, n, _stage_nodes(cls))
    opts = {k: v for k, v in solver.options.items() if k not in ("first_step", "jac")}
    if _is_stiff(solver.method):
        opts["jac"] = rhs.jac
    else:
        opts = {k: v for k, v in opts.items() if k not in _NOT_RK}
    t = float(t0) if te.shape[0] == 0 else float(te[-1])
    # Outside every transform: the staged Jacobians and products replay directly.
    return _fresh(_sweep, cls, rhs, opts, t, float(t0), te, g, n, solver.n_p)


def _solver_class(method: Any) -> Any:
    cls = getattr(_si, method, None) if isinstance(method, str) else method
    if not (isinstance(cls, type) and issubclass(cls, _si.OdeSolver)):
        raise ValueError(f"solve_ivp: unknown method {method!r}")
    return cls


def _stage_nodes(cls: Any) -> np.ndarray | None:
    """Where in a step an explicit Runge-Kutta method evaluates the right-hand side
    after its first stage (fractions of the step, the first stage's first)."""
    from scipy.integrate._ivp.rk import RungeKutta

    if not issubclass(cls, RungeKutta):
        return None
    c = [float(v) for v in cls.C[1 : cls.n_stages]] + [1.0]
    nodes = [c[0]] + sorted({v for v in c[1:] if v != c[0]})
    return np.array(nodes)


class _AdjointRhs:
    """The adjoint system's right-hand side ``-[f_y^T lam, f_p^T lam]`` at
    ``(t, y(t))`` and its Jacobian (for the stiff methods).

    Small systems take ``f_y`` and ``f_p`` themselves, by time: ``y(t)`` comes
    from the forward solution, so an explicit Runge-Kutta step's stage times are
    known once its first stage asks (``t_k + c_i h``), and the Jacobians at all of
    them come from one call; each stage is then two small products. Implicit
    methods ask again and again at the same times (Newton iterations): a cache
    by time. Large systems take one vector-Jacobian product per call."""

    CACHE = 24

    def __init__(
        self, solver: _Solver, dense: Callable, p: Any, n: int, nodes: np.ndarray | None
    ) -> None:
        self.dense, self.p, self.n, self.n_p, self.nodes = dense, p, n, solver.n_p, nodes
        self.ode: Any = None
        self.in_step = False
        self.by_jacobian = solver.batched(n)
        self.cache: list[tuple[float, np.ndarray, np.ndarray]] = []
        f = solver.f
        if self.by_jacobian:
            self.jacobians = solver.jacobians()
        else:

            def pullback(t: Any, y: Any, p: Any, lam: Any) -> Any:
                return vjp(lambda y, p: f(t, y, p), y, p)[1](lam)

            self.pullback = _Staged(pullback)
            self.jac_y = _Staged(jacfwd(lambda y, t, p: f(t, y, p)))
            self.jac_last: tuple | None = None

    def jac_at(self, t: float) -> tuple[np.ndarray, np.ndarray]:
        tol = 1e-13 * max(1.0, abs(t))
        for tt, jy, jp in reversed(self.cache):
            if abs(tt - t) <= tol:
                return jy, jp
        ode, nodes = self.ode, self.nodes
        if self.in_step and nodes is not None and ode is not None and t != ode.t:
            # the first evaluation of a step is its second stage, at t_k + c_1 h
            times = ode.t + nodes * ((t - ode.t) / nodes[0])
            times[0] = t
        else:
            times = np.full(1 if nodes is None else nodes.shape[0], t)
        jy, jp = self.jacobians.at(times, self.dense(times), self.p, stage=True)
        self.cache.extend(zip(times.tolist(), jy, jp))
        del self.cache[: -self.CACHE]
        return jy[0], jp[0]

    def __call__(self, t: float, a: np.ndarray) -> np.ndarray:
        n = self.n
        if self.by_jacobian:
            jy, jp = self.jac_at(t)
            lam = a[:n]
            return -np.concatenate([lam @ jy, lam @ jp])
        y = self.dense(np.array([t]))[0]
        vy, vp = self.pullback(t, y, self.p, a[:n])
        return -np.concatenate([np.asarray(vy), np.asarray(vp)])

    def jac(self, t: float, a: np.ndarray) -> np.ndarray:
        n = self.n
        out = np.zeros((n + self.n_p, n + self.n_p))
        if self.by_jacobian:
            jy, jp = self.jac_at(t)
            out[:n, :n] = -jy.T
            out[n:, :n] = -jp.T
        else:  # (the mu rows left out: Newton needs only an approximate Jacobian)
            if self.jac_last is None or self.jac_last[0] != t:
                y = self.dense(np.array([t]))[0]
                self.jac_last = (t, np.asarray(self.jac_y(y, t, self.p)))
            out[:n, :n] = -self.jac_last[1].T
        return out


def _sweep(
    cls: Any,
    rhs: _AdjointRhs,
    opts: dict,
    t: float,
    t0: float,
    te: np.ndarray,
    g: np.ndarray,
    n: int,
    n_p: int,
) -> tuple:
    """The backward solve as one integration by one solver object: it stops at each
    observation (its ``t_bound``), the adjoint state takes the jump there, and the
    solver goes on with its step size (and, for the implicit methods, its Jacobian
    and factorizations; the multistep methods restart their history at order 1,
    as at any discontinuity)."""
    m = te.shape[0]
    stops = [(float(te[i]), i) for i in range(m - 2, -1, -1)] + [(t0, -1)]
    a = np.zeros(n + n_p)
    if m:
        a[:n] += g[:, m - 1]
    ode: Any = None
    for target, i in stops:
        if target != t:
            if ode is None:
                ode = cls(rhs, t, a, target, **opts)
                rhs.ode = ode
            else:
                _jump(ode, rhs, a, t, target)
            while ode.status == "running":
                rhs.in_step = True
                try:
                    ode.step()
                finally:
                    rhs.in_step = False
            if ode.status == "failed":
                raise RuntimeError("the adjoint solve failed: its step size fell too small")
            a, t = np.array(ode.y, dtype=float), target
        if i >= 0:
            a[:n] += g[:, i]
    return a[:n], a[n:]


def _jump(ode: Any, rhs: _AdjointRhs, a: np.ndarray, t: float, target: float) -> None:
    """Go on from ``(t, a)`` (the state after a jump) to the new ``t_bound``."""
    ode.t_bound, ode.status, ode.t, ode.y = target, "running", t, a
    if isinstance(ode, _si.LSODA):
        # ODEPACK restarts its history (istate 1), with the last step as first step.
        solver = ode._lsoda_solver
        integrator = solver._integrator
        integrator.first_step = float(integrator.rwork[10])
        solver.set_initial_value(a, t)
        integrator.rwork[0] = target
        integrator.call_args[4] = integrator.rwork
        return
    f = ode.fun(t, a)
    if isinstance(ode, _si.BDF):
        ode.D[0] = a
        ode.D[1] = f * ode.h_abs * ode.direction
        ode.order, ode.n_equal_steps, ode.LU = 1, 0, None
        return
    ode.f = f
    if isinstance(ode, _si.Radau):
        ode.sol = None  # its Newton guess extrapolates the last step: not across a jump


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
    if _is_stiff(method) and options.get("jac") is None:
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
    method: for RK23/RK45 on the steps of the primal solve, for the others with
    their own error control) or the adjoint method (one backward solve by the same
    method and tolerances on the dense forward solution), chosen by
    ``sensitivity``: ``"auto"`` takes forward sensitivities while ``len(y0)`` +
    the number of parameters is at most 10.
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
    if "jac" in options and not _is_stiff(method):
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
