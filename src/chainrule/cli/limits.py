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
#: The longest variable name accepted.
MAX_NAME = 100
#: The most variables one option (``--at``, ``--tangent``) may give.
MAX_VARIABLES = 1_000
#: The most syntax-tree nodes, and the deepest nesting, an expression may have.
MAX_NODES = 1_000
MAX_DEPTH = 50
#: Python integers beyond this many bits are refused (``2**10**10`` would hang).
MAX_INT_BITS = 1_024
#: Longest string argument (einsum subscripts, mode names).
MAX_STRING = 64
#: The largest exponent ``linalg.matrix_power`` may be given (each doubling is a matmul).
MAX_MATRIX_POWER = 2**20
#: The most bytes one value may take (16 per element: room for complex numbers,
#: but not for ``zeros(1000, 'U100000')``, 400 MB in a thousand elements).
MAX_BYTES = 16 * MAX_ELEMENTS
#: The most pieces a function may split a value into (``array_split(x, 10**9)``).
MAX_PIECES = 10_000
#: Python integers passed to NumPy functions must fit in this many bits; larger
#: ones become object arrays of Python integers, whose arithmetic has no bound.
MAX_CALL_INT_BITS = 64
#: The most work one evaluation may do, in units of one multiply-add of a
#: matrix product (about 0.04 ns with a laptop's BLAS; the weights below convert
#: other operations). 10**10 is a few tenths of a second of arithmetic.
MAX_WORK = 10**10
#: Work a whole derivative may take: the evaluation's work times the number of
#: directions pushed through it (``jacobian``, ``hessian``, ``grad --mode fwd``).
MAX_DERIVATIVE_COST = 5 * 10**10
#: Relative cost of one element of an elementwise operation, one iteration of
#: ``einsum``'s loop (NumPy's unoptimised path), and one ``n**3`` step of a
#: decomposition (SVD, eigenvalues, inverse), against a matrix-product multiply-add.
ELEMENT_WORK = 10
EINSUM_WORK = 50
DECOMPOSITION_WORK = 40
#: Python's share: what recording one operation (or one piece of a split) on a
#: tape costs, whatever its size (about 10 microseconds), in the same units.
NODE_WORK = 250_000


def shape_of(value: Any) -> tuple[int, ...]:
    """The array shape of a value (traced or not); ``()`` for scalars."""
    shape = getattr(value, "shape", None)
    if shape is not None:
        return tuple(shape)
    if isinstance(value, (bool, int, float, complex, np.generic)):
        return ()
    if isinstance(value, (list, tuple)):
        # Without np.shape, which would convert traced entries to arrays (and
        # refuse); a ragged list is NumPy's to reject when it is used.
        return (len(value), *shape_of(value[0])) if value else (0,)
    return tuple(np.shape(value))


def is_array(value: Any) -> bool:
    """Whether ``value`` is an array or a traced array (not a Python scalar)."""
    return hasattr(value, "shape") and hasattr(value, "dtype")


def nominal_size(shape: Iterable[int]) -> int:
    """The elements of ``shape`` counting empty dimensions as 1: an upper bound on
    what any reduction or broadcast of an empty array can create (``zeros((10**6,
    0, 10**6)).sum(axis=1)`` has 10**12 elements, from an array of none)."""
    return math.prod(max(int(d), 1) for d in shape)


def size_of(value: Any) -> int:
    """How many numbers ``value`` holds (summed over tuples and lists), empty
    dimensions counted as 1 (see :func:`nominal_size`).

    >>> size_of(np.zeros((3, 0, 5))), size_of((np.ones(2), 1.0))
    (15, 3)
    """
    if isinstance(value, (list, tuple)):
        return sum(size_of(v) for v in value)
    if is_array(value):
        return nominal_size(shape_of(value))
    return 1


def check_value(value: Any, what: str) -> None:
    """Refuse values whose memory is not bounded by their element count: object
    arrays (Python integers of any size) and strings or records of huge items;
    and results split into too many pieces."""
    if isinstance(value, (list, tuple)):
        if len(value) > MAX_PIECES:
            raise Refused(f"{what} would have {len(value):,} pieces; the limit is {MAX_PIECES:,}")
        for v in value:
            check_value(v, what)
        return
    dtype = getattr(value, "dtype", None)
    if not isinstance(dtype, np.dtype):
        return
    if dtype.hasobject:
        raise Refused(
            f"{what} would be an array of Python objects (integers beyond 64 bits?); "
            "write large numbers as floats, such as 1e30"
        )
    check_bytes(size_of(value), max(dtype.itemsize, 1), what)


