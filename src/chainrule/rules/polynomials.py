"""Polynomials: NumPy's ``poly*`` functions (highest power first) and the
``numpy.polynomial.polynomial`` module (lowest power first).

Compositions of differentiable operations (products, sums, concatenation,
convolution, ``linalg.lstsq``) that repeat NumPy's arithmetic, so values are
NumPy's and every mode and order follows. Conventions:

* Trimming (leading zeros for ``np.polymul``, trailing zeros in
  ``numpy.polynomial``, ``polytrim``) is decided on the values; a trimmed
  coefficient that is exactly 0 passes no derivative on.
* Fits (``polyfit``) are differentiable in ``x``, ``y`` and ``w`` where the
  design matrix has full rank (``linalg.lstsq``'s condition).
* Roots (``np.roots``, ``polyroots``) are the eigenvalues of the companion
  matrix, built here differentiably, through ``linalg.eigvals``'s rule:
  ``dr = -(dp)(r) / p'(r)`` at a simple root; repeated roots are not
  differentiable (they move like a root of the perturbation) and raise.

``numpy.polynomial.polynomial`` converts its arguments with ``np.array``, so
a plain call cannot receive traced coefficients: use
``chainrule.numpy.polynomial.polynomial`` (the same names), which holds the
functions below.
"""

from __future__ import annotations

import functools
import operator
import warnings
from typing import Any

import numpy as np
import numpy.polynomial.polynomial as P

from ..at import at
from ..core.registry import implements
from ..core.trace import is_traced, strip
from ..errors import NoRuleError
from ._util import as_array
from .reductions import plain_falls_through

_INTS = "?bBhHiIlLqQpP"


def _arr(x: Any) -> Any:
    return x if is_traced(x) else np.asanyarray(x)


def _float(c: Any) -> Any:
    """Integer or bool coefficients become float, as NumPy's ``c + 0.0``."""
    return c.astype(np.float64) if strip(c).dtype.char in _INTS else c


def _1d(c: Any) -> Any:
    c = _arr(c)
    return np.reshape(c, (1,)) if c.ndim == 0 else c


def _any_traced(*args: Any) -> bool:
    return any(is_traced(a) for a in args) or any(
        isinstance(a, (list, tuple)) and _any_traced(*a) for a in args
    )


def _plain_or(numpy_fn: Any) -> Any:
    """Like ``plain_falls_through``, looking into lists of arguments too."""

    def wrap(fn: Any) -> Any:
        @functools.wraps(fn)
        def run(*args: Any, **kwargs: Any) -> Any:
            if _any_traced(*args, *kwargs.values()):
                return fn(*args, **kwargs)
            return numpy_fn(*args, **kwargs)

        return run

    return wrap


def _stack1(values: list) -> Any:
    """A 1-d array from scalars, some of which may be traced."""
    if not any(is_traced(v) for v in values):
        return np.array(values)
    return np.stack([v if is_traced(v) else np.asarray(v) for v in values])


# =====================================================================================
# numpy's poly* functions: coefficients from the highest power down
# =====================================================================================
def _coeffs(p: Any) -> Any:
    return p.coeffs if isinstance(p, np.poly1d) else _arr(p)


@implements(np.polyval)
@plain_falls_through(np.polyval)
def polyval(p: Any, x: Any) -> Any:
    """Differentiable ``numpy.polyval``, in the coefficients ``p`` and in ``x``.

    >>> import chainrule as cr, numpy as np
    >>> float(cr.grad(lambda x: np.polyval(np.array([1.0, 0.0, -2.0]), x))(3.0))
    6.0
    """
    p = _coeffs(p)
    x = _arr(x)
    y = np.zeros_like(strip(x))
    for pv in p:
        y = y * x + pv
    return y


@implements(np.vander)
@plain_falls_through(np.vander)
def vander(x: Any, N: Any = None, increasing: bool = False) -> Any:
    """Differentiable ``numpy.vander`` (the powers as a running product, as
    NumPy forms them)."""
    x = _arr(x)
    if x.ndim != 1:
        raise ValueError("x must be a one-dimensional array or sequence.")
    n = x.shape[0] if N is None else int(N)
    dtype = np.promote_types(strip(x).dtype, int)
    cols = [np.ones((x.shape[0], min(n, 1)), dtype=dtype)]
    if n > 1:
        reps = np.broadcast_to(np.reshape(x, (-1, 1)), (x.shape[0], n - 1))
        cols.append(np.cumprod(reps, axis=1))
    v = np.concatenate(cols, axis=1)
    if strip(v).dtype != dtype:
        v = v.astype(dtype)
    return v if increasing else v[:, ::-1]


