"""``solve_banded`` as a primitive: ``O(n (l + u)^2)`` in both modes, never a dense matrix.

``ab`` holds the band of ``A`` as SciPy stores it, ``ab[u + i - j, j] = A[i, j]``,
so row ``r`` of ``ab`` is the diagonal ``A[j + r - u, j]``. With ``x = A^-1 b``:

* JVP: ``dx = A^-1 (db - dA x)``, with ``dA x`` one shifted product per stored
  diagonal (``_band_matvec``);
* VJP: ``z = A^-T g`` is another banded solve (``A^T`` stored by
  ``_band_transpose``, lower and upper widths swapped); ``b`` gets ``z`` and
  ``ab[r, j]`` gets ``-z[j + r - u] . x[j]``, zero in the unused corners.

Everything is written with the primitive, shifts and products, so every order
works. ``b`` is a stack ``(..., n, K)``; leading axes (batches of tangents and
cotangents) are solved as extra columns of one call.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.linalg as sl

from ..core.primitive import Primitive
from ..rules._util import ndim_of, pad_batch, shape_of, unbroadcast


def _shift(v: Any, s: int, axis: int) -> Any:
    """``out[i] = v[i - s]`` along ``axis`` (zeros shifted in)."""
    n = shape_of(v)[axis]
    if s == 0:
        return v
    width = [(0, 0)] * ndim_of(v)
    width[axis] = (s, 0) if s > 0 else (0, -s)
    padded = np.pad(v, width)
    index = [slice(None)] * ndim_of(v)
    index[axis] = slice(0, n) if s > 0 else slice(-s, -s + n)
    return padded[tuple(index)]


def _band_matvec(ab: Any, x: Any, lo: int, up: int) -> Any:
    """``A x`` from the band storage ``ab`` (``..., l + u + 1, n``) and ``x`` (``..., n, K``)."""
    return sum(_shift(ab[..., r, :, None] * x, r - up, axis=-2) for r in range(lo + up + 1))


def _band_transpose(ab: Any, lo: int, up: int) -> Any:
    """The band storage of ``A^T`` (lower width ``u``, upper ``l``): its row ``r``
    is row ``l + u - r`` of ``ab`` moved ``r - l`` columns to the left."""
    rows = [_shift(ab[..., lo + up - r, :], lo - r, axis=-1) for r in range(lo + up + 1)]
    return np.stack(rows, axis=-2)


def _impl(ab: np.ndarray, b: np.ndarray, lo: int, up: int) -> np.ndarray:
    n, k = b.shape[-2:]
    lead = b.shape[:-2]
    cols = np.moveaxis(b, -2, 0).reshape(n, -1)
    x = sl.solve_banded((lo, up), ab, cols)
    return np.moveaxis(x.reshape((n,) + lead + (k,)), 0, -2)


banded_p = Primitive("solve_banded", _impl)


def _vjp_ab(ans: Any, ab: Any, b: Any, lo: int, up: int):
    n = shape_of(ab)[-1]
    abt = _band_transpose(ab, lo, up)
    corners = np.array([[0 <= j + r - up < n for j in range(n)] for r in range(lo + up + 1)])

    def vjp(g: Any) -> Any:
        z = banded_p(abt, g, up, lo)
        rows = [-np.sum(_shift(z, up - r, axis=-2) * ans, axis=-1) for r in range(lo + up + 1)]
        grad = np.stack(rows, axis=-2) * corners
        # the columns' axis K is summed already; b's own leading axes sum here
        return unbroadcast(grad, shape_of(ab), ndim_of(ans))

    return vjp


def _vjp_b(ans: Any, ab: Any, b: Any, lo: int, up: int):
    abt = _band_transpose(ab, lo, up)
    return lambda g: banded_p(abt, g, up, lo)


banded_p.defvjp(_vjp_ab, _vjp_b)


def _jvp_ab(t: Any, ans: Any, ab: Any, b: Any, lo: int, up: int) -> Any:
    t = pad_batch(t, 2, ndim_of(ans))  # tangent batches ahead of b's own leading axes
    return banded_p(ab, -_band_matvec(t, ans, lo, up), lo, up)


banded_p.defjvp(
    _jvp_ab,
    lambda t, ans, ab, b, lo, up: banded_p(ab, t, lo, up),
)
