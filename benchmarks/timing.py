"""Timing: one BLAS thread, warm-up, calibration and interleaved medians."""

from __future__ import annotations

import gc
import math
import statistics
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

MAX_CALLS_PER_SAMPLE = 1000


@contextmanager
def one_blas_thread() -> Iterator[bool]:
    """Limit BLAS/OpenMP pools to one thread; yields whether that was possible
    (False when threadpoolctl is not installed)."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        yield False
        return
    with threadpool_limits(1):
        yield True


def seconds(fn: Callable[[], object], number: int = 1) -> float:
    """Mean seconds per call over ``number`` back-to-back calls."""
    start = time.perf_counter()
    for _ in range(number):
        fn()
    return (time.perf_counter() - start) / number


def calls_per_sample(fn: Callable[[], object], min_seconds: float) -> int:
    """Warm ``fn`` up with one call, time a second, and return how many calls
    one sample needs to last at least ``min_seconds`` (so that fast calls are
    not lost in the clock's resolution)."""
    fn()
    once = seconds(fn, 1)
    if once <= 0.0:
        return MAX_CALLS_PER_SAMPLE
    return max(1, min(MAX_CALLS_PER_SAMPLE, math.ceil(min_seconds / once)))


def paired_ratio(samples: dict[str, list[float]], key: str, baseline: str) -> float:
    """Median over rounds of ``key``'s time over ``baseline``'s in the same round."""
    return statistics.median(a / b for a, b in zip(samples[key], samples[baseline]))


def interleaved_samples(
    fns: dict[str, Callable[[], object]], repeats: int, min_seconds: float
) -> dict[str, list[float]]:
    """Seconds per call of each function, one sample per round.

    Every function is warmed up first; then each round times one sample of
    every function, round-robin, starting one function later each round, so
    that drifting machine noise hits all of them alike.
    """
    numbers = {key: calls_per_sample(fn, min_seconds) for key, fn in fns.items()}
    samples: dict[str, list[float]] = {key: [] for key in fns}
    keys = list(fns)
    for round_no in range(repeats):
        gc.collect()
        shift = round_no % len(keys) if keys else 0
        for key in keys[shift:] + keys[:shift]:
            samples[key].append(seconds(fns[key], numbers[key]))
    return samples
