"""chainrule under cr.jit: the same derivative functions as impl_chainrule,
staged once (the harness's warm-up call traces and compiles) and replayed."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import workloads as wl
from frameworks import Framework
from grad_style import grad_impls, jacobian_impl

import chainrule as cr
import chainrule.numpy as cnp


def _jit_grad(f: Callable, *args, **kwargs) -> Callable:
    return cr.jit(cr.grad(f, *args, **kwargs))


def _hvp(d: dict) -> Callable:
    A, x, v = d["A"], d["x"], d["v"]
    f = lambda y: wl.tanh_square(y, A, np)  # noqa: E731
    h = cr.jit(lambda x, v: cr.hvp(f, (x,), (v,))[1])
    return lambda: h(x, v)


def _jit(transform: Callable) -> Callable:
    return lambda f, *a, **k: cr.jit(transform(f, *a, **k))


def frameworks() -> list[Framework]:
    """The chainrule-jit column (none for a chainrule without ``jit``: an A/B
    run may measure an older commit)."""
    if not hasattr(cr, "jit"):
        return []
    impls = grad_impls(_jit_grad, np, lambda z: cnp.logsumexp(z, axis=1, keepdims=True))
    impls["hvp"] = _hvp
    impls["jacobian-fwd"] = jacobian_impl(_jit(cr.jacfwd), np)
    impls["jacobian-rev"] = jacobian_impl(_jit(cr.jacrev), np)
    return [Framework("chainrule-jit", "chainrule jit", "chainrule", cr.__version__, impls)]
