"""The :class:`Optimizer` type shared by every gradient-based optimiser.

An optimiser is a pair of pure functions: ``init(params) -> state`` and
``step(params, grads, state) -> (params, state)``. Neither mutates its inputs;
the state is a pytree (NamedTuples of arrays and a step count).

>>> import numpy as np
>>> from chainrule.optim import sgd
>>> opt = sgd(0.1)
>>> isinstance(opt, Optimizer)
True
>>> params, state = opt.step(np.array([1.0]), np.array([2.0]), opt.init(np.array([1.0])))
>>> params
array([0.8])
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

import numpy as np

#: A learning rate: a number, or a schedule (a callable of the step count).
LearningRate = float | Callable[[int], float]


class Optimizer(NamedTuple):
    """An optimiser: ``state = opt.init(params)``, then repeatedly
    ``params, state = opt.step(params, grads, state)``.

    >>> import numpy as np
    >>> opt = Optimizer(init=lambda p: 0, step=lambda p, g, s: (p - g, s + 1))
    >>> opt.step(np.array([3.0]), np.array([1.0]), opt.init(None))
    (array([2.]), 1)
    """

    init: Callable[[Any], Any]
    step: Callable[[Any, Any, Any], tuple[Any, Any]]


def rate_at(learning_rate: LearningRate, count: int) -> float:
    """The learning rate in force at step ``count`` (0 for the first step).

    >>> rate_at(0.5, 10)
    0.5
    >>> rate_at(lambda n: 1.0 / (n + 1), 3)
    0.25
    """
    if callable(learning_rate):
        return float(learning_rate(count))
    return float(learning_rate)


def zeros_like_float(leaf: Any) -> np.ndarray:
    """A zero array shaped like ``leaf``, of a floating dtype (integers become float64).

    >>> zeros_like_float(3)
    array(0.)
    >>> zeros_like_float(np.ones(2, dtype=np.float32)).dtype
    dtype('float32')
    """
    arr = np.asarray(leaf)
    dtype = arr.dtype if np.issubdtype(arr.dtype, np.inexact) else np.float64
    return np.zeros(arr.shape, dtype=dtype)
