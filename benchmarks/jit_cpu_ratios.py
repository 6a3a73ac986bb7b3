"""cr.jit against hand-written NumPy, timed in this thread's CPU time.

On a shared, loaded machine wall-clock ratios move by 10-30% between runs
(a sample is slow when the process waits for a core). CPU time of the timing
thread does not count the waiting, so its ratios are much steadier. For each
row: hand-written NumPy and the jitted derivative alternate, ``--rounds``
samples each (a sample is as many calls as fill 10 ms of CPU time); printed
are the median times and the median of the paired ratios.

Run: ``python benchmarks/jit_cpu_ratios.py [--rounds N] [--quick]``. The
workloads and their hand-written derivatives are benchmarks/run.py's. BLAS
runs on one thread. Nothing is asserted.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections.abc import Callable
from typing import Any

import numpy as np

sys.path.insert(0, os.path.dirname(__file__))
import impl_numpy as hand  # noqa: E402
import workloads as wl  # noqa: E402
from timing import one_blas_thread  # noqa: E402

import chainrule as cr  # noqa: E402
import chainrule.numpy as cnp  # noqa: E402

clock = time.thread_time


def pair(
    hand_call: Callable[[], Any], jit_call: Callable[[], Any], rounds: int
) -> dict[str, float]:
    """Median seconds per call of each, and the median of the paired ratios."""
    np.testing.assert_allclose(
        np.concatenate([np.ravel(a) for a in cr.tree.flatten(jit_call())[0]]),
        np.concatenate([np.ravel(a) for a in cr.tree.flatten(hand_call())[0]]),
        rtol=1e-6,
        atol=1e-9,
    )
    for _ in range(3):
        jit_call()  # staged, checked, compiled
    n = 1
    while True:
        t0 = clock()
        for _ in range(n):
            hand_call()
        if clock() - t0 > 0.01:
            break
        n *= 2
    ratios, th, tj = [], [], []
    for _ in range(rounds):
        t0 = clock()
        for _ in range(n):
            hand_call()
        a = clock() - t0
        t0 = clock()
        for _ in range(n):
            jit_call()
        b = clock() - t0
        ratios.append(b / a)
        th.append(a / n)
        tj.append(b / n)
    return {
        "hand": statistics.median(th),
        "jit": statistics.median(tj),
        "ratio": statistics.median(ratios),
    }


def rows(quick: bool) -> dict[str, tuple[Callable[[], Any], Callable[[], Any]]]:
    """Row name -> (hand-written call, jitted call)."""
    out = {}
    d = wl.make_deep_chain(quick)
    Ws, x = d["Ws"], d["x"]
    jd = cr.jit(cr.grad(lambda x: wl.deep_chain(x, Ws, np)))
    out["deep chain, grad"] = (lambda: hand.deep_chain_grad(x, Ws), lambda: jd(x))
    d = wl.make_least_squares(quick)
    t, X, Y = d["theta"], d["X"], d["Y"]
    jl = cr.jit(cr.grad(lambda t, X, Y: wl.least_squares(t, X, Y, np)))
    out["least squares, grad"] = (lambda: hand.least_squares_grad(t, X, Y), lambda: jl(t, X, Y))
    d = wl.make_mlp(quick)
    P, X3, Y3 = d["params"], d["X"], d["Y"]
    lse = lambda z: cnp.logsumexp(z, axis=1, keepdims=True)  # noqa: E731
    jm = cr.jit(cr.grad(lambda p, X, Y: wl.mlp_loss(p, X, Y, np, lse)))
    out["MLP, grad"] = (lambda: hand.mlp_grad(P, X3, Y3), lambda: jm(P, X3, Y3))
    d = wl.make_hvp(quick)
    A, x4, v4 = d["A"], d["x"], d["v"]
    f4 = lambda y: wl.tanh_square(y, A, np)  # noqa: E731
    jh = cr.jit(lambda x, v: cr.hvp(f4, (x,), (v,))[1])
    out["HVP"] = (lambda: hand.tanh_square_hvp(x4, A, v4), lambda: jh(x4, v4))
    d = wl.make_jacobian(quick)
    B, x5 = d["B"], d["x"]
    jf = cr.jit(cr.jacfwd(lambda x: wl.tanh_map(x, B, np)))
    out["Jacobian, jacfwd"] = (lambda: hand.tanh_map_jacobian(x5, B), lambda: jf(x5))
    return out


def main(argv: list[str] | None = None) -> dict[str, dict[str, float]]:
    """Print the table; return its rows (for tests)."""
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--rounds", type=int, default=41, help="samples per row (default 41)")
    p.add_argument("--quick", action="store_true", help="tiny sizes, 3 rounds")
    args = p.parse_args(argv)
    rounds = 3 if args.quick else args.rounds
    results = {}
    print("| workload | NumPy (hand) | chainrule jit | median ratio |\n|---|---:|---:|---:|")
    with one_blas_thread():
        for name, (h, j) in rows(args.quick).items():
            r = results[name] = pair(h, j, rounds)
            print(
                f"| {name} | {r['hand'] * 1e3:.3f} ms | {r['jit'] * 1e3:.3f} ms | "
                f"{r['ratio']:.3f}x |",
                flush=True,
            )
    return results


if __name__ == "__main__":
    main()
