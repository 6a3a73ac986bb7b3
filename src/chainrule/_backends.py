"""Arrays of other libraries that speak NumPy's protocols (Dask, CuPy, ...).

chainrule reaches arrays through NumPy's own dispatch: a ufunc called on a
Dask or CuPy array goes to that array's ``__array_ufunc__`` (NEP 13), a NumPy
function to its ``__array_function__`` (NEP 18), and ``np.zeros_like(x)`` or
``np.zeros(shape, like=x)`` (NEP 35) make a new array of ``x``'s kind. So a
traced value can wrap such an array unchanged, and the derivative rules run
on it as they do on an ndarray, as long as they never turn it into an ndarray
(``np.asarray`` would compute a Dask array or copy a CuPy array to the host)
and never write into it in place (Dask arrays are immutable). This module
says which values are such *foreign* arrays and makes new arrays of their kind.

>>> import numpy as np
>>> is_foreign(np.zeros(2)), is_foreign(2.0)
(False, False)
>>> zeros((2,), np.float64, like=np.ones(3))
array([0., 0.])
"""

from __future__ import annotations

import importlib
from types import ModuleType
from typing import Any

import numpy as np

# Labelled arrays implement the protocols too, but change what arithmetic
# means (alignment by label); transforms/_foreign.py refuses them by name.
_REFUSED_LIBRARIES = ("pandas", "xarray")


def is_foreign(x: Any) -> bool:
    """Whether ``x`` is an array of another library that implements NumPy's
    dispatch protocols (``__array_ufunc__`` and ``__array_function__``) and
    describes itself with a NumPy ``shape`` and ``dtype``: a Dask or CuPy array.
    NumPy's own arrays and scalars, and chainrule's traced values, are not."""
    if isinstance(x, (np.ndarray, np.generic)):
        return False
    cls = type(x)
    if getattr(cls, "__array_function__", None) is None:
        return False
    if getattr(cls, "__array_ufunc__", None) is None:
        return False
    module = cls.__module__ or ""
    if module.split(".")[0] in _REFUSED_LIBRARIES or module.startswith("chainrule."):
        return False
    shape = getattr(x, "shape", None)
    return isinstance(getattr(x, "dtype", None), np.dtype) and type(shape) is tuple


def library(x: Any) -> str:
    """The top-level package of a foreign array's class: ``"dask"``, ``"cupy"``."""
    return (type(x).__module__ or "").split(".")[0]


def namespace(x: Any) -> ModuleType:
    """The module whose functions make arrays of ``x``'s kind: the array API
    namespace where the array offers one, ``dask.array`` for Dask, the
    library's top-level package otherwise (``cupy``), ``numpy`` for NumPy."""
    if not is_foreign(x):
        return np
    get = getattr(x, "__array_namespace__", None)
    if get is not None:
        try:
            ns: ModuleType = get()
            return ns
        except Exception:  # an array API it does not support for this array: fall back
            pass
    name = library(x)
    if name == "dask":
        name = "dask.array"
    return importlib.import_module(name)


def zeros(shape: tuple[int, ...], dtype: Any, like: Any) -> Any:
    """An array of zeros of ``like``'s kind (an ndarray for NumPy values and
    numbers). A Dask result of ``like``'s own shape keeps its chunks."""
    if not is_foreign(like):
        return np.zeros(shape, dtype=dtype)
    if tuple(shape) == like.shape:
        return np.zeros_like(like, dtype=dtype)
    return np.zeros_like(like, dtype=dtype, shape=shape)


def ones(shape: tuple[int, ...], dtype: Any, like: Any) -> Any:
    """An array of ones of ``like``'s kind; see ``zeros``."""
    if not is_foreign(like):
        return np.ones(shape, dtype=dtype)
    if tuple(shape) == like.shape:
        return np.ones_like(like, dtype=dtype)
    return np.ones_like(like, dtype=dtype, shape=shape)
