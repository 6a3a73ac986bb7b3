"""Trace levels and the dispatch of primitives.

Every transform (``grad``, ``jvp``, ...) opens a *trace* while it runs the
user's function. A trace has a *level*: its nesting depth in the current thread
(or asyncio task). Values being differentiated are wrapped in tracers that
belong to one trace. When a primitive meets tracers of several traces, only the
highest level is unwrapped and processed; the primitive is then applied again to
the unwrapped values, which lets the next level down do its own work. That is
how ``grad(grad(f))`` keeps its two perturbations apart.

The depth lives in a ``ContextVar`` so that threads never see each other's
traces; nothing else here is global.
"""

from __future__ import annotations

import gc
from contextvars import ContextVar
from typing import Any, TypeAlias, TypeVar

from . import registry as _registry

# The arguments of a primitive call as bind receives them (for annotations).
Args: TypeAlias = "tuple[Any, ...] | list[Any]"
Kwargs: TypeAlias = "dict[str, Any]"
_TraceT = TypeVar("_TraceT", bound="Trace")  # `with BatchTrace(n) as t`: t is a BatchTrace

_depth: ContextVar[int] = ContextVar("chainrule_trace_depth", default=0)


# Whether the collector is off because the engine paused it (GcPause) in this
# context, as opposed to by the user: Trace lets it run for the user's function.
_engine_paused: ContextVar[bool] = ContextVar("chainrule_gc_paused_by_engine", default=False)


class GcPause:
    """Hold Python's cyclic garbage collector off for the engine's own
    bookkeeping (if it is on): boxing inputs, the backward pass.

    Tracing allocates a few small container objects per primitive (tracer,
    tape entry, VJP closure), all freed by reference counting: the tape is
    built without reference cycles (tests/test_engine_properties.py checks
    that nothing survives without the collector), so the engine's own work
    needs no collection, and a collection during the backward pass would
    only walk the tape. The user's function, though, may make cyclic garbage
    of its own: while it runs (from ``Trace.__enter__`` to ``__exit__``) the
    collector runs normally again. The previous state is restored on exit; a
    pause inside a pause (nested transforms, other threads) leaves the
    outermost one to restore.
    """

    __slots__ = ("_resume", "_token")

    def __enter__(self) -> GcPause:
        resume = self._resume = gc.isenabled()
        if resume:
            try:
                gc.disable()
            except BaseException:  # an interrupt delivered as the call returned
                gc.enable()
                raise
        self._token = _engine_paused.set(resume or _engine_paused.get())
        return self

    def __exit__(self, *exc_info: Any) -> None:
        _engine_paused.reset(self._token)
        if self._resume:
            gc.enable()


class GcResume:
    """Run user code that the engine calls from inside its own bookkeeping (a
    ``custom_vjp``'s backward function, called by the backward pass) with the
    collector on again, where only the engine paused it: the user's code may
    make cyclic garbage of its own. The pause holds again afterwards."""

    __slots__ = ("_resumed",)

    def __enter__(self) -> GcResume:
        self._resumed = not gc.isenabled() and _engine_paused.get()
        if self._resumed:
            gc.enable()
        return self

    def __exit__(self, *exc_info: Any) -> None:
        if self._resumed:
            gc.disable()


# While the user's function runs under a transform, the collector's youngest
# generation is collected every _TRACING_GEN0 container allocations instead of
# CPython's 700. Each primitive allocates a few (tracer, tape entry, closure),
# which would set off a collection every couple of hundred primitives, each
# walking the live tape: a few per cent of a scalar loop. Most of a call's
# tape is freed before a collection comes round at this rate, and cyclic
# garbage stays bounded all the same (a few MB at most).
_TRACING_GEN0 = 20_000


def _raise_gen0() -> int:
    """Raise the first threshold to _TRACING_GEN0; returns what to restore (0: none)."""
    t = gc.get_threshold()
    if t[0] >= _TRACING_GEN0 or t[0] == 0:
        return 0
    gc.set_threshold(_TRACING_GEN0, t[1], t[2])
    return t[0]


def _restore_gen0(gen0: int) -> None:
    """Undo _raise_gen0, unless someone (another thread) has set it since."""
    t = gc.get_threshold()
    if gen0 and t[0] == _TRACING_GEN0:
        gc.set_threshold(gen0, t[1], t[2])


def boundary_state() -> tuple[int, bool, bool, int]:
    """What a transform must leave as it found it, however it is left: the
    trace depth of this context, whether the garbage collector is on and
    whether the engine holds it off.

    ``with`` restores them on the way out, except when an interrupt (a
    KeyboardInterrupt from a signal, raised between any two bytecodes) lands
    inside an ``__enter__`` after its change, or inside an ``__exit__`` before
    its undo. The transforms therefore also take this state on entry and hand
    it to ``restore_boundary`` in a ``finally``: a second, independent way back.
    """
    return _depth.get(), gc.isenabled(), _engine_paused.get(), gc.get_threshold()[0]


