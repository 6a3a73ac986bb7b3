"""Ufuncs with two results: ``np.modf`` and ``np.divmod``.

``modf(x) = (x - trunc(x), trunc(x))``: the fractional part moves with ``x``
(slope 1), the integral part is piecewise constant. ``divmod(a, b) =
(floor_divide(a, b), remainder(a, b))``: the quotient is piecewise constant, the
remainder ``a - q b`` has ``remainder``'s own rules (slope 1 in ``a``, ``-q`` in
``b``), which this primitive borrows. Both are real-only, as NumPy is (it
refuses complex operands for both).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from ..core.primitive import Primitive, rule_at
from ..core.registry import UFUNCS
from . import elementwise  # noqa: F401  (remainder's rules, borrowed below)


def _modf_vjp(ans: Any, x: Any) -> Callable[[Any], Any]:
    return lambda gs: gs[0]  # the integral part's cotangent meets a zero slope


def _modf_jvp(t: Any, ans: Any, x: Any) -> tuple[Any, Any]:
    return t, None


modf_p = Primitive("modf", np.modf, multiple_results=True)
modf_p.defvjp(_modf_vjp)
modf_p.defjvp(_modf_jvp)
UFUNCS[np.modf] = modf_p


def _divmod_vjp(which: int) -> Callable[..., Callable[[Any], Any]]:
    def maker(ans: Any, a: Any, b: Any) -> Callable[[Any], Any]:
        of_remainder = rule_at(UFUNCS[np.remainder].vjp, which)(ans[1], a, b)
        return lambda gs: None if gs[1] is None else of_remainder(gs[1])

    return maker


def _divmod_jvp(which: int) -> Callable[..., tuple[Any, Any]]:
    def jvp(t: Any, ans: Any, a: Any, b: Any) -> tuple[Any, Any]:
        return None, rule_at(UFUNCS[np.remainder].jvp, which)(t, ans[1], a, b)

    return jvp


divmod_p = Primitive("divmod", np.divmod, multiple_results=True)
divmod_p.defvjp(_divmod_vjp(0), _divmod_vjp(1))
divmod_p.defjvp(_divmod_jvp(0), _divmod_jvp(1))
UFUNCS[np.divmod] = divmod_p