def count(n: int) -> str:
    """``1,000,000`` for a count people can read, ``about 1.0e+300`` beyond.

    >>> count(10**6), count(10**300)
    ('1,000,000', 'about 1.0e+300')
    """
    return f"{n:,}" if n < 10**18 else f"about {float(n):.1e}" if n < 10**308 else "more than 1e308"


def check_size(size: int, what: str) -> None:
    """Refuse a value of ``size`` elements if it exceeds :data:`MAX_ELEMENTS`."""
    if size > MAX_ELEMENTS:
        raise Refused(
            f"{what} would have {count(size)} elements; the limit is {MAX_ELEMENTS:,} "
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


def check_work(work: int, what: str) -> None:
    """Refuse when one evaluation's work would exceed :data:`MAX_WORK` (time is a
    resource too: ``einsum('i,j,k,l->', x, x, x, x)`` is a scalar, and hours)."""
    if work > MAX_WORK:
        raise Refused(
            f"{what} would take {count(work)} steps of arithmetic; the limit for one "
            f"expression is {MAX_WORK:,} (a few tenths of a second)"
        )


def check_bytes(size: int, itemsize: int, what: str) -> None:
    """Refuse a value of ``size`` items of ``itemsize`` bytes above :data:`MAX_BYTES`."""
    if size * itemsize > MAX_BYTES:
        raise Refused(
            f"{what} would take {count(size * itemsize)} bytes ({count(size)} items of "
            f"{itemsize:,} bytes); the limit is {MAX_BYTES:,}"
        )


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


def _contracted(a: tuple, axes: Any) -> int:
    """The elements of ``a`` that ``tensordot(a, b, axes)`` sums over, per result element."""
    try:
        if isinstance(axes, (int, np.integer)):
            n = int(axes)
            contracted = math.prod(a[len(a) - n :]) if n > 0 else 1
        else:
            contracted = math.prod(a[int(i)] for i in np.atleast_1d(axes[0]))
    except (IndexError, TypeError, ValueError, OverflowError):
        contracted = 1
    return max(contracted, 1)


def _tensordot_size(a: tuple, b: tuple, axes: Any) -> int:
    contracted = _contracted(a, axes)
    return (nominal_size(a) // contracted) * (nominal_size(b) // contracted) or 1


def _einsum_terms(args: tuple) -> tuple[list[list], list | None, list[tuple]] | None:
    """Each operand's labels (``Ellipsis`` for ``...``), the output's labels
    (None when implicit) and the operand shapes; None if unreadable."""
    if args and isinstance(args[0], str):
        spec = args[0].replace(" ", "")
        inputs, arrow, output = spec.partition("->")

        def labels(term: str) -> list:
            before, dots, after = term.partition("...")
            return list(before) + ([Ellipsis] if dots else []) + list(after)

        lettered = [labels(t) for t in inputs.split(",")]
        shapes = [shape_of(a) for a in args[1:]]
        return lettered, labels(output) if arrow else None, shapes
    # The interleaved form: einsum(a, [0, 1], b, [1, 2], [0, 2]).
    # Its sublists arrive as integer arrays (the evaluator makes lists arrays).
    pairs = list(args)
    last = pairs.pop() if len(pairs) % 2 else None
    if not all(_is_sublist(t) for t in pairs[1::2]) or not pairs:
        return None
    terms: list[list] = [_ints(t) for t in pairs[1::2]]
    out = _ints(last) if last is not None and _is_sublist(last) else None
    return terms, out, [shape_of(a) for a in pairs[0::2]]


def _is_sublist(value: Any) -> bool:
    if isinstance(value, (list, tuple)):
        return True
    if not isinstance(value, np.ndarray) or value.ndim != 1:
        return False
    return value.dtype.kind in "iu" or value.size == 0  # [] arrives as a float array


def einsum_cost(args: tuple) -> tuple[int, int]:
    """The elements of ``einsum(*args)``'s result and the iterations of its loop
    (the product of every label's dimension: ``'i,j,k->'`` on three vectors of
    1000 is a scalar, and 10**9 iterations)."""
    parsed = _einsum_terms(args)
    if parsed is None:
        everything = math.prod(nominal_size(shape_of(a)) for a in _arrays(args))
        return everything, everything
    terms, output, shapes = parsed
    dims: dict[Any, int] = {}
    ellipses: list[tuple[int, ...]] = []
    for term, shape in zip(terms, shapes):
        if Ellipsis in term:
            k = term.index(Ellipsis)
            width = len(shape) - (len(term) - 1)
            if width < 0:
                continue  # NumPy refuses the mismatch itself
            ellipses.append(shape[k : k + width])
            pairs = list(zip(term[:k], shape[:k])) + list(zip(term[k + 1 :], shape[k + width :]))
        else:
            pairs = list(zip(term, shape))
        for label, d in pairs:
            dims[label] = max(dims.get(label, 1), int(d))
    ellipsis = max(
        [broadcast_size(ellipses) or 0, max((nominal_size(e) for e in ellipses), default=1)]
    )
    if output is None:
        counts: dict[Any, int] = {}
        for term in terms:
            for label in term:
                counts[label] = counts.get(label, 0) + 1
        output = [label for label, n in counts.items() if n == 1 and label is not Ellipsis]
    result = nominal_size(dims.get(label, 1) for label in output if label is not Ellipsis)
    return result * ellipsis, nominal_size(dims.values()) * ellipsis


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


# Functions whose result holds the elements of all their arguments together.
_STACKING = {
    "append",
    "array",
    "asarray",
    "column_stack",
    "concat",
    "concatenate",
    "dstack",
    "hstack",
    "row_stack",
    "stack",
    "vstack",
}
# Functions that can fill a large array with copies of a small argument.
_REPLICATING = {
    "append",
    "broadcast_to",
    "choose",
    "full",
    "full_like",
    "pad",
    "repeat",
    "select",
    "tile",
    "where",
}
# Functions that split their first argument into pieces, and where the count is.
_SPLITTING = {"array_split": 1, "split": 1, "hsplit": 1, "vsplit": 1, "dsplit": 1}
# Decompositions and solvers: about m * n * min(m, n) steps per matrix.
_DECOMPOSITIONS = {
    "cholesky",
    "det",
    "eig",
    "eigh",
    "eigvals",
    "eigvalsh",
    "inv",
    "lstsq",
    "matrix_norm",
    "matrix_rank",
    "norm",
    "pinv",
    "qr",
    "slogdet",
    "solve",
    "svd",
    "svdvals",
}
_UNIQUE_FLAGS = ("return_index", "return_inverse", "return_counts")
_SORTING = {"argsort", "median", "percentile", "quantile", "searchsorted", "sort", "unique"}


def _matrix_steps(shape: tuple[int, ...]) -> int:
    """``m * n * min(m, n)`` per matrix of a stack of shape ``shape``."""
    if len(shape) < 2:
        return nominal_size(shape)
    m, n = max(shape[-2], 1), max(shape[-1], 1)
    return nominal_size(shape[:-2]) * m * n * min(m, n)


def check_call_arguments(name: str, args: tuple, kwargs: dict) -> int:
    """Refuse arguments whose cost no element count shows: Python integers too
    large for NumPy (they make object arrays), object dtypes, and too many
    pieces. Returns the largest item size a dtype argument asks for (bytes)."""
    for value in _flatten(list(args) + list(kwargs.values())):
        if isinstance(value, int) and not isinstance(value, bool):
            if abs(value).bit_length() > MAX_CALL_INT_BITS:
                raise Refused(
                    f"an argument of {name} is an integer of more than {MAX_CALL_INT_BITS} bits; "
                    "write it as a float (such as 1e30) or use a smaller number"
                )
    candidates = [v for v in args[1 if name == "einsum" else 0 :] if isinstance(v, str)]
    if isinstance(kwargs.get("dtype"), str):
        candidates.append(kwargs["dtype"])
    itemsize = 8
    if name in _REPLICATING:
        # A string argument here may be the data itself: full(10**6, 'a' * 64)
        # is an array of 64-character strings, 4 bytes per character.
        texts = [v for v in _flatten(list(args) + list(kwargs.values())) if isinstance(v, str)]
        itemsize = max([itemsize] + [4 * len(t) for t in texts])
    for text in candidates:
        dtype = _as_dtype(text)
        if dtype is None:
            continue
        if dtype.hasobject:
            raise Refused(f"the dtype '{text}' (Python objects) is not allowed; use numbers")
        itemsize = max(itemsize, dtype.itemsize)
    pieces = split_pieces(name, args, kwargs)
    if pieces > MAX_PIECES:
        raise Refused(f"{name} would split into {pieces:,} pieces; the limit is {MAX_PIECES:,}")
    return itemsize


def _newer_size(
    name: str, args: tuple, kwargs: dict, shapes: list[tuple[int, ...]], sizes: list[int]
) -> int | None:
    """Result sizes of the functions whose results outgrow their arguments in
    ways the general rule does not see (None for every other function)."""
    first = shape_of(args[0]) if args else ()
    if name in ("geomspace", "logspace"):
        return _shape_product(_arg(args, kwargs, 2, "num", 50)) * max(sizes[:2] + [1])
    if name in ("cov", "corrcoef"):
        rowvar = bool(_arg(args, kwargs, 2, "rowvar", True))

        def variables(shape: tuple[int, ...]) -> int:
            return 1 if len(shape) < 2 else shape[0] if rowvar else shape[1]

        y = _arg(args, kwargs, 1, "y")
        count = variables(first) + (variables(shape_of(y)) if y is not None else 0)
        return count * count
    if name in ("convolve", "correlate", "polymul"):
        return sum(sizes[:2])
    if name == "polyint":
        return nominal_size(first) + abs(_shape_product(_arg(args, kwargs, 1, "m", 1)))
    if name == "polyfit":
        degree = _shape_product(_arg(args, kwargs, 2, "deg", 1)) + 1
        return max(sizes + [1]) * degree  # the Vandermonde matrix it solves with
    if name == "vander":
        n = nominal_size(first)
        columns = _arg(args, kwargs, 1, "N")
        return n * (n if columns is None else _shape_product(columns))
    if name == "tri":
        n = _shape_product(_arg(args, kwargs, 0, "N", 1))
        m = _arg(args, kwargs, 1, "M")
        return n * (n if m is None else _shape_product(m))
    if name == "roots":
        return nominal_size(first) ** 2  # the companion matrix
    if name == "poly":
        return nominal_size(first) + 1
    if name == "meshgrid":
        return math.prod(sizes) * max(len(shapes), 1)  # one array per input, all inputs' sizes
    if name == "gradient":
        return nominal_size(first) * max(len(first), 1)
    if name in ("insert", "diff", "ediff1d", "asanyarray", "ascontiguousarray", "asfortranarray"):
        return sum(sizes)
    if name == "linalg.eig" and len(first) >= 2:
        return nominal_size(first) + nominal_size(first[:-1])
    return None


def split_pieces(name: str, args: tuple, kwargs: dict) -> int:
    """How many pieces ``split``, ``array_split`` (and the like) or ``unstack``
    would return; 1 for every other function."""
    if name == "unstack":
        first = shape_of(args[0]) if args else ()
        axis = _arg(args, kwargs, 1, "axis", 0)
        ok = isinstance(axis, (int, np.integer)) and -len(first) <= axis < len(first)
        return int(first[int(axis)]) if ok else 1
    position = _SPLITTING.get(name)
    if position is None:
        return 1
    sections = _arg(args, kwargs, position, "indices_or_sections", 1)
    counts = _ints(sections)
    scalar = isinstance(sections, (int, np.integer)) and not isinstance(sections, bool)
    return abs(counts[0]) if scalar and counts else len(counts) + 1


def _flatten(values: list) -> list:
    found = []
    for v in values:
        if isinstance(v, (list, tuple)):
            found += _flatten(list(v))
        else:
            found.append(v)
    return found


def _as_dtype(text: str) -> np.dtype | None:
    """``text`` read as a NumPy dtype, or None if it is not one (``'fro'``)."""
    import warnings

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # deprecated aliases such as 'a'
            return np.dtype(text)
    except (TypeError, ValueError, OverflowError, SyntaxError, KeyError):
        return None


def predict_call(name: str, args: tuple, kwargs: dict) -> tuple[int, int]:
    """Upper bounds on the elements ``name(*args, **kwargs)`` creates and on the
    work it does (in units of :data:`MAX_WORK`), from the arguments' shapes."""
    size = predict_call_size(name, args, kwargs)
    arrays = _arrays(list(args) + list(kwargs.values()))
    shapes = [shape_of(a) for a in arrays]
    sizes = [nominal_size(s) for s in shapes]
    short = name.removeprefix("linalg.")
    elementwise = NODE_WORK + ELEMENT_WORK * (size + sum(sizes))
    pieces = split_pieces(name, args, kwargs)
    if pieces > 1:
        # Each piece is an operation of its own, and its derivative is spread
        # back over the whole input.
        return size, elementwise + pieces * (NODE_WORK + ELEMENT_WORK * size)
    if name == "einsum":
        return size, elementwise + EINSUM_WORK * einsum_cost(args)[1]
    if short == "tensordot" and len(shapes) >= 2:
        axes = _arg(args, kwargs, 2, "axes", 2)
        return size, elementwise + size * _contracted(shapes[0], axes)
    if short in ("matmul", "vecdot") or name in ("dot", "inner", "vdot"):
        inner = sizes[0] if name == "vdot" else max((s[-1] for s in shapes[:1] if s), default=1)
        return size, elementwise + size * max(inner, 1)
    if name == "linalg.multi_dot":
        largest = max((max(s) for s in shapes if s), default=1)
        return size, elementwise + max(len(shapes) - 1, 1) * size * largest
    if name == "linalg.matrix_power" and shapes:
        power = _arg(args, kwargs, 1, "n", 1)
        count = abs(int(power)).bit_length() if isinstance(power, (int, np.integer)) else 1
        steps = _matrix_steps(shapes[0])
        inverse = DECOMPOSITION_WORK * steps if isinstance(power, int) and power < 0 else 0
        return size, elementwise + 2 * count * steps + inverse
    if name.startswith("linalg.") and short in _DECOMPOSITIONS and shapes:
        return size, elementwise + DECOMPOSITION_WORK * sum(_matrix_steps(s) for s in shapes[:2])
    if name in _SORTING:
        n = max(sizes + [1])
        return size, elementwise * max(n.bit_length(), 1)
    if name in ("convolve", "correlate", "polymul", "polydiv", "polyval", "interp"):
        # Every entry of one against every entry of the other.
        return size, elementwise + ELEMENT_WORK * math.prod(sizes[:2])
    if name in ("cov", "corrcoef", "polyfit", "vander"):
        longest = max([max(s) for s in shapes if s] + [1])
        return size, elementwise + DECOMPOSITION_WORK * size * longest
    if name in ("roots", "poly"):
        n = max(sizes + [1])
        return size, elementwise + DECOMPOSITION_WORK * n**3
    return size, elementwise


def predict_call_size(name: str, args: tuple, kwargs: dict) -> int:
    """An upper bound on the elements ``name(*args, **kwargs)`` will create."""
    arrays = _arrays(list(args) + list(kwargs.values()))
    shapes = [shape_of(a) for a in arrays]
    sizes = [nominal_size(s) for s in shapes]
    first = args[0] if args else None
    short = name.removeprefix("linalg.")
    if name in ("zeros", "ones", "full"):
        return _shape_product(_arg(args, kwargs, 0, "shape", 1))
    if name in ("zeros_like", "ones_like", "full_like"):
        shape = _arg(args, kwargs, 5 if name == "full_like" else 4, "shape")
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
        return einsum_cost(args)[0]
    if name == "linalg.multi_dot":
        return _multi_dot_size(arrays)
    if name == "linalg.matrix_power":
        power = _arg(args, kwargs, 1, "n", 1)
        if isinstance(power, (int, np.integer)) and abs(int(power)) > MAX_MATRIX_POWER:
            raise Refused(
                f"matrix_power exponent {power} is too large (limit {MAX_MATRIX_POWER:,})"
            )
        return size_of(first)
    if short in ("svd", "qr") and shapes and len(shapes[0]) >= 2:
        *batch, m, n = shapes[0]
        stack = nominal_size(batch)
        m, n = max(m, 1), max(n, 1)
        if short == "svd" and _arg(args, kwargs, 1, "full_matrices", True):
            return stack * (m * m + n * n + min(m, n))
        if short == "qr" and _arg(args, kwargs, 1, "mode", "reduced") == "complete":
            return stack * (m * m + m * n)
        return stack * (2 * m * n + min(m, n))
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
    special = _newer_size(name, args, kwargs, shapes, sizes)
    if special is not None:
        return special
    if name in _STACKING:
        return sum(sizes)
    if name in ("argwhere", "nonzero", "flatnonzero") or (name == "where" and len(args) == 1):
        return max(sizes + [1]) * max([len(s) for s in shapes] + [1])  # an index per dimension
    if name in ("unique", "unique_all", "unique_counts", "unique_inverse", "unique_values"):
        flags = [_arg(args, kwargs, k, n) for k, n in enumerate(_UNIQUE_FLAGS, start=1)]
        return max(sizes + [1]) * (1 + sum(bool(f) for f in flags))
    # Everything else (elementwise functions, reductions, reshapes, decompositions)
    # creates at most the broadcast of its arguments or its largest argument;
    # scalar arguments (add(x, 1), matrix_power(A, 3)) add nothing.
    return max([broadcast_size(shapes) or 0] + sizes + [1])


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
