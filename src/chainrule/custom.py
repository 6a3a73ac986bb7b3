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
from .core.batching import stack_examples
from .core.custom_call import CustomCall, fill, top_trace
from .core.custom_call import zeros_like as _zeros_like
from .core.trace import strip


def _flat_cotangents(cts: Any, args: CustomCall, who: str) -> list:
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


def _per_batch(batch_ndim: int, tangents: list, fn: Callable) -> list:
    """Run ``fn`` (a list of tangents -> a list of output tangents, ``None``
    for outputs without one) for each tangent of a batch, and stack them."""
    if not batch_ndim:
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
    # the default batching rule's stacking: an output without a tangent in some
    # rows only (a symbolic zero there) gets zeros in those rows
    return list(stack_examples([list(row) for row in rows]))


def _enter(fun: Callable, args: tuple, has_rule: bool, kind: str, how: str) -> Any:
    """The start of a call of a custom function: the highest trace following
    its arguments, or ``None`` when none does (just call it)."""
    if not has_rule:
        raise TypeError(
            f"{kind} function {fun.__name__} has no rule yet: call "
            f"{fun.__name__}.{how} before using it"
        )
    return top_trace(tree.leaves(args))


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
        top = _enter(self.fun, args, self.fwd is not None, "custom_vjp", "defvjp(fwd, bwd)")
        if top is None:
            return self.fun(*args)
        call = _VjpCall(self, args, top)
        if not call.traced:
            return self.fun(*args)
        return top.process_custom_vjp(call)


class _VjpCall(CustomCall):
    """A ``custom_vjp`` function called on traced values (core/custom_call.py)."""

    def __init__(self, rule: custom_vjp, args: tuple, trace: Any) -> None:
        super().__init__(args, trace)
        self.rule = rule
        self.original = args

    def _pull_all(self) -> tuple[list, Any, Callable]:
        rule = self.rule
        result = rule.fwd(*self.args())  # type: ignore[misc]
        if not (isinstance(result, tuple) and len(result) == 2):
            raise TypeError(f"{rule.fun.__name__}'s fwd must return a pair (out, residuals)")
        out, res = result
        if self.nested:
            # Lower levels must see the custom rule too, not fwd's internals.
            out = rule(*self.args())
        out_leaves, out_tree = tree.flatten(out)
        who = f"{rule.fun.__name__}'s bwd"

        def pull_all(g_leaves: list) -> list:
            g = out_tree.unflatten(fill(g_leaves, out_leaves))
            return _flat_cotangents(rule.bwd(res, g), self, who)  # type: ignore[misc]

        return out_leaves, out_tree, pull_all

    def linearize(self) -> tuple[list, Any, Callable]:
        out_leaves, out_tree, pull_all = self._pull_all()

        def pull(gs: list) -> list:
            cts = pull_all(gs)
            return [cts[i] for i in self.traced]

        return out_leaves, out_tree, pull

    def push(self, tangents: list, batch_ndim: int) -> tuple[list, Any, list]:
        # Forward mode through a custom VJP: transpose the pull-back.
        out_leaves, out_tree, pull_all = self._pull_all()
        zero_g = [_zeros_like(o) for o in out_leaves]

        def one(ts: list) -> list:
            return _transpose(
                lambda gs: fill(pull_all(gs), self.values), zero_g, fill(ts, self.values)
            )

        return out_leaves, out_tree, _per_batch(batch_ndim, tangents, one)

    def plain(self) -> Any:  # pragma: no cover - traces follow custom rules
        return self.rule.fun(*self.original)


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
        top = _enter(self.fun, args, self.rule is not None, "custom_jvp", "defjvp(rule)")
        if top is None:
            return self.fun(*args)
        call = _JvpCall(self, args, top)
        if not call.traced:
            return self.fun(*args)
        return top.process_custom_jvp(call)


class _JvpCall(CustomCall):
    """A ``custom_jvp`` function called on traced values (core/custom_call.py)."""

    def __init__(self, rule: custom_jvp, args: tuple, trace: Any) -> None:
        super().__init__(args, trace)
        self.rule = rule
        self.original = args

    def _apply(self, tangent_leaves: list) -> tuple[Any, Any]:
        rule = self.rule
        result = rule.rule(self.args(), self.args(tangent_leaves))  # type: ignore[misc]
        if not (isinstance(result, tuple) and len(result) == 2):
            raise TypeError(f"{rule.fun.__name__}'s jvp rule must return (out, tangent_out)")
        return result

    def linearize(self) -> tuple[list, Any, Callable]:
        # Reverse mode through a custom JVP: transpose the tangent map.
        rule = self.rule
        out = rule(*self.args()) if self.nested else rule.fun(*self.args())
        out_leaves, out_tree = tree.flatten(out)

        def tangent_map(ts: list) -> list:
            return tree.leaves(self._apply(fill(ts, self.values))[1])

        def pull(g_leaves: list) -> list:
            cts = _transpose(
                tangent_map, [_zeros_like(v) for v in self.values], fill(g_leaves, out_leaves)
            )
            return [cts[i] for i in self.traced]

        return out_leaves, out_tree, pull

    def push(self, tangents: list, batch_ndim: int) -> tuple[list, Any, list]:
        out = None

        def one(ts: list) -> list:
            nonlocal out
            out, t_out = self._apply(fill(ts, self.values))
            return tree.leaves(t_out)

        out_t = _per_batch(batch_ndim, tangents, one)
        out_leaves, out_tree = tree.flatten(out)
        return out_leaves, out_tree, out_t

    def plain(self) -> Any:  # pragma: no cover - traces follow custom rules
        return self.rule.fun(*self.original)


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
