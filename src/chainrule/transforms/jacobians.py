"""Whole Jacobians and Hessians: ``jacrev``, ``jacfwd``, ``hessian``, ``hvp``.

A Jacobian is many VJPs (one per output element) or many JVPs (one per input
element). Rather than paying a traced Python pass for each, both push the
whole identity at once as a *batch* on a leading axis: the function runs once
and the backward (or forward) pass runs once, with every rule acting on
``(batch, *shape)`` arrays.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Literal, overload

import numpy as np

from .. import tree
from ..core.trace import GcPause, strip
from ._inputs import (
    ArgNums,
    check_callable,
    check_holomorphic_inputs,
    check_real_outputs,
    finish,
    flatten_diff_args,
    normalize_argnums,
    split_aux,
)
from .forward_mode import jvp, push_forward
from .reverse_mode import _value_and_grad, record

if TYPE_CHECKING:
    from typing import Concatenate

    from ._typing import (
        AnyFunction,
        ArrayLeaf,
        ArrayLeaf0T,
        ArrayLeafT,
        AuxT,
        Jacobian,
        P,
        Transformed,
    )


def _identity_blocks(
    shapes: list[tuple[int, ...]], dtypes: list[np.dtype[Any]]
) -> list[np.ndarray[Any, Any]]:
    """Split the identity of size sum(sizes) into one batch per shape:
    block k has shape (total, *shapes[k])."""
    sizes = [int(np.prod(s)) for s in shapes]
    total = sum(sizes)
    blocks: list[np.ndarray[Any, Any]] = []
    offset = 0
    for shape, size, dtype in zip(shapes, sizes, dtypes):
        block = np.zeros((total, size), dtype=dtype)
        block[offset : offset + size] = np.eye(size, dtype=dtype)
        blocks.append(block.reshape((total,) + shape))
        offset += size
    return blocks


def _check_float_outputs(values: list[Any], fname: str) -> None:
    for k, v in enumerate(values):
        dtype = np.result_type(strip(v))
        if dtype.kind not in "fc":
            raise TypeError(
                f"{fname}: output leaf {k} has dtype {dtype}; only floating-point outputs "
                "have a Jacobian. Convert it with .astype(float) or leave it out (has_aux)."
            )


@overload
def jacrev(
    fun: np.ufunc, argnums: ArgNums = 0, has_aux: bool = False, holomorphic: bool = False
) -> AnyFunction: ...
@overload
def jacrev(
    fun: Callable[Concatenate[ArrayLeafT, P], ArrayLeaf],
    argnums: Literal[0] = 0,
    has_aux: Literal[False] = False,
    holomorphic: bool = False,
) -> Transformed[Concatenate[ArrayLeafT, P], Jacobian]: ...
@overload
def jacrev(
    fun: Callable[Concatenate[ArrayLeafT, P], tuple[ArrayLeaf, AuxT]],
    argnums: Literal[0] = 0,
    *,
    has_aux: Literal[True],
    holomorphic: bool = False,
) -> Transformed[Concatenate[ArrayLeafT, P], tuple[Jacobian, AuxT]]: ...
@overload
def jacrev(
    fun: Callable[Concatenate[ArrayLeaf0T, ArrayLeafT, P], ArrayLeaf],
    argnums: Literal[1],
    has_aux: Literal[False] = False,
    holomorphic: bool = False,
) -> Transformed[Concatenate[ArrayLeaf0T, ArrayLeafT, P], Jacobian]: ...
@overload
def jacrev(
    fun: Callable[Concatenate[ArrayLeaf0T, ArrayLeafT, P], ArrayLeaf],
    argnums: tuple[Literal[0], Literal[1]],
    has_aux: Literal[False] = False,
    holomorphic: bool = False,
) -> Transformed[Concatenate[ArrayLeaf0T, ArrayLeafT, P], tuple[Jacobian, Jacobian]]: ...
@overload
def jacrev(
    fun: Callable[..., Any],
    argnums: ArgNums = 0,
    has_aux: bool = False,
    holomorphic: bool = False,
) -> AnyFunction: ...
def jacrev(
    fun: Callable[..., Any],
    argnums: ArgNums = 0,
    has_aux: bool = False,
    holomorphic: bool = False,
) -> Callable[..., Any]:
    """Jacobian of ``fun`` by reverse mode: one backward pass for all rows.

    The result for an output of shape ``S`` and an input of shape ``T`` has
    shape ``S + T``. Pytrees nest as output structure, then input structure
    (a tuple over ``argnums`` when that is a tuple). Prefer it when there are
    fewer outputs than inputs. Complex outputs need ``holomorphic=True`` (for a
    holomorphic ``fun`` of complex inputs: the complex Jacobian); a real
    ``fun`` of complex inputs gets ``df/dx - i df/dy`` per row.

    Types: when the differentiated arguments and the output are annotated as
    array leaves (``ndarray``, NumPy scalar, ``float``), the Jacobian is an
    ``NDArray[Any]`` (a tuple of them for ``argnums=(0, 1)``; with
    ``has_aux=True`` by keyword, ``(jacobian, aux)``); pytrees, other
    ``argnums`` and unannotated functions give ``Any``.

    >>> import chainrule as cr, numpy as np
    >>> f = lambda x: np.array([1.0, 0.0]) * x[0] ** 2 + np.array([0.0, 1.0]) * x[0] * x[1]
    >>> cr.jacrev(f)(np.array([3.0, 2.0]))
    array([[6., 0.],
           [2., 3.]])
    """
    check_callable(fun, "jacrev")

    @functools.wraps(fun)
    def jac_fun(*args: Any, **kwargs: Any) -> Any:
        nums, is_tuple = normalize_argnums(argnums, len(args), "jacrev")
        with GcPause():  # from the recording to the pull-back: the tape's whole life
            rec, aux = record(fun, args, kwargs, nums, has_aux, "jacrev")
            check_holomorphic_inputs(rec.in_leaves, holomorphic, "jacrev", real_only=False)
            _check_float_outputs(rec.out_values, "jacrev")
            check_real_outputs(rec.out_values, holomorphic, "jacrev")
            out_shapes = [np.shape(strip(v)) for v in rec.out_values]
            seeds = _identity_blocks(out_shapes, [np.result_type(strip(v)) for v in rec.out_values])
            total = seeds[0].shape[0] if seeds else 0
            in_cts = rec.pull_back(seeds, (total,)) if total else []
        in_shapes = [np.shape(strip(v)) for v in rec.in_leaves]
        rows, offset = [], 0
        for shape in out_shapes:
            size = int(np.prod(shape))
            rows.append(
                [
                    finish(np.reshape(ct[offset : offset + size], shape + s))
                    for ct, s in zip(in_cts, in_shapes)
                ]
            )
            offset += size
        jac = _assemble(
            rec.out_tree, rec.in_tree, rows, is_tuple, total == 0, rec.in_leaves, out_shapes
        )
        return (jac, aux) if has_aux else jac

    return jac_fun


def _assemble(
    out_tree: Any,
    in_tree: Any,
    rows: list[list[Any]],
    is_tuple: bool,
    empty: bool,
    in_leaves: list[Any],
    out_shapes: list[tuple[int, ...]],
) -> Any:
    """Nest Jacobian blocks as out-structure of in-structure."""
    if empty:
        rows = [[np.zeros(s + np.shape(strip(v))) for v in in_leaves] for s in out_shapes]
    per_out = []
    for blocks in rows:
        by_arg = in_tree.unflatten(blocks)
        per_out.append(by_arg if is_tuple else by_arg[0])
    return out_tree.unflatten(per_out)


@overload
def jacfwd(
    fun: np.ufunc, argnums: ArgNums = 0, has_aux: bool = False, holomorphic: bool = False
) -> AnyFunction: ...
@overload
def jacfwd(
    fun: Callable[Concatenate[ArrayLeafT, P], ArrayLeaf],
    argnums: Literal[0] = 0,
    has_aux: Literal[False] = False,
    holomorphic: bool = False,
) -> Transformed[Concatenate[ArrayLeafT, P], Jacobian]: ...
@overload
def jacfwd(
    fun: Callable[Concatenate[ArrayLeafT, P], tuple[ArrayLeaf, AuxT]],
    argnums: Literal[0] = 0,
    *,
    has_aux: Literal[True],
    holomorphic: bool = False,
) -> Transformed[Concatenate[ArrayLeafT, P], tuple[Jacobian, AuxT]]: ...
@overload
def jacfwd(
    fun: Callable[Concatenate[ArrayLeaf0T, ArrayLeafT, P], ArrayLeaf],
    argnums: Literal[1],
    has_aux: Literal[False] = False,
    holomorphic: bool = False,
) -> Transformed[Concatenate[ArrayLeaf0T, ArrayLeafT, P], Jacobian]: ...
@overload
def jacfwd(
    fun: Callable[Concatenate[ArrayLeaf0T, ArrayLeafT, P], ArrayLeaf],
    argnums: tuple[Literal[0], Literal[1]],
    has_aux: Literal[False] = False,
    holomorphic: bool = False,
) -> Transformed[Concatenate[ArrayLeaf0T, ArrayLeafT, P], tuple[Jacobian, Jacobian]]: ...
@overload
def jacfwd(
    fun: Callable[..., Any],
    argnums: ArgNums = 0,
    has_aux: bool = False,
    holomorphic: bool = False,
) -> AnyFunction: ...
def jacfwd(
    fun: Callable[..., Any],
    argnums: ArgNums = 0,
    has_aux: bool = False,
    holomorphic: bool = False,
) -> Callable[..., Any]:
    """Jacobian of ``fun`` by forward mode: one forward pass for all columns.

    Same result layout as ``jacrev``; prefer it when there are fewer inputs
    than outputs. Complex inputs need ``holomorphic=True`` (for a holomorphic
    ``fun``: the complex Jacobian); a real input may have complex outputs.
    Typed as ``jacrev``.

    >>> import chainrule as cr, numpy as np
    >>> cr.jacfwd(lambda x: np.sin(x) * 2.0)(np.array([0.0, 0.0]))
    array([[2., 0.],
           [0., 2.]])
    """
    check_callable(fun, "jacfwd")

    @functools.wraps(fun)
    def jac_fun(*args: Any, **kwargs: Any) -> Any:
        nums, is_tuple = normalize_argnums(argnums, len(args), "jacfwd")
        leaves, in_tree = flatten_diff_args(args, nums, "jacfwd")
        check_holomorphic_inputs(leaves, holomorphic, "jacfwd", real_only=True)
        in_shapes = [np.shape(strip(v)) for v in leaves]
        tangents = _identity_blocks(in_shapes, [np.result_type(strip(v)) for v in leaves])
        bound = functools.partial(fun, **kwargs) if kwargs else fun
        values, out_tans, out_tree, aux = push_forward(
            bound, list(args), list(nums), in_tree, leaves, tangents, 1, has_aux, "jacfwd"
        )
        _check_float_outputs(values, "jacfwd")
        if holomorphic:
            check_real_outputs(values, holomorphic, "jacfwd")
        rows = []
        for v, t in zip(values, out_tans):
            out_shape = np.shape(strip(v))
            blocks, offset = [], 0
            for s in in_shapes:
                size = int(np.prod(s))
                if t is None:
                    blocks.append(np.zeros(out_shape + s, dtype=np.result_type(strip(v))))
                else:
                    part = np.moveaxis(t[offset : offset + size], 0, -1)
                    blocks.append(finish(np.reshape(part, out_shape + s)))
                offset += size
            rows.append(blocks)
        jac = _assemble(out_tree, in_tree, rows, is_tuple, False, leaves, [])
        return (jac, aux) if has_aux else jac

    return jac_fun


jacobian = jacrev


@overload
def hessian(
    fun: np.ufunc, argnums: ArgNums = 0, has_aux: bool = False, holomorphic: bool = False
) -> AnyFunction: ...
@overload
def hessian(
    fun: Callable[Concatenate[ArrayLeafT, P], ArrayLeaf],
    argnums: Literal[0] = 0,
    has_aux: Literal[False] = False,
    holomorphic: bool = False,
) -> Transformed[Concatenate[ArrayLeafT, P], Jacobian]: ...
@overload
def hessian(
    fun: Callable[Concatenate[ArrayLeafT, P], tuple[ArrayLeaf, AuxT]],
    argnums: Literal[0] = 0,
    *,
    has_aux: Literal[True],
    holomorphic: bool = False,
) -> Transformed[Concatenate[ArrayLeafT, P], tuple[Jacobian, AuxT]]: ...
@overload
def hessian(
    fun: Callable[Concatenate[ArrayLeaf0T, ArrayLeafT, P], ArrayLeaf],
    argnums: Literal[1],
    has_aux: Literal[False] = False,
    holomorphic: bool = False,
) -> Transformed[Concatenate[ArrayLeaf0T, ArrayLeafT, P], Jacobian]: ...
@overload
def hessian(
    fun: Callable[Concatenate[ArrayLeaf0T, ArrayLeafT, P], ArrayLeaf],
    argnums: tuple[Literal[0], Literal[1]],
    has_aux: Literal[False] = False,
    holomorphic: bool = False,
) -> Transformed[
    Concatenate[ArrayLeaf0T, ArrayLeafT, P],
    tuple[tuple[Jacobian, Jacobian], tuple[Jacobian, Jacobian]],
]: ...
@overload
def hessian(
    fun: Callable[..., Any],
    argnums: ArgNums = 0,
    has_aux: bool = False,
    holomorphic: bool = False,
) -> AnyFunction: ...
def hessian(
    fun: Callable[..., Any],
    argnums: ArgNums = 0,
    has_aux: bool = False,
    holomorphic: bool = False,
) -> Callable[..., Any]:
    """Hessian of scalar ``fun``: ``jacfwd(jacrev(fun))`` (forward over reverse).

    Args:
        fun: function returning a scalar (for vector outputs the result is the
            stack of each output element's Hessian, shape ``out.shape + in.shape
            + in.shape``).
        argnums: which positional argument(s) to differentiate; a tuple gives
            the blocks ``H[i][j]`` for arguments ``i`` and ``j``.
        has_aux: ``fun`` returns ``(value, aux)``; the new function returns
            ``(hessian, aux)``.
        holomorphic: ``fun`` is holomorphic in complex inputs; the result is the
            complex second derivative.

    Typed as ``jacrev``: an ``NDArray[Any]`` for array-leaf arguments and
    output, and for ``argnums=(0, 1)`` the blocks ``((H00, H01), (H10, H11))``.

    >>> import chainrule as cr, numpy as np
    >>> cr.hessian(lambda x: np.sum(x ** 3))(np.array([1.0, 2.0]))
    array([[ 6.,  0.],
           [ 0., 12.]])
    >>> h, aux = cr.hessian(lambda x: (x ** 3, x * 10.0), has_aux=True)(2.0)
    >>> h, aux
    (array(12.), np.float64(20.0))
    """
    check_callable(fun, "hessian")
    inner = jacrev(fun, argnums, has_aux=has_aux, holomorphic=holomorphic)
    return jacfwd(inner, argnums, has_aux=has_aux, holomorphic=holomorphic)


def hvp(fun: Callable[..., Any], primals: Any, tangents: Any) -> tuple[Any, Any]:
    """Gradient and Hessian-vector product of scalar ``fun`` at ``primals``.

    Forward over reverse: the JVP of the gradient, so the Hessian is never
    formed; the cost is a small multiple of one gradient.

    Returns ``(grad, hessian @ tangent)``, each shaped like ``primals`` (a
    tuple when there are several primals, a single value for one).

    >>> import chainrule as cr, numpy as np
    >>> g, hv = cr.hvp(lambda x: np.sum(x ** 3), (np.array([1.0, 2.0]),), (np.array([1.0, 0.0]),))
    >>> hv
    array([6., 0.])
    """
    check_callable(fun, "hvp")
    if not isinstance(primals, (tuple, list)) or not isinstance(tangents, (tuple, list)):
        raise ValueError("hvp: primals and tangents must be tuples, one entry per argument")
    argnums = 0 if len(primals) == 1 else tuple(range(len(primals)))
    value_and_grad_fun = _value_and_grad(fun, argnums, False, "hvp")
    return jvp(lambda *args: value_and_grad_fun(*args)[1], tuple(primals), tuple(tangents))


__all__ = ["jacrev", "jacfwd", "jacobian", "hessian", "hvp", "split_aux", "tree"]
