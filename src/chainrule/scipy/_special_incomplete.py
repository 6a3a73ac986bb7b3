"""Derivative rules for the regularised incomplete gamma and beta functions,
``gammainc``, ``gammaincc``, ``betainc``, ``betaincc``, in every argument, and
for their inverses ``gammaincinv``, ``gammainccinv``, ``betaincinv``.

The derivative in the integration limit is the integrand, written with
differentiable calls. The derivatives in the shape parameters have no closed
form; ``_incomplete_kernels`` computes them to near full precision (series
and continued fractions run on Taylor jets). Each of those is a primitive of
its own, ``d^n P/da^n`` or ``d^(i+j) I/da^i db^j``, whose parameter
derivatives are the next ones and whose limit derivative is the matching
derivative of the integrand (Leibniz's rule on ``exp(h)``), so every order
works in both modes. The inverses follow from the inverse-function rule.

Importing this module registers the primitives under SciPy's ufunc objects,
so plain ``scipy.special.gammainc(a, x)`` on traced values reaches them.
"""

from __future__ import annotations

import math
from functools import cache
from typing import Any

import numpy as np
import scipy.special as sc

from ..core.primitive import Primitive
from ..core.registry import UFUNCS, export
from ..core.trace import strip
from ..rules._util import batch_lead, fit, mul0, ndim_of, pad_batch, shape_of, unbroadcast
from ..rules.elementwise import binary_primitive
from ..rules.stable import xlogy_p
from ._incomplete_kernels import betainc_derivatives, gammainc_derivatives
from ._special_rules import as_float, betaln_p, digamma_p, gammaln_p, polygamma_p, xlog1py_p

_NS = "scipy.special"


# --- elementwise primitives of three arguments -------------------------------------------
def _vjp3(d: Any, i: int) -> Any:
    def maker(ans: Any, *args: Any) -> Any:
        shape, ndim = shape_of(args[i]), ndim_of(ans)
        return lambda g: unbroadcast(mul0(g, d(*args)), shape, ndim)

    return maker


def _jvp3(d: Any, i: int) -> Any:
    def rule(t: Any, ans: Any, *args: Any) -> Any:
        own, shape = ndim_of(args[i]), shape_of(ans)
        lead = batch_lead(t, own)
        return fit(mul0(pad_batch(t, own, len(shape)), d(*args)), lead + shape)

    return rule


def ternary_primitive(name: str, impl: Any, *partials: Any) -> Primitive:
    """A broadcasting elementwise primitive of three arguments whose partial
    derivatives are ``partials`` (functions of the three arguments, or None
    where the function is locally constant in that argument). Products
    with them are zero-safe: a zero cotangent stays zero against an infinite
    partial (a density at the edge of its support)."""
    prim = Primitive(name, impl)
    prim.defvjp(*(None if d is None else _vjp3(d, i) for i, d in enumerate(partials)))
    prim.defjvp(*(None if d is None else _jvp3(d, i) for i, d in enumerate(partials)))
    return prim


def _plain(v: Any) -> np.ndarray:
    return np.asarray(strip(v), dtype=np.float64)


# --- the incomplete gamma function ---------------------------------------------------------
def _gamma_density(a: Any, x: Any) -> Any:
    """``dP/dx = x**(a-1) e**-x / Gamma(a)`` (``inf`` at ``x = 0`` for ``a < 1``,
    0 at ``x = inf``)."""
    far = np.isposinf(_plain(x))
    if np.any(far):  # inf - inf inside the exponent: the limit is 0
        return np.where(far, 0.0, _gamma_density(a, np.where(far, 1.0, x)))
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        return np.exp(xlogy_p(a - 1.0, x) - x - gammaln_p(a))


def _exp_derivative(h1: Any, higher: Any, f: Any, n: int) -> list:
    """``[f, f', ..., f^(n)]`` for ``f = exp(h)`` in one variable, from
    ``h' = h1`` and ``h^(k) = higher(k)`` (``k >= 2``), by Leibniz's rule on
    ``f' = h' f``: ``f^(m+1) = sum_k C(m, k) h^(k+1) f^(m-k)``."""
    hs = [None, h1] + [higher(k) for k in range(2, n + 1)]
    fs = [f]
    for m in range(n):
        fs.append(sum(math.comb(m, k) * hs[k + 1] * fs[m - k] for k in range(m + 1)))
    return fs


def _gamma_density_da(n: int, a: Any, x: Any) -> Any:
    """``d^n/da^n`` of the density ``x**(a-1) e**-x / Gamma(a)``; 0 at ``x = 0``
    (its limit where the density vanishes there, ``a > 1``) and at ``x = inf``."""
    if n == 0:
        return _gamma_density(a, x)
    xv = _plain(x)
    inside = (xv > 0) & (xv < np.inf)
    xs = np.where(inside, x, 1.0)
    f = _gamma_density(a, xs)
    h1 = np.log(xs) - digamma_p(a)
    fn = _exp_derivative(h1, lambda k: -polygamma_p(k - 1, a), f, n)[n]
    return fn if np.all(inside) else np.where(inside, fn, 0.0)


