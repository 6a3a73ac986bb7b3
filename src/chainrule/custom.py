"""Custom derivatives: ``custom_vjp``, ``custom_jvp`` and ``linear_transpose``.

A custom function behaves like a primitive whose rules the user supplies.
Each mode needs the rule it was not given, and gets it by transposition: the
VJP ``g -> bwd(res, g)`` is linear in ``g``, so the JVP is its transpose
(``t -> J t``), obtained with one reverse pass over ``bwd``; likewise the JVP
rule is linear in the tangents and its transpose is the VJP. Transposing costs
a reverse pass over the user's rule each time it is used; in exchange, every
transform works on every custom function, to any order, as long as the
user's rules are written with NumPy operations.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import numpy as np

from . import tree
from .core.forward import ForwardTrace, ForwardTracer
from .core.reverse import ReverseTrace, ReverseTracer
from .core.trace import Tracer, raise_leaked, strip


def _top_trace(leaves: list) -> Any:
    top = None
    for a in leaves:
        if isinstance(a, Tracer) and (top is None or a._trace.level > top.level):
            top = a._trace
    if top is not None and not top.active:
        raise_leaked(top)
    return top


def _zeros_like(x: Any) -> np.ndarray:
    v = strip(x)
    return np.zeros(np.shape(v), dtype=np.result_type(v))


def _is_float(x: Any) -> bool:
    return np.result_type(strip(x)).kind == "f"


class _Unwrapped:
    """The arguments of a custom function with one trace's tracers removed."""

    def __init__(self, args: tuple, trace: Any) -> None:
        self.leaves, self.treedef = tree.flatten(args)
        self.values = [self._own(a, trace) for a in self.leaves]
        self.traced = [i for i, a in enumerate(self.leaves) if self._own(a, trace) is not a]
        # Whether lower (outer) transforms are also following these arguments.
        self.nested = any(isinstance(v, Tracer) for v in self.values)

    @staticmethod
    def _own(a: Any, trace: Any) -> Any:
        return a._value if isinstance(a, Tracer) and a._trace is trace else a

    def args(self, leaves: list | None = None) -> tuple:
        return self.treedef.unflatten(self.values if leaves is None else leaves)


def _flat_cotangents(cts: Any, args: _Unwrapped, who: str) -> list:
    """Check a tuple of argument cotangents from a user rule; flatten it."""
    n = len(args.treedef.unflatten(args.values))
    if not isinstance(cts, (tuple, list)) or len(cts) != n:
        raise ValueError(
            f"{who} must return a tuple with one cotangent per argument ({n}), "
            f"got {type(cts).__name__}"
            + (f" of length {len(cts)}" if isinstance(cts, (tuple, list)) else "")
        )
    out: list[Any] = []
    for ct, value in zip(_leaves_up_to(tuple(cts), args.treedef), args.values):
        if ct is None:
            out.append(None)
            continue
        if np.shape(strip(ct)) != np.shape(strip(value)):
            raise ValueError(
                f"{who} returned a cotangent of shape {np.shape(strip(ct))} for an argument of "
                f"shape {np.shape(strip(value))}; they must match."
            )
        out.append(ct)
    return out


def _leaves_up_to(cts: tuple, treedef: Any) -> list:
    """Flatten ``cts`` to the leaves of ``treedef``, allowing ``None`` for a whole argument."""
    per_arg = treedef.unflatten(list(range(treedef.num_leaves)))
    out: list = [None] * treedef.num_leaves
    for ct, positions in zip(cts, per_arg):
        pos_leaves = tree.leaves(positions)
        if ct is None:
            continue
        ct_leaves = tree.leaves(ct) if pos_leaves else []
        if len(ct_leaves) != len(pos_leaves):
            raise ValueError(
                "a custom rule returned a cotangent whose structure does not match its argument"
            )
        for p, c in zip(pos_leaves, ct_leaves):
            out[p] = c
    return out


class _Parts:
    """Cotangents of several outputs of one custom call, gathered for one
    call of the user's backward rule. Adding two merges them."""

    __slots__ = ("parts",)

    def __init__(self, parts: list) -> None:
        self.parts = parts

    def __add__(self, other: _Parts) -> _Parts:
        return _Parts(
            [b if a is None else a if b is None else a + b for a, b in zip(self.parts, other.parts)]
        )


