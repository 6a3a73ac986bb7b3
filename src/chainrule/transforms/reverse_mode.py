"""Reverse-mode transforms: ``vjp``, ``grad``, ``value_and_grad``."""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Literal, overload

import numpy as np

from .. import tree
from ..core.reverse import ReverseTrace, ReverseTracer, backward
from ..core.trace import (
    GcPause,
    Tracer,
    boundary_state,
    reraise_refused,
    restore_boundary,
    strip,
)
from ..rules.shape import astype
from ._foreign import refusal
from ._inputs import (
    ArgNums,
    as_differentiable,
    as_tangent,
    bare_numbers,
    check_callable,
    check_holomorphic_inputs,
    check_output_leaves,
    check_real_outputs,
    dtype_of,
    finish,
    flatten_diff_args,
    gradient_leaf,
    like_input,
    normalize_argnums,
    split_aux,
    substitute,
    zeros_for,
)
from .per_example import mark_gradient

if TYPE_CHECKING:
    from typing import Concatenate

    from ._typing import (
        AnyFunction,
        AnyValueAndGrad,
        ArrayLeaf0T,
        ArrayLeafT,
        AuxT,
        OutT,
        P,
        Transformed,
    )


class Recording:
    """One traced run of a function in reverse mode, ready to pull back
    cotangents (any number of times)."""

    __slots__ = (
        "tape",
        "in_leaves",
        "in_tree",
        "out_tree",
        "out_values",
        "out_index",
        "bare_numbers",
    )

    def __init__(
        self,
        trace: ReverseTrace,
        in_leaves: list[Any],
        in_tree: tree.TreeDef,
        out: Any,
        fname: str,
        bare_numbers: list[bool] | None = None,
    ) -> None:
        out_leaves, self.out_tree = tree.flatten(out)
        check_output_leaves(out_leaves, fname)
        self.tape = trace.tape
        self.in_leaves = in_leaves
        self.in_tree = in_tree
        self.bare_numbers = bare_numbers
        self.out_values: list[Any] = []
        self.out_index: list[int | None] = []
        for o in out_leaves:
            if isinstance(o, Tracer) and o._trace is trace:
                self.out_values.append(o._value)
                self.out_index.append(o._index)
            else:
                self.out_values.append(o)
                self.out_index.append(None)

    def out(self) -> Any:
        return self.out_tree.unflatten(self.out_values)

    def pull_back(
        self, cts: list[Any], lead: tuple[int, ...] = (), last: bool = False
    ) -> list[Any]:
        """Cotangents of the outputs (flat, each with ``lead`` batch axes) ->
        cotangents of the inputs (flat). ``last``: this is the recording's
        only pull-back, so the tape is released as it is walked (see
        ``core.reverse.backward``) and cannot be pulled through again."""
        seeds = [(i, g) for i, g in zip(self.out_index, cts) if i is not None]
        acc = backward(self.tape, seeds, consume=last)
        bare = self.bare_numbers
        return [
            input_gradient(acc[k], leaf, bare is not None and bare[k], cts, lead)
            for k, leaf in enumerate(self.in_leaves)
        ]


def input_gradient(
    ct: Any, leaf: Any, bare: bool, cts: list[Any], lead: tuple[int, ...] = ()
) -> Any:
    """The gradient handed back for input ``leaf`` from its accumulated
    cotangent ``ct`` (None: nothing reached it), the output cotangents having
    been ``cts`` with ``lead`` batch axes; ``bare``: the input was a bare number."""
    if ct is None:
        ct = zeros_for(leaf, lead)
    else:
        dtype = strip(leaf).dtype
        if ct.dtype != dtype:
            ct = astype(ct, dtype)
    if not lead and (type(ct) is not np.ndarray or bare):
        ct = gradient_leaf(ct, bare)
    if type(ct) is np.ndarray:
        if any(ct is c for c in cts):
            ct = ct.copy()  # the caller's own cotangent passed straight through (x + 1.0)
        elif not lead and type(leaf) is not np.ndarray:
            ct = like_input(ct, leaf)  # a Dask input's gradient is a Dask array
    return finish(ct)


