"""Resource limits: what an expression may cost before anything is computed.

An expression comes from a command line, maybe from someone else, so it must
not be able to exhaust memory or hang the process. Sizes are predicted
*before* an operation runs (``ones(10**9)`` must be refused, not allocated and
then regretted); the predictions are upper bounds built from the argument
shapes, and every result is checked again afterwards.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

import numpy as np

from .errors import Refused

#: The most elements any single value of an expression may have.
MAX_ELEMENTS = 1_000_000
#: The most elements the operands awaiting one operation may hold together.
MAX_HELD = 5_000_000
#: The most elements one evaluation may compute in all (bounds time, and the
#: memory reverse mode needs to keep every intermediate for the backward pass).
MAX_TOTAL = 20_000_000
#: Elements a whole-Jacobian pass may touch: batch size times the largest value.
MAX_DERIVATIVE_WORK = 20_000_000
#: The longest expression (or ``--at`` value) accepted, in characters.
MAX_CHARS = 2_000
#: The most syntax-tree nodes, and the deepest nesting, an expression may have.
MAX_NODES = 1_000
MAX_DEPTH = 50
#: Python integers beyond this many bits are refused (``2**10**10`` would hang).
MAX_INT_BITS = 1_024
#: Longest string argument (einsum subscripts, mode names).
MAX_STRING = 64
#: The largest exponent ``linalg.matrix_power`` may be given (each doubling is a matmul).
MAX_MATRIX_POWER = 2**20


def shape_of(value: Any) -> tuple[int, ...]:
    """The array shape of a value (traced or not); ``()`` for scalars."""
    shape = getattr(value, "shape", None)
    if shape is not None:
        return tuple(shape)
    if isinstance(value, (bool, int, float, complex, np.generic)):
        return ()
    return tuple(np.shape(value))


def is_array(value: Any) -> bool:
    """Whether ``value`` is an array or a traced array (not a Python scalar)."""
    return hasattr(value, "shape") and hasattr(value, "dtype")


def size_of(value: Any) -> int:
    """How many numbers ``value`` holds (summed over tuples and lists)."""
    if isinstance(value, (list, tuple)):
        return sum(size_of(v) for v in value)
    if is_array(value):
        return math.prod(shape_of(value))
    return 1


def check_size(size: int, what: str) -> None:
    """Refuse a value of ``size`` elements if it exceeds :data:`MAX_ELEMENTS`."""
    if size > MAX_ELEMENTS:
        raise Refused(
            f"{what} would have {size:,} elements; the limit is {MAX_ELEMENTS:,} "
            "(expressions may not allocate arrays meant to exhaust memory)"
        )


def check_held(held: int) -> None:
    """Refuse when the operands held at once exceed :data:`MAX_HELD` elements."""
    if held > MAX_HELD:
        raise Refused(
            f"the expression holds {held:,} numbers at once; the limit is {MAX_HELD:,} "
            "(expressions may not allocate arrays meant to exhaust memory)"
        )


def check_total(total: int) -> None:
    """Refuse when one evaluation computes more than :data:`MAX_TOTAL` elements."""
    if total > MAX_TOTAL:
        raise Refused(f"the expression computes more than {MAX_TOTAL:,} numbers in all; refused")


def check_int(value: int, what: str) -> None:
    """Refuse Python integers so large that arithmetic on them could hang."""
    if abs(value).bit_length() > MAX_INT_BITS:
        raise Refused(f"{what} is an integer of more than {MAX_INT_BITS} bits; refused")


def check_int_power(base: int, exponent: int, what: str) -> None:
    """Refuse ``base ** exponent`` on Python ints whose result would be huge,
    before computing it (``10**10**10`` is a short string and hours of work)."""
    if abs(base) <= 1 or exponent < 0:
        return
    bits = exponent * math.log2(abs(base))
    if bits > MAX_INT_BITS:
        raise Refused(
            f"exponent too large in {what}: the result would have about {bits:,.0f} bits "
            f"(limit {MAX_INT_BITS}); use a float base such as {base}.0 for a float result"
        )


def broadcast_size(shapes: Iterable[tuple[int, ...]]) -> int | None:
    """Size of the broadcast of ``shapes``, or None if they do not broadcast."""
    try:
        return math.prod(np.broadcast_shapes(*shapes))
    except ValueError:
        return None


# -- predictions for calls ---------------------------------------------------------


def _ints(value: Any) -> list[int]:
    """The integers in a (nested) shape-like argument."""
    if isinstance(value, (list, tuple)):
        return [i for v in value for i in _ints(v)]
    if isinstance(value, (bool, np.bool_)):
        return []
    if isinstance(value, (int, np.integer)):
        return [int(value)]
    if isinstance(value, (float, np.floating)) and math.isfinite(value):
        return [int(value)]
    if isinstance(value, np.ndarray) and value.dtype.kind in "iu" and value.size <= MAX_ELEMENTS:
        return [int(v) for v in value.ravel()]
    return []


def _shape_product(value: Any) -> int:
    return math.prod(abs(i) for i in _ints(value))


def _arrays(values: Iterable[Any]) -> list[Any]:
    """Array-like arguments, looking inside lists and tuples (``stack([a, b])``)."""
    found = []
    for v in values:
        if isinstance(v, (list, tuple)):
            found += _arrays(v)
        elif is_array(v) or isinstance(v, (int, float, np.generic)):
            found.append(v)
    return found


def _arg(args: tuple, kwargs: dict, position: int, name: str, default: Any = None) -> Any:
    if len(args) > position:
        return args[position]
    return kwargs.get(name, default)


def matmul_size(a: tuple, b: tuple) -> int | None:
    if not a or not b:
        return broadcast_size([a, b])
    a2 = a if len(a) >= 2 else (1,) + a
    b2 = b if len(b) >= 2 else b + (1,)
    batch = broadcast_size([a2[:-2], b2[:-2]])
    return None if batch is None else batch * a2[-2] * b2[-1]


def _dot_size(a: tuple, b: tuple) -> int:
    if not a or not b:
        return max(math.prod(a), math.prod(b))
    rest_b = b[:-2] + b[-1:] if len(b) >= 2 else ()
    return math.prod(a[:-1]) * math.prod(rest_b)


def _tensordot_size(a: tuple, b: tuple, axes: Any) -> int:
    try:
        if isinstance(axes, (int, np.integer)):
            n = int(axes)
            contracted = math.prod(a[len(a) - n :]) if n else 1
        else:
            contracted = math.prod(a[int(i)] for i in np.atleast_1d(axes[0]))
    except (IndexError, TypeError, ValueError):
        contracted = 1
    contracted = max(contracted, 1)
    return (math.prod(a) // contracted) * (math.prod(b) // contracted)


def _einsum_size(args: tuple) -> int:
    operands = [shape_of(a) for a in args[1:]]
    spec = args[0] if args and isinstance(args[0], str) else None
    if spec is None or "." in spec:
        return math.prod(max(math.prod(s), 1) for s in operands)
    inputs, _, output = spec.replace(" ", "").partition("->")
    dims: dict[str, int] = {}
    for labels, shape in zip(inputs.split(","), operands):
        for label, dim in zip(labels, shape):
            dims[label] = max(dims.get(label, 1), dim)
    if "->" not in spec:
        output = "".join(c for c in dims if inputs.count(c) == 1)
    return math.prod(dims.get(c, 1) for c in output)


def _multi_dot_size(arrays: list) -> int:
    # Whatever order multi_dot multiplies in, every intermediate is
    # (rows of some factor) x (columns of a later one).
    dims = []
    for a in arrays:
        s = shape_of(a)
        dims += [s[0] if s else 1, s[-1] if s else 1]
    return max(
        (dims[i] * dims[j] for i in range(len(dims)) for j in range(i, len(dims))), default=1
    )


def _arange_size(args: tuple, kwargs: dict) -> int:
    numbers = [float(v) for v in args if isinstance(v, (int, float, np.number))]
    start, stop, step = 0.0, 0.0, 1.0
    if len(numbers) == 1:
        stop = numbers[0]
    elif len(numbers) >= 2:
        start, stop = numbers[:2]
        step = numbers[2] if len(numbers) > 2 else float(kwargs.get("step", 1.0))
    if step == 0 or not all(map(math.isfinite, (start, stop, step))):
        return 0  # NumPy itself refuses these without allocating
    return max(math.ceil((stop - start) / step), 0)


def _pad_size(args: tuple, kwargs: dict) -> int:
    shape = shape_of(_arg(args, kwargs, 0, "array"))
    widths = _ints(_arg(args, kwargs, 1, "pad_width", 0))
    grow = 2 * max([abs(w) for w in widths], default=0)
    return math.prod(d + grow for d in shape)


def _index_call_size(args: tuple, kwargs: dict) -> int:
    a, indices = shape_of(args[0]) if args else (), shape_of(_arg(args, kwargs, 1, "indices"))
    axis = _arg(args, kwargs, 2, "axis")
    if isinstance(axis, (int, np.integer)) and a and -len(a) <= axis < len(a):
        return math.prod(a) // max(a[int(axis)], 1) * math.prod(indices)
    return math.prod(indices) * (1 if axis is None else math.prod(a))


def predict_call_size(name: str, args: tuple, kwargs: dict) -> int:
    """An upper bound on the elements ``name(*args, **kwargs)`` will create."""
    arrays = _arrays(list(args) + list(kwargs.values()))
    shapes = [shape_of(a) for a in arrays]
    sizes = [math.prod(s) for s in shapes]
    first = args[0] if args else None
    short = name.removeprefix("linalg.")
    if name in ("zeros", "ones", "full"):
        return _shape_product(_arg(args, kwargs, 0, "shape", 1))
    if name in ("zeros_like", "ones_like"):
        shape = kwargs.get("shape")
        return size_of(first) if shape is None else _shape_product(shape)
    if name == "eye":
        n = _shape_product(_arg(args, kwargs, 0, "N", 1))
        m = _arg(args, kwargs, 1, "M")
        return n * (n if m is None else _shape_product(m))
    if name == "identity":
        return _shape_product(_arg(args, kwargs, 0, "n", 1)) ** 2
    if name == "arange":
        return _arange_size(args, kwargs)
    if name == "linspace":
        return _shape_product(_arg(args, kwargs, 2, "num", 50)) * max(sizes[:2] + [1])
    if short in ("outer", "kron"):
        return math.prod(sizes)
    if short == "matmul" and len(shapes) >= 2:
        return matmul_size(shapes[0], shapes[1]) or 0
    if name == "dot" and len(shapes) >= 2:
        return _dot_size(shapes[0], shapes[1])
    if name == "inner" and len(shapes) >= 2:
        return math.prod(shapes[0][:-1]) * math.prod(shapes[1][:-1]) or max(sizes)
    if short == "tensordot" and len(shapes) >= 2:
        return _tensordot_size(shapes[0], shapes[1], _arg(args, kwargs, 2, "axes", 2))
    if name == "einsum":
        return _einsum_size(args)
    if name == "linalg.multi_dot":
        return _multi_dot_size(arrays)
    if name == "linalg.matrix_power":
        power = _arg(args, kwargs, 1, "n", 1)
        if isinstance(power, (int, np.integer)) and abs(int(power)) > MAX_MATRIX_POWER:
            raise Refused(
                f"matrix_power exponent {power} is too large (limit {MAX_MATRIX_POWER:,})"
            )
    if name == "tile":
        return size_of(first) * _shape_product(_arg(args, kwargs, 1, "reps", 1))
    if name == "repeat":
        return size_of(first) * max(
            [abs(i) for i in _ints(_arg(args, kwargs, 1, "repeats", 1))] + [1]
        )
    if name == "pad":
        return _pad_size(args, kwargs)
    if name in ("diag", "diagflat"):
        k = abs(int(_arg(args, kwargs, 1, "k", 0) or 0))
        n = size_of(first) if name == "diagflat" or len(shape_of(first)) == 1 else 0
        return (n + k) ** 2 if n else size_of(first)
    if name == "broadcast_to":
        return _shape_product(_arg(args, kwargs, 1, "shape", 1))
    if name == "broadcast_arrays":
        return (broadcast_size(shapes) or 0) * len(shapes)
    if name in ("take", "take_along_axis"):
        return _index_call_size(args, kwargs)
    if name in ("percentile", "quantile"):
        return math.prod(sizes[:2]) if len(sizes) >= 2 else max(sizes + [1])
    if short == "cross":
        return 3 * (broadcast_size([s[:-1] for s in shapes]) or 1)
    # Everything else (elementwise functions, reductions, reshapes, stacking,
    # decompositions) creates at most the broadcast of its arguments or their
    # total size, whichever is larger.
    return max(broadcast_size(shapes) or 0, sum(sizes))


def predict_index_size(shape: tuple[int, ...], index: Any) -> int:
    """An upper bound on the elements ``x[index]`` creates for ``x`` of ``shape``
    (advanced indexing with broadcast index arrays can multiply sizes)."""
    parts = index if isinstance(index, tuple) else (index,)
    consumed = sum(
        0 if p is None or p is Ellipsis else max(len(shape_of(p)), 1) if is_bool_array(p) else 1
        for p in parts
    )
    kept: list[int] = []
    index_shapes: list[tuple[int, ...]] = []
    axis = 0
    for p in parts:
        if p is None:
            continue
        if p is Ellipsis:
            width = max(len(shape) - consumed, 0)
            kept += list(shape[axis : axis + width])
            axis += width
        elif is_bool_array(p):
            index_shapes.append((size_of(p),))
            axis += max(len(shape_of(p)), 1)
        elif is_array(p) or isinstance(p, (list, tuple)):
            index_shapes.append(shape_of(p))
            axis += 1
        else:
            if isinstance(p, slice) and axis < len(shape):
                kept.append(shape[axis])
            axis += 1
    kept += list(shape[axis:])
    fancy = broadcast_size(index_shapes) if index_shapes else 1
    return (fancy or 0) * math.prod(kept)


def is_bool_array(value: Any) -> bool:
    """Whether ``value`` is a boolean mask array."""
    return is_array(value) and getattr(value, "dtype", None) == np.bool_
