"""Shared machinery of ``chainrule.scipy.stats``: SciPy's argument parsing,
support masks, and elementwise primitives whose value is SciPy's and whose
partial derivatives are formulas written with differentiable calls (so every
order works).

A cumulative distribution function ``F(z, theta)`` is such a primitive: SciPy
computes the value (``scipy.stats.gamma.cdf``), ``dF/dz`` is the density and
``dF/dtheta`` the partial derivative of a differentiable expression of ``F``
(``gammainc(a, z)``), taken by a forward-mode pass of its own. The quantile
function ``x = F^-1(q, theta)`` then follows from the inverse-function rule:
``dx/dq = 1 / pdf(x)`` and ``dx/dtheta = -(dF/dtheta)(x) / pdf(x)``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from ..core.primitive import Primitive
from ..core.trace import is_traced, strip
from ..errors import no_rule_error
from ..rules._util import mul0
from ..transforms.forward_mode import jvp
from ._special_rules import as_float

fl = as_float


def broadcast(*args: Any) -> list[Any]:
    """The arguments broadcast to one shape (traced ones stay traced)."""
    shape = np.broadcast_shapes(*(np.shape(strip(a)) for a in args))
    return [a if np.shape(strip(a)) == shape else np.broadcast_to(a, shape) for a in args]


def on_support(
    inside: Any, z: Any, safe: float, compute: Callable[[Any], Any], outside: Any
) -> Any:
    """``compute(z)`` where ``inside``, ``outside`` (no derivative) elsewhere.

    ``compute`` only ever sees ``z`` at points inside (``safe`` stands in for
    the others), so a formula that is NaN off the support cannot leak a NaN
    into the derivative through the branch ``where`` discards.
    """
    if np.all(inside):
        return compute(z)
    zs = np.where(inside, z, safe)
    return np.where(inside, compute(zs), outside)


def partial(fn: Callable[..., Any], i: int, args: Sequence[Any]) -> Any:
    """``d fn / d args[i]`` for an elementwise ``fn`` of arguments of one shape,
    itself differentiable (a forward-mode pass with a tangent of ones)."""
    args = list(args)

    def along(v: Any) -> Any:
        return fn(*args[:i], v, *args[i + 1 :])

    return jvp(along, (args[i],), (np.ones(np.shape(strip(args[i]))),))[1]


def elementwise_primitive(
    name: str, impl: Callable[..., Any], partials: Sequence[Callable[..., Any] | None]
) -> Primitive:
    """A primitive ``name`` computed by ``impl`` on plain arrays of one shape,
    whose partial derivative in argument ``i`` is ``partials[i](ans, *args)``
    (``None``: not differentiable). The products use ``mul0``: a zero tangent
    stays zero where a partial is infinite (a density at the edge of its
    support)."""

    def vjp_rule(d: Callable[..., Any]) -> Callable[..., Any]:
        return lambda ans, *args: lambda g, s=d(ans, *args): mul0(g, s)

    def jvp_rule(d: Callable[..., Any]) -> Callable[..., Any]:
        return lambda t, ans, *args: mul0(t, d(ans, *args))

    prim = Primitive(name, impl)
    prim.defvjp(*[None if d is None else vjp_rule(d) for d in partials])
    prim.defjvp(*[None if d is None else jvp_rule(d) for d in partials])
    return prim


def parse(
    name: str, shapes: tuple[str, ...], args: tuple, kwargs: dict, loc_scale=("loc", "scale")
):
    """SciPy's ``(*shapes, loc=0, scale=1)`` arguments as a dict of values."""
    names = shapes + tuple(loc_scale)
    if len(args) > len(names):
        raise TypeError(
            f"chainrule.scipy.stats.{name}: takes at most {len(names)} parameters "
            f"{names} after the point, got {len(args)}"
        )
    params = dict(zip(names, args))
    for k, v in kwargs.items():
        if k not in names:
            raise TypeError(
                f"chainrule.scipy.stats.{name}: unexpected argument {k!r}; "
                f"its parameters are {names}"
            )
        if k in params:
            raise TypeError(f"chainrule.scipy.stats.{name}: got {k!r} twice")
        params[k] = v
    missing = [n for n in shapes if n not in params]
    if missing:
        raise TypeError(f"chainrule.scipy.stats.{name}: missing shape parameter(s) {missing}")
    return params


def nan_where(bad: Any, out: Any) -> Any:
    """``out``, NaN where ``bad`` (invalid parameters, NaN input), as SciPy."""
    if not np.any(bad):
        return out
    return np.where(bad, np.nan, out)


def refuse_traced(what: str, reason: str, *values: Any) -> None:
    """Raise ``NoRuleError`` if any of ``values`` is traced."""
    if any(is_traced(v) for v in values):
        raise no_rule_error(f"chainrule.scipy.stats.{what}", reason)


def squeeze(out: Any) -> Any:
    """SciPy's multivariate outputs: size-1 axes dropped."""
    return np.squeeze(out) if 1 in np.shape(strip(out)) else out
