"""Lookup tables from NumPy callables to our primitives and implementations.

They are filled once, at import, by the rule modules; reading them is all the
tracer's NumPy protocols do.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

# numpy.ufunc -> Primitive, for ``__array_ufunc__`` and the tracer's operators.
UFUNCS: dict[Any, Any] = {}
# Name of a tracer's operator method ("__mul__", "__rsub__", ...) -> its
# ConstantRule, used when the other operand is a Python number.
CONSTANT_RULES: dict[str, Any] = {}
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


# Functions we offer that NumPy does not have (``logsumexp``, ``softmax``...),
# by the namespace they appear in: "numpy" is ``chainrule.numpy``.
EXTRAS: dict[str, dict[str, Callable[..., Any]]] = {}


def export(
    name: str, namespace: str = "numpy"
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Publish the decorated function as ``chainrule.<namespace>.<name>``."""

    def register(fn: Callable[..., Any]) -> Callable[..., Any]:
        EXTRAS.setdefault(namespace, {})[name] = fn
        return fn

    return register


def mirror(numpy_module: Any, namespace: str) -> dict[str, Any]:
    """Our version of every public name of ``numpy_module`` that has rules (or
    is declared non-differentiable), plus the extras of ``namespace``."""
    out: dict[str, Any] = {}
    for name in dir(numpy_module):
        if name.startswith("_"):
            continue
        obj = getattr(numpy_module, name)
        try:
            if obj in UFUNCS:
                out[name] = UFUNCS[obj]
            elif obj in FUNCTIONS:
                out[name] = FUNCTIONS[obj]
            elif obj in NONDIFF:
                out[name] = obj
        except TypeError:  # unhashable attribute
            continue
    out.update(EXTRAS.get(namespace, {}))
    return out


def populate(module_globals: dict, numpy_module: Any, namespace: str) -> None:
    """Fill a ``chainrule.numpy...`` module: every name of ``numpy_module``
    with rules (see ``mirror``), ``DIFFERENTIABLE`` listing them, and a module
    ``__getattr__`` through which every other name falls to NumPy's own."""
    names = mirror(numpy_module, namespace)
    module_globals.update(names)
    module_globals["DIFFERENTIABLE"] = sorted(names)
    module_name = module_globals["__name__"]

    def __getattr__(name: str) -> Any:  # noqa: N807 - the module hook
        try:
            return getattr(numpy_module, name)
        except AttributeError:
            raise AttributeError(f"module {module_name!r} has no attribute {name!r}") from None

    module_globals["__getattr__"] = __getattr__