def record(
    fun: Callable[..., Any],
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
    argnums: tuple[int, ...],
    has_aux: bool,
    fname: str,
) -> tuple[Recording, Any]:
    """Run ``fun`` with ``args[argnums]`` traced; returns the recording and aux."""
    leaves, in_tree = flatten_diff_args(args, argnums, fname)
    bare = bare_numbers(args, argnums)
    state = boundary_state()
    try:
        trace = ReverseTrace()
        with trace:
            inputs = [trace.new_input(v) for v in leaves]
            traced_args = in_tree.unflatten(inputs)
            try:
                result = fun(*substitute(args, argnums, traced_args), **kwargs)
            except Exception as error:
                reraise_refused(trace, error)  # a solver's own error hiding ours
                raise
    finally:  # an interrupt must not leave the trace open (see boundary_state)
        restore_boundary(state)
    out, aux = split_aux(result, has_aux, fname)
    rec = Recording(trace, leaves, in_tree, out, fname, bare)
    return rec, (unwrap(aux, trace) if has_aux else None)


def unwrap(x: Any, trace: object) -> Any:
    """Remove this trace's tracers from ``x`` (aux data is not differentiated)."""
    return tree.map(lambda v: v._value if isinstance(v, Tracer) and v._trace is trace else v, x)


@overload
def vjp(
    fun: Callable[..., OutT], *primals: Any, has_aux: Literal[False] = False
) -> tuple[OutT, Callable[[OutT], tuple[Any, ...]]]: ...
@overload
def vjp(
    fun: Callable[..., tuple[OutT, AuxT]], *primals: Any, has_aux: Literal[True]
) -> tuple[OutT, Callable[[OutT], tuple[Any, ...]], AuxT]: ...
@overload
def vjp(fun: Callable[..., Any], *primals: Any, has_aux: bool) -> tuple[Any, ...]: ...
def vjp(fun: Callable[..., Any], *primals: Any, has_aux: bool = False) -> tuple[Any, ...]:
    """Evaluate ``fun(*primals)`` and return its vector-Jacobian product function.

    Args:
        fun: function of ``len(primals)`` pytrees of float arrays.
        *primals: the point at which to differentiate.
        has_aux: ``fun`` returns ``(output, aux)``; aux is returned as is.

    Returns:
        ``(out, vjp_fn)`` or ``(out, vjp_fn, aux)``. ``vjp_fn(cotangent)`` takes a
        pytree shaped like ``out`` and returns a tuple with one cotangent per
        primal. It may be called any number of times.

    Types: ``out`` has the function's return type and ``vjp_fn`` takes a
    cotangent of that type; the cotangents it returns are typed ``Any`` (each
    has its primal's structure).

    >>> import chainrule as cr, numpy as np
    >>> out, f_vjp = cr.vjp(lambda x: x ** 2, np.array([1.0, 3.0]))
    >>> f_vjp(np.array([1.0, 10.0]))
    (array([ 2., 60.]),)
    """
    check_callable(fun, "vjp")
    rec, aux = record(fun, primals, {}, tuple(range(len(primals))), has_aux, "vjp")

    def vjp_fn(cotangent: Any) -> tuple[Any, ...]:
        cts = _check_cotangent(cotangent, rec)
        return tuple(rec.in_tree.unflatten(rec.pull_back(cts)))

    out = rec.out()
    return (out, vjp_fn, aux) if has_aux else (out, vjp_fn)


def _check_cotangent(cotangent: Any, rec: Recording) -> list[Any]:
    leaves, treedef = tree.flatten(cotangent)
    if treedef != rec.out_tree:
        raise ValueError(
            f"vjp_fn: the cotangent must have the structure of the output, {rec.out_tree}; "
            f"got {treedef}."
        )
    out = []
    for k, (g, o) in enumerate(zip(leaves, rec.out_values)):
        where = "" if len(leaves) == 1 else f" (output leaf {k})"
        if type(g) is not np.ndarray and (err := refusal(g, f"cotangent{where}", "vjp_fn")):
            raise err
        g_shape, o_shape = np.shape(strip(g)), np.shape(strip(o))
        if g_shape != o_shape:
            raise ValueError(
                f"vjp_fn: cotangent{where} has shape {g_shape}, but the output has shape "
                f"{o_shape}; the cotangent must have exactly the output's shape."
            )
        g_dtype, o_dtype = np.result_type(strip(g)), np.result_type(strip(o))
        # A complex output takes a real or complex cotangent; a real one a real one.
        allowed = "fc" if o_dtype.kind == "c" else "f"
        if g_dtype.kind not in allowed or (
            o_dtype.kind == "f" and g_dtype != o_dtype and not isinstance(g, float)
        ):
            raise ValueError(
                f"vjp_fn: cotangent{where} has dtype {g_dtype}, but the output has dtype "
                f"{o_dtype}; pass a cotangent of dtype {o_dtype} (and shape {o_shape})."
            )
        out.append(as_tangent(g, o_dtype) if not isinstance(g, Tracer) else g)
    return out


