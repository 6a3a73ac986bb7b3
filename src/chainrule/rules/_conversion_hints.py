"""Sentences naming the fix when NumPy code that cannot route to chainrule
converts a traced value: a random draw with a traced parameter
(``rng.normal(loc=x)``) and ``np.vectorize``.

Both convert their arguments to plain numbers before any of our dispatch can
see them, so the refusal comes from the conversion (``ConversionError``);
these hints, registered on core's ``CONVERSION_HINTS`` extension point, put the
reparameterised form (or the array-operations advice) in front of its message.
"""

from __future__ import annotations

import linecache
import re
import sys
from types import FrameType
from typing import Any

from ..core.array_facade import CONVERSION_HINTS

# Generator / RandomState method -> the same draw written so that its
# parameters enter through differentiable arithmetic on a parameter-free draw.
REPARAMETERISED = {
    "normal": "loc + scale * rng.standard_normal(shape)",
    "uniform": "low + (high - low) * rng.random(shape)",
    "exponential": "scale * rng.standard_exponential(shape)",
    "lognormal": "np.exp(mean + sigma * rng.standard_normal(shape))",
    "laplace": "loc + scale * rng.laplace(size=shape)",
    "logistic": "loc + scale * rng.logistic(size=shape)",
    "gumbel": "loc + scale * rng.gumbel(size=shape)",
    "rayleigh": "scale * rng.rayleigh(size=shape)",
    "standard_cauchy": "loc + scale * rng.standard_cauchy(shape)",
    "multivariate_normal": "mean + rng.standard_normal(shape + (d,)) @ np.linalg.cholesky(cov).T",
    "gamma": "scale * rng.standard_gamma(k, shape) (the scale differentiates; the shape k "
    "has no reparameterisation in NumPy)",
    "weibull": "scale * rng.weibull(a, shape)",
}

_CALL = re.compile(r"\.\s*([A-Za-z_]\w*)\s*\(")


def _first_outside_chainrule(frame: FrameType | None) -> FrameType | None:
    """The user's frame: the first that is neither chainrule's nor NumPy's own
    (np.mean's Python layers convert the list on the user's behalf)."""
    while frame is not None:
        module = frame.f_globals.get("__name__") or ""
        if not module.startswith(("chainrule.", "numpy.")) and module not in ("numpy", "chainrule"):
            return frame
        frame = frame.f_back
    return None


