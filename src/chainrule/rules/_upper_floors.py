"""The hooks through which the floors above core reach traced values.

Core imports nothing above it: what ``chainrule.scipy``, ``chainrule.sparse``
and ``chainrule.array_api`` add to a traced value is registered here, on core's
extension points (``registry.ATTRIBUTES``, ``registry.UFUNC_LOADERS``,
``array_facade.CONVERSION_HINTS``), when the rules load — before any tracer
exists. Each hook imports its floor only when it has something to do, so SciPy
stays optional and unimported until the user's code imports it.

* ``scipy.special``'s functions are NumPy ufuncs: a plain ``scipy.special.erf(x)``
  reaches the tracer's ufunc protocol, and the first time one without rules
  meets a traced value, ``load_scipy_rules`` imports ``chainrule.scipy``, which
  registers the rules of all of them.
* A plain SciPy function that converts its input (``scipy.stats.norm.logpdf``
  calls ``np.asarray``) ends in a ``ConversionError``; ``scipy_hint`` puts the
  ``chainrule.scipy`` function to call instead in front of its message, whether
  or not ``chainrule.scipy`` was imported before.
* ``L @ x`` and ``x @ L`` with a constant ``scipy.sparse`` matrix ``L``: SciPy asks
  the traced value's ``__array__`` and then its ``__rmatmul__``; ``x @ L`` reaches
  its ``__matmul__`` (``chainrule/sparse/linear.py``).
* ``for row in x`` unstacks ``x`` with one primitive (``rules/arrange.py``).
* Array-API libraries (``array_api_extra``, scikit-learn) write ``x[i] = v`` into
  arrays they made; ``chainrule/array_api.py`` turns that into a functional
  update, and ``x.__array_namespace__()`` returns that module.
"""

from __future__ import annotations

import importlib
import sys
from types import FrameType
from typing import Any

from ..core.array_facade import CONVERSION_HINTS
from ..core.registry import ATTRIBUTES, UFUNC_LOADERS


def load_scipy_rules(ufunc: Any) -> bool:
    """Import ``chainrule.scipy`` if ``ufunc`` is one of ``scipy.special``'s and
    it has not been imported yet; True when it was (the rules may now exist)."""
    special = sys.modules.get("scipy.special")
    if special is None or "chainrule.scipy" in sys.modules:
        return False
    if getattr(special, ufunc.__name__, None) is not ufunc:
        return False
    importlib.import_module("chainrule.scipy")
    return True


def scipy_hint() -> str:
    """The sentence naming the ``chainrule.scipy`` replacement of the SciPy
    function converting a traced value now, or "" (asked only on the way to an
    error, so importing ``chainrule.scipy`` here costs nothing that matters)."""
    if "scipy" not in sys.modules:
        return ""
    from ..scipy._hints import hint_for_current_call

    return hint_for_current_call(sys._getframe(1)) or ""


def sparse_conversion(frame: FrameType | None) -> Any:
    """``x.__array__()`` asked by ``frame``: scipy.sparse's answer, or None."""
    if "scipy.sparse" not in sys.modules:
        return None
    from ..sparse.linear import scipy_sparse_conversion

    return scipy_sparse_conversion(frame)


def sparse_rmatmul(x: Any, a: Any) -> Any:
    """``a @ x`` for a constant scipy.sparse ``a``; ``NotImplemented`` otherwise."""
    if "scipy.sparse" not in sys.modules:
        return NotImplemented
    from ..sparse.linear import rmatmul

    return rmatmul(x, a)


def sparse_matmul(x: Any, a: Any) -> Any:
    """``x @ a`` for a constant scipy.sparse ``a``; ``NotImplemented`` otherwise."""
    if "scipy.sparse" not in sys.modules:
        return NotImplemented
    from ..sparse.linear import lmatmul

    return lmatmul(x, a)


def array_namespace() -> Any:
    """The array-API namespace of traced values (imported on first use)."""
    from .. import array_api

    return array_api


def library_setitem(x: Any, idx: Any, value: Any, frame: FrameType | None) -> Any:
    """``x[idx] = value`` written by an array-API library into an array it made:
    rebound as a functional update; ``NotImplemented`` for anyone else's code."""
    api = sys.modules.get("chainrule.array_api")  # loaded once array-API code asked
    if api is None or not api.library_owns_update(frame):
        return NotImplemented
    return api.rebind_setitem(x, idx, value)


def iterate(x: Any) -> Any:
    """``iter(x)``: one split of the whole array (``np.unstack``'s rule), not one
    indexing primitive per row, whose cotangents would each be a full-size array."""
    from .arrange import unstack

    return iter(unstack(x))


if load_scipy_rules not in UFUNC_LOADERS:
    UFUNC_LOADERS.append(load_scipy_rules)
if scipy_hint not in CONVERSION_HINTS:
    CONVERSION_HINTS.insert(0, scipy_hint)  # before the general hints, as it was
ATTRIBUTES["__array__"] = sparse_conversion
ATTRIBUTES["__rmatmul__"] = sparse_rmatmul
ATTRIBUTES["__matmul__"] = sparse_matmul
ATTRIBUTES["__array_namespace__"] = array_namespace
ATTRIBUTES["__setitem__"] = library_setitem
ATTRIBUTES["__iter__"] = iterate
