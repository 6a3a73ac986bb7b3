"""Truncated Taylor series in one or two variables, for the incomplete gamma
and beta functions' parameter derivatives.

A jet holds the Taylor coefficients ``c[i, j]`` of ``f(a + e, b + d)`` in
``e**i d**j`` for ``i <= na``, ``j <= nb``, elementwise over an array: an
ndarray of shape ``(na + 1, nb + 1) + shape``. Running a series or a
continued fraction on jets instead of numbers gives the exact derivatives of
each partial sum or convergent, to the same relative accuracy as the values
(the coefficients are summed, never differenced). The truncation is
rectangular, so a product's coefficient ``[i, j]`` needs only factors'
coefficients ``[k <= i, l <= j]``.
"""

from __future__ import annotations

import math
from functools import cache
from typing import Any

import numpy as np
import scipy.special as sc


@cache
def _pairs(na: int, nb: int) -> tuple[tuple[int, int, int, int, int, int], ...]:
    """``(i, j, k, l, i - k, j - l)`` for every term of a truncated product."""
    out = []
    for i in range(na + 1):
        for j in range(nb + 1):
            for k in range(i + 1):
                for m in range(j + 1):
                    out.append((i, j, k, m, i - k, j - m))
    return tuple(out)


def mul(p: np.ndarray, q: np.ndarray) -> np.ndarray:
    """The truncated product of two jets of the same orders."""
    na, nb = p.shape[0] - 1, p.shape[1] - 1
    if na == 0 and nb == 0:
        return p * q
    out = np.zeros(np.broadcast_shapes(p.shape, q.shape), dtype=np.result_type(p, q))
    for i, j, k, m, r, s in _pairs(na, nb):
        out[i, j] += p[k, m] * q[r, s]
    return out


def inv(p: np.ndarray) -> np.ndarray:
    """``1 / p``: ``1/p0 * sum((-u)**k)`` with ``u = p/p0 - 1`` nilpotent."""
    na, nb = p.shape[0] - 1, p.shape[1] - 1
    p0 = p[0, 0]
    r = np.reciprocal(p0)
    out = np.zeros_like(p)
    out[0, 0] = r
    if na == 0 and nb == 0:
        return out
    u = p * r
    u[0, 0] = 0.0
    term = out.copy()
    term[0, 0] = 1.0
    total = term.copy()
    for _ in range(na + nb):
        term = -mul(term, u)
        total = total + term
    return total * r


def div(p: np.ndarray, q: np.ndarray) -> np.ndarray:
    return mul(p, inv(q))


def exp(p: np.ndarray) -> np.ndarray:
    """``exp(p)``: ``exp(p0) * sum(u**k / k!)`` with ``u = p - p0``."""
    na, nb = p.shape[0] - 1, p.shape[1] - 1
    e0 = np.exp(p[0, 0])
    u = p.copy()
    u[0, 0] = 0.0
    term = np.zeros_like(p)
    term[0, 0] = 1.0
    total = term.copy()
    for k in range(1, na + nb + 1):
        term = mul(term, u) / k
        total = total + term
    return total * e0


def shift(p: np.ndarray, c: Any) -> np.ndarray:
    """``p + c`` for a constant ``c``: only the value moves (``p + c`` on the
    array would add ``c`` to every coefficient)."""
    out = p.copy()
    out[0, 0] = out[0, 0] + c
    return out


def constant(v: Any, na: int, nb: int) -> np.ndarray:
    v = np.asarray(v, dtype=np.float64)
    out = np.zeros((na + 1, nb + 1) + v.shape)
    out[0, 0] = v
    return out


def variable(v: Any, na: int, nb: int, which: int) -> np.ndarray:
    """The jet of the first (``which=0``) or second variable at ``v``."""
    out = constant(v, na, nb)
    if which == 0 and na:
        out[1, 0] = 1.0
    elif which == 1 and nb:
        out[0, 1] = 1.0
    return out


def reciprocal_shift(a0: Any, n: Any, na: int, nb: int, which: int) -> np.ndarray:
    """``1 / (v + n)`` for the variable ``which`` at ``a0``: coefficients
    ``(-1)**k / (a0 + n)**(k + 1)``, without the general division."""
    r = 1.0 / (np.asarray(a0, dtype=np.float64) + n)
    out = constant(r, na, nb)
    order = na if which == 0 else nb
    p = r
    for k in range(1, order + 1):
        p = -p * r
        if which == 0:
            out[k, 0] = p
        else:
            out[0, k] = p
    return out


def lgamma(v: Any, na: int, nb: int, which: int) -> np.ndarray:
    """``log Gamma`` of a variable: coefficients ``psi^(k-1)(v) / k!``."""
    v = np.asarray(v, dtype=np.float64)
    out = constant(sc.gammaln(v), na, nb)
    order = na if which == 0 else nb
    for k in range(1, order + 1):
        c = sc.polygamma(k - 1, v) / math.factorial(k)
        if which == 0:
            out[k, 0] = c
        else:
            out[0, k] = c
    return out


def lgamma_sum(v: Any, na: int, nb: int) -> np.ndarray:
    """``log Gamma(a + b)`` with both variables moving: coefficient ``[i, j]`` is
    ``psi^(i+j-1)(a + b) / (i! j!)``."""
    v = np.asarray(v, dtype=np.float64)
    out = constant(sc.gammaln(v), na, nb)
    for i in range(na + 1):
        for j in range(nb + 1):
            if i + j:
                out[i, j] = sc.polygamma(i + j - 1, v) / (math.factorial(i) * math.factorial(j))
    return out


def derivatives(p: np.ndarray) -> np.ndarray:
    """Taylor coefficients turned into partial derivatives (times ``i! j!``)."""
    out = p.copy()
    for i in range(p.shape[0]):
        for j in range(p.shape[1]):
            out[i, j] *= math.factorial(i) * math.factorial(j)
    return out
