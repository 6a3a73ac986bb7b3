"""Learning-rate schedules: callables from the step count (0, 1, 2, ...) to a rate.

Pass one wherever an optimiser takes a learning rate; the optimiser calls it
with the number of steps already taken.

>>> from chainrule.optim import adam
>>> opt = adam(warmup_cosine(1e-2, warmup_steps=100, total_steps=1000))
>>> [round(warmup_cosine(1.0, 2, 6)(n), 3) for n in range(8)]
[0.0, 0.5, 1.0, 0.854, 0.5, 0.146, 0.0, 0.0]
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Callable, Sequence

#: A learning-rate schedule: a callable of the step count (0 on the first step).
Schedule = Callable[[int], float]

__all__ = [
    "Schedule",
    "constant",
    "exponential_decay",
    "cosine_decay",
    "warmup_cosine",
    "piecewise_constant",
]


def _positive(name: str, value: float) -> None:
    if not value > 0:
        raise ValueError(f"{name} must be positive, got {value!r}")


def constant(value: float) -> Schedule:
    """The same rate at every step.

    >>> constant(0.1)(0), constant(0.1)(1000)
    (0.1, 0.1)
    """
    value = float(value)

    def schedule(count: int) -> float:
        return value

    return schedule


def exponential_decay(
    init_value: float, decay_rate: float, decay_steps: int, staircase: bool = False
) -> Schedule:
    """``init_value * decay_rate ** (count / decay_steps)``.

    With ``staircase=True`` the exponent is rounded down, so the rate drops in
    steps every ``decay_steps``.

    >>> s = exponential_decay(1.0, 0.5, decay_steps=10)
    >>> s(0), s(10), s(20), round(s(5), 4)
    (1.0, 0.5, 0.25, 0.7071)
    >>> exponential_decay(1.0, 0.5, 10, staircase=True)(19)
    0.5
    """
    _positive("exponential_decay: decay_steps", decay_steps)
    _positive("exponential_decay: decay_rate", decay_rate)

    def schedule(count: int) -> float:
        exponent = count / decay_steps
        if staircase:
            exponent = math.floor(exponent)
        return float(init_value * decay_rate**exponent)

    return schedule


def cosine_decay(init_value: float, decay_steps: int, alpha: float = 0.0) -> Schedule:
    """Half a cosine from ``init_value`` down to ``alpha * init_value`` over ``decay_steps``,
    constant afterwards.

    >>> s = cosine_decay(1.0, decay_steps=4)
    >>> [round(s(n), 4) for n in range(6)]
    [1.0, 0.8536, 0.5, 0.1464, 0.0, 0.0]
    >>> cosine_decay(2.0, 4, alpha=0.1)(100)
    0.2
    """
    _positive("cosine_decay: decay_steps", decay_steps)

    def schedule(count: int) -> float:
        frac = min(max(count, 0), decay_steps) / decay_steps
        cosine = 0.5 * (1.0 + math.cos(math.pi * frac))
        return float(init_value * ((1.0 - alpha) * cosine + alpha))

    return schedule


def warmup_cosine(
    peak_value: float,
    warmup_steps: int,
    total_steps: int,
    init_value: float = 0.0,
    end_value: float = 0.0,
) -> Schedule:
    """Linear warm-up from ``init_value`` to ``peak_value`` over ``warmup_steps``, then
    half a cosine down to ``end_value`` at ``total_steps`` (warm-up included), then constant.

    >>> s = warmup_cosine(1.0, warmup_steps=4, total_steps=8, end_value=0.2)
    >>> [round(s(n), 3) for n in (0, 2, 4, 6, 8, 9)]
    [0.0, 0.5, 1.0, 0.6, 0.2, 0.2]
    """
    if warmup_steps < 0:
        raise ValueError(f"warmup_cosine: warmup_steps must be >= 0, got {warmup_steps!r}")
    if total_steps <= warmup_steps:
        raise ValueError(
            f"warmup_cosine: total_steps ({total_steps}) must exceed warmup_steps ({warmup_steps})"
        )
    decay_steps = total_steps - warmup_steps

    def schedule(count: int) -> float:
        if count < warmup_steps:
            return float(init_value + (peak_value - init_value) * count / warmup_steps)
        frac = min(count - warmup_steps, decay_steps) / decay_steps
        cosine = 0.5 * (1.0 + math.cos(math.pi * frac))
        return float(end_value + (peak_value - end_value) * cosine)

    return schedule


def piecewise_constant(boundaries: Sequence[int], values: Sequence[float]) -> Schedule:
    """``values[i]`` where ``i`` is the number of ``boundaries`` at or below the step count.

    ``values`` has one more entry than ``boundaries``, which must increase.

    >>> s = piecewise_constant([10, 20], [1.0, 0.1, 0.01])
    >>> s(0), s(9), s(10), s(19), s(20), s(1000)
    (1.0, 1.0, 0.1, 0.1, 0.01, 0.01)
    """
    boundaries = list(boundaries)
    values = [float(v) for v in values]
    if len(values) != len(boundaries) + 1:
        raise ValueError(
            f"piecewise_constant: need len(values) == len(boundaries) + 1, got "
            f"{len(values)} values and {len(boundaries)} boundaries"
        )
    if any(a >= b for a, b in zip(boundaries, boundaries[1:])):
        raise ValueError(f"piecewise_constant: boundaries must increase, got {boundaries}")

    def schedule(count: int) -> float:
        return values[bisect.bisect_right(boundaries, count)]

    return schedule
