"""Functions that have no derivative but must work on traced values.

They run on the plain values and return plain results, recording nothing, so
their derivative is silently zero: a name belongs here only if that is true,
i.e. its outputs are integer, boolean, shape-only or piecewise constant in the
input (``floor``, ``round``, ``sign`` of real values), or constructors that only
take a shape or dtype from their argument. Anything whose output moves with
the input (``unique``'s values, ``histogram``'s bin edges) needs derivative
rules or must stay unregistered, so that it raises ``NotImplementedError``.
tests/test_nondiff_audit.py enumerates this set (every module's additions
included) and checks each name numerically.
"""

from __future__ import annotations

import numpy as np

from ..core.registry import NONDIFF

_UFUNCS = """
greater greater_equal less less_equal equal not_equal
logical_and logical_or logical_not logical_xor
isnan isinf isfinite signbit sign floor ceil rint trunc floor_divide
bitwise_and bitwise_or bitwise_xor invert left_shift right_shift
""".split()

_FUNCTIONS = """
argmax argmin argsort nonzero flatnonzero argwhere count_nonzero searchsorted
shape ndim size result_type isclose allclose array_equal array_equiv
zeros_like ones_like empty_like
round around fix isreal iscomplex isrealobj iscomplexobj
may_share_memory shares_memory
""".split()

NONDIFF.update(getattr(np, name) for name in _UFUNCS + _FUNCTIONS if hasattr(np, name))

# The other answers NumPy names get besides a rule: refused with a reason
# (histogram, vectorize, dtype classes...), and the hints that conversions
# NumPy makes before our dispatch sees them (random draws) add to their error.
from . import _conversion_hints, _refusals, _upper_floors  # noqa: E402,F401
