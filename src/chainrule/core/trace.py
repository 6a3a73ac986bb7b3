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
from typing import Any

from . import array_facade as _array_facade
from . import registry as _registry
from .array_facade import ArrayFacade, strip, strip_tree  # noqa: F401  (re-exported)

_depth: ContextVar[int] = ContextVar("chainrule_trace_depth", default=0)


class GcPause:
    """Hold Python's cyclic garbage collector off for a block (if it is on).

    Tracing allocates a few small container objects per primitive (tracer,
    tape entry, VJP closure), all freed by reference counting: the tape is
    built without reference cycles (tests/test_engine_properties.py checks
    that nothing survives without the collector). The collector would still
    run every 700 allocations and, because the tape lives until the backward
    pass, promote it to older generations and set off full collections,
    whose cost grows with everything the process holds (tens of ms with
    PyTorch or JAX imported). Pausing it costs nothing: no garbage of ours
    needs it. The previous state is restored on exit; a pause inside a pause
    (nested transforms, other threads) leaves the outermost one to restore.
    """

    __slots__ = ("_resume",)

    def __enter__(self) -> GcPause:
        resume = self._resume = gc.isenabled()
        if resume:
            try:
                gc.disable()
            except BaseException:  # an interrupt delivered as the call returned
                gc.enable()
                raise
        return self

    def __exit__(self, *exc_info: Any) -> None:
        if self._resume:
            gc.enable()


def boundary_state() -> tuple[int, bool]:
    """What a transform must leave as it found it, however it is left: the
    trace depth of this context and whether the garbage collector is on.

    ``with`` restores both on the way out, except when an interrupt (a
    KeyboardInterrupt from a signal, raised between any two bytecodes) lands
    inside an ``__enter__`` after its change, or inside an ``__exit__`` before
    its undo. The transforms therefore also take this state on entry and hand
    it to ``restore_boundary`` in a ``finally``: a second, independent way back.
    """
    return _depth.get(), gc.isenabled()


def restore_boundary(state: tuple[int, bool]) -> None:
    """Put back what ``boundary_state`` took (a no-op after a normal exit)."""
    depth, gc_on = state
    if _depth.get() != depth:
        _depth.set(depth)
    if gc_on and not gc.isenabled():
        gc.enable()


class Trace:
    """One run of one transform: a level and a way to process primitives."""

    __slots__ = ("level", "active", "_token", "_gc")

    def __init__(self) -> None:
        self.level = 0
        self.active = False

    # A trace is entered once, as the new innermost level, for one run of a
    # transform (a class, not @contextmanager: this is on every transform call).
    def __enter__(self) -> Trace:
        if not _registry.rules_loaded:  # the first transform loads the rules
            _registry.ensure_rules()
        depth = _depth.get() + 1
        self._token = _depth.set(depth)
        self.level = depth
        self.active = True
        self._gc = GcPause().__enter__()  # see GcPause
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.active = False
        _depth.reset(self._token)
        self._gc.__exit__()

    def process(self, prim: Any, args: tuple | list, kwargs: dict) -> Any:  # pragma: no cover
        raise NotImplementedError

    def process_unary(self, prim: Any, x: Tracer) -> Any:
        """``prim`` applied to tracer ``x`` of this trace alone (``np.sin(x)``).
        Traces with a short path for it override this."""
        return self.process(prim, (x,), {})

    def process_constant(self, rule: Any, x: Tracer, c: Any) -> Any:
        """``rule.prim`` applied to tracer ``x`` of this trace and the Python
        number ``c`` (a ``ConstantRule``). Traces with a short path for it
        override this; the general path is always correct."""
        return bind(rule.prim, rule.arguments(x, c), {})


class Tracer(ArrayFacade):
    """Base of the values a trace follows. ``_value`` may itself be a tracer of
    a lower level; the ndarray look comes from ``ArrayFacade``."""

    __slots__ = ("_value", "_trace")


def tracing(trace: Trace) -> Trace:
    """``with tracing(trace):`` runs a block with ``trace`` as the new innermost level."""
    return trace


def bind(prim: Any, args: tuple | list, kwargs: dict) -> Any:
    """Apply ``prim`` to ``args``: hand it to the highest trace among the
    arguments, or evaluate it directly when no argument is traced."""
    top = None
    for a in args:
        if isinstance(a, Tracer):
            t = a._trace
            if top is None or t.level > top.level:
                top = t
    if top is None:
        return prim.impl(*args, **kwargs)
    if not top.active:
        raise_leaked(top)
    return top.process(prim, args, kwargs)


_array_facade._bind = bind


def raise_leaked(trace: Trace) -> None:
    from ..errors import LeakedTracerError

    raise LeakedTracerError(
        f"A traced value from a {type(trace).__name__} (level {trace.level}) was used after "
        "its transform returned. Values computed inside a function being differentiated must "
        "not be stored in globals or closures and used later; return them from the function "
        "instead (use has_aux=True for extra outputs), or call cr.stop_gradient on them."
    )


def is_traced(x: Any) -> bool:
    """True for a tracer of any level."""
    return isinstance(x, Tracer)


def complex_error(prim: Any) -> NotImplementedError:
    """Complex intermediates are refused until their rules follow the complex
    convention; a wrong derivative would be worse than none."""
    return NotImplementedError(
        f"{prim.name} produced a complex result inside a function being differentiated; "
        "chainrule does not differentiate through complex numbers yet. Work with the real "
        "and imaginary parts as separate real arrays, or apply cr.stop_gradient to the "
        "complex part if it should not be differentiated."
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