def restore_boundary(state: tuple[int, bool, bool, int]) -> None:
    """Put back what ``boundary_state`` took (a no-op after a normal exit)."""
    depth, gc_on, paused, gen0 = state
    if _depth.get() != depth:
        _depth.set(depth)
    t = gc.get_threshold()
    if t[0] != gen0 and t[0] == _TRACING_GEN0:  # an interrupt inside Trace.__exit__
        gc.set_threshold(gen0, t[1], t[2])
    if _engine_paused.get() != paused:
        _engine_paused.set(paused)
    if gc_on and not gc.isenabled():
        gc.enable()


class Trace:
    """One run of one transform: a level and a way to process primitives."""

    __slots__ = ("level", "active", "_token", "_gc", "_gen0", "refused")

    def __init__(self) -> None:
        self.level = 0
        self.active = False
        # The last refused conversion that names what to call instead (a plain
        # SciPy solver met a traced value): C code such as MINPACK's may catch
        # it and raise its own error, which the transforms then replace by it.
        self.refused: Exception | None = None

    # A trace is entered once, as the new innermost level, for one run of a
    # transform (a class, not @contextmanager: this is on every transform call).
    def __enter__(self: _TraceT) -> _TraceT:
        if not _registry.rules_loaded:  # the first transform loads the rules
            _registry.ensure_rules()
        depth = _depth.get() + 1
        self._token = _depth.set(depth)
        self.level = depth
        self.active = True
        # The user's function runs with the collector on unless the user turned
        # it off: resume it where only the engine's bookkeeping paused it.
        resume = self._gc = not gc.isenabled() and _engine_paused.get()
        if resume:
            self._gen0 = _raise_gen0()
            gc.enable()
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.active = False
        _depth.reset(self._token)
        if self._gc:
            gc.disable()  # back to the engine's bookkeeping (GcPause restores it)
            _restore_gen0(self._gen0)

    # -- the door: every NumPy call on a value of this trace arrives here ------
    def process_primitive(self, prim: Any, args: Args, kwargs: Kwargs) -> Any:
        """Apply ``prim`` to ``args`` (some of them this trace's tracers, the
        others plain values or tracers of lower levels) and follow the result.

        The one method a new trace must write: ``bind`` calls it for every
        primitive, whether it came from an operator (``x * y``), a ufunc
        (``np.sin(x)``) or a function (``np.sum(x)``). A primitive with
        ``multiple_results`` returns a tuple.
        """
        raise NotImplementedError  # pragma: no cover

    def process_nondiff(self, fn: Any, args: Args, kwargs: Kwargs) -> Any:
        """A NumPy callable without a derivative (``np.argmax``, ``np.less``,
        a comparison operator) called on values of this trace. By default it
        runs on the plain values and its result is not followed: nothing
        depends on a perturbation through it. A staging or sparsity trace
        overrides this to record it. Only this level is unwrapped: a trace
        below (``jit``'s staging, outermost) sees the call too."""
        return nondiff(fn, _own_tree(self, args), _own_tree(self, kwargs))

    def process_conversion(self, kind: str, x: Tracer) -> Any:
        """``x`` of this trace turned into a Python or NumPy value: ``kind`` is
        one of ``CONVERSIONS`` ("bool", "float", "int", "complex", "index",
        "item", "tolist", "array"). Branching (``bool``) drops no derivative,
        so it gives the plain truth value; every other conversion would, so it
        raises ``ConversionError``. A staging trace overrides this (a guard)."""
        if kind == "bool":
            return bool(x._value)  # a lower level (a staging trace) sees it too
        err = conversion_refused(kind)
        if getattr(err, "hinted", False):
            self.refused = err
        raise err

    # -- functions with derivative rules of their own (core/custom_call.py) --
    def process_custom_vjp(self, call: Any) -> Any:
        """A ``custom_vjp`` function called on values of this trace."""
        raise NotImplementedError(f"{type(self).__name__} cannot follow a custom_vjp function")

    def process_custom_jvp(self, call: Any) -> Any:
        """A ``custom_jvp`` function called on values of this trace."""
        raise NotImplementedError(f"{type(self).__name__} cannot follow a custom_jvp function")

    def process_checkpoint(self, call: Any) -> Any:
        """A ``checkpoint``ed function: only reverse mode has memory to save,
        so by default its inside is followed like any code."""
        return call.plain()


# Set while a staging trace is open (core/staging.py): a primitive applied to
# no tracer, but to a staged value a rule unwrapped, is still recorded.
untraced: Any = None


# The entry of every primitive call, defined before the facade is imported: the
# facade's operators and protocols call bind, and array_facade imports it from here.
def bind(prim: Any, args: Args, kwargs: Kwargs) -> Any:
    """Apply ``prim`` to ``args``: hand it to the highest trace among the
    arguments, or evaluate it directly when no argument is traced."""
    top = None
    for a in args:
        if isinstance(a, Tracer):
            t = a._trace
            if top is None or t.level > top.level:
                top = t
    if top is None:
        if untraced is not None:  # while cr.jit stages (core/staging.py)
            return untraced(prim, args, kwargs)
        return prim.impl(*args, **kwargs)
    if not top.active:
        raise_leaked(top)
    return top.process_primitive(prim, args, kwargs)


