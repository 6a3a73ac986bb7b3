"""Reading ``NAME=VALUE`` assignments (``--at``, ``--tangent``).

Values are themselves safe expressions without variables (``3``,
``[1, 2, 3]``, ``linspace(0, 1, 5)``, ``pi/4``), read as float arrays because
only floating-point inputs have derivatives.
"""

from __future__ import annotations

import keyword
import unicodedata

import numpy as np

from . import limits
from .errors import MathError, UsageError
from .evaluate import Evaluator
from .expressions import parse
from .functions import FUNCTIONS, MODULE_NAMES


def normal_name(name: str) -> str:
    """``name`` as Python reads identifiers (NFKC-normalised), so that ``--at ﬁ=1``
    binds the ``fi`` an expression spells with the same ligature.

    >>> normal_name("\ufb01"), normal_name("\U0001d465")
    ('fi', 'x')
    """
    return unicodedata.normalize("NFKC", name.strip())


def parse_assignments(items: list[str] | None, option: str) -> dict[str, np.ndarray]:
    """``["x=1", "y=[1,2]"]`` -> ``{"x": array(1.), "y": array([1., 2.])}``.

    >>> parse_assignments(["x1=3", "x2=[1, 2]"], "--at")
    {'x1': array(3.), 'x2': array([1., 2.])}
    """
    values: dict[str, np.ndarray] = {}
    if len(items or []) > limits.MAX_VARIABLES:
        raise UsageError(
            f"{option} gives {len(items or []):,} values; the limit is {limits.MAX_VARIABLES:,} "
            '(use arrays, such as "x=[1, 2, 3]", for many numbers)'
        )
    for item in items or []:
        name, sep, text = item.partition("=")
        name = normal_name(name)
        if not sep or not text.strip():
            raise UsageError(f'{option} expects NAME=VALUE, like x=3 or "x=[1, 2]"; got {item!r}')
        check_variable_name(name, option)
        if name in values:
            raise UsageError(f"{option} gives '{name}' twice")
        values[name] = read_value(text, name)
    return values


def check_variable_name(name: str, option: str) -> None:
    """A variable must be a plain identifier that is not a function's name."""
    if len(name) > limits.MAX_NAME:
        raise UsageError(
            f"{option}: a variable name of {len(name):,} characters; the limit is {limits.MAX_NAME}"
        )
    if not name.isidentifier() or keyword.iskeyword(name):
        raise UsageError(f"{option}: {name!r} is not a valid variable name")
    if name.startswith("_"):
        raise UsageError(f"{option}: variable names may not start with '_' ({name!r})")
    if name in MODULE_NAMES:
        raise UsageError(f"{option}: '{name}' is a module's name; choose another variable name")
    if name in FUNCTIONS:
        raise UsageError(
            f"{option}: '{name}' is the name of a function; choose another variable name"
        )


def read_value(text: str, name: str) -> np.ndarray:
    """The float array written as ``text`` (a safe expression without variables)."""
    what = f"value of {name}"
    expression = parse(text, what)
    if expression.names and not set(expression.names) <= {"pi", "e", "inf", "nan"}:
        unknown = [n for n in expression.names if n not in ("pi", "e", "inf", "nan")]
        raise UsageError(f"the {what} uses '{unknown[0]}'; values may not refer to variables")
    value = Evaluator(expression).run({})
    dtype = getattr(value, "dtype", np.result_type(value))
    if dtype.kind not in "biuf":
        raise UsageError(f"the {what} must be a real number or array, not {dtype}")
    try:
        return np.asarray(value, dtype=float)
    except (TypeError, ValueError) as e:  # pragma: no cover - guarded by Evaluator
        raise MathError(f"the {what}: {e}") from None
