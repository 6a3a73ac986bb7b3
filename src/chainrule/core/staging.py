"""The staging trace: record a function's NumPy calls into a program.

``cr.jit`` (transforms/jit.py) runs the user's function once under a
``StagingTrace``, the outermost level. Its tracers carry the real value of
the first call (so shapes, dtypes and every branch taken are exact) and the
number of the program variable they stand for. Every call that reaches the
trace is run on the real values and recorded as an equation: primitives
(``process_primitive``), non-differentiable NumPy calls and comparisons
(``process_nondiff``). A conversion to a Python value (``bool``, ``int``,
``float``, ``.item()``, ``operator.index``) records a *guard*: the value the
conversion had, which a replay checks before trusting the rest of the program.
Conversions to a whole array (``__array__``, ``.tolist()``) cannot be guarded
cheaply and raise ``StagedConversionError`` naming the user's line.

A derivative transform running inside the staging trace (``jit(grad(f))``)
hands its own NumPy calls, the rules', down to this level too, so value and
derivative end up in one straight-line program.
"""

from __future__ import annotations

import math
import operator
import sys
import threading
from collections.abc import Callable, Iterator
from types import FrameType
from typing import TYPE_CHECKING, Any

import numpy as np

from ..errors import ConversionError
from . import trace as _trace_module
from .trace import Trace, Tracer

if TYPE_CHECKING:  # annotations only: the committed trace.py may not define them yet
    from .trace import Args, Kwargs


class StagedConversionError(ConversionError):
    """A value staged by ``cr.jit`` was turned into a whole NumPy array or list.

    A replay could not check such a conversion cheaply, so it is refused; the
    message names the file and line. Keep the computation in NumPy calls, or
    mark the argument static (``static_argnums``).
    """


class Var:
    """A program variable: ``id`` indexes the program's values."""

    __slots__ = ("id",)

    def __init__(self, id: int) -> None:  # noqa: A002 - the natural name
        self.id = id

    def __repr__(self) -> str:
        return f"v{self.id}"


class Equation:
    """``outs = fn(*args, **kwargs)``; ``args``/``kwargs`` are templates in
    which ``Var`` objects stand for program values, everything else being a
    constant. ``multiple``: ``fn`` returns a tuple, one value per ``outs``.
    ``kind``: "prim" (a differentiable primitive) or "nondiff"."""

    __slots__ = (
        "fn", "name", "args", "kwargs", "outs", "multiple", "kind", "infix", "weak", "_ins"
    )  # fmt: skip

    def __init__(
        self,
        fn: Any,
        name: str,
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
        outs: tuple[int, ...] | list[int],
        multiple: bool,
        kind: str,
    ) -> None:
        self.fn = fn
        self.name = name
        self.args = args
        self.kwargs = kwargs
        self.outs = outs
        self.multiple = multiple
        self.kind = kind
        # "+", "*", ...: fn is that Python operator on two operands, one of them
        # NumPy-typed when traced (so a replay may spell it as the operator)
        self.infix: str | None = None
        # int/float/bool/complex: the result is a weakly typed Python number
        # (a Python operator on Python numbers), which a replay makes it again
        self.weak: type | None = None
        self._ins: list[int] | None = None

    def inputs(self) -> list[int]:
        """The variables it reads."""
        found = self._ins
        if found is None:
            found = []
            _vars_in(self.args, found)
            _vars_in(self.kwargs, found)
            self._ins = found
        return found


class Guard:
    """A conversion the traced path depended on: ``convert(v[var]) == value``
    (``kind`` is "bool", "int", "float", "complex", "index", "item",
    "value"), or, for
    ``kind == "shape"``, ``np.shape(v[var]) == value`` (an operation whose
    result's shape depends on values, such as boolean-mask indexing)."""

    __slots__ = ("kind", "var", "value")

    def __init__(self, kind: str, var: int, value: Any) -> None:
        self.kind = kind
        self.var = var
        self.value = value

    def inputs(self) -> list[int]:
        return [self.var]


def all_finite(x: Any) -> bool:
    """``bool(np.all(np.isfinite(x)))``, mostly without the boolean array: the
    guard a replay checks for derivative rules that take a careful path at
    infinite or NaN values (``mul0``). A sum of squares (BLAS, small arrays) or
    a sum (large ones) is finite when every entry is; only when it is not
    (an entry is not finite, or the sum overflowed) is every entry tested."""
    if type(x) is np.ndarray:
        if x.dtype.char in "fdFD" and (x.flags.c_contiguous or x.flags.f_contiguous):
            flat = x.ravel(order="K")  # a view
            if flat.size < 8192:
                s = np.vdot(flat, flat)
            else:
                with np.errstate(all="ignore"):  # an inf or NaN is what is looked for
                    s = np.add.reduce(flat)
            if math.isfinite(s.real) and math.isfinite(s.imag):
                return True
        return bool(np.isfinite(x).all())
    if type(x) is float:
        return math.isfinite(x)
    return bool(np.all(np.isfinite(x)))