@implements(np.polyfit)
@plain_falls_through(np.polyfit)
def polyfit(
    x: Any, y: Any, deg: int, rcond: Any = None, full: bool = False, w: Any = None, cov: Any = False
) -> Any:
    """Differentiable ``numpy.polyfit``, in ``x``, ``y`` and ``w`` (full-rank
    fits; ``full=`` and ``cov=`` too: residuals, singular values and the
    covariance are differentiable, the rank is an integer).

    >>> import chainrule as cr, numpy as np
    >>> x = np.array([0.0, 1.0, 2.0, 3.0])
    >>> cr.jacrev(lambda y: np.polyfit(x, y, 1))(x).round(3)
    array([[-0.3, -0.1,  0.1,  0.3],
           [ 0.7,  0.4,  0.1, -0.2]])
    """
    order = int(deg) + 1
    x, y = _float(_arr(x)), _float(_arr(y))
    if deg < 0:
        raise ValueError("expected deg >= 0")
    if x.ndim != 1:
        raise TypeError("expected 1D vector for x")
    if x.size == 0:
        raise TypeError("expected non-empty vector for x")
    if y.ndim < 1 or y.ndim > 2:
        raise TypeError("expected 1D or 2D array for y")
    if x.shape[0] != y.shape[0]:
        raise TypeError("expected x and y to have same length")
    if rcond is None:
        rcond = len(x) * np.finfo(strip(x).dtype).eps
    lhs = vander(x, order)
    rhs = y
    if w is not None:
        w = _float(_arr(w))
        if w.ndim != 1:
            raise TypeError("expected a 1-d array for weights")
        if w.shape[0] != y.shape[0]:
            raise TypeError("expected w and y to have the same length")
        lhs = lhs * w[:, None]
        rhs = rhs * (w[:, None] if rhs.ndim == 2 else w)
    scale = np.sqrt((lhs * lhs).sum(axis=0))
    lhs = lhs / scale
    c, resids, rank, s = np.linalg.lstsq(lhs, rhs, rcond)
    c = (c.T / scale).T
    if rank != order and not full:
        warnings.warn("Polyfit may be poorly conditioned", np.exceptions.RankWarning, stacklevel=2)
    if full:
        return c, resids, rank, s, rcond
    if cov:
        vbase = np.linalg.inv(lhs.T @ lhs) / np.outer(scale, scale)
        if cov == "unscaled":
            fac = 1
        else:
            if len(x) <= order:
                raise ValueError(
                    "the number of data points must exceed order to scale the covariance matrix"
                )
            fac = resids / (len(x) - order)
        if y.ndim == 1:
            return c, vbase * fac
        return c, vbase[:, :, None] * fac
    return c


@implements(np.polyder)
@plain_falls_through(np.polyder)
def polyder(p: Any, m: int = 1) -> Any:
    """Differentiable ``numpy.polyder`` (derivative coefficients, differentiable
    in the coefficients).

    >>> import chainrule as cr, numpy as np
    >>> cr.grad(lambda p: np.polyval(np.polyder(p), 2.0))(np.array([1.0, 1.0, 1.0]))
    array([4., 1., 0.])
    """
    m = int(m)
    if m < 0:
        raise ValueError("Order of derivative must be positive (see polyint)")
    p = _coeffs(p)
    n = len(p) - 1
    if m == 0:
        return p
    return polyder(p[:-1] * np.arange(n, 0, -1), m - 1)


@implements(np.polyint)
@plain_falls_through(np.polyint)
def polyint(p: Any, m: int = 1, k: Any = None) -> Any:
    """Differentiable ``numpy.polyint``, in the coefficients and the
    integration constants ``k``."""
    m = int(m)
    if m < 0:
        raise ValueError("Order of integral must be positive (see polyder)")
    k = np.zeros(m, float) if k is None else k
    k = _1d(k)
    if len(k) == 1 and m > 1:
        k = k[0] * np.ones(m, float)
    if len(k) < m:
        raise ValueError("k must be a scalar or a rank-1 array of length 1 or >m.")
    p = _coeffs(p)
    if m == 0:
        return p
    y = np.concatenate((p / np.arange(len(p), 0, -1), k[0:1]))
    return polyint(y, m - 1, k=k[1:])


