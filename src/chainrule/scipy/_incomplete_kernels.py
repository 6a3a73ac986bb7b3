"""Parameter derivatives of the regularised incomplete gamma and beta
functions, computed in NumPy (vectorised) by running their series and
continued fractions on Taylor jets (``_jets``).

* ``P(a, x)`` (``gammainc``): for ``x < a + 1`` the series
  ``P = x**a e**-x / Gamma(a + 1) * sum_n x**n / ((a+1)...(a+n))``, whose terms'
  a-derivatives all have the same sign (no cancellation); otherwise
  ``Q = 1 - P`` by Legendre's continued fraction
  ``Q = x**a e**-x / Gamma(a) / (x + 1 - a - 1(1-a)/(x + 3 - a - 2(2-a)/...))``,
  and ``d^k P/da^k = -d^k Q/da^k``. Either way the derivative is taken of the
  function that is not close to 1, so it keeps its relative accuracy when it
  is tiny (``x`` far in either tail).
* ``I_x(a, b)`` (``betainc``): the continued fraction of Abramowitz and
  Stegun 26.5.8 (the one Numerical Recipes' ``betacf`` evaluates) for
  ``x < (a + 1)/(a + b + 2)``, and ``I_x(a, b) = 1 - I_{1-x}(b, a)`` otherwise,
  again the side that is not close to 1.

Accuracy against mpmath (tests/test_scipy_special_incomplete.py): for ``a, b``
in ``[0.05, 200]`` and ``x`` in ``[0, 500]`` (``[0, 1]`` for the beta), first
derivatives to about 1e-12 relative and second derivatives to about 1e-9.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.special as sc

from . import _jets as J

_EPS = 1e-16
# Enough for a, b up to about 1e5 near the centre of the distribution, where the
# series and fractions need O(sqrt(a)) terms; beyond, NaN rather than a guess.
_MAX_TERMS = 5000
# Shape parameters beyond this need more terms than that near the centre of
# the distribution: NaN at once instead of running out of terms.
_MAX_SHAPE = 1e5
# Below this, Gamma(a)'s Taylor coefficients (about a**-k) swamp the second
# derivatives in cancellation; the range starts at 0.05.
_MIN_SHAPE = 1e-3
# exp(-800) times any factor the derivatives carry (log x < 710) underflows:
# the tail's derivatives are 0 there, without running the fraction.
_UNDERFLOW = -800.0


def _converged(term: np.ndarray, total: np.ndarray) -> np.ndarray:
    """Whether every coefficient of a series' ``term`` is negligible against
    the same coefficient of its ``total`` (of the same sign: no cancellation)."""
    return np.all(np.abs(term) <= _EPS * np.abs(total), axis=(0, 1))


def _settled(step: np.ndarray) -> np.ndarray:
    """Whether a continued fraction's factor ``step`` is 1 to rounding in every
    coefficient (its derivatives 0), so that later factors change nothing."""
    dev = step.copy()
    dev[0, 0] -= 1.0
    return np.all(np.abs(dev) <= _EPS, axis=(0, 1))


def _gammainc_series(a: np.ndarray, x: np.ndarray, na: int) -> np.ndarray:
    """The jet of ``P(a, x)`` in ``a`` (``0 < x``), by the power series."""
    term = J.constant(np.ones_like(a), na, 0)
    total = term.copy()
    done = np.zeros(a.shape, dtype=bool)
    n = 0
    while not np.all(done):
        n += 1
        if n > _MAX_TERMS:
            total = np.where(done, total, np.nan)
            break
        term = J.mul(term, J.reciprocal_shift(a, n, na, 0, 0)) * x
        total = total + np.where(done, 0.0, term)
        done |= _converged(term, total)
    log_pre = J.shift(J.variable(a, na, 0, 0) * np.log(x), -x) - J.lgamma(a + 1.0, na, 0, 0)
    return J.mul(J.exp(log_pre), total)


def _gammaincc_cf(a: np.ndarray, x: np.ndarray, na: int) -> np.ndarray:
    """The jet of ``Q(a, x)`` in ``a`` (``x >= a + 1``), by the continued
    fraction, evaluated with the modified Lentz method."""
    av = J.variable(a, na, 0, 0)
    b = J.shift(-av, x + 1.0)
    c = J.constant(np.full(a.shape, 1e300), na, 0)  # Lentz's "infinity"
    d = J.inv(b)
    h = d
    done = np.zeros(a.shape, dtype=bool)
    i = 0
    while not np.all(done):
        i += 1
        if i > _MAX_TERMS:
            h = np.where(done, h, np.nan)
            break
        an = J.shift(av, -float(i)) * float(i)
        b = J.shift(b, 2.0)
        d = J.inv(J.mul(an, d) + b)
        c = b + J.div(an, c)
        step = J.mul(d, c)
        h = np.where(done, h, J.mul(h, step))
        done |= _settled(step)
    log_pre = J.shift(av * np.log(x), -x) - J.lgamma(a, na, 0, 0)
    return J.mul(J.exp(log_pre), h)


def gammainc_derivatives(n: int, a: Any, x: Any) -> np.ndarray:
    """``d^n P(a, x) / da^n`` (``n >= 1``) elementwise: 0 at ``x = 0`` and
    ``x = inf`` (and where they underflow, far in the tail), NaN where ``a`` is
    not in ``[1e-3, 1e5]``, ``x < 0`` or either is NaN."""
    a, x = np.broadcast_arrays(np.asarray(a, dtype=np.float64), np.asarray(x, dtype=np.float64))
    out = np.zeros(a.shape)
    bad = ~(a >= _MIN_SHAPE) | ~(x >= 0) | ~(a <= _MAX_SHAPE)
    edge = (x == 0) | np.isinf(x)
    live = ~bad & ~edge
    series = live & (x < a + 1.0)
    frac = live & ~series
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        gone = frac & (a * np.log(x) - x - sc.gammaln(a) < _UNDERFLOW)
    frac &= ~gone
    with np.errstate(over="ignore", under="ignore", invalid="ignore", divide="ignore"):
        if np.any(series):
            out[series] = J.derivatives(_gammainc_series(a[series], x[series], n))[n, 0]
        if np.any(frac):
            out[frac] = -J.derivatives(_gammaincc_cf(a[frac], x[frac], n))[n, 0]
    out[bad] = np.nan
    return out[()] if out.ndim == 0 else out


def _betainc_cf(a: np.ndarray, b: np.ndarray, x: np.ndarray, na: int, nb: int) -> np.ndarray:
    """The jet of ``I_x(a, b)`` in ``(a, b)`` for ``0 < x < (a + 1)/(a + b + 2)``."""
    av = J.variable(a, na, nb, 0)
    bv = J.variable(b, na, nb, 1)
    unit = J.constant(np.ones_like(a), na, nb)
    qab = av + bv
    c = unit
    d = J.inv(unit - J.div(qab, J.shift(av, 1.0)) * x)
    h = d
    done = np.zeros(a.shape, dtype=bool)
    m = 0
    while not np.all(done):
        m += 1
        if m > _MAX_TERMS:
            h = np.where(done, h, np.nan)
            break
        m2 = 2.0 * m
        # The even step: m (b - m) x / ((a + 2m - 1)(a + 2m)).
        aa = J.mul(
            J.mul(J.shift(bv, -float(m)), J.reciprocal_shift(a, m2 - 1.0, na, nb, 0)),
            J.reciprocal_shift(a, m2, na, nb, 0),
        ) * (m * x)
        d = J.inv(unit + J.mul(aa, d))
        c = unit + J.div(aa, c)
        even = J.mul(d, c)
        # The odd step: -(a + m)(a + b + m) x / ((a + 2m)(a + 2m + 1)).
        aa = (
            -J.mul(
                J.mul(J.shift(av, float(m)), J.shift(qab, float(m))),
                J.mul(
                    J.reciprocal_shift(a, m2, na, nb, 0), J.reciprocal_shift(a, m2 + 1.0, na, nb, 0)
                ),
            )
            * x
        )
        d = J.inv(unit + J.mul(aa, d))
        c = unit + J.div(aa, c)
        step = J.mul(J.mul(d, c), even)
        h = np.where(done, h, J.mul(h, step))
        done |= _settled(step)
    log_pre = (
        av * np.log(x)
        + bv * np.log1p(-x)
        - J.lgamma(a, na, nb, 0)
        - J.lgamma(b, na, nb, 1)
        + J.lgamma_sum(a + b, na, nb)
    )
    return J.div(J.mul(J.exp(log_pre), h), av)


def betainc_derivatives(i: int, j: int, a: Any, b: Any, x: Any) -> np.ndarray:
    """``d^(i+j) I_x(a, b) / da^i db^j`` (``i + j >= 1``) elementwise: 0 at
    ``x = 0`` and ``x = 1``, NaN where ``a`` or ``b`` is not in ``[1e-3, 1e5]``,
    ``x`` is outside ``[0, 1]`` or anything is NaN."""
    a, b, x = np.broadcast_arrays(
        np.asarray(a, dtype=np.float64),
        np.asarray(b, dtype=np.float64),
        np.asarray(x, dtype=np.float64),
    )
    out = np.zeros(a.shape)
    bad = ~((a >= _MIN_SHAPE) & (a <= _MAX_SHAPE) & (b >= _MIN_SHAPE) & (b <= _MAX_SHAPE))
    bad |= ~((x >= 0) & (x <= 1))
    live = ~bad & (x > 0) & (x < 1)
    with np.errstate(over="ignore", invalid="ignore"):
        direct = live & (x < (a + 1.0) / (a + b + 2.0))
    mirror = live & ~direct
    with np.errstate(over="ignore", under="ignore", invalid="ignore", divide="ignore"):
        if np.any(direct):
            jet = _betainc_cf(a[direct], b[direct], x[direct], i, j)
            out[direct] = J.derivatives(jet)[i, j]
        if np.any(mirror):
            # I_x(a, b) = 1 - I_{1-x}(b, a): the roles of a and b swap.
            jet = _betainc_cf(b[mirror], a[mirror], 1.0 - x[mirror], j, i)
            out[mirror] = -J.derivatives(jet)[j, i]
    out[bad] = np.nan
    return out[()] if out.ndim == 0 else out
