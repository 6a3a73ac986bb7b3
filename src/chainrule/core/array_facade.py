"""What makes a tracer look like ``numpy.ndarray``.

Operators and methods forward to the primitives and implementations in
``registry``; NumPy's own functions reach the same tables through
``__array_ufunc__`` and ``__array_function__``. Anything that would turn a
traced value into a plain number or array raises instead of silently dropping
its derivative.
"""

from __future__ import annotations

import sys
from typing import Any

import numpy as np

from ..errors import conversion_error, no_rule_error
from .registry import CONSTANT_RULES, FUNCTIONS, NONDIFF, UFUNCS

_bind: Any = None  # core.trace.bind, set there (it imports this module)


def strip(x: Any) -> Any:
    """The plain value under every level of tracing."""
    while isinstance(x, ArrayFacade):
        x = x._value  # type: ignore[attr-defined]
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


_NO_KWARGS: dict = {}

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


def _numpy_ma_on_stack() -> bool:
    """Whether numpy.ma's own code is converting a traced value (only asked
    on the way to an error)."""
    f = sys._getframe(2)
    while f is not None:
        if (f.f_globals.get("__name__") or "").startswith("numpy.ma"):
            return True
        f = f.f_back
    return False


def _ufunc(uf: Any, *args: Any) -> Any:
    prim = UFUNCS.get(uf)
    if prim is None and _load_scipy_rules(uf):
        prim = UFUNCS.get(uf)
    if prim is not None:
        return _bind(prim, args, _NO_KWARGS)
    if uf in NONDIFF:
        return uf(*[strip(a) for a in args])
    raise no_rule_error(_ufunc_name(uf))


def _load_scipy_rules(uf: Any) -> bool:
    """SciPy's special functions are ufuncs too: the first time one meets a
    tracer, load chainrule.scipy (which registers their rules) so plain
    ``scipy.special.erf(x)`` just works. SciPy stays an optional import."""
    special = sys.modules.get("scipy.special")
    if special is None or "chainrule.scipy" in sys.modules:
        return False
    if getattr(special, uf.__name__, None) is not uf:
        return False
    import importlib

    importlib.import_module("chainrule.scipy")
    return True


def _binop(uf: Any, a: Any, b: Any, me: Any) -> Any:
    """An operator of tracer ``me`` with operands ``a``, ``b`` (``me`` is one of them)."""
    prim = UFUNCS.get(uf)
    if prim is None:
        return _ufunc(uf, a, b)
    return _bind_pair(prim, a, b, me)


def _bind_pair(prim: Any, a: Any, b: Any, me: Any) -> Any:
    """Hot path: when the operand other than ``me`` is not traced, go straight
    to ``me``'s trace instead of searching the arguments."""
    other = b if a is me else a
    if not isinstance(other, ArrayFacade):
        trace = me._trace
        if trace.active:
            return trace.process(prim, (a, b), _NO_KWARGS)
    return _bind(prim, (a, b), _NO_KWARGS)


# Constants that take the ConstantRule path: Python's numbers, and NumPy's
# float64 scalar (what indexing a float array gives), which never broadcasts.
_NUMBERS = frozenset({float, int, np.float64})


def _arithmetic(name: str, ufunc: Any, reflected: bool) -> Any:
    """The operator method ``name`` of a tracer ``x``: ``x (op) o``, or
    ``o (op) x`` when ``reflected``. A number ``o`` takes the short path of
    its ConstantRule (registry.CONSTANT_RULES), anything else the primitive."""

    def method(self: Any, o: Any) -> Any:
        if type(o) in _NUMBERS:
            rule = CONSTANT_RULES.get(name)
            if rule is not None:
                return self._trace.process_constant(rule, self, o)
        return _binop(ufunc, o, self, self) if reflected else _binop(ufunc, self, o, self)

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


