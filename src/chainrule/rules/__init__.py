"""The rule table, one module per family of NumPy functions.

Importing a module here registers its family's rules in ``core.registry``.
Nothing imports them all up front: ``load()`` does, the first time a trace
opens (``core.registry.ensure_rules``) or a ``chainrule.numpy`` namespace is
built, so ``import chainrule`` stays cheap. ``load()`` finds the modules by
listing this package, so a new rule module needs no entry anywhere else;
modules whose names start with ``_`` are helpers, not families.
"""

from __future__ import annotations


def families() -> list[str]:
    """The names of the rule modules in this package (``"elementwise"``, ...)."""
    import pkgutil

    return sorted(m.name for m in pkgutil.iter_modules(__path__) if not m.name.startswith("_"))


def load() -> None:
    """Import every rule module, registering all rules (idempotent)."""
    import importlib

    for name in families():
        importlib.import_module(f"{__name__}.{name}")
