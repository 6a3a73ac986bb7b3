"""``chainrule.numpy.polynomial.polynomial``: ``numpy.polynomial.polynomial``
with derivative rules attached.

NumPy's own functions here convert their arguments with ``np.array``, which
a traced value refuses, so traced coefficients need these versions (same
names, same signatures). Names without a rule (the ``Polynomial`` class, the
constants ``polyx``, ``polyone``...) fall through to NumPy's.

>>> import chainrule as cr, numpy as np
>>> import chainrule.numpy.polynomial.polynomial as P
>>> cr.grad(lambda c: P.polyval(2.0, c))(np.array([1.0, 1.0, 1.0]))
array([1., 2., 4.])
"""

from __future__ import annotations

import numpy.polynomial.polynomial as _P

from ...core.registry import populate as _populate

_populate(globals(), _P, "numpy.polynomial.polynomial")