def _lead_pad(a: Any, n: int) -> Any:
    return np.concatenate((np.zeros(n, strip(a).dtype), a)) if n else a


@implements(np.polyadd)
@plain_falls_through(np.polyadd)
def polyadd(a1: Any, a2: Any) -> Any:
    """Differentiable ``numpy.polyadd``."""
    a1, a2 = _1d(_coeffs(a1)), _1d(_coeffs(a2))
    d = len(a2) - len(a1)
    return _lead_pad(a1, max(d, 0)) + _lead_pad(a2, max(-d, 0))


@implements(np.polysub)
@plain_falls_through(np.polysub)
def polysub(a1: Any, a2: Any) -> Any:
    """Differentiable ``numpy.polysub``."""
    a1, a2 = _1d(_coeffs(a1)), _1d(_coeffs(a2))
    d = len(a2) - len(a1)
    return _lead_pad(a1, max(d, 0)) - _lead_pad(a2, max(-d, 0))


def _trim_leading(a: Any) -> Any:
    """``numpy.poly1d``'s trimming of leading zeros (on the values)."""
    a = _1d(_coeffs(a))
    nz = np.flatnonzero(strip(a))
    if len(nz) == 0:
        return np.zeros(1, strip(a).dtype)
    return a[nz[0] :]


@implements(np.polymul)
@plain_falls_through(np.polymul)
def polymul(a1: Any, a2: Any) -> Any:
    """Differentiable ``numpy.polymul`` (a convolution).

    >>> import chainrule as cr, numpy as np
    >>> cr.jacrev(lambda p: np.polymul(p, np.array([1.0, -1.0])))(np.array([1.0, 2.0]))
    array([[ 1.,  0.],
           [-1.,  1.],
           [ 0., -1.]])
    """
    return np.convolve(_trim_leading(a1), _trim_leading(a2))


@implements(np.polydiv)
@plain_falls_through(np.polydiv)
def polydiv(u: Any, v: Any) -> Any:
    """Differentiable ``numpy.polydiv``: quotient and remainder, in both
    arguments (leading remainder terms within 1e-14 of 0 are dropped on the
    values, as NumPy does).

    >>> import chainrule as cr, numpy as np
    >>> cr.jacrev(lambda u: np.polydiv(u, np.array([1.0, -1.0]))[0])(np.array([1.0, 0.0, -1.0]))
    array([[1., 0., 0.],
           [1., 1., 0.]])
    """
    u, v = _float(_1d(_coeffs(u))), _float(_1d(_coeffs(v)))
    dtype = np.result_type(strip(u), strip(v), 0.0)
    u = u if strip(u).dtype == dtype else u.astype(dtype)
    v = v if strip(v).dtype == dtype else v.astype(dtype)
    m, n = len(u) - 1, len(v) - 1
    scale = 1.0 / v[0]
    q = np.zeros((max(m - n + 1, 1),), dtype)
    r = u
    for k in range(m - n + 1):
        d = scale * r[k]
        q = at(q)[k].set(d)
        r = at(r)[k : k + n + 1].add(-(d * v))
    while np.allclose(strip(r[0]), 0, rtol=1e-14) and r.shape[-1] > 1:
        r = r[1:]
    return q, r


