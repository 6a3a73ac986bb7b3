"""Calls of functions that bring their own derivative: what a trace sees.

``custom_vjp``, ``custom_jvp`` and ``checkpoint`` (one floor up) each wrap a
user function. Called on traced values, they build a ``CustomCall`` and hand
it to the highest trace among the arguments, through that trace's
``process_custom_vjp``, ``process_custom_jvp`` or ``process_checkpoint``:
the trace decides what to do with it, and only the trace touches its own
records (the tape, the tangents). A ``CustomCall`` offers the two ways a
derivative can go through it:

* ``linearize()`` -> ``(out_leaves, out_tree, pull)``: the output, and
  ``pull(list of output cotangents, None for zero)`` -> the cotangents of the
  traced argument leaves (``traced``, in order).
* ``push(tangents, batch_ndim)`` -> ``(out_leaves, out_tree, out_tangents)``:
  the output and its tangents (``None`` for zero) from the tangents of every
  argument leaf (``None`` where untraced); ``batch_ndim`` leading axes of the
  tangents are a batch (``jacfwd``).
* ``plain()``: the function run on the original arguments, its inside traced
  like any code (what ``checkpoint`` is outside reverse mode).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import tree
from .trace import Tracer, raise_leaked, strip


def top_trace(leaves: list[Any]) -> Any:
    """The highest trace among ``leaves`` (None when nothing is traced)."""
    top = None
    for a in leaves:
        if isinstance(a, Tracer) and (top is None or a._trace.level > top.level):
            top = a._trace
    if top is not None and not top.active:
        raise_leaked(top)
    return top


def zeros_like(x: Any) -> np.ndarray:
    """Plain zeros shaped like the value under ``x``."""
    v = strip(x)
    return np.zeros(np.shape(v), dtype=np.result_type(v))


def fill(cts: list[Any], like: list[Any]) -> list[Any]:
    """``cts`` with zeros shaped like ``like`` in place of each ``None``."""
    return [zeros_like(o) if c is None else c for c, o in zip(cts, like)]


def is_float(x: Any) -> bool:
    """Whether ``x`` is a real floating value: the outputs a trace follows."""
    return bool(np.result_type(strip(x)).kind == "f")


class CustomCall:
    """One call of a function with its own derivative, on values of ``trace``.

    ``leaves``/``treedef``: the flattened arguments; ``values``: the leaves with
    ``trace``'s tracers unwrapped (tracers of lower levels stay); ``traced``:
    the positions of ``trace``'s tracers; ``nested``: whether lower levels are
    following the arguments too. Subclasses supply ``linearize``, ``push`` and
    ``plain`` (see the module docstring).
    """

    def __init__(self, args: tuple[Any, ...], trace: Any) -> None:
        self.trace = trace
        self.leaves, self.treedef = tree.flatten(args)
        self.values = [self._own(a) for a in self.leaves]
        self.traced = [i for i, a in enumerate(self.leaves) if self.values[i] is not a]
        self.nested = any(isinstance(v, Tracer) for v in self.values)

    def _own(self, a: Any) -> Any:
        return a._value if isinstance(a, Tracer) and a._trace is self.trace else a

    def args(self, leaves: list[Any] | None = None) -> tuple[Any, ...]:
        """The arguments rebuilt from ``leaves`` (by default the unwrapped values)."""
        return self.treedef.unflatten(self.values if leaves is None else leaves)  # type: ignore[no-any-return]

    def linearize(self) -> tuple[list[Any], Any, Any]:  # pragma: no cover - see subclasses
        raise NotImplementedError

    def push(  # pragma: no cover
        self, tangents: list[Any], batch_ndim: int
    ) -> tuple[list[Any], Any, list[Any]]:
        raise NotImplementedError

    def plain(self) -> Any:  # pragma: no cover - see subclasses
        raise NotImplementedError


def loop_over_batch(pull: Any, out_leaves: list[Any], inputs: list[Any]) -> Any:
    """A pull-back that takes one cotangent at a time (a user's rule), made to
    take a batch of them on leading axes (``jacrev``): the default batching
    rule, a loop stacking the results with ``core.batching.stack_examples``
    (the same default ``vmap`` uses for a primitive without a rule). An
    example whose cotangent of an input is a symbolic zero gets zeros shaped
    like the other examples' (``inputs``, the traced inputs, fix nothing more)."""
    from .batching import stack_examples

    ndims = [np.ndim(strip(o)) for o in out_leaves]

    def looped(gs: list[Any]) -> list[Any]:
        k, g = next((k, g) for k, g in enumerate(gs) if g is not None)
        if g.ndim == ndims[k]:
            return pull(gs)  # type: ignore[no-any-return]
        rows = [looped([None if h is None else h[b] for h in gs]) for b in range(g.shape[0])]
        return stack_examples(rows)  # type: ignore[no-any-return]

    return looped
