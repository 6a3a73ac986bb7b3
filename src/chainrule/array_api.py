"""``chainrule.array_api``: the array API standard's namespace for traced values.

A traced value's ``x.__array_namespace__()`` returns this module, so code
written against the array API standard (SciPy with ``SCIPY_ARRAY_API=1`` set
before SciPy is imported, scikit-learn with
``sklearn.set_config(array_api_dispatch=True)``) runs on traced values and is
differentiated unmodified. Every function keeps a traced value traced:
``asarray`` passes it through, and the rest are NumPy's own functions (whose
dispatch reaches chainrule's rules) or short compositions of them where
NumPy's array API name has no rule of its own. Plain inputs give plain
``numpy.ndarray`` results.

>>> import numpy as np, chainrule as cr, chainrule.array_api as xp
>>> def f(x):
...     xp = x.__array_namespace__()
...     return xp.sum(xp.exp(x) * xp.asarray([1.0, 2.0]))
>>> cr.grad(f)(np.zeros(2))
array([1., 2.])

Mixing namespaces is array-API code's own rule, not chainrule's: a traced
value and a plain ``numpy.ndarray`` in one call make
``array_api_compat.array_namespace`` raise "Multiple namespaces"; pass plain
constants as lists or Python scalars, or convert them with ``xp.asarray``
where the library does.
"""

from __future__ import annotations

import builtins
from typing import Any

import numpy as np

from .core.trace import Tracer as _Tracer
from .core.trace import nondiff as _nondiff

__array_api_version__ = "2024.12"

# -- constants and dtypes ------------------------------------------------------
e = np.e
inf = np.inf
nan = np.nan
pi = np.pi
newaxis = None

bool = np.bool  # noqa: A001 - the standard's name
int8, int16, int32, int64 = np.int8, np.int16, np.int32, np.int64
uint8, uint16, uint32, uint64 = np.uint8, np.uint16, np.uint32, np.uint64
float32, float64 = np.float32, np.float64
complex64, complex128 = np.complex64, np.complex128


def _traced(x: Any) -> builtins.bool:
    return isinstance(x, _Tracer)


def _contains_traced(obj: Any) -> builtins.bool:
    if _traced(obj):
        return True
    return isinstance(obj, (list, tuple)) and builtins.any(_contains_traced(o) for o in obj)


def _dtype_of(x: Any) -> Any:
    """What ``result_type``/``can_cast``/``finfo`` need of an argument: a traced
    value's dtype (NumPy would otherwise try to convert it)."""
    return x.dtype if _traced(x) else x


def _check_device(device: Any) -> None:
    if device not in (None, "cpu"):
        raise ValueError(
            f"chainrule arrays live on the CPU (device 'cpu'); got device={device!r}. "
            "Leave device= out or pass device='cpu'."
        )


# -- in-place updates from array-API libraries -------------------------------------
# SciPy and scikit-learn update arrays they own through array_api_extra's
# ``at(x)[i].set(v)``, which ends in ``x[i] = v; return x`` for libraries it does
# not know. Its contract lets it modify ``x`` (copy=None) or work on a copy
# made by ``asarray(x, copy=True)`` (copy=True); either way the caller uses the
# returned object. Traced values are immutable, so that one ``x[i] = v``
# (ArrayFacade.__setitem__ asks library_owns_update) becomes the functional update
# ``x.at[i].set(v)`` with ``x`` rebound to the result: the tracer's slots
# (value, trace, tape index or tangent) are swapped. Recordings refer to values
# through those slots, never through the Python object, so every earlier use
# of ``x`` keeps the value it saw.
def _slots(cls: type) -> list[str]:
    names: list[str] = []
    for c in cls.__mro__:
        declared = c.__dict__.get("__slots__", ())
        names.extend([declared] if isinstance(declared, str) else declared)
    return names


