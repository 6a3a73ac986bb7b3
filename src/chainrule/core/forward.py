"""Forward mode: carry a tangent beside every traced value, eagerly.

A tangent may hold a stack of tangents on extra leading axes (``jacfwd``
pushes the whole identity at once). Values that do not depend on the input
carry no tangent at all — the symbolic zero — so nothing is allocated for them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from . import reverse as _reverse
from .array_facade import MaskedArray, refuse_masked
from .custom_call import is_float
from .primitive import Primitive, rule_at
from .trace import Trace, Tracer, bind, refuse_complex

if TYPE_CHECKING:  # annotations only: the committed trace.py may not define them yet
    from .trace import Args, Kwargs


class ForwardTracer(Tracer):
    """A value with its tangent (possibly a stack of tangents)."""

    __slots__ = ("_tangent",)

    def __init__(self, value: Any, trace: ForwardTrace, tangent: Any) -> None:
        self._value = value
        self._trace = trace
        self._tangent = tangent


class _Lowered:
    """``prim`` applied through ``bind``: to values traced at lower levels."""

    __slots__ = ("prim",)

    def __init__(self, prim: Primitive) -> None:
        self.prim = prim

    def __call__(self, *args: Any) -> Any:
        return bind(self.prim, args, {})


class ForwardTrace(Trace):
    """Pushes tangents through each primitive as it runs."""

    __slots__ = ("batch_ndim",)

    def __init__(self, batch_ndim: int = 0) -> None:
        super().__init__()
        self.batch_ndim = batch_ndim

    def process_primitive(self, prim: Primitive, args: Args, kwargs: Kwargs) -> Any:
        """Apply ``prim`` and its JVP rules; return its tracer(s) (or plain
        values where no tangent flows). The hot path first: one traced
        argument of this trace among at most two; ``_general`` does the rest."""
        rules = prim.jvp
        n = len(args)
        if kwargs or n > 2 or type(rules) is not list:
            return self._general(prim, args, kwargs)
        if prim.multiple_results:
            return self._general(prim, args, kwargs)
        a = args[0]
        if n == 1:
            x, i = a, 0
        elif isinstance(a, Tracer):
            if isinstance(args[1], Tracer):
                return self._general(prim, args, kwargs)
            x, i = a, 0
        else:
            x, i = args[1], 1
        if x._trace is not self:
            return self._general(prim, args, kwargs)
        v = x._value
        if n == 2:
            other = args[1 - i]
            if type(other) in _NUMBERS:
                crule = prim.constant_rules[i]  # x * 2.0 and friends (see ConstantRule)
                if crule is not None and (crule.applies is None or crule.applies(other)):
                    ans = crule.op(v, other)  # a traced v of a lower level handles itself
                    return ForwardTracer(ans, self, crule.jvp(x._tangent, ans, v, other))
        rule = rules[i] if i < len(rules) else None
        if rule is None:
            return self._general(prim, args, kwargs)
        # A traced value of a lower level is handed down to its own trace.
        impl = prim.impl if not isinstance(v, Tracer) else _Lowered(prim)
        if n == 1:
            ans = impl(v)
            if not prim.complex_ok:
                refuse_complex(prim, ans, v)
            t = rule(x._tangent, ans, v)
        else:
            if type(other) is not np.ndarray and isinstance(other, MaskedArray):
                refuse_masked(prim, other)
            if prim.fused_jvp is not None and impl is prim.impl:
                both = prim.fused_jvp(i, v, other, x._tangent)
                if both is not None:
                    return ForwardTracer(both[0], self, both[1])
            ans = impl(v, other) if i == 0 else impl(other, v)
            if not prim.complex_ok:
                refuse_complex(prim, ans, v)
            t = rule(x._tangent, ans, v, other) if i == 0 else rule(x._tangent, ans, other, v)
        return ans if t is None else ForwardTracer(ans, self, t)

    def process_custom_vjp(self, call: Any) -> Any:
        """A function with its own derivative (core/custom_call.py): its output
        tangents from the call's ``push``."""
        tangents = [
            a._tangent if isinstance(a, Tracer) and a._trace is self else None for a in call.leaves
        ]
        out_leaves, out_tree, out_t = call.push(tangents, self.batch_ndim)
        return out_tree.unflatten(
            [
                ForwardTracer(o, self, t) if t is not None and is_float(o) else o
                for o, t in zip(out_leaves, out_t)
            ]
        )

    process_custom_jvp = process_custom_vjp

    def _general(self, prim: Primitive, args: Args, kwargs: Kwargs) -> Any:
        # The rest of process_primitive: any arguments, keywords, levels, results.
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
            elif isinstance(a, MaskedArray):
                refuse_masked(prim, a)
        ans = bind(prim, vals, kwargs) if lower else prim.impl(*vals, **kwargs)
        multiple = prim.multiple_results
        if isinstance(ans, MaskedArray):  # a masked array inside a list argument
            refuse_masked(prim, ans)
        if not prim.complex_ok:
            refuse_complex(prim, *(ans if multiple else (ans,)), *(vals[i] for i, _ in tangents))
        rules = prim.jvp
        out: Any = None
        for i, t in tangents:
            rule = rule_at(rules, i)
            if rule is None:
                continue
            ti = rule(t, ans, *vals, **kwargs)
            if ti is None:
                continue
            if not multiple:
                out = ti if out is None else out + ti
            elif out is None:
                out = list(ti)
            else:  # a tuple of tangents, one per result (None: zero)
                out = [b if a is None else a if b is None else a + b for a, b in zip(out, ti)]
        if multiple:
            if out is None:
                return ans
            return tuple(r if t is None else ForwardTracer(r, self, t) for r, t in zip(ans, out))
        if out is None:
            return ans
        return ForwardTracer(ans, self, out)


_NUMBERS = _reverse._NUMBERS
