"""Gradient clipping by global norm, alone or wrapped around an optimiser.

>>> import numpy as np
>>> clip_by_global_norm({"a": np.array([3.0]), "b": np.array([4.0])}, 1.0)
{'a': array([0.6]), 'b': array([0.8])}
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import tree
from .base import Optimizer


def global_norm(grads: Any) -> Any:
    """The 2-norm of all leaves of ``grads`` taken together, as one vector.

    >>> import numpy as np
    >>> float(global_norm([np.array([3.0]), {"w": np.array([[4.0]])}]))
    5.0
    """
    leaves = tree.leaves(grads)
    if not leaves:
        return np.float64(0.0)
    return np.sqrt(sum(np.sum(np.square(g)) for g in leaves))


def clip_by_global_norm(grads: Any, max_norm: float) -> Any:
    """Scale ``grads`` down so that their global norm is at most ``max_norm``.

    All leaves are scaled by the same factor ``max_norm / max(norm, max_norm)``,
    so the direction is kept; gradients already within the limit are returned
    unchanged in value. The result has the structure of ``grads``.

    >>> import numpy as np
    >>> clip_by_global_norm((np.array([6.0, 8.0]),), 5.0)
    (array([3., 4.]),)
    >>> clip_by_global_norm((np.array([0.3, 0.4]),), 5.0)
    (array([0.3, 0.4]),)
    """
    if not max_norm > 0:
        raise ValueError(f"clip_by_global_norm: max_norm must be positive, got {max_norm!r}")
    norm = global_norm(grads)
    scale = max_norm / np.maximum(norm, max_norm)
    return tree.map(lambda g: g * scale, grads)


def with_clipping(optimizer: Optimizer, max_norm: float) -> Optimizer:
    """``optimizer`` with the gradients clipped by global norm before every step.

    Every optimiser factory offers the same through its ``clip_norm`` argument:
    ``adam(1e-3, clip_norm=1.0)`` is ``with_clipping(adam(1e-3), 1.0)``.

    >>> import numpy as np
    >>> from chainrule.optim import sgd
    >>> opt = with_clipping(sgd(1.0), max_norm=1.0)
    >>> params, state = opt.step(np.array([0.0, 0.0]), np.array([30.0, 40.0]),
    ...                          opt.init(np.zeros(2)))
    >>> params
    array([-0.6, -0.8])
    """
    if not max_norm > 0:
        raise ValueError(f"with_clipping: max_norm must be positive, got {max_norm!r}")
    inner_step = optimizer.step

    def step(params: Any, grads: Any, state: Any) -> tuple[Any, Any]:
        return inner_step(params, clip_by_global_norm(grads, max_norm), state)

    return Optimizer(init=optimizer.init, step=step)
