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
from .core.reverse import ReverseTrace
from .core.trace import strip
from .custom import _fill, _record, _top_trace, _Unwrapped
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
        top = _top_trace(tree.leaves(args))
        if not isinstance(top, ReverseTrace):
            return fun(*args)
        unwrapped = _Unwrapped(args, top)
        if not unwrapped.traced:
            return fun(*args)
        # Run at the levels below this one only: nothing is kept for this level.
        out = fun(*unwrapped.args())
        # The output is kept to check the recomputation against (the next
        # segment keeps it anyway, as its input).
        first, first_tree = tree.flatten(out)

        def pull(g_leaves: list) -> list:
            # Recompute, this time recording, and pull the cotangents through.
            traced = unwrapped.traced

            def of_traced(*vals: Any) -> Any:
                leaves = list(unwrapped.values)
                for i, v in zip(traced, vals):
                    leaves[i] = v
                return fun(*unwrapped.args(leaves))

            inputs = tuple(unwrapped.values[i] for i in traced)
            rec, _ = record(of_traced, inputs, {}, tuple(range(len(inputs))), False, "checkpoint")
            _check_same(fun, first, first_tree, rec.out_values, rec.out_tree)
            return rec.pull_back(_fill(g_leaves, rec.out_values), last=True)

        return _record(top, unwrapped, out, pull)

    return checkpointed


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