def library_owns_update(frame: Any) -> builtins.bool:
    """Whether ``x[i] = v`` written in ``frame`` updates an array the library owns:
    array_api_extra's ``at`` (SciPy's and scikit-learn's copies) and
    scikit-learn's ``_fill_diagonal`` (zeroing a distance matrix it computed)."""
    module = frame.f_globals.get("__name__", "")
    if module.endswith(("array_api_extra._lib._at", "array_api_extra._at")):  # SciPy's, sklearn's
        return True
    return module == "sklearn.utils._array_api" and frame.f_code.co_name == "_fill_diagonal"


def rebind_setitem(x: Any, idx: Any, value: Any) -> None:
    """``x[idx] = value`` for array_api_extra's ``at``: ``x`` becomes ``x.at[idx].set(value)``."""
    new = x.at[idx].set(value)
    if type(new) is not type(x):
        raise TypeError(
            f"An array-API library wrote a value into a traced array in place (x[idx] = v), "
            f"and v belongs to an outer transform (x is a {type(x).__name__}, x.at[idx].set(v) "
            f"a {type(new).__name__}), so x cannot be updated where it is. Call the library "
            "with all differentiated inputs in one transform, or without array-API dispatch."
        )
    for name in _slots(type(x)):
        setattr(x, name, getattr(new, name))


def _fresh(x: Any) -> Any:
    """A new tracer object for the same traced value (``asarray(x, copy=True)``),
    so a later in-place update of the copy leaves ``x`` as it was."""
    out = object.__new__(type(x))
    for name in _slots(type(x)):
        setattr(out, name, getattr(x, name))
    return out


# -- creation ------------------------------------------------------------------
def asarray(obj: Any, /, *, dtype: Any = None, device: Any = None, copy: Any = None) -> Any:
    """The standard's ``asarray``: a traced value passes through (cast if ``dtype``
    differs), lists holding traced values are stacked into one traced array, and
    anything else becomes a plain ``numpy.ndarray``.

    >>> import numpy as np, chainrule as cr, chainrule.array_api as xp
    >>> float(cr.grad(lambda x: xp.sum(xp.asarray([x, 2 * x]) ** 2))(1.0))
    10.0
    """
    _check_device(device)
    if _traced(obj):
        if dtype is not None and np.dtype(dtype) != obj.dtype:
            obj = np.astype(obj, dtype)
        return _fresh(obj) if copy else obj
    if isinstance(obj, (list, tuple)) and _contains_traced(obj):
        out = np.stack([asarray(o) for o in obj])
        return out if dtype is None else np.astype(out, dtype)
    if copy is False:
        return np.asarray(obj, dtype=dtype, copy=False)
    return np.asarray(obj, dtype=dtype, copy=copy)


def _creation(fn: Any) -> Any:
    def create(*args: Any, device: Any = None, **kwargs: Any) -> Any:
        _check_device(device)
        return fn(*args, **kwargs)

    create.__name__ = create.__qualname__ = fn.__name__
    create.__doc__ = f"``numpy.{fn.__name__}`` (the array API standard's signature, device='cpu')."
    return create


arange = _creation(np.arange)
empty = _creation(np.empty)
eye = _creation(np.eye)
ones = _creation(np.ones)
zeros = _creation(np.zeros)
empty_like = _creation(np.empty_like)
ones_like = _creation(np.ones_like)
zeros_like = _creation(np.zeros_like)
full_like = _creation(np.full_like)
linspace = _creation(np.linspace)


def full(shape: Any, fill_value: Any, *, dtype: Any = None, device: Any = None) -> Any:
    """``numpy.full``; a traced ``fill_value`` gives a traced array (broadcast)."""
    _check_device(device)
    if _traced(fill_value):
        out = np.broadcast_to(fill_value, shape)
        return out if dtype is None else np.astype(out, dtype)
    return np.full(shape, fill_value, dtype=dtype)


def from_dlpack(x: Any, /, *, device: Any = None, copy: Any = None) -> Any:
    """``numpy.from_dlpack`` for plain arrays; a traced value passes through."""
    _check_device(device)
    return x if _traced(x) else np.from_dlpack(x, copy=copy)


meshgrid = np.meshgrid
tril = np.tril
triu = np.triu

# -- data types ----------------------------------------------------------------
isdtype = np.isdtype


