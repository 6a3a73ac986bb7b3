"""Differentiable ``quad``: SciPy's adaptive quadrature, differentiated by the
Leibniz rule.

``d/db int_a^b f(x, p) dx = f(b, p)``, ``d/da = -f(a, p)``, and the derivative in
``p`` is the integral of ``df/dp``, computed by ``quad_vec`` of chainrule's
Jacobian of the integrand with the same tolerances. That integral is itself a
differentiable quadrature, so higher derivatives follow the same rule.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import scipy.integrate as _si

from .. import tree
from ..core.trace import is_traced
from ..custom import custom_jvp
from ..transforms import jacfwd
from ._ode import _Problem, _value


class _Integral:
    """``I(a, b, p) = int_a^b g(x, p) dx`` for ``g`` scalar (``quad``) or array-valued
    (``quad_vec``), with its JVP rule."""

    def __init__(self, g: Callable, vector: bool, options: dict) -> None:
        self.g, self.vector, self.options = g, vector, options
        self.abserr = 0.0
        self.core = custom_jvp(self._integrate)
        self.core.defjvp(self._rule)

    def _integrate(self, a: Any, b: Any, p: Any) -> Any:
        g = self.g
        if self.vector:
            opts = {k: v for k, v in self.options.items() if k in ("epsabs", "epsrel", "limit")}
            value, err = _si.quad_vec(lambda x: np.asarray(g(x, p), dtype=float), a, b, **opts)
        else:
            value, err = _si.quad(lambda x: float(g(x, p)), a, b, **self.options)[:2]
        self.abserr = err
        return np.asarray(value, dtype=float)

    def _rule(self, primals: tuple, tangents: tuple) -> tuple[Any, Any]:
        a, b, p = primals
        da, db, dp = tangents
        out = self.core(a, b, p)
        tangent = out * 0.0
        # An infinite limit's value is fixed (a traced infinite limit is refused up front).
        if np.isfinite(_value(b)):
            tangent = tangent + self.g(b, p) * db
        if np.isfinite(_value(a)):
            tangent = tangent - self.g(a, p) * da
        if np.shape(p)[0]:
            g = self.g
            jac = _Integral(lambda x, q: jacfwd(lambda q: g(x, q))(q), True, self.options)
            tangent = tangent + jac.core(a, b, p) @ dp
        return out, tangent


def quad(func: Callable, a: Any, b: Any, args: tuple = (), **options: Any) -> tuple[Any, float]:
    """``scipy.integrate.quad(func, a, b, args)`` -> ``(value, abserr)``, the value
    differentiable in ``a``, ``b`` (Leibniz rule: ``func(b)`` and ``-func(a)``) and
    the floating-point leaves of ``args`` (the integral of the integrand's
    derivative, by ``quad_vec`` with the same ``epsabs``/``epsrel``/``limit``).
    Infinite limits are allowed; a derivative in an infinite limit is refused.
    ``full_output`` is refused when an input is traced.

    >>> import chainrule as cr, numpy as np
    >>> from chainrule.scipy.integrate import quad
    >>> cr.grad(lambda b: quad(lambda x: x**2, 0.0, b)[0])(3.0)  # b**2
    np.float64(9.0)
    >>> d = cr.grad(lambda s: quad(lambda x, s: np.exp(-x * x / s), -np.inf, np.inf, args=(s,))[0])
    >>> bool(abs(d(2.0) - np.sqrt(np.pi / 8.0)) < 1e-8)   # d/ds sqrt(pi s)
    True
    """
    arg_leaves = tree.leaves(tuple(args))
    if not any(is_traced(v) for v in (a, b, *arg_leaves)):

        def checked(x: Any, *a: Any) -> Any:
            out = func(x, *a)
            if is_traced(out):
                raise ValueError(_CLOSURE)
            return out

        return _si.quad(checked, a, b, args=tuple(args), **options)
    if options.get("full_output"):
        raise NotImplementedError(
            "quad: full_output is not supported when differentiating; call it without"
        )
    for name, limit in (("a", a), ("b", b)):
        if is_traced(limit) and not np.isfinite(_value(limit)):
            raise ValueError(
                f"quad: the limit {name} is infinite and traced; an infinite limit has no "
                "derivative, so pass it as a plain number (np.inf)"
            )
    problem = _Problem(lambda x, _y, *a: func(x, *a), tuple(args), None, {})
    p = problem.p_of()
    probe = func(float(_value(a)) if np.isfinite(_value(a)) else 0.0, *problem.args_of(_value(p)))
    if is_traced(probe):
        raise ValueError(_CLOSURE)
    integral = _Integral(lambda x, q: problem.f(x, None, q), False, dict(options))
    a = a * 1.0 if is_traced(a) else float(a)
    b = b * 1.0 if is_traced(b) else float(b)
    value = integral.core(a, b, p)
    return value, integral.abserr


_CLOSURE = (
    "quad: func uses a traced value it does not receive as an argument (a "
    "closure or global); pass it through args=(...) so its derivative is kept"
)
