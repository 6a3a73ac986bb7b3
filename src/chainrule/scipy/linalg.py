"""``chainrule.scipy.linalg``: ``solve_triangular``, ``cho_factor``/``cho_solve``
and ``expm`` with derivative rules, on stacks of matrices as in SciPy.

Plain ``scipy.linalg`` calls convert their inputs with ``np.asarray`` and so
refuse traced values: use these instead. Other names fall through to
``scipy.linalg``.

>>> import chainrule as cr, chainrule.scipy.linalg as csl, numpy as np
>>> cr.grad(lambda a: csl.expm(a)[0, 0])(np.zeros((2, 2)))
array([[1., 0.],
       [0., 0.]])
"""

from __future__ import annotations

from typing import Any

import numpy as _np
import scipy.linalg as _sl

from ..core.registry import export as _export
from ..core.trace import is_traced as _is_traced
from ..core.trace import strip as _strip
from ..errors import no_rule_error as _no_rule_error
from . import _linalg_rules as _r
from ._special_rules import as_float as _f

_NS = "scipy.linalg"


def _check_square(a: Any, name: str) -> None:
    shape = _np.shape(_strip(a))
    if len(shape) < 2 or shape[-1] != shape[-2]:
        raise ValueError(f"{name}: expected a (stack of) square matrices, got shape {shape}")
    if _np.iscomplexobj(_strip(a)):
        raise _no_rule_error(f"chainrule.scipy.linalg.{name}", "complex matrices")


def _trans(trans: Any) -> int:
    """SciPy's ``trans`` (0/'N', 1/'T', 2/'C') as 0 or 1 (real matrices: 'C' is 'T')."""
    codes = {0: 0, 1: 1, 2: 1, "N": 0, "T": 1, "C": 1}
    if trans not in codes:
        raise ValueError(f"solve_triangular: trans must be 0, 1, 2, 'N', 'T' or 'C', got {trans!r}")
    return codes[trans]


@_export("solve_triangular", _NS)
def solve_triangular(
    a: Any,
    b: Any,
    trans: Any = 0,
    lower: bool = False,
    unit_diagonal: bool = False,
    overwrite_b: bool = False,
    check_finite: bool = True,
) -> Any:
    """Solve ``op(T) x = b`` for the triangle ``T`` of ``a`` (lower or upper; with a
    unit diagonal if ``unit_diagonal``), ``op`` the identity (``trans=0``) or the
    transpose (1 or 2). Only that triangle is read, so the derivative with
    respect to the rest of ``a`` (and to the diagonal, with ``unit_diagonal``)
    is 0. ``b`` is a vector when 1-d, otherwise a stack of matrices; stacks
    broadcast. ``overwrite_b`` and ``check_finite`` are accepted and ignored."""
    a, b = _f(a), _f(b)
    _check_square(a, "solve_triangular")
    code = _trans(trans)
    if _np.ndim(_strip(b)) == 1:
        return _r.tri_solve_p(a, _np.expand_dims(b, -1), bool(lower), code, bool(unit_diagonal))[
            ..., 0
        ]
    return _r.tri_solve_p(a, b, bool(lower), code, bool(unit_diagonal))


@_export("cho_factor", _NS)
def cho_factor(
    a: Any, lower: bool = False, overwrite_a: bool = False, check_finite: bool = True
) -> tuple[Any, bool]:
    """``(c, lower)``: the Cholesky factor of ``a`` for ``cho_solve``, read from the
    upper triangle of ``a`` (``c = U`` with ``a = U^T U``) or, with ``lower``,
    the lower one (``a = L L^T``). Unlike SciPy, the other triangle of ``c`` is
    zero rather than arbitrary. Differentiable through ``numpy.linalg.cholesky``
    (the unread triangle of ``a`` gets derivative 0)."""
    a = _f(a)
    _check_square(a, "cho_factor")
    return _np.linalg.cholesky(a, upper=not lower), bool(lower)


@_export("cho_solve", _NS)
def cho_solve(
    c_and_lower: tuple[Any, bool], b: Any, overwrite_b: bool = False, check_finite: bool = True
) -> Any:
    """Solve ``A x = b`` given ``(c, lower) = cho_factor(A)``: two triangular solves,
    differentiable in ``c`` (its factor triangle only) and ``b``."""
    c, lower = c_and_lower
    first, second = (0, 1) if lower else (1, 0)
    y = solve_triangular(c, b, trans=first, lower=lower)
    return solve_triangular(c, y, trans=second, lower=lower)


@_export("expm", _NS)
def expm(A: Any) -> Any:
    """The matrix exponential of (a stack of) square matrices. Its derivative is
    the exact Frechet derivative, the upper-right block of
    ``expm([[A, E], [0, A]])``."""
    A = _f(A)
    _check_square(A, "expm")
    if not _is_traced(A):
        return _sl.expm(A)
    return _r.expm_p(A)


# sqrtm, logm, expm_frechet, solve_sylvester, solve_banded, lu_factor/lu_solve, eigh, eig
from ._linalg_more import (  # noqa: E402
    eig,
    eigh,
    expm_frechet,
    logm,
    lu_factor,
    lu_solve,
    solve_banded,
    solve_sylvester,
    sqrtm,
)

_MORE = [eig, eigh, expm_frechet, logm, lu_factor, lu_solve, solve_banded, solve_sylvester, sqrtm]

#: The names this module defines itself (as opposed to falling through to SciPy).
DIFFERENTIABLE = sorted(
    ["solve_triangular", "cho_factor", "cho_solve", "expm"] + [f.__name__ for f in _MORE]
)


def __getattr__(name: str) -> Any:
    try:
        return getattr(_sl, name)
    except AttributeError:
        raise AttributeError(f"module 'chainrule.scipy.linalg' has no attribute {name!r}") from None
