"""Derivative rules for more of ``scipy.special``: ``beta``, ``erfcinv``,
``rgamma``, ``gammasgn`` (piecewise constant), ``zeta`` (Riemann's and
Hurwitz's, in both arguments), ``multigammaln``, ``lambertw``, ``wofz``,
``erfi``, ``dawsn``, and complex arguments of ``erf``/``erfc``/``erfcx``.

Formulas: ``B_a = B (psi(a) - psi(a + b))``; ``erfcinv' = -sqrt(pi)/2 exp(erfcinv**2)``;
``rgamma' = -rgamma psi`` (at the poles of Gamma, where ``rgamma = 0``, the
limit ``(-1)**n n!`` at ``x = -n``); ``d zeta(s, q)/dq = -s zeta(s + 1, q)``;
``W' = 1 / (exp(W) (1 + W))`` (no 0/0 at ``z = 0``); ``w' = 2i/sqrt(pi) - 2 z w``;
``erfi' = 2/sqrt(pi) exp(z**2)``; ``dawsn' = 1 - 2 z dawsn``. The derivative of
``zeta(s, q)`` in ``s``, ``-sum log(n + q) / (n + q)**s``, has no SciPy
function: it is summed by Euler-Maclaurin on Taylor jets in ``s`` (any
order, real or complex ``s``), as a primitive of its own.
"""

from __future__ import annotations

import math
from functools import cache
from typing import Any

import numpy as np
import scipy.special as sc

from ..core.primitive import Primitive
from ..core.registry import NONDIFF, UFUNCS, export
from ..core.trace import is_traced, strip
from ..errors import no_rule_error
from ..rules._util import allow_complex
from ..rules.elementwise import binary_primitive, unary_primitive
from . import _special_rules as _r
from ._special_incomplete import ternary_primitive
from ._special_rules import as_float, digamma_p, gammaln_p

_NS = "scipy.special"


# Every rule here is zero-safe: a zero cotangent or tangent stays 0 against a
# derivative that is infinite or NaN (a pole, a point outside the domain), as
# docs/conventions.md requires of every rule.
def _unary(*args: Any, **kwargs: Any) -> Primitive:
    return unary_primitive(*args, zero_safe=True, **kwargs)


def _binary(*args: Any, **kwargs: Any) -> Primitive:
    return binary_primitive(*args, zero_safe=True, **kwargs)


_SQRT_PI_OVER_TWO = math.sqrt(math.pi) / 2.0
_TWO_OVER_SQRT_PI = 2.0 / math.sqrt(math.pi)

# --- the gamma family ----------------------------------------------------------------------
beta_p = _binary(
    "beta",
    sc.beta,
    lambda ans, x, y: ans * (digamma_p(x) - digamma_p(x + y)),
    lambda ans, x, y: ans * (digamma_p(y) - digamma_p(x + y)),
)


def _rgamma_deriv(ans: Any, x: Any) -> Any:
    """``-rgamma(x) digamma(x)``; at ``x = -n`` (a pole of digamma, a zero of
    rgamma) the limit ``(-1)**n n!``."""
    xv = strip(x)
    pole = (np.real(xv) <= 0) & (xv == np.round(np.real(xv)))
    with np.errstate(divide="ignore", invalid="ignore"):
        if not np.any(pole):
            return -ans * digamma_p(x)
        n = -np.real(np.where(pole, xv, 0.0))
        limit = (-1.0) ** n * sc.gamma(n + 1.0)
        safe = np.where(pole, 0.5, x)
        return np.where(pole, limit, -rgamma_p(safe) * digamma_p(safe))


rgamma_p = _unary("rgamma", sc.rgamma, _rgamma_deriv)
erfcinv_p = _unary("erfcinv", sc.erfcinv, lambda ans: -_SQRT_PI_OVER_TWO * np.exp(ans * ans))
NONDIFF.add(sc.gammasgn)  # +-1 (or 0): piecewise constant