def _call_source(frame: FrameType) -> str:
    """The source of the call expression ``frame`` is executing ("" if unknown)."""
    try:
        # co_positions: Python 3.11+ (3.10 gets the AttributeError, so no hint)
        positions = list(frame.f_code.co_positions())[frame.f_lasti // 2]  # type: ignore[attr-defined]
    except (AttributeError, IndexError):
        return ""
    line, end_line, col, end_col = positions
    if line is None or end_line is None or col is None or end_col is None:
        return ""
    filename = frame.f_code.co_filename
    lines = [linecache.getline(filename, n) for n in range(line, end_line + 1)]
    if not lines or not lines[0]:
        return ""
    if len(lines) == 1:
        return lines[0][col:end_col]
    return lines[0][col:] + "".join(lines[1:-1]) + lines[-1][:end_col]


def random_draw_hint(frame: FrameType | None = None) -> str:
    """The reparameterised form of a ``numpy.random`` draw being made with a
    traced parameter, or "".

    NumPy's Generator methods are compiled code, so the frame converting the
    traced value is the caller's: the call expression it is executing names
    the method.

    >>> random_draw_hint(None)
    ''
    """
    if frame is None:
        return ""
    caller = _first_outside_chainrule(frame)
    if caller is None:
        return ""
    source = _call_source(caller)
    methods = _CALL.findall(source)
    if not methods:
        return ""
    method = methods[0]
    generator = ("random" in source) or any(
        isinstance(v, (_np_random().Generator, _np_random().RandomState))
        for v in (*caller.f_locals.values(), *caller.f_globals.values())
    )
    if not generator or not hasattr(_np_random().Generator, method):
        return ""
    form = REPARAMETERISED.get(method, "a parameter-free draw transformed by array operations")
    return (
        f"numpy.random's {method}() converts its parameters to plain numbers, so a traced "
        f"parameter cannot be differentiated through the draw: write it reparameterised, "
        f"{form}, drawing from the rng with plain arguments only."
    )


def _np_random() -> Any:
    import numpy.random

    return numpy.random


PANDAS_HINT = (
    "pandas cannot carry traced values: it converts them with np.asarray, which would drop "
    "the derivative. Use NumPy arrays inside the differentiated function and build the "
    "Series or DataFrame outside it, from the result."
)


def pandas_hint(frame: FrameType | None = None) -> str:
    """The advice when pandas code (``pd.Series(x)``, ``series * x``) converts a traced value."""
    if "pandas" not in sys.modules:
        return ""
    while frame is not None:
        if (frame.f_globals.get("__name__") or "").startswith("pandas."):
            return PANDAS_HINT
        frame = frame.f_back
    return ""


def vectorize_hint(frame: FrameType | None = None) -> str:
    """The advice for ``np.vectorize`` (and ``np.frompyfunc``) converting a traced value."""
    while frame is not None:
        module = frame.f_globals.get("__name__") or ""
        # co_qualname is Python 3.11+; on 3.10 the function name (_vectorize_call) still says so
        name = getattr(frame.f_code, "co_qualname", frame.f_code.co_name)
        if module.startswith("numpy") and "vectorize" in name:
            return (
                "np.vectorize runs a Python function per element on plain values, so it "
                "cannot carry a derivative: write the function with array operations "
                "(np.where for branches), which differentiate."
            )
        frame = frame.f_back
    return ""


_NUMPY_CALL = re.compile(r"^\s*(?:np|numpy)\.([A-Za-z_]\w*)\s*\(")


def type_hint(frame: FrameType | None = None) -> str:
    """The advice for a NumPy type called on a traced value (``np.float64(x)``), or ""."""
    import numpy as np

    caller = _first_outside_chainrule(frame)
    if caller is None:
        return ""
    match = _NUMPY_CALL.match(_call_source(caller))
    if match is None or not isinstance(getattr(np, match.group(1), None), type):
        return ""
    return (
        f"np.{match.group(1)} is a type, not a function of values: convert with "
        f"x.astype(np.{match.group(1)}), which keeps the derivative."
    )


_LIST_CALL = re.compile(r"^\s*(?:np|numpy)\.([A-Za-z_][\w.]*)\s*\(\s*[\[(]")
_INDEX_TRICK = re.compile(r"^\s*(?:np|numpy)\.(r_|c_)\s*\[")
_DOT_METHOD = re.compile(r"\.dot\s*\(")


def list_hint(frame: FrameType | None = None) -> str:
    """The ``chainrule.numpy`` form of a plain NumPy call that converts a list
    holding traced values (``np.mean([x, y])``, ``np.r_[x, y]``,
    ``plain.dot(x)``), or ""."""
    caller = _first_outside_chainrule(frame)
    if caller is None:
        return ""
    source = _call_source(caller)
    trick = _INDEX_TRICK.match(source)
    if trick is not None:
        name = trick.group(1)
        return (
            f"np.{name}[...] converts its pieces before chainrule sees them: use "
            f"chainrule.numpy.{name}[...] (import chainrule.numpy as cnp), which builds the "
            "array from traced pieces."
        )
    call = _LIST_CALL.match(source)
    if call is not None:
        name = call.group(1)
        return (
            f"np.{name} converts a list (or tuple) with np.asarray before chainrule sees "
            f"the traced values in it: call cnp.{name} (import chainrule.numpy as cnp), "
            "which accepts lists of traced values, or build the array with np.stack first."
        )
    if _DOT_METHOD.search(source):
        return (
            "plain_array.dot(x) is NumPy's own method and converts x: write "
            "plain_array @ x or np.dot(plain_array, x)."
        )
    return ""


def _hint() -> str:
    frame = sys._getframe(1)
    return (
        pandas_hint(frame)
        or vectorize_hint(frame)
        or random_draw_hint(frame)
        or type_hint(frame)
        or list_hint(frame)
    )


if _hint not in CONVERSION_HINTS:
    CONVERSION_HINTS.append(_hint)
