"""Functions that have no derivative but must work on traced values.

They run on the plain values and return plain results, recording nothing:
integer-valued, boolean and shape-only functions, and constructors that only
take a shape or dtype from their argument.
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
