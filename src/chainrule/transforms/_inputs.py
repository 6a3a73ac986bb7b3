"""Checking and preparing what users pass to the transforms.

Every transform validates its arguments here, up front, so a mistake is
reported in the user's terms (which argument, which dtype, what to do)
instead of surfacing later from deep inside a rule.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from .. import tree
from .._backends import is_foreign, namespace
from .._backends import zeros as _zeros_like
from ..core.trace import Tracer, strip
from ._foreign import refusal, refused_output

ArgNums = int | Sequence[int]


def normalize_argnums(argnums: ArgNums, nargs: int, fname: str) -> tuple[tuple[int, ...], bool]:
    """-> (positions, whether the user gave a tuple)."""
    if type(argnums) is int and 0 <= argnums < nargs:  # the usual argnums=0
        return (argnums,), False
    is_tuple = isinstance(argnums, (tuple, list))
    # Anything else a user passes is checked one entry at a time below.
    nums: tuple[Any, ...] = tuple(argnums) if isinstance(argnums, (tuple, list)) else (argnums,)
    for n in nums:
        if not isinstance(n, (int, np.integer)) or isinstance(n, bool):
            raise TypeError(f"{fname}: argnums must be an int or a tuple of ints, got {argnums!r}")
        if not -nargs <= n < nargs:
            raise ValueError(
                f"{fname}: argnums={argnums!r} asks for argument {n}, but the function was "
                f"called with {nargs} positional argument(s). Pass the value positionally or "
                "change argnums."
            )
    positions = tuple(int(n) % nargs for n in nums)
    if len(set(positions)) != len(positions):
        raise ValueError(f"{fname}: argnums={argnums!r} repeats an argument")
    return positions, is_tuple


def as_differentiable(leaf: Any, where: str, fname: str) -> Any:
    """Check one leaf of an argument being differentiated; returns it as a
    NumPy value (Python floats become ``np.float64``), or as it is for a Dask
    or CuPy array (see chainrule._backends)."""
    value: Any
    if isinstance(leaf, Tracer):
        dtype = strip(leaf).dtype
        value = leaf
    elif isinstance(leaf, (float, np.floating)):
        return np.float64(leaf) if type(leaf) is float else leaf
    elif isinstance(leaf, np.ndarray):
        if type(leaf) is not np.ndarray and (err := refusal(leaf, where, fname)):
            raise err
        dtype, value = leaf.dtype, leaf
    elif isinstance(leaf, (bool, int, np.integer, np.bool_)):
        raise TypeError(
            f"{fname}: cannot differentiate with respect to {where}, which is an integer "
            f"({type(leaf).__name__} {leaf!r}). Derivatives need floating-point inputs: pass "
            f"{float(leaf)!r} instead of {leaf!r}, or x.astype(float) for arrays."
        )
    elif isinstance(leaf, (complex, np.complexfloating)):
        return np.complex128(leaf) if type(leaf) is complex else leaf
    else:
        err = refusal(leaf, where, fname)
        if err is not None:
            raise err
        if is_foreign(leaf):
            # A Dask or CuPy array: traced as it is (never converted), its
            # derivative made of arrays of its own kind.
            dtype, value = leaf.dtype, leaf
            return _checked_dtype(value, dtype, where, fname)
        raise TypeError(
            f"{fname}: {where} is a {type(leaf).__name__}, which is neither an array, a float, "
            "nor a pytree container (tuple, list, dict, namedtuple, None). Pass arrays, or "
            "register the class with cr.tree.register(cls, flatten, unflatten)."
        )
    return _checked_dtype(value, dtype, where, fname)


def _checked_dtype(value: Any, dtype: np.dtype, where: str, fname: str) -> Any:
    if dtype.kind in "biu":
        raise TypeError(
            f"{fname}: cannot differentiate with respect to {where}, which has integer dtype "
            f"{dtype}. Convert it first with x.astype(float)."
        )
    if dtype.kind not in "fc":
        raise TypeError(f"{fname}: cannot differentiate with respect to {where} of dtype {dtype}")
    return value


def dtype_of(x: Any) -> np.dtype:
    """The dtype of an array, NumPy scalar, tracer or Python number."""
    v = strip(x)
    dtype = getattr(v, "dtype", None)
    return dtype if isinstance(dtype, np.dtype) else np.result_type(v)


def describe_arg(argnum: int, path: str = "") -> str:
    return f"argument {argnum}{path}"


def flatten_diff_args(
    args: tuple[Any, ...], argnums: tuple[int, ...], fname: str
) -> tuple[list[Any], tree.TreeDef]:
    """Flatten the differentiated arguments into checked leaves."""
    leaves, treedef = tree.flatten(tuple(args[i] for i in argnums))
    out = []
    for k, leaf in enumerate(leaves):
        # Fast path for the usual leaves; the slow path describes the leaf by
        # argument number only when it has to (to check or to complain).
        if type(leaf) is np.ndarray and leaf.dtype.kind == "f":
            out.append(leaf)
        elif type(leaf) is float:
            out.append(np.float64(leaf))
        else:
            out.append(as_differentiable(leaf, _describe_leaf(args, argnums, k), fname))
    return out, treedef


def _describe_leaf(args: tuple[Any, ...], argnums: tuple[int, ...], k: int) -> str:
    """Which argument (and which of its leaves) flat leaf ``k`` belongs to."""
    for argnum in argnums:
        count = len(tree.leaves(args[argnum]))
        if k < count:
            return describe_arg(argnum, f" (leaf {k})" if count > 1 else "")
        k -= count
    return "an argument"  # pragma: no cover


_NUMBERS = (float, complex, np.generic)


def bare_numbers(args: tuple[Any, ...], argnums: tuple[int, ...]) -> list[bool] | None:
    """Per flat leaf of ``args[argnums]``: whether it is a whole argument given as a
    bare number (a Python float or a NumPy scalar). None when there is none (the
    usual case), so that the check costs one ``isinstance`` per argument."""
    flags = [isinstance(args[i], _NUMBERS) for i in argnums]
    if not any(flags):
        return None
    if len(flags) == 1:
        return flags
    out: list[bool] = []
    for i, bare in zip(argnums, flags):
        out.extend([True] if bare else [False] * len(tree.leaves(args[i])))
    return out


def gradient_leaf(ct: Any, bare: bool) -> Any:
    """The form a gradient leaf is handed back in, whatever the rules produced: a
    NumPy scalar for an argument given as a bare number (as autograd does), an
    ndarray (0-d included) for every other leaf, so a pytree's gradient has
    leaves of one kind. Tracers (nested transforms) and other array types pass."""
    if bare:
        return ct[()] if type(ct) is np.ndarray else ct
    return np.asarray(ct) if isinstance(ct, np.generic) else ct


def substitute(
    args: tuple[Any, ...], argnums: tuple[int, ...], replaced: tuple[Any, ...]
) -> list[Any]:
    new = list(args)
    for i, value in zip(argnums, replaced):
        new[i] = value
    return new


def split_aux(result: Any, has_aux: bool, fname: str) -> tuple[Any, Any]:
    if not has_aux:
        return result, None
    if not (isinstance(result, (tuple, list)) and len(result) == 2):
        raise TypeError(
            f"{fname}(..., has_aux=True) needs the function to return a pair (output, aux); "
            f"it returned {type(result).__name__}."
        )
    return result[0], result[1]


def check_callable(fun: Callable[..., Any], fname: str) -> None:
    if not callable(fun):
        raise TypeError(f"{fname} expects a function as its first argument, got {fun!r}")


def zeros_for(value: Any, lead: tuple[int, ...] = ()) -> Any:
    """Zeros shaped like ``value`` (after ``lead`` batch axes), of its kind:
    an ndarray for NumPy values and numbers, a Dask array for a Dask value."""
    v = strip(value)
    if type(v) is not np.ndarray and is_foreign(v):
        return _zeros_like(lead + v.shape, v.dtype, like=v)
    return np.zeros(lead + np.shape(v), dtype=np.result_type(v))


def as_tangent(t: Any, dtype: np.dtype) -> Any:
    """A tangent (or cotangent) given by the user, as an array of ``dtype``: a
    Dask or CuPy array keeps its kind (``np.asarray`` would compute it, or copy
    it to the host), anything else becomes an ndarray."""
    if type(t) is not np.ndarray and is_foreign(t):
        return t if t.dtype == dtype else t.astype(dtype)
    return np.asarray(t, dtype=dtype)


def like_input(ct: Any, leaf: Any) -> Any:
    """The gradient ``ct`` of input ``leaf`` in the input's kind: a Dask input
    whose cotangent came out of NumPy values only (``w * r`` with a NumPy ``r``)
    gets a Dask array with its own chunks, so a gradient is as lazy as its input.
    (For the reverse transforms to call on each gradient leaf.)"""
    v = strip(leaf)
    if type(ct) is np.ndarray and type(v) is not np.ndarray and is_foreign(v):
        if hasattr(v, "chunks"):
            return namespace(v).from_array(ct, chunks=v.chunks)
        try:
            ns = namespace(v)
        except ImportError:  # a duck array without an importable module: NumPy's answer
            return ct
        return ns.asarray(ct) if hasattr(ns, "asarray") else ct
    return ct


def finish(ct: Any) -> Any:
    """Hand a plain array to the user as a fresh, writable array."""
    if isinstance(ct, np.ndarray) and not ct.flags.writeable:
        return ct.copy()
    return ct


_OUTPUT_LEAF_TYPES = (np.ndarray, np.generic, float, int, bool, complex)


def check_output_leaves(leaves: list[Any], fname: str) -> None:
    """Outputs must be arrays or numbers (in pytree containers)."""
    for k, leaf in enumerate(leaves):
        if not isinstance(leaf, (Tracer, *_OUTPUT_LEAF_TYPES)) and not is_foreign(leaf):
            err = refused_output(leaf, k, fname)
            if err is not None:
                raise err
            raise TypeError(
                f"{fname}: the function returned a {type(leaf).__name__} (output leaf {k}), "
                "which is neither an array, a number, nor a pytree container (tuple, list, "
                "dict, namedtuple, None). Return arrays, or register the class with "
                "cr.tree.register(cls, flatten, unflatten) so its fields become leaves."
            )


def check_holomorphic_inputs(
    leaves: list[Any], holomorphic: bool, fname: str, real_only: bool
) -> None:
    """``holomorphic=True`` needs complex inputs; ``real_only`` transforms
    (``jacfwd``) refuse complex inputs without it, as JAX does."""
    for k, leaf in enumerate(leaves):
        kind = dtype_of(leaf).kind
        if holomorphic and kind != "c":
            raise TypeError(
                f"{fname}(..., holomorphic=True) needs complex inputs, but input leaf {k} has "
                f"dtype {np.result_type(strip(leaf))}. Pass it as complex (x.astype(complex)), "
                "or drop holomorphic=True for a real input."
            )
        if real_only and not holomorphic and kind == "c":
            raise TypeError(
                f"{fname} needs real inputs, but input leaf {k} is complex "
                f"({np.result_type(strip(leaf))}). For a holomorphic function pass "
                f"holomorphic=True; otherwise use cr.jacrev (real outputs) or cr.jvp directly."
            )


def check_real_outputs(values: list[Any], holomorphic: bool, fname: str) -> None:
    """Outputs must be floating point, or complex exactly when ``holomorphic``."""
    for k, v in enumerate(values):
        dtype = dtype_of(v)
        if dtype.kind == "c" and not holomorphic:
            raise TypeError(
                f"{fname} needs real-valued outputs, but output leaf {k} is complex ({dtype}). "
                f"For a holomorphic function pass {fname}(..., holomorphic=True) to get its "
                "complex derivative; otherwise differentiate a real function of it (np.real, "
                "np.abs, ...) or use cr.vjp / cr.jvp directly."
            )
        if holomorphic and dtype.kind != "c":
            raise TypeError(
                f"{fname}(..., holomorphic=True) needs complex outputs, but output leaf {k} "
                f"has dtype {dtype}."
            )
        if dtype.kind not in "fc":
            raise TypeError(
                f"{fname}: output leaf {k} has dtype {dtype}; only floating-point outputs "
                "have a derivative. Convert it with .astype(float) or leave it out (has_aux)."
            )
