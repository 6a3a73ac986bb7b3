"""Reverse mode: record a tape in execution order, then walk it backwards.

The tape is a list with one entry per recorded primitive output: the tape
indices of the traced arguments and, for each, the staged VJP closure (or
one closure returning the cotangents of all of them, for custom rules); an
entry with a single traced argument is stored flat as ``(index, vjp)``, the
common case, to allocate less. Inputs have the entry ``None``. Execution
order is already a topological order, so the backward pass is one loop from
the end — no recursion, no sort, no limit on depth. Entries refer to each
other by index, never by object, so a tape of a million nodes is freed
without a deep chain of references.
"""

from __future__ import annotations

import gc
import sys
from typing import Any

import numpy as np

from .array_facade import MaskedArray, refuse_masked
from .primitive import Primitive
from .trace import GcPause, Trace, Tracer, bind, dtype_kind, is_complex, refuse_complex

_NO_KWARGS: dict = {}


class ReverseTracer(Tracer):
    """A value followed by a reverse-mode trace; ``_index`` is its tape slot."""

    __slots__ = ("_index",)

    def __init__(self, value: Any, trace: ReverseTrace, index: int) -> None:
        self._value = value
        self._trace = trace
        self._index = index


class ReverseTrace(Trace):
    """Records primitives on a tape for a later backward pass."""

    __slots__ = ("tape",)

    def __init__(self) -> None:
        super().__init__()
        self.tape: list[Any] = []

    def new_input(self, value: Any) -> ReverseTracer:
        self.tape.append(None)
        return ReverseTracer(value, self, len(self.tape) - 1)

    def process(self, prim: Primitive, args: tuple | list, kwargs: dict) -> Any:
        # The hot path of reverse mode, micro-optimised for the common cases:
        # one or two arguments, no keywords, no outer transform involved.
        makers = prim.vjp
        n = len(args)
        if kwargs or not prim.batchable or type(makers) is not list:
            return self._process(prim, args, kwargs)
        a = args[0]
        if n == 2:
            b = args[1]
            if not isinstance(a, Tracer):
                if type(a) is not np.ndarray and isinstance(a, MaskedArray):
                    refuse_masked(prim, a)
                if b._trace is self and len(makers) > 1 and makers[1] is not None:
                    v = b._value
                    # A traced value of a lower level (grad of grad, jvp of
                    # grad) is handed down to its own trace.
                    if isinstance(v, Tracer):
                        ans = bind(prim, (a, v), _NO_KWARGS)
                    else:
                        ans = prim.impl(a, v)
                    if not prim.complex_ok:
                        refuse_complex(prim, ans, v)
                    vjp = makers[1](ans, a, v)
                    if prim.real_cotangents:
                        vjp = _real_part_if_needed(vjp, ans, v)
                    tape = self.tape
                    tape.append((b._index, vjp))
                    return ReverseTracer(ans, self, len(tape) - 1)
                return self._process(prim, args, kwargs)
            if isinstance(b, Tracer):
                return self._process_pair(prim, a, b, makers)
            if type(b) is not np.ndarray and isinstance(b, MaskedArray):
                refuse_masked(prim, b)
        elif n > 2:
            # The first argument is traced and the rest are statics (axes,
            # shapes, indices): the shape of sum, reshape, getitem, ...
            if not isinstance(a, Tracer):
                return self._process(prim, args, kwargs)
            for other in args[1:]:
                if isinstance(other, Tracer):
                    return self._process(prim, args, kwargs)
        # Here args[0] is the only tracer (bind picked this trace, so it is ours).
        v = a._value
        if makers[0] is None:
            return self._process(prim, args, kwargs)
        if isinstance(v, Tracer):  # handed down, as above
            ans = bind(prim, (v,) if n == 1 else (v, *args[1:]), _NO_KWARGS)
        else:
            ans = prim.impl(v) if n == 1 else prim.impl(v, *args[1:])
        if not prim.complex_ok:
            refuse_complex(prim, ans, v)
        vjp = makers[0](ans, v) if n == 1 else makers[0](ans, v, *args[1:])
        if prim.real_cotangents:
            vjp = _real_part_if_needed(vjp, ans, v)
        tape = self.tape
        tape.append((a._index, vjp))
        return ReverseTracer(ans, self, len(tape) - 1)

    def process_unary(self, prim: Primitive, x: Tracer) -> Any:
        # ``np.sin(x)``: the commonest call of all, with the fewest checks.
        makers = prim.vjp
        if type(makers) is not list or not prim.batchable or makers[0] is None:
            return self._process(prim, (x,), _NO_KWARGS)
        v = x._value
        ans = prim.impl(v) if not isinstance(v, Tracer) else bind(prim, (v,), _NO_KWARGS)
        if not prim.complex_ok:
            refuse_complex(prim, ans, v)
        vjp = makers[0](ans, v)
        if prim.real_cotangents:
            vjp = _real_part_if_needed(vjp, ans, v)
        tape = self.tape
        tape.append((x._index, vjp))
        return ReverseTracer(ans, self, len(tape) - 1)

    def process_constant(self, rule: Any, x: Tracer, c: Any) -> Any:
        # The short path of ``x * 2.0`` and friends (see ConstantRule).
        v = x._value
        if not self.active or (rule.applies is not None and not rule.applies(c)):
            return bind(rule.prim, rule.arguments(x, c), _NO_KWARGS)
        ans = rule.op(v, c)  # a traced v of a lower level handles itself
        tape = self.tape
        tape.append((x._index, rule.vjp(ans, v, c)))
        return ReverseTracer(ans, self, len(tape) - 1)

    def _process_pair(self, prim: Primitive, a: Tracer, b: Tracer, makers: list) -> Any:
        # Both operands traced (``x * y``, ``z - lse``): when both are this
        # trace's, with plain values and rules for both, record one entry.
        va, vb = a._value, b._value
        if (
            a._trace is not self
            or b._trace is not self
            or isinstance(va, Tracer)
            or isinstance(vb, Tracer)
            or len(makers) < 2
            or makers[0] is None
            or makers[1] is None
        ):
            return self._process(prim, (a, b), _NO_KWARGS)
        ans = prim.impl(va, vb)
        if not prim.complex_ok:
            refuse_complex(prim, ans, va, vb)
        vjp_a, vjp_b = makers[0](ans, va, vb), makers[1](ans, va, vb)
        if prim.real_cotangents:
            vjp_a = _real_part_if_needed(vjp_a, ans, va)
            vjp_b = _real_part_if_needed(vjp_b, ans, vb)
        tape = self.tape
        tape.append(([a._index, b._index], [vjp_a, vjp_b]))
        return ReverseTracer(ans, self, len(tape) - 1)

    def _process(self, prim: Primitive, args: tuple | list, kwargs: dict) -> Any:
        vals = list(args)
        positions = []
        lower = False
        i = 0
        for a in args:
            if isinstance(a, Tracer):
                if a._trace is self:
                    v = vals[i] = a._value
                    positions.append(i)
                    if isinstance(v, Tracer):
                        lower = True
                else:
                    lower = True
            elif isinstance(a, MaskedArray):
                refuse_masked(prim, a)
            i += 1
        if lower:
            ans = bind(prim, vals, kwargs)
        elif kwargs:
            ans = prim.impl(*vals, **kwargs)
        else:
            ans = prim.impl(*vals)
        if isinstance(ans, MaskedArray):  # a masked array inside a list argument
            refuse_masked(prim, ans)
        if not prim.complex_ok:
            refuse_complex(prim, ans, *(vals[i] for i in positions))
        parents = []
        vjps = []
        makers = prim.vjp
        n_makers = len(makers)
        for i in positions:
            maker = makers[i] if i < n_makers else None
            if maker is None:
                continue  # e.g. a traced value used as a condition: no derivative flows
            vjp = maker(ans, *vals, **kwargs) if kwargs else maker(ans, *vals)
            if not prim.batchable:
                vjp = _loop_over_batch(vjp, _ndim(ans))
            if prim.real_cotangents:
                vjp = _real_part_if_needed(vjp, ans, vals[i])
            vjps.append(vjp)
            parents.append(args[i]._index)
        if not vjps:
            return ans
        tape = self.tape
        tape.append((parents[0], vjps[0]) if len(vjps) == 1 else (parents, vjps))
        return ReverseTracer(ans, self, len(tape) - 1)


