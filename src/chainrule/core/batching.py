"""The batching trace behind ``cr.vmap``.

A ``BatchTracer`` holds a value whose axis 0 is the batch; it reports the
shape of *one* example, so the user's code (and every rule written for one
example) sees the shapes it expects. Each primitive meeting a batched value
goes through ``BatchTrace.process_primitive``, which calls the primitive's
batching rule (chainrule/rules/batching_rules.py) on the batched values. A
primitive without a rule is run once per example in a Python loop and the
results stacked: slow, never wrong, and announced once per primitive with a
``BatchingFallbackWarning``.

Values are handed down with ``bind``, so when a batched value is itself
traced by a lower level (``grad(vmap(f))``) that level records the batched
computation, and a batched value inside a higher level (``vmap(grad(f))``)
is just another value to it: the batch trace is one more level.
"""

from __future__ import annotations

import math
import warnings
from typing import TYPE_CHECKING, Any

import numpy as np

from .. import tree
from ..errors import BatchedControlFlowError, BatchingFallbackWarning
from .registry import FUNCTIONS, NONDIFF
from .trace import Trace, Tracer, bind, strip

if TYPE_CHECKING:  # annotations only: the committed trace.py may not define them yet
    from .trace import Args, Kwargs

_shape = np.ndarray.shape.__get__


