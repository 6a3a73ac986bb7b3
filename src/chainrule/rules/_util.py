"""Small helpers shared by the rule modules.

Conventions: ``nb`` is the number of leading *batch* axes a cotangent or
tangent carries in front of the shape of the value it belongs to (0 except
inside ``jacrev``/``jacfwd``). Axis arguments reach rules as tuples of
negative integers, which address the same axes with or without a batch.
"""

from __future__ import annotations

import math
import operator
import sys
from typing import Any

import numpy as np

from .._backends import is_foreign
from ..core.batching import Batched
from ..core.reverse import real_cotangent
from ..core.staging import Watched, _watched_call
from ..core.trace import ArrayFacade, is_complex, strip


def unbroadcast(g: Any, shape: tuple[int, ...], ans_ndim: int) -> Any:
    """Sum the cotangent ``g`` of a broadcast result back to ``shape``.

    ``g`` has ``ans_ndim`` axes of its own after its batch axes; the batch
    axes are kept.
    """
    gshape = g.shape
    if gshape == shape:
        return g
    nb = len(gshape) - ans_ndim
    extra = ans_ndim - len(shape)
    if extra:
        g = g.sum(axis=tuple(range(nb, nb + extra)))
    gshape = g.shape
    ones = tuple(nb + i for i, s in enumerate(shape) if s == 1 and gshape[nb + i] != 1)
    if ones:
        g = g.sum(axis=ones, keepdims=True)
    return g


def batch_lead(t: Any, own_ndim: int) -> tuple[int, ...]:
    """The batch axes of ``t``, whose own (unbatched) value has ``own_ndim`` axes."""
    return t.shape[: t.ndim - own_ndim]


def pad_batch(t: Any, own_ndim: int, target_ndim: int) -> Any:
    """Insert unit axes between the batch axes of ``t`` and its own axes so that
    it broadcasts against a ``target_ndim``-dimensional value without its batch
    axes lining up with the other operand's axes."""
    missing = target_ndim - own_ndim
    if missing <= 0 or t.ndim == own_ndim:
        return t
    lead = batch_lead(t, own_ndim)
    return np.reshape(t, lead + (1,) * missing + t.shape[len(lead) :])


def fit(t: Any, shape: tuple[int, ...]) -> Any:
    """Broadcast a tangent to the full ``shape`` of the output it belongs to."""
    return t if t.shape == shape else np.broadcast_to(t, shape)


# Below this size OpenBLAS computes a dot product on one thread.
_BLAS_THREADS_FROM = 8192
_add_reduce = np.add.reduce


def mul0(g: Any, d: Any) -> Any:
    """``g * d``, but 0 where ``g`` is 0 even if ``d`` is infinite (or NaN).

    The one product through which every rule whose local derivative can be
    infinite or overflow (``log`` and ``sqrt`` at 0, ``exp`` of a large
    number, ``x * inf``) applies it, in both modes: a zero cotangent or
    tangent, e.g. from the masked branch of ``where`` or an off-diagonal row
    of a Jacobian, must stay a zero instead of becoming ``0 * inf = nan``
    (docs/conventions.md).

    A finite ``d`` (the common case) takes the plain product; ``_finite``
    tests it in one pass without allocating. A large ``d`` is not read twice:
    the product is made first and tested instead (it is finite everywhere
    exactly when no 0 * inf needs mending, and it is still in the cache). A
    Dask or CuPy ``d`` is not asked: its product is made zero-safe lazily.
    """
    dv = d._value if isinstance(d, ArrayFacade) else d
    if type(dv) is np.ndarray and dv.size >= _TEST_THE_PRODUCT_FROM:
        if (
            d is dv  # a plain array: a traced d (higher order) must be multiplied in
            and _ones_spread(g)
            and dv.dtype is g.dtype
            and dv.shape == g.shape[g.ndim - dv.ndim :]
        ):
            # the seed of a gradient of a sum, spread over the array: the product
            # is d itself (1 * inf is inf), handed on as a read-only view, which
            # nothing writes into and the transforms copy before returning
            return np.broadcast_to(dv, g.shape)
        with np.errstate(invalid="ignore"):  # a 0 * inf is mended below
            r = g * d
        finite = _finite(r)
        return r if finite else _zero_where_nan(g, r, lazy=finite is None)
    finite = _finite(d)
    if finite:
        return g * d
    with np.errstate(invalid="ignore"):  # the 0 * inf about to be replaced
        r = g * d
    return _zero_where_nan(g, r, lazy=finite is None)


def _ones_spread(g: Any) -> bool:
    """Whether ``g`` is a read-only array of ones that is one value spread by
    zero strides (a reduction's cotangent of a scalar 1: the seed of ``grad``
    of a sum, as rules/reductions.py's ``_spread`` passes it on)."""
    return (
        type(g) is np.ndarray
        and not g.flags.writeable
        and not any(g.strides)
        and g.size > 0
        and bool(g[(0,) * g.ndim] == 1.0)
    )