@implements(np.poly)
@plain_falls_through(np.poly)
def poly(seq_of_zeros: Any) -> Any:
    """Differentiable ``numpy.poly`` of a 1-d sequence of roots, or of a square
    matrix (its characteristic polynomial, through ``linalg.eigvals``).

    >>> import chainrule as cr, numpy as np
    >>> cr.jacrev(np.poly)(np.array([1.0, 2.0])) + 0.0  # + 0.0 shows -0. as 0.
    array([[ 0.,  0.],
           [-1., -1.],
           [ 2.,  1.]])
    """
    z = _1d(seq_of_zeros)
    if z.ndim == 2 and z.shape[0] == z.shape[1] and z.shape[0] != 0:
        z = np.linalg.eigvals(z)
    elif z.ndim != 1:
        raise ValueError("input must be 1d or non-empty square 2d array.")
    else:
        z = z.astype(np.dtype(np.mintypecode(strip(z).dtype.char)))
    if len(z) == 0:
        return 1.0
    dt = strip(z).dtype
    a = np.ones((1,), dtype=dt)
    for zero in z:
        a = np.convolve(a, _stack1([np.ones((), dt), -zero]), mode="full")
    if np.iscomplexobj(strip(a)):
        roots = as_array(strip(z), complex)
        if np.all(np.sort(roots) == np.sort(roots.conjugate())):
            a = np.real(a)
    return a


@implements(np.roots)
@plain_falls_through(np.roots)
def roots(p: Any) -> Any:
    """Differentiable ``numpy.roots``: the eigenvalues of the companion matrix,
    built differentiably, through ``linalg.eigvals`` (so ``dr = -(dp)(r) / p'(r)``
    at a simple root; a repeated root raises ``NotImplementedError``). Leading
    zero coefficients are trimmed like NumPy's (a root at infinity has no
    derivative); a trailing zero (a simple root at 0) is differentiated as a
    coefficient of the polynomial, like the others; several (a repeated root
    at 0) raise.

    >>> import chainrule as cr, numpy as np
    >>> cr.jacrev(np.roots)(np.array([1.0, -3.0, 2.0]))  # roots 2 and 1
    array([[-4., -2., -1.],
           [ 1.,  1.,  1.]])
    """
    p = _1d(p)
    if p.ndim != 1:
        raise ValueError("Input must be a rank-1 array.")
    nz = np.flatnonzero(strip(p))
    if len(nz) == 0:
        return np.array([])
    trailing = len(p) - nz[-1] - 1
    if trailing == 1 and len(nz) > 1:
        return _roots_with_zero(_float(p[int(nz[0]) :]))
    if trailing > 1:
        raise NoRuleError(
            "chainrule: numpy.roots of a polynomial with a repeated root at 0 (several "
            "trailing zero coefficients): a repeated root is not differentiable (it moves "
            "like a root of the perturbation)."
        )
    p = _float(p[int(nz[0]) : int(nz[-1]) + 1])
    r = _companion_eigvals(p) if len(p) > 1 else np.array([])
    return np.concatenate((r, np.zeros(trailing, strip(r).dtype)))


def _companion_eigvals(p: Any) -> Any:
    n = len(p)
    top = np.reshape(-p[1:] / p[0], (1, -1))
    below = np.diag(np.ones((n - 2,), strip(p).dtype), -1)[1:]
    return np.linalg.eigvals(np.concatenate([top, below]))


def _roots_with_zero(p: Any) -> Any:
    """Roots of ``p`` whose last coefficient is 0: NumPy's values (it trims the
    zero and appends the root 0), with the derivative of the eigenvalues of the
    untrimmed companion matrix, in which the last coefficient moves the roots too."""
    plain = np.roots(strip(p))
    full = _companion_eigvals(p)
    fv = strip(full)
    order = np.argmin(np.abs(plain[:, None] - fv[None, :]), axis=-1)
    full = full[order]
    if not np.iscomplexobj(plain):
        full = np.real(full)
    return plain + (full - strip(full))


# =====================================================================================
# numpy.polynomial.polynomial: coefficients from the lowest power up
# =====================================================================================
def _series(*cs: Any, trim: bool = True) -> list:
    """``polyutils.as_series``: 1-d float/complex copies, trailing zeros trimmed."""
    arrays = [_1d(c) for c in cs]
    for a in arrays:
        if a.size == 0:
            raise ValueError("Coefficient array is empty")
        if a.ndim != 1:
            raise ValueError("Coefficient array is not 1-d")
    if trim:
        arrays = [_trimseq(a) for a in arrays]
    dtype = np.dtype(np.common_type(*[strip(a) for a in arrays]))
    return [a if strip(a).dtype == dtype else a.astype(dtype) for a in arrays]


def _trimseq(c: Any) -> Any:
    nz = np.flatnonzero(strip(c))
    return c[: nz[-1] + 1] if len(nz) else c[:1]


