"""Array-like values chainrule does not differentiate, and what to say about them.

pandas and xarray objects, ``np.matrix`` and NumPy masked arrays look like
arrays but each changes the meaning of the arithmetic (labels and alignment,
``*`` as a matrix product, elements left out by a mask), so a derivative taken
through them would be wrong or ill-defined. They are refused with a message
that names the conversion to make. pandas and xarray are recognised by the
module their classes come from, so neither has to be installed (or imported).

>>> import numpy as np
>>> print(refusal(np.ma.masked_array([1.0, 2.0], mask=[0, 1]), "argument 0", "grad"))
grad: argument 0 is a masked array (np.ma); masks are not differentiated, ...
>>> refusal(np.zeros(2), "argument 0", "grad") is None
True
"""

from __future__ import annotations

from typing import Any

import numpy as np

_LABELLED = ("pandas", "xarray")
_ARTICLE = {"pandas": "a", "xarray": "an"}


def _library(obj: Any) -> str | None:
    """'pandas' or 'xarray' when ``obj``'s class comes from one of them."""
    module = type(obj).__module__ or ""
    for name in _LABELLED:
        if module == name or module.startswith(name + "."):
            return name
    return None


def refusal(leaf: Any, where: str, fname: str) -> TypeError | None:
    """The error for an input leaf of a kind chainrule refuses, or None for any other leaf.

    ``where`` names the leaf (``"argument 0"``, ``"tangent leaf 1"``) and
    ``fname`` the transform, as in the other input errors.
    """
    kind = type(leaf).__name__
    library = _library(leaf)
    if library is not None:
        return TypeError(
            f"{fname}: {where} is {_ARTICLE[library]} {library} {kind}. chainrule "
            f"differentiates NumPy arrays, not {library} objects: pass x.to_numpy() (or "
            f"x.values) instead, and build the {kind} from the result outside the "
            "differentiated function."
        )
    if isinstance(leaf, np.matrix):
        return TypeError(
            f"{fname}: {where} is an np.matrix, whose * and ** mean matrix products and whose "
            "results are always 2-d, so it cannot stand for an array being differentiated. "
            "Pass np.asarray(m) instead (and write the matrix product as @)."
        )
    if isinstance(leaf, np.ma.MaskedArray):
        return TypeError(
            f"{fname}: {where} is a masked array (np.ma); masks are not differentiated, and "
            "the derivative of the hidden elements would be meaningless. Pass x.filled(value) "
            "for a plain array, or keep the mask as a boolean array and select with "
            "np.where(mask, fill, x) inside the function."
        )
    return None


def refused_output(leaf: Any, k: int, fname: str) -> TypeError | None:
    """The error for a function output built with pandas or xarray, or None."""
    library = _library(leaf)
    if library is None:
        return None
    kind = type(leaf).__name__
    fix = (
        "Return its .data (xarray keeps the traced values there)"
        if library == "xarray"
        else "Compute with NumPy arrays inside the function and return those"
    )
    return TypeError(
        f"{fname}: the function returned {_ARTICLE[library]} {library} {kind} (output leaf "
        f"{k}); transforms return arrays, not {library} objects. {fix}, and build the "
        f"{kind} from the result outside the differentiated function."
    )
