"""NumPy callables chainrule refuses, each with the reason and the fix.

``REFUSED`` maps a qualified name (``"numpy.histogram"``, ``"numpy.linalg.cond"``,
``"ndarray.tofile"``) to one sentence: why there is no derivative, and what to
write instead. ``chainrule.coverage`` lists these names as *refused*, so that
every public callable of NumPy has an answer on docs/coverage.md.

Plain functions among them are registered with a wrapper that runs NumPy's own
function on plain arguments and raises ``NoRuleError`` stating the reason when
an argument is traced (NumPy's ``__array_function__`` dispatch routes
``np.histogram(x)`` to it). Types, ufuncs and functions NumPy does not dispatch
(``np.float64(x)``, ``np.vectorize(f)(x)``) reach a traced value through a
conversion instead; ``reason(name)`` is what an error builder can look up.
"""

from __future__ import annotations

import functools
import inspect
from typing import Any

import numpy as np

from ..core.registry import FUNCTIONS
from ..errors import REFUSAL_REASONS, no_rule_error

TYPE = "a type, not a function of values: convert with x.astype(...) instead"
IO = "reads or writes files: nothing to differentiate"
TEXT = "formats text or reports on the installation: nothing to differentiate"
CONFIG = "sets or reads NumPy's printing or error-handling configuration: no values involved"
INFO = "describes dtypes or Python objects, not values: call it on x.dtype or x.shape"
DATES = "works on dates and times (datetime64), which have no derivative"
ITER = "iterates in Python over plain elements: write the loop with array operations"
PYFUNC = (
    "runs a Python function per element on plain values: write it with array operations "
    "(np.where for branches), which differentiate"
)
INDICES = "builds integer index arrays from shapes: call it on plain integers (x.shape, n)"
WINDOW = "takes an integer length and returns constants: call it with a plain int"
IN_PLACE = "changes an array in place: use the functional update cr.at(x)[idx].set(v)"
MATRIX = "np.matrix is discouraged by NumPy: use 2-D arrays and @"
SETS = (
    "a set operation compares values for equality, so its result has no derivative: "
    "use boolean masks (np.isin on cr.stop_gradient(x)) to select traced entries"
)
BOOLEAN = "its result is boolean: call it on cr.stop_gradient(x) (x > 0 style comparisons work)"
INTEGER = "its result is integer: call it on cr.stop_gradient(x)"
INTEGER_ONLY = "defined on integer arrays only, which have no derivative"

_NUMPY = {
    # files
    **dict.fromkeys("load save savez savez_compressed savetxt fromregex memmap".split(), IO),
    # text, configuration, installation
    **dict.fromkeys(
        "array2string array_repr array_str format_float_positional format_float_scientific "
        "base_repr binary_repr info show_config show_runtime get_include test typename".split(),
        TEXT,
    ),
    **dict.fromkeys(
        "set_printoptions get_printoptions printoptions seterr geterr seterrcall geterrcall "
        "errstate setbufsize getbufsize".split(),
        CONFIG,
    ),
    **dict.fromkeys(
        "can_cast common_type min_scalar_type mintypecode promote_types isdtype issubdtype "
        "finfo iinfo iterable isscalar isfortran".split(),
        INFO,
    ),
    **dict.fromkeys(
        "busday_count busday_offset busdaycalendar is_busday datetime_as_string "
        "datetime_data isnat".split(),
        DATES,
    ),
    **dict.fromkeys("ndenumerate ndindex nditer nested_iters flatiter".split(), ITER),
    "vectorize": PYFUNC,
    "frompyfunc": PYFUNC,
    "apply_over_axes": (
        "calls the function with plain arrays: apply the reduction with keepdims=True "
        "over each axis in a loop"
    ),
    **dict.fromkeys(
        "diag_indices diag_indices_from tril_indices tril_indices_from triu_indices "
        "triu_indices_from mask_indices indices ix_ ravel_multi_index unravel_index".split(),
        INDICES,
    ),
    **dict.fromkeys("bartlett blackman hamming hanning kaiser".split(), WINDOW),
    **dict.fromkeys("copyto fill_diagonal place put put_along_axis putmask".split(), IN_PLACE),
    **dict.fromkeys("asmatrix bmat matrix".split(), MATRIX),
    # in1d: NumPy before 2.4 (isin's old name)
    **dict.fromkeys("in1d intersect1d isin setdiff1d setxor1d union1d".split(), SETS),
    **dict.fromkeys("isneginf isposinf".split(), BOOLEAN),
    **dict.fromkeys("nanargmax nanargmin digitize bincount lexsort".split(), INTEGER),
    **dict.fromkeys("gcd lcm bitwise_count packbits unpackbits".split(), INTEGER_ONLY),
    # the values move with the data, but the result is not smooth in them
    "histogram": (
        "bin counts are piecewise constant but the edges move with the data: pass "
        "plain bins=edges (from cr.stop_gradient(x)) for counts, or write a smooth "
        "(kernel) density with array operations"
    ),
    "histogram2d": "bin counts are piecewise constant and the edges move with the data: "
    "pass plain bins= edges, computed from cr.stop_gradient(x)",
    "histogramdd": "bin counts are piecewise constant and the edges move with the data: "
    "pass plain bins= edges, computed from cr.stop_gradient(x)",
    "histogram_bin_edges": "edges from min/max and a bin-count rule (integer choices): "
    "use np.linspace(x.min(), x.max(), n + 1), which differentiates",
    "trim_zeros": "which entries are cut depends on which values are zero: slice x[i:j] "
    "with plain indices",
    "sort_complex": "sorts complex values lexicographically: use np.sort on x.real, "
    "np.argsort on cr.stop_gradient(x) and np.take",
    "asarray_chkfinite": "converts to a plain NumPy array: use chainrule.numpy.asarray "
    "and check np.all(np.isfinite(x))",
    "from_dlpack": "imports another library's buffer as a plain array: nothing traced",
    "broadcast": "an iterator over plain elements: use np.broadcast_to or np.broadcast_arrays",
    "broadcast_shapes": "works on shapes: pass x.shape",
    "poly1d": "the legacy polynomial class converts coefficients with np.array: use "
    "np.polyval(p, x)",
    "frexp": "the exponent is an integer, the mantissa jumps at powers of two: use np.log2",
    "spacing": "the gap to the next float is piecewise constant: use "
    "np.spacing(cr.stop_gradient(x))",
}