def _as_int(x: Any, desc: str) -> int:
    try:
        return operator.index(x)
    except TypeError as e:
        raise TypeError(f"{desc} must be an integer, received {x}") from e


def _coef_nd(c: Any) -> Any:
    return _float(_1d(c))


@implements(P.polyval)
@_plain_or(P.polyval)
def ppolyval(x: Any, c: Any, tensor: bool = True) -> Any:
    """Differentiable ``numpy.polynomial.polynomial.polyval``, in ``x`` and
    ``c`` (Horner's scheme, as NumPy)."""
    c = _coef_nd(c)
    if isinstance(x, (tuple, list)):
        x = np.asarray(x)
    if (isinstance(x, np.ndarray) or is_traced(x)) and tensor:
        c = np.reshape(c, c.shape + (1,) * x.ndim)
    c0 = c[-1] + x * 0
    for i in range(2, len(c) + 1):
        c0 = c[-i] + c0 * x
    return c0


def _valnd(c: Any, *points: Any) -> Any:
    args = [_arr(a) for a in points]
    if not all(a.shape == args[0].shape for a in args[1:]):
        names = {2: "x, y", 3: "x, y, z"}
        raise ValueError(f"{names.get(len(args), 'ordinates')} are incompatible")
    c = ppolyval(args[0], c)
    for xi in args[1:]:
        c = ppolyval(xi, c, tensor=False)
    return c


@implements(P.polyval2d)
@_plain_or(P.polyval2d)
def polyval2d(x: Any, y: Any, c: Any) -> Any:
    """Differentiable ``polyval2d``."""
    return _valnd(c, x, y)


@implements(P.polyval3d)
@_plain_or(P.polyval3d)
def polyval3d(x: Any, y: Any, z: Any, c: Any) -> Any:
    """Differentiable ``polyval3d``."""
    return _valnd(c, x, y, z)


@implements(P.polygrid2d)
@_plain_or(P.polygrid2d)
def polygrid2d(x: Any, y: Any, c: Any) -> Any:
    """Differentiable ``polygrid2d``."""
    for xi in (x, y):
        c = ppolyval(xi, c)
    return c


@implements(P.polygrid3d)
@_plain_or(P.polygrid3d)
def polygrid3d(x: Any, y: Any, z: Any, c: Any) -> Any:
    """Differentiable ``polygrid3d``."""
    for xi in (x, y, z):
        c = ppolyval(xi, c)
    return c


@implements(P.polyvalfromroots)
@_plain_or(P.polyvalfromroots)
def polyvalfromroots(x: Any, r: Any, tensor: bool = True) -> Any:
    """Differentiable ``polyvalfromroots``, in ``x`` and the roots ``r``."""
    r = _coef_nd(r)
    if isinstance(x, (tuple, list)):
        x = np.asarray(x)
    if isinstance(x, np.ndarray) or is_traced(x):
        if tensor:
            r = np.reshape(r, r.shape + (1,) * x.ndim)
        elif x.ndim >= r.ndim:
            raise ValueError("x.ndim must be < r.ndim when tensor == False")
    return np.prod(x - r, axis=0)


@implements(P.polyvander)
@_plain_or(P.polyvander)
def polyvander(x: Any, deg: int) -> Any:
    """Differentiable ``polyvander``: the powers ``x**0 .. x**deg`` on a last axis."""
    ideg = _as_int(deg, "deg")
    if ideg < 0:
        raise ValueError("deg must be non-negative")
    x = _coef_nd(x)
    if strip(x).dtype.char not in "fdgFDG":
        x = x + 0.0
    cols = [x * 0 + 1]
    if ideg > 0:
        cols.append(x)
        for _ in range(2, ideg + 1):
            cols.append(cols[-1] * x)
    return np.stack(cols, axis=-1)


def _vander_nd(points: tuple, degrees: tuple) -> Any:
    n = len(points)
    pts = [_coef_nd(p) for p in points]
    if not all(p.shape == pts[0].shape for p in pts):
        raise ValueError("x, y, z are incompatible" if n == 3 else "x, y are incompatible")
    parts = []
    for i, (p, d) in enumerate(zip(pts, degrees)):
        idx = (...,) + tuple(slice(None) if j == i else None for j in range(n))
        parts.append(polyvander(p, d)[idx])
    v = functools.reduce(operator.mul, parts)
    return np.reshape(v, v.shape[:-n] + (-1,))


