"""What makes a tracer look like ``numpy.ndarray``.

Operators and methods forward to the primitives and implementations in
``registry``; NumPy's own functions reach the same tables through
``__array_ufunc__`` and ``__array_function__``. Anything that would turn a
traced value into a plain number or array raises instead of silently dropping
its derivative.
"""

from __future__ import annotations

import sys
from types import FrameType
from typing import Any

import numpy as np

from ..errors import conversion_error, no_rule_error
from .registry import ATTRIBUTES, FUNCTIONS, NONDIFF, UFUNC_LOADERS, UFUNCS


def strip(x: Any) -> Any:
    """The plain value under every level of tracing."""
    while isinstance(x, ArrayFacade):
        x = x._value
    return x


def strip_tree(x: Any) -> Any:
    """``strip`` applied inside lists, tuples and dicts (for argument lists)."""
    if isinstance(x, ArrayFacade):
        return strip(x)
    if type(x) in (list, tuple):
        return type(x)(strip_tree(v) for v in x)
    if type(x) is dict:
        return {k: strip_tree(v) for k, v in x.items()}
    return x


_NO_KWARGS: dict[str, Any] = {}

# NumPy's masked arrays: an ndarray subclass whose arithmetic leaves masked
# elements out of the value, which no derivative rule knows about.
MaskedArray = np.ma.MaskedArray


def masked_error(what: str) -> TypeError:
    """The error for a masked array meeting a traced value (a masked input is
    refused earlier, by the transforms)."""
    return TypeError(
        f"{what} inside a function being differentiated. Masks are not differentiated: the "
        "value would leave the masked elements out, but the derivative would not. Use plain "
        "arrays: m.filled(fill) for a masked constant m, or keep the mask as a boolean array "
        "and select with np.where(mask, fill, data) (np.ma functions cannot take traced values)."
    )


def refuse_masked(prim: Any, value: Any) -> None:
    """Raise ``masked_error`` if ``value``, an operand or result of ``prim``, is masked."""
    if isinstance(value, MaskedArray):
        raise masked_error(f"numpy.{prim.name} met a traced value and a masked array (np.ma)")


# What each conversion is called in its error message.
CONVERSIONS = {
    "float": "float()",
    "int": "int()",
    "complex": "complex()",
    "index": "Using it as an index (operator.index)",
    "item": ".item()",
    "tolist": ".tolist()",
    "array": "Converting to a NumPy array (np.asarray, np.array, a[i] = x)",
}

# Extension point: functions returning a sentence to put in front of a
# refused conversion's message, or "" (chainrule.rules._scipy_hooks registers
# one naming the chainrule.scipy function to call instead of a plain SciPy one).
CONVERSION_HINTS: list[Any] = []


def conversion_refused(kind: str) -> Exception:
    """The ``ConversionError`` of a refused conversion ``kind``."""
    what = CONVERSIONS[kind]
    hinted = False
    if kind in ("array", "float"):  # float(): quad's C code converts the integrand
        for hint in CONVERSION_HINTS:
            h = hint()
            if h:
                what, hinted = f"{h} {what}", True
                break
    err = conversion_error(what)
    err.hinted = hinted  # type: ignore[attr-defined]  # says what to call instead
    return err


def _numpy_ma_on_stack() -> bool:
    """Whether numpy.ma's own code is converting a traced value (only asked
    on the way to an error)."""
    f: FrameType | None = sys._getframe(2)
    while f is not None:
        if (f.f_globals.get("__name__") or "").startswith("numpy.ma"):
            return True
        f = f.f_back
    return False


def _ufunc(uf: Any, *args: Any) -> Any:
    prim = UFUNCS.get(uf)
    if prim is None and any(load(uf) for load in UFUNC_LOADERS):
        prim = UFUNCS.get(uf)
    if prim is not None:
        return bind(prim, args, _NO_KWARGS)
    if uf in NONDIFF:
        return nondiff(uf, args, _NO_KWARGS)
    raise no_rule_error(_ufunc_name(uf))


