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

Like autograd's namespace, every function here also accepts (nested) lists
and tuples holding traced values where NumPy accepts an array, and ``r_`` and
``c_`` build arrays from traced pieces:

>>> float(cr.grad(lambda x: cnp.mean([x, 2.0 * x]))(1.0))
1.5
"""

from __future__ import annotations

import builtins as _builtins
import functools as _functools
from typing import Any

import numpy as _np

from ..core.registry import populate as _populate
from ..core.trace import Tracer as _Tracer
from ..rules.arrange import concatenate as _concatenate
from ..rules.shape import astype as _astype
from ..rules.shape import reshape as _reshape
from ..rules.shape import stack as _stack
from . import fft, linalg

# This module's globals become NumPy's names (any, all, sum, ...): the
# builtins are spelled out where this file uses them.
_any = _builtins.any

# Every NumPy name with rules, DIFFERENTIABLE (their list), and a module
# __getattr__ through which everything else is NumPy's own object (whose
# dispatch still reaches our tables).
_populate(globals(), _np, "numpy")
astype = _astype


def _traced_dtype(obj: Any) -> Any:
    """The common dtype of the traced values in a nested list (None if none is inexact)."""
    found: list[Any] = []

    def walk(o: Any) -> None:
        if isinstance(o, _Tracer):
            found.append(o.dtype)
        elif isinstance(o, (list, tuple)):
            for item in o:
                walk(item)

    walk(obj)
    dtype = _np.result_type(*found) if found else None
    return dtype if dtype is not None and _np.issubdtype(dtype, _np.inexact) else None


def _array(obj: Any, dtype: Any) -> Any:
    if isinstance(obj, _Tracer):
        return obj
    if isinstance(obj, (list, tuple)) and _any(_contains_tracer(o) for o in obj):
        return _stack([_array(o, dtype) for o in obj])
    # Plain pieces take the traced values' dtype, so that [x32, 1.0] stays float32
    # (a float64 piece would promote the whole array).
    plain = _np.asarray(obj)
    if (
        dtype is not None
        and plain.dtype.kind in "biuf"
        and _np.can_cast(plain.dtype, dtype, "same_kind")
    ):
        return plain.astype(dtype)
    if dtype is not None and plain.dtype.kind in "biu":
        return plain.astype(dtype)
    return plain


def array(obj: Any, dtype: Any = None) -> Any:
    """``numpy.array`` that accepts (nested lists of) traced values.

    >>> import chainrule as cr, chainrule.numpy as cnp
    >>> cr.jacfwd(lambda x: cnp.array([x[0] * x[1], x[0] + x[1]]))(cnp.ones(2))
    array([[1., 1.],
           [1., 1.]])
    """
    if isinstance(obj, (list, tuple)) and _any(_contains_tracer(o) for o in obj):
        out = _array(obj, _traced_dtype(obj))
        return out if dtype is None else _astype(out, dtype)
    return obj if isinstance(obj, _Tracer) else _np.array(obj, dtype=dtype)


asarray = array


def _contains_tracer(obj: Any) -> bool:
    if isinstance(obj, _Tracer):
        return True
    return isinstance(obj, (list, tuple)) and _any(_contains_tracer(o) for o in obj)


# Functions taking a sequence of arrays, whose pieces may differ in shape
# (concatenate([x, y]) with len(x) != len(y)): their lists are not stacked.
_SEQUENCE_FUNCTIONS = frozenset(
    """concatenate concat stack vstack hstack dstack column_stack row_stack block
    broadcast_arrays meshgrid select piecewise choose""".split()
)


def _converted(value: Any) -> Any:
    if isinstance(value, (list, tuple)) and _contains_tracer(value):
        return array(value)
    return value


def _accept_lists(fn: Any) -> Any:
    """``fn`` with list/tuple arguments holding traced values stacked into arrays."""

    @_functools.wraps(fn)
    def accepting(*args: Any, **kwargs: Any) -> Any:
        args = tuple(_converted(a) for a in args)
        kwargs = {k: _converted(v) for k, v in kwargs.items()}
        return fn(*args, **kwargs)

    return accepting


def _wrap_namespace() -> None:
    wrapped: dict[int, Any] = {}  # aliases (expit, sigmoid) stay one object
    for name in globals()["DIFFERENTIABLE"]:  # set by _populate
        fn = globals()[name]
        if name in _SEQUENCE_FUNCTIONS or name in ("array", "asarray") or not callable(fn):
            continue
        if id(fn) not in wrapped:
            wrapped[id(fn)] = _accept_lists(fn)
        globals()[name] = wrapped[id(fn)]


_wrap_namespace()


def _piece(item: Any, dtype: Any) -> Any:
    if isinstance(item, slice):
        return _np.r_[item]
    value = _array(item, dtype) if isinstance(item, (list, tuple)) else item
    if isinstance(value, _Tracer):
        return value if value.ndim >= 1 else _reshape(value, (1,))
    value = _np.asarray(value)
    if dtype is not None and value.dtype.kind in "biuf":
        value = value.astype(dtype)
    return value.reshape(1) if value.ndim == 0 else value


class _Concatenator:
    """``r_`` / ``c_`` for traced pieces: NumPy's own object when nothing is traced."""

    def __init__(self, plain: Any, columns: bool) -> None:
        self._plain = plain
        self._columns = columns

    def __getitem__(self, key: Any) -> Any:
        items = key if isinstance(key, tuple) else (key,)
        if not _contains_tracer(list(items)):
            return self._plain[key]
        if _any(isinstance(i, str) for i in items):
            raise ValueError(
                "chainrule.numpy's r_/c_ take no string directives with traced pieces: "
                "use cnp.concatenate or cnp.stack with axis= instead"
            )
        dtype = _traced_dtype(list(items))
        pieces = [_piece(i, dtype) for i in items]
        if not self._columns:
            return _concatenate(pieces, axis=0)
        # c_: 1-D pieces become columns, then side by side (NumPy's '-1,2,0').
        cols = [_reshape(p, (-1, 1)) if _np.ndim(p) == 1 else p for p in pieces]
        return _concatenate(cols, axis=-1)

    def __len__(self) -> int:
        return 0


r_ = _Concatenator(_np.r_, columns=False)
c_ = _Concatenator(_np.c_, columns=True)
