"""Type variables and aliases for the transforms' signatures.

Imported only under ``TYPE_CHECKING`` (``import chainrule`` never loads
``numpy.typing``). What the signatures promise, and why:

- A gradient has the *type of the argument it differentiates* when that
  argument is an array leaf: an ``ndarray`` (same shape and dtype), a NumPy
  scalar, or a Python ``float`` (whose gradient is an ``np.float64``, a
  ``float``). ``ArrayLeafT`` is bound to exactly those, so
  ``cr.grad(f)(x)`` is ``NDArray[np.float64]`` for ``f(x: NDArray[np.float64])``.
- A pytree argument (dict, list, tuple, registered class) gets ``Any``: the
  gradient has its structure, but float leaves inside a container come back
  as 0-d arrays, so the container's own type would not be true.
- A Jacobian or Hessian of an array-leaf function of array-leaf arguments is
  an ``ndarray`` (``NDArray[Any]``: its dtype follows NumPy's promotion of the
  input and output dtypes).
- Precise types are given for ``argnums`` ``0`` (the default), ``1`` and
  ``(0, 1)``, and for ``has_aux=True`` given by keyword with the default
  ``argnums``; every other call returns an ``AnyFunction``, callable with
  anything and returning ``Any``, which is true and never rejects a correct
  program.

The results are protocols (``Transformed``, ``AnyFunction``) rather than
``Callable`` types on purpose: see ``Transformed``.
"""

from __future__ import annotations

from typing import Any, ParamSpec, Protocol, TypeAlias, TypeVar

import numpy as np
from numpy.typing import NDArray

#: What a transform accepts as a differentiated argument with a precise type.
ArrayLeaf: TypeAlias = "np.ndarray[Any, Any] | np.generic[Any] | float | complex"

#: The parameters of the function being transformed, kept by the result.
P = ParamSpec("P")
#: The differentiated argument (``argnums=0``, or the second of ``argnums=1``).
ArrayLeafT = TypeVar("ArrayLeafT", bound=ArrayLeaf)
#: The first argument when ``argnums`` is ``1`` or ``(0, 1)``.
ArrayLeaf0T = TypeVar("ArrayLeaf0T", bound=ArrayLeaf)
#: The value returned by the function (``value_and_grad``, ``vjp``, ``jvp``).
OutT = TypeVar("OutT")
#: The auxiliary data of ``has_aux=True``, returned as the function returned it.
AuxT = TypeVar("AuxT")
#: What a transformed function returns.
ResultT_co = TypeVar("ResultT_co", covariant=True)

#: A Jacobian or Hessian block.
Jacobian = NDArray[Any]


class Transformed(Protocol[P, ResultT_co]):
    """A function returned by a transform: the parameters ``P`` of the function
    it was made from, and the transform's result type.

    A protocol rather than ``Callable[P, R]``: mypy gives a ``Callable`` made
    from a function with ``Any`` parameters (a lambda) the "untyped" mark, and
    ``--strict`` would then report every call of ``cr.grad(lambda x: ...)``.
    """

    def __call__(self, *args: P.args, **kwargs: P.kwargs) -> ResultT_co: ...


class AnyFunction(Protocol):
    """A transformed function whose result has no precise static type."""

    def __call__(self, *args: Any, **kwargs: Any) -> Any: ...


class AnyValueAndGrad(Protocol):
    """``value_and_grad`` of a function without a precise type: ``(value, gradient)``."""

    def __call__(self, *args: Any, **kwargs: Any) -> tuple[Any, Any]: ...


__all__ = [
    "AnyFunction",
    "AnyValueAndGrad",
    "ArrayLeaf",
    "ArrayLeaf0T",
    "ArrayLeafT",
    "AuxT",
    "Jacobian",
    "OutT",
    "P",
    "Transformed",
]
