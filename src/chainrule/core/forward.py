"""Forward mode: carry a tangent beside every traced value, eagerly.

A tangent may hold a stack of tangents on extra leading axes (``jacfwd``
pushes the whole identity at once). Values that do not depend on the input
carry no tangent at all — the symbolic zero — so nothing is allocated for them.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .primitive import Primitive
from .trace import Trace, Tracer, bind, complex_error, dtype_kind


class ForwardTracer(Tracer):
    """A value with its tangent (possibly a stack of tangents)."""

    __slots__ = ("_tangent",)

    def __init__(self, value: Any, trace: ForwardTrace, tangent: Any) -> None:
        self._value = value
        self._trace = trace
        self._tangent = tangent


class ForwardTrace(Trace):
    """Pushes tangents through each primitive as it runs."""

    __slots__ = ("batch_ndim",)

    def __init__(self, batch_ndim: int = 0) -> None:
        super().__init__()
        self.batch_ndim = batch_ndim

    def process_constant(self, rule: Any, x: Tracer, c: Any) -> Any:
        # The short path of ``x * 2.0`` and friends (see ConstantRule).
        v = x._value
        if (
            isinstance(v, Tracer)
            or not self.active
            or (rule.applies is not None and not rule.applies(c))
        ):
            return bind(rule.prim, rule.arguments(x, c), {})
        ans = rule.op(v, c)
        return ForwardTracer(ans, self, rule.jvp(x._tangent, ans, v, c))

    def process(self, prim: Primitive, args: tuple | list, kwargs: dict) -> Any:
        vals = list(args)
        tangents = []
        lower = False
        for i, a in enumerate(args):
            if isinstance(a, Tracer):
                if a._trace is self:
                    v = vals[i] = a._value
                    tangents.append((i, a._tangent))
                    if isinstance(v, Tracer):
                        lower = True
                else:
                    lower = True
        ans = bind(prim, vals, kwargs) if lower else prim.impl(*vals, **kwargs)
        if not prim.complex_ok and (
            dtype_kind(ans) == "c" or any(dtype_kind(vals[i]) == "c" for i, _ in tangents)
        ):
            raise complex_error(prim)
        rules = prim.jvp
        out = None
        for i, t in tangents:
            rule = rules[i] if i < len(rules) else None
            if rule is None:
                continue
            if prim.batchable or not self.batch_ndim:
                ti = rule(t, ans, *vals, **kwargs)
            else:
                ti = np.stack([rule(tk, ans, *vals, **kwargs) for tk in t])
            if ti is not None:
                out = ti if out is None else out + ti
        if out is None:
            return ans
        return ForwardTracer(ans, self, out)
