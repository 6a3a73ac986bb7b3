"""The frameworks compared: which are importable, and how to load them.

Each framework lives in a module ``impl_<name>.py`` whose ``frameworks()``
returns one or more :class:`Framework` columns. A column's ``impls`` maps a
workload name to a factory: given the workload's data (NumPy arrays) it
converts what it needs, builds the derivative function once, and returns a
zero-argument call that computes the derivative (and, for asynchronous
frameworks, waits for it). A workload missing from ``impls`` shows as "n/a".
``traced`` says whether tracemalloc sees the framework's allocations (NumPy's
buffers: yes; the own allocators of PyTorch and XLA: no); only then is its
peak memory measured.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np


@dataclass(frozen=True)
class Framework:
    """One column of the results table."""

    key: str
    label: str
    package: str
    version: str
    impls: dict[str, Callable[[dict], Callable[[], Any]]]
    to_numpy: Callable[[Any], np.ndarray] = field(default=np.asarray)
    traced: bool = True


# (impl module, the package it needs beyond chainrule and NumPy)
_MODULES = [
    ("impl_numpy", None),
    ("impl_chainrule", None),
    ("impl_chainrule_jit", None),
    ("impl_autograd", "autograd"),
    ("impl_torch", "torch"),
    ("impl_jax", "jax"),
]


def _prepare_jax() -> None:
    """Ask XLA's CPU backend for one thread; must happen before jax is imported."""
    os.environ.setdefault("XLA_FLAGS", "--xla_cpu_multi_thread_eigen=false")


def load(skip: tuple[str, ...] = ()) -> tuple[list[Framework], list[str]]:
    """The loadable frameworks, and the names of the peers that are not installed
    (or that ``skip`` names)."""
    loaded: list[Framework] = []
    missing: list[str] = []
    for module, package in _MODULES:
        # A peer is skipped by its package name; chainrule's own extra columns
        # by their module's name (``--skip chainrule_jit``).
        name = package or module.removeprefix("impl_")
        if name in skip or (package is not None and importlib.util.find_spec(package) is None):
            missing.append(name)
            continue
        if package == "jax":
            _prepare_jax()
        loaded.extend(importlib.import_module(module).frameworks())
    return loaded, missing
