"""Forward-mode transforms: ``jvp`` and ``linearize``."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Literal, overload

import numpy as np

from .. import tree
from ..core.forward import ForwardTrace, ForwardTracer
from ..core.trace import Tracer, boundary_state, reraise_refused, restore_boundary, strip
from ._foreign import refusal
from ._inputs import (
    as_differentiable,
    as_tangent,
    check_callable,
    check_output_leaves,
    finish,
    split_aux,
    zeros_for,
)
from .reverse_mode import unwrap, vjp

if TYPE_CHECKING:
    from ._typing import AuxT, OutT


def push_forward(
    fun: Callable[..., Any],
    args: list[Any],
    traced: list[int],
    in_tree: tree.TreeDef,
    leaves: list[Any],
    tangents: list[Any],
    batch_ndim: int,
    has_aux: bool,
    fname: str,
) -> tuple[list[Any], list[Any], tree.TreeDef, Any]:
    """Run ``fun`` with the leaves of ``args[traced]`` carrying ``tangents``.

    Returns ``(flat output values, flat output tangents -- None where an
    output does not depend on the inputs --, output treedef, aux)``.
    """
    state = boundary_state()
    try:
        trace = ForwardTrace(batch_ndim)
        with trace:
            boxed = in_tree.unflatten(
                [ForwardTracer(v, trace, t) for v, t in zip(leaves, tangents)]
            )
            call_args = list(args)
            for i, b in zip(traced, boxed):
                call_args[i] = b
            try:
                result = fun(*call_args)
            except Exception as error:
                reraise_refused(trace, error)  # a solver's own error hiding ours
                raise
    finally:  # an interrupt must not leave the trace open (see boundary_state)
        restore_boundary(state)
    out, aux = split_aux(result, has_aux, fname)
    out_leaves, out_tree = tree.flatten(out)
    check_output_leaves(out_leaves, fname)
    values: list[Any] = []
    tans: list[Any] = []
    for o in out_leaves:
        if isinstance(o, Tracer) and o._trace is trace:
            values.append(o._value)
            tans.append(o._tangent)
        else:
            values.append(o)
            tans.append(None)
    if has_aux:
        aux = unwrap(aux, trace)
    return values, tans, out_tree, aux


@overload
def jvp(
    fun: Callable[..., OutT], primals: Any, tangents: Any, has_aux: Literal[False] = False
) -> tuple[OutT, Any]: ...
@overload
def jvp(
    fun: Callable[..., tuple[OutT, AuxT]], primals: Any, tangents: Any, has_aux: Literal[True]
) -> tuple[OutT, Any, AuxT]: ...
@overload
def jvp(fun: Callable[..., Any], primals: Any, tangents: Any, has_aux: bool) -> tuple[Any, ...]: ...
def jvp(
    fun: Callable[..., Any], primals: Any, tangents: Any, has_aux: bool = False
) -> tuple[Any, ...]:
    """Jacobian-vector product: evaluate ``fun`` and its directional derivative.

    Args:
        fun: function of ``len(primals)`` pytrees of float arrays.
        primals: tuple (or list) of the arguments.
        tangents: tuple of the same structure and shapes: the direction.
        has_aux: ``fun`` returns ``(output, aux)``.

    Returns:
        ``(out, tangent_out)`` or ``(out, tangent_out, aux)``. Types: ``out``
        and ``aux`` have the function's types; ``tangent_out`` is ``Any`` (it
        has ``out``'s structure, but the tangent of a float output may be a
        0-d array).

    >>> import chainrule as cr, numpy as np
    >>> cr.jvp(lambda x: x ** 2, (np.array([1.0, 2.0]),), (np.array([1.0, 0.5]),))
    (array([1., 4.]), array([2., 2.]))
    """
    check_callable(fun, "jvp")
    leaves, in_tree, tans = check_primals_tangents(primals, tangents, "jvp")
    values, out_tans, out_tree, aux = push_forward(
        fun, list(primals), list(range(len(primals))), in_tree, leaves, tans, 0, has_aux, "jvp"
    )
    out = out_tree.unflatten(values)
    t_out = out_tree.unflatten(
        [finish(t) if t is not None else zeros_for(o) for t, o in zip(out_tans, values)]
    )
    return (out, t_out, aux) if has_aux else (out, t_out)


def check_primals_tangents(
    primals: Any, tangents: Any, fname: str
) -> tuple[list[Any], tree.TreeDef, list[Any]]:
    for name, value in (("primals", primals), ("tangents", tangents)):
        if not isinstance(value, (tuple, list)):
            raise ValueError(
                f"{fname}: {name} must be a tuple (or list) with one entry per argument of the "
                f"function, got {type(value).__name__}. For one argument write ({name[:-1]},)."
            )
    if len(primals) != len(tangents):
        raise ValueError(
            f"{fname}: got {len(primals)} primal(s) but {len(tangents)} tangent(s); give one "
            "tangent per primal."
        )
    p_leaves, p_tree = tree.flatten(tuple(primals))
    t_leaves, t_tree = tree.flatten(tuple(tangents))
    if p_tree != t_tree:
        raise ValueError(
            f"{fname}: primals and tangents must have the same structure; primals are "
            f"{p_tree}, tangents are {t_tree}."
        )
    leaves: list[Any] = []
    tans: list[Any] = []
    for k, (p, t) in enumerate(zip(p_leaves, t_leaves)):
        where = f"primal leaf {k}"
        if type(t) is not np.ndarray and (err := refusal(t, f"tangent leaf {k}", fname)):
            raise err
        p = as_differentiable(p, where, fname)
        p_shape, t_shape = np.shape(strip(p)), np.shape(strip(t))
        if p_shape != t_shape:
            raise ValueError(
                f"{fname}: tangent leaf {k} has shape {t_shape}, but its primal has shape "
                f"{p_shape}; each tangent must have its primal's shape."
            )
        t_dtype, p_dtype = np.result_type(strip(t)), np.result_type(strip(p))
        if t_dtype.kind not in ("fc" if p_dtype.kind == "c" else "f"):
            raise ValueError(
                f"{fname}: tangent leaf {k} has dtype {t_dtype}; tangents must be floating "
                f"point like their primal ({p_dtype}), complex only for a complex primal."
            )
        if not isinstance(t, Tracer):
            t = as_tangent(t, np.result_type(strip(p)))
        leaves.append(p)
        tans.append(t)
    return leaves, p_tree, tans


@overload
def linearize(
    fun: Callable[..., OutT], *primals: Any, has_aux: Literal[False] = False
) -> tuple[OutT, Callable[..., Any]]: ...
@overload
def linearize(
    fun: Callable[..., tuple[OutT, AuxT]], *primals: Any, has_aux: Literal[True]
) -> tuple[OutT, Callable[..., Any], AuxT]: ...
@overload
def linearize(fun: Callable[..., Any], *primals: Any, has_aux: bool) -> tuple[Any, ...]: ...
def linearize(fun: Callable[..., Any], *primals: Any, has_aux: bool = False) -> tuple[Any, ...]:
    """Evaluate ``fun`` once and return its linear map ``tangents -> J @ tangents``.

    ``fun`` runs once; each call of ``jvp_fn`` transposes the recorded VJP
    (the VJP is linear in its cotangent, and the transpose of ``v -> v^T J``
    is ``t -> J t``), so the primal computation is never repeated.

    Args:
        fun: function of ``len(primals)`` pytrees of float arrays.
        *primals: the point at which to linearise.
        has_aux: ``fun`` returns ``(output, aux)``; aux is returned as is.

    Returns:
        ``(out, jvp_fn)``, or ``(out, jvp_fn, aux)`` with ``has_aux``;
        ``jvp_fn(*tangents)`` takes one tangent per primal. ``out`` and ``aux``
        have the function's types; ``jvp_fn`` returns ``Any`` (as ``jvp``).

    >>> import chainrule as cr, numpy as np
    >>> out, f_jvp = cr.linearize(np.sin, 0.0)
    >>> f_jvp(2.0)
    np.float64(2.0)
    >>> out, f_jvp, aux = cr.linearize(lambda x: (x ** 2, "note"), 3.0, has_aux=True)
    >>> f_jvp(1.0), aux
    (np.float64(6.0), 'note')
    """
    check_callable(fun, "linearize")
    out, vjp_fn, *aux = vjp(fun, *primals, has_aux=has_aux)
    # A NumPy scalar output keeps a NumPy scalar tangent, as in jvp.
    zero_ct = tree.map(
        lambda o: zeros_for(o)[()] if isinstance(o, np.generic) else zeros_for(o), out
    )

    def jvp_fn(*tangents: Any) -> Any:
        # Checked and cast to the primals' dtypes exactly as jvp does.
        _, p_tree, cast = check_primals_tangents(primals, tangents, "linearize")
        tangents = tuple(p_tree.unflatten(cast))
        _, transpose_fn = vjp(vjp_fn, zero_ct)
        (t_out,) = transpose_fn(tuple(tangents))
        return t_out

    return (out, jvp_fn, aux[0]) if has_aux else (out, jvp_fn)