@implements(P.polyvander2d)
@_plain_or(P.polyvander2d)
def polyvander2d(x: Any, y: Any, deg: Any) -> Any:
    """Differentiable ``polyvander2d``."""
    return _vander_nd((x, y), tuple(deg))


@implements(P.polyvander3d)
@_plain_or(P.polyvander3d)
def polyvander3d(x: Any, y: Any, z: Any, deg: Any) -> Any:
    """Differentiable ``polyvander3d``."""
    return _vander_nd((x, y, z), tuple(deg))


@implements(P.polyder)
@_plain_or(P.polyder)
def ppolyder(c: Any, m: int = 1, scl: Any = 1, axis: int = 0) -> Any:
    """Differentiable ``numpy.polynomial.polynomial.polyder``, in ``c`` and ``scl``.

    >>> import chainrule as cr, numpy as np
    >>> import chainrule.numpy.polynomial.polynomial as P
    >>> cr.grad(lambda c: P.polyval(2.0, P.polyder(c)))(np.array([1.0, 1.0, 1.0]))
    array([0., 1., 4.])
    """
    c = _coef_nd(c)
    cnt = _as_int(m, "the order of derivation")
    iaxis = _as_int(axis, "the axis")
    if cnt < 0:
        raise ValueError("The order of derivation must be non-negative")
    if not -c.ndim <= iaxis < c.ndim:
        raise np.exceptions.AxisError(iaxis, c.ndim)
    if cnt == 0:
        return c
    c = np.moveaxis(c, iaxis, 0)
    n = len(c)
    if cnt >= n:
        c = c[:1] * 0
    else:
        for _ in range(cnt):
            n -= 1
            c = c * scl
            j = np.arange(1, n + 1).reshape((-1,) + (1,) * (c.ndim - 1))
            c = j * c[1:]
    return np.moveaxis(c, 0, iaxis)


@implements(P.polyint)
@_plain_or(P.polyint)
def ppolyint(c: Any, m: int = 1, k: Any = (), lbnd: Any = 0, scl: Any = 1, axis: int = 0) -> Any:
    """Differentiable ``numpy.polynomial.polynomial.polyint``, in ``c``, the
    constants ``k``, ``lbnd`` and ``scl``.

    >>> import chainrule as cr, numpy as np
    >>> import chainrule.numpy.polynomial.polynomial as P
    >>> cr.grad(lambda c: P.polyint(c)[1:].sum())(np.array([2.0, 3.0]))
    array([1. , 0.5])
    """
    c = _coef_nd(c)
    if is_traced(k) and k.ndim == 0 or not (is_traced(k) or np.iterable(k)):
        k = [k]
    cnt = _as_int(m, "the order of integration")
    iaxis = _as_int(axis, "the axis")
    if cnt < 0:
        raise ValueError("The order of integration must be non-negative")
    if len(k) > cnt:
        raise ValueError("Too many integration constants")
    if np.ndim(strip(lbnd)) != 0:
        raise ValueError("lbnd must be a scalar.")
    if np.ndim(strip(scl)) != 0:
        raise ValueError("scl must be a scalar.")
    if not -c.ndim <= iaxis < c.ndim:
        raise np.exceptions.AxisError(iaxis, c.ndim)
    if cnt == 0:
        return c
    k = [k[i] for i in range(len(k))] + [0] * (cnt - len(k))
    c = np.moveaxis(c, iaxis, 0)
    for i in range(cnt):
        n = len(c)
        c = c * scl
        if n == 1 and np.all(strip(c[0]) == 0):
            c = at(c)[0].add(k[i])
        else:
            j = np.arange(2, n + 1).reshape((-1,) + (1,) * (c.ndim - 1))
            tmp = np.concatenate([c[:1] * 0, c[:1], c[1:] / j])
            c = at(tmp)[0].add(k[i] - ppolyval(lbnd, tmp))
    return np.moveaxis(c, 0, iaxis)