# --- complex error functions ---------------------------------------------------------------
wofz_p = _unary("wofz", sc.wofz, lambda ans, x: 1j * _TWO_OVER_SQRT_PI - 2.0 * x * ans)
erfi_p = _unary("erfi", sc.erfi, lambda x: _TWO_OVER_SQRT_PI * np.exp(x * x))
dawsn_p = _unary("dawsn", sc.dawsn, lambda ans, x: 1.0 - 2.0 * x * ans)
# The existing rules of erf, erfc, erfcx, ndtr, log_ndtr are holomorphic formulas. (rgamma's
# is too, but its second derivative needs polygamma, which SciPy computes for
# real arguments only: complex rgamma stays refused.)
allow_complex(wofz_p, erfi_p, dawsn_p, _r.erf_p, _r.erfc_p, _r.erfcx_p, _r.ndtr_p, _r.log_ndtr_p)


# --- Lambert W -----------------------------------------------------------------------------
def _lambertw_deriv(z: Any, k: Any, tol: Any) -> Any:
    w = lambertw_p(z, k, tol)
    den = np.exp(w) * (1.0 + w)
    at_branch_point = strip(den) == 0
    if not np.any(at_branch_point):
        return 1.0 / den
    # Complex 1/0 is nan + nan j; the derivative there is infinite, on the real axis.
    return np.where(at_branch_point, np.inf + 0j, 1.0 / np.where(at_branch_point, 1.0, den))


_lambertw_ufunc = sc._ufuncs._lambertw
lambertw_p = ternary_primitive("lambertw", _lambertw_ufunc, _lambertw_deriv, None, None)
allow_complex(lambertw_p)


# --- zeta ----------------------------------------------------------------------------------
_EM_N = 24  # terms summed directly before Euler-Maclaurin's tail
_EM_K = 14  # Bernoulli corrections
_BERNOULLI = [float(v) for v in sc.bernoulli(2 * _EM_K)]


def _jet_exp_log(logq: np.ndarray, s: np.ndarray, n: int) -> np.ndarray:
    """Taylor coefficients in ``e`` of ``(q)**-(s + e) = exp(-(s + e) log q)``."""
    base = np.exp(-s * logq)
    return np.stack([base * (-logq) ** k / math.factorial(k) for k in range(n + 1)])


def _jet_mul(p: np.ndarray, q: np.ndarray) -> np.ndarray:
    out = np.zeros(np.broadcast_shapes(p.shape, q.shape), dtype=np.result_type(p, q))
    for i in range(p.shape[0]):
        for k in range(i + 1):
            out[i] += p[k] * q[i - k]
    return out


def zeta_derivative(n: int, s: Any, q: Any) -> Any:
    """``d^n zeta(s, q)/ds^n`` (``n >= 1``) for ``q > 0``, ``s != 1``, by
    Euler-Maclaurin summation run on Taylor jets in ``s``: the first ``N``
    terms directly, then ``(N+q)^(1-s)/(s-1) + (N+q)^-s/2 +
    sum_k B_2k/(2k)! s(s+1)...(s+2k-2) (N+q)^(1-s-2k)``. Accurate to rounding
    for ``Re s >= 0``; below, the direct terms grow and cancel, so NaN is
    returned for ``Re s <= -2`` rather than a number with few correct digits."""
    s = np.asarray(s)
    s = s.astype(np.complex128 if s.dtype.kind == "c" else np.float64)
    q = np.asarray(q, dtype=np.float64)
    s, q = np.broadcast_arrays(s, q)
    with np.errstate(all="ignore"):
        total = sum(_jet_exp_log(np.log(q + j), s, n) for j in range(_EM_N))
        big = q + _EM_N
        lb = np.log(big)
        tail_pow = _jet_exp_log(lb, s, n)  # (N+q)^-s
        # (N+q)^(1-s)/(s-1): jet of 1/(s - 1 + e) is sum (-e)^k/(s-1)^(k+1).
        inv = np.stack([(-1.0) ** k / (s - 1.0) ** (k + 1) for k in range(n + 1)])
        total = total + big * _jet_mul(tail_pow, inv) + 0.5 * tail_pow
        # Rising factorial s(s+1)...(s+2k-2) as a jet, times (N+q)^(1-s-2k).
        rising = np.zeros((n + 1,) + s.shape, dtype=s.dtype)
        rising[0] = 1.0
        factor = np.zeros_like(rising)
        for k in range(1, _EM_K + 1):
            # s(s+1)...(s+2k-2): two more factors than the previous term's.
            for m in (2 * k - 3, 2 * k - 2) if k > 1 else (0,):
                factor[:] = 0.0
                factor[0] = s + m
                if n >= 1:
                    factor[1] = 1.0
                rising = _jet_mul(rising, factor)
            coef = _BERNOULLI[2 * k] / math.factorial(2 * k)
            total = total + coef * big ** (1 - 2 * k) * _jet_mul(rising, tail_pow)
        out = total[n] * math.factorial(n)
    bad = ~(q > 0) | (s == 1) | ~(np.real(s) > -2)
    if np.any(bad):
        out = np.where(bad, np.nan, out)
    return out[()] if out.ndim == 0 else out


