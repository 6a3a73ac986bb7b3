"""Bigger than memory: a gradient with respect to a Dask *input* on a LocalCluster.

Weighted least squares ``L(theta, w) = sum_i w_i (x_i . theta - y_i)**2 / N``
with ``X`` of ``--rows`` x 100 float64 (the default, 4e7 rows, is 32 GB: more
than this machine's memory) generated chunk by chunk from a seeded
``dask.array.random`` generator, and the weights ``w`` a Dask array passed as
an argument. ``cr.grad(L, argnums=(0, 1))`` gives theta's gradient (100 numbers)
and w's (a lazy Dask array of N numbers); both are computed on a LocalCluster
of 2 worker processes and compared with the hand-written Dask expressions

    r = X @ theta - y;  dL/dtheta = 2 X^T (w r) / N;  dL/dw = r**2 / N

(to 1e-10 relative), with the wall time of each and the peak memory of the
whole process tree (this process and the workers: resident set sizes summed,
sampled every 50 ms by psutil). The runs alternate (hand-written, chainrule,
...); medians are reported.

    python benchmarks/dask_scale.py --rows 1000000      # a quick try (seconds)
    python benchmarks/dask_scale.py                     # the full 32 GB (minutes)
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import threading
import time
from typing import Any

import numpy as np

# Run as a script, this folder comes first on sys.path, and a module of it named
# like an installed package (dask.array imports `sparse`) would shadow it.
_HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:] = [p for p in sys.path if os.path.abspath(p or os.curdir) != _HERE]

COLS = 100


def process_tree_rss() -> int:
    """Resident memory of this process and all its descendants, in bytes."""
    import psutil

    me = psutil.Process()
    total = 0
    for p in [me, *me.children(recursive=True)]:
        try:
            total += p.memory_info().rss
        except psutil.Error:  # a process that ended between the listing and the read
            pass
    return total


class PeakSampler:
    """Samples ``process_tree_rss`` in a thread while the block runs."""

    def __init__(self, interval: float = 0.05) -> None:
        self.interval = interval
        self.peak = 0
        self._stop = threading.Event()

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, process_tree_rss())
            self._stop.wait(self.interval)

    def __enter__(self) -> PeakSampler:
        self.peak = process_tree_rss()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, process_tree_rss())


def problem(rows: int, chunk_rows: int, seed: int = 0) -> tuple[Any, Any, Any, np.ndarray]:
    """(X, y, w, theta): X, y and w lazy Dask arrays from seeded generators."""
    import dask.array as da

    X = da.random.default_rng(seed).standard_normal((rows, COLS), chunks=(chunk_rows, COLS))
    y = da.random.default_rng(seed + 1).standard_normal(rows, chunks=chunk_rows)
    w = da.random.default_rng(seed + 2).uniform(0.5, 1.5, rows, chunks=chunk_rows)
    theta = np.linspace(-0.05, 0.05, COLS)
    return X, y, w, theta


def loss(theta: Any, w: Any, X: Any, y: Any) -> Any:
    """The user's function: plain NumPy calls, Dask arrays as arguments."""
    r = X @ theta - y
    return np.sum(w * r**2) / r.shape[0]


def by_hand(theta: np.ndarray, w: Any, X: Any, y: Any) -> tuple[Any, Any]:
    r = X @ theta - y
    n = X.shape[0]
    return 2.0 * (X.T @ (w * r)) / n, r**2 / n


def by_chainrule(theta: np.ndarray, w: Any, X: Any, y: Any) -> tuple[Any, Any]:
    import chainrule as cr

    return cr.grad(lambda t, w: loss(t, w, X, y), argnums=(0, 1))(theta, w)


def relative_error(got: np.ndarray, want: np.ndarray) -> float:
    return float(np.max(np.abs(got - want)) / np.max(np.abs(want)))