# From this size on, mul0 tests the product it made rather than the derivative
# (the errstate that silences a 0 * inf costs about a microsecond)
_TEST_THE_PRODUCT_FROM = 1 << 14


def fits_into(g: np.ndarray, c: Any) -> bool:
    """Whether ``g (op) c`` has ``g``'s own shape and dtype, so that it may be
    written into ``g``: a Python number (weakly typed), or an array of ``g``'s
    dtype whose shape is the end of ``g``'s."""
    t = type(c)
    if t is float or t is int:
        return True
    if t is np.ndarray:
        nd = c.ndim
        return c.dtype is g.dtype and nd <= g.ndim and c.shape == g.shape[g.ndim - nd :]
    return t is np.float64 and g.dtype is FLOAT64


FLOAT64 = np.dtype(np.float64)  # the dtype object, for identity tests on hot paths


def mul_into(g: np.ndarray, c: Any) -> Any:
    """``g * c`` written into ``g`` (core.primitive.set_step_into)."""
    return np.multiply(g, c, out=g) if fits_into(g, c) else NotImplemented


def mul0_into(g: np.ndarray, d: Any) -> Any:
    """``mul0(g, d)`` written into ``g`` where ``d`` is finite (else declined:
    mending a 0 * inf needs the cotangent's zeros, which writing loses)."""
    if fits_into(g, d) and _finite(d):
        return np.multiply(g, d, out=g)
    return NotImplemented


def negated(r: Any) -> Any:
    """``-r``, in place when ``r`` is a plain array the caller just made (a
    rule's own temporary): no second array of its size is allocated."""
    if type(r) is np.ndarray and r.base is None and r.flags.writeable:
        return np.negative(r, out=r)
    return -r


def doubled(r: Any) -> Any:
    """``r + r`` (exactly ``2 r``), in place like ``negated``."""
    if type(r) is np.ndarray and r.base is None and r.flags.writeable:
        return np.add(r, r, out=r)
    return r + r


def div0(g: Any, y: Any) -> Any:
    """``g / y``, but 0 where ``g`` is 0 even if ``y`` is 0: ``mul0(g, 1 / y)``
    in one operation and without the temporary ``1 / y`` (``log``'s and
    ``divide``'s cotangents). Where ``y`` is so small that ``1 / y``
    overflows, ``g / y`` is the finite quotient ``mul0`` would have lost.
    The test is on the quotient: it is finite everywhere unless ``y`` has a
    zero (or ``g`` or ``y`` is infinite or NaN)."""
    t = type(y)
    if (t is float or t is np.float64) and abs(y) > _SMALLEST_INVERTIBLE:
        return g / y  # a scalar whose reciprocal is finite: as mul0's plain product
    with np.errstate(divide="ignore", invalid="ignore"):  # 0 / 0 is about to be replaced
        r = g / y
    finite = _finite(r)
    return r if finite else _zero_where_nan(g, r, lazy=finite is None)


_SMALLEST_INVERTIBLE = 1.0 / sys.float_info.max


def _finite(d: Any) -> bool | None:
    """Whether every entry of ``d`` is finite (None: a Dask or CuPy value,
    which is not asked: that would compute it, or wait for the device).

    The test costs one pass and no allocation: a sum over ``d`` is finite
    unless some entry is infinite or NaN (or the sum overflows, which only
    sends a finite ``d`` down the careful path). Small arrays use a BLAS dot
    product (the cheapest call); large ones NumPy's own reduction, since a
    threaded BLAS would start its thread pool for every rule (stalls of
    ~15 ms seen under load)."""
    dv = d._value if isinstance(d, ArrayFacade) else d
    t = type(dv)
    if t is Batched:  # under vmap: the whole batch is tested at once
        dv, t = dv.view(np.ndarray), np.ndarray
    if t is float or t is np.float64:
        return math.isfinite(dv)
    if t is np.ndarray:
        if dv.dtype.kind not in "fc":
            return True
        flags = dv.flags
        if flags.c_contiguous or flags.f_contiguous:
            flat = dv.ravel(order="K")  # a view
            if flat.size < _BLAS_THREADS_FROM:
                s = np.vdot(flat, flat)
            else:
                with np.errstate(over="ignore", invalid="ignore"):  # inf is the answer sought
                    s = _add_reduce(flat)
            return math.isfinite(s.real) and math.isfinite(s.imag)
        return bool(np.isfinite(dv).all())  # a strided view: ravel would copy
    if is_foreign(dv):
        return None
    return isinstance(dv, int) or bool(np.all(np.isfinite(strip(dv))))


