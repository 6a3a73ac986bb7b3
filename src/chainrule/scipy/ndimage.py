"""``chainrule.scipy.ndimage``: ``correlate``, ``convolve`` and ``gaussian_filter``
with SciPy's signatures, differentiable in the input (and in the weights of
``correlate``/``convolve``), real or complex.

Plain ``scipy.ndimage`` calls convert their inputs with ``np.asarray`` and so
refuse traced values: use these instead. Other names fall through to
``scipy.ndimage``.

A filter with a boundary ``mode`` is written as two differentiable steps:
extend the input by the mode with ``numpy.pad`` (``'reflect'`` is NumPy's
``'symmetric'``, ``'mirror'`` NumPy's ``'reflect'``, ``'nearest'`` ``'edge'``,
``'wrap'`` ``'wrap'``, ``'constant'`` pads ``cval``), then take the ``'valid'``
correlation of the extended array with the weights. The adjoint of a boundary
extension is not the extension itself: the VJP of ``numpy.pad`` adds each
padded cell's cotangent back onto the input cell it copied, and the VJP of the
correlation is the convolution with the same weights. Both steps have rules
in both modes and to every order (``_convnd.py``, ``rules/signal.py``,
``rules/arrange.py``).

>>> import chainrule as cr, chainrule.scipy.ndimage as cnd, numpy as np
>>> cr.grad(lambda x: cnd.correlate(x, np.array([1.0, 1.0, 1.0]), mode="nearest")[0])(
...     np.zeros(4))
array([2., 1., 0., 0.])
"""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.ndimage as _nd

from ..core.registry import export as _export
from ..core.trace import is_traced, strip
from ..rules._util import ndim_of, shape_of
from ..rules.signal import conv_window_p
from ._convnd import convnd_window_p
from ._special_rules import as_float

_NS = "scipy.ndimage"
_pad: Any = np.pad  # NumPy's overloads cannot type a mode chosen at run time
_PAD_MODES = {
    "reflect": "symmetric",
    "grid-mirror": "symmetric",
    "mirror": "reflect",
    "nearest": "edge",
    "wrap": "wrap",
    "grid-wrap": "wrap",
    "constant": "constant",
    "grid-constant": "constant",
}


def _pad_mode(mode: Any) -> str:
    if mode not in _PAD_MODES:
        raise ValueError(
            f"mode must be one of {sorted(_PAD_MODES)} for a differentiable filter, got {mode!r}"
        )
    return _PAD_MODES[mode]


def _per_axis(value: Any, k: int, name: str) -> list:
    if isinstance(value, (list, tuple)) or (isinstance(value, np.ndarray) and value.ndim):
        if len(value) != k:
            raise ValueError(f"{name}: expected one value per filtered axis ({k}), got {value!r}")
        return list(value)
    return [value] * k


def _extend(x: Any, axes: list, pads: list, modes: list, cval: Any) -> Any:
    """``x`` extended along ``axes`` by ``pads`` cells with the boundary ``modes``."""
    for ax, pad, mode in zip(axes, pads, modes):
        width = [(0, 0)] * ndim_of(x)
        width[ax] = pad
        kind = _pad_mode(mode)
        extra = {"constant_values": cval} if kind == "constant" else {}
        x = _pad(x, width, kind, **extra)
    return x


