"""chainrule: exact derivatives of ordinary NumPy code.

>>> import chainrule as cr, numpy as np
>>> cr.grad(lambda x: np.sum(x ** 2))(np.array([1.0, 2.0, 3.0]))
array([2., 4., 6.])
"""

from . import core, numpy, optim, tree
from . import rules as _rules  # noqa: F401  (registers every primitive)
from .at import at
from .check import check_grads
from .checkpoint import checkpoint
from .custom import custom_jvp, custom_vjp, linear_transpose
from .errors import ConversionError, LeakedTracerError, NoRuleError
from .graph import Graph, graph
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

__version__ = "0.1.0"

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
    "check_grads",
    "tree",
    "optim",
    "custom_vjp",
    "custom_jvp",
    "linear_transpose",
    "checkpoint",
    "graph",
    "Graph",
    "at",
    "ConversionError",
    "LeakedTracerError",
    "NoRuleError",
]