def _record(trace: ReverseTrace, args: _Unwrapped, out: Any, pull: Callable) -> Any:
    """Put a custom call on the tape. ``pull(list of output cotangents or
    None)`` returns the cotangents of the traced argument leaves."""
    out_leaves, out_tree = tree.flatten(out)
    pull = _batched_pull(pull, out_leaves, [args.values[i] for i in args.traced])
    tape = trace.tape
    parents = [args.leaves[i]._index for i in args.traced]
    floats = [k for k, o in enumerate(out_leaves) if _is_float(o)]
    wrapped = list(out_leaves)
    if len(floats) == 1 and len(out_leaves) == 1:
        tape.append((parents, lambda g: pull([g])))
        wrapped[0] = ReverseTracer(out_leaves[0], trace, len(tape) - 1)
        return out_tree.unflatten(wrapped)
    n = len(out_leaves)
    tape.append((parents, lambda gathered: pull(gathered.parts)))
    joint = len(tape) - 1
    for k in floats:

        def gather(g: Any, k: int = k) -> _Parts:
            parts: list = [None] * n
            parts[k] = g
            return _Parts(parts)

        tape.append(([joint], [gather]))
        wrapped[k] = ReverseTracer(out_leaves[k], trace, len(tape) - 1)
    return out_tree.unflatten(wrapped)


def _batched_pull(pull: Callable, out_leaves: list, inputs: list) -> Callable:
    """User rules see one cotangent at a time: loop over a batch of them
    (``jacrev``), stacking the results."""
    ndims = [np.ndim(strip(o)) for o in out_leaves]

    def looped(gs: list) -> list:
        k, g = next((k, g) for k, g in enumerate(gs) if g is not None)
        if g.ndim == ndims[k]:
            return pull(gs)
        rows = [looped([None if h is None else h[b] for h in gs]) for b in range(g.shape[0])]
        return [
            None
            if all(r[j] is None for r in rows)
            else np.stack([_zeros_like(inputs[j]) if r[j] is None else r[j] for r in rows])
            for j in range(len(rows[0]))
        ]

    return looped


def _fill(cts: list, like: list) -> list:
    return [_zeros_like(o) if c is None else c for c, o in zip(cts, like)]


def _inexact(x: Any) -> bool:
    return np.result_type(strip(x)).kind in "fc"


def _transpose(linear: Callable, example: list, cotangent: list) -> list:
    """Apply the transpose of ``linear`` (list of arrays -> list of arrays,
    linear) to ``cotangent``, by one reverse pass. ``example`` holds zeros
    shaped like the inputs. Integer inputs and outputs carry no derivative:
    they are held fixed, and their entries in the result are ``None``."""
    from .transforms import vjp

    ins = [k for k, e in enumerate(example) if _inexact(e)]
    outs = [j for j, c in enumerate(cotangent) if _inexact(c)]

    def restricted(xs: Any) -> list:
        full = list(example)
        for k, x in zip(ins, xs):
            full[k] = x
        result = linear(full)
        return [result[j] for j in outs]

    _, pull = vjp(restricted, [example[k] for k in ins])
    (cts,) = pull([cotangent[j] for j in outs])
    answer: list = [None] * len(example)
    for k, c in zip(ins, cts):
        answer[k] = c
    return answer


def _per_batch(trace: ForwardTrace, tangents: list, fn: Callable) -> list:
    """Run ``fn`` (a list of tangents -> a list of output tangents, ``None``
    for outputs without one) for each tangent of a batch, and stack them."""
    if not trace.batch_ndim:
        return fn(tangents)
    size = next(np.shape(strip(t))[0] for t in tangents if t is not None)
    if size == 0:  # an empty batch (a Jacobian of an empty input): shapes only
        probe = fn(
            [
                None
                if t is None
                else np.zeros(np.shape(strip(t))[1:], dtype=np.result_type(strip(t)))
                for t in tangents
            ]
        )
        return [
            None
            if p is None
            else np.zeros((0,) + np.shape(strip(p)), dtype=np.result_type(strip(p)))
            for p in probe
        ]
    rows = [fn([None if t is None else t[b] for t in tangents]) for b in range(size)]
    return [
        None if rows[0][k] is None else np.stack([row[k] for row in rows])
        for k in range(len(rows[0]))
    ]