def _operator(name: str, ufunc: Any, reflected: bool, hooked: bool = False) -> Any:
    """The operator method ``name`` of a tracer ``x``: ``x (op) o``, or
    ``o (op) x`` when ``reflected``; the same primitive, through the same door
    (``process_primitive``), as ``ufunc(x, o)``. When ``o`` is not traced, ``x``'s
    trace is the one ``bind`` would find, so the search is skipped.

    ``hooked``: an operand that is neither an ndarray nor traced is first
    offered to the hook ``registry.ATTRIBUTES[name]`` of an upper floor
    (``x @ L`` and ``L @ x`` with a scipy.sparse ``L``, rules/_upper_floors.py),
    which answers ``NotImplemented`` for operands it does not handle."""
    found: list[Any] = []  # the primitive, looked up once the rules are loaded

    def lookup() -> Any:
        prim = UFUNCS.get(ufunc)
        if prim is not None:
            found.append(prim)
        return prim

    def hook(self: Any, o: Any) -> Any:  # asked only when ``hooked``
        return ATTRIBUTES[name](self, o) if type(o) is not np.ndarray else NotImplemented

    if reflected:

        def method(self: Any, o: Any) -> Any:
            prim = found[0] if found else lookup()
            if prim is None:
                return _ufunc(ufunc, o, self)
            if type(o) is float or not isinstance(o, ArrayFacade):  # (a number: the commonest)
                if hooked and (done := hook(self, o)) is not NotImplemented:
                    return done
                trace = self._trace
                if trace.active:
                    return trace.process_primitive(prim, (o, self), _NO_KWARGS)
            return bind(prim, (o, self), _NO_KWARGS)

    else:

        def method(self: Any, o: Any) -> Any:
            prim = found[0] if found else lookup()
            if prim is None:
                return _ufunc(ufunc, self, o)
            if type(o) is float or not isinstance(o, ArrayFacade):  # (a number: the commonest)
                if hooked and (done := hook(self, o)) is not NotImplemented:
                    return done
                trace = self._trace
                if trace.active:
                    return trace.process_primitive(prim, (self, o), _NO_KWARGS)
            return bind(prim, (self, o), _NO_KWARGS)

    method.__name__ = method.__qualname__ = name
    return method


def _comparison(name: str, ufunc: Any) -> Any:
    """A comparison operator: not differentiable, it gives plain booleans
    (through the traces' ``process_nondiff``)."""

    def method(self: Any, o: Any) -> Any:
        return nondiff(ufunc, (self, o), _NO_KWARGS)

    method.__name__ = method.__qualname__ = name
    return method


def _ufunc_name(uf: Any) -> str:
    """Where a ufunc comes from, for error messages (SciPy's are ufuncs too)."""
    name = uf.__name__
    special = sys.modules.get("scipy.special")
    if getattr(np, name, None) is not uf and getattr(special, name, None) is uf:
        return f"scipy.special.{name}"
    return f"numpy.{name}"


def _function(fn: Any) -> Any:
    impl = FUNCTIONS.get(fn)
    if impl is None:
        raise no_rule_error(f"numpy.{fn.__name__}")
    return impl


def _axes_arg(axes: tuple[Any, ...]) -> Any:
    """ndarray methods accept ``x.transpose(1, 0)`` and ``x.transpose((1, 0))``."""
    if len(axes) == 1 and (axes[0] is None or isinstance(axes[0], (tuple, list))):
        return axes[0]
    return axes if axes else None


