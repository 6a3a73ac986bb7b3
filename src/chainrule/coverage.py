"""What chainrule can differentiate, read from the rule table.

``python -m chainrule.coverage > docs/coverage.md`` regenerates the coverage
page; a test checks that the page is current.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass
from typing import Any

from .core.primitive import EachArgument, Primitive
from .core.registry import NONDIFF


@dataclass(frozen=True)
class Entry:
    namespace: str
    name: str
    kind: str  # "primitive", "composite", "method", "non-differentiable", "refused", "unknown"
    reverse: bool
    forward: bool
    note: str = ""  # for "refused": the reason and the fix


def classify(obj: Any) -> tuple[str, bool, bool]:
    """-> (kind, has reverse mode, has forward mode) of one exported object."""
    if getattr(obj, "__chainrule_refused__", None) is not None:
        return "refused", False, False
    # chainrule.numpy wraps its functions to accept lists of traced values.
    inner = getattr(obj, "__wrapped__", None)
    if isinstance(inner, Primitive) or _is_nondiff(inner):
        obj = inner
    if isinstance(obj, Primitive):
        return "primitive", _has_rules(obj.vjp), _has_rules(obj.jvp)
    if _is_nondiff(obj):
        return "non-differentiable", False, False
    # A composite is written with differentiable functions, so it has every
    # mode its parts have; the per-family tests check that it really does.
    return "composite", True, True


def _has_rules(rules: Any) -> bool:
    return isinstance(rules, EachArgument) or any(r is not None for r in rules)


def _is_nondiff(obj: Any) -> bool:
    try:
        return obj in NONDIFF
    except TypeError:
        return False


def entries() -> list[Entry]:
    """Every name of the ``chainrule.numpy`` family of namespaces, and every
    public callable of the NumPy modules they mirror (and of ``ndarray``):
    those without rules are *refused* (with the reason) or *unknown*."""
    import importlib

    from .rules._refusals import REFUSED

    out = []
    for namespace in _namespaces():
        module = importlib.import_module(f"chainrule.{namespace}")
        names = getattr(module, "DIFFERENTIABLE", None)
        ours = set(_public(module) if names is None else names)
        theirs = set(numpy_callables(namespace)) if namespace in NUMPY_MODULES else set()
        for name in sorted(ours | theirs):
            if name in ours:
                obj = getattr(module, name)
                kind, rev, fwd = classify(obj)
                note = getattr(obj, "__chainrule_refused__", "") or ""
            elif f"{namespace}.{name}" in REFUSED:
                kind, rev, fwd, note = "refused", False, False, REFUSED[f"{namespace}.{name}"]
            else:
                kind, rev, fwd, note = "unknown", False, False, ""
            out.append(Entry(namespace, name, kind, rev, fwd, note))
    out.extend(_method_entries(REFUSED))
    return out


# The NumPy modules whose every public callable the page accounts for.
NUMPY_MODULES = ("numpy", "numpy.linalg", "numpy.fft", "numpy.polynomial.polynomial")


def numpy_callables(namespace: str) -> list[str]:
    """The public callables of NumPy's module ``namespace`` (functions, ufuncs,
    classes), as ``dir`` lists them; submodules left out."""
    import importlib

    module = importlib.import_module(namespace)
    out = []
    for name in dir(module):
        if name.startswith("_"):
            continue
        try:
            obj = getattr(module, name)
        except AttributeError:  # a name NumPy lists but deprecates on access
            continue
        if callable(obj) and not inspect.ismodule(obj):
            out.append(name)
    return out


def _method_entries(refused: dict[str, str]) -> list[Entry]:
    """``ndarray``'s public methods on a traced value: those a tracer defines or
    forwards to a rule (``x.cumsum()`` is ``np.cumsum``'s), refused ones, unknown."""
    import numpy as np

    from .core.registry import FUNCTIONS, NONDIFF, ensure_rules
    from .core.trace import Tracer

    ensure_rules()
    out = []
    for name in sorted(n for n in dir(np.ndarray) if not n.startswith("_")):
        if not callable(getattr(np.ndarray, name)):
            continue
        reason = refused.get(f"ndarray.{name}")
        forwarded = FUNCTIONS.get(getattr(np, name, None))
        if reason is not None:
            out.append(Entry("ndarray", name, "refused", False, False, reason))
        elif hasattr(Tracer, name) or (
            forwarded is not None and not hasattr(forwarded, "__chainrule_refused__")
        ):
            out.append(Entry("ndarray", name, "method", True, True))
        elif getattr(np, name, None) in NONDIFF:  # x.argmax() is np.argmax(x)
            out.append(Entry("ndarray", name, "non-differentiable", False, False))
        else:
            out.append(Entry("ndarray", name, "unknown", False, False))
    return out


def _namespaces() -> list[str]:
    names = ["numpy", "numpy.linalg", "numpy.fft", "numpy.polynomial.polynomial"]
    try:
        import chainrule.scipy  # noqa: F401  (optional: needs SciPy)
    except ImportError:
        return names
    # chainrule.scipy imports its subpackages on first use only (scipy.special alone is
    # light); the page lists them all, whatever a run happened to import before.
    import importlib

    for sub in ("linalg", "stats", "signal", "ndimage", "integrate"):
        importlib.import_module(f"chainrule.scipy.{sub}")
    from .core.registry import EXTRAS

    return names + sorted(ns for ns in EXTRAS if ns.startswith("scipy"))


def _public(module: Any) -> list[str]:
    return [
        n
        for n, v in vars(module).items()
        if not n.startswith("_") and callable(v) and not inspect.ismodule(v)
    ]


def numpy_release() -> str:
    """NumPy's ``major.minor``: which functions exist, so which names the page lists."""
    import numpy

    return ".".join(numpy.__version__.split(".")[:2])


def markdown() -> str:
    """The coverage page."""
    lines = [
        "# What chainrule differentiates",
        "",
        "Generated from the rule table by `python -m chainrule.coverage` with "
        f"NumPy {numpy_release()}; do not edit.",
        "",
        "*primitive*: has its own reverse (VJP) and forward (JVP) rules; *composite*: written",
        "with differentiable primitives, so it has both modes; *non-differentiable*: works on",
        "traced values and returns plain results (no derivative); *refused*: called on a",
        "traced value it raises an error giving the reason and the fix shown here; *method*:",
        "an `ndarray` method of traced values, differentiable in both modes.",
        "",
        "Every public callable of `numpy`, `numpy.linalg`, `numpy.fft`,",
        "`numpy.polynomial.polynomial` and `ndarray` is listed; *unknown* marks one without",
        "an answer (a test fails on it).",
        "",
    ]
    current = None
    for e in entries():
        if e.namespace != current:
            current = e.namespace
            title = "numpy.ndarray methods" if current == "ndarray" else f"chainrule.{current}"
            lines += ["", f"## {title}", "", "| function | kind | reverse | forward | note |"]
            lines.append("|---|---|---|---|---|")
        mark = {True: "yes", False: "—"}
        note = e.note.replace("|", "\\|")
        lines.append(f"| `{e.name}` | {e.kind} | {mark[e.reverse]} | {mark[e.forward]} | {note} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":  # pragma: no cover
    print(markdown(), end="")