@cache
def gammainc_da(n: int) -> Primitive:
    """The primitive ``(a, x) -> d^n P(a, x)/da^n`` (``n >= 1``)."""
    return binary_primitive(
        f"gammainc_da{n}",
        lambda a, x: gammainc_derivatives(n, a, x),
        lambda x, y: gammainc_da(n + 1)(x, y),
        lambda x, y: _gamma_density_da(n, x, y),
        zero_safe=True,
    )


gammainc_p = binary_primitive(
    "gammainc",
    sc.gammainc,
    lambda x, y: gammainc_da(1)(x, y),
    lambda x, y: _gamma_density(x, y),
    zero_safe=True,
)
gammaincc_p = binary_primitive(
    "gammaincc",
    sc.gammaincc,
    lambda x, y: -gammainc_da(1)(x, y),
    lambda x, y: -_gamma_density(x, y),
    zero_safe=True,
)


# Inverses, by the inverse-function rule: if P(a, y) = p then dy/dp = 1/P_x(a, y)
# and dy/da = -P_a(a, y)/P_x(a, y); for Q the signs of both partials of Q flip.
def _inv_dp(ans: Any, x: Any) -> Any:
    with np.errstate(divide="ignore"):
        return 1.0 / _gamma_density(x, ans)


def _inv_da(ans: Any, x: Any) -> Any:
    with np.errstate(divide="ignore", invalid="ignore"):
        return -gammainc_da(1)(x, ans) / _gamma_density(x, ans)


gammaincinv_p = binary_primitive("gammaincinv", sc.gammaincinv, _inv_da, _inv_dp, zero_safe=True)
gammainccinv_p = binary_primitive(
    "gammainccinv",
    sc.gammainccinv,
    lambda ans, x: _inv_da(ans, x),
    lambda ans, x: -_inv_dp(ans, x),
    zero_safe=True,
)


# --- the incomplete beta function ----------------------------------------------------------
def _beta_density(a: Any, b: Any, x: Any) -> Any:
    """``dI/dx = x**(a-1) (1-x)**(b-1) / B(a, b)``."""
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        return np.exp(xlogy_p(a - 1.0, x) + xlog1py_p(b - 1.0, -x) - betaln_p(a, b))


def _beta_log_density_d(p: int, q: int, a: Any, b: Any, lx: Any, l1x: Any) -> Any:
    """``d^(p+q) h / da^p db^q`` of ``h = (a-1) log x + (b-1) log(1-x) - log B(a, b)``."""
    if (p, q) == (1, 0):
        return lx - digamma_p(a) + digamma_p(a + b)
    if (p, q) == (0, 1):
        return l1x - digamma_p(b) + digamma_p(a + b)
    out = polygamma_p(p + q - 1, a + b)
    if q == 0:
        out = out - polygamma_p(p - 1, a)
    if p == 0:
        out = out - polygamma_p(q - 1, b)
    return out


def _beta_density_d(i: int, j: int, a: Any, b: Any, x: Any) -> Any:
    """``d^(i+j)/da^i db^j`` of the density of ``I_x(a, b)``; 0 at ``x = 0, 1``."""
    if i == j == 0:
        return _beta_density(a, b, x)
    xv = _plain(x)
    inside = (xv > 0) & (xv < 1)
    xs = np.where(inside, x, 0.5)
    lx, l1x = np.log(xs), np.log1p(-xs)
    hs: dict = {}
    fs: dict = {(0, 0): _beta_density(a, b, xs)}

    def h(p: int, q: int) -> Any:
        if (p, q) not in hs:
            hs[p, q] = _beta_log_density_d(p, q, a, b, lx, l1x)
        return hs[p, q]

    def f(p: int, q: int) -> Any:
        # Leibniz's rule on f_a = h_a f (or f_b = h_b f when p == 0).
        if (p, q) not in fs:
            if p:
                fs[p, q] = sum(
                    math.comb(p - 1, k) * math.comb(q, m) * h(k + 1, m) * f(p - 1 - k, q - m)
                    for k in range(p)
                    for m in range(q + 1)
                )
            else:
                fs[p, q] = sum(
                    math.comb(q - 1, m) * h(0, m + 1) * f(0, q - 1 - m) for m in range(q)
                )
        return fs[p, q]

    out = f(i, j)
    return out if np.all(inside) else np.where(inside, out, 0.0)


