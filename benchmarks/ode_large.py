"""Issue #19's large ODE timing: the adjoint gradient in 1,000 parameters against
one plain ``scipy.integrate.solve_ivp`` of the same problem.

dy/dt = A y + tanh(W y + p), n = 1,000 states, A = -I + 0.1 G / sqrt(n),
W = G' / sqrt(n) (seeded normal matrices), p in R^1000, t in [0, 1], RK45,
rtol 1e-6 (SciPy's default atol). The loss is ``sum(y(1)**2)``.

* ``cr.grad`` with ``sensitivity="adjoint"`` (target: <= 10x the plain solve);
* forward sensitivities, projected: the augmented system has n (1 + n + n_p)
  = 2,001,000 states, one evaluation of its right-hand side is timed and
  multiplied by the evaluations of the plain solve (a lower bound: the
  augmented solve's error control takes at least as many steps);
* autograd's ``odeint`` gradient (LSODA, its own tolerances set to the same
  rtol), where autograd is installed.

Timings are medians over ``--repeat`` alternated runs.

    python benchmarks/ode_large.py [--repeat N] [--n N]
"""

from __future__ import annotations

import argparse
import statistics

import numpy as np
import scipy.integrate as si
from timing import seconds  # benchmarks/, the script's own folder

import chainrule as cr
import chainrule.scipy.integrate as csi
from chainrule.scipy import _ode

TOL = {"rtol": 1e-6}


def problem(n: int, seed: int = 0) -> tuple:
    rng = np.random.default_rng(seed)
    a = -np.eye(n) + 0.1 * rng.standard_normal((n, n)) / np.sqrt(n)
    w = rng.standard_normal((n, n)) / np.sqrt(n)
    p = 0.1 * rng.standard_normal(n)
    y0 = rng.standard_normal(n)
    return a, w, p, y0


def make_rhs(a: np.ndarray, w: np.ndarray):
    def rhs(t, y, p):
        return a @ y + np.tanh(w @ y + p)

    return rhs


def adjoint_loss(rhs, y0: np.ndarray, how: str = "adjoint"):
    def loss(p):
        r = csi.solve_ivp(
            rhs, (0.0, 1.0), y0, t_eval=np.array([1.0]), args=(p,), sensitivity=how, **TOL
        )
        return np.sum(r.y**2)

    return loss


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--n", type=int, default=1000)
    args = parser.parse_args()
    n = args.n
    a, w, p, y0 = problem(n)
    rhs = make_rhs(a, w)
    grad = cr.grad(adjoint_loss(rhs, y0))
    plain = lambda: si.solve_ivp(rhs, (0.0, 1.0), y0, args=(p,), **TOL)  # noqa: E731
    nfev = plain().nfev
    g = grad(p)  # warm: the staged vector-Jacobian product
    base, adj = [], []
    for _ in range(args.repeat):
        base.append(seconds(plain))
        adj.append(seconds(lambda: grad(p)))
    b, t = statistics.median(base), statistics.median(adj)
    print(f"n = {n}: scipy.integrate.solve_ivp (plain): {b * 1e3:9.1f} ms  ({nfev} evaluations)")
    print(f"cr.grad, sensitivity='adjoint':   {t * 1e3:9.1f} ms  {t / b:6.1f}x (target <= 10x)")
    runs = [round(x * 1e3) for x in base], [round(x * 1e3) for x in adj]
    print(f"  runs (plain, adjoint) ms: {runs[0]} {runs[1]}")

    # Forward sensitivities: one right-hand side of the augmented system, timed.
    solver = _ode._Solver(rhs, n, "RK45", dict(TOL), "forward")
    aug = solver._sensitivity_solver(n)
    z = np.concatenate([y0, np.concatenate([np.eye(n), np.zeros((n, n))], 1).reshape(-1)])
    aug.f(0.0, z, p)  # staging
    one = statistics.median(seconds(lambda: aug.f(0.0, z, p)) for _ in range(args.repeat))
    print(
        f"forward sensitivities: one augmented right-hand side {one * 1e3:.0f} ms; "
        f"x {nfev} evaluations >= {one * nfev:.1f} s projected ({one * nfev / b:.0f}x)"
    )

    try:
        import autograd
        import autograd.numpy as anp
        from autograd.builtins import tuple as ag_tuple
        from autograd.scipy.integrate import odeint as ag_odeint
    except ImportError:
        print("autograd: not installed")
    else:

        def ag_loss(p):
            ys = ag_odeint(
                lambda y, t, p: anp.dot(a, y) + anp.tanh(anp.dot(w, y) + p),
                y0,
                np.array([0.0, 1.0]),
                ag_tuple((p,)),
                rtol=TOL["rtol"],
            )
            return anp.sum(ys[-1] ** 2)

        ag_grad = autograd.grad(ag_loss)
        ga = ag_grad(p)
        tag = statistics.median(seconds(lambda: ag_grad(p)) for _ in range(args.repeat))
        diff = np.max(np.abs(ga - g)) / np.max(np.abs(g))
        print(
            f"autograd odeint (LSODA) gradient:          {tag * 1e3:9.1f} ms  {tag / b:6.1f}x "
            f"(max relative difference from chainrule's: {diff:.1e})"
        )


if __name__ == "__main__":
    main()
