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


def peak_bytes(fn: Callable[[], Any]) -> tuple[Any, int]:
    """Run ``fn`` once; return its result and the peak bytes it allocated
    (memory held before the call, such as the inputs, does not count)."""
    gc.collect()
    tracemalloc.start()
    try:
        result = fn()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return result, peak


def required_bytes(data: dict) -> int:
    """What the chain must keep for its backward pass: one array a layer."""
    return data["layers"] * data["x"].nbytes