def nondiff(fn: Any, args: Args, kwargs: Kwargs) -> Any:
    """Call the non-differentiable ``fn``: through the highest trace among the
    arguments (any depth of lists, tuples, dicts), or directly."""
    top = _top_of_tree(args, None)
    if kwargs:
        top = _top_of_tree(kwargs.values(), top)
    if top is None:
        return fn(*args, **kwargs)
    if fn in _registry.REAL_ONLY and any(is_complex(a) for a in args):
        raise NotImplementedError(
            f"numpy.{fn.__name__} of a complex traced value is not piecewise constant "
            f"(sign(z) = z/|z| moves with z), and chainrule has no rule for it. Write it out: "
            "np.where(z == 0, 0, z / np.abs(z)) is differentiable."
        )
    return top.process_nondiff(fn, args, kwargs)


def _top_of_tree(items: Any, top: Any) -> Any:
    for a in items:
        if isinstance(a, Tracer):
            t = a._trace
            if top is None or t.level > top.level:
                top = t
        elif type(a) in (list, tuple):
            top = _top_of_tree(a, top)
        elif type(a) is dict:
            top = _top_of_tree(a.values(), top)
    return top


def _own_tree(trace: Trace, x: Any) -> Any:
    """``x`` with ``trace``'s tracers unwrapped one level, inside lists, tuples, dicts."""
    if isinstance(x, Tracer):
        return x._value if x._trace is trace else x
    if type(x) in (list, tuple):
        return type(x)(_own_tree(trace, v) for v in x)
    if type(x) is dict:
        return {k: _own_tree(trace, v) for k, v in x.items()}
    return x


def reraise_refused(trace: Trace, error: BaseException) -> None:
    """Called by a transform when ``error`` escapes the user's function: if a
    conversion naming its replacement was refused during ``trace`` and some
    library's own error took its place (MINPACK's "not a proper array of
    floats", SciPy's "must return a scalar"), raise the refusal instead, with
    the library's error as its cause; otherwise return (the caller re-raises)."""
    refused = trace.refused
    if refused is None or error is refused or not isinstance(error, Exception):
        return
    from ..errors import ConversionError

    if isinstance(error, ConversionError):
        return
    raise type(refused)(str(refused)) from error


def raise_leaked(trace: Trace) -> None:
    from ..errors import LeakedTracerError

    raise LeakedTracerError(
        f"A traced value from a {type(trace).__name__} (level {trace.level}) was used after "
        "its transform returned. Values computed inside a function being differentiated must "
        "not be stored in globals or closures and used later; return them from the function "
        "instead (use has_aux=True for extra outputs), or call cr.stop_gradient on them."
    )


# E402: see above. `name as name` re-exports (the rules import these from here).
from .array_facade import ArrayFacade as ArrayFacade  # noqa: E402
from .array_facade import conversion_refused  # noqa: E402
from .array_facade import strip as strip  # noqa: E402
from .array_facade import strip_tree as strip_tree  # noqa: E402


class Tracer(ArrayFacade):
    """Base of the values a trace follows. ``_value`` may itself be a tracer of
    a lower level; the ndarray look comes from ``ArrayFacade``."""

    __slots__ = ("_value", "_trace")


def is_traced(x: Any) -> bool:
    """True for a tracer of any level."""
    return isinstance(x, Tracer)


def complex_error(prim: Any) -> NotImplementedError:
    """A primitive whose rules do not yet follow the complex convention met a
    complex value; a wrong derivative would be worse than none."""
    return NotImplementedError(
        f"{prim.name} met a complex value inside a function being differentiated, and its "
        "derivative rules are written for real values only (most of NumPy's complex "
        "functions are supported; this one is not yet). Work with the real and imaginary "
        "parts as separate real arrays, or apply cr.stop_gradient to the complex part if it "
        "should not be differentiated."
    )


class NO_DTYPE:  # stands in for the dtype of values that have none
    kind = ""


def dtype_kind(x: Any) -> str:
    """The dtype kind of a value ("f", "c", ...), "" for non-arrays."""
    return getattr(x, "dtype", NO_DTYPE).kind


def is_complex(x: Any) -> bool:
    """A complex array, or a list of arrays one of which is (``concatenate``'s argument)."""
    if isinstance(x, (tuple, list)):
        return any(is_complex(v) for v in x)
    return dtype_kind(x) == "c"


def refuse_complex(prim: Any, ans: Any, *args: Any) -> None:
    """Raise ``complex_error`` if a primitive without complex rules (``complex_ok``
    unset) meets a complex argument or gives a complex result."""
    if dtype_kind(ans) == "c" or any(dtype_kind(a) == "c" for a in args):
        raise complex_error(prim)
