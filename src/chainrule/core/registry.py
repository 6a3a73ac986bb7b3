"""Lookup tables from NumPy callables to our primitives and implementations.

They are filled once, at import, by the rule modules; reading them is all the
tracer's NumPy protocols do.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

# numpy.ufunc -> Primitive, for ``__array_ufunc__`` and the tracer's operators.
UFUNCS: dict[Any, Any] = {}
# numpy function -> our implementation with the same signature, for
# ``__array_function__`` and the tracer's methods.
FUNCTIONS: dict[Any, Callable[..., Any]] = {}
# numpy callables that are not differentiable but must work on traced values:
# they run on the plain values and record nothing.
NONDIFF: set[Any] = set()


def implements(*numpy_functions: Any) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Register the decorated function as our version of ``numpy_functions``."""

    def register(fn: Callable[..., Any]) -> Callable[..., Any]:
        for f in numpy_functions:
            FUNCTIONS[f] = fn
        return fn

    return register
