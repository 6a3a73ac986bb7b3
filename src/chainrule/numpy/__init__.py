"""``chainrule.numpy``: NumPy's functions with derivative rules attached.

Use it like ``numpy``: ``import chainrule.numpy as cnp``. Plain ``numpy``
calls on traced values reach the same rules through NumPy's dispatch
protocols, so existing code needs no change; importing from here skips that
dispatch and documents intent. Names without a rule of ours (constants,
dtypes, constructors, functions not yet covered) fall through to NumPy itself,
which raises a clear error if one of them meets a traced value.

>>> import chainrule as cr, chainrule.numpy as cnp
>>> float(cr.grad(lambda x: cnp.sin(x) * x)(0.5))
0.9182...
"""

from __future__ import annotations

from typing import Any

import numpy as _np

from ..core.registry import UFUNCS as _UFUNCS
from ..core.trace import Tracer as _Tracer
from ..rules.products import dot
from ..rules.reductions import max, mean, min, prod, sum
from ..rules.shape import (
    astype,
    broadcast_to,
    clip,
    expand_dims,
    ravel,
    reshape,
    squeeze,
    swapaxes,
    transpose,
    where,
)
from ..rules.shape import (
    stack as _stack,
)

add = _UFUNCS[_np.add]
subtract = _UFUNCS[_np.subtract]
multiply = _UFUNCS[_np.multiply]
divide = true_divide = _UFUNCS[_np.true_divide]
power = _UFUNCS[_np.power]
negative = _UFUNCS[_np.negative]
positive = _UFUNCS[_np.positive]
square = _UFUNCS[_np.square]
reciprocal = _UFUNCS[_np.reciprocal]
absolute = abs = _UFUNCS[_np.absolute]
maximum = _UFUNCS[_np.maximum]
minimum = _UFUNCS[_np.minimum]
exp = _UFUNCS[_np.exp]
log = _UFUNCS[_np.log]
sqrt = _UFUNCS[_np.sqrt]
sin = _UFUNCS[_np.sin]
cos = _UFUNCS[_np.cos]
tanh = _UFUNCS[_np.tanh]
matmul = _UFUNCS[_np.matmul]
amax = max
amin = min


stack = _stack


def array(obj: Any, dtype: Any = None) -> Any:
    """``numpy.array`` that accepts (nested lists of) traced values."""
    if isinstance(obj, (list, tuple)) and any(_contains_tracer(o) for o in obj):
        out = stack([array(o) for o in obj])
        return out if dtype is None else astype(out, dtype)
    return obj if isinstance(obj, _Tracer) else _np.array(obj, dtype=dtype)


asarray = array


def _contains_tracer(obj: Any) -> bool:
    if isinstance(obj, _Tracer):
        return True
    return isinstance(obj, (list, tuple)) and any(_contains_tracer(o) for o in obj)


def __getattr__(name: str) -> Any:
    # Everything else is NumPy's own object; its dispatch reaches our tables.
    try:
        return getattr(_np, name)
    except AttributeError:
        raise AttributeError(f"module 'chainrule.numpy' has no attribute {name!r}") from None