class Batched(np.ndarray):
    """A plain array carrying vmap batch axes in front, as ``strip`` sees a
    batched value: ``_traces`` names the batch traces of its leading axes,
    outermost first. Its computations (NumPy's C code) run on the whole
    batch, while ``shape``/``ndim``/``size``/``len`` describe one example,
    like the tracer it came from. The rules strip values to compute masks and
    shapes (``np.where`` strips its condition, ``grad`` reads the output's
    shape); the mark lets the batching rules recognise the batch axes of such
    a mask, and keeps shape bookkeeping per example."""

    _traces: tuple[Any, ...] = ()

    def __array_finalize__(self, obj: Any) -> None:
        self._traces = getattr(obj, "_traces", ())

    @property  # type: ignore[misc]  # read-only here, per example
    def shape(self) -> tuple[int, ...]:
        return _shape(self)[len(self._traces) :]  # type: ignore[no-any-return]

    @property
    def ndim(self) -> int:
        return len(_shape(self)) - len(self._traces)

    @property
    def size(self) -> int:
        return math.prod(self.shape)

    def __len__(self) -> int:
        shape = self.shape
        if not shape:
            raise TypeError("len() of unsized object (one example of this batch is a scalar)")
        return int(shape[0])

    # Rules compute with stripped values (masks, zero tests): the batch must
    # line up with the other operands' axes as for one example, and the
    # result keeps the mark.
    def __array_ufunc__(self, ufunc: Any, method: str, *inputs: Any, **kwargs: Any) -> Any:
        if len(inputs) == 1 and method == "__call__" and not kwargs and ufunc.nout == 1:
            # the commonest: a test of one stripped value (np.isfinite in mul0)
            return mark_as(ufunc(self.view(np.ndarray)), self._traces)
        if any(isinstance(a, Tracer) for a in inputs):
            return NotImplemented  # the tracer's own protocol takes marks into account
        if method == "__call__" and "out" not in kwargs:
            traces, aligned = _align_plain(inputs)
            ans = ufunc(*aligned, **kwargs)
            if isinstance(ans, tuple):
                return tuple(mark_as(a, traces) for a in ans)
            return mark_as(ans, traces)
        if method == "__call__" and ufunc.nout == 1 and "out" in kwargs:
            # np.divide(1.0, count, out=zeros, where=count > 0) on marks: the
            # batched result, selected where asked, written into a batched out
            out = kwargs.pop("out")
            out = out[0] if isinstance(out, tuple) else out
            where = kwargs.pop("where", True)
            ans = self.__array_ufunc__(ufunc, method, *inputs, **kwargs)
            if where is not True:
                ans = np.where(where, ans, out)
            target = unmark(out)
            if type(out) is not Batched or _shape(target) != _shape(unmark(ans)):
                raise TypeError(
                    f"cr.vmap: numpy.{ufunc.__name__}(..., out=) of values that carry the "
                    "batch needs an out that carries it too; write out = f(...) instead"
                )
            np.copyto(target, unmark(ans))
            return out
        if method == "reduce" and len(inputs) == 1 and "out" not in kwargs:
            x = inputs[0]
            axis = kwargs.pop("axis", 0)
            if axis is None:
                return ufunc.reduce(x.view(np.ndarray), axis=None, **kwargs)
            # per example: the example's axes come after the batch axes
            k, nd = len(x._traces), x.ndim
            axes = tuple(axis) if isinstance(axis, (tuple, list)) else (axis,)
            if all(-nd <= a < nd for a in axes) and "where" not in kwargs:
                shifted = tuple(a % nd + k for a in axes)
                return mark_as(ufunc.reduce(x.view(np.ndarray), axis=shifted, **kwargs), x._traces)
            return through_trace(_ReduceCall(ufunc, kwargs), (x, axis), {})
        if method == "at":  # an index or values carrying the batch, into a plain array
            raise TypeError(
                f"cr.vmap: numpy.{ufunc.__name__}.at with an index or values that carry the "
                "batch writes into an array that does not: build the result with cr.at(x) "
                "or np.bincount instead"
            )
        plain = [unmark(a) for a in inputs]
        return getattr(ufunc, method)(*plain, **kwargs)

    def __array_function__(  # type: ignore[override]  # NumPy passes a tuple and a dict
        self, func: Any, types: Any, args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> Any:
        if func in _WHOLE_BATCH_TESTS and kwargs.get("axis") is None and len(types) == 1:
            # a test of the whole batch (the rules' fast-path checks: np.any(zero))
            return func(*[unmark(a) for a in args], **kwargs)
        if any(issubclass(t, Tracer) for t in types):
            return NotImplemented
        if func in _PER_EXAMPLE:  # shapes answered for one example
            return func(*[_one_example(a) for a in args], **kwargs)
        if func in _WHOLE_BATCH_TESTS and kwargs.get("axis") is None:
            return func(*[unmark(a) for a in args], **kwargs)
        rule = MARK_RULES.get(func)
        if rule is not None:
            ans = rule(func, args, kwargs)
            if ans is not NotImplemented:
                return ans
        if (func in FUNCTIONS or func in NONDIFF) and func not in _in_progress:
            _in_progress.add(func)  # a rule stripping its marks again ends in NumPy's own
            try:
                return through_trace(func, args, kwargs)
            finally:
                _in_progress.discard(func)
        plain_args = [unmark(a) for a in args]
        plain_kwargs = {k: unmark(v) for k, v in kwargs.items()}
        return func(*plain_args, **plain_kwargs)

    # ndarray methods that take per-example shapes, axes or indices
    def reshape(self, *shape: Any, order: str = "C") -> Any:  # type: ignore[override]
        return through_trace(np.reshape, (self, shape[0] if len(shape) == 1 else shape), {})

    def transpose(self, *axes: Any) -> Any:
        axes_arg = axes[0] if len(axes) == 1 else (axes or None)
        return through_trace(np.transpose, (self, axes_arg), {})

    @property
    def T(self) -> Any:
        return through_trace(np.transpose, (self,), {})

    def __getitem__(self, idx: Any) -> Any:
        return through_trace(np.ndarray.__getitem__, (self, idx), {})

    def squeeze(self, axis: Any = None) -> Any:
        return through_trace(np.squeeze, (self,), {"axis": axis})

    def ravel(self, order: str = "C") -> Any:  # type: ignore[override]
        return through_trace(np.ravel, (self,), {})

    flatten = ravel  # type: ignore[assignment]

    def swapaxes(self, a: int, b: int) -> Any:  # type: ignore[override]
        return through_trace(np.swapaxes, (self, a, b), {})

    def sum(  # type: ignore[override]
        self, axis: Any = None, dtype: Any = None, out: Any = None, keepdims: bool = False
    ) -> Any:
        if axis is None or out is not None:
            return np.add.reduce(self.view(np.ndarray), axis=None, dtype=dtype, out=out)
        return through_trace(np.sum, (self,), {"axis": axis, "keepdims": keepdims})


class _ReduceCall:
    """``ufunc.reduce`` as a function for ``through_trace`` (one per call)."""

    def __init__(self, ufunc: Any, kwargs: dict[str, Any]) -> None:
        self.ufunc, self.kwargs = ufunc, kwargs

    def __call__(self, x: Any, axis: Any) -> Any:
        return self.ufunc.reduce(x, axis=axis, **self.kwargs)


def as_tracer(a: Any, traces: tuple[Any, ...]) -> Any:
    """The plain array ``a`` with batch axes for ``traces`` as nested tracers."""
    v = a
    for t in traces:
        v = BatchTracer(v, t)
    return v


def through_trace(func: Any, args: Any, kwargs: dict[str, Any]) -> Any:
    """``func`` on arguments some of which are marked batched plain arrays,
    batched as ``vmap`` would: the marks become the tracers they came from."""

    def wrap(a: Any) -> Any:
        if type(a) is Batched:
            return as_tracer(a.view(np.ndarray), a._traces)
        if type(a) in (list, tuple):
            return type(a)(wrap(v) for v in a)
        return a

    if isinstance(func, _ReduceCall):  # on the tracer: its ufunc protocol batches it
        impl: Any = func
    else:
        impl = FUNCTIONS.get(func, func)
    out = impl(*[wrap(a) for a in args], **{k: wrap(v) for k, v in kwargs.items()})

    def unwrap(o: Any) -> Any:
        if isinstance(o, BatchTracer):
            return strip(o)  # the mark of its batch axes
        if type(o) in (list, tuple):
            return type(o)(unwrap(v) for v in o)
        return o

    return unwrap(out)


def per_example_marked(impl: Any, *args: Any) -> Any:
    """``impl`` (a primitive's implementation) of arguments some of which are
    batch marks: once per example, stacked and marked. For an implementation
    reached with marks in its static arguments (np.unique's groups, computed
    per example) but no tracer, so that no batching rule sees the call."""
    marked = [a for a in args if type(a) is Batched]
    traces = max((a._traces for a in marked), key=len)
    lead = tuple(_shape(next(a for a in marked if a._traces == traces))[: len(traces)])
    outs = [
        impl(*(unmark(a)[i[: len(a._traces)]] if type(a) is Batched else a for a in args))
        for i in np.ndindex(*lead)
    ]
    return mark_as(np.stack(outs).reshape(lead + np.shape(outs[0])), traces)


def _unique_per_example(ar: Any, *args: Any, **kwargs: Any) -> Any:
    """``np.unique`` of a batch mark, one example at a time: a batch has one
    shape, so every example must have as many unique values (else a clear
    error); the results (and index, inverse, counts) are stacked and marked."""
    traces = ar._traces
    plain = unmark(ar)
    lead = _shape(plain)[: len(traces)]
    outs = [np.unique(plain[i], *args, **kwargs) for i in np.ndindex(*lead)]
    first = outs[0][0] if isinstance(outs[0], tuple) else outs[0]
    sizes = {len(o[0] if isinstance(o, tuple) else o) for o in outs}
    if len(sizes) > 1:
        raise NotImplementedError(
            f"np.unique under cr.vmap: the examples have different numbers of unique values "
            f"({min(sizes)} to {max(sizes)}), and a batch has one shape. Call it outside vmap "
            "(or loop over the examples in Python)."
        )
    del first

    def stacked(parts: list[Any]) -> Any:
        return mark_as(np.stack(parts).reshape(tuple(lead) + np.shape(parts[0])), traces)

    if isinstance(outs[0], tuple):
        return tuple(stacked([o[k] for o in outs]) for k in range(len(outs[0])))
    return stacked(outs)


def _bincount_per_example(x: Any, weights: Any = None, minlength: int = 0) -> Any:
    """``np.bincount`` of marked indices or weights (a tie count computed from
    the batch: cr.at's min/max): each example counted alone, as one bincount
    with the examples' bins side by side. Every example gets as many bins as
    the longest needs (a batch has one shape)."""
    marked = [v for v in (x, weights) if type(v) is Batched]
    traces = max((v._traces for v in marked), key=len)
    lead = tuple(_shape(next(v for v in marked if v._traces == traces))[: len(traces)])
    n = np.shape(x)[-1] if np.ndim(x) else 1
    xv = np.broadcast_to(unmark(x), lead + (n,)).reshape(-1, n)
    nbins = max(int(minlength), int(xv.max()) + 1 if xv.size else 0)
    rows = xv.shape[0]
    flat_x = (xv + (np.arange(rows) * nbins)[:, None]).ravel()
    flat_w = None if weights is None else np.broadcast_to(unmark(weights), lead + (n,)).ravel()
    counts = np.bincount(flat_x, weights=flat_w, minlength=rows * nbins)
    return mark_as(counts.reshape(lead + (nbins,)), traces)


def _lstsq_per_example(a: Any, b: Any, rcond: Any = None) -> Any:
    """``np.linalg.lstsq`` of marked operands, one example at a time (the
    check chainrule's lstsq makes of the rank, and its residuals for wide
    matrices). ``rank`` is the smallest over the batch, a plain int: every
    example's when all have full rank; when one is rank-deficient, the whole
    batch takes the fixed-rank path (whose formulas hold at full rank too)."""
    marked = [v for v in (a, b) if type(v) is Batched]
    traces = max((v._traces for v in marked), key=len)
    lead = _shape(next(v for v in marked if v._traces == traces))[: len(traces)]
    out: list[list[Any]] = [[], [], [], []]
    for i in np.ndindex(*lead):
        # an operand batched by fewer (outer) traces has fewer leading axes
        ai, bi = (unmark(v)[i[: len(v._traces)]] if type(v) is Batched else v for v in (a, b))
        for part, r in zip(out, np.linalg.lstsq(ai, bi, rcond)):
            part.append(r)
    x, res, rank, sv = out
    if len({np.shape(r) for r in res}) > 1:  # NumPy gives residuals at full rank only
        res = [r[:0] for r in res if np.size(r) == 0] * len(res)
    shape = tuple(lead)

    def stacked(parts: list[Any]) -> Any:
        return mark_as(np.stack(parts).reshape(shape + np.shape(parts[0])), traces)

    return stacked(x), stacked(res), int(min(rank)), stacked(sv)


def _like_rule(func: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    """zeros_like & co. of a mark: shaped like each example, so like the batch,
    still marked (NotImplemented, the generic path, when ``shape=`` is given)."""
    if not args or type(args[0]) is not Batched or kwargs.get("shape") is not None:
        return NotImplemented
    return mark_as(func(unmark(args[0]), *args[1:], **kwargs), args[0]._traces)


def _equal_rule(func: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    """array_equal & co. of two marks of one batch: one answer for the whole
    batch (a rule's check of its own result)."""
    marks = args[:2]
    if not all(type(a) is Batched for a in marks) or marks[0]._traces != marks[1]._traces:
        return NotImplemented
    return func(*[unmark(a) for a in args], **kwargs)


def _where_rule(func: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    if len(args) != 3 or kwargs:
        return NotImplemented
    traces, aligned = _align_plain(args)
    return mark_as(np.where(*aligned), traces)


def _per_example_rule(impl: Any) -> Any:
    return lambda func, args, kwargs: impl(*args, **kwargs)


# NumPy functions called on batch marks (plain values a rule stripped) that
# need more than the generic path (the function's own batching through the
# trace, or NumPy's on the plain arrays): ``rule(func, args, kwargs)`` -> the
# marked result, or NotImplemented to take the generic path. With BATCH_RULES
# (primitives) and NONDIFF_RULES (non-differentiable callables on tracers),
# the places where batching behaviour is declared.
MARK_RULES: dict[Any, Any] = {
    np.zeros_like: _like_rule,
    np.ones_like: _like_rule,
    np.empty_like: _like_rule,
    np.full_like: _like_rule,
    np.array_equal: _equal_rule,
    np.array_equiv: _equal_rule,
    np.allclose: _equal_rule,
    np.where: _where_rule,
    np.unique: _per_example_rule(_unique_per_example),
    np.bincount: _per_example_rule(_bincount_per_example),
    np.linalg.lstsq: _per_example_rule(_lstsq_per_example),  # it takes one matrix
}
_PER_EXAMPLE = {np.shape, np.ndim, np.size}
_in_progress: set[Any] = set()
_WHOLE_BATCH_TESTS = {np.any, np.all, np.isfinite, np.count_nonzero}


def _one_example(a: Any) -> Any:
    if type(a) is Batched:
        return np.broadcast_to(np.zeros((), dtype=a.dtype), a.shape)
    return a


def _align_plain(inputs: Any) -> tuple[tuple[Any, ...], list[Any]]:
    """Operands with the batch axes of the marked ones lined up (plain views),
    and the traces of the result's batch axes."""
    traces: tuple[Any, ...] = ()
    for a in inputs:
        if type(a) is Batched and len(a._traces) > len(traces):
            traces = a._traces
    k = len(traces)
    nd = max(a.ndim if hasattr(a, "ndim") else np.ndim(a) for a in inputs)  # per example
    out = []
    for a in inputs:
        if type(a) is Batched:
            v = a.view(np.ndarray)
            full = _shape(v)
            kb = len(a._traces)
            own = len(full) - kb
            if kb < k or own < nd:
                v = v.reshape(full[:kb] + (1,) * (k - kb + nd - own) + full[kb:])
            out.append(v)
        else:
            out.append(a)
    return traces, out


def mark_as(x: Any, traces: tuple[Any, ...]) -> Any:
    """The plain array ``x`` whose leading axes are the batches of ``traces``."""
    if not traces:
        return x
    if type(x) is not np.ndarray:
        if isinstance(x, np.generic):
            x = np.asarray(x)
        elif isinstance(x, np.ndarray):
            # another trace's view (jit's Watched): the mark must win, or the
            # batch axis would pass for an example's axis. What is computed on
            # the mark escapes that trace's recording; jit notices and runs eagerly.
            x = np.ndarray.view(x, np.ndarray)  # not x.view: Watched records that
        else:
            return x
    m = x.view(Batched)
    m._traces = traces
    return m


def mark(x: Any, trace: Any) -> Any:
    """``x`` (plain, or marked for outer traces) with one more batch axis: ``trace``'s."""
    if type(x) is Batched:
        return mark_as(x.view(np.ndarray), x._traces + (trace,))
    return mark_as(x, (trace,))


def unmark(x: Any) -> Any:
    """The plain ndarray under a ``Batched`` mark (a view); others unchanged."""
    return x.view(np.ndarray) if type(x) is Batched else x


class BatchTracer(Tracer):
    """A value batched on axis 0; ``shape`` and friends describe one example.

    ``_bv`` holds the batched value (plain, or a tracer of a lower level);
    ``_value``, which ``strip`` reads, gives the plain batched array marked
    as ``Batched``."""

    __slots__ = ("_bv",)

    def __init__(self, value: Any, trace: BatchTrace) -> None:
        self._bv = value
        self._trace = trace

    @property
    def _value(self) -> Any:
        return mark(strip(self._bv), self._trace)

    @property
    def dtype(self) -> np.dtype:
        return self._bv.dtype  # type: ignore[no-any-return]

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(self._bv.shape[1:])

    @property
    def ndim(self) -> int:
        return self._bv.ndim - 1  # type: ignore[no-any-return]

    @property
    def size(self) -> int:
        return math.prod(self._bv.shape[1:])

    def __len__(self) -> int:
        shape = self._bv.shape
        if len(shape) < 2:
            raise TypeError("len() of unsized object (one example of this batch is a scalar)")
        return int(shape[1])

    def __repr__(self) -> str:
        return f"BatchTracer(level={self._trace.level}, batch={strip(self._bv)!r})"


# Rules by primitive: ``rule(prim, vals, batched, kwargs, size)`` -> the
# batched result (a tuple for primitives with several results), with the batch
# on axis 0. ``vals`` have the batch on axis 0 where ``batched`` says so.
BATCH_RULES: dict[Any, Any] = {}
# Rules for non-differentiable NumPy callables (np.argmax, comparisons):
# ``rule(fn, vals, batched, kwargs, size)`` -> the batched plain result.
NONDIFF_RULES: dict[Any, Any] = {}
# Family rules found by a test on the primitive (elementwise ufuncs), filled
# by rules/batching_rules.py: a list of ``(test, rule)``.
FAMILY_RULES: list[tuple[Any, Any]] = []
_warned: set[str] = set()

# Functions of shapes and dtypes only: asked of one example, they answer as
# for one example (np.shape of a batched value is an example's shape).
_METADATA = {
    np.shape,
    np.ndim,
    np.size,
    np.result_type,
    np.iscomplexobj,
    np.isrealobj,
    np.zeros_like,
    np.ones_like,
    np.empty_like,
}


def is_batched(a: Any, trace: BatchTrace) -> bool:
    return (isinstance(a, Tracer) and a._trace is trace) or type(a) is Batched


def _warn_once(name: str, why: str = "has no batching rule") -> None:
    if name in _warned:
        return
    _warned.add(name)
    warnings.warn(
        f"cr.vmap: {name} {why}, so it runs once per example in a Python "
        "loop (the result is right, only slower). Vectorise that step by hand, or report it.",
        BatchingFallbackWarning,
        stacklevel=4,
    )


def _example(v: Any, b: int) -> Any:
    return v[b]


def stack_examples(outs: list[Any]) -> Any:
    """Results computed one example at a time, stacked on a new leading axis:
    the last step of the default batching rule, shared by every loop over a
    batch (``vmap``'s fallback and ``custom_call.loop_over_batch``, the
    cotangent batches of ``jacrev``). A result that is a tuple or list is
    stacked position by position; ``None`` (a symbolic zero) stays ``None``
    where every example has it, and is zeros beside the others' arrays."""
    first = outs[0]
    if not isinstance(first, (tuple, list)):
        return np.stack(outs)
    cols: list[Any] = []
    for k in range(len(first)):
        col = [o[k] for o in outs]
        known = next((c for c in col if c is not None), None)
        if known is None:
            cols.append(None)
            continue
        if any(c is None for c in col):
            zero = np.zeros(np.shape(strip(known)), dtype=np.result_type(strip(known)))
            col = [zero if c is None else c for c in col]
        cols.append(np.stack(col))
    return type(first)(cols)


def loop_rule(
    call: Any, name: str, vals: list[Any], batched: list[Any], kwargs: dict[str, Any], size: int
) -> Any:
    """The default batching rule of a primitive missing from ``BATCH_RULES``:
    ``call`` once per example, results stacked on axis 0 (``stack_examples``),
    with one ``BatchingFallbackWarning`` per name."""
    _warn_once(name)
    outs = []
    for b in range(size):
        args = [_example(v, b) if d else v for v, d in zip(vals, batched)]
        outs.append(call(args, kwargs))
    return stack_examples(outs)


class BatchTrace(Trace):
    """One run of ``vmap``'s function: the batch size and the rules."""

    __slots__ = ("size",)

    def __init__(self, size: int) -> None:
        super().__init__()
        self.size = size

    def _unpack(self, args: Any) -> tuple[list[Any], list[Any]]:
        vals, batched = [], []
        for a in args:
            if isinstance(a, Tracer) and a._trace is self:
                vals.append(a._bv)
                batched.append(True)
            elif type(a) is Batched:
                traces = a._traces
                if traces and traces[-1] is self:  # batched here (and maybe outside)
                    vals.append(as_tracer(a.view(np.ndarray), traces[:-1]))
                    batched.append(True)
                else:  # batched by outer traces only
                    vals.append(as_tracer(a.view(np.ndarray), traces))
                    batched.append(False)
            else:
                vals.append(a)
                batched.append(False)
        return vals, batched

    def process_primitive(self, prim: Any, args: Args, kwargs: Kwargs) -> Any:
        rule = BATCH_RULES.get(prim)
        if rule is None:
            for test, family_rule in FAMILY_RULES:
                if test(prim):
                    rule = BATCH_RULES[prim] = family_rule
                    break
        vals, batched = self._unpack(args)
        if rule is None:
            ans = loop_rule(
                lambda a, k: bind(prim, a, k), prim.name, vals, batched, kwargs, self.size
            )
        else:
            ans = rule(prim, vals, batched, kwargs, self.size)
        if prim.multiple_results:
            return tuple(self.wrap(r) for r in ans)
        return self.wrap(ans)

    def wrap(self, value: Any) -> Any:
        if type(value) is Batched:  # a rule's result computed on marks
            value = as_tracer(value.view(np.ndarray), value._traces[:-1])
        return BatchTracer(value, self)

    def process_nondiff(self, fn: Any, args: Args, kwargs: Kwargs) -> Any:
        if fn in _METADATA:  # answered for one example
            return fn(*[self._one(a) for a in args], **kwargs)
        vals, batched = self._unpack(args)
        kvals = {
            k: (v._bv if isinstance(v, Tracer) and v._trace is self else v)
            for k, v in kwargs.items()
        }
        keyed = [k for k, v in kwargs.items() if isinstance(v, Tracer) and v._trace is self]
        if keyed:  # a batched keyword (where=x > 0): only the loop knows what it means
            n = len(vals)
            ans = loop_rule(
                lambda a, k: fn(*a[:n], **k, **dict(zip(keyed, a[n:]))),
                getattr(fn, "__name__", str(fn)),
                vals + [kvals[k] for k in keyed],  # sliced per example like the arguments
                batched + [True] * len(keyed),
                {k: v for k, v in kvals.items() if k not in keyed},
                self.size,
            )
        else:
            rule = NONDIFF_RULES.get(fn)
            if rule is None and isinstance(fn, np.ufunc):
                rule = NONDIFF_RULES.get(np.ufunc)
            if rule is None:
                ans = loop_rule(
                    lambda a, k: fn(*a, **k),
                    getattr(fn, "__name__", str(fn)),
                    vals,
                    batched,
                    kvals,
                    self.size,
                )
            else:
                ans = rule(fn, vals, batched, kvals, self.size)
        if isinstance(ans, tuple):
            return tuple(self.wrap(a) for a in ans)
        return self.wrap(ans)

    def _one(self, a: Any) -> Any:
        if isinstance(a, Tracer) and a._trace is self:
            return np.broadcast_to(np.zeros((), dtype=a.dtype), a.shape)
        if type(a) is Batched:
            return np.broadcast_to(np.zeros((), dtype=a.dtype), a.shape)
        return a

    def process_conversion(self, kind: str, x: Tracer) -> Any:
        what = {"bool": "bool()", "item": ".item()", "array": "np.asarray()"}.get(kind, kind)
        raise BatchedControlFlowError(
            f"{what} of a value that carries cr.vmap's batch axis: its answer, and the branch "
            "taken on it, would differ from one example to the next. Compute both branches and "
            "select elementwise with np.where(condition, a, b) (or reduce first where a single "
            "answer for the whole batch is meant, outside vmap)."
        )

    def process_custom_vjp(self, call: Any) -> Any:
        """A function with its own derivative rule. With nothing below
        differentiating, only its value matters: it runs batched like any
        code, or once per example when it branches on its values (a solver's
        iterations: ``BatchedControlFlowError``). Under a derivative
        (``grad(vmap(f))``) the rule must be used, and it was written for one
        example: the call is looped over the batch, each example reaching the
        lower trace with its rule."""
        # (call.nested reads ``_value``, which here is the plain mark: look below it)
        rule = call.rule
        if not any(
            isinstance(a, Tracer) and (a._trace is not self or isinstance(a._bv, Tracer))
            for a in call.leaves
        ):
            try:
                return call.plain()
            except BatchedControlFlowError:
                # The function branches on its values (a solver's iterations, as
                # in cr.optim.root): it runs once per example instead, which is
                # always right.
                _warn_once(
                    f"{getattr(rule, '__name__', 'a custom rule')} (custom_vjp/custom_jvp)",
                    "branches on batched values",
                )
        else:
            _warn_once(f"{getattr(rule, '__name__', 'a custom rule')} (custom_vjp/custom_jvp)")
        outs = []
        for b in range(self.size):
            leaves = [
                a._bv[b] if isinstance(a, Tracer) and a._trace is self else a for a in call.leaves
            ]
            outs.append(rule(*call.treedef.unflatten(leaves)))
        first, out_def = tree.flatten(outs[0])
        cols = zip(*[tree.leaves(o) for o in outs])
        return out_def.unflatten([self.wrap(np.stack(list(col))) for col in cols])

    process_custom_jvp = process_custom_vjp