def astype(x: Any, dtype: Any, /, *, copy: builtins.bool = True, device: Any = None) -> Any:
    """The standard's ``astype(x, dtype)``: a cast that keeps a traced value traced."""
    _check_device(device)
    if _traced(x):
        return x if np.dtype(dtype) == x.dtype and not copy else np.astype(x, dtype)
    return np.astype(x, dtype, copy=copy)


def result_type(*arrays_and_dtypes: Any) -> Any:
    """``numpy.result_type``, taking traced values by their dtype."""
    return np.result_type(*(_dtype_of(a) for a in arrays_and_dtypes))


def can_cast(from_: Any, to: Any, /) -> builtins.bool:
    """``numpy.can_cast``, taking a traced value by its dtype."""
    return builtins.bool(np.can_cast(_dtype_of(from_), to))


def finfo(type: Any, /) -> Any:  # noqa: A002 - the standard's name
    """``numpy.finfo`` of a dtype or of an array's dtype (traced or not)."""
    return np.finfo(_dtype_of(type))


def iinfo(type: Any, /) -> Any:  # noqa: A002 - the standard's name
    """``numpy.iinfo`` of a dtype or of an array's dtype (traced or not)."""
    return np.iinfo(_dtype_of(type))


def __array_namespace_info__() -> Any:
    """NumPy's inspection object: the same devices ('cpu') and dtypes."""
    return np.__array_namespace_info__()


# -- elementwise: NumPy 2's ufuncs under the standard's names --------------------
_ELEMENTWISE = (
    "abs acos acosh add asin asinh atan atan2 atanh bitwise_and bitwise_left_shift "
    "bitwise_invert bitwise_or bitwise_right_shift bitwise_xor ceil conj copysign cos cosh "
    "divide equal exp expm1 floor floor_divide greater greater_equal hypot isfinite isinf "
    "isnan less less_equal log log1p log2 log10 logaddexp logical_and logical_not logical_or "
    "logical_xor maximum minimum multiply negative nextafter not_equal positive pow "
    "reciprocal remainder sign signbit sin sinh square sqrt subtract tan tanh trunc"
).split()
for _name in _ELEMENTWISE:
    globals()[_name] = getattr(np, _name)
del _name

real = np.real
imag = np.imag
clip = np.clip


def round(x: Any, /) -> Any:  # noqa: A001 - the standard's name
    """Round half to even (the standard's ``round`` has no ``decimals``)."""
    return np.round(x)


# -- manipulation ----------------------------------------------------------------
broadcast_arrays = np.broadcast_arrays
broadcast_to = np.broadcast_to
concat = np.concat
expand_dims = np.expand_dims
flip = np.flip
moveaxis = np.moveaxis
permute_dims = np.permute_dims
repeat = np.repeat
roll = np.roll
squeeze = np.squeeze
stack = np.stack
tile = np.tile


def unstack(x: Any, /, *, axis: int = 0) -> tuple:
    """``numpy.unstack``: the slices along ``axis`` (chainrule's rule, so that it
    also works on NumPy 2.0, which has no ``np.unstack``).

    >>> import chainrule.array_api as xp, numpy as np
    >>> [v.tolist() for v in xp.unstack(np.array([[1.0, 2.0], [3.0, 4.0]]), axis=1)]
    [[1.0, 3.0], [2.0, 4.0]]
    """
    from .rules.arrange import unstack as _unstack

    return _unstack(x, axis=axis)


def reshape(x: Any, /, shape: Any, *, copy: Any = None) -> Any:
    """``numpy.reshape``; ``copy`` needs no care, traced values being immutable."""
    if copy is False and not _traced(x):
        return np.reshape(x, shape, copy=False)
    return np.reshape(x, shape)


# -- indexing, searching, sorting, sets --------------------------------------------
take = np.take
take_along_axis = np.take_along_axis
argmax = np.argmax
argmin = np.argmin
count_nonzero = np.count_nonzero
nonzero = np.nonzero
searchsorted = np.searchsorted
where = np.where
unique_all = np.unique_all
unique_counts = np.unique_counts
unique_inverse = np.unique_inverse
unique_values = np.unique_values