@overload
def value_and_grad(
    fun: np.ufunc, argnums: ArgNums = 0, has_aux: bool = False, holomorphic: bool = False
) -> AnyValueAndGrad: ...
@overload
def value_and_grad(
    fun: Callable[Concatenate[ArrayLeafT, P], OutT],
    argnums: Literal[0] = 0,
    has_aux: Literal[False] = False,
    holomorphic: bool = False,
) -> Transformed[Concatenate[ArrayLeafT, P], tuple[OutT, ArrayLeafT]]: ...
@overload
def value_and_grad(
    fun: Callable[Concatenate[ArrayLeafT, P], tuple[OutT, AuxT]],
    argnums: Literal[0] = 0,
    *,
    has_aux: Literal[True],
    holomorphic: bool = False,
) -> Transformed[Concatenate[ArrayLeafT, P], tuple[tuple[OutT, AuxT], ArrayLeafT]]: ...
@overload
def value_and_grad(
    fun: Callable[Concatenate[ArrayLeaf0T, ArrayLeafT, P], OutT],
    argnums: Literal[1],
    has_aux: Literal[False] = False,
    holomorphic: bool = False,
) -> Transformed[Concatenate[ArrayLeaf0T, ArrayLeafT, P], tuple[OutT, ArrayLeafT]]: ...
@overload
def value_and_grad(
    fun: Callable[Concatenate[ArrayLeaf0T, ArrayLeafT, P], OutT],
    argnums: tuple[Literal[0], Literal[1]],
    has_aux: Literal[False] = False,
    holomorphic: bool = False,
) -> Transformed[
    Concatenate[ArrayLeaf0T, ArrayLeafT, P], tuple[OutT, tuple[ArrayLeaf0T, ArrayLeafT]]
]: ...
@overload
def value_and_grad(
    fun: Callable[..., Any],
    argnums: ArgNums = 0,
    has_aux: bool = False,
    holomorphic: bool = False,
) -> AnyValueAndGrad: ...
def value_and_grad(
    fun: Callable[..., Any],
    argnums: ArgNums = 0,
    has_aux: bool = False,
    holomorphic: bool = False,
) -> Callable[..., tuple[Any, Any]]:
    """Make a function that returns ``(fun(*args), grad)``; with ``has_aux``,
    ``((value, aux), grad)``. See ``grad`` for the arguments and the types.

    >>> import chainrule as cr
    >>> cr.value_and_grad(lambda x: x ** 3)(2.0)
    (np.float64(8.0), np.float64(12.0))
    """
    check_callable(fun, "value_and_grad")
    return functools.wraps(fun)(
        _value_and_grad(fun, argnums, has_aux, "value_and_grad", holomorphic)
    )


def _value_and_grad(
    fun: Callable[..., Any], argnums: ArgNums, has_aux: bool, fname: str, holomorphic: bool = False
) -> Callable[..., tuple[Any, Any]]:
    # f(x) of one float array: the commonest call takes the short way (_one_array)
    one_array = type(argnums) is int and argnums == 0 and not has_aux and not holomorphic

    def value_and_grad_fun(*args: Any, **kwargs: Any) -> tuple[Any, Any]:
        if one_array and len(args) == 1 and not kwargs:
            x = args[0]
            if type(x) is np.ndarray and x.dtype.kind == "f":
                return _one_array(fun, x, fname)
        nums, is_tuple = normalize_argnums(argnums, len(args), fname)
        state = boundary_state()
        try:
            with GcPause():  # from the recording to the pull-back: the tape's whole life
                rec, aux = record(fun, args, kwargs, nums, has_aux, fname)
                value, grads = _pull_back_value(rec, fname, holomorphic)
        finally:  # the collector back on after an interrupt too (see boundary_state)
            restore_boundary(state)
        g = grads if is_tuple else grads[0]
        return ((value, aux), g) if has_aux else (value, g)

    return value_and_grad_fun


