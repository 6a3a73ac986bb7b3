"""cr.jit's first call (issue #16): staging and compiling, by program length.

For programs of about 10^2, 10^3 and 10^4 staged equations (the gradient of a
scalar loop ``x = sin(x) * 1.0001 + 0.1``, six equations an iteration, and of
a vector chain ``x = tanh(W @ x)``), measures

- one eager call of the same function;
- the first call under ``cr.jit``: the trace that stages the program (what
  the first call costs: compiling is deferred);
- ``compile()`` of the program's generated replay (done at the first replay,
  or, from ``jit.COMPILE_LATER_ABOVE`` equations on, after
  ``jit.COMPILE_AFTER_REPLAYS`` interpreted replays);
- one replay, interpreted and compiled;

and checks them against the issue's budget: the first call (and trace plus
compile) at most 5x one eager call plus 20 us per staged equation, and under
100 ms up to 10^4 equations.

Run: ``python benchmarks/jit_first_call.py [--repeats N] [--quick]``. Times are
the minimum over the repeats of the thread's CPU time (``--wall`` for wall
time), steadier than wall time on a shared machine. Prints a table; the exit
status is 0 whatever the times (a timing on a busy machine is no test).
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from typing import Any

import numpy as np

import chainrule as cr
from chainrule.transforms import jit as jit_module


def scalar_loop(iterations: int) -> tuple[Callable[..., Any], tuple[Any, ...]]:
    """The gradient of a scalar loop: about 6 staged equations an iteration."""

    def f(x: Any) -> Any:
        for _ in range(iterations):
            x = np.sin(x) * 1.0001 + 0.1
        return x

    return cr.grad(f), (np.float64(0.3),)


def vector_chain(layers: int) -> tuple[Callable[..., Any], tuple[Any, ...]]:
    """The gradient of ``sum(tanh(W_k @ ... tanh(W_1 @ x)))``, 8-dimensional."""
    rng = np.random.default_rng(0)
    Ws = [rng.standard_normal((8, 8)) / 3 for _ in range(layers)]

    def f(x: Any) -> Any:
        for W in Ws:
            x = np.tanh(W @ x)
        return np.sum(x)

    return cr.grad(f), (rng.standard_normal(8),)


def measure(
    make: Callable[[int], tuple[Callable[..., Any], tuple[Any, ...]]],
    size: int,
    repeats: int,
    clock: Callable[[], float],
) -> dict[str, float]:
    """Minimum times (seconds) of the eager call, the first jitted call, the
    compile, and an interpreted and a compiled replay; and the equation count."""
    fun, args = make(size)
    best: dict[str, float] = {}

    def keep(name: str, seconds: float) -> None:
        best[name] = min(best.get(name, float("inf")), seconds)

    for _ in range(repeats):
        t0 = clock()
        fun(*args)
        keep("eager", clock() - t0)
        jf = cr.jit(fun)
        t0 = clock()
        jf(*args)
        keep("first call", clock() - t0)
        compiled = next(c for paths in jf._cache.values() for c in paths)
        program = compiled.program
        t0 = clock()
        run, _ = jit_module._compile(program)
        keep("compile", clock() - t0)
        interpret = jit_module._interpreter(program)
        t0 = clock()
        interpret(*args)
        keep("interpreted replay", clock() - t0)
        t0 = clock()
        run(*args)
        keep("compiled replay", clock() - t0)
    best["equations"] = len(program.equations)
    return best


def main(argv: list[str] | None = None) -> list[dict[str, Any]]:
    """Print the table; return its rows (for tests)."""
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--repeats", type=int, default=5, help="repeats per size (default 5)")
    p.add_argument("--quick", action="store_true", help="small programs only, 2 repeats")
    p.add_argument("--wall", action="store_true", help="wall-clock time, not CPU time")
    args = p.parse_args(argv)
    clock = time.perf_counter if args.wall else time.thread_time
    repeats = 2 if args.quick else args.repeats
    cases = [("scalar loop", scalar_loop, [17, 167] if args.quick else [17, 167, 1667])]
    cases.append(("vector chain", vector_chain, [12, 125] if args.quick else [12, 125, 1250]))
    rows = []
    print(
        "| program | equations | eager | first call | compile | replay interpreted | "
        "replay compiled | budget | first call in budget | trace+compile in budget |\n"
        "|---|---:|---:|---:|---:|---:|---:|---:|---|---|"
    )
    for label, make, sizes in cases:
        for size in sizes:
            m = measure(make, size, repeats, clock)
            n = int(m["equations"])
            budget = 5 * m["eager"] + 20e-6 * n
            if n <= 10_000:
                budget = min(budget, 0.1)
            row = {"program": label, "size": size, **m, "budget": budget}
            rows.append(row)
            ms = {k: f"{v * 1e3:.2f} ms" for k, v in m.items() if k != "equations"}
            print(
                f"| {label} ×{size} | {n} | {ms['eager']} | {ms['first call']} | "
                f"{ms['compile']} | {ms['interpreted replay']} | {ms['compiled replay']} | "
                f"{budget * 1e3:.1f} ms | {'yes' if m['first call'] <= budget else 'NO'} | "
                f"{'yes' if m['first call'] + m['compile'] <= budget else 'NO'} |",
                flush=True,
            )
    print(f"\n{'CPU' if not args.wall else 'wall'} time, minimum of {repeats} repeats.")
    return rows


if __name__ == "__main__":
    main()
