"""On a GPU with CuPy: the gradients of the MLP and least-squares workloads
(benchmarks/workloads.py) computed by chainrule on CuPy arrays, checked against
the same gradients on NumPy, and timed.

The user's function is the same NumPy code (``xp=numpy``): ``np.tanh`` of a
CuPy array reaches CuPy through NumPy's protocols, and the derivative rules
make CuPy arrays. Times are medians of ``--repeats`` runs after a warm-up,
each ended by a device synchronisation; the least-squares gradient is also
timed as the hand-written CuPy expression ``2 X^T (X theta - Y) / n``.

    python benchmarks/gpu_check.py            # the full sizes of workloads.py
    python benchmarks/gpu_check.py --quick    # the tiny sizes

Without CuPy or a CUDA device it says so and exits with status 0, having
checked nothing.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import statistics
import sys
import time
from collections.abc import Callable
from typing import Any

import numpy as np

_HERE = os.path.dirname(os.path.abspath(__file__))
# Run as a script, this folder comes first on sys.path, where a module named like
# an installed package would shadow it.
sys.path[:] = [p for p in sys.path if os.path.abspath(p or os.curdir) != _HERE]


def _workloads() -> Any:
    spec = importlib.util.spec_from_file_location("workloads", os.path.join(_HERE, "workloads.py"))
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["workloads"] = module
    spec.loader.exec_module(module)
    return module


def _cupy() -> Any:
    try:
        import cupy as cp
    except ImportError:
        return None
    try:
        if cp.cuda.runtime.getDeviceCount() < 1:
            return None
    except Exception:  # CuPy installed, no driver or no device
        return None
    return cp


def median_time(fn: Callable[[], Any], repeats: int, sync: Callable[[], None]) -> float:
    fn()  # warm-up: kernels compiled, memory pool filled
    sync()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        sync()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def relative_error(got: Any, want: Any) -> float:
    return float(np.max(np.abs(got - want)) / max(np.max(np.abs(want)), 1e-300))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="the tiny sizes of workloads.py")
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--rtol", type=float, default=1e-10)
    args = parser.parse_args(argv)
    cp = _cupy()
    if cp is None:
        print("gpu_check: no CuPy or no CUDA device here; nothing was checked.")
        return 0
    import chainrule as cr

    wl = _workloads()
    sync = cp.cuda.Device().synchronize
    to_dev = lambda tree: cr.tree.map(cp.asarray, tree)
    failures = 0
    rows = []

    lsq = wl.make_least_squares(args.quick)
    loss = lambda theta, X, Y: wl.least_squares(theta, X, Y, np)
    dev = to_dev(lsq)
    g_cpu = cr.grad(loss)(lsq["theta"], lsq["X"], lsq["Y"])
    g_gpu = cr.grad(loss)(dev["theta"], dev["X"], dev["Y"])
    err = relative_error(cp.asnumpy(g_gpu), g_cpu)
    ok = isinstance(g_gpu, cp.ndarray) and err <= args.rtol
    failures += not ok
    n = lsq["X"].shape[0]
    by_hand = lambda: 2.0 * dev["X"].T @ (dev["X"] @ dev["theta"] - dev["Y"]) / n
    rows.append(
        (
            "least squares {}x{}".format(*lsq["X"].shape),
            err,
            ok,
            median_time(
                lambda: cr.grad(loss)(lsq["theta"], lsq["X"], lsq["Y"]), args.repeats, sync
            ),
            median_time(
                lambda: cr.grad(loss)(dev["theta"], dev["X"], dev["Y"]), args.repeats, sync
            ),
            median_time(by_hand, args.repeats, sync),
        )
    )

    mlp = wl.make_mlp(args.quick)
    mloss = lambda params, X, Y: wl.mlp_loss(params, X, Y, np)
    dev = to_dev(mlp)
    g_cpu = cr.grad(mloss)(mlp["params"], mlp["X"], mlp["Y"])
    g_gpu = cr.grad(mloss)(dev["params"], dev["X"], dev["Y"])
    err = max(relative_error(cp.asnumpy(g_gpu[k]), g_cpu[k]) for k in g_cpu)
    ok = all(isinstance(v, cp.ndarray) for v in g_gpu.values()) and err <= args.rtol
    failures += not ok
    rows.append(
        (
            "MLP {}-{}-{}, batch {}".format(*wl.sizes(args.quick)["mlp"]),
            err,
            ok,
            median_time(
                lambda: cr.grad(mloss)(mlp["params"], mlp["X"], mlp["Y"]), args.repeats, sync
            ),
            median_time(
                lambda: cr.grad(mloss)(dev["params"], dev["X"], dev["Y"]), args.repeats, sync
            ),
            None,
        )
    )

    name = cp.cuda.runtime.getDeviceProperties(0)["name"]
    name = name.decode() if isinstance(name, bytes) else name
    print(f"device: {name}; CuPy {cp.__version__}; medians of {args.repeats} runs")
    print(f"{'workload':28s} {'rel. error':>10s}  {'NumPy':>9s} {'CuPy':>9s} {'CuPy by hand':>13s}")
    for label, err, ok, t_np, t_cp, t_hand in rows:
        hand = f"{t_hand * 1e3:10.3f} ms" if t_hand is not None else f"{'-':>13s}"
        print(
            f"{label:28s} {err:10.1e}  {t_np * 1e3:6.2f} ms {t_cp * 1e3:6.2f} ms {hand}"
            + ("" if ok else "   MISMATCH")
        )
    return 1 if failures else 0


if __name__ == "__main__":
    raise SystemExit(main())
