"""``cr.vmap``: a function of one example mapped over a batch.

The function runs once, on ``BatchTracer`` values (chainrule/core/batching.py)
that carry the whole batch on axis 0 but look like one example; every NumPy
call is batched by its rule. ``in_axes`` / ``out_axes`` follow JAX: an int,
``None`` (not mapped), or a pytree prefix of the arguments / result holding
those.
"""

from __future__ import annotations

import functools
from typing import Any

import numpy as np

from .. import tree
from ..core import batching as _b
from ..core.trace import Tracer, boundary_state, restore_boundary
from .per_example import SummedGradient, gradient_of


def _prefix_leaves(spec: Any, value: Any, what: str) -> list[Any]:
    """``spec`` (a pytree prefix of ``value`` whose leaves are ints or None)
    broadcast to one entry per leaf of ``value``."""
    if spec is None or isinstance(spec, (int, np.integer)):
        return [spec] * len(tree.leaves(value))
    if isinstance(spec, (tuple, list)) and isinstance(value, (tuple, list)):
        if len(spec) != len(value):
            raise ValueError(
                f"vmap {what}: {len(spec)} entries given for a structure of {len(value)}: "
                f"{what} must be an int, None, or a prefix of the structure"
            )
        return [x for s, v in zip(spec, value) for x in _prefix_leaves(s, v, what)]
    if isinstance(spec, dict) and isinstance(value, dict):
        if set(spec) != set(value):
            raise ValueError(f"vmap {what}: keys {sorted(spec)} differ from {sorted(value)}")
        out = []
        keys = tree.leaves({k: k for k in value})  # the order cr.tree visits a dict in
        for k in keys:
            out.extend(_prefix_leaves(spec[k], value[k], what))
        return out
    raise ValueError(
        f"vmap {what} must be an int, None, or a tuple/list/dict prefix of the structure; "
        f"got {spec!r} for a value of type {type(value).__name__}"
    )


def _take(x: Any, axis: int, sl: slice) -> Any:
    idx = [slice(None)] * np.ndim(x) if not hasattr(x, "ndim") else [slice(None)] * x.ndim
    idx[axis] = sl
    return x[tuple(idx)]


def vmap(
    fun: Any,
    in_axes: Any = 0,
    out_axes: Any = 0,
    axis_size: int | None = None,
    chunk_size: int | None = None,
) -> Any:
    """``fun`` mapped over an axis of its inputs (JAX's ``vmap``).

    ``in_axes``: an int, ``None`` (the argument is shared by every example),
    or a tuple with one entry per positional argument (each a pytree prefix
    of that argument); keyword arguments are always mapped over axis 0, as in
    JAX. ``out_axes`` places the batch axis in the result.
    ``axis_size`` is needed only when no argument is mapped. ``chunk_size``
    maps that many examples at a time and concatenates, bounding memory.

    Python ``if`` on a value that depends on the batch raises
    ``BatchedControlFlowError``: use ``np.where``.

    >>> import chainrule as cr, numpy as np
    >>> cr.vmap(lambda x, w: np.dot(x, w), in_axes=(0, None))(np.eye(2), np.array([1.0, 2.0]))
    array([1., 2.])
    >>> cr.vmap(cr.grad(lambda w, x: np.sum((w * x) ** 2)), in_axes=(None, 0))(
    ...     np.array([1.0, 1.0]), np.array([[1.0, 2.0], [3.0, 4.0]]))
    array([[ 2.,  8.],
           [18., 32.]])
    """
    if not callable(fun):
        raise TypeError(f"vmap expects a function, got {type(fun).__name__}")
    if chunk_size is not None and (not isinstance(chunk_size, int) or chunk_size < 1):
        raise ValueError(f"vmap chunk_size must be a positive int or None, got {chunk_size!r}")

    # vmap(grad(f)) over mapped arguments: one gradient of the summed batch
    # (transforms/per_example.py), where it applies
    gradient = gradient_of(fun) if chunk_size is None and type(out_axes) is int else None
    summed = (
        None if gradient is None or out_axes != 0 else SummedGradient(gradient, in_axes, axis_size)
    )

    @functools.wraps(fun)
    def mapped(*args: Any, **kwargs: Any) -> Any:
        if summed is not None and (
            not isinstance(in_axes, (tuple, list)) or len(in_axes) == len(args)
        ):
            done = summed(args, kwargs)
            if done is not NotImplemented:
                return done
        if isinstance(in_axes, (tuple, list)):
            if len(in_axes) != len(args):
                raise ValueError(
                    f"vmap in_axes has {len(in_axes)} entries but the function got "
                    f"{len(args)} positional arguments"
                )
            axes = [x for s, a in zip(in_axes, args) for x in _prefix_leaves(s, a, "in_axes")]
        else:
            axes = _prefix_leaves(in_axes, tuple(args), "in_axes")
        # keyword arguments are always mapped over axis 0 (as in JAX)
        axes = axes + [0] * len(tree.leaves(kwargs))
        leaves, treedef = tree.flatten((tuple(args), kwargs))
        sizes = set()
        fixed = []
        for leaf, ax in zip(leaves, axes):
            if ax is None:
                fixed.append((leaf, None))
                continue
            nd = leaf.ndim if hasattr(leaf, "ndim") else np.ndim(leaf)
            if not -nd <= ax < nd:
                raise ValueError(
                    f"vmap in_axes {ax} is out of range for an argument with {nd} axes "
                    f"(shape {np.shape(leaf) if not hasattr(leaf, 'shape') else leaf.shape})"
                )
            ax = ax % nd
            if not hasattr(leaf, "shape"):
                leaf = np.asarray(leaf)
            sizes.add(leaf.shape[ax])
            fixed.append((leaf, ax))
        if len(sizes) > 1:
            raise ValueError(f"vmap got mapped axes of different sizes {sorted(sizes)}")
        if sizes:
            size = sizes.pop()
            if axis_size is not None and axis_size != size:
                raise ValueError(f"vmap axis_size={axis_size} but the mapped axes have {size}")
        elif axis_size is None:
            raise ValueError("vmap: no argument is mapped (all in_axes None); give axis_size")
        else:
            size = axis_size
        if chunk_size is not None and size > chunk_size:
            parts = []
            for start in range(0, size, chunk_size):
                sl = slice(start, min(start + chunk_size, size))
                chunk = [(x, ax) if ax is None else (_take(x, ax, sl), ax) for x, ax in fixed]
                parts.append(_run(fun, treedef, chunk, sl.stop - sl.start, out_axes))
            out_def = tree.flatten(parts[0])[1]
            oaxes = _prefix_leaves(out_axes, parts[0], "out_axes")
            cols = zip(*[tree.leaves(p) for p in parts])
            joined = [
                col[0] if oa is None else np.concatenate(col, axis=oa)
                for col, oa in zip(cols, oaxes)
            ]
            return tree.unflatten(out_def, joined)
        return _run(fun, treedef, fixed, size, out_axes)

    return mapped