def sort(
    x: Any, /, *, axis: int = -1, descending: builtins.bool = False, stable: builtins.bool = True
) -> Any:
    """The standard's ``sort`` (``descending=True`` flips the ascending sort)."""
    out = np.sort(x, axis=axis, stable=stable)
    return np.flip(out, axis=axis) if descending else out


def argsort(
    x: Any, /, *, axis: int = -1, descending: builtins.bool = False, stable: builtins.bool = True
) -> Any:
    """The standard's ``argsort``; descending keeps equal elements in their order."""
    if not descending:
        return np.argsort(x, axis=axis, stable=stable)
    # Sorting the reversed array and reversing the result puts equal
    # elements first-come-first, as a stable descending sort must.
    n = x.shape[axis]
    return n - 1 - np.flip(np.argsort(np.flip(x, axis=axis), axis=axis, stable=stable), axis=axis)


# -- statistics and utilities ---------------------------------------------------------
max = np.max  # noqa: A001 - the standard's names
min = np.min  # noqa: A001
mean = np.mean
prod = np.prod
std = np.std
sum = np.sum  # noqa: A001
var = np.var


def all(x: Any, /, *, axis: Any = None, keepdims: builtins.bool = False) -> Any:  # noqa: A001
    """``numpy.all``: a boolean result, so nothing to differentiate."""
    return _nondiff(np.all, (x,), {"axis": axis, "keepdims": keepdims})


def any(x: Any, /, *, axis: Any = None, keepdims: builtins.bool = False) -> Any:  # noqa: A001
    """``numpy.any``: a boolean result, so nothing to differentiate."""
    return _nondiff(np.any, (x,), {"axis": axis, "keepdims": keepdims})


diff = np.diff


def _cumulative(fn: Any, start: float, x: Any, axis: Any, dtype: Any, include_initial: Any) -> Any:
    if axis is None:
        if x.ndim > 1:
            raise ValueError(
                "cumulative_sum/cumulative_prod need axis= for arrays of more than one "
                f"dimension (got shape {x.shape})"
            )
        axis = 0
    out = fn(x, axis=axis, dtype=dtype)
    if include_initial:
        shape = list(x.shape)
        shape[axis] = 1
        out = np.concat([np.full(shape, start, dtype=out.dtype), out], axis=axis)
    return out


def cumulative_sum(
    x: Any, /, *, axis: Any = None, dtype: Any = None, include_initial: builtins.bool = False
) -> Any:
    """The standard's ``cumulative_sum`` (``numpy.cumsum``, optionally led by 0)."""
    return _cumulative(np.cumsum, 0.0, x, axis, dtype, include_initial)


def cumulative_prod(
    x: Any, /, *, axis: Any = None, dtype: Any = None, include_initial: builtins.bool = False
) -> Any:
    """The standard's ``cumulative_prod`` (``numpy.cumprod``, optionally led by 1)."""
    return _cumulative(np.cumprod, 1.0, x, axis, dtype, include_initial)


# -- linear algebra ---------------------------------------------------------------------
matmul = np.matmul
tensordot = np.tensordot


def matrix_transpose(x: Any, /) -> Any:
    """Swap the last two axes."""
    if x.ndim < 2:
        raise ValueError(f"matrix_transpose needs at least 2 dimensions, got shape {x.shape}")
    return np.swapaxes(x, -1, -2)


def vecdot(x1: Any, x2: Any, /, *, axis: int = -1) -> Any:
    """``sum(conj(x1) * x2, axis)``, the standard's vector dot product."""
    return np.sum(np.conj(x1) * x2, axis=axis)