@implements(P.polyadd)
@_plain_or(P.polyadd)
def ppolyadd(c1: Any, c2: Any) -> Any:
    """Differentiable ``numpy.polynomial.polynomial.polyadd``."""
    c1, c2 = _series(c1, c2)
    if len(c1) > len(c2):
        ret = at(c1)[: len(c2)].add(c2)
    else:
        ret = at(c2)[: len(c1)].add(c1)
    return _trimseq(ret)


@implements(P.polysub)
@_plain_or(P.polysub)
def ppolysub(c1: Any, c2: Any) -> Any:
    """Differentiable ``numpy.polynomial.polynomial.polysub``."""
    c1, c2 = _series(c1, c2)
    if len(c1) > len(c2):
        ret = at(c1)[: len(c2)].add(-c2)
    else:
        ret = at(-c2)[: len(c1)].add(c1)
    return _trimseq(ret)


@implements(P.polymul)
@_plain_or(P.polymul)
def ppolymul(c1: Any, c2: Any) -> Any:
    """Differentiable ``numpy.polynomial.polynomial.polymul``."""
    c1, c2 = _series(c1, c2)
    return _trimseq(np.convolve(c1, c2))


@implements(P.polymulx)
@_plain_or(P.polymulx)
def polymulx(c: Any) -> Any:
    """Differentiable ``polymulx`` (multiply by x)."""
    [c] = _series(c)
    if len(c) == 1 and strip(c[0]) == 0:
        return c
    return np.concatenate([c[:1] * 0, c])


@implements(P.polypow)
@_plain_or(P.polypow)
def polypow(c: Any, pow: Any, maxpower: Any = None) -> Any:
    """Differentiable ``polypow``."""
    [c] = _series(c)
    power = int(pow)
    if power != pow or power < 0:
        raise ValueError("Power must be a non-negative integer.")
    if maxpower is not None and power > maxpower:
        raise ValueError("Power is too large")
    if power == 0:
        return np.array([1], dtype=strip(c).dtype)
    prd = c
    for _ in range(2, power + 1):
        prd = np.convolve(prd, c)
    return prd


@implements(P.polydiv)
@_plain_or(P.polydiv)
def ppolydiv(c1: Any, c2: Any) -> Any:
    """Differentiable ``numpy.polynomial.polynomial.polydiv``: quotient and
    remainder, in both arguments."""
    c1, c2 = _series(c1, c2)
    if strip(c2[-1]) == 0:
        raise ZeroDivisionError("division by a polynomial whose coefficients are all 0")
    lc1, lc2 = len(c1), len(c2)
    if lc1 < lc2:
        return c1[:1] * 0, c1
    if lc2 == 1:
        return c1 / c2[-1], c1[:1] * 0
    scl = c2[-1]
    c2 = c2[:-1] / scl
    i, j = lc1 - lc2, lc1 - 1
    while i >= 0:
        c1 = at(c1)[i:j].add(-(c2 * c1[j]))
        i -= 1
        j -= 1
    return c1[j + 1 :] / scl, _trimseq(c1[: j + 1])


@implements(P.polyline)
@_plain_or(P.polyline)
def polyline(off: Any, scl: Any) -> Any:
    """Differentiable ``polyline``: the coefficients ``[off, scl]``."""
    return _stack1([off, scl]) if strip(scl) != 0 else _stack1([off])


@implements(P.polyfromroots)
@_plain_or(P.polyfromroots)
def polyfromroots(roots: Any) -> Any:
    """Differentiable ``polyfromroots``, multiplying the linear factors in
    NumPy's pairwise order."""
    if len(roots) == 0:
        return np.ones(1)
    [r] = _series(roots, trim=False)
    r = np.sort(r)
    p = [polyline(-r[i], 1) for i in range(len(r))]
    n = len(p)
    while n > 1:
        m, rem = divmod(n, 2)
        tmp = [ppolymul(p[i], p[i + m]) for i in range(m)]
        if rem:
            tmp[0] = ppolymul(tmp[0], p[-1])
        p = tmp
        n = m
    return p[0]


@implements(P.polycompanion)
@_plain_or(P.polycompanion)
def polycompanion(c: Any) -> Any:
    """Differentiable ``polycompanion`` (the companion matrix)."""
    [c] = _series(c)
    if len(c) < 2:
        raise ValueError("Series must have maximum degree of at least 1.")
    if len(c) == 2:
        return np.reshape(-c[0] / c[1], (1, 1))
    n = len(c) - 1
    shift = np.eye(n, k=-1, dtype=strip(c).dtype)
    return shift - _last_column(c, n)