def _zero_where_nan(g: Any, r: Any, lazy: bool = False) -> Any:
    rv = strip(r)
    zero = (strip(g) == 0) & np.isnan(rv)
    # A lazy (Dask) or device (CuPy) array is not asked whether any is zero:
    # that would compute it, or wait for the device.
    if lazy or is_foreign(rv):
        return np.where(zero, np.zeros((), dtype=rv.dtype), r)
    if not np.any(zero):
        return r  # a genuine NaN (of a NaN derivative at a nonzero cotangent) stays
    if not isinstance(r, ArrayFacade) and np.ndim(rv) == 0:
        return rv.dtype.type(0) if hasattr(rv, "dtype") else type(rv)(0)
    return np.where(zero, np.zeros((), dtype=rv.dtype), r)


def normalize_axes(axis: Any, ndim: int) -> tuple[int, ...]:
    """``None``, an int or a tuple -> sorted tuple of negative axes."""
    if axis is None:
        return tuple(range(-ndim, 0))
    if not isinstance(axis, (tuple, list)):
        axis = (axis,)
    out = []
    for a in axis:
        a = int(a)
        if not -ndim <= a < ndim:
            raise np.exceptions.AxisError(a, ndim)
        out.append(a - ndim if a >= 0 else a)
    if len(set(out)) != len(out):
        raise ValueError(f"duplicate value in 'axis': {axis}")
    return tuple(sorted(out))


def keepdims_shape(shape: tuple[int, ...], axes: tuple[int, ...]) -> tuple[int, ...]:
    """``shape`` with the reduced (negative) ``axes`` set to 1."""
    n = len(shape)
    reduced = {a + n for a in axes}
    return tuple(1 if i in reduced else s for i, s in enumerate(shape))


def ndim_of(x: Any) -> int:
    return x.ndim if hasattr(x, "ndim") else np.ndim(x)


def shape_of(x: Any) -> tuple[int, ...]:
    return x.shape if hasattr(x, "shape") else np.shape(x)


def match_real(vjp: Any, ans: Any, arg: Any) -> Any:
    """``vjp``, made to return real cotangents if ``arg`` is real and ``ans`` complex."""
    return real_cotangent(vjp) if is_complex(ans) and not is_complex(arg) else vjp


def allow_complex(*prims: Any) -> None:
    """Declare that the rules of ``prims`` follow the complex convention
    (docs/design.md, "Complex numbers"): complex-linear derivatives with
    transposed, not conjugated, VJPs. A real argument meeting a complex result
    gets the real part of its cotangent from the engine (core/reverse.py);
    rules written for real values that are complex-linear (sums, reshapes,
    products, ...) then need no other change."""
    for prim in prims:
        prim.complex_ok = True
        prim.real_cotangents = True


def as_array(x: Any, dtype: Any = None) -> Any:
    """``np.asarray(x, dtype)`` that keeps an unwrapped staged value (``cr.jit``'s
    ``Watched`` view) as it is: a mask or index a rule computes from it is then
    recorded in the staged program instead of frozen at the first call's value."""
    if type(x) is Watched or (type(x) is not np.ndarray and is_foreign(x)):
        # A Dask or CuPy array stays what it is too (np.asarray would compute it).
        return x if dtype is None or x.dtype == dtype else x.astype(dtype)
    return np.asarray(x, dtype=dtype)


def recorded(fn: Any, *args: Any, **kwargs: Any) -> Any:
    """``fn(*args, **kwargs)``, recorded by ``cr.jit`` when an unwrapped staged
    value is among ``args`` though ``fn`` does not dispatch on that argument
    (``np.repeat``'s counts)."""
    for a in args:
        if type(a) is Watched:
            return _watched_call(fn, getattr(fn, "__name__", "call"), args, kwargs)
    return fn(*args, **kwargs)


def _to_intp(v: Any) -> Any:
    return v.astype(np.intp)  # an array's method and a NumPy scalar's alike


def as_intp(x: Any) -> Any:
    """``x.astype(np.intp)``; recorded by ``cr.jit`` for an unwrapped staged
    value whichever it is at a replay, a 0-d array or a NumPy scalar."""
    if type(x) is Watched:
        return _watched_call(_to_intp, "astype", (x,), {})
    return x.astype(np.intp)


def gather(a: Any, i: Any) -> Any:
    """``a[i]``, recorded by ``cr.jit`` when ``i`` is an unwrapped staged value
    and ``a`` a plain array (indexing a plain array does not dispatch on its
    index, so the gather would be frozen at the first call's positions)."""
    if type(a) is np.ndarray and (
        type(i) is Watched or (type(i) is tuple and any(type(k) is Watched for k in i))
    ):
        return _watched_call(operator.getitem, "getitem", (a, i), {})
    return a[i]
