"""HIPS autograd: the same functions over ``autograd.numpy``."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from importlib.metadata import version

import autograd
import autograd.numpy as anp
import autograd.scipy.special
import workloads as wl
from frameworks import Framework
from grad_style import grad_impls, jacobian_impl


def _hvp(d: dict) -> Callable:
    """autograd's own HVP (reverse over reverse: it has no forward mode to nest)."""
    A = d["A"]
    hvp = autograd.hessian_vector_product(lambda x: wl.tanh_square(x, A, anp))
    return partial(hvp, d["x"], d["v"])


def frameworks() -> list[Framework]:
    """The autograd column (no forward-mode Jacobian: "n/a")."""
    lse = lambda z: autograd.scipy.special.logsumexp(z, axis=1, keepdims=True)  # noqa: E731
    impls = grad_impls(autograd.grad, anp, lse)
    impls["hvp"] = _hvp
    impls["jacobian-rev"] = jacobian_impl(autograd.jacobian, anp)
    return [Framework("autograd", "autograd", "autograd", version("autograd"), impls)]
