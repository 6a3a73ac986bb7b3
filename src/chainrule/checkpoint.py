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

from . import tree
from .core.reverse import ReverseTrace
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
            return rec.pull_back(_fill(g_leaves, rec.out_values), last=True)

        return _record(top, unwrapped, out, pull)

    return checkpointed