def run(rows: int, chunk_rows: int, repeats: int, workers: int) -> dict[str, Any]:
    import dask
    import dask.array as da
    from dask.distributed import Client, LocalCluster

    X, y, w, theta = problem(rows, chunk_rows)
    results: dict[str, Any] = {"rows": rows, "chunk_rows": chunk_rows, "workers": workers}
    times: dict[str, list[float]] = {"hand": [], "chainrule": []}
    peaks: dict[str, list[int]] = {"hand": [], "chainrule": []}
    values: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    build_s: list[float] = []
    with (
        LocalCluster(
            n_workers=workers, threads_per_worker=1, processes=True, memory_limit="1.5GiB"
        ) as cluster,
        Client(cluster) as client,
    ):
        results["dashboard"] = client.dashboard_link
        for _ in range(repeats):
            for name, fn in (("hand", by_hand), ("chainrule", by_chainrule)):
                values.pop(name, None)  # the previous round's result is not held twice
                with PeakSampler() as peak:
                    t0 = time.perf_counter()
                    g_theta, g_w = fn(theta, w, X, y)
                    built = time.perf_counter() - t0
                    assert isinstance(g_w, da.Array), type(g_w)  # lazy until here
                    out = dask.compute(g_theta, g_w)
                    elapsed = time.perf_counter() - t0
                if name == "chainrule":
                    build_s.append(built)
                times[name].append(elapsed)
                peaks[name].append(peak.peak)
                values[name] = (np.asarray(out[0]), np.asarray(out[1]))
                print(
                    f"  {name:9s} {elapsed:8.2f} s   peak {peak.peak / 2**30:5.2f} GiB",
                    flush=True,
                )
    (ht, hw), (ct, cw) = values["hand"], values["chainrule"]
    results["rel_err_theta"] = relative_error(ct, ht)
    results["rel_err_w"] = relative_error(cw, hw)
    results["time_hand_s"] = statistics.median(times["hand"])
    results["time_chainrule_s"] = statistics.median(times["chainrule"])
    results["ratio"] = results["time_chainrule_s"] / results["time_hand_s"]
    results["peak_hand_gib"] = max(peaks["hand"]) / 2**30
    results["peak_chainrule_gib"] = max(peaks["chainrule"]) / 2**30
    results["trace_s"] = statistics.median(build_s)
    results["times"] = times
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=40_000_000, help="rows of X (default 4e7)")
    parser.add_argument("--chunk-rows", type=int, default=100_000, help="rows per chunk")
    parser.add_argument("--repeats", type=int, default=None, help="alternated runs of each")
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args(argv)
    repeats = args.repeats or (1 if args.rows >= 10_000_000 else 3)
    chunk_rows = min(args.chunk_rows, args.rows)
    gb = args.rows * COLS * 8 / 1e9
    print(
        f"weighted least squares, X {args.rows:,} x {COLS} float64 ({gb:.1f} GB), "
        f"chunks of {chunk_rows:,} rows, LocalCluster of {args.workers} workers",
        flush=True,
    )
    r = run(args.rows, chunk_rows, repeats, args.workers)
    print(f"relative error: theta {r['rel_err_theta']:.1e}, w {r['rel_err_w']:.1e}")
    print(
        f"time (median of {repeats}): hand-written {r['time_hand_s']:.2f} s, chainrule "
        f"{r['time_chainrule_s']:.2f} s (ratio {r['ratio']:.2f}; tracing "
        f"{r['trace_s'] * 1e3:.0f} ms)"
    )
    print(
        f"peak memory of the process tree: hand-written {r['peak_hand_gib']:.2f} GiB, "
        f"chainrule {r['peak_chainrule_gib']:.2f} GiB"
    )
    ok = (
        r["rel_err_theta"] <= 1e-10
        and r["rel_err_w"] <= 1e-10
        and r["peak_chainrule_gib"] < 4.0
        and r["ratio"] <= 1.5
    )
    print("targets (1e-10, < 4 GiB, <= 1.5x):", "met" if ok else "NOT met")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