def backward(tape: list, seeds: list[tuple[int, Any]], consume: bool = False) -> list:
    """Propagate cotangents from ``seeds`` (tape index, cotangent) to every
    entry; returns the list of accumulated cotangents, in which only the
    input slots are still filled (others are released as soon as used).

    ``consume`` releases each tape entry once it has been pulled through, so
    that what it kept for the backward pass (``sin(x)`` for ``sin(x) * x``)
    is freed as early as the cotangents are: for a tape pulled back once
    (``grad``), the peak then holds the intermediates of only the part of
    the tape not yet walked.
    """
    gc_on = gc.isenabled()
    try:
        with GcPause():
            return _backward(tape, seeds, consume)
    finally:  # the collector back on after an interrupt too (see trace.boundary_state)
        if gc_on and not gc.isenabled():
            gc.enable()


def _backward(tape: list, seeds: list[tuple[int, Any]], consume: bool) -> list:
    cts: list[Any] = [None] * len(tape)
    owned: set[int] = set()
    for index, g in seeds:
        _accumulate(cts, owned, index, g)
    start = max((index for index, _ in seeds), default=-1)
    for i in range(start, -1, -1):
        g = cts[i]
        if g is None:
            continue
        entry = tape[i]
        if entry is None:
            continue  # an input: its cotangent is the answer
        cts[i] = None
        if consume:
            tape[i] = None
        parents, vjps = entry
        # No local here may outlive its iteration holding a stored cotangent:
        # the next contribution to a slot is added in place only into an
        # array that the slot alone holds (_exclusive). ``g`` and ``c`` are
        # reassigned before any later accumulation.
        if type(parents) is int:  # the common entry: one parent, one VJP
            c = vjps(g)
            if c is not None:
                if cts[parents] is None:
                    cts[parents] = c
                else:
                    _accumulate(cts, owned, parents, c)
            continue
        if callable(vjps):  # one function for all parents (custom rules)
            contributions = list(vjps(g))
            vjps = None
        else:
            contributions = vjps
        for k in range(min(len(contributions), len(parents))):
            c = contributions[k]
            if vjps is not None:
                # Pull through one VJP at a time, and drop it before the next
                # when the tape is consumed: what it kept (``sin(x)`` of
                # ``sin(x) * x``) is freed before the next contribution is made.
                if consume:
                    vjps[k] = None
                c = c(g)
            else:
                contributions[k] = None
            if c is not None:
                p = parents[k]
                if cts[p] is None:
                    cts[p] = c
                else:
                    _accumulate(cts, owned, p, c)
                c = None
        g = vjps = contributions = None
    return cts