CONVERT: dict[str, Callable[[Any], Any]] = {
    "bool": bool,
    "int": int,
    "float": float,
    "complex": complex,
    "index": operator.index,
    "item": lambda v: v.item(),
    "value": lambda v: v,  # a non-differentiable call that gave a Python number
    "finite": all_finite,  # np.all(np.isfinite(v)), fused (see jit's optimisation)
}


def same(a: Any, b: Any) -> bool:
    """Whether a guard's value matches: equal, of the same type, NaN matching NaN."""
    if type(a) is not type(b):
        return False
    if a == b:
        return True
    return bool(a != a and b != b)


def _vars_in(t: Any, found: list[int]) -> None:
    if type(t) is Var:
        found.append(t.id)
    elif type(t) in (list, tuple):
        for v in t:
            _vars_in(v, found)
    elif type(t) is dict:
        for v in t.values():
            _vars_in(v, found)


class StagedTracer(Tracer):
    """A staged value: its program variable and the first call's real value,
    ``_plain``. What ``strip`` reads, ``_value``, is a ``Watched`` view of it,
    made on first use (most values are never unwrapped)."""

    __slots__ = ("_var", "_plain", "_watched")

    def __init__(self, trace: StagingTrace, var: int, plain: Any) -> None:
        self._trace = trace
        self._var = var
        self._plain = plain
        self._watched = None

    @property
    def _value(self) -> Any:
        w = self._watched
        if w is None:
            w = self._watched = self._trace.watch(self._var, self._plain)
        return w

    @property
    def shape(self) -> tuple[int, ...]:
        return np.shape(self._plain)

    @property
    def ndim(self) -> int:
        return np.ndim(self._plain)

    @property
    def size(self) -> int:
        return int(np.size(self._plain))

    @property
    def dtype(self) -> np.dtype:
        return np.result_type(self._plain)

    def __len__(self) -> int:
        return len(self._plain)


_PY_NUMBER_TYPES = (int, float, bool, complex)


def _python_operator(name: str) -> Any:
    """``StagedTracer``'s operator ``name``: the same call as a tracer's, but a
    Python operator between weakly typed values (Python numbers passed as
    arguments, see ``StagingTrace.new_var``) gives a weakly typed result, as
    ``2.0 * s`` gives a Python float eagerly (``np.multiply(2.0, s)`` gives a
    strongly typed ``np.float64``: not weak)."""
    base = getattr(Tracer, name)

    def method(self: Any, *o: Any) -> Any:
        tr = self._trace
        if tr._weak and (
            not o
            or type(o[0]) in _PY_NUMBER_TYPES
            or (type(o[0]) is StagedTracer and o[0]._trace is tr)
        ):
            tr._py_op = True
            try:
                return base(self, *o)
            finally:
                tr._py_op = False
        return base(self, *o)

    method.__name__ = method.__qualname__ = name
    return method


for _name in (
    "__add__ __radd__ __sub__ __rsub__ __mul__ __rmul__ __truediv__ __rtruediv__ __pow__ "
    "__rpow__ __floordiv__ __rfloordiv__ __mod__ __rmod__ __neg__ __abs__"
).split():
    setattr(StagedTracer, _name, _python_operator(_name))


