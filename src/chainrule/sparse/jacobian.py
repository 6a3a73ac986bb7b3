"""Sparse Jacobians and Hessians: one JVP, VJP or Hessian-vector product per colour.

Every colour class of a colouring (``coloring.py``) becomes one seed vector,
the sum of its unit vectors; all seeds are pushed through the function in one
batched pass (the engine's batched tangents and cotangents, as ``jacfwd`` and
``jacrev`` use for the identity), and each nonzero of the pattern is read back
from the compressed product with one vectorised gather.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import numpy as np

from ..core.array_facade import strip
from ..core.trace import GcPause, Tracer
from ..transforms._inputs import check_callable, flatten_diff_args, normalize_argnums
from . import coloring

# mode="auto" takes reverse mode only when
#     (row colours) * REVERSE_COST < (column colours) * 1,
# the cost of one JVP being 1. Measured once (a periodic 3-point stencil with
# cubic and cosine terms, n = 10^5, 4 colours, shared 2-core machine): one
# VJP 9.6 ms against one JVP 12.4 ms, the batched sparse Jacobian 40 ms
# reverse against 57 ms forward. So a VJP costs no more than a JVP here; it
# does keep a tape in memory, so ties go forward.
REVERSE_COST = 1.0

_MODES = ("auto", "forward", "reverse")


class SparsityPattern:
    """A Jacobian's (or Hessian's) nonzero pattern with the colouring that
    compresses it, so that repeated calls reuse the colouring.

    Attributes:
        pattern: ``scipy.sparse.csr_array`` of bools, ``(out.size, in.size)``.
        coloring: integer colour per column (``mode="forward"``), per row
            (``"reverse"``) or per variable (``"star"``, a Hessian's star colouring).
        mode: ``"forward"``, ``"reverse"`` or ``"star"``.

    ``SparsityPattern(pattern, mode="auto")`` colours ``pattern`` (for
    ``"auto"``: both ways, keeping the cheaper, see ``sparse_jacobian``).

    >>> import numpy as np, chainrule as cr
    >>> sp = cr.SparsityPattern(np.eye(3, dtype=bool), mode="forward")
    >>> sp.ncolors, sp.mode
    (1, 'forward')
    """

    __slots__ = ("pattern", "coloring", "mode", "_index")

    def __init__(self, pattern: Any, coloring: Any = None, mode: str = "auto") -> None:
        if mode not in (*_MODES, "star"):
            raise ValueError(f"SparsityPattern: mode must be one of {_MODES + ('star',)}")
        self.pattern = _as_pattern(pattern, "SparsityPattern")
        if coloring is None:
            mode, coloring = _colour(self.pattern, mode)
        elif mode == "auto":
            raise ValueError(
                "SparsityPattern: with a coloring, say its mode (forward, reverse or star)"
            )
        coloring = np.asarray(coloring, dtype=np.int64)
        m, n = self.pattern.shape
        size = m if mode == "reverse" else n
        if coloring.shape != (size,) or (size and coloring.min() < 0):
            raise ValueError(
                f"SparsityPattern: a {mode} coloring has one colour >= 0 per "
                f"{'row' if mode == 'reverse' else 'column'} ({size}), got shape {coloring.shape}"
            )
        self.coloring = coloring
        self.mode = mode
        self._index: Any = None  # where each nonzero sits in the compressed product

    def gather_index(self) -> np.ndarray:
        """For each nonzero of ``pattern`` (CSR order), its position in the
        flattened compressed product: ``(colour of its column, its row)`` in
        forward mode, ``(colour of its row, its column)`` in reverse. Computed
        once; every evaluation gathers with it."""
        if self._index is None:
            p = self.pattern
            m, n = p.shape
            rows = np.repeat(np.arange(m, dtype=np.int64), np.diff(p.indptr))
            cols = p.indices.astype(np.int64)
            if self.mode == "reverse":
                self._index = self.coloring[rows] * n + cols
            else:
                self._index = self.coloring[cols] * m + rows
        return self._index

    @property
    def ncolors(self) -> int:
        """The number of colours: the JVPs, VJPs or HVPs one evaluation costs."""
        return int(self.coloring.max(initial=-1)) + 1

    def __repr__(self) -> str:
        m, n = self.pattern.shape
        return (
            f"SparsityPattern(shape=({m}, {n}), nnz={self.pattern.nnz}, mode={self.mode!r}, "
            f"ncolors={self.ncolors})"
        )


def _as_pattern(pattern: Any, fname: str) -> Any:
    p = pattern.pattern if isinstance(pattern, SparsityPattern) else pattern
    return coloring.as_pattern(p, fname)


def _colour(pattern: Any, mode: str) -> tuple[str, np.ndarray]:
    if mode == "star":
        return mode, coloring.color_star(pattern)
    cols = coloring.color_columns(pattern) if mode != "reverse" else None
    if mode == "auto" and _symmetric(pattern):
        # the rows of a symmetric pattern are its columns: the same colours,
        # and a tie goes forward
        return "forward", cols  # type: ignore[return-value]
    rows = coloring.color_rows(pattern) if mode != "forward" else None
    if cols is None or (
        rows is not None and (rows.max(initial=-1) + 1) * REVERSE_COST < cols.max(initial=-1) + 1
    ):
        return "reverse", rows  # type: ignore[return-value]
    return "forward", cols


def _symmetric(pattern: Any) -> bool:
    m, n = pattern.shape
    return bool(m == n and (pattern != pattern.T).nnz == 0)


def _prepared(sparsity: Any, mode: str, fname: str) -> SparsityPattern:
    if sparsity is None:
        return None  # type: ignore[return-value]  # found by tracing on the first call
    if isinstance(sparsity, SparsityPattern):
        if mode in ("auto", sparsity.mode):
            return sparsity
        return SparsityPattern(sparsity.pattern, mode=mode)
    return SparsityPattern(sparsity, mode=mode)


def _array_argument(args: tuple, nums: tuple[int, ...], fname: str) -> Any:
    leaves, _ = flatten_diff_args(args, nums, fname)
    if len(leaves) != 1:
        raise TypeError(
            f"{fname}: the differentiated argument must be one array, got a pytree of "
            f"{len(leaves)} leaves; pass one flat vector (cr.tree.ravel flattens a pytree)."
        )
    return leaves[0]


def _check_shape(pattern: Any, m: int, n: int, fname: str) -> None:
    if pattern.shape != (m, n):
        raise ValueError(
            f"{fname}: the sparsity pattern has shape {pattern.shape}, but the function maps "
            f"{n} inputs to {m} outputs here; the pattern must be (out.size, in.size) = ({m}, {n})."
        )


def _check_inputs(pattern: Any, n: int, fname: str) -> None:
    if pattern.shape[1] != n:
        raise ValueError(
            f"{fname}: the sparsity pattern has shape {pattern.shape}, but the differentiated "
            f"argument has {n} elements; the pattern must be (out.size, in.size), with "
            f"in.size = {n}."
        )


def _seeds(colors: np.ndarray, k: int, shape: tuple[int, ...], dtype: Any) -> np.ndarray:
    """One seed per colour: the sum of the unit vectors of that colour."""
    size = len(colors)
    seeds = np.zeros((k, size), dtype=dtype)
    seeds[colors, np.arange(size)] = 1
    return seeds.reshape((k,) + shape)


def _gathered(sp_: SparsityPattern, compressed: np.ndarray) -> Any:
    """The Jacobian as a csr_array: each nonzero read from the compressed product."""
    import scipy.sparse as sp

    p = sp_.pattern
    values = compressed.reshape(-1)[sp_.gather_index()]
    return sp.csr_array((values, p.indices.copy(), p.indptr.copy()), shape=p.shape)


def _decompress(pattern: Any, gather: Callable[[np.ndarray, np.ndarray], np.ndarray]) -> Any:
    """The csr_array with ``pattern``'s structure and ``gather(rows, cols)`` as its values."""
    import scipy.sparse as sp

    rows = np.repeat(np.arange(pattern.shape[0]), np.diff(pattern.indptr))
    values = gather(rows, pattern.indices)
    return sp.csr_array(
        (values, pattern.indices.copy(), pattern.indptr.copy()), shape=pattern.shape
    )


def sparse_jacobian(
    fun: Callable[..., Any], argnums: int = 0, sparsity: Any = None, mode: str = "auto"
) -> Callable[..., Any]:
    """Jacobian of ``fun`` as a ``scipy.sparse.csr_array``, one JVP (or VJP) per colour.

    Args:
        fun: function of an array returning an array; the Jacobian is
            ``(out.size, in.size)``, both flattened in C order.
        argnums: which positional argument (one array) to differentiate.
        sparsity: the nonzero pattern, ``(out.size, in.size)``: a boolean
            scipy.sparse matrix or dense array, or a ``cr.SparsityPattern`` whose
            colouring is then reused. Entries outside it are taken to be zero
            (a wrong pattern gives a wrong Jacobian). None (the default): found
            by ``cr.jacobian_sparsity`` on the first call and kept.
        mode: ``"forward"`` colours the columns and pushes one JVP per colour;
            ``"reverse"`` colours the rows and pulls one VJP per colour;
            ``"auto"`` colours both and takes reverse only when
            ``row colours * REVERSE_COST < column colours`` (``REVERSE_COST =
            1.0``: measured, a batched VJP costs about what a batched JVP
            does on this engine, and it keeps a tape, so ties go forward); a
            structurally symmetric pattern is coloured once (its rows are its
            columns) and goes forward.

    Returns:
        a function with ``fun``'s arguments returning the Jacobian; its
        ``.pattern`` is the ``cr.SparsityPattern`` in use (pattern, colouring,
        mode), to pass as ``sparsity=`` elsewhere.

    All seeds go through the function in one batched pass, so the cost is
    one evaluation of ``fun`` plus ``ncolors`` tangent (or cotangent) streams.

    >>> import numpy as np, scipy.sparse as sp, chainrule as cr
    >>> f = lambda x: x[1:] * x[:-1]
    >>> pattern = sp.eye_array(3, 4, dtype=bool) + sp.eye_array(3, 4, k=1, dtype=bool)
    >>> jac = cr.sparse_jacobian(f, sparsity=pattern)
    >>> jac(np.array([1.0, 2.0, 3.0, 4.0])).toarray()
    array([[2., 1., 0., 0.],
           [0., 3., 2., 0.],
           [0., 0., 4., 3.]])
    >>> jac.pattern
    SparsityPattern(shape=(3, 4), nnz=6, mode='forward', ncolors=2)
    """
    fname = "sparse_jacobian"
    check_callable(fun, fname)
    if mode not in _MODES:
        raise ValueError(f"{fname}: mode must be one of {_MODES}, got {mode!r}")
    if type(argnums) is not int:
        raise TypeError(f"{fname}: argnums must be one int (one array argument), got {argnums!r}")
    prepared = _prepared(sparsity, mode, fname)

    @functools.wraps(fun)
    def jac_fun(*args: Any, **kwargs: Any) -> Any:
        nums, _ = normalize_argnums(argnums, len(args), fname)
        x = _array_argument(args, nums, fname)
        sp_ = jac_fun.pattern  # type: ignore[attr-defined]
        bound = functools.partial(fun, **kwargs) if kwargs else fun
        if sp_ is None:  # the first call finds the pattern and keeps it with its colouring
            from .detect import jacobian_sparsity

            sp_ = SparsityPattern(jacobian_sparsity(bound, argnums)(*args), mode=mode)
            jac_fun.pattern = sp_  # type: ignore[attr-defined]
        if sp_.mode == "reverse":
            return _reverse(bound, args, nums, x, sp_, fname)
        return _forward(bound, args, nums, x, sp_, fname)

    jac_fun.pattern = prepared  # type: ignore[attr-defined]
    return jac_fun


def _output(values: list[Any], fname: str) -> Any:
    if len(values) != 1:
        raise TypeError(f"{fname}: the function must return one array, got {len(values)} leaves")
    return strip(values[0])


def _forward(fun: Any, args: tuple, nums: tuple, x: Any, sp_: SparsityPattern, fname: str) -> Any:
    from ..transforms.forward_mode import push_forward

    shape, n = np.shape(strip(x)), np.size(strip(x))
    _check_inputs(sp_.pattern, n, fname)
    k = sp_.ncolors
    leaves, in_tree = flatten_diff_args(args, nums, fname)
    seeds = _seeds(sp_.coloring, k, shape, np.result_type(strip(x), np.float64))
    values, tans, _, _ = push_forward(
        fun, list(args), list(nums), in_tree, leaves, [seeds], 1, False, fname
    )
    out = _output(values, fname)
    m = np.size(out)
    _check_shape(sp_.pattern, m, n, fname)
    t = tans[0]
    if t is None:  # the output does not depend on the input
        compressed = np.zeros((k, m), dtype=np.result_type(out))
    else:
        compressed = np.reshape(strip(t), (k, m))
    return _gathered(sp_, compressed)


def _reverse(fun: Any, args: tuple, nums: tuple, x: Any, sp_: SparsityPattern, fname: str) -> Any:
    from ..transforms.reverse_mode import record

    n = np.size(strip(x))
    k = sp_.ncolors
    with GcPause():
        rec, _ = record(fun, args, {}, nums, False, fname)
        out = _output(rec.out_values, fname)
        m = np.size(out)
        _check_shape(sp_.pattern, m, n, fname)
        seeds = _seeds(sp_.coloring, k, np.shape(out), np.result_type(out))
        (ct,) = rec.pull_back([seeds], (k,)) if k else [None]
    if ct is None or isinstance(ct, Tracer):
        ct = np.zeros((k, n)) if ct is None else strip(ct)
    compressed = np.reshape(ct, (k, n))
    return _gathered(sp_, compressed)


def sparse_hessian(
    fun: Callable[..., Any], argnums: int = 0, sparsity: Any = None
) -> Callable[..., Any]:
    """Hessian of scalar ``fun`` as a ``scipy.sparse.csr_array``, one
    Hessian-vector product per colour of a star colouring.

    Args:
        fun: scalar function of an array; the Hessian is ``(x.size, x.size)``.
        argnums: which positional argument (one array) to differentiate.
        sparsity: the Hessian's nonzero pattern (symmetrised if it is not
            symmetric), a boolean matrix or a ``cr.SparsityPattern`` with
            ``mode="star"``. None (the default): found by
            ``cr.hessian_sparsity`` on the first call and kept.

    Returns:
        a function returning the Hessian, with ``.pattern``. The products are
        forward over reverse, all colours in one batched pass; with a star
        colouring every entry is read directly (no linear solves): entry
        ``(i, j)`` is ``i``'s row of colour ``c(j)``'s product unless another
        neighbour of ``i`` shares ``j``'s colour, and then ``j``'s row of colour
        ``c(i)``'s product (the star property makes one of the two clean).

    >>> import numpy as np, chainrule as cr
    >>> f = lambda x: np.sum(x[1:] * x[:-1] ** 2)
    >>> tri = np.eye(4, dtype=bool) | np.eye(4, k=1, dtype=bool) | np.eye(4, k=-1, dtype=bool)
    >>> cr.sparse_hessian(f, sparsity=tri)(np.array([1.0, 2.0, 3.0, 4.0])).toarray()
    array([[4., 2., 0., 0.],
           [2., 6., 4., 0.],
           [0., 4., 8., 6.],
           [0., 0., 6., 0.]])
    """
    fname = "sparse_hessian"
    check_callable(fun, fname)
    if type(argnums) is not int:
        raise TypeError(f"{fname}: argnums must be one int (one array argument), got {argnums!r}")
    if isinstance(sparsity, SparsityPattern):
        if sparsity.mode != "star":
            sparsity = SparsityPattern(sparsity.pattern, mode="star")
    elif sparsity is not None:
        p = coloring.as_pattern(sparsity, fname)
        if p.shape[0] != p.shape[1]:
            raise ValueError(f"{fname}: a Hessian pattern is square, got shape {p.shape}")
        sparsity = SparsityPattern((p + p.T).tocsr(), mode="star")
    prepared = _prepared(sparsity, "star", fname)

    @functools.wraps(fun)
    def hess_fun(*args: Any, **kwargs: Any) -> Any:
        from ..transforms.forward_mode import push_forward
        from ..transforms.reverse_mode import _value_and_grad

        nums, _ = normalize_argnums(argnums, len(args), fname)
        x = _array_argument(args, nums, fname)
        sp_ = hess_fun.pattern  # type: ignore[attr-defined]
        if sp_ is None:  # the first call finds the pattern and keeps it with its colouring
            from .detect import hessian_sparsity

            bound = functools.partial(fun, **kwargs) if kwargs else fun
            sp_ = SparsityPattern(hessian_sparsity(bound, argnums)(*args), mode="star")
            hess_fun.pattern = sp_  # type: ignore[attr-defined]
        n = np.size(strip(x))
        _check_shape(sp_.pattern, n, n, fname)
        k = sp_.ncolors
        leaves, in_tree = flatten_diff_args(args, nums, fname)
        bound = functools.partial(fun, **kwargs) if kwargs else fun
        value_and_grad = _value_and_grad(bound, argnums, False, fname)
        seeds = _seeds(sp_.coloring, k, np.shape(strip(x)), np.result_type(strip(x), np.float64))
        _, tans, _, _ = push_forward(
            lambda *a: value_and_grad(*a)[1],
            list(args),
            list(nums),
            in_tree,
            leaves,
            [seeds],
            1,
            False,
            fname,
        )
        t = tans[0]
        compressed = np.zeros((k, n)) if t is None else np.reshape(strip(t), (k, n))
        return _recover_star(sp_.pattern, sp_.coloring, compressed)

    hess_fun.pattern = prepared  # type: ignore[attr-defined]
    return hess_fun


def _recover_star(pattern: Any, colors: np.ndarray, compressed: np.ndarray) -> Any:
    graph = coloring.symmetric_graph(pattern)
    counts = coloring.colour_counts(graph, colors)

    def gather(i: np.ndarray, j: np.ndarray) -> np.ndarray:
        # Row i of colour c(j)'s product is H[i, j] when j is i's only
        # neighbour of that colour (always true on the diagonal: c(i) is
        # nobody else's around i); otherwise the star property makes row j
        # of colour c(i)'s product clean.
        clean = (i == j) | (counts[i, colors[j]] == 1)
        return np.where(clean, compressed[colors[j], i], compressed[colors[i], j])

    return _decompress(pattern, gather)