@cache
def betainc_d(i: int, j: int) -> Primitive:
    """The primitive ``(a, b, x) -> d^(i+j) I_x(a, b)/da^i db^j`` (``i + j >= 1``)."""
    return ternary_primitive(
        f"betainc_d{i}{j}",
        lambda a, b, x: betainc_derivatives(i, j, a, b, x),
        lambda a, b, x: betainc_d(i + 1, j)(a, b, x),
        lambda a, b, x: betainc_d(i, j + 1)(a, b, x),
        lambda a, b, x: _beta_density_d(i, j, a, b, x),
    )


betainc_p = ternary_primitive(
    "betainc",
    sc.betainc,
    lambda a, b, x: betainc_d(1, 0)(a, b, x),
    lambda a, b, x: betainc_d(0, 1)(a, b, x),
    _beta_density,
)
betaincc_p = ternary_primitive(
    "betaincc",
    sc.betaincc,
    lambda a, b, x: -betainc_d(1, 0)(a, b, x),
    lambda a, b, x: -betainc_d(0, 1)(a, b, x),
    lambda a, b, x: -_beta_density(a, b, x),
)


def _betaincinv_d(which: int) -> Any:
    """Partials of ``y = betaincinv(a, b, p)``: ``dy/dp = 1/I_x(a, b, y)`` and
    ``dy/da = -I_a(a, b, y)/I_x(a, b, y)`` (likewise for ``b``)."""

    def d(a: Any, b: Any, p: Any) -> Any:
        y = betaincinv_p(a, b, p)
        with np.errstate(divide="ignore", invalid="ignore"):
            if which == 2:
                return 1.0 / _beta_density(a, b, y)
            num = betainc_d(1, 0)(a, b, y) if which == 0 else betainc_d(0, 1)(a, b, y)
            return -num / _beta_density(a, b, y)

    return d


betaincinv_p = ternary_primitive(
    "betaincinv", sc.betaincinv, _betaincinv_d(0), _betaincinv_d(1), _betaincinv_d(2)
)

#: SciPy ufunc -> primitive (installed by ``register``).
SCIPY_UFUNCS = {
    sc.gammainc: gammainc_p,
    sc.gammaincc: gammaincc_p,
    sc.gammaincinv: gammaincinv_p,
    sc.gammainccinv: gammainccinv_p,
    sc.betainc: betainc_p,
    sc.betaincc: betaincc_p,
    sc.betaincinv: betaincinv_p,
}


def register() -> None:
    """Let plain ``scipy.special`` calls of these ufuncs on traced values reach our rules."""
    for ufunc, prim in SCIPY_UFUNCS.items():
        UFUNCS.setdefault(ufunc, prim)


# --- chainrule.scipy.special's functions -----------------------------------------------------
@export("gammainc", _NS)
def gammainc(a: Any, x: Any) -> Any:
    """The regularised lower incomplete gamma function ``P(a, x)``, differentiable
    in both arguments to any order.

    >>> import chainrule as cr, chainrule.scipy.special as csp
    >>> round(float(cr.grad(csp.gammainc)(2.0, 1.5)), 8)  # dP/da
    -0.31348864
    """
    return gammainc_p(as_float(a), as_float(x))


@export("gammaincc", _NS)
def gammaincc(a: Any, x: Any) -> Any:
    """``Q(a, x) = 1 - P(a, x)``, accurate where ``P`` is near 1; its derivatives
    are accurate there too (computed for ``Q`` itself)."""
    return gammaincc_p(as_float(a), as_float(x))


@export("gammaincinv", _NS)
def gammaincinv(a: Any, y: Any) -> Any:
    """The ``x`` with ``P(a, x) = y``; differentiable in ``a`` and ``y``."""
    return gammaincinv_p(as_float(a), as_float(y))


@export("gammainccinv", _NS)
def gammainccinv(a: Any, y: Any) -> Any:
    """The ``x`` with ``Q(a, x) = y``; differentiable in ``a`` and ``y``."""
    return gammainccinv_p(as_float(a), as_float(y))


@export("betainc", _NS)
def betainc(a: Any, b: Any, x: Any) -> Any:
    """The regularised incomplete beta function ``I_x(a, b)``, differentiable in
    ``a``, ``b`` and ``x`` to any order.

    >>> import chainrule as cr, chainrule.scipy.special as csp
    >>> round(float(cr.grad(csp.betainc, argnums=1)(2.0, 3.0, 0.4)), 8)  # dI/db
    0.15634434
    """
    return betainc_p(as_float(a), as_float(b), as_float(x))


@export("betaincc", _NS)
def betaincc(a: Any, b: Any, x: Any) -> Any:
    """``1 - I_x(a, b)``, differentiable in every argument."""
    return betaincc_p(as_float(a), as_float(b), as_float(x))


@export("betaincinv", _NS)
def betaincinv(a: Any, b: Any, y: Any) -> Any:
    """The ``x`` with ``I_x(a, b) = y``; differentiable in ``a``, ``b`` and ``y``."""
    return betaincinv_p(as_float(a), as_float(b), as_float(y))