@cache
def zeta_ds(n: int) -> Primitive:
    """The primitive ``(s, q) -> d^n zeta(s, q)/ds^n`` (``n >= 1``)."""

    def dq(x: Any, y: Any) -> Any:
        # d/dq of d^n zeta/ds^n = d^n/ds^n of (-s zeta(s + 1, q)), by Leibniz.
        return -(x * _zeta_d(n, x + 1.0, y) + n * _zeta_d(n - 1, x + 1.0, y))

    prim = _binary(
        f"zeta_ds{n}",
        lambda s, q: zeta_derivative(n, s, q),
        lambda x, y: zeta_ds(n + 1)(x, y),
        dq,
    )
    allow_complex(prim)
    return prim


def _zeta_d(n: int, s: Any, q: Any) -> Any:
    return hurwitz_p(s, q) if n == 0 else zeta_ds(n)(s, q)


hurwitz_p: Primitive = _binary(
    "zeta",
    sc._ufuncs._zeta,
    lambda x, y: zeta_ds(1)(x, y),
    lambda x, y: -x * hurwitz_p(x + 1.0, y),
)
riemann_p = _unary(
    "zeta", sc._ufuncs._riemann_zeta, lambda x: zeta_ds(1)(x, np.ones(np.shape(strip(x))))
)
allow_complex(hurwitz_p, riemann_p)

#: SciPy ufunc -> primitive (installed by ``register``).
SCIPY_UFUNCS = {
    sc.beta: beta_p,
    sc.rgamma: rgamma_p,
    sc.erfcinv: erfcinv_p,
    sc.wofz: wofz_p,
    sc.erfi: erfi_p,
    sc.dawsn: dawsn_p,
    _lambertw_ufunc: lambertw_p,
    sc._ufuncs._zeta: hurwitz_p,
    sc._ufuncs._riemann_zeta: riemann_p,
}


def register() -> None:
    """Let plain ``scipy.special`` calls on traced values reach these rules
    (``zeta`` and ``lambertw`` are Python functions in SciPy that call the
    private ufuncs registered here, so they work plainly too)."""
    for ufunc, prim in SCIPY_UFUNCS.items():
        UFUNCS.setdefault(ufunc, prim)


# --- chainrule.scipy.special's functions -------------------------------------------------------
@export("beta", _NS)
def beta(a: Any, b: Any) -> Any:
    """The beta function ``Gamma(a) Gamma(b) / Gamma(a + b)``, differentiable in both.

    >>> import chainrule as cr, chainrule.scipy.special as csp
    >>> round(float(cr.grad(csp.beta)(2.0, 3.0)), 8)  # B (psi(2) - psi(5))
    -0.09027778
    """
    return beta_p(as_float(a), as_float(b))


@export("rgamma", _NS)
def rgamma(x: Any) -> Any:
    """``1 / Gamma(x)``; its derivative is ``-rgamma(x) digamma(x)``, and
    ``(-1)**n n!`` at the zeros ``x = -n``."""
    return rgamma_p(as_float(x))