def _owner(a: np.ndarray) -> int:
    """The identity of the array owning ``a``'s memory (views share their owner)."""
    while isinstance(a.base, np.ndarray):
        a = a.base
    return id(a)


def _run(fun: Any, treedef: Any, fixed: list[Any], size: int, out_axes: Any) -> Any:
    state = boundary_state()
    try:
        with _b.BatchTrace(size) as trace:
            ins = [
                x if ax is None else _b.BatchTracer(np.moveaxis(x, ax, 0) if ax else x, trace)
                for x, ax in fixed
            ]
            args, kwargs = tree.unflatten(treedef, ins)
            out = fun(*args, **kwargs)
            leaves, out_def = tree.flatten(out)
            oaxes = _prefix_leaves(out_axes, out, "out_axes")
            results = []
            owners: set[int] = set()  # the memory of the writable results handed back so far
            for leaf, oa in zip(leaves, oaxes):
                if isinstance(leaf, Tracer) and leaf._trace is trace:
                    v = leaf._bv
                elif type(leaf) is _b.Batched and leaf._traces[-1:] == (trace,):
                    v = _b.as_tracer(leaf.view(np.ndarray), leaf._traces[:-1])
                else:
                    if oa is None:
                        results.append(leaf)
                        continue
                    shape = tuple(leaf.shape) if hasattr(leaf, "shape") else np.shape(leaf)
                    v = np.broadcast_to(leaf, (size,) + shape)
                if oa is None:
                    raise ValueError(
                        "vmap out_axes=None for an output that depends on the mapped inputs: "
                        "it differs per example, so it needs a batch axis (give an int)"
                    )
                nd = v.ndim
                if not -nd <= oa < nd:
                    raise ValueError(
                        f"vmap out_axes {oa} is out of range for a result of {nd} axes"
                    )
                if type(v) is np.ndarray and v.flags.writeable:
                    if _owner(v) in owners or any(
                        type(x) is np.ndarray and np.may_share_memory(v, x) for x, _ in fixed
                    ):
                        # the user's input itself (x, or 1.0 * x), or an array already
                        # returned (y and y * 1.0, the value and exp's gradient): a new array
                        v = v.copy()
                    owners.add(_owner(v))
                results.append(np.moveaxis(v, 0, oa) if oa % nd else v)
            return tree.unflatten(out_def, results)
    finally:
        restore_boundary(state)
