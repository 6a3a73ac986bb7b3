"""Derivative rules for SciPy's Bessel functions, in their argument.

The derivatives are the standard recurrences (DLMF 10.6.2, 10.29.2), written
with Bessel functions again, so every order works:
``J_v' = (J_{v-1} - J_{v+1})/2`` (likewise ``Y``), ``I_v' = (I_{v-1} + I_{v+1})/2``,
``K_v' = -(K_{v-1} + K_{v+1})/2``; ``J_0' = -J_1``, ``I_0' = I_1``, ``K_0' = -K_1``.
The scaled ``ive = I_v e^{-|Re z|}`` and ``kve = K_v e^z`` add the derivative of
their factor. For complex ``z`` (``jv``, ``yv``, ``iv``, ``kv``, ``kve``, ``jve``,
``yve`` accept it) the same formulas are the complex derivative; ``jve`` and
``yve`` (``J_v``, ``Y_v`` times ``e^{-|Im z|}``) are not holomorphic, and their
rules add the derivative of the scale in ``Im z`` (a real-linear term, under the
complex convention of docs/design.md); ``ive`` (``|Re z|``) is differentiated
for real ``z`` only.

The order is a label, not a variable: a traced order raises ``NoRuleError``
naming the function and its order argument (SciPy has no closed form for the
derivative in the order).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.special as sc

from ..core.primitive import Primitive
from ..core.registry import UFUNCS, export
from ..core.trace import strip
from ..errors import no_rule_error
from ..rules._util import allow_complex, mul0, pad_batch, unbroadcast
from ..rules.elementwise import binary_primitive, unary_primitive
from ._special_rules import as_float

_NS = "scipy.special"


# Every rule here is zero-safe: a zero cotangent or tangent stays 0 against a
# derivative that is infinite or NaN (a pole, a point outside the domain), as
# docs/conventions.md requires of every rule.
def _unary(*args: Any, **kwargs: Any) -> Primitive:
    return unary_primitive(*args, zero_safe=True, **kwargs)


def _binary(*args: Any, **kwargs: Any) -> Primitive:
    return binary_primitive(*args, zero_safe=True, **kwargs)


def _refuse_order(name: str, arg: str) -> tuple[Any, Any]:
    """A VJP maker and a JVP rule that refuse a traced order of ``name``."""

    def refuse(*_: Any) -> Any:
        raise no_rule_error(
            f"scipy.special.{name}",
            f"its order {arg} is not differentiable; only the argument is. Pass the order "
            "as a plain number or array (not a traced value), or wrap it in cr.stop_gradient",
        )

    return refuse, refuse


def _ordered(name: str, impl: Any, dz: Any, arg: str = "v") -> Primitive:
    """A primitive ``(order, z)`` differentiable in ``z`` only."""
    prim = _binary(name, impl, None, dz)
    vjp, jvp = _refuse_order(name, arg)
    prim.vjp[0] = vjp
    prim.jvp[0] = jvp
    return prim


def _sign_re(z: Any) -> Any:
    """sign(Re z): locally constant, no derivative."""
    return np.sign(np.real(strip(z)))


# --- first kind and second kind -------------------------------------------------------------
jv_p: Primitive = _ordered("jv", sc.jv, lambda x, y: 0.5 * (jv_p(x - 1.0, y) - jv_p(x + 1.0, y)))
yv_p: Primitive = _ordered("yv", sc.yv, lambda x, y: 0.5 * (yv_p(x - 1.0, y) - yv_p(x + 1.0, y)))
yn_p: Primitive = _ordered(
    "yn", sc.yn, lambda x, y: 0.5 * (yn_p(x - 1, y) - yn_p(x + 1, y)), arg="n"
)
j0_p = _unary("j0", sc.j0, lambda x: -j1_p(x))
j1_p: Primitive = _unary("j1", sc.j1, lambda x: 0.5 * (j0_p(x) - jv_p(2.0, x)))
y0_p = _unary("y0", sc.y0, lambda x: -y1_p(x))
y1_p: Primitive = _unary("y1", sc.y1, lambda x: 0.5 * (y0_p(x) - yv_p(2.0, x)))

# The exponentially scaled jve = J_v e^{-|Im z|}, yve = Y_v e^{-|Im z|}. The scale is
# the same for every order, so F' = (F_{v-1} - F_{v+1}) / 2 holds for the scaled
# functions too, times dz; the scale itself moves with Im z only (not holomorphic):
# d F = F' dz - sign(Im z) F d(Im z). For real z the second term is 0.
jve_p: Primitive = _ordered(
    "jve", sc.jve, lambda x, y: 0.5 * (jve_p(x - 1.0, y) - jve_p(x + 1.0, y))
)
yve_p: Primitive = _ordered(
    "yve", sc.yve, lambda x, y: 0.5 * (yve_p(x - 1.0, y) - yve_p(x + 1.0, y))
)


def _with_imaginary_scale(prim: Primitive) -> None:
    """Add the derivative of ``e^{-|Im z|}`` to ``prim``'s rules in ``z`` (complex
    ``z`` only): the tangent gains ``-s F Im(t)`` (``s = sign(Im z)``); its
    transpose under the pairing ``Re(g t)`` gives the cotangent ``i Re(g s F)``."""
    holo_vjp, holo_jvp = prim.vjp[1], prim.jvp[1]

    def vjp(ans: Any, v: Any, z: Any) -> Any:
        first = holo_vjp(ans, v, z)
        if not np.iscomplexobj(strip(z)):
            return first
        c = np.sign(np.imag(strip(z))) * ans
        shape, nd = np.shape(z), np.ndim(ans)
        return lambda g: first(g) + 1j * unbroadcast(np.real(mul0(g, c)), shape, nd)

    def jvp(t: Any, ans: Any, v: Any, z: Any) -> Any:
        first = holo_jvp(t, ans, v, z)
        if not np.iscomplexobj(strip(z)):
            return first
        c = np.sign(np.imag(strip(z))) * ans
        return first - mul0(pad_batch(np.imag(t), np.ndim(z), np.ndim(ans)), c)

    prim.vjp[1] = vjp
    prim.jvp[1] = jvp


_with_imaginary_scale(jve_p)
_with_imaginary_scale(yve_p)

# --- modified, first kind ------------------------------------------------------------------
iv_p: Primitive = _ordered("iv", sc.iv, lambda x, y: 0.5 * (iv_p(x - 1.0, y) + iv_p(x + 1.0, y)))
ive_p: Primitive = _ordered(
    "ive",
    sc.ive,
    lambda x, y: 0.5 * (ive_p(x - 1.0, y) + ive_p(x + 1.0, y)) - _sign_re(y) * ive_p(x, y),
)
i0_p = _unary("i0", sc.i0, lambda x: i1_p(x))
i1_p: Primitive = _unary("i1", sc.i1, lambda x: 0.5 * (i0_p(x) + iv_p(2.0, x)))

# --- modified, second kind -----------------------------------------------------------------
kv_p: Primitive = _ordered("kv", sc.kv, lambda x, y: -0.5 * (kv_p(x - 1.0, y) + kv_p(x + 1.0, y)))
kve_p: Primitive = _ordered(
    "kve", sc.kve, lambda x, y: kve_p(x, y) - 0.5 * (kve_p(x - 1.0, y) + kve_p(x + 1.0, y))
)
k0_p = _unary("k0", sc.k0, lambda x: -k1_p(x))
k1_p: Primitive = _unary("k1", sc.k1, lambda x: -0.5 * (k0_p(x) + kv_p(2.0, x)))
k0e_p = _unary("k0e", sc.k0e, lambda ans, x: ans - k1e_p(x))
k1e_p: Primitive = _unary("k1e", sc.k1e, lambda ans, x: ans - 0.5 * (k0e_p(x) + kve_p(2.0, x)))

# Holomorphic in z: the same formulas are the complex derivative (jve and yve
# with the term of their scale added above).
allow_complex(jv_p, yv_p, iv_p, kv_p, kve_p, jve_p, yve_p)

#: SciPy ufunc -> primitive (installed by ``register``).
SCIPY_UFUNCS = {
    sc.jv: jv_p,
    sc.yv: yv_p,
    sc.yn: yn_p,
    sc.jve: jve_p,
    sc.yve: yve_p,
    sc.j0: j0_p,
    sc.j1: j1_p,
    sc.y0: y0_p,
    sc.y1: y1_p,
    sc.iv: iv_p,
    sc.ive: ive_p,
    sc.i0: i0_p,
    sc.i1: i1_p,
    sc.kv: kv_p,
    sc.kve: kve_p,
    sc.k0: k0_p,
    sc.k1: k1_p,
    sc.k0e: k0e_p,
    sc.k1e: k1e_p,
}
# jn is SciPy's alias of jv (the same ufunc object in recent SciPy).
if getattr(sc, "jn", None) is not None and sc.jn is not sc.jv:  # pragma: no cover
    SCIPY_UFUNCS[sc.jn] = jv_p


def register() -> None:
    """Let plain ``scipy.special`` Bessel calls on traced values reach our rules."""
    for ufunc, prim in SCIPY_UFUNCS.items():
        UFUNCS.setdefault(ufunc, prim)


def _export_ordered(name: str, prim: Primitive, arg: str = "v") -> None:
    def fn(order: Any, z: Any) -> Any:
        return prim(as_float(order), as_float(z))

    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = (
        f"``scipy.special.{name}({arg}, z)``, differentiable in ``z`` to any order; "
        f"a traced order ``{arg}`` raises ``NoRuleError``."
    )
    export(name, _NS)(fn)


def _export_unary(name: str, prim: Primitive) -> None:
    def fn(x: Any) -> Any:
        return prim(as_float(x))

    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = f"``scipy.special.{name}(x)``, differentiable to any order."
    export(name, _NS)(fn)


for _name, _prim in (
    ("jv", jv_p),
    ("yv", yv_p),
    ("jve", jve_p),
    ("yve", yve_p),
    ("iv", iv_p),
    ("ive", ive_p),
    ("kv", kv_p),
):
    _export_ordered(_name, _prim)
_export_ordered("kve", kve_p)
_export_ordered("yn", yn_p, arg="n")
for _name, _prim in (
    ("j0", j0_p),
    ("j1", j1_p),
    ("y0", y0_p),
    ("y1", y1_p),
    ("i0", i0_p),
    ("i1", i1_p),
    ("k0", k0_p),
    ("k1", k1_p),
    ("k0e", k0e_p),
    ("k1e", k1e_p),
):
    _export_unary(_name, _prim)
