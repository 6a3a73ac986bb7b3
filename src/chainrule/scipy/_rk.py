"""Explicit Runge-Kutta solves (SciPy's ``RK23`` and ``RK45``) recorded step by
step, and their forward sensitivities from the record.

Driving SciPy's solver class ourselves keeps every accepted step: its start
``(t_k, y_k)``, its length ``h_k`` and its stages ``K_k`` (the slopes at the
stage points, the last one ``f(t_{k+1}, y_{k+1})``). From that record:

* the solution anywhere in the interval, by the solver's own interpolant
  (``y_k + h_k * sum_i w_i(x) K_ki``, ``x = (t - t_k) / h_k``), for ``t_eval`` and
  as the checkpoint of the adjoint sweep;
* the stage points, where the Jacobians of the right-hand side are taken all at
  once (one batched call instead of one call per stage: the per-call overhead
  of differentiating a small right-hand side is what dominates);
* forward sensitivities: the same Runge-Kutta formulas applied to the tangent
  system ``S' = f_y S + f_p`` on the same steps (the step sizes chosen by the
  error control of the state). This is the augmented system solved by the same
  method, and exactly the derivative of the computed solution with its steps
  held fixed. Each step maps ``S_k`` to ``S_{k+1} = M_k S_k + [0 | N_k]``;
  ``M_k`` and ``N_k`` come from the stage Jacobians for all steps at once, and
  only the product along the steps runs one step at a time.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import scipy.integrate as _si


def record_class(method: Any) -> Any:
    """SciPy's class for ``method`` when it is ``RK23`` or ``RK45`` (the explicit
    methods whose interpolant is a fixed combination of the step's stages), else
    None. DOP853's interpolant needs three more evaluations per step: not here."""
    cls = getattr(_si, method, None) if isinstance(method, str) else method
    return cls if cls in (_si.RK23, _si.RK45) else None


