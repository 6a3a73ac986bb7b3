"""Elementwise ufuncs with one smooth argument: ``ldexp`` (``x1 * 2**x2`` for
an integer ``x2``), ``nextafter`` (``x1`` moved by one unit in the last place:
locally ``x1`` plus a constant) and ``heaviside`` (a step in ``x1`` whose value
at 0 is ``x2``)."""

from __future__ import annotations

import numpy as np

from ..core.trace import strip
from .elementwise import binary

# x2 is an integer exponent: no derivative in it; 2**x2 overflows for large x2.
binary(np.ldexp, lambda y: np.exp2(strip(y)), None, zero_safe=True)
# Moving by one ulp is piecewise constant in x2 (the direction) and slope 1 in x1.
binary(np.nextafter, 1, None)
# The step is flat in x1 away from 0; at x1 == 0 the value is x2 itself.
binary(np.heaviside, None, lambda x: np.where(strip(x) == 0, 1.0, 0.0))