def _pull_back_value(rec: Recording, fname: str, holomorphic: bool) -> tuple[Any, Any]:
    """The checked scalar output of ``rec`` and the gradients (as ``rec.in_tree``)."""
    check_holomorphic_inputs(rec.in_leaves, holomorphic, fname, real_only=False)
    value = _check_scalar_output(rec, fname, holomorphic)
    v = strip(value)
    ct = v.dtype.type(1.0) if hasattr(v, "dtype") else np.float64(1.0)
    if getattr(v, "ndim", 0):  # an output of size 1, such as shape (1,) or (1, 1)
        ct = np.ones(np.shape(v), dtype=np.result_type(v))
    return value, rec.in_tree.unflatten(rec.pull_back([ct], last=True))


_ONE_ARGUMENT = tree.structure((0.0,))
_ONE = np.float64(1.0)


def _one_array(fun: Callable[..., Any], x: np.ndarray, fname: str) -> tuple[Any, Any]:
    """``value_and_grad(fun)(x)`` for one real float ndarray ``x``, without the
    pytree and argument bookkeeping of ``record``; an output other than a
    float64 scalar of this trace is finished by the general path. (Fixed
    costs per call matter for small functions called in a loop.)"""
    state = boundary_state()
    try:
        with GcPause():  # from the recording to the pull-back: the tape's whole life
            trace = ReverseTrace()
            with trace:
                try:
                    out = fun(trace.new_input(x))
                except Exception as error:
                    reraise_refused(trace, error)  # a solver's own error hiding ours
                    raise
            if type(out) is ReverseTracer and out._trace is trace:
                value = out._value
                if type(value) is np.float64:  # np.sum(...) and the like: a real scalar
                    ct = backward(trace.tape, [(out._index, _ONE)], consume=True)[0]
                    if type(ct) is not np.ndarray or ct.dtype != x.dtype:
                        ct = input_gradient(ct, x, False, [_ONE])
                    elif not ct.flags.writeable:
                        ct = ct.copy()
                    return value, ct
            rec = Recording(trace, [x], _ONE_ARGUMENT, out, fname)
            value, grads = _pull_back_value(rec, fname, False)
            return value, grads[0]
    finally:  # the collector back on after an interrupt too (see boundary_state)
        restore_boundary(state)


_LEAF = tree.structure(0.0)


def _check_scalar_output(rec: Recording, fname: str, holomorphic: bool = False) -> Any:
    if len(rec.out_values) != 1 or rec.out_tree != _LEAF:
        raise TypeError(
            f"{fname} needs the function to return a single scalar, but it returned "
            f"{rec.out_tree}. Return one number (and pass has_aux=True to return extra values "
            "as (value, aux)), or use cr.jacrev / cr.vjp for several outputs."
        )
    value = rec.out_values[0]
    shape = getattr(value, "shape", None)
    if type(shape) is not tuple:
        shape = np.shape(value)
    if shape != () and math.prod(shape) != 1:  # any size-1 output counts as its scalar
        raise TypeError(
            f"{fname} needs a scalar output, but the function returned an array of shape "
            f"{shape}. Reduce it to a scalar (e.g. output.sum()) or use cr.jacrev / cr.vjp "
            "to differentiate a vector-valued function."
        )
    dtype = dtype_of(value)
    if dtype.kind not in "fc":
        raise TypeError(
            f"{fname} needs a real floating-point output, but the function returned dtype "
            f"{dtype}. Integer and boolean outputs have no derivative."
        )
    check_real_outputs([value], holomorphic, fname)
    return value


