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

Some outputs need no entry: ``x + c`` (a constant) hands its cotangent to
``x`` unchanged, so it shares ``x``'s slot (``ReverseTrace.shares_slots``).
"""

from __future__ import annotations

import gc
import operator
import sys
from typing import TYPE_CHECKING, Any

import numpy as np

from .array_facade import MaskedArray, refuse_masked
from .custom_call import is_float, loop_over_batch
from .primitive import (
    KEEP_ANS,
    KEEP_C,
    KEEP_NOTHING,
    KEEP_X_AND_C,
    Primitive,
    pass_through,
    rule_at,
)
from .registry import STEPS_INTO
from .trace import (
    GcPause,
    GcResume,
    Trace,
    Tracer,
    bind,
    dtype_kind,
    is_complex,
    refuse_complex,
)

if TYPE_CHECKING:  # annotations only: the committed trace.py may not define them yet
    from .trace import Args, Kwargs

_NO_KWARGS: dict[str, Any] = {}
_new = object.__new__
_FLOAT64 = np.float64
_mul = operator.mul


class ReverseTracer(Tracer):
    """A value followed by a reverse-mode trace; ``_index`` is its tape slot."""

    __slots__ = ("_index",)

    def __init__(self, value: Any, trace: ReverseTrace, index: int) -> None:
        self._value = value
        self._trace = trace
        self._index = index


class ReverseTrace(Trace):
    """Records primitives on a tape for a later backward pass."""

    __slots__ = ("tape", "shared")
    # Whether ``x + c`` may share x's tape slot (see process_primitive); a trace
    # that must see every operation as its own entry (graph.py's) says no.
    shares_slots = True

    def __init__(self) -> None:
        super().__init__()
        self.tape: list[Any] = []
        # (primitive, parent's tape index) -> (its entry's index, its result, its
        # argument), for primitives with a partner (sin, cos): see _share.
        self.shared: dict[tuple[Primitive, int], tuple[int, Any, Any]] = {}

    def __exit__(self, *exc_info: Any) -> None:
        if self.shared:  # results the backward pass frees as it goes must not stay here
            self.shared.clear()
        super().__exit__(*exc_info)

    def new_input(self, value: Any) -> ReverseTracer:
        self.tape.append(None)
        return ReverseTracer(value, self, len(self.tape) - 1)

    def process_primitive(self, prim: Primitive, args: Args, kwargs: Kwargs) -> Any:
        """Apply ``prim``, record one tape entry for it, return its tracer(s).

        The commonest calls are written out first, each a few lines that do
        only what that call needs; everything else takes ``_general``, which
        alone is a complete door: the short paths are only faster ways to the
        same result (tests/test_fast_paths.py routes everything through it).
        """
        makers = prim.short_vjp  # the rule list, or None where only _general applies
        if makers is None or kwargs:
            return self._general(prim, args, kwargs)
        n = len(args)
        if n == 1:  # np.sin(x): bind chose this trace, so x is ours
            x = args[0]
            direct = prim.direct  # (set with the makers: makers[0] is there)
            if direct is None and makers[0] is None:
                return self._general(prim, args, kwargs)
            v = x._value
            tv = type(v)
            ans = prim.impl(v) if tv in _PLAIN else bind(prim, (v,), _NO_KWARGS)
            if direct is not None and tv is _FLOAT64 and type(ans) is _FLOAT64:
                # A real scalar, the commonest in scalar code: nothing complex to
                # check, no partner worth looking for. A derivative that is a ufunc
                # of the argument (sin's cos) is taken now, so the backward step is
                # the bare product (core.primitive.set_direct).
                bwd, keep, slope = direct
                saved = ans if keep == KEEP_ANS else v
                if slope is not None:
                    bwd, saved = _mul, slope(saved)
                tape = self.tape
                tape.append((x._index, bwd, saved))
                out = _new(ReverseTracer)  # not ReverseTracer(...): no __init__ frame
                out._value, out._trace, out._index = ans, self, len(tape) - 1
                return out
            if not prim.complex_ok:
                refuse_complex(prim, ans, v)
            if direct is not None and (
                not prim.real_cotangents
                or (ans.dtype.kind != "c" if type(ans) is np.ndarray else dtype_kind(ans) != "c")
            ):
                # No closure: the step and what it needs (core.primitive.set_direct).
                bwd, keep, _ = direct
                tape = self.tape
                saved = ans if keep == KEEP_ANS else v
                if prim.partner is not None:  # sin(x) and cos(x): each the other's derivative
                    bwd, saved = self._share(prim, x._index, v, ans, len(tape), bwd, saved)
                tape.append((x._index, bwd, saved))
                out = _new(ReverseTracer)  # not ReverseTracer(...): no __init__ frame
                out._value, out._trace, out._index = ans, self, len(tape) - 1
                return out
            vjp = makers[0](ans, v)
        elif n == 2:
            a, b = args
            tb = type(b)
            pair = prim.direct_pair  # W @ x, x @ W: no closure (core.primitive.set_direct_pair)
            if pair is not None and (tb is np.ndarray or type(a) is np.ndarray):
                x, c, i = (a, b, 0) if tb is np.ndarray else (b, a, 1)
                if type(x) is ReverseTracer and x._trace is self:
                    v = x._value
                    step = pair(v, c, i) if type(v) is np.ndarray else None
                    if step is not None:
                        ans, bwd, saved = step
                        tape = self.tape
                        tape.append((x._index, bwd, saved))
                        out = _new(ReverseTracer)  # not ReverseTracer(...): no __init__ frame
                        out._value, out._trace, out._index = ans, self, len(tape) - 1
                        return out
            # x * 2.0, 1.0 - x, x ** 2: the other operand is a Python number
            if tb is float or tb in _NUMBERS:
                x, c, i = a, b, 0
                rule = prim.constant_rules[0]
            elif type(a) in _NUMBERS:
                x, c, i = b, a, 1
                rule = prim.constant_rules[1]
            else:
                rule = None
            if rule is not None:
                applies, op, bwd, keep = rule.plan
                if applies is None or applies(c):
                    v = x._value
                    ans = op(v, c)  # a traced v of a lower level handles itself
                    out = _new(ReverseTracer)  # not ReverseTracer(...): no __init__ frame
                    out._value = ans
                    out._trace = self
                    if bwd is pass_through and self.shares_slots:
                        # x + c: the cotangent passes as it is, so x + c takes x's
                        # slot: every contribution to its cotangent is one to x's,
                        # and the walk reaches x's entry after all of them. No
                        # entry, no step.
                        out._index = x._index
                        return out
                    tape = self.tape
                    if keep == KEEP_C:  # x * c, the commonest (core.primitive.set_direct)
                        tape.append((x._index, bwd, c))
                    elif bwd is None:
                        tape.append((x._index, rule.vjp(ans, v, c)))
                    elif bwd is pass_through:
                        tape.append((x._index,))
                    else:
                        kept = None if keep == KEEP_NOTHING else ans if keep == KEEP_ANS else v
                        tape.append((x._index, bwd, (v, c) if keep == KEEP_X_AND_C else kept))
                    out._index = len(tape) - 1
                    return out
            if rule is not None:
                pass  # a number its ConstantRule does not cover (x / 0.0): general rules
            elif isinstance(a, Tracer):
                if isinstance(b, Tracer):  # x * y: both ours, plain values, rules for both
                    va, vb = a._value, b._value
                    if (
                        a._trace is not self
                        or b._trace is not self
                        or type(va) not in _PLAIN
                        or type(vb) not in _PLAIN
                        or makers[0] is None
                        or makers[1] is None
                    ):
                        return self._general(prim, args, kwargs)
                    ans = prim.impl(va, vb)
                    if not prim.complex_ok:
                        refuse_complex(prim, ans, va, vb)
                    tape = self.tape
                    joint = prim.square_vjp if a is b else prim.joint_vjp
                    vjp = None if joint is None else joint(ans, va, vb)
                    if vjp is not None:  # x / y, x * x: one function for both
                        tape.append(([a._index, b._index], vjp))
                    else:
                        vjp_a, vjp_b = makers[0](ans, va, vb), makers[1](ans, va, vb)
                        if prim.real_cotangents:
                            vjp_a = _real_part_if_needed(vjp_a, ans, va)
                            vjp_b = _real_part_if_needed(vjp_b, ans, vb)
                        tape.append(([a._index, b._index], [vjp_a, vjp_b]))
                    out = _new(ReverseTracer)  # not ReverseTracer(...): no __init__ frame
                    out._value, out._trace, out._index = ans, self, len(tape) - 1
                    return out
                x, c, i = a, b, 0
            else:
                x, c, i = b, a, 1
            if type(c) is not np.ndarray and isinstance(c, MaskedArray):
                refuse_masked(prim, c)
            maker = makers[i]
            if maker is None:
                return self._general(prim, args, kwargs)
            v = x._value
            vals = (v, c) if i == 0 else (c, v)
            ans = prim.impl(*vals) if type(v) in _PLAIN else bind(prim, vals, _NO_KWARGS)
            if not prim.complex_ok:
                refuse_complex(prim, ans, v)
            vjp = maker(ans, *vals)
        else:  # sum(x, axes), reshape(x, shape), ...: x traced, the rest statics
            x = args[0]
            maker = makers[0]
            if maker is None or not isinstance(x, Tracer):
                return self._general(prim, args, kwargs)
            for other in args[1:]:
                if isinstance(other, Tracer):
                    return self._general(prim, args, kwargs)
            v = x._value
            vals = (v, *args[1:])
            ans = prim.impl(*vals) if type(v) in _PLAIN else bind(prim, vals, _NO_KWARGS)
            if not prim.complex_ok:
                refuse_complex(prim, ans, v)
            vjp = maker(ans, *vals)
        # One traced argument, ours (its value, if a tracer of a lower level, was
        # handed down through bind above).
        if prim.real_cotangents and (type(ans) is not np.ndarray or ans.dtype.kind == "c"):
            vjp = _real_part_if_needed(vjp, ans, v)  # (a real ndarray result needs nothing)
        tape = self.tape
        tape.append((x._index, vjp))
        out = _new(ReverseTracer)  # not ReverseTracer(...): no __init__ frame
        out._value, out._trace, out._index = ans, self, len(tape) - 1
        return out

    def _share(
        self, prim: Primitive, parent: int, v: Any, ans: Any, at: int, bwd: Any, saved: Any
    ) -> tuple[Any, Any]:
        """The direct step of ``prim`` (argument ``v``, result ``ans``, to be
        tape entry ``at``) when ``prim`` has a partner (core.primitive.set_partner):
        if the partner was applied to the same traced value before, each entry's
        derivative is the other's result, so neither ``sin`` nor ``cos`` is
        computed again in the backward pass. Returns the step and what it keeps.
        (The value is compared too: ``x + c`` shares ``x``'s tape slot.)"""
        shared = self.shared
        shared[prim, parent] = (at, ans, v)
        other, own_bwd = prim.partner  # type: ignore[misc]  # set: the caller checked
        found = shared.get((other, parent))
        if found is None or found[2] is not v:
            return bwd, saved
        j, other_ans, _ = found
        entry = self.tape[j]
        if len(entry) == 3 and entry[1] is other.direct[0]:  # type: ignore[index]
            self.tape[j] = (parent, other.partner[1], ans)  # type: ignore[index]
        return own_bwd, other_ans

    def process_custom_vjp(self, call: Any) -> Any:
        """A function with its own derivative (core/custom_call.py): one entry
        whose results are its floating outputs and whose VJP is the call's
        pull-back."""
        out_leaves, out_tree, pull = call.linearize()
        pull = loop_over_batch(pull, out_leaves, [call.values[i] for i in call.traced])
        floats = [k for k, o in enumerate(out_leaves) if is_float(o)]
        if not floats:
            return out_tree.unflatten(out_leaves)
        n_all = len(out_leaves)

        def vjp(gs: tuple[Any, ...]) -> list[Any]:
            full: list[Any] = [None] * n_all
            for k, g in zip(floats, gs):
                full[k] = g
            with GcResume():  # the user's backward function, not the engine's work
                return pull(full)  # type: ignore[no-any-return]

        tape = self.tape
        first = len(tape)
        parents = [call.leaves[i]._index for i in call.traced]
        entry = (_Results(parents, first, len(floats)), vjp)
        tape.extend([entry] * len(floats))
        wrapped = list(out_leaves)
        for j, k in enumerate(floats):
            wrapped[k] = ReverseTracer(out_leaves[k], self, first + j)
        return out_tree.unflatten(wrapped)

    process_custom_jvp = process_custom_vjp  # transposed by the call itself
    process_checkpoint = process_custom_vjp  # recomputed by the call's pull-back

    def _general(self, prim: Primitive, args: Args, kwargs: Kwargs) -> Any:
        # The rest of process_primitive: any number of arguments, keywords,
        # tracers of several levels, several results.
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
        multiple = prim.multiple_results
        if isinstance(ans, MaskedArray):  # a masked array inside a list argument
            refuse_masked(prim, ans)
        if not prim.complex_ok:
            refuse_complex(prim, *(ans if multiple else (ans,)), *(vals[i] for i in positions))
        if len(positions) == 2 and not kwargs:  # x / y, x * x: both traced, work shared
            shared = prim.square_vjp if args[0] is args[1] else prim.joint_vjp
            joint = None if shared is None else shared(ans, *vals)
            if joint is not None:
                tape = self.tape
                tape.append(([args[0]._index, args[1]._index], joint))
                return ReverseTracer(ans, self, len(tape) - 1)
        parents = []
        vjps = []
        makers = prim.vjp
        for i in positions:
            maker = rule_at(makers, i)
            if maker is None:
                continue  # e.g. a traced value used as a condition: no derivative flows
            vjp = maker(ans, *vals, **kwargs) if kwargs else maker(ans, *vals)
            if prim.real_cotangents:
                if not multiple:
                    vjp = _real_part_if_needed(vjp, ans, vals[i])
                elif any(dtype_kind(r) == "c" for r in ans) and not is_complex(vals[i]):
                    vjp = real_cotangent(vjp)
            vjps.append(vjp)
            parents.append(args[i]._index)
        if not vjps:
            return ans
        tape = self.tape
        if multiple:
            # One entry for all results, in as many consecutive slots (each
            # result's tracer needs a slot for its cotangent); see backward.
            n_out = len(ans)
            first = len(tape)
            entry = (_Results(parents, first, n_out), vjps)
            tape.extend([entry] * n_out)
            return tuple(ReverseTracer(r, self, first + k) for k, r in enumerate(ans))
        tape.append((parents[0], vjps[0]) if len(vjps) == 1 else (parents, vjps))
        return ReverseTracer(ans, self, len(tape) - 1)


# Constants that take a ConstantRule: Python's numbers, and NumPy's float64
# scalar (what indexing a float array gives), which never broadcasts.
_NUMBERS = frozenset({float, int, np.float64})
# Values that are certainly not tracers of a lower level (the common case,
# tested by type alone); anything else is asked isinstance(v, Tracer) by bind.
_PLAIN = frozenset({np.ndarray, np.float64, float})


class _Results(list[Any]):
    """The parents of a multi-result entry, with where its result slots are:
    ``first`` and the ``n_out`` that follow."""

    __slots__ = ("first", "n_out")

    def __init__(self, parents: list[Any], first: int, n_out: int) -> None:
        super().__init__(parents)
        self.first = first
        self.n_out = n_out


def backward(tape: list[Any], seeds: list[tuple[int, Any]], consume: bool = False) -> list[Any]:
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
    if not gc_on:  # already held off (value_and_grad's GcPause) or off by the user
        return _backward(tape, seeds, consume)
    try:
        with GcPause():
            return _backward(tape, seeds, consume)
    finally:  # the collector back on after an interrupt too (see trace.boundary_state)
        if not gc.isenabled():
            gc.enable()


def _backward(tape: list[Any], seeds: list[tuple[int, Any]], consume: bool) -> list[Any]:
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
        parents = entry[0]
        # No local here may outlive its iteration holding a stored cotangent:
        # the next contribution to a slot is added in place only into an
        # array that the slot alone holds (_exclusive). ``g`` and ``c`` are
        # reassigned before any later accumulation.
        if type(parents) is int:  # the common entry: one parent, one VJP
            # (parent, bwd, saved) from a direct step, the commonest; (parent, vjp);
            # or (parent,) when the cotangent passes unchanged (core.primitive.pass_through)
            n = len(entry)
            if n == 3:
                step = entry[1]
                # a large cotangent array nothing else holds: the step may write
                # its result into it (core.primitive.set_step_into)
                if type(g) is np.ndarray and g.size >= _INTO_FROM and step in STEPS_INTO:
                    c = STEPS_INTO[step](g, entry[2]) if _alone(g) else NotImplemented
                    if c is NotImplemented:
                        c = step(g, entry[2])
                else:
                    c = step(g, entry[2])
            else:
                c = entry[1](g) if n == 2 else g
            if c is not None:
                if cts[parents] is None:
                    cts[parents] = c
                else:
                    _accumulate(cts, owned, parents, c)
                c = None  # held by its slot only, so that a later step may find it alone
            continue
        vjps = entry[1]
        if type(parents) is _Results:
            # Several results: all their cotangents are final once the walk
            # reaches any of their slots; the ones never set stay None, the
            # symbolic zero (an unused eigenvector costs nothing).
            first, n_out = parents.first, parents.n_out
            gathered = cts[first : first + n_out]
            gathered[i - first] = g  # taken out of cts above
            g = tuple(gathered)
            for k in range(first, first + n_out):
                cts[k] = None
                if consume:
                    tape[k] = None
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
        g = vjps = contributions = None  # type: ignore[assignment]  # drop the references
    return cts


def _accumulate(cts: list[Any], owned: set[int], i: int, c: Any) -> None:
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


def _alone(a: np.ndarray) -> bool:
    """Whether the backward pass's local ``g`` is the only reference to ``a``
    and ``a`` owns its memory: a step may then write into it."""
    return a.base is None and a.flags.writeable and _references(a) <= _ALONE_LOCAL


def _references_of_a_local() -> int:
    """What ``_alone`` counts for an array held by one local, along the same calls."""
    a = np.empty(1)
    return _probe_local(a)


def _probe_local(a: Any) -> int:
    return _references(a)


# Below this size a new array comes from NumPy's cache of small blocks, and
# writing in place saves nothing worth the test.
_INTO_FROM = 1 << 12


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
_ALONE_LOCAL = _references_of_a_local()


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
