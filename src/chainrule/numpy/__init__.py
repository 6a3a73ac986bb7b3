"""``chainrule.numpy``: NumPy's functions with derivative rules attached.

Use it like ``numpy``: ``import chainrule.numpy as cnp``. Plain ``numpy``
calls on traced values reach the same rules through NumPy's dispatch
protocols, so existing code needs no change; importing from here skips that
dispatch and documents intent. This namespace is built from the rule table:
every NumPy function with a rule appears here under NumPy's name, beside
extras NumPy lacks (such as ``logsumexp``). Other names (constants, dtypes,
constructors, functions not yet covered) fall through to NumPy itself, which
raises a clear error if one of them meets a traced value.

>>> import chainrule as cr, chainrule.numpy as cnp
>>> float(cr.grad(lambda x: cnp.sin(x) * x)(0.5))
0.9182...
"""

from __future__ import annotations

from typing import Any

import numpy as _np

from ..core.registry import populate as _populate
from ..core.trace import Tracer as _Tracer
from ..rules.shape import astype as _astype
from ..rules.shape import stack as _stack
from . import fft, linalg

# Every NumPy name with rules, DIFFERENTIABLE (their list), and a module
# __getattr__ through which everything else is NumPy's own object (whose
# dispatch still reaches our tables).
_populate(globals(), _np, "numpy")
astype = _astype


def array(obj: Any, dtype: Any = None) -> Any:
    """``numpy.array`` that accepts (nested lists of) traced values.

    >>> import chainrule as cr, chainrule.numpy as cnp
    >>> cr.jacfwd(lambda x: cnp.array([x[0] * x[1], x[0] + x[1]]))(cnp.ones(2))
    array([[1., 1.],
           [1., 1.]])
    """
    if isinstance(obj, (list, tuple)) and any(_contains_tracer(o) for o in obj):
        out = _stack([array(o) for o in obj])
        return out if dtype is None else _astype(out, dtype)
    return obj if isinstance(obj, _Tracer) else _np.array(obj, dtype=dtype)


asarray = array


def _contains_tracer(obj: Any) -> bool:
    if isinstance(obj, _Tracer):
        return True
    return isinstance(obj, (list, tuple)) and any(_contains_tracer(o) for o in obj)
