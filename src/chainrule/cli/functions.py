"""What an expression may call and which constant names it may use.

The allow-list is built from ``chainrule.numpy`` (the functions that have
derivative rules), plus a few array constructors that fall through to NumPy.
Everything else is refused by name, so an expression can never reach
``__import__``, ``open`` or any object's attributes.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import chainrule.numpy as cnp

# Names in chainrule.numpy that are not worth calling from the command line:
# they return memory addresses, uninitialised memory or dtypes, not numbers.
_EXCLUDED = {"einsum_path", "empty_like", "may_share_memory", "result_type", "shares_memory"}

# Constructors without derivative rules (nothing to differentiate) that are handy
# for building constants; their sizes are checked before they run (limits.py).
_CONSTRUCTORS = ("arange", "eye", "full", "identity", "linspace", "ones", "zeros")

#: Constants an expression may use by name; a variable of the same name wins.
CONSTANTS: dict[str, float] = {"pi": math.pi, "e": math.e, "inf": math.inf, "nan": math.nan}

#: Prefixes pasted NumPy code carries (``np.sin(x)``, ``numpy.linalg.norm(x)``):
#: read as if absent. They are spellings, not objects: nothing is imported.
NUMPY_PREFIXES = ("np.", "numpy.")
#: What ``np.NAME`` may read without a call: the constants, and ``newaxis`` (None).
NUMPY_ATTRIBUTES: dict[str, float | None] = {**CONSTANTS, "newaxis": None}
#: Names that are modules in expressions, so never variables.
MODULE_NAMES = {"linalg", "np", "numpy"}


def _build() -> dict[str, Callable[..., Any]]:
    # DIFFERENTIABLE is built when chainrule.numpy is imported (no static type).
    names = set(cnp.DIFFERENTIABLE) | {"array", "asarray", *_CONSTRUCTORS}  # type: ignore[attr-defined]
    table = {name: getattr(cnp, name) for name in sorted(names - _EXCLUDED)}
    for name in cnp.linalg.DIFFERENTIABLE:  # type: ignore[attr-defined]
        table[f"linalg.{name}"] = getattr(cnp.linalg, name)
    return {name: f for name, f in table.items() if callable(f)}


#: Every callable an expression may use, by the name it is written with
#: (``sin``, ``linalg.norm``).
FUNCTIONS: dict[str, Callable[..., Any]] = _build()


def is_function(name: str) -> bool:
    """Whether ``name`` (``sin``, ``linalg.det``) is an allowed function."""
    return name in FUNCTIONS