_LINALG = {
    "LinAlgError": "an exception class: nothing to differentiate",
    "test": TEXT,
}

_FFT = {
    "fftfreq": "takes an integer length and a plain spacing, returns constants: call it "
    "with plain numbers (scale the result by a traced factor if needed)",
    "rfftfreq": "takes an integer length and a plain spacing, returns constants: call it "
    "with plain numbers (scale the result by a traced factor if needed)",
    "test": TEXT,
}

_POLYNOMIAL = {
    "Polynomial": "the class converts its coefficients with np.array: use the functions of "
    "chainrule.numpy.polynomial.polynomial (polyval, polyder, ...) on traced coefficients",
    "ABCPolyBase": "an abstract base class: use the functions of "
    "chainrule.numpy.polynomial.polynomial",
    # NumPy before 2.4 re-exported this helper here
    "normalize_axis_index": "checks an axis number: call it with plain ints",
}

_METHODS = {
    **dict.fromkeys("dump tofile".split(), IO),
    **dict.fromkeys(
        "dumps tobytes tostring tolist item".split(),  # tostring: NumPy before 2.3
        "gives plain Python data: call it on cr.stop_gradient(x)",
    ),
    **dict.fromkeys(
        "sort partition put resize fill setfield setflags byteswap".split(),
        "changes the array in place: use the function (np.sort(x), ...) or cr.at(x)[idx].set(v)",
    ),
    "getfield": "reinterprets raw bytes: nothing to differentiate",
    "view": "reinterprets raw bytes: use x.astype(...) or np.reshape",
    "to_device": "moves data between devices: traced values live on the CPU",
}

REFUSED: dict[str, str] = {
    **{f"numpy.{k}": v for k, v in _NUMPY.items()},
    **{f"numpy.linalg.{k}": v for k, v in _LINALG.items()},
    **{f"numpy.fft.{k}": v for k, v in _FFT.items()},
    **{f"numpy.polynomial.polynomial.{k}": v for k, v in _POLYNOMIAL.items()},
    **{f"ndarray.{k}": v for k, v in _METHODS.items()},
}

# Every NumPy type (float64, ndarray, dtype, ufunc, generic...) is refused as a type.
for _name, _obj in vars(np).items():
    if not _name.startswith("_") and inspect.isclass(_obj):
        REFUSED.setdefault(f"numpy.{_name}", TYPE)


def reason(qualified_name: str) -> str | None:
    """Why ``qualified_name`` (``"numpy.histogram"``) is refused, or None.

    >>> reason("numpy.vectorize").startswith("runs a Python function")
    True
    """
    return REFUSED.get(qualified_name)


def _refuse(fn: Any, name: str, why: str) -> Any:
    """NumPy's ``fn`` on plain arguments; a ``NoRuleError`` giving ``why`` on traced ones."""
    from ..core.trace import Tracer

    @functools.wraps(fn)
    def refused(*args: Any, **kwargs: Any) -> Any:
        if any(_traced(a, Tracer) for a in (*args, *kwargs.values())):
            raise no_rule_error(name, why)
        return fn(*args, **kwargs)

    refused.__chainrule_refused__ = why  # type: ignore[attr-defined]
    return refused


def _traced(obj: Any, tracer: type) -> bool:
    if isinstance(obj, tracer):
        return True
    return isinstance(obj, (list, tuple)) and any(_traced(o, tracer) for o in obj)


# fftfreq stays NumPy's own object (cnp.fft.fftfreq is np.fft.fftfreq): NumPy does
# not dispatch it, and its arguments are plain numbers.
_UNWRAPPED = {"numpy.fft.fftfreq", "numpy.fft.rfftfreq"}


def _register() -> None:
    modules = {
        "numpy": np,
        "numpy.linalg": np.linalg,
        "numpy.fft": np.fft,
        "numpy.polynomial.polynomial": np.polynomial.polynomial,
    }
    for qualified, why in REFUSED.items():
        namespace, _, name = qualified.rpartition(".")
        module = modules.get(namespace)
        fn = getattr(module, name, None) if module is not None else None
        # Plain Python functions only: types stay NumPy's own (cnp.float64 is
        # np.float64), and ufuncs reach us through __array_ufunc__, not here.
        plain_function = callable(fn) and not inspect.isclass(fn) and not isinstance(fn, np.ufunc)
        if not plain_function or fn in FUNCTIONS or qualified in _UNWRAPPED:
            continue
        FUNCTIONS[fn] = _refuse(fn, qualified, why)


_register()
# Ufuncs and ndarray methods reach core's own error builder, which looks here.
REFUSAL_REASONS.update(REFUSED)
