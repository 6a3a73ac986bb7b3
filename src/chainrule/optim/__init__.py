"""``chainrule.optim``: optimisers, schedules and solvers built on chainrule's derivatives.

* Gradient-based optimisers over pytrees (:mod:`.optimizers`): ``sgd``,
  ``momentum``, ``nesterov``, ``adam``, ``adamw``, ``rmsprop``, ``adagrad``.
  ``state = opt.init(params)``; ``params, state = opt.step(params, grads, state)``.
* Learning-rate schedules (:mod:`.schedules`) and clipping by global norm
  (:mod:`.clipping`; every optimiser also takes ``clip_norm=``).
* ``minimize``: SciPy's ``minimize`` with gradients, Hessian-vector products or
  Hessians from chainrule, over pytrees (:mod:`.scipy_bridge`; needs SciPy).
* ``hessp(fun)``: SciPy's ``hessp(x, p, *args)`` for calling ``scipy.optimize.minimize``
  directly (:mod:`.hessian_products`).
* ``root``: Newton's method for square systems with a line search (:mod:`.newton`).
* ``least_squares`` and ``fixed_point`` (:mod:`.solvers`), ``curve_fit``
  (:mod:`.fitting`): SciPy's solvers with chainrule's Jacobians.
* ``root``, ``minimize``, ``least_squares`` and ``fixed_point`` return solutions
  differentiable in traced ``args``, by the implicit function theorem
  (:mod:`.implicit`), to any order.

>>> import chainrule as cr, numpy as np
>>> from chainrule import optim
>>> loss = lambda p: np.sum((p[0] - 1.0) ** 2) + (p[1] + 2.0) ** 2
>>> params = (np.zeros(3), 0.0)
>>> opt = optim.momentum(0.1, clip_norm=1.0)
>>> state = opt.init(params)
>>> for _ in range(300):
...     params, state = opt.step(params, cr.grad(loss)(params), state)
>>> np.round(params[0], 4), round(float(params[1]), 4)
(array([1., 1., 1.]), -2.0)
"""

from .base import LearningRate, Optimizer
from .clipping import clip_by_global_norm, global_norm, with_clipping
from .fitting import curve_fit
from .hessian_products import hessp
from .implicit import ImplicitDifferentiationError
from .newton import NewtonConvergenceError, RootResult, root
from .optimizers import (
    AdagradState,
    AdamState,
    MomentumState,
    RMSPropState,
    SGDState,
    adagrad,
    adam,
    adamw,
    momentum,
    nesterov,
    rmsprop,
    sgd,
)
from .schedules import (
    Schedule,
    constant,
    cosine_decay,
    exponential_decay,
    piecewise_constant,
    warmup_cosine,
)
from .scipy_bridge import minimize
from .solvers import fixed_point, least_squares

__all__ = [
    "Optimizer",
    "LearningRate",
    "sgd",
    "momentum",
    "nesterov",
    "adam",
    "adamw",
    "rmsprop",
    "adagrad",
    "SGDState",
    "MomentumState",
    "AdamState",
    "RMSPropState",
    "AdagradState",
    "Schedule",
    "constant",
    "exponential_decay",
    "cosine_decay",
    "warmup_cosine",
    "piecewise_constant",
    "clip_by_global_norm",
    "global_norm",
    "with_clipping",
    "minimize",
    "hessp",
    "root",
    "RootResult",
    "NewtonConvergenceError",
    "least_squares",
    "fixed_point",
    "curve_fit",
    "ImplicitDifferentiationError",
]