def _enter(fun: Callable, args: tuple, has_rule: bool, kind: str, how: str) -> Any:
    """The start of a call of a custom function: ``None`` when no transform
    follows its arguments (just call it), else ``(top trace, unwrapped args)``."""
    if not has_rule:
        raise TypeError(
            f"{kind} function {fun.__name__} has no rule yet: call "
            f"{fun.__name__}.{how} before using it"
        )
    top = _top_trace(tree.leaves(args))
    if top is None:
        return None
    unwrapped = _Unwrapped(args, top)
    return (top, unwrapped) if unwrapped.traced else None


def _select(items: list, positions: list[int]) -> list:
    return [items[i] for i in positions]


class custom_vjp:  # noqa: N801 - a decorator, named like JAX's
    """Give a function your own vector-Jacobian product.

    ``f.defvjp(fwd, bwd)``: ``fwd(*args) -> (out, residuals)`` computes the
    output and whatever the backward step needs; ``bwd(residuals, g)``
    returns a tuple with one cotangent per argument (``None`` for zero).
    Forward mode (``jvp``, ``jacfwd``, ``hessian``) works too: it transposes
    ``bwd``, so write ``bwd`` with NumPy operations.

    >>> import chainrule as cr, numpy as np
    >>> @cr.custom_vjp
    ... def clip_gradient(x):
    ...     return x
    >>> clip_gradient.defvjp(lambda x: (x, None), lambda res, g: (np.clip(g, -1.0, 1.0),))
    >>> cr.grad(lambda x: 10.0 * clip_gradient(x))(3.0)
    np.float64(1.0)
    """

    def __init__(self, fun: Callable) -> None:
        if not callable(fun):
            raise TypeError(f"custom_vjp decorates a function, got {fun!r}")
        self.fun = fun
        self.fwd: Callable | None = None
        self.bwd: Callable | None = None
        functools.update_wrapper(self, fun)

    def defvjp(self, fwd: Callable, bwd: Callable) -> None:
        """Set the forward rule ``fwd(*args) -> (out, residuals)`` and the
        backward rule ``bwd(residuals, g) -> tuple of cotangents``."""
        if not callable(fwd) or not callable(bwd):
            raise TypeError("defvjp(fwd, bwd) takes two functions")
        self.fwd, self.bwd = fwd, bwd

    def __call__(self, *args: Any) -> Any:
        entered = _enter(self.fun, args, self.fwd is not None, "custom_vjp", "defvjp(fwd, bwd)")
        if entered is None:
            return self.fun(*args)
        top, unwrapped = entered
        out, res = self._forward(unwrapped)
        if unwrapped.nested:
            # Lower levels must see the custom rule too, not fwd's internals.
            out = self(*unwrapped.args())
        out_leaves, out_tree = tree.flatten(out)

        def pull_all(g_leaves: list) -> list:
            assert self.bwd is not None  # _enter checked that defvjp ran
            g = out_tree.unflatten(_fill(g_leaves, out_leaves))
            return _flat_cotangents(self.bwd(res, g), unwrapped, f"{self.fun.__name__}'s bwd")

        if isinstance(top, ReverseTrace):
            return _record(top, unwrapped, out, lambda gs: _select(pull_all(gs), unwrapped.traced))
        return _push(top, unwrapped, out_leaves, out_tree, pull_all)

    def _forward(self, args: _Unwrapped) -> tuple[Any, Any]:
        assert self.fwd is not None  # _enter checked that defvjp ran
        result = self.fwd(*args.args())
        if not (isinstance(result, tuple) and len(result) == 2):
            raise TypeError(f"{self.fun.__name__}'s fwd must return a pair (out, residuals)")
        return result


def _push(
    trace: ForwardTrace, args: _Unwrapped, out_leaves: list, out_tree: Any, pull_all: Callable
) -> Any:
    """Forward mode through a custom VJP: transpose ``pull_all``."""
    tangents = [
        args.leaves[i]._tangent if i in args.traced else None for i in range(len(args.leaves))
    ]
    zero_g = [_zeros_like(o) for o in out_leaves]

    def one(ts: list) -> list:
        return _transpose(
            lambda gs: _fill(pull_all(gs), args.values), zero_g, _fill(ts, args.values)
        )

    out_t = _per_batch(trace, tangents, one)
    return out_tree.unflatten(
        [ForwardTracer(o, trace, t) if _is_float(o) else o for o, t in zip(out_leaves, out_t)]
    )