class Watched(np.ndarray):
    """The value a staged tracer hands to code that unwraps it (``strip``).

    Derivative rules and transforms unwrap traced values to compute what
    needs no derivative (a mask, a permutation, a sign) with plain NumPy;
    eagerly that is right, but in a staged program such a result would be
    frozen at its first-call value. So the unwrapped value is this view,
    whose NumPy protocols and methods record their calls in the staging
    trace (as non-differentiable equations) and whose conversions to Python
    values record guards. Arrays derived from it in a way not recorded
    (``__array_finalize__`` sees them) have no variable (``_v`` None): using
    one marks the trace unusable, and ``jit`` then runs that signature eagerly.
    """

    _st: Any = None
    _v: int | None = None
    _p: Any = None

    def __array_finalize__(self, obj: Any) -> None:
        self._st = getattr(obj, "_st", None)
        self._v = None
        self._p = None

    def __array_ufunc__(self, ufunc: Any, method: str, *inputs: Any, **kwargs: Any) -> Any:
        if _find_tracer(inputs) or _find_tracer(kwargs):
            # A traced operand takes the call (this value stays recorded in
            # it); answering here would freeze this value at its first call.
            return NotImplemented
        fn = ufunc if method == "__call__" else getattr(ufunc, method)
        name = ufunc.__name__ if method == "__call__" else f"{ufunc.__name__}.{method}"
        return _watched_call(fn, name, inputs, kwargs)

    def __array_function__(  # type: ignore[override]  # NumPy passes a tuple and a dict
        self, func: Any, types: Any, args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> Any:
        if func in _METADATA:
            return func(*_plain_tree(args), **_plain_tree(kwargs))
        if _find_tracer(args) or _find_tracer(kwargs):
            return NotImplemented  # as in __array_ufunc__: the traced operand takes it
        return _watched_call(func, _fn_name(func), args, kwargs)

    def _convert(self, kind: str) -> Any:
        st = _owner(self)
        if st is None:
            return CONVERT[kind](_plain_of(self))
        if self._v is None:
            st.taint("a converted array of unknown origin")
            return CONVERT[kind](_plain_of(self))
        value = CONVERT[kind](self._p)
        st.body.append(Guard(kind, self._v, value))
        return value

    def __bool__(self) -> bool:
        return self._convert("bool")  # type: ignore[no-any-return]

    def __int__(self) -> int:
        return self._convert("int")  # type: ignore[no-any-return]

    def __float__(self) -> float:
        return self._convert("float")  # type: ignore[no-any-return]

    def __complex__(self) -> complex:
        return self._convert("complex")  # type: ignore[no-any-return]

    def __index__(self) -> int:
        return self._convert("index")  # type: ignore[no-any-return]

    def item(self, *args: Any) -> Any:
        if args:
            return _watched_call(np.ndarray.item, "item", (self, *args), {})
        return self._convert("item")

    def tolist(self) -> Any:
        st = _owner(self)
        if st is not None:
            st.taint(".tolist() of an unwrapped staged value")
        return _plain_of(self).tolist()

    def __getitem__(self, idx: Any) -> Any:
        return _watched_call(operator.getitem, "getitem", (self, idx), {})

    def __setitem__(self, idx: Any, value: Any) -> None:
        st = _owner(self)
        if st is not None:
            st.taint("an in-place change of an unwrapped staged value")
        np.ndarray.__setitem__(self, idx, value)

    def __iter__(self) -> Any:
        if self.ndim == 0:
            raise TypeError("iteration over a 0-d array")
        return (self[i] for i in range(len(self)))

    def astype(self, *args: Any, **kwargs: Any) -> Any:
        return _watched_call(np.ndarray.astype, "astype", (self, *args), kwargs)

    def copy(self, *args: Any, **kwargs: Any) -> Any:
        return _watched_call(np.ndarray.copy, "copy", (self, *args), kwargs)

    def view(self, *args: Any, **kwargs: Any) -> Any:
        if not args and not kwargs:
            return self
        return _watched_call(np.ndarray.view, "view", (self, *args), kwargs)

    @property
    def T(self) -> Any:
        return _watched_call(np.transpose, "transpose", (self,), {})

    @property  # type: ignore[misc]  # read-only, like a tracer's
    def real(self) -> Any:
        return _watched_call(np.real, "real", (self,), {})

    @property  # type: ignore[misc]
    def imag(self) -> Any:
        return _watched_call(np.imag, "imag", (self,), {})

    def __reduce_ex__(self, protocol: Any) -> Any:
        st = _owner(self)
        if st is not None:
            st.taint("pickling an unwrapped staged value")
        return _plain_of(self).__reduce_ex__(protocol)


def _method_via_function(name: str) -> Any:
    fn = getattr(np, name)

    def method(self: Any, *args: Any, **kwargs: Any) -> Any:
        return fn(self, *args, **kwargs)  # through __array_function__

    method.__name__ = name
    return method


# ndarray methods that NumPy also offers as functions: through the function
# (and so __array_function__), not the C method, which would not be seen.
for _name in (
    "all any argmax argmin argpartition argsort choose clip compress conj conjugate cumprod "
    "cumsum diagonal dot flatten max mean min nonzero prod ptp ravel repeat reshape round "
    "searchsorted squeeze std sum swapaxes take trace transpose var"
).split():
    if hasattr(np, _name) and _name != "flatten":
        setattr(Watched, _name, _method_via_function(_name))
Watched.flatten = lambda self, order="C": np.ravel(self, order=order).copy()  # type: ignore[method-assign]
Watched.reshape = lambda self, *s, **k: np.reshape(  # type: ignore[method-assign]
    self, s[0] if len(s) == 1 else s, **k
)
Watched.transpose = lambda self, *a: np.transpose(  # type: ignore[method-assign]
    self, (a[0] if len(a) == 1 else a) if a else None
)

# Answers that depend only on shape and dtype, which the signature fixes.
_METADATA = {np.shape, np.ndim, np.size, np.result_type, np.iscomplexobj, np.isrealobj}


def _owner(w: Watched) -> Any:
    st = w._st
    return st if st is not None and st.active else None


def _plain_of(w: Any) -> Any:
    if type(w) is Watched:
        return w._p if w._p is not None else w.view(np.ndarray)
    return w


def _plain_tree(x: Any) -> Any:
    if type(x) is Watched:
        return _plain_of(x)
    if type(x) in (list, tuple):
        return type(x)(_plain_tree(v) for v in x)
    if type(x) is dict:
        return {k: _plain_tree(v) for k, v in x.items()}
    return x


def _find_owner(x: Any) -> Any:
    if type(x) is Watched:
        return _owner(x)
    if type(x) in (list, tuple):
        for v in x:
            st = _find_owner(v)
            if st is not None:
                return st
    elif type(x) is dict:
        return _find_owner(list(x.values()))
    return None


def _watched_call(fn: Any, name: str, args: Any, kwargs: dict[str, Any]) -> Any:
    """A NumPy call on unwrapped staged values: recorded while the staging
    trace is open, plain afterwards."""
    st = _find_owner(args) or _find_owner(kwargs)
    if st is None:
        return fn(*_plain_tree(args), **_plain_tree(kwargs))
    if _find_tracer(args) or _find_tracer(kwargs):
        # a traced value among them: let its own protocol take the call
        return fn(*_plain_tree(args), **_plain_tree(kwargs))  # pragma: no cover
    if kwargs.get("out") is not None:
        st.taint(f"numpy.{name} writing into out=")
        return fn(*_plain_tree(args), **_plain_tree(kwargs))
    return st.record_plain(fn, name, args, kwargs)


def _find_tracer(x: Any) -> bool:
    if isinstance(x, Tracer):
        return True
    if type(x) in (list, tuple):
        return any(_find_tracer(v) for v in x)
    if type(x) is dict:
        return any(_find_tracer(v) for v in x.values())
    return False


def array_constants(t: Any) -> Iterator[Any]:
    """The NumPy arrays and scalars (booleans aside) inside the lists, tuples
    and dicts ``t``, in order, each as often as it appears."""
    if isinstance(t, (np.ndarray, np.generic)) and not isinstance(t, np.bool_):
        yield t
    elif type(t) in (list, tuple):
        for v in t:
            yield from array_constants(v)
    elif type(t) is dict:
        for v in t.values():
            yield from array_constants(v)


class Program:
    """A staged function: ``n_in`` input variables (numbered first), the
    equations and guards in the order they ran, and the outputs (a tree
    definition and its leaves: ``Var`` or constants)."""

    def __init__(
        self,
        n_in: int,
        body: list[Any],
        n_vars: int,
        out_tree: Any,
        out_leaves: list[Any],
        big: Any = frozenset(),
    ) -> None:
        # variables holding large arrays (freed early by a replay, their
        # buffers reused): variable -> (shape, dtype)
        self.big = big
        self.n_in = n_in
        self.body = body
        self.n_vars = n_vars
        self.out_tree = out_tree
        self.out_leaves = out_leaves

    @property
    def equations(self) -> list[Equation]:
        return [e for e in self.body if type(e) is Equation]

    @property
    def guards(self) -> list[Guard]:
        return [e for e in self.body if type(e) is Guard]

    def constants(self) -> list[Any]:
        """The constant arrays the program holds (closed-over arrays, seeds, folded values)."""
        found: dict[int, Any] = {}
        for e in self.body:
            if type(e) is Equation:
                for c in array_constants((e.args, e.kwargs)):
                    found.setdefault(id(c), c)
        for c in array_constants(self.out_leaves):
            found.setdefault(id(c), c)
        return list(found.values())

    def __str__(self) -> str:
        consts: dict[int, str] = {}
        for c in self.constants():
            consts[id(c)] = f"c{len(consts)}"

        def show(t: Any) -> str:
            if type(t) is Var:
                return repr(t)
            if id(t) in consts:
                return consts[id(t)]
            if type(t) is list:
                return "[" + ", ".join(show(v) for v in t) + "]"
            if type(t) is tuple:
                return "(" + ", ".join(show(v) for v in t) + ("," if len(t) == 1 else "") + ")"
            if type(t) is dict:
                return "{" + ", ".join(f"{k!r}: {show(v)}" for k, v in t.items()) + "}"
            return _short(t)

        ins = ", ".join(f"v{i}" for i in range(self.n_in))
        lines = [f"program ({ins}):"]
        for e in self.body:
            if type(e) is Guard:
                if e.kind == "shape":
                    lines.append(f"  guard shape(v{e.var}) == {e.value!r}")
                else:
                    lines.append(f"  guard {e.kind}(v{e.var}) == {e.value!r}")
                continue
            outs = ", ".join(f"v{o}" for o in e.outs)
            args = [show(a) for a in e.args] + [f"{k}={show(v)}" for k, v in e.kwargs.items()]
            tag = "" if e.kind == "prim" else "   # not differentiable"
            if e.weak is not None:
                tag += f"   # a Python {e.weak.__name__} (weakly typed)"
            lines.append(f"  {outs} = {e.name}({', '.join(args)}){tag}")
        lines.append("  return " + ", ".join(show(o) for o in self.out_leaves))
        if consts:
            lines.append("constants:")
            for c in self.constants():
                lines.append(f"  {consts[id(c)]}: {_describe(c)}")
        return "\n".join(lines)

    __repr__ = __str__


def _short(x: Any) -> str:
    if isinstance(x, (np.ndarray, np.generic)):
        return _describe(x)
    r = repr(x)
    return r if len(r) <= 40 else r[:37] + "..."


def _describe(c: Any) -> str:
    if np.ndim(c) == 0 or np.size(c) <= 4:
        return f"{np.asarray(c).dtype}{list(np.shape(c))} {np.asarray(c).tolist()!r}"
    return f"{c.dtype}{list(c.shape)}"


def _fn_name(fn: Any) -> str:
    name = getattr(fn, "__name__", None) or type(fn).__name__
    if isinstance(fn, np.ufunc):
        return name
    return str(name)


_NUMPY_VALUES = (np.ndarray, np.generic)
_INFIX_CACHE: dict[Any, str] = {}  # primitive -> its operator symbol, "" for none
_INFIX = {operator.add: "+", operator.sub: "-", operator.mul: "*", operator.truediv: "/"}


def _infix_of(impl: Any) -> str | None:
    """The operator symbol of a primitive implemented by a Python operator
    (rules/elementwise.py wraps them), else None."""
    if impl is np.matmul:
        return "@"
    if getattr(impl, "__qualname__", "") != "_numpy_typed.<locals>.impl":
        return None
    cells = getattr(impl, "__closure__", None)
    if not cells or len(cells) != 1:
        return None
    try:
        op = cells[0].cell_contents
        return _INFIX.get(op)
    except (ValueError, TypeError):
        return None


def user_frame() -> tuple[str, int]:
    """The file and line of the innermost frame outside chainrule (and NumPy)."""
    f: FrameType | None = sys._getframe(1)
    while f is not None:
        mod = f.f_globals.get("__name__") or ""
        if not (mod == "chainrule" or mod.startswith(("chainrule.", "numpy"))):
            return f.f_code.co_filename, f.f_lineno
        f = f.f_back
    return "<unknown>", 0


_SCALARS = (int, float, bool, complex, str, type(None))


def _python_type(x: Any) -> type:
    """The Python number type of a scalar result."""
    if type(x) in _PY_NUMBER_TYPES:
        return type(x)
    return {"b": bool, "i": int, "u": int, "f": float, "c": complex}.get(x.dtype.kind, float)


def _numpy_scalar(v: Any) -> Any:
    """A Python number as the NumPy scalar that stands for it while staging
    (NumPy scalars have identities the staging trace can follow)."""
    t = type(v)
    if t is bool:
        return np.bool_(v)
    if t is int:
        return np.int64(v)
    if t is float:
        return np.float64(v)
    if t is complex:
        return np.complex128(v)
    return v


def _key_of(t: Any, keep: list[Any]) -> Any:
    """A hashable key of an argument template, for common-subexpression elimination."""
    tt = type(t)
    if tt is Var:
        return ("v", t.id)
    if tt in _SCALARS:
        return (tt, repr(t))  # repr: -0.0 and 0.0 differ, 1 and 1.0 and True too
    if tt in (list, tuple):
        return (tt, tuple(_key_of(v, keep) for v in t))
    if tt is dict:
        return (tt, tuple((k, _key_of(v, keep)) for k, v in t.items()))
    if isinstance(t, (type, np.dtype)):
        return ("t", t)
    keep.append(t)  # an array or other object: the same object only
    return ("o", id(t))


# Arrays of at least this many elements are deleted after their last use in
# a replay; smaller values are not worth a line of the generated code.
BIG = 1024

_open_lock = threading.Lock()
_open_count = 0


def _untraced_primitive(prim: Any, args: Any, kwargs: dict[str, Any]) -> Any:
    """``bind`` of a primitive on no tracer (core/trace.py's hook while a
    staging trace is open): recorded if an unwrapped staged value is among
    the arguments (a rule's index or mask), else applied as usual."""
    st = _find_owner(args) or (_find_owner(kwargs) if kwargs else None)
    if st is None:
        return prim.impl(*args, **kwargs)
    return st.process_primitive(prim, args, kwargs)


class StagingTrace(Trace):
    """Records every NumPy call on its tracers; see the module docstring."""

    def __enter__(self) -> StagingTrace:
        global _open_count
        with _open_lock:
            _open_count += 1
            _trace_module.untraced = _untraced_primitive
        super().__enter__()
        return self

    def __exit__(self, *exc_info: Any) -> None:
        global _open_count
        super().__exit__(*exc_info)
        with _open_lock:
            _open_count -= 1
            if _open_count == 0:
                _trace_module.untraced = None

    __slots__ = (
        "body", "n_vars", "_cse", "_by_id", "_keep", "_ints", "tainted", "big", "_weak",
        "_py_op", "types", "saw_isfinite", "_vars",
    )  # fmt: skip

    def __init__(self) -> None:
        super().__init__()
        self.body: list[Any] = []
        self.n_vars = 0
        self._cse: dict[Any, Any] = {}
        # id of the real value of each staged NumPy value -> its variable: a
        # rule that unwrapped a tracer's plain value and passes it on still
        # refers to the variable, not to a frozen constant.
        self._by_id: dict[int, int] = {}
        self._keep: list[Any] = []  # keeps those values (and so their ids) alive while tracing
        self._ints: set[int] = set()  # variables holding integer or boolean values
        self.tainted: str | None = None  # why this trace cannot be replayed, if it cannot
        # variables holding arrays worth freeing early -> (shape, dtype)
        self.big: dict[int, tuple[tuple[int, ...], Any]] = {}
        # Weakly typed variables -> their Python type: Python numbers passed as
        # arguments, and Python operators on them only. A replay holds them as
        # Python numbers, and so does every computation here, so that
        # float32_array * s stays float32 as NumPy's rules for Python scalars say.
        self._weak: dict[int, type] = {}
        self._py_op = False  # the call being recorded is a Python operator (see above)
        # (shape, dtype) of each variable, when asked for (a program to show)
        self.types: list[tuple[tuple[int, ...], str]] | None = None
        self.saw_isfinite = False  # an isfinite call was recorded (see jit's guard fusion)
        self._vars: list[Var] = []  # one Var object per variable (keys compare them by identity)

    def taint(self, why: str) -> None:
        """Mark the program as not replayable (a value escaped the recording)."""
        if self.tainted is None:
            self.tainted = why

    def new_var(self, plain: Any, weak: type | None = None) -> StagedTracer:
        """A new variable whose first-call value is ``plain``; ``weak``: the
        Python type of a weakly typed one (``plain`` is then a NumPy scalar,
        so that code unwrapping it is still followed)."""
        var = self.n_vars
        self.n_vars = var + 1
        self._vars.append(Var(var))
        if weak is not None:
            self._weak[var] = weak
        if self.types is not None:
            self.types.append((np.shape(plain), str(np.result_type(plain))))
        tv = type(plain)
        if tv is np.float64:  # the commonest scalar
            self._by_id[id(plain)] = var
            self._keep.append(plain)
        elif tv is np.ndarray:
            if plain.dtype.kind in "biu":
                self._ints.add(var)
            if plain.size >= BIG:
                self.big[var] = (plain.shape, plain.dtype)
            self._by_id[id(plain)] = var
            self._keep.append(plain)
        elif isinstance(plain, np.generic):
            if plain.dtype.kind in "biu":
                self._ints.add(var)
            if tv is not np.bool_:  # np.True_/np.False_ are shared: not those
                self._by_id[id(plain)] = var
                self._keep.append(plain)
        return StagedTracer(self, var, plain)

    def watch(self, var: int, plain: Any) -> Any:
        """The ``Watched`` view of a variable's value (see ``Watched``)."""
        if not isinstance(plain, (np.ndarray, np.generic)) or not self.active:
            return plain
        arr = np.asarray(plain)
        if arr is not plain:  # a NumPy scalar's 0-d array: np.asarray of it again
            self._by_id[id(arr)] = var
            self._keep.append(arr)
        w = arr.view(Watched)
        w._st = self
        w._v = var
        w._p = plain
        self._by_id[id(w)] = var
        self._keep.append(w)
        return w

    # -- turning arguments into templates ---------------------------------
    def _template(self, x: Any) -> tuple[Any, Any]:
        """(template, real value) of an argument."""
        if isinstance(x, Tracer):
            if x._trace is not self:  # pragma: no cover - staging is the outermost level
                raise RuntimeError("cr.jit: a value of another transform reached the staging trace")
            w = self._weak.get(x._var) if self._weak else None
            return Var(x._var), (x._plain if w is None else w(x._plain))
        tx = type(x)
        if tx is Watched:
            if x._v is None or x._st is not self:
                self.taint("an unwrapped staged array derived in a way not recorded")
                return x, x.view(np.ndarray)
            w = self._weak.get(x._v) if self._weak else None
            return Var(x._v), (x._p if w is None else w(x._p))
        if tx is np.ndarray or isinstance(x, np.generic):
            var = self._by_id.get(id(x))
            if var is None and tx is np.ndarray and x.base is not None:
                var = self._by_id.get(id(x.base))  # np.asarray(unwrapped value): a view of it
                b = x.base
                if var is not None and not (
                    b.shape == x.shape
                    and b.strides == x.strides
                    and b.dtype == x.dtype
                    and b.__array_interface__["data"][0] == x.__array_interface__["data"][0]
                ):
                    var = None
            if var is None:
                return x, x
            w = self._weak.get(var) if self._weak else None
            return Var(var), (x if w is None else w(x))
        if tx in (list, tuple):
            pairs = [self._template(v) for v in x]
            return tx(p[0] for p in pairs), tx(p[1] for p in pairs)
        if tx is dict:
            pairs_d = {k: self._template(v) for k, v in x.items()}
            return {k: p[0] for k, p in pairs_d.items()}, {k: p[1] for k, p in pairs_d.items()}
        return x, x

    def _record(
        self, fn: Any, name: str, args: Any, kwargs: Kwargs, multiple: bool, kind: str
    ) -> Any:
        keep: list[Any] = []
        ins: list[Any] | None = None
        py_op = self._py_op
        self._py_op = False  # (the calls the operator makes are not the operator)
        weak = self._weak
        weak_in = False  # some operand is weakly typed
        all_weak = True  # every operand is weakly typed (a weak var or a Python number)
        if not kwargs:
            # The common call, written out: staged values and Python scalars.
            # The key of a call is its function and template (one Var object
            # per variable), plus the exact type and bits of each scalar (1,
            # 1.0 and True, 0.0 and -0.0 are equal but not the same call).
            ins = []
            targs_l: list[Any] = []
            vargs_l: list[Any] = []
            scalars: list[Any] | None = None
            vars_ = self._vars
            for a in args:
                ta = type(a)
                if ta is StagedTracer and a._trace is self:
                    v = a._var
                    targs_l.append(vars_[v])
                    w = weak.get(v) if weak else None
                    if w is None:
                        vargs_l.append(a._plain)
                        all_weak = False
                    else:
                        vargs_l.append(w(a._plain))
                        weak_in = True
                    ins.append(v)
                elif ta is float:
                    targs_l.append(a)
                    vargs_l.append(a)
                    if scalars is None:
                        scalars = []
                    scalars.append(a.hex())
                elif ta in _SCALARS:
                    targs_l.append(a)
                    vargs_l.append(a)
                    if scalars is None:
                        scalars = []
                    scalars.append(ta)
                else:
                    ins = None
                    break
        if ins is not None:
            targs: Any = tuple(targs_l)
            vargs: Any = vargs_l
            tkw: Any = {}
            vkw: Any = {}
            # a Python operator on weak values only: a weak result (a Python number)
            weak_out = py_op and weak_in and all_weak and not multiple
            key: Any = (fn, targs) if scalars is None else (fn, targs, tuple(scalars))
            if weak_out:
                key = (key, True)
        else:
            weak_out = False
            targs, vargs = self._template(tuple(args))
            tkw, vkw = self._template(kwargs) if kwargs else ({}, {})
            try:
                key = (fn, _key_of(targs, keep), _key_of(tkw, keep))
                hash(key)
            except TypeError:
                key = None
        if key is not None:
            found = self._cse.get(key)
            if found is not None:
                return found
        ans = fn(*vargs, **vkw)
        if isinstance(ans, Tracer):  # pragma: no cover - an impl that re-entered tracing
            raise RuntimeError(f"cr.jit: {name} returned a traced value")
        if multiple:
            outs = [self.new_var(a) for a in ans]
            result: Any = tuple(outs)
            out_vars: Any = tuple([o._var for o in outs])
        elif weak_out and isinstance(ans, (*_PY_NUMBER_TYPES, np.generic)):
            wt = _python_type(ans)
            result = self.new_var(_numpy_scalar(wt(ans)), wt)
            out_vars = (result._var,)
        else:
            weak_out = False
            result = self.new_var(ans)
            out_vars = (result._var,)
        eqn = Equation(fn, name, targs, tkw, out_vars, multiple, kind)
        eqn._ins = ins
        if weak_out:
            eqn.weak = self._weak[out_vars[0]]
        self.body.append(eqn)
        if key is not None:
            self._cse[key] = result
            if keep:  # the arrays whose ids the key holds: alive while tracing
                self._keep.extend(keep)
        return result

    # -- the doors ---------------------------------------------------------
    def process_primitive(self, prim: Any, args: Args, kwargs: Kwargs) -> Any:
        body = self.body
        n_eqns = len(body)
        two = len(args) == 2 and not kwargs
        if two and prim.name == "multiply":
            same_value = self._times_one(args)
            if same_value is not None:
                return same_value
        out = self._record(prim.impl, prim.name, args, kwargs, prim.multiple_results, "prim")
        if len(body) == n_eqns:  # shared with an earlier equation (CSE)
            return out
        if two:
            op = _INFIX_CACHE.get(prim)
            if op is None:
                op = _INFIX_CACHE[prim] = _infix_of(prim.impl) or ""
            if op and (self._numpy_typed(args[0]) or self._numpy_typed(args[1])):
                body[-1].infix = op
        if self._ints and self._depends_on_ints(body[-1]):
            for o in out if prim.multiple_results else (out,):
                body.append(Guard("shape", o._var, np.shape(o._plain)))
        return out

    def _numpy_typed(self, a: Any) -> bool:
        """Whether an operand is a NumPy value in a replay (a weakly typed
        variable is a Python number there)."""
        if type(a) is StagedTracer:
            return a._var not in self._weak and isinstance(a._plain, _NUMPY_VALUES)
        return isinstance(a, _NUMPY_VALUES)

    def process_nondiff(self, fn: Any, args: Args, kwargs: Kwargs) -> Any:
        return self._nondiff(fn, _fn_name(fn), args, kwargs, False)

    def record_plain(self, fn: Any, name: str, args: Any, kwargs: dict[str, Any]) -> Any:
        """A NumPy call on unwrapped values (``Watched``): recorded, and its
        results handed back unwrapped too."""
        return self._nondiff(fn, name, args, kwargs, True)

    def _nondiff(self, fn: Any, name: str, args: Any, kwargs: dict[str, Any], plain: bool) -> Any:
        if fn is np.isfinite:
            self.saw_isfinite = True
        _, vargs = self._template(tuple(args))
        _, vkw = self._template(kwargs)
        probe = fn(*vargs, **vkw)  # to learn what kind of result it gives
        if isinstance(probe, tuple) and all(isinstance(p, (np.ndarray, np.generic)) for p in probe):
            out = self._record(fn, name, args, kwargs, True, "nondiff")
            outs = out
        elif isinstance(probe, (np.ndarray, np.generic)):
            out = self._record(fn, name, args, kwargs, False, "nondiff")
            outs = (out,)
        elif isinstance(probe, (bool, int, float, complex)):
            # a Python number (np.array_equal, np.ndim): its value is a guard
            out = self._record(fn, name, args, kwargs, False, "nondiff")
            if not any(type(e) is Guard and e.var == out._var for e in self.body[-2:]):
                self.body.append(Guard("value", out._var, probe))
            return probe
        elif probe is None or isinstance(probe, (np.dtype, type, str)):
            return probe  # a dtype, a type: fixed by the signature
        else:
            if isinstance(probe, tuple) and all(type(p) is int for p in probe):
                return probe  # a shape: fixed by the signature
            self.taint(f"numpy.{name} gave a {type(probe).__name__}")
            return probe
        if not isinstance(fn, np.ufunc):  # nonzero, unique, ...: result shapes follow values
            for o in outs:
                if not isinstance(o._plain, np.generic):  # a scalar (all, argmax) is always 0-d
                    self.body.append(Guard("shape", o._var, np.shape(o._plain)))
        if plain:
            return tuple(o._value for o in outs) if isinstance(out, tuple) else out._value
        return out

    def process_conversion(self, kind: str, x: Any) -> Any:
        if kind in CONVERT:
            value = CONVERT[kind](x._plain)
            self.body.append(Guard(kind, x._var, value))
            return value
        file, line = user_frame()
        what = {
            "tolist": ".tolist()",
            "array": "Converting it to a NumPy array (np.asarray, np.array, a[i] = x)",
        }.get(kind, kind)
        raise StagedConversionError(
            f"{what} on a value staged by cr.jit, at {file}:{line}: a replay could not check "
            "the whole array it would give. Keep the computation in NumPy calls on the value, "
            "convert single numbers with float()/int()/bool() (those become guards), or mark "
            "the argument static with static_argnums/static_argnames."
        )

    def process_custom_vjp(self, call: Any) -> Any:
        # Only the value is needed here: run the function's inside.
        return call.plain()

    process_custom_jvp = process_custom_vjp

    def _times_one(self, args: tuple[Any, ...] | list[Any]) -> Any:
        """``x * ones`` (a broadcast seed) with the shape, dtype and type of
        ``x``: exactly ``x``, so nothing is recorded."""
        a, b = args
        x, c = (a, b) if isinstance(a, StagedTracer) else (b, a)
        if not isinstance(x, StagedTracer) or isinstance(c, Tracer):
            return None
        if type(c) is not np.ndarray and not (isinstance(c, np.generic) and type(c) is not Watched):
            return None
        if id(c) in self._by_id:
            return None
        v = x._plain
        if type(v) is not np.ndarray or c.dtype != v.dtype or np.size(c) > np.size(v):
            return None
        if np.broadcast_shapes(np.shape(c), v.shape) != v.shape or not np.all(c == 1):
            return None
        return x

    def _depends_on_ints(self, eqn: Equation) -> bool:
        """Whether a staged integer or boolean value is an operand (an index,
        a mask, a repeat count): the result's shape may follow its values."""
        ints = self._ints
        if not ints:
            return False
        for v in eqn.inputs():
            if v in ints:
                return True
        return False