def _filter(x: Any, weights: Any, mode: Any, cval: Any, origin: Any, axes: Any, name: str) -> Any:
    """The correlation of ``x`` with ``weights`` over ``axes`` (default all)."""
    x, weights = as_float(x), as_float(weights)
    nd = ndim_of(x)
    axes = list(range(nd)) if axes is None else [int(a) % nd for a in np.atleast_1d(axes)]
    if len(set(axes)) != len(axes):
        raise ValueError(f"{name}: axes must be unique, got {axes}")
    k = len(axes)
    if ndim_of(weights) != k:
        raise ValueError(
            f"{name}: weights must have one dimension per filtered axis ({k}), "
            f"got shape {shape_of(weights)}"
        )
    sizes = shape_of(weights)
    if 0 in sizes:
        raise ValueError(f"{name}: weights must not be empty, got shape {sizes}")
    origins = [int(o) for o in _per_axis(origin, k, name)]
    pads = []
    for size, o in zip(sizes, origins):
        if not -(size // 2) <= o <= (size - 1) // 2:
            raise ValueError(f"{name}: invalid origin {o} for a filter of size {size}")
        centre = size // 2 + o
        pads.append((centre, size - 1 - centre))
    extended = _extend(x, axes, pads, _per_axis(mode, k, name), cval)
    last = list(range(nd - k, nd))
    extended = np.moveaxis(extended, axes, last)
    kernel = np.flip(weights, axis=tuple(range(k)))  # correlation = convolution, flipped
    n = shape_of(extended)[nd - k :]
    lo = tuple(s - 1 for s in sizes)
    if nd == 1:  # the primitive of numpy.convolve; N-d arrays go by FFT (no loop over rows)
        out = conv_window_p(extended, kernel, lo[0], n[0])
    else:
        out = convnd_window_p(extended, kernel, k, lo, n, "auto")
    return np.moveaxis(out, last, axes)


def _plain(x: Any) -> bool:
    return not is_traced(x)


@_export("correlate", _NS)
def correlate(
    input: Any,
    weights: Any,
    output: Any = None,
    mode: Any = "reflect",
    cval: float = 0.0,
    origin: Any = 0,
    *,
    axes: Any = None,
) -> Any:
    """``scipy.ndimage.correlate``: ``out[i] = sum_j w[j] ext[i + j - c]`` (``w`` the
    weights, conjugated if complex, as SciPy) with
    ``c = size // 2 + origin`` and ``ext`` the input extended by ``mode``
    (``'reflect'``, ``'mirror'``, ``'nearest'``, ``'wrap'``, ``'constant'`` with
    ``cval``, and their ``grid-`` spellings). Differentiable in ``input`` and
    ``weights``; ``output`` must be None when either is traced.

    >>> import chainrule as cr, chainrule.scipy.ndimage as cnd, numpy as np
    >>> cr.grad(lambda w: cnd.correlate(np.arange(3.0), w, mode="wrap")[0])(np.ones(3))
    array([2., 0., 1.])
    """
    if _plain(input) and _plain(weights):
        kw = {} if axes is None else {"axes": axes}
        return _nd.correlate(input, weights, output, mode, cval, origin, **kw)
    _no_output(output, "correlate")
    weights = as_float(weights)
    if np.iscomplexobj(strip(weights)):  # as SciPy (and np.correlate): conjugate the weights
        weights = np.conjugate(weights)
    return _filter(input, weights, mode, cval, origin, axes, "correlate")


@_export("convolve", _NS)
def convolve(
    input: Any,
    weights: Any,
    output: Any = None,
    mode: Any = "reflect",
    cval: float = 0.0,
    origin: Any = 0,
    *,
    axes: Any = None,
) -> Any:
    """``scipy.ndimage.convolve``: the correlation with the weights reversed (and
    the origin mirrored, as SciPy does), with the same boundary modes.
    Differentiable in ``input`` and ``weights``.

    >>> import chainrule as cr, chainrule.scipy.ndimage as cnd, numpy as np
    >>> cr.grad(lambda x: cnd.convolve(x, np.array([1.0, 2.0, 3.0]), mode="constant")[1])(
    ...     np.zeros(3))
    array([3., 2., 1.])
    """
    if _plain(input) and _plain(weights):
        kw = {} if axes is None else {"axes": axes}
        return _nd.convolve(input, weights, output, mode, cval, origin, **kw)
    _no_output(output, "convolve")
    weights = as_float(weights)
    k = ndim_of(weights)
    sizes = shape_of(weights)
    origins = [-int(o) - (1 - s % 2) for o, s in zip(_per_axis(origin, k, "convolve"), sizes)]
    flipped = np.flip(weights, axis=tuple(range(k))) if k else weights
    return _filter(input, flipped, mode, cval, origins, axes, "convolve")


def _no_output(output: Any, name: str) -> None:
    if output is not None:
        raise TypeError(
            f"{name}: output= would write into an array and drop the derivative; leave it "
            "None and use the returned array"
        )


def _gaussian_weights(sigma: float, order: int, truncate: float, radius: Any) -> np.ndarray:
    """SciPy's correlation weights for ``gaussian_filter1d``, read off its impulse
    response (so they are SciPy's own, to the last bit)."""
    r = int(truncate * float(sigma) + 0.5) if radius is None else int(radius)
    impulse = np.zeros(2 * r + 1)
    impulse[r] = 1.0
    resp = _nd.gaussian_filter1d(
        impulse, sigma, order=order, mode="constant", truncate=truncate, radius=radius
    )
    return resp[::-1].copy()


@_export("gaussian_filter", _NS)
def gaussian_filter(
    input: Any,
    sigma: Any,
    order: Any = 0,
    output: Any = None,
    mode: Any = "reflect",
    cval: float = 0.0,
    truncate: float = 4.0,
    *,
    radius: Any = None,
    axes: Any = None,
) -> Any:
    """``scipy.ndimage.gaussian_filter``: one 1-d Gaussian (derivative of the
    given ``order``) correlation per axis, each with SciPy's weights and its
    boundary ``mode``; ``sigma``, ``order``, ``mode`` and ``radius`` may be given
    per axis. Differentiable in ``input`` (``sigma`` is a constant).

    >>> import chainrule as cr, chainrule.scipy.ndimage as cnd, numpy as np
    >>> g = cr.grad(lambda x: cnd.gaussian_filter(x, 1.0)[2])(np.zeros(5))
    >>> bool(np.isclose(g.sum(), 1.0))
    True
    """
    if is_traced(sigma):
        raise TypeError(
            "gaussian_filter: sigma is not differentiated here; pass a plain number "
            "(cr.stop_gradient(sigma) if it is traced)"
        )
    if _plain(input):
        kw = {} if axes is None else {"axes": axes}
        return _nd.gaussian_filter(
            input, sigma, order, output, mode, cval, truncate, radius=radius, **kw
        )
    _no_output(output, "gaussian_filter")
    x = as_float(input)
    nd = ndim_of(x)
    axes = list(range(nd)) if axes is None else [int(a) % nd for a in np.atleast_1d(axes)]
    k = len(axes)
    per = [_per_axis(v, k, "gaussian_filter") for v in (sigma, order, mode, radius)]
    for ax, s, o, m, r in zip(axes, *per):
        if float(s) <= 1e-15:  # SciPy skips such axes
            continue
        w = _gaussian_weights(s, int(o), truncate, r)
        x = _filter(x, w, m, cval, 0, [ax], "gaussian_filter")
    return x


#: The names this module defines itself (as opposed to falling through to SciPy).
DIFFERENTIABLE = sorted(["correlate", "convolve", "gaussian_filter"])


def __getattr__(name: str) -> Any:
    try:
        return getattr(_nd, name)
    except AttributeError:
        raise AttributeError(
            f"module 'chainrule.scipy.ndimage' has no attribute {name!r}"
        ) from None