class ArrayFacade:
    """Mixin giving tracers the ndarray surface. Holds no state of its own."""

    __slots__ = ()
    __array_priority__ = 1000.0  # win binary operators against ndarray

    # -- what the value is -------------------------------------------------
    @property
    def shape(self) -> tuple[int, ...]:
        return self._value.shape  # type: ignore[no-any-return]  # _value: ndarray or tracer

    @property
    def ndim(self) -> int:
        return self._value.ndim  # type: ignore[no-any-return]

    @property
    def size(self) -> int:
        return self._value.size  # type: ignore[no-any-return]

    @property
    def dtype(self) -> np.dtype[Any]:
        return self._value.dtype  # type: ignore[no-any-return]

    @property
    def at(self) -> Any:
        """Functional updates: ``x.at[idx].set(v)`` (see ``chainrule.at``, which
        registers it in ``registry.ATTRIBUTES``: core imports nothing above it)."""
        return ATTRIBUTES["at"](self)

    @property
    def real(self) -> Any:
        return _function(np.real)(self)

    @property
    def imag(self) -> Any:
        return _function(np.imag)(self)

    def conj(self) -> Any:
        return _ufunc(np.conjugate, self)

    conjugate = conj

    @property
    def T(self) -> Any:
        return _function(np.transpose)(self)

    # -- the array API standard (chainrule/array_api.py holds the namespace) --
    def __array_namespace__(self, api_version: Any = None) -> Any:
        if api_version not in (None, "2021.12", "2022.12", "2023.12", "2024.12"):
            raise ValueError(f"chainrule implements array API version 2024.12, not {api_version!r}")
        return ATTRIBUTES["__array_namespace__"]()  # chainrule.array_api, on first use

    @property
    def mT(self) -> Any:
        return _function(np.swapaxes)(self, -1, -2)

    @property
    def device(self) -> str:
        return "cpu"

    def to_device(self, device: Any, /, *, stream: Any = None) -> Any:
        if device != "cpu":
            raise ValueError(f"chainrule arrays live on the CPU (device 'cpu'), not {device!r}")
        return self

    def __dlpack__(self, *args: Any, **kwargs: Any) -> Any:
        raise TypeError(
            "A traced value cannot be exported through DLPack: the other library would get "
            "the number and lose the derivative. Export cr.stop_gradient(x) if the plain "
            "value is what you want, or the result after the transform returns."
        )

    def __dlpack_device__(self) -> tuple[int, int]:
        return (1, 0)  # kDLCPU, device 0

    def __len__(self) -> int:
        return len(self._value)

    def __iter__(self) -> Any:
        if self.ndim == 0:
            raise TypeError("iteration over a 0-d traced array")
        return ATTRIBUTES["__iter__"](self)  # one unstack (rules/_upper_floors.py)

    # -- conversions: each reaches the trace (a staging trace sees a guard) --
    def __bool__(self) -> bool:
        # Branching on a value drops no derivative: Python control flow is fine.
        return self._trace.process_conversion("bool", self)  # type: ignore[no-any-return]

    def __repr__(self) -> str:
        return f"{type(self).__name__}(level={self._trace.level}, value={strip(self)!r})"

    # The others would lose the derivative: the default refuses them.
    def __array__(self, dtype: Any = None, copy: Any = None) -> Any:
        if _numpy_ma_on_stack():  # np.ma.array(x), np.ma.masked_where(c, x), m * x
            raise masked_error("A traced value was passed to np.ma")
        # L @ x or spsolve(A, x) with scipy.sparse (rules/_upper_floors.py)
        answer = ATTRIBUTES["__array__"](sys._getframe(1))
        if answer is not None:
            return answer
        return self._trace.process_conversion("array", self)

    def __float__(self) -> float:
        return self._trace.process_conversion("float", self)  # type: ignore[no-any-return]

    def __int__(self) -> int:
        return self._trace.process_conversion("int", self)  # type: ignore[no-any-return]

    def __complex__(self) -> complex:
        return self._trace.process_conversion("complex", self)  # type: ignore[no-any-return]

    def __index__(self) -> int:
        return self._trace.process_conversion("index", self)  # type: ignore[no-any-return]

    def item(self, *args: Any) -> Any:
        return self._trace.process_conversion("item", self)

    def tolist(self) -> Any:
        return self._trace.process_conversion("tolist", self)

    def __setitem__(self, idx: Any, value: Any) -> None:
        # an array-API library's own write into an array it made (rules/_upper_floors.py)
        done = ATTRIBUTES["__setitem__"](self, idx, value, sys._getframe(1))
        if done is not NotImplemented:
            return None
        raise TypeError(
            "Traced arrays are immutable: x[idx] = v cannot be differentiated in place. "
            "Use the functional update x = cr.at(x)[idx].set(v) (or x.at[idx].set(v)), which "
            "returns a new array and is differentiable in both x and v."
        )

    # -- NumPy's protocols -------------------------------------------------
    def __array_ufunc__(self, ufunc: Any, method: str, *inputs: Any, **kwargs: Any) -> Any:
        prim = UFUNCS.get(ufunc)
        if prim is not None and method == "__call__" and not kwargs:
            trace = self._trace
            if trace.active:
                # Only this tracer, or it and an untraced operand (``W @ x``):
                # its trace is the one bind would find, so the search is skipped.
                n = len(inputs)
                if n == 1:
                    return trace.process_primitive(prim, inputs, _NO_KWARGS)
                if n == 2:
                    a, b = inputs
                    o = a if b is self else b
                    if type(o) is np.ndarray or not isinstance(o, ArrayFacade):
                        return trace.process_primitive(prim, inputs, _NO_KWARGS)
            return bind(prim, inputs, _NO_KWARGS)
        return self._array_ufunc_other(ufunc, method, inputs, kwargs)

    def _array_ufunc_other(
        self, ufunc: Any, method: str, inputs: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> Any:
        """Ufuncs without rules, with keywords, and ufunc methods (reduce, at)."""
        if not kwargs and method == "__call__":
            return _ufunc(ufunc, *inputs)
        if kwargs.get("out") is not None:
            raise conversion_error(f"Writing the result of numpy.{ufunc.__name__} into out=")
        kwargs.pop("out", None)
        if method != "__call__":
            if method == "reduce" and ufunc is np.add:
                return _function(np.sum)(*inputs, **{"axis": 0, **kwargs})
            if method == "at":
                raise conversion_error(f"numpy.{ufunc.__name__}.at")
            raise no_rule_error(f"numpy.{ufunc.__name__}.{method}")
        if kwargs:
            if ufunc in NONDIFF:
                return nondiff(ufunc, inputs, kwargs)
            raise no_rule_error(
                _ufunc_name(ufunc), f"keyword arguments {sorted(kwargs)} on traced values"
            )
        return _ufunc(ufunc, *inputs)

    def __array_function__(
        self, func: Any, types: Any, args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> Any:
        impl = FUNCTIONS.get(func)
        if impl is not None:
            return impl(*args, **kwargs)
        if func in NONDIFF:
            return nondiff(func, args, kwargs)
        raise no_rule_error(f"numpy.{func.__name__}")

    # -- arithmetic --------------------------------------------------------
    __add__ = _operator("__add__", np.add, reflected=False)
    __radd__ = _operator("__radd__", np.add, reflected=True)
    __sub__ = _operator("__sub__", np.subtract, reflected=False)
    __rsub__ = _operator("__rsub__", np.subtract, reflected=True)
    __mul__ = _operator("__mul__", np.multiply, reflected=False)
    __rmul__ = _operator("__rmul__", np.multiply, reflected=True)
    __truediv__ = _operator("__truediv__", np.true_divide, reflected=False)
    __rtruediv__ = _operator("__rtruediv__", np.true_divide, reflected=True)
    __pow__ = _operator("__pow__", np.power, reflected=False)
    __rpow__ = _operator("__rpow__", np.power, reflected=True)

    __matmul__ = _operator("__matmul__", np.matmul, reflected=False, hooked=True)
    __rmatmul__ = _operator("__rmatmul__", np.matmul, reflected=True, hooked=True)
    __floordiv__ = _operator("__floordiv__", np.floor_divide, reflected=False)
    __rfloordiv__ = _operator("__rfloordiv__", np.floor_divide, reflected=True)
    __mod__ = _operator("__mod__", np.remainder, reflected=False)
    __rmod__ = _operator("__rmod__", np.remainder, reflected=True)

    def __neg__(self) -> Any:
        return _ufunc(np.negative, self)

    def __pos__(self) -> Any:
        return self

    def __abs__(self) -> Any:
        return _ufunc(np.absolute, self)

    # Comparisons are not differentiable: they give plain boolean arrays.
    __lt__ = _comparison("__lt__", np.less)

    __le__ = _comparison("__le__", np.less_equal)

    __gt__ = _comparison("__gt__", np.greater)

    __ge__ = _comparison("__ge__", np.greater_equal)

    __eq__ = _comparison("__eq__", np.equal)
    __ne__ = _comparison("__ne__", np.not_equal)

    __hash__ = None  # type: ignore[assignment]  # like ndarray

    # -- indexing ----------------------------------------------------------
    def __getitem__(self, idx: Any) -> Any:
        return _function(np.ndarray.__getitem__)(self, idx)

    # -- methods -----------------------------------------------------------
    def sum(
        self, axis: Any = None, dtype: Any = None, out: Any = None, keepdims: bool = False
    ) -> Any:
        return _function(np.sum)(self, axis=axis, dtype=dtype, out=out, keepdims=keepdims)

    def mean(
        self, axis: Any = None, dtype: Any = None, out: Any = None, keepdims: bool = False
    ) -> Any:
        return _function(np.mean)(self, axis=axis, dtype=dtype, out=out, keepdims=keepdims)

    def max(self, axis: Any = None, out: Any = None, keepdims: bool = False) -> Any:
        return _function(np.max)(self, axis=axis, out=out, keepdims=keepdims)

    def min(self, axis: Any = None, out: Any = None, keepdims: bool = False) -> Any:
        return _function(np.min)(self, axis=axis, out=out, keepdims=keepdims)

    def prod(
        self, axis: Any = None, dtype: Any = None, out: Any = None, keepdims: bool = False
    ) -> Any:
        return _function(np.prod)(self, axis=axis, dtype=dtype, out=out, keepdims=keepdims)

    def reshape(self, *shape: Any, order: str = "C") -> Any:
        if len(shape) == 1:
            shape = shape[0]
        return _function(np.reshape)(self, shape, order=order)

    def transpose(self, *axes: Any) -> Any:
        return _function(np.transpose)(self, _axes_arg(axes))

    def dot(self, other: Any) -> Any:
        if type(other) is not np.ndarray and not isinstance(other, ArrayFacade):
            done = ATTRIBUTES["__matmul__"](self, other)  # x.dot(L), L scipy.sparse: x @ L
            if done is not NotImplemented:
                return done
        return _function(np.dot)(self, other)

    def astype(self, dtype: Any, *args: Any, **kwargs: Any) -> Any:
        return _function(np.ndarray.astype)(self, dtype)

    def flatten(self, order: str = "C") -> Any:
        return _function(np.ravel)(self, order=order)

    def ravel(self, order: str = "C") -> Any:
        return _function(np.ravel)(self, order=order)

    def squeeze(self, axis: Any = None) -> Any:
        return _function(np.squeeze)(self, axis=axis)

    def clip(self, min: Any = None, max: Any = None) -> Any:  # noqa: A002 - ndarray's names
        return _function(np.clip)(self, min, max)

    def copy(self, order: str = "C") -> Any:
        return self  # traced values are immutable, so a copy may share

    # copy.copy and copy.deepcopy likewise: the copy is the same value, and its
    # derivative flows back as the original's (a deep copy of the trace would
    # be a second, dead recording).
    def __copy__(self) -> Any:
        return self

    def __deepcopy__(self, memo: Any) -> Any:
        raise TypeError(
            "copy.deepcopy of a traced value is refused: a deep copy would have to duplicate "
            "the recording the value belongs to. Traced values are immutable, so use the value "
            "itself (or x.copy(), which is differentiated); to copy a container holding traced "
            "values, rebuild it with cr.tree.map(lambda v: v, tree), which makes new "
            "containers and keeps the values traced."
        )

    def __reduce_ex__(self, protocol: Any) -> Any:
        raise TypeError(
            "A traced value cannot be pickled while it is being differentiated: the pickle "
            "would keep the number and lose the derivative (and the recording it belongs to "
            "cannot be saved). Pickle the result after the transform returns (return it from "
            "the function, with has_aux=True for extra outputs), or pickle "
            "cr.stop_gradient(x) if the plain value is what you want."
        )

    __reduce__ = __reduce_ex__  # type: ignore[assignment]  # refuses either way

    def _in_place(self, *args: Any, **kwargs: Any) -> None:
        raise TypeError(
            "Traced arrays are immutable, so ndarray methods that change an array in place "
            "(sort, partition, put, resize, fill, ...) cannot be differentiated. Use the "
            "functional form instead: x = np.sort(x), np.partition(x, k), "
            "x.at[idx].set(v) for put/fill, np.resize(x, shape)."
        )

    sort = partition = put = resize = fill = itemset = setfield = byteswap = _in_place

    def __getattr__(self, name: str) -> Any:
        # Any other ndarray method that NumPy also offers as a function we
        # have a rule for (x.cumsum(), x.var(), ...) forwards to that rule.
        if name.startswith("__"):
            raise AttributeError(name)  # NumPy probes __array_struct__ and friends
        fn = getattr(np, name, None)
        if fn is not None and fn in FUNCTIONS and hasattr(np.ndarray, name):
            impl = FUNCTIONS[fn]
            if name == "compress":  # the method takes (condition), the function (condition, a)
                return lambda condition, *args, **kwargs: impl(condition, self, *args, **kwargs)
            return lambda *args, **kwargs: impl(self, *args, **kwargs)
        if fn is not None and fn in NONDIFF and hasattr(np.ndarray, name):
            # x.argmax(), x.argsort(), x.round(), ...: the function, through the
            # trace's non-differentiable door like np.argmax(x).
            return lambda *args, **kwargs: fn(self, *args, **kwargs)
        if hasattr(np.ndarray, name):
            raise no_rule_error(f"ndarray.{name}")
        raise AttributeError(f"{type(self).__name__} has no attribute {name!r}")


# The door of every trace (core/trace.py), imported last: trace.py builds its
# Tracer on ArrayFacade, so each module needs the other's first half.
from .trace import bind, nondiff  # noqa: E402