def _last_column(c: Any, n: int) -> Any:
    col = np.reshape(c[:-1] / c[-1], (n, 1))
    return np.concatenate([np.zeros((n, n - 1), strip(c).dtype), col], axis=1)


@implements(P.polyroots)
@_plain_or(P.polyroots)
def polyroots(c: Any) -> Any:
    """Differentiable ``polyroots`` (sorted, like NumPy's): the eigenvalues of
    the companion matrix, through ``linalg.eigvals`` (see ``roots``).

    >>> import chainrule as cr, numpy as np
    >>> import chainrule.numpy.polynomial.polynomial as cpoly
    >>> cr.jacrev(cpoly.polyroots)(np.array([2.0, -3.0, 1.0]))  # roots 1 and 2
    array([[ 1.,  1.,  1.],
           [-1., -2., -4.]])
    """
    [c] = _series(c)
    if len(c) < 2:
        return np.array([], dtype=strip(c).dtype)
    if len(c) == 2:
        return np.reshape(-c[0] / c[1], (1,))
    return np.sort(np.linalg.eigvals(polycompanion(c)))


@implements(P.polyfit)
@_plain_or(P.polyfit)
def ppolyfit(x: Any, y: Any, deg: Any, rcond: Any = None, full: bool = False, w: Any = None) -> Any:
    """Differentiable ``numpy.polynomial.polynomial.polyfit``, in ``x``, ``y``
    and ``w`` (full-rank fits)."""
    x, y = _float(_arr(x)) + 0.0, _float(_arr(y)) + 0.0
    deg = np.asarray(deg)
    if deg.ndim > 1 or deg.dtype.kind not in "iu" or deg.size == 0:
        raise TypeError("deg must be an int or non-empty 1-D array of int")
    if deg.min() < 0:
        raise ValueError("expected deg >= 0")
    if x.ndim != 1:
        raise TypeError("expected 1D vector for x")
    if x.size == 0:
        raise TypeError("expected non-empty vector for x")
    if y.ndim < 1 or y.ndim > 2:
        raise TypeError("expected 1D or 2D array for y")
    if len(x) != len(y):
        raise TypeError("expected x and y to have same length")
    if deg.ndim == 0:
        lmax = int(deg)
        order = lmax + 1
        van = polyvander(x, lmax)
    else:
        deg = np.sort(deg)
        lmax = int(deg[-1])
        order = len(deg)
        van = polyvander(x, lmax)[:, deg]
    lhs, rhs = van.T, y.T
    if w is not None:
        w = _float(_arr(w)) + 0.0
        if w.ndim != 1:
            raise TypeError("expected 1D vector for w")
        if len(x) != len(w):
            raise TypeError("expected x and w to have same length")
        lhs, rhs = lhs * w, rhs * w
    if rcond is None:
        rcond = len(x) * np.finfo(strip(x).dtype).eps
    scl = np.sqrt(np.square(lhs).sum(1))
    zero = strip(scl) == 0
    if np.any(zero):
        scl = np.where(zero, 1.0, scl)
    c, resids, rank, s = np.linalg.lstsq(lhs.T / scl, rhs.T, rcond)
    c = (c.T / scl).T
    if deg.ndim > 0:
        shape = (lmax + 1,) + tuple(c.shape[1:])
        c = at(np.zeros(shape, strip(c).dtype))[deg].set(c)
    if rank != order and not full:
        warnings.warn("The fit may be poorly conditioned", np.exceptions.RankWarning, stacklevel=2)
    if full:
        return c, [resids, rank, s, rcond]
    return c


@implements(P.polytrim)
@_plain_or(P.polytrim)
def polytrim(c: Any, tol: Any = 0) -> Any:
    """Differentiable ``polytrim``: trailing coefficients with ``|c| <= tol``
    (decided on the values) are removed."""
    if tol < 0:
        raise ValueError("tol must be non-negative")
    [c] = _series(c)
    ind = np.flatnonzero(np.abs(strip(c)) > tol)
    if len(ind) == 0:
        return c[:1] * 0
    return c[: ind[-1] + 1]
