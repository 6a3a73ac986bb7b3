"""A window of the full N-d convolution, for ``scipy.signal`` and ``scipy.ndimage``.

``convnd_window_p(a, v, k, lo, hi, method)``: entries ``lo[d] .. hi[d] - 1``
along each of the last ``k`` axes of the full convolution of ``a`` and ``v``
over those axes; the leading axes of both broadcast (that is how
``fftconvolve``'s ``axes=`` treats the other axes, and how batches of tangents
and cotangents ride along). It is the N-d sibling of ``rules/signal.py``'s
``convolve_window`` (1-d inputs use that one) and has the same rules, one axis
at a time: the convolution is bilinear, so the JVP in each argument is the
same window of the convolution with the tangent, and the VJP of ``a`` is the
window starting at ``m - 1 - lo`` (length ``n``) of the convolution of the
cotangent with ``v`` reversed over the ``k`` axes (no conjugate: the complex
convention of docs/design.md). Every rule is the primitive again, so every
order follows.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.signal as sps

from ..core.primitive import Primitive
from ..rules._util import allow_complex, ndim_of, pad_batch, shape_of, unbroadcast


def _impl(a: Any, v: Any, k: int, lo: tuple, hi: tuple, method: str) -> Any:
    if a.ndim == k and v.ndim == k:
        full = sps.convolve(a, v, mode="full", method=method)
    else:
        nd = max(a.ndim, v.ndim)
        a = np.reshape(a, (1,) * (nd - a.ndim) + a.shape)
        v = np.reshape(v, (1,) * (nd - v.ndim) + v.shape)
        full = sps.fftconvolve(a, v, mode="full", axes=tuple(range(nd - k, nd)))
    return full[(...,) + tuple(slice(s, e) for s, e in zip(lo, hi))]


convnd_window_p = Primitive("convolve_window_nd", _impl)


def _vjp(ans: Any, x: Any, other: Any, k: int, lo: tuple, method: str):
    xshape, nd = shape_of(x), ndim_of(ans)
    n, m = xshape[len(xshape) - k :], shape_of(other)[ndim_of(other) - k :]
    start = tuple(mi - 1 - li for mi, li in zip(m, lo))
    stop = tuple(s + ni for s, ni in zip(start, n))
    flipped = np.flip(other, axis=tuple(range(-k, 0)))

    def vjp(g: Any) -> Any:
        return unbroadcast(convnd_window_p(g, flipped, k, start, stop, method), xshape, nd)

    return vjp


convnd_window_p.defvjp(
    lambda ans, a, v, k, lo, hi, method: _vjp(ans, a, v, k, lo, method),
    lambda ans, a, v, k, lo, hi, method: _vjp(ans, v, a, k, lo, method),
)
convnd_window_p.defjvp(
    lambda t, ans, a, v, k, lo, hi, method: convnd_window_p(
        pad_batch(t, ndim_of(a), ndim_of(ans)), v, k, lo, hi, method
    ),
    lambda t, ans, a, v, k, lo, hi, method: convnd_window_p(
        a, pad_batch(t, ndim_of(v), ndim_of(ans)), k, lo, hi, method
    ),
)
allow_complex(convnd_window_p)
