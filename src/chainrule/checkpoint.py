"""``checkpoint``: trade compute for memory in reverse mode.

The forward pass runs the function without recording its inside and keeps
only its inputs; the backward pass runs it again, recording, and pulls the
cotangent through that fresh recording. Peak memory then holds one segment's
intermediates at a time instead of all of them, for about one extra forward
pass of compute.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import numpy as np

from . import tree
from .core.custom_call import CustomCall, fill, top_trace
from .core.trace import strip
from .transforms.reverse_mode import record


def checkpoint(fun: Callable) -> Callable:
    """Return ``fun`` unchanged in value, but with its intermediates recomputed
    in the backward pass instead of stored.

    Use it on the segments of a long computation (layers of a network, steps
    of a simulation) when reverse mode runs out of memory. Forward mode and
    plain calls are not affected.

    >>> import chainrule as cr, numpy as np
    >>> layer = cr.checkpoint(lambda x: np.tanh(np.sin(x) * 2.0))
    >>> x = np.array([0.1, 0.2])
    >>> bool(np.allclose(cr.grad(lambda x: np.sum(layer(layer(x))))(x),
    ...                  cr.grad(lambda x: np.sum(np.tanh(np.sin(np.tanh(np.sin(x) * 2)) * 2)))(x)))
    True
    """
    if not callable(fun):
        raise TypeError(f"checkpoint expects a function, got {fun!r}")

    @functools.wraps(fun)
    def checkpointed(*args: Any) -> Any:
        top = top_trace(tree.leaves(args))
        if top is None:
            return fun(*args)
        call = _CheckpointCall(fun, args, top)
        if not call.traced:
            return fun(*args)
        return top.process_checkpoint(call)

    return checkpointed


class _CheckpointCall(CustomCall):
    """A checkpointed function called on traced values (core/custom_call.py):
    reverse mode records only its inputs and recomputes it in its pull-back."""

    def __init__(self, fun: Callable, args: tuple, trace: Any) -> None:
        super().__init__(args, trace)
        self.fun = fun
        self.original = args

    def plain(self) -> Any:
        return self.fun(*self.original)

    def linearize(self) -> tuple[list, Any, Callable]:
        fun, traced = self.fun, self.traced
        # Run at the levels below this one only: nothing is kept for this level.
        # The output is kept to check the recomputation against (the next
        # segment keeps it anyway, as its input).
        first, first_tree = tree.flatten(fun(*self.args()))

        def pull(g_leaves: list) -> list:
            # Recompute, this time recording, and pull the cotangents through.
            def of_traced(*vals: Any) -> Any:
                leaves = list(self.values)
                for i, v in zip(traced, vals):
                    leaves[i] = v
                return fun(*self.args(leaves))

            inputs = tuple(self.values[i] for i in traced)
            rec, _ = record(of_traced, inputs, {}, tuple(range(len(inputs))), False, "checkpoint")
            _check_same(fun, first, first_tree, rec.out_values, rec.out_tree)
            return rec.pull_back(fill(g_leaves, rec.out_values), last=True)

        return first, first_tree, pull

    def push(self, tangents: list, batch_ndim: int) -> tuple[list, Any, list]:  # pragma: no cover
        raise NotImplementedError("forward mode follows a checkpointed function's inside")


# Recomputing the same operations on the same values gives the same bits;
# the tolerance only forgives a different order of rounding.
_RTOL = 1e-12


def _check_same(fun: Callable, first: list, first_tree: Any, again: list, again_tree: Any) -> None:
    """Raise if the backward pass's recomputation of ``fun`` differs from its
    first run: the derivative would then belong to another value."""
    where = ""
    if first_tree != again_tree:
        where = f"its output had the structure {first_tree}, and then {again_tree}"
    else:
        for k, (a, b) in enumerate(zip(first, again)):
            a, b = np.asarray(strip(a)), np.asarray(strip(b))
            if a.shape != b.shape or a.dtype != b.dtype:
                where = f"output leaf {k} had shape {a.shape} {a.dtype}, then {b.shape} {b.dtype}"
                break
            if a.dtype.kind in "fc":
                scale = np.max(np.abs(a[np.isfinite(a)]), initial=0.0)
                same = np.allclose(b, a, rtol=_RTOL, atol=_RTOL * scale, equal_nan=True)
            else:
                same = np.array_equal(a, b)
            if not same:
                with np.errstate(all="ignore"):
                    diff = np.max(np.abs(b - a)) if a.dtype.kind in "fciu" else "-"
                where = f"output leaf {k} changed (largest difference {diff})"
                break
    if where:
        name = getattr(fun, "__name__", repr(fun))
        raise RuntimeError(
            f"cr.checkpoint({name}): the function gave a different result when it was run "
            f"again in the backward pass: {where}. checkpoint recomputes its function instead "
            "of storing its intermediates, so the function must be deterministic, a pure "
            "function of its arguments; otherwise its derivative would belong to a different "
            "value. Draw random numbers and update counters or other state outside the "
            "checkpointed function and pass the results in as arguments."
        )