class RkRecord:
    """One solve of ``y' = fun(t, y)`` from ``t0`` to ``t1`` with ``cls``, every
    accepted step kept (see the module docstring)."""

    def __init__(
        self, cls: Any, fun: Callable, t0: float, t1: float, y0: np.ndarray, options: dict
    ) -> None:
        solver = cls(fun, t0, y0, t1, **options)
        ts, ys, ks = [float(t0)], [np.array(y0, dtype=float)], []
        while solver.status == "running":
            message = solver.step()
            if solver.status == "failed":
                raise RuntimeError(f"solve_ivp failed ({message}); no derivative of a failed solve")
            if solver.t != ts[-1]:  # (a zero-length interval takes no step)
                ts.append(float(solver.t))
                ys.append(solver.y)
                ks.append(solver.K.copy())
        self.cls = cls
        self.t = np.array(ts)
        self.y = np.array(ys)
        n = self.y.shape[1]
        self.k = np.array(ks) if ks else np.zeros((0, cls.n_stages + 1, n))
        self.h = np.diff(self.t)
        self.direction = 1.0 if t1 >= t0 else -1.0
        self.nfev, self.njev, self.nlu = solver.nfev, solver.njev, solver.nlu
        self.status = 0
        self.message = "The solver successfully reached the end of the integration interval."
        self.success = True
        self._q: np.ndarray | None = None

    @property
    def steps(self) -> int:
        return int(self.h.shape[0])

    def locate(self, te: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The step of each time (``(t_k, t_{k+1}]``, the start in the first step,
        as solve_ivp assigns ``t_eval``) and its place in it, ``x`` in [0, 1]."""
        if self.steps == 0:
            return np.zeros(te.shape, dtype=int), np.zeros(te.shape)
        if self.direction > 0:
            k = np.searchsorted(self.t, te, side="left") - 1
        else:
            k = np.searchsorted(-self.t, -te, side="left") - 1
        k = np.minimum(np.maximum(k, 0), self.steps - 1)  # (np.clip costs more here)
        return k, (te - self.t[k]) / self.h[k]

    def weights(self, x: np.ndarray) -> np.ndarray:
        """The interpolant's weights of the stages, one row per ``x``."""
        p = self.cls.P  # (stages + 1, order)
        powers = np.cumprod(np.repeat(x[:, None], p.shape[1], axis=1), axis=1)
        return powers @ p.T

    def dense(self, te: Any) -> np.ndarray:
        """The solution at the times ``te``, one row each (the adjoint sweep asks
        for a few times at once, often: the interpolants' coefficients are
        formed once)."""
        te = np.asarray(te, dtype=float)
        if self.steps == 0:
            return np.repeat(self.y[:1], te.shape[0], axis=0)
        if self._q is None:
            # y(t_k + x h_k) = y_k + sum_j q_kj x^(j+1), q_k = h_k K_k^T P
            self._q = self.h[:, None, None] * np.einsum("kin,ij->kjn", self.k, self.cls.P)
        k, x = self.locate(te)
        powers = np.cumprod(np.repeat(x[:, None], self._q.shape[1], axis=1), axis=1)
        return self.y[k] + np.einsum("mj,mjn->mn", powers, self._q[k])

    def stage_points(self) -> tuple[np.ndarray, np.ndarray]:
        """The times and states where each step evaluated the right-hand side
        (stages ``0 .. s-1`` of every step, then the end point): ``N s + 1`` of them."""
        cls = self.cls
        t, y, h, k = self.t, self.y, self.h, self.k
        if self.steps == 0:
            return t[:1].copy(), y[:1].copy()
        a = cls.A  # (s, s) or (s, s - 1): row i combines the stages before i
        z = y[:-1, None, :] + h[:, None, None] * np.einsum("ij,kjn->kin", a, k[:, : a.shape[1]])
        tau = t[:-1, None] + h[:, None] * cls.C[None, :]
        return (
            np.concatenate([tau.reshape(-1), t[-1:]]),
            np.concatenate([z.reshape(-1, y.shape[1]), y[-1:]]),
        )

    def sensitivities(self, jy: np.ndarray, jp: np.ndarray, te: np.ndarray) -> np.ndarray:
        """``dy(te)/d(y0, p)``, shape ``(n, len(te), n + n_p)``, from the Jacobians
        ``jy`` (``(N s + 1, n, n)``) and ``jp`` (``(N s + 1, n, n_p)``) at the stage
        points."""
        cls = self.cls
        s, a, b = cls.n_stages, cls.A, cls.B
        n = self.y.shape[1]
        n_p = jp.shape[2]
        m = te.shape[0]
        steps = self.steps
        s0 = np.concatenate([np.eye(n), np.zeros((n, n_p))], axis=1)
        if steps == 0:
            return np.repeat(s0[:, None, :], m, axis=1)
        h = self.h[:, None, None]
        eye = np.eye(n)
        jy_st = jy[:-1].reshape(steps, s, n, n)
        jp_st = jp[:-1].reshape(steps, s, n, n_p)
        # Stage i's tangent slope is P_i S_k + [0 | Q_i]: all steps at once.
        pm = np.zeros((steps, s, n, n))
        qm = np.zeros((steps, s, n, n_p))
        for i in range(s):
            acc_p = eye + h * np.einsum("j,kjab->kab", a[i, :i], pm[:, :i])
            acc_q = h * np.einsum("j,kjab->kab", a[i, :i], qm[:, :i])
            pm[:, i] = jy_st[:, i] @ acc_p
            qm[:, i] = jy_st[:, i] @ acc_q + jp_st[:, i]
        mk = eye + h * np.einsum("i,kiab->kab", b, pm)
        nk = h * np.einsum("i,kiab->kab", b, qm)
        sk = np.empty((steps + 1, n, n + n_p))
        sk[0] = s0
        for k in range(steps):
            nxt = mk[k] @ sk[k]
            nxt[:, n:] += nk[k]
            sk[k + 1] = nxt
        # The interpolant at each time: its stages' tangents, the last one
        # (f at the step's end) from the Jacobian there.
        kk, x = self.locate(te)
        w = self.weights(x)  # (m, s + 1)
        start = sk[kk]  # (m, n, n + n_p)
        slopes = np.einsum("mi,miab->mab", w[:, :s], pm[kk]) @ start
        slopes[:, :, n:] += np.einsum("mi,miab->mab", w[:, :s], qm[kk])
        end = (kk + 1) * s
        last = jy[end] @ sk[kk + 1]
        last[:, :, n:] += jp[end]
        slopes += w[:, s, None, None] * last
        out = start + self.h[kk][:, None, None] * slopes
        return np.transpose(out, (1, 0, 2))
