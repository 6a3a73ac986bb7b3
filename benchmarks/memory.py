"""Peak memory of a gradient, as seen by tracemalloc.

NumPy reports its array buffers to tracemalloc, so the peak covers both the
arrays a framework keeps for the backward pass and its Python bookkeeping.
Frameworks with their own allocators (PyTorch, XLA) are invisible to it.
"""

from __future__ import annotations

import gc
import tracemalloc
from collections.abc import Callable
from typing import Any


def peak_bytes(fn: Callable[[], Any], warm_up: bool = False) -> tuple[Any, int]:
    """Run ``fn`` once under tracemalloc; return its result and the extra peak
    of that call: the highest traced memory during it minus the memory held
    just before it (so the inputs do not count; the result does).

    ``warm_up`` calls ``fn`` once first, untraced, so that one-time costs
    (caches, lazily built tables) stay out of the peak. Garbage is collected
    before the traced call. Works whether or not tracemalloc is already on.
    """
    if warm_up:
        fn()
    gc.collect()
    was_tracing = tracemalloc.is_tracing()
    if not was_tracing:
        tracemalloc.start()
    try:
        held, _ = tracemalloc.get_traced_memory()
        tracemalloc.reset_peak()
        result = fn()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        if not was_tracing:
            tracemalloc.stop()
    return result, max(0, peak - held)


def unit_for(nbytes: float) -> str:
    """The unit a peak reads best in: "MB" from a megabyte up, "kB" below."""
    return "MB" if nbytes >= 1e6 else "kB"


def required_bytes(data: dict) -> int:
    """What the chain must keep for its backward pass: one array a layer."""
    return data["layers"] * data["x"].nbytes
