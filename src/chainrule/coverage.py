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
    kind: str  # "primitive", "composite" or "non-differentiable"
    reverse: bool
    forward: bool


def classify(obj: Any) -> tuple[str, bool, bool]:
    """-> (kind, has reverse mode, has forward mode) of one exported object."""
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
    """Every name of the ``chainrule.numpy`` family of namespaces."""
    import importlib

    out = []
    for namespace in _namespaces():
        module = importlib.import_module(f"chainrule.{namespace}")
        names = getattr(module, "DIFFERENTIABLE", None)
        for name in sorted(_public(module) if names is None else names):
            kind, rev, fwd = classify(getattr(module, name))
            out.append(Entry(namespace, name, kind, rev, fwd))
    return out


def _namespaces() -> list[str]:
    names = ["numpy", "numpy.linalg", "numpy.fft"]
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
        "traced values and returns plain results (no derivative).",
        "",
    ]
    current = None
    for e in entries():
        if e.namespace != current:
            current = e.namespace
            lines += ["", f"## chainrule.{current}", "", "| function | kind | reverse | forward |"]
            lines.append("|---|---|---|---|")
        mark = {True: "yes", False: "—"}
        lines.append(f"| `{e.name}` | {e.kind} | {mark[e.reverse]} | {mark[e.forward]} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":  # pragma: no cover
    print(markdown(), end="")
