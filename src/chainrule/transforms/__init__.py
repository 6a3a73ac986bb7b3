"""The transforms: functions that take a function and return its derivative."""

from .elementwise import elementwise_grad
from .forward_mode import jvp, linearize
from .jacobians import hessian, hvp, jacfwd, jacobian, jacrev
from .reverse_mode import grad, value_and_grad, vjp
from .stop import stop_gradient

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
]