@export("erfcinv", _NS)
def erfcinv(y: Any) -> Any:
    """The inverse of ``erfc``; its derivative ``-sqrt(pi)/2 exp(erfcinv(y)**2)``
    is infinite at 0 and 2."""
    return erfcinv_p(as_float(y))


@export("wofz", _NS)
def wofz(z: Any) -> Any:
    """Faddeeva's ``w(z) = exp(-z**2) erfc(-i z)`` (complex result); its complex
    derivative is ``2i/sqrt(pi) - 2 z w(z)``."""
    return wofz_p(as_float(z))


@export("erfi", _NS)
def erfi(z: Any) -> Any:
    """``-i erf(i z)``; its derivative is ``2/sqrt(pi) exp(z**2)``."""
    return erfi_p(as_float(z))


@export("dawsn", _NS)
def dawsn(z: Any) -> Any:
    """Dawson's integral; its derivative is ``1 - 2 z dawsn(z)``."""
    return dawsn_p(as_float(z))


@export("zeta", _NS)
def zeta(x: Any, q: Any = None, out: Any = None) -> Any:
    """Riemann's ``zeta(x)`` or Hurwitz's ``zeta(x, q)`` (SciPy's signature),
    differentiable in ``x`` (by Euler-Maclaurin summation, for ``x > -2``)
    and in ``q`` (``-x zeta(x + 1, q)``).

    >>> import chainrule as cr, chainrule.scipy.special as csp
    >>> round(float(cr.grad(csp.zeta)(2.0)), 8)  # zeta'(2)
    -0.93754825
    """
    if out is not None:
        if is_traced(x) or is_traced(q):
            raise TypeError(
                "zeta(..., out=) cannot write a traced result into an array; "
                "use the returned value instead"
            )
        return sc.zeta(x, q, out=out)
    if q is None:
        return riemann_p(as_float(x))
    return hurwitz_p(as_float(x), as_float(q))


@export("lambertw", _NS)
def lambertw(z: Any, k: Any = 0, tol: float = 1e-8) -> Any:
    """The branch ``k`` of Lambert's W (complex result, SciPy's signature),
    differentiable in ``z``: ``W'(z) = 1 / (exp(W) (1 + W))``, infinite at the
    branch point ``z = -1/e``.

    >>> import chainrule as cr, chainrule.scipy.special as csp
    >>> round(float(cr.grad(lambda z: csp.lambertw(z).real)(1.0)), 8)
    0.36189626
    """
    if is_traced(k):
        raise no_rule_error("scipy.special.lambertw", "its integer branch k is not differentiable")
    return lambertw_p(as_float(z), np.asarray(k, dtype=np.dtype("long")), tol)


@export("multigammaln", _NS)
def multigammaln(a: Any, d: int) -> Any:
    """The log of the multivariate gamma function of dimension ``d``:
    ``d(d-1)/4 log(pi) + sum_j gammaln(a - j/2)``, differentiable in ``a``
    (``d`` is a positive integer). SciPy's checks and messages.

    >>> import chainrule as cr, chainrule.scipy.special as csp
    >>> round(float(cr.grad(csp.multigammaln)(4.0, 3)), 8)  # sum_j digamma(a - j/2)
    3.28205864
    """
    if is_traced(d):
        raise no_rule_error("scipy.special.multigammaln", "its dimension d is an integer")
    d = np.asarray(d)[()]  # type: ignore[assignment]  # a NumPy integer from here on
    if not np.isscalar(d) or (np.floor(d) != d):
        raise ValueError("d should be a positive integer (dimension)")
    a = as_float(a)
    if np.any(strip(a) <= 0.5 * (d - 1)):
        raise ValueError(f"condition a ({strip(a)}) > 0.5 * (d-1) ({0.5 * (d - 1)}) not met")
    res = (d * (d - 1) * 0.25) * math.log(math.pi)
    for j in range(int(d)):
        res = res + gammaln_p(a - 0.5 * j)
    return res
