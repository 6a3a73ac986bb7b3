"""Gradient-based optimisers over pytrees: sgd, momentum, nesterov, adam, adamw,
rmsprop, adagrad.

Each factory returns an :class:`~chainrule.optim.base.Optimizer`. ``step`` is
pure: it returns new parameters and a new state and changes neither argument.
The learning rate may be a number or a schedule (see :mod:`.schedules`), which is
called with the number of steps already taken (0 on the first step). Every
factory takes ``clip_norm=``: when given, gradients are clipped to that global
norm before each step (see :func:`~chainrule.optim.clipping.with_clipping`).

>>> import chainrule as cr, numpy as np
>>> from chainrule.optim import adam
>>> loss = lambda p: np.sum((p["w"] - 3.0) ** 2)
>>> params = {"w": np.zeros(2)}
>>> opt = adam(0.1)
>>> state = opt.init(params)
>>> for _ in range(300):
...     params, state = opt.step(params, cr.grad(loss)(params), state)
>>> np.round(params["w"], 3)
array([3., 3.])
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np

from .. import tree
from .base import LearningRate, Optimizer, rate_at, zeros_like_float
from .clipping import with_clipping

__all__ = [
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
]


class SGDState(NamedTuple):
    """State of :func:`sgd`: only the step count."""

    count: int  # type: ignore[assignment]  # the public field name shadows tuple.count


class MomentumState(NamedTuple):
    """State of :func:`momentum` and :func:`nesterov`: step count and velocity."""

    count: int  # type: ignore[assignment]  # the public field name shadows tuple.count
    velocity: Any


class AdamState(NamedTuple):
    """State of :func:`adam` and :func:`adamw`: step count, first and second moments."""

    count: int  # type: ignore[assignment]  # the public field name shadows tuple.count
    mu: Any
    nu: Any


class RMSPropState(NamedTuple):
    """State of :func:`rmsprop`: step count and running mean of squared gradients."""

    count: int  # type: ignore[assignment]  # the public field name shadows tuple.count
    nu: Any


class AdagradState(NamedTuple):
    """State of :func:`adagrad`: step count and sum of squared gradients."""

    count: int  # type: ignore[assignment]  # the public field name shadows tuple.count
    sum_sq: Any


def _finish(opt: Optimizer, clip_norm: float | None) -> Optimizer:
    return opt if clip_norm is None else with_clipping(opt, clip_norm)


def _check_unit(name: str, value: float, *, closed: bool = False) -> None:
    ok = 0.0 <= value <= 1.0 if closed else 0.0 <= value < 1.0
    if not ok:
        interval = "[0, 1]" if closed else "[0, 1)"
        raise ValueError(f"{name} must lie in {interval}, got {value!r}")


def _zeros(params: Any) -> Any:
    return tree.map(zeros_like_float, params)


def sgd(learning_rate: LearningRate, *, clip_norm: float | None = None) -> Optimizer:
    """Plain gradient descent: ``p <- p - lr * g``.

    >>> import numpy as np
    >>> opt = sgd(0.1)
    >>> opt.step([np.array([1.0, 2.0])], [np.array([1.0, -1.0])], opt.init(None))
    ([array([0.9, 2.1])], SGDState(count=1))
    """

    def init(params: Any) -> SGDState:
        return SGDState(count=0)

    def step(params: Any, grads: Any, state: SGDState) -> tuple[Any, SGDState]:
        lr = rate_at(learning_rate, state.count)
        new = tree.map(lambda p, g: p - lr * g, params, grads)
        return new, SGDState(count=state.count + 1)

    return _finish(Optimizer(init, step), clip_norm)


def momentum(
    learning_rate: LearningRate,
    beta: float = 0.9,
    nesterov: bool = False,
    *,
    clip_norm: float | None = None,
) -> Optimizer:
    """Gradient descent with heavy-ball momentum (optionally Nesterov's).

    ``v <- beta * v + g``, then ``p <- p - lr * v``; with ``nesterov=True`` the
    step looks ahead: ``p <- p - lr * (g + beta * v)``.

    >>> import numpy as np
    >>> opt = momentum(0.1, beta=0.5)
    >>> p, s = opt.step(np.array([1.0]), np.array([1.0]), opt.init(np.array([1.0])))
    >>> p, s = opt.step(p, np.array([1.0]), s)
    >>> p, s.velocity
    (array([0.75]), array([1.5]))
    """
    _check_unit("momentum: beta", beta)

    def init(params: Any) -> MomentumState:
        return MomentumState(count=0, velocity=_zeros(params))

    def step(params: Any, grads: Any, state: MomentumState) -> tuple[Any, MomentumState]:
        lr = rate_at(learning_rate, state.count)
        velocity = tree.map(lambda v, g: beta * v + g, state.velocity, grads)
        if nesterov:
            new = tree.map(lambda p, g, v: p - lr * (g + beta * v), params, grads, velocity)
        else:
            new = tree.map(lambda p, v: p - lr * v, params, velocity)
        return new, MomentumState(count=state.count + 1, velocity=velocity)

    return _finish(Optimizer(init, step), clip_norm)


def nesterov(
    learning_rate: LearningRate, beta: float = 0.9, *, clip_norm: float | None = None
) -> Optimizer:
    """Nesterov momentum: ``momentum(learning_rate, beta, nesterov=True)``.

    >>> import numpy as np
    >>> opt = nesterov(0.1, beta=0.5)
    >>> opt.step(np.array([1.0]), np.array([1.0]), opt.init(np.array([1.0])))[0]
    array([0.85])
    """
    return momentum(learning_rate, beta, nesterov=True, clip_norm=clip_norm)


def _adam_like(
    learning_rate: LearningRate, b1: float, b2: float, eps: float, weight_decay: float
) -> Optimizer:
    _check_unit("b1", b1)
    _check_unit("b2", b2)

    def init(params: Any) -> AdamState:
        return AdamState(count=0, mu=_zeros(params), nu=_zeros(params))

    def step(params: Any, grads: Any, state: AdamState) -> tuple[Any, AdamState]:
        lr = rate_at(learning_rate, state.count)
        t = state.count + 1
        mu = tree.map(lambda m, g: b1 * m + (1 - b1) * g, state.mu, grads)
        nu = tree.map(lambda v, g: b2 * v + (1 - b2) * np.square(g), state.nu, grads)
        c1, c2 = 1 - b1**t, 1 - b2**t

        def update(p: Any, m: Any, v: Any) -> Any:
            direction = (m / c1) / (np.sqrt(v / c2) + eps)
            if weight_decay:
                direction = direction + weight_decay * p
            return p - lr * direction

        return tree.map(update, params, mu, nu), AdamState(count=t, mu=mu, nu=nu)

    return Optimizer(init, step)


def adam(
    learning_rate: LearningRate = 1e-3,
    b1: float = 0.9,
    b2: float = 0.999,
    eps: float = 1e-8,
    *,
    clip_norm: float | None = None,
) -> Optimizer:
    """Adam (Kingma & Ba): bias-corrected moment estimates.

    ``m <- b1 m + (1 - b1) g``, ``v <- b2 v + (1 - b2) g^2``, and with
    ``m^ = m / (1 - b1^t)``, ``v^ = v / (1 - b2^t)``:
    ``p <- p - lr * m^ / (sqrt(v^) + eps)``.

    >>> import numpy as np
    >>> opt = adam(0.1)
    >>> p, s = opt.step(np.array([1.0]), np.array([0.5]), opt.init(np.array([1.0])))
    >>> p  # the first step has length lr whatever the gradient's size
    array([0.9])
    """
    return _finish(_adam_like(learning_rate, b1, b2, eps, 0.0), clip_norm)


def adamw(
    learning_rate: LearningRate = 1e-3,
    b1: float = 0.9,
    b2: float = 0.999,
    eps: float = 1e-8,
    weight_decay: float = 1e-2,
    *,
    clip_norm: float | None = None,
) -> Optimizer:
    """Adam with decoupled weight decay (Loshchilov & Hutter).

    As :func:`adam`, but the step is ``lr * (m^ / (sqrt(v^) + eps) + weight_decay * p)``:
    the decay acts on the parameters directly, not through the moments.

    >>> import numpy as np
    >>> opt = adamw(0.1, weight_decay=0.5)
    >>> opt.step(np.array([2.0]), np.array([0.0]), opt.init(np.array([2.0])))[0]
    array([1.9])
    """
    if weight_decay < 0:
        raise ValueError(f"adamw: weight_decay must be >= 0, got {weight_decay!r}")
    return _finish(_adam_like(learning_rate, b1, b2, eps, weight_decay), clip_norm)


def rmsprop(
    learning_rate: LearningRate = 1e-2,
    decay: float = 0.9,
    eps: float = 1e-8,
    *,
    clip_norm: float | None = None,
) -> Optimizer:
    """RMSProp: divide by a running root-mean-square of the gradients.

    ``v <- decay v + (1 - decay) g^2``, ``p <- p - lr * g / (sqrt(v) + eps)``.

    >>> import numpy as np
    >>> opt = rmsprop(0.1, decay=0.75, eps=0.0)
    >>> opt.step(np.array([1.0]), np.array([2.0]), opt.init(np.array([1.0])))[0]
    array([0.8])
    """
    _check_unit("rmsprop: decay", decay)

    def init(params: Any) -> RMSPropState:
        return RMSPropState(count=0, nu=_zeros(params))

    def step(params: Any, grads: Any, state: RMSPropState) -> tuple[Any, RMSPropState]:
        lr = rate_at(learning_rate, state.count)
        nu = tree.map(lambda v, g: decay * v + (1 - decay) * np.square(g), state.nu, grads)
        new = tree.map(lambda p, g, v: p - lr * g / (np.sqrt(v) + eps), params, grads, nu)
        return new, RMSPropState(count=state.count + 1, nu=nu)

    return _finish(Optimizer(init, step), clip_norm)


def adagrad(
    learning_rate: LearningRate = 1e-2,
    eps: float = 1e-10,
    initial_accumulator: float = 0.0,
    *,
    clip_norm: float | None = None,
) -> Optimizer:
    """Adagrad: divide by the root of the sum of all squared gradients so far.

    ``G <- G + g^2``, ``p <- p - lr * g / (sqrt(G) + eps)``; ``G`` starts at
    ``initial_accumulator``.

    >>> import numpy as np
    >>> opt = adagrad(0.5, eps=0.0)
    >>> p, s = opt.step(np.array([1.0]), np.array([3.0]), opt.init(np.array([1.0])))
    >>> p, s = opt.step(p, np.array([4.0]), s)
    >>> p
    array([0.1])
    """
    if initial_accumulator < 0:
        raise ValueError(f"adagrad: initial_accumulator must be >= 0, got {initial_accumulator}")

    def init(params: Any) -> AdagradState:
        acc = tree.map(lambda p: zeros_like_float(p) + initial_accumulator, params)
        return AdagradState(count=0, sum_sq=acc)

    def step(params: Any, grads: Any, state: AdagradState) -> tuple[Any, AdagradState]:
        lr = rate_at(learning_rate, state.count)
        acc = tree.map(lambda s, g: s + np.square(g), state.sum_sq, grads)
        new = tree.map(lambda p, g, s: p - lr * g / (np.sqrt(s) + eps), params, grads, acc)
        return new, AdagradState(count=state.count + 1, sum_sq=acc)

    return _finish(Optimizer(init, step), clip_norm)