class custom_jvp:  # noqa: N801 - a decorator, named like JAX's
    """Give a function your own Jacobian-vector product.

    ``f.defjvp(rule)``: ``rule(primals, tangents) -> (out, tangent_out)``,
    where ``primals`` and ``tangents`` are tuples of the arguments. Reverse
    mode works too: it transposes the rule's tangent map, which must
    therefore be linear in the tangents and written with NumPy operations.

    >>> import chainrule as cr, numpy as np
    >>> @cr.custom_jvp
    ... def softplus(x):
    ...     return np.logaddexp(0.0, x)
    >>> _ = softplus.defjvp(lambda p, t: (softplus(p[0]), t[0] / (1.0 + np.exp(-p[0]))))
    >>> cr.grad(softplus)(1000.0)
    np.float64(1.0)
    """

    def __init__(self, fun: Callable) -> None:
        if not callable(fun):
            raise TypeError(f"custom_jvp decorates a function, got {fun!r}")
        self.fun = fun
        self.rule: Callable | None = None
        functools.update_wrapper(self, fun)

    def defjvp(self, rule: Callable) -> Callable:
        """Set ``rule(primals, tangents) -> (out, tangent_out)``."""
        if not callable(rule):
            raise TypeError("defjvp(rule) takes a function")
        self.rule = rule
        return rule

    def __call__(self, *args: Any) -> Any:
        entered = _enter(self.fun, args, self.rule is not None, "custom_jvp", "defjvp(rule)")
        if entered is None:
            return self.fun(*args)
        top, unwrapped = entered
        if isinstance(top, ForwardTrace):
            return self._push(top, unwrapped)
        out = self(*unwrapped.args()) if unwrapped.nested else self.fun(*unwrapped.args())
        out_leaves, _ = tree.flatten(out)

        def tangent_map(ts: list) -> list:
            return tree.leaves(self._apply(unwrapped, _fill(ts, unwrapped.values))[1])

        example = [unwrapped.values[i] for i in range(len(unwrapped.values))]

        def pull(g_leaves: list) -> list:
            cts = _transpose(
                tangent_map, [_zeros_like(v) for v in example], _fill(g_leaves, out_leaves)
            )
            return [cts[i] for i in unwrapped.traced]

        return _record(top, unwrapped, out, pull)

    def _apply(self, args: _Unwrapped, tangent_leaves: list) -> tuple[Any, Any]:
        assert self.rule is not None  # _enter checked that defjvp ran
        result = self.rule(args.args(), args.args(tangent_leaves))
        if not (isinstance(result, tuple) and len(result) == 2):
            raise TypeError(f"{self.fun.__name__}'s jvp rule must return (out, tangent_out)")
        return result

    def _push(self, trace: ForwardTrace, args: _Unwrapped) -> Any:
        tangents = [
            args.leaves[i]._tangent if i in args.traced else None for i in range(len(args.leaves))
        ]
        out = None

        def one(ts: list) -> list:
            nonlocal out
            out, t_out = self._apply(args, _fill(ts, args.values))
            return tree.leaves(t_out)

        out_t = _per_batch(trace, tangents, one)
        out_leaves, out_tree = tree.flatten(out)
        return out_tree.unflatten(
            [ForwardTracer(o, trace, t) if _is_float(o) else o for o, t in zip(out_leaves, out_t)]
        )


def linear_transpose(fun: Callable, *primals: Any) -> Callable:
    """The transpose of a linear function, as a function.

    For linear ``fun`` (``fun(a x + b y) = a fun(x) + b fun(y)``), returns
    ``ct -> tuple of cotangents``, one per argument: the map ``v -> J^T v``.
    ``primals`` only fix the shapes and dtypes of the arguments.

    >>> import chainrule as cr, numpy as np
    >>> A = np.array([[1.0, 2.0], [3.0, 4.0]])
    >>> cr.linear_transpose(lambda x: A @ x, np.zeros(2))(np.array([1.0, 0.0]))
    (array([1., 2.]),)
    """
    from .transforms import vjp

    _, pull = vjp(fun, *primals)
    return pull
