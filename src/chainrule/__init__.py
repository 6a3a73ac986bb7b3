"""chainrule: exact derivatives of ordinary NumPy code.

>>> import chainrule as cr, numpy as np
>>> cr.grad(lambda x: np.sum(x ** 2))(np.array([1.0, 2.0, 3.0]))
array([2., 4., 6.])
"""

import importlib
import sys
import types
from typing import Any

from . import core, rules, tree
from .at import at
from .check import check_grads
from .checkpoint import checkpoint
from .custom import custom_jvp, custom_vjp, linear_transpose
from .errors import (
    BatchedControlFlowError,
    BatchingFallbackWarning,
    ConversionError,
    LeakedTracerError,
    NoRuleError,
)
from .transforms import (
    elementwise_grad,
    grad,
    hessian,
    hvp,
    jacfwd,
    jacobian,
    jacrev,
    jvp,
    linearize,
    stop_gradient,
    value_and_grad,
    vjp,
)
from .transforms.jit import RetraceWarning, jit
from .transforms.vmap import vmap

__version__ = "0.1.0"

# The rule families load when the first trace opens (core.registry.ensure_rules),
# not here: they cost several times NumPy's own import.
core.registry.RULE_LOADERS.append(rules.load)

# Imported on first use, to keep ``import chainrule`` close to NumPy's own
# import time: ``chainrule.numpy`` builds its namespace from every rule family,
# ``optim`` and ``graph`` bring modules (subprocess, pathlib...) most programs
# never need. name -> (module, attribute or None for the module itself).
_LAZY = {
    "numpy": (".numpy", None),
    "optim": (".optim", None),
    "graph": (".graph", "graph"),
    "Graph": (".graph", "Graph"),
    # SciPy is imported by these, so only when first asked for.
    "sparse": (".sparse", None),
    "SparsityPattern": (".sparse", "SparsityPattern"),
    "sparse_jacobian": (".sparse", "sparse_jacobian"),
    "sparse_hessian": (".sparse", "sparse_hessian"),
    "jacobian_sparsity": (".sparse", "jacobian_sparsity"),
    "hessian_sparsity": (".sparse", "hessian_sparsity"),
    "propagate": (".uncertainty", "propagate"),
}


def __getattr__(name: str) -> Any:
    if name not in _LAZY:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    module_name, attribute = _LAZY[name]
    module = importlib.import_module(module_name, __name__)
    value = module if attribute is None else getattr(module, attribute)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))


class _Package(types.ModuleType):
    """This package's module type. Importing the submodule ``chainrule.graph``
    (``from chainrule.graph import Graph``) makes the import system bind it to
    the package's attribute ``graph``, which is the function ``cr.graph``;
    such a rebinding is ignored, as an eager ``from .graph import graph`` would
    have overridden it."""

    def __setattr__(self, name: str, value: Any) -> None:
        if isinstance(value, types.ModuleType) and _LAZY.get(name, (None, None))[1] is not None:
            return
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Package


__all__ = [
    "grad",
    "value_and_grad",
    "elementwise_grad",
    "vjp",
    "jvp",
    "linearize",
    "jacrev",
    "jacfwd",
    "jacobian",
    "hessian",
    "hvp",
    "stop_gradient",
    "jit",
    "RetraceWarning",
    "vmap",
    "BatchedControlFlowError",
    "BatchingFallbackWarning",
    "check_grads",
    "tree",
    "optim",
    "custom_vjp",
    "custom_jvp",
    "linear_transpose",
    "checkpoint",
    "graph",
    "Graph",
    "propagate",
    "at",
    "sparse",
    "SparsityPattern",
    "sparse_jacobian",
    "sparse_hessian",
    "jacobian_sparsity",
    "hessian_sparsity",
    "ConversionError",
    "LeakedTracerError",
    "NoRuleError",
]