def _accumulate(cts: list, owned: set[int], i: int, c: Any) -> None:
    """Fan-out: add a cotangent contribution to slot ``i``.

    The first contribution is stored as given (it may be shared with other
    slots, or be a value of the forward pass). The sum is made in place, into
    an array this pass owns, whenever there is one: a sum it allocated before,
    or a first contribution nothing else refers to (a fresh temporary). That
    saves allocating, and on these machines page-faulting, a possibly large
    array for each contribution.
    """
    prev = cts[i]
    if prev is None:
        cts[i] = c
    elif (
        type(c) is np.ndarray
        and type(prev) is np.ndarray
        and c.shape == prev.shape
        and c.dtype == prev.dtype
        and (i in owned or _exclusive(prev))
    ):
        np.add(prev, c, out=prev)
        owned.add(i)
    else:
        total = prev + c
        cts[i] = total
        if type(total) is np.ndarray:
            owned.add(i)
        else:  # a tracer (higher order) or a scalar: never written in place
            owned.discard(i)


def _exclusive(a: np.ndarray) -> bool:
    """Whether only the cotangent list refers to ``a`` and ``a`` owns its
    memory, so that writing into it changes nothing anyone else can see (the
    test NumPy makes before reusing a temporary)."""
    return a.base is None and a.flags.writeable and _references(a) <= _ALONE


def _references(a: Any) -> int:
    return sys.getrefcount(a)


def _references_when_alone() -> int:
    """What ``_exclusive`` counts for an array held only by a list slot and
    a local, measured along the same calls (so that how an interpreter
    counts the references of locals and arguments cannot matter): any other
    holder adds one."""
    slots = [np.empty(1)]
    prev = slots[0]
    return _probe(prev)


def _probe(a: Any) -> int:
    return _references(a)


_ALONE = _references_when_alone()


def _real_part_if_needed(vjp: Any, ans: Any, arg: Any) -> Any:
    """For primitives with ``real_cotangents``: a real argument of a complex
    result gets the real part of its cotangent."""
    return real_cotangent(vjp) if dtype_kind(ans) == "c" and not is_complex(arg) else vjp


def real_cotangent(vjp: Any) -> Any:
    """``vjp`` followed by the real part: the cotangent of a real argument of
    a primitive with a complex result (the convention of docs/design.md)."""

    def real_vjp(g: Any) -> Any:
        c = vjp(g)
        return c if c is None else np.real(c)

    return real_vjp


def _ndim(x: Any) -> int:
    return x.ndim if hasattr(x, "ndim") else 0


def _loop_over_batch(vjp: Any, ans_ndim: int) -> Any:
    """Adapt a VJP that only understands single cotangents to stacked ones."""

    def looped(g: Any) -> Any:
        if g.ndim == ans_ndim:
            return vjp(g)
        return np.stack([looped(gi) for gi in g])

    return looped
