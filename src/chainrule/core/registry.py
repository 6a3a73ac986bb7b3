"""Lookup tables from NumPy callables to our primitives and implementations.

They are filled by the rule modules (``chainrule.rules``) when those are
imported, which ``ensure_rules`` does once, when the first trace opens or a
``chainrule.numpy`` namespace is built; reading them is all the tracer's
NumPy protocols do.
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
# Those of NONDIFF that are piecewise constant only on real values (``sign``:
# z/|z| moves with a complex z); a complex traced argument is refused.
REAL_ONLY: set[Any] = set()


# A direct backward step (core.primitive.set_direct) -> the same step written
# into its cotangent array, ``into(g, saved)`` (or NotImplemented to decline):
# the backward pass uses it when nothing else holds that array (core/reverse.py).
STEPS_INTO: dict[Any, Callable[[Any, Any], Any]] = {}

# Extension point: functions ``loader(ufunc) -> bool`` asked when a ufunc without
# rules meets a traced value; one returning True may have registered its rules
# (chainrule.rules._scipy_hooks imports chainrule.scipy for scipy.special's).
UFUNC_LOADERS: list[Callable[[Any], bool]] = []


# Extension point: properties of traced values that upper floors add, by name
# (``x.at``, filled by chainrule.at), so that core imports nothing above it.
ATTRIBUTES: dict[str, Callable[..., Any]] = {}


# True once every rule module is imported. Read on every transform call
# (core.trace.Trace.__enter__), so a plain module global.
rules_loaded = False

# Extension point: what fills the tables, called once by ``ensure_rules``
# (``chainrule/__init__.py`` registers ``chainrule.rules.load``: core imports
# nothing above it).
RULE_LOADERS: list[Callable[[], None]] = []


def ensure_rules() -> None:
    """Import every rule family, filling the tables (once; cheap afterwards).

    ``import chainrule`` does not: the families cost several times NumPy's own
    import. The first trace to open calls this, before any tracer can meet a
    NumPy function, so the tables are complete whenever they are read.
    """
    global rules_loaded
    if rules_loaded:
        return
    for load in RULE_LOADERS:
        load()
    rules_loaded = True


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
    ensure_rules()
    out: dict[str, Any] = {}
    # vars(), not dir() + getattr(): NumPy imports submodules such as
    # numpy.f2py and numpy.testing on attribute access, which costs more than
    # importing NumPy, and none of them is a function with rules.
    for name, obj in list(vars(numpy_module).items()):
        if name.startswith("_"):
            continue
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


def populate(module_globals: dict[str, Any], numpy_module: Any, namespace: str) -> None:
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
