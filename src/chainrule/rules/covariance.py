"""Covariance and correlation matrices: cov, corrcoef.

Compositions of ``average``, products and divisions that follow NumPy's own
steps, so values are NumPy's and every mode and order follows. Differentiable
in the data ``m`` and ``y`` and in ``aweights``; ``fweights`` are integer
counts (piecewise constant) and are used as plain values. Complex data work.

Convention: ``corrcoef`` clips to [-1, 1] as NumPy does; an entry that
rounding pushes past the bound (the diagonal, identically 1) gets derivative 0.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from ..core.registry import implements
from ..core.trace import is_traced, strip
from ._util import as_array
from .reductions import plain_falls_through


def _as_2d(a: Any, dtype: Any) -> Any:
    a = a if is_traced(a) else np.asarray(a)
    if strip(a).dtype != dtype:
        a = a.astype(dtype)
    return np.reshape(a, (1, -1)) if a.ndim < 2 else a


def _weights(w: Any, n: int, what: str) -> Any:
    if w is None:
        return None
    w = w if is_traced(w) else np.asarray(w, dtype=float)
    if strip(w).dtype != np.float64:
        w = w.astype(np.float64)
    if w.ndim > 1:
        raise RuntimeError(f"cannot handle multidimensional {what}")
    if w.shape[0] != n:
        raise RuntimeError(f"incompatible numbers of samples and {what}")
    if np.any(strip(w) < 0):
        raise ValueError(f"{what} cannot be negative")
    return w


@implements(np.cov)
@plain_falls_through(np.cov)
def cov(
    m: Any,
    y: Any = None,
    rowvar: bool = True,
    bias: bool = False,
    ddof: Any = None,
    fweights: Any = None,
    aweights: Any = None,
    *,
    dtype: Any = None,
) -> Any:
    """Differentiable ``numpy.cov``, in ``m``, ``y`` and ``aweights``.

    >>> import chainrule as cr, numpy as np
    >>> cr.grad(lambda x: np.cov(x))(np.array([1.0, 2.0, 4.0]))
    array([-1.33333333, -0.33333333,  1.66666667])
    """
    if ddof is not None and ddof != int(ddof):
        raise ValueError("ddof must be integer")
    if np.ndim(strip(m)) > 2:
        raise ValueError("m has more than 2 dimensions")
    if y is not None and np.ndim(strip(y)) > 2:
        raise ValueError("y has more than 2 dimensions")
    if dtype is None:
        parts = (strip(m),) if y is None else (strip(m), strip(y))
        dtype = np.result_type(*parts, np.float64)
    X = _as_2d(m, dtype)
    if not rowvar and np.ndim(strip(m)) != 1:
        X = X.T
    if X.shape[0] == 0:
        return np.array([]).reshape(0, 0)
    if y is not None:
        Y = _as_2d(y, dtype)
        if not rowvar and Y.shape[0] != 1:
            Y = Y.T
        X = np.concatenate((X, Y), axis=0)
    if ddof is None:
        ddof = 1 if bias == 0 else 0
    n = X.shape[1]
    w = None
    if fweights is not None:
        fw = as_array(strip(fweights), float)
        if not np.all(fw == np.around(fw)):
            raise TypeError("fweights must be integer")
        w = _weights(fw, n, "fweights")
    aw = _weights(aweights, n, "aweights")
    if aw is not None:
        w = aw if w is None else w * aw
    avg, w_sum = np.average(X, axis=1, weights=w, returned=True)
    w_sum = w_sum[0]
    if w is None:
        fact = n - ddof
    elif ddof == 0:
        fact = w_sum
    elif aw is None:
        fact = w_sum - ddof
    else:
        fact = w_sum - ddof * np.sum(w * aw) / w_sum
    if strip(fact) <= 0:
        warnings.warn("Degrees of freedom <= 0 for slice", RuntimeWarning, stacklevel=2)
        fact = 0.0
    X = X - avg[:, None]
    X_T = X.T if w is None else (X * w).T
    c = np.dot(X, np.conjugate(X_T) if np.iscomplexobj(strip(X_T)) else X_T)
    with np.errstate(divide="ignore", invalid="ignore"):
        c = c * np.true_divide(1, fact)
    return np.squeeze(c)


@implements(np.corrcoef)
@plain_falls_through(np.corrcoef)
def corrcoef(x: Any, y: Any = None, rowvar: bool = True, *, dtype: Any = None) -> Any:
    """Differentiable ``numpy.corrcoef``, in ``x`` and ``y``.

    >>> import chainrule as cr, numpy as np
    >>> y = np.array([1.0, 2.0, 4.0])
    >>> cr.grad(lambda x: np.corrcoef(x, y)[0, 1])(np.array([1.0, 3.0, 2.0]))
    array([-0.27277236, -0.27277236,  0.54554473])
    """
    c = cov(x, y, rowvar, dtype=dtype)
    if c.ndim == 0:
        return c / c
    d = np.diagonal(c)
    stddev = np.sqrt(np.real(d))
    c = c / stddev[:, None]
    c = c / stddev[None, :]
    if np.iscomplexobj(strip(c)):
        return np.clip(np.real(c), -1, 1) + 1j * np.clip(np.imag(c), -1, 1)
    return np.clip(c, -1, 1)