class _SpecialFunctions:
    """``xp.special``: SciPy's own ``scipy.special`` functions, which reach
    chainrule's rules through NumPy's ufunc protocol. SciPy looks for this
    (anticipated) extension on a namespace it does not know before falling back
    to converting to NumPy, which would drop the derivative."""

    __name__ = "chainrule.array_api.special"

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        # Only when array-API SciPy asks, never at import. The raw ufuncs: the
        # public names are SciPy's dispatching wrappers, which would ask us again.
        from scipy.special import _special_ufuncs, _ufuncs

        # chainrule.scipy registers the rules of SciPy's ufuncs; its lazy
        # loading looks for scipy.special.<name> to be the ufunc, which under
        # SCIPY_ARRAY_API=1 is SciPy's wrapper instead.
        from . import scipy as _rules  # noqa: F401
        from .core.registry import UFUNCS

        _bridge_wrapped_ufuncs(UFUNCS, (_ufuncs, _special_ufuncs))

        for module in (_ufuncs, _special_ufuncs):
            fn = getattr(module, name, None)
            if isinstance(fn, np.ufunc):
                if fn not in UFUNCS and name in _SPECIAL_COMPOSED:
                    return _SPECIAL_COMPOSED[name]
                return fn
        raise AttributeError(f"chainrule.array_api.special has no ufunc {name!r}")

    def __repr__(self) -> str:
        return "<namespace chainrule.array_api.special (scipy.special)>"


special = _SpecialFunctions()
_BRIDGED: list[builtins.bool] = []


def _bridge_wrapped_ufuncs(table: dict, modules: tuple) -> None:
    """Under SCIPY_ARRAY_API=1, ``scipy.special.<name>`` is a Python wrapper
    around the ufunc, and chainrule.scipy registered its rules on the wrapper;
    the wrapper hands traced values to the ufunc itself, so register the same
    rule on the ufunc (once)."""
    if _BRIDGED:
        return
    for key, prim in list(table.items()):
        if isinstance(key, np.ufunc):
            continue
        for module in modules:
            fn = getattr(module, getattr(key, "__name__", ""), None)
            if isinstance(fn, np.ufunc) and fn not in table:
                table[fn] = prim
    _BRIDGED.append(True)


def _entr(x: Any) -> Any:
    from scipy.special import xlogy

    return np.where(x < 0, -np.inf, -xlogy(x, x))


def _rel_entr(x: Any, y: Any) -> Any:
    from scipy.special import xlogy

    inside = (x > 0) & (y > 0)
    edge = np.where((x == 0) & (y >= 0), 0.0, np.inf)
    return np.where(inside, xlogy(x, x) - xlogy(x, y), edge)


# Written with xlogy (which has rules) while scipy.special's own entr and
# rel_entr have none; scipy.stats.entropy calls them.
_SPECIAL_COMPOSED = {"entr": _entr, "rel_entr": _rel_entr}


class _SubNamespace:
    """A named bundle of functions (``xp.linalg``, ``xp.fft``)."""

    def __init__(self, name: str, doc: str, **functions: Any) -> None:
        self.__name__ = name
        self.__doc__ = doc
        self.__dict__.update(functions)

    def __repr__(self) -> str:
        return f"<namespace {self.__name__}>"


def _trace(x: Any, /, *, offset: int = 0, dtype: Any = None) -> Any:
    return np.sum(_diagonal(x, offset=offset), axis=-1, dtype=dtype)


def _diagonal(x: Any, /, *, offset: int = 0) -> Any:
    return np.diagonal(x, offset=offset, axis1=-2, axis2=-1)


_LINALG = (
    "cholesky cross det eigh eigvalsh inv matrix_norm matrix_power matrix_rank outer pinv qr "
    "slogdet solve svd svdvals tensordot vector_norm"
).split()
linalg = _SubNamespace(
    "chainrule.array_api.linalg",
    "The standard's linear-algebra extension: numpy.linalg's functions.",
    **{name: getattr(np.linalg, name) for name in _LINALG},
    matmul=np.matmul,
    matrix_transpose=matrix_transpose,
    vecdot=vecdot,
    trace=_trace,
    diagonal=_diagonal,
)

_FFT = (
    "fft ifft fftn ifftn rfft irfft rfftn irfftn hfft ihfft fftfreq rfftfreq fftshift ifftshift"
).split()
fft = _SubNamespace(
    "chainrule.array_api.fft",
    "The standard's FFT extension: numpy.fft's functions.",
    **{name: getattr(np.fft, name) for name in _FFT},
)
