"""The floor of a Python tracer on the deep-chain workload.

A deliberately minimal reverse-mode engine: a tracer with a value and a tape
index, one ``__array_ufunc__`` that records ``W @ x`` and ``tanh`` with one
closure each, and a backward loop with no checks. It knows only this one
function and handles nothing else (no nesting, no leaked tracers, no complex
values, no batches, no fan-out). Its time against the hand-written gradient
is the lowest ratio any engine that traces NumPy calls from Python can reach
there; docs/design.md ("Where the time goes") compares chainrule with it.

    python benchmarks/floor.py            # prints ratios to the hand-written gradient
"""

from __future__ import annotations

import statistics
import sys
from typing import Any

import numpy as np
import workloads as wl
from impl_numpy import deep_chain_grad
from timing import seconds

import chainrule as cr

WIDTH, LAYERS, ROUNDS = 100, 50, 25


class _Minimal:
    __slots__ = ("value", "index", "tape")

    def __init__(self, value: Any, index: int, tape: list) -> None:
        self.value, self.index, self.tape = value, index, tape

    def __array_ufunc__(self, ufunc: Any, method: str, *inputs: Any, **kwargs: Any) -> Any:
        tape = self.tape
        if len(inputs) == 1:  # tanh
            ans = ufunc(self.value)
            tape.append((self.index, lambda g: g * (1.0 - ans * ans)))
        else:  # W @ x
            w = inputs[0]
            ans = ufunc(w, self.value)
            tape.append((self.index, lambda g: g @ w))
        return _Minimal(ans, len(tape) - 1, tape)


def chain(x: Any, Ws: list) -> Any:
    return wl.deep_chain_layers(x, Ws, np)


def minimal_grad(x: np.ndarray, Ws: list) -> np.ndarray:
    """Gradient of sum(chain(x)) by the minimal engine."""
    tape: list = [None]
    out = chain(_Minimal(x, 0, tape), Ws)
    cts: list = [None] * len(tape)
    cts[out.index] = np.ones_like(out.value)
    for i in range(len(tape) - 1, 0, -1):
        parent, vjp = tape[i]
        cts[parent] = vjp(cts[i])
        cts[i] = None
    return cts[0]


hand_grad = deep_chain_grad


def main(rounds: int = ROUNDS, layers: int = LAYERS) -> dict[str, float]:
    """Median paired ratios of the minimal engine and of chainrule to the hand-written gradient."""
    try:
        from threadpoolctl import threadpool_limits

        limit = threadpool_limits(1)
    except ImportError:  # pragma: no cover - the bench extra has it
        limit = None
    rng = np.random.default_rng(0)
    Ws = [rng.standard_normal((WIDTH, WIDTH)) / np.sqrt(WIDTH) for _ in range(layers)]
    x = rng.standard_normal(WIDTH)
    grad = cr.grad(lambda x: np.sum(chain(x, Ws)))
    expected = hand_grad(x, Ws)
    calls = {"minimal": lambda: minimal_grad(x, Ws), "chainrule": lambda: grad(x)}
    for name, fn in calls.items():
        if not np.allclose(fn(), expected, rtol=1e-10, atol=1e-12):
            raise AssertionError(f"{name} gives a wrong gradient")
    per_call = max(1, int(0.01 / seconds(lambda: hand_grad(x, Ws), 3)))
    ratios: dict[str, list[float]] = {name: [] for name in calls}
    for _ in range(rounds):
        hand = seconds(lambda: hand_grad(x, Ws), per_call)
        for name, fn in calls.items():
            ratios[name].append(seconds(fn, per_call) / hand)
    if limit is not None:
        limit.unregister()
    return {name: statistics.median(r) for name, r in ratios.items()}


if __name__ == "__main__":
    quick = "--quick" in sys.argv
    result = main(rounds=3 if quick else ROUNDS, layers=5 if quick else LAYERS)
    for name, ratio in result.items():
        print(f"{name:10s} {ratio:.2f}x the hand-written gradient")