def _axes_arg(axes: tuple) -> Any:
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
        return self._value.shape  # type: ignore[attr-defined]

    @property
    def ndim(self) -> int:
        return self._value.ndim  # type: ignore[attr-defined]

    @property
    def size(self) -> int:
        return self._value.size  # type: ignore[attr-defined]

    @property
    def dtype(self) -> np.dtype:
        return self._value.dtype  # type: ignore[attr-defined]

    @property
    def at(self) -> Any:
        """Functional updates: ``x.at[idx].set(v)`` (see ``chainrule.at``)."""
        from ..at import at  # at.py builds on the rules, which import this module

        return at(self)

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

    def __len__(self) -> int:
        return len(self._value)  # type: ignore[attr-defined]

    def __iter__(self) -> Any:
        if self.ndim == 0:
            raise TypeError("iteration over a 0-d traced array")
        return (self[i] for i in range(len(self)))

    def __bool__(self) -> bool:
        # Branching on a value drops no derivative: Python control flow is fine.
        return bool(strip(self))

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(level={self._trace.level}, "  # type: ignore[attr-defined]
            f"value={strip(self)!r})"
        )

    # -- conversions that would lose the derivative ------------------------
    def __array__(self, dtype: Any = None, copy: Any = None) -> Any:
        if _numpy_ma_on_stack():  # np.ma.array(x), np.ma.masked_where(c, x), m * x
            raise masked_error("A traced value was passed to np.ma")
        what = "Converting to a NumPy array (np.asarray, np.array, a[i] = x)"
        scipy_mirror = sys.modules.get("chainrule.scipy")
        if scipy_mirror is not None:  # a plain SciPy call? name the chainrule.scipy one
            hint = scipy_mirror.hint_for_current_call()
            if hint:
                what = f"{hint} {what}"
        raise conversion_error(what)

    def __float__(self) -> float:
        raise conversion_error("float()")

    def __int__(self) -> int:
        raise conversion_error("int()")

    def __complex__(self) -> complex:
        raise conversion_error("complex()")

    def __index__(self) -> int:
        raise conversion_error("Using it as an index (operator.index)")

    def item(self, *args: Any) -> Any:
        raise conversion_error(".item()")

    def tolist(self) -> Any:
        raise conversion_error(".tolist()")

    def __setitem__(self, idx: Any, value: Any) -> None:
        raise TypeError(
            "Traced arrays are immutable: x[idx] = v cannot be differentiated in place. "
            "Use the functional update x = cr.at(x)[idx].set(v) (or x.at[idx].set(v)), which "
            "returns a new array and is differentiable in both x and v."
        )

    # -- NumPy's protocols -------------------------------------------------
    def __array_ufunc__(self, ufunc: Any, method: str, *inputs: Any, **kwargs: Any) -> Any:
        prim = UFUNCS.get(ufunc)
        if prim is not None and method == "__call__" and not kwargs:  # the hot path
            trace = self._trace  # type: ignore[attr-defined]
            if trace.active:
                # Only this tracer, or it and an untraced operand (``W @ x``):
                # its trace is the one, so bind's search is skipped.
                if len(inputs) == 1:
                    return trace.process_unary(prim, self)
                if len(inputs) == 2:
                    a, b = inputs
                    if not isinstance(a if b is self else b, ArrayFacade):
                        return trace.process(prim, inputs, _NO_KWARGS)
            return _bind(prim, inputs, _NO_KWARGS)
        return self._array_ufunc_other(ufunc, method, inputs, kwargs)

    def _array_ufunc_other(self, ufunc: Any, method: str, inputs: tuple, kwargs: dict) -> Any:
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
                return ufunc(*[strip(a) for a in inputs], **kwargs)
            raise no_rule_error(
                _ufunc_name(ufunc), f"keyword arguments {sorted(kwargs)} on traced values"
            )
        return _ufunc(ufunc, *inputs)

    def __array_function__(self, func: Any, types: Any, args: tuple, kwargs: dict) -> Any:
        impl = FUNCTIONS.get(func)
        if impl is not None:
            return impl(*args, **kwargs)
        if func in NONDIFF:
            return func(*strip_tree(args), **strip_tree(kwargs))
        raise no_rule_error(f"numpy.{func.__name__}")

    # -- arithmetic --------------------------------------------------------
    __add__ = _arithmetic("__add__", np.add, reflected=False)
    __radd__ = _arithmetic("__radd__", np.add, reflected=True)
    __sub__ = _arithmetic("__sub__", np.subtract, reflected=False)
    __rsub__ = _arithmetic("__rsub__", np.subtract, reflected=True)
    __mul__ = _arithmetic("__mul__", np.multiply, reflected=False)
    __rmul__ = _arithmetic("__rmul__", np.multiply, reflected=True)
    __truediv__ = _arithmetic("__truediv__", np.true_divide, reflected=False)
    __rtruediv__ = _arithmetic("__rtruediv__", np.true_divide, reflected=True)
    __pow__ = _arithmetic("__pow__", np.power, reflected=False)
    __rpow__ = _arithmetic("__rpow__", np.power, reflected=True)

    def __matmul__(self, o: Any) -> Any:
        return _binop(np.matmul, self, o, self)

    def __rmatmul__(self, o: Any) -> Any:
        return _binop(np.matmul, o, self, self)

    def __floordiv__(self, o: Any) -> Any:
        return _binop(np.floor_divide, self, o, self)

    def __rfloordiv__(self, o: Any) -> Any:
        return _binop(np.floor_divide, o, self, self)

    def __mod__(self, o: Any) -> Any:
        return _binop(np.remainder, self, o, self)

    def __rmod__(self, o: Any) -> Any:
        return _binop(np.remainder, o, self, self)

    def __neg__(self) -> Any:
        return _ufunc(np.negative, self)

    def __pos__(self) -> Any:
        return self

    def __abs__(self) -> Any:
        return _ufunc(np.absolute, self)

    # Comparisons are not differentiable: they give plain boolean arrays.
    def __lt__(self, o: Any) -> Any:
        return np.less(strip(self), strip(o))

    def __le__(self, o: Any) -> Any:
        return np.less_equal(strip(self), strip(o))

    def __gt__(self, o: Any) -> Any:
        return np.greater(strip(self), strip(o))

    def __ge__(self, o: Any) -> Any:
        return np.greater_equal(strip(self), strip(o))

    def __eq__(self, o: Any) -> Any:  # type: ignore[override]
        return np.equal(strip(self), strip(o))

    def __ne__(self, o: Any) -> Any:  # type: ignore[override]
        return np.not_equal(strip(self), strip(o))

    __hash__ = None  # type: ignore[assignment]  # like ndarray

    # -- indexing ----------------------------------------------------------
    def __getitem__(self, idx: Any) -> Any:
        return _function(np.ndarray.__getitem__)(self, idx)

    # -- methods -----------------------------------------------------------
    def sum(self, axis: Any = None, dtype: Any = None, out: Any = None, keepdims: bool = False):
        return _function(np.sum)(self, axis=axis, dtype=dtype, out=out, keepdims=keepdims)

    def mean(self, axis: Any = None, dtype: Any = None, out: Any = None, keepdims: bool = False):
        return _function(np.mean)(self, axis=axis, dtype=dtype, out=out, keepdims=keepdims)

    def max(self, axis: Any = None, out: Any = None, keepdims: bool = False) -> Any:
        return _function(np.max)(self, axis=axis, out=out, keepdims=keepdims)

    def min(self, axis: Any = None, out: Any = None, keepdims: bool = False) -> Any:
        return _function(np.min)(self, axis=axis, out=out, keepdims=keepdims)

    def prod(self, axis: Any = None, dtype: Any = None, out: Any = None, keepdims: bool = False):
        return _function(np.prod)(self, axis=axis, dtype=dtype, out=out, keepdims=keepdims)

    def reshape(self, *shape: Any, order: str = "C") -> Any:
        if len(shape) == 1:
            shape = shape[0]
        return _function(np.reshape)(self, shape, order=order)

    def transpose(self, *axes: Any) -> Any:
        return _function(np.transpose)(self, _axes_arg(axes))

    def dot(self, other: Any) -> Any:
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
        return self

    def __reduce_ex__(self, protocol: Any) -> Any:
        raise TypeError(
            "A traced value cannot be pickled while it is being differentiated: the pickle "
            "would keep the number and lose the derivative (and the recording it belongs to "
            "cannot be saved). Pickle the result after the transform returns (return it from "
            "the function, with has_aux=True for extra outputs), or pickle "
            "cr.stop_gradient(x) if the plain value is what you want."
        )

    __reduce__ = __reduce_ex__

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
            return lambda *args, **kwargs: impl(self, *args, **kwargs)
        if hasattr(np.ndarray, name):
            raise no_rule_error(f"ndarray.{name}")
        raise AttributeError(f"{type(self).__name__} has no attribute {name!r}")