@overload
def grad(
    fun: np.ufunc, argnums: ArgNums = 0, has_aux: bool = False, holomorphic: bool = False
) -> AnyFunction: ...
@overload
def grad(
    fun: Callable[Concatenate[ArrayLeafT, P], Any],
    argnums: Literal[0] = 0,
    has_aux: Literal[False] = False,
    holomorphic: bool = False,
) -> Transformed[Concatenate[ArrayLeafT, P], ArrayLeafT]: ...
@overload
def grad(
    fun: Callable[Concatenate[ArrayLeafT, P], tuple[Any, AuxT]],
    argnums: Literal[0] = 0,
    *,
    has_aux: Literal[True],
    holomorphic: bool = False,
) -> Transformed[Concatenate[ArrayLeafT, P], tuple[ArrayLeafT, AuxT]]: ...
@overload
def grad(
    fun: Callable[Concatenate[ArrayLeaf0T, ArrayLeafT, P], Any],
    argnums: Literal[1],
    has_aux: Literal[False] = False,
    holomorphic: bool = False,
) -> Transformed[Concatenate[ArrayLeaf0T, ArrayLeafT, P], ArrayLeafT]: ...
@overload
def grad(
    fun: Callable[Concatenate[ArrayLeaf0T, ArrayLeafT, P], Any],
    argnums: tuple[Literal[0], Literal[1]],
    has_aux: Literal[False] = False,
    holomorphic: bool = False,
) -> Transformed[Concatenate[ArrayLeaf0T, ArrayLeafT, P], tuple[ArrayLeaf0T, ArrayLeafT]]: ...
@overload
def grad(
    fun: Callable[..., Any],
    argnums: ArgNums = 0,
    has_aux: bool = False,
    holomorphic: bool = False,
) -> AnyFunction: ...
def grad(
    fun: Callable[..., Any],
    argnums: ArgNums = 0,
    has_aux: bool = False,
    holomorphic: bool = False,
) -> Callable[..., Any]:
    """Make a function that returns the gradient of scalar-valued ``fun``.

    Args:
        fun: function returning a scalar float (or an array of size 1, such as
            shape ``(1,)`` or ``(1, 1)``, which counts as its one element).
        argnums: which positional argument(s) to differentiate; an int gives one
            gradient, a tuple gives a tuple of gradients.
        has_aux: ``fun`` returns ``(value, aux)``; the new function returns
            ``(gradient, aux)``.
        holomorphic: ``fun`` is a holomorphic function of complex inputs with a
            complex output; the result is its complex derivative ``f'(z)``.
            Without it, a complex output is refused and a complex input ``z =
            x + iy`` of a real ``fun`` gets ``df/dx - i df/dy`` (the convention
            of JAX and autograd; see docs/design.md, "Complex numbers").

    Returns:
        A function with ``fun``'s signature returning gradients shaped like the
        differentiated arguments (pytrees included).

    Types: for an argument annotated as an array leaf (an ``ndarray``, a NumPy
    scalar or a ``float``) the gradient has the argument's type, so
    ``grad(f)(x)`` is ``NDArray[np.float64]`` for ``f(x: NDArray[np.float64])``;
    ``argnums=(0, 1)`` gives a tuple of the two types, ``has_aux=True`` (by
    keyword) ``(gradient, aux)`` with aux's type. A pytree argument, another
    ``argnums`` or an unannotated function (a lambda) gives ``Any``.

    >>> import chainrule as cr, numpy as np
    >>> cr.grad(lambda x: np.sum(np.sin(x)))(np.array([0.0, np.pi]))
    array([ 1., -1.])
    >>> cr.grad(lambda x, y: x * y, argnums=(0, 1))(2.0, 3.0)
    (np.float64(3.0), np.float64(2.0))
    """
    check_callable(fun, "grad")
    vg = _value_and_grad(fun, argnums, has_aux, "grad", holomorphic)

    @functools.wraps(fun)
    def grad_fun(*args: Any, **kwargs: Any) -> Any:
        if has_aux:
            (_, aux), g = vg(*args, **kwargs)
            return g, aux
        return vg(*args, **kwargs)[1]

    if not has_aux and not holomorphic:  # vmap may take it as the gradient of a sum
        mark_gradient(grad_fun, fun, argnums)
    return grad_fun


__all__ = ["vjp", "grad", "value_and_grad", "as_differentiable"]
