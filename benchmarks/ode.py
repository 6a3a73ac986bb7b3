"""Issue #19's ODE timings: the gradient of a Lotka-Volterra fit's squared error
against one plain ``scipy.integrate.solve_ivp`` of the same problem.

Lotka-Volterra (alpha, beta, gamma, delta = 1.5, 1, 3, 1; y0 = (1, 1); t in
[0, 10]; 100 equispaced observations; RK45, rtol 1e-6, atol 1e-9).
``cr.value_and_grad`` in the 4 parameters with ``sensitivity="auto"`` (forward
sensitivities here) and ``"adjoint"``; targets 4x and 10x the plain solve.

Timings are medians of ``--repeat`` alternated runs.

    python benchmarks/ode.py [--repeat N]
"""

from __future__ import annotations

import argparse
import statistics

import numpy as np
import scipy.integrate as si
from timing import seconds  # benchmarks/, the script's own folder

import chainrule as cr
import chainrule.scipy.integrate as csi

T_EVAL = np.linspace(0.0, 10.0, 100)
Y0 = np.array([1.0, 1.0])
P = np.array([1.5, 1.0, 3.0, 1.0])
TOL = {"rtol": 1e-6, "atol": 1e-9}


def lotka_volterra(t, y, p):
    a, b, c, d = p[0], p[1], p[2], p[3]
    return np.stack([a * y[0] - b * y[0] * y[1], -c * y[1] + d * y[0] * y[1]])


DATA = si.solve_ivp(lotka_volterra, (0.0, 10.0), Y0, t_eval=T_EVAL, args=(P,), **TOL).y + 0.05


def loss(p, how):
    r = csi.solve_ivp(
        lotka_volterra, (0.0, 10.0), Y0, t_eval=T_EVAL, args=(p,), sensitivity=how, **TOL
    )
    return np.sum((r.y - DATA) ** 2)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=7)
    repeat = parser.parse_args().repeat
    p1 = P * 1.05
    runs = {
        "plain": lambda: si.solve_ivp(
            lotka_volterra, (0.0, 10.0), Y0, t_eval=T_EVAL, args=(p1,), **TOL
        )
    }
    grads = {}
    for how in ("auto", "forward", "adjoint"):
        vg = cr.value_and_grad(loss)
        grads[how] = vg(p1, how)[1]  # warm: the staged Jacobians
        runs[how] = lambda how=how, vg=vg: vg(p1, how)
    times: dict[str, list[float]] = {k: [] for k in runs}
    for _ in range(repeat):  # alternated, so that load drifts hit every variant alike
        for k, fn in runs.items():
            times[k].append(seconds(fn))
    base = statistics.median(times["plain"])
    print(f"medians of {repeat} alternated runs")
    print(f"scipy.integrate.solve_ivp (plain):       {base * 1e3:8.2f} ms")
    for how, target in (("auto", 4.0), ("forward", None), ("adjoint", 10.0)):
        t = statistics.median(times[how])
        goal = f"(target <= {target:g}x)" if target else ""
        print(f"value_and_grad, sensitivity={how!r:10} {t * 1e3:8.2f} ms  {t / base:6.1f}x {goal}")
    ratios = {
        how: sorted(round(t / b, 1) for t, b in zip(times[how], times["plain"]))
        for how in ("auto", "adjoint")
    }
    print(f"per-run ratios (sorted): {ratios}")
    diff = np.max(np.abs(grads["forward"] - grads["adjoint"])) / np.max(np.abs(grads["forward"]))
    print(f"forward vs adjoint gradient, max relative difference: {diff:.1e}")


if __name__ == "__main__":
    main()
