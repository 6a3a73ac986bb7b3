"""Sparsity detection: which outputs depend on which inputs, found by tracing.

``SparsityTrace`` runs the user's function on the concrete point (every
primitive's ``impl`` on plain values, so shapes and branches are those of the
point) while each traced value carries a boolean ``scipy.sparse`` matrix,
``(value.size, n_inputs)``: row ``r`` marks the inputs element ``r`` depends on.
Each primitive's result pattern comes from a rule of its family, computed on
patterns only, never on values, so no zero at the point hides a dependency:

* elementwise (ufuncs, ``sigmoid``...): the union of the operands' rows after
  broadcasting;
* selections (``getitem``, ``reshape``, ``transpose``, ``broadcast_to``,
  ``concatenate``, ``stack``, ``split``, ``shift``, ``where`` with a condition
  that does not come from traced values): the primitive's own ``impl`` applied
  to arrays of element numbers, which moves the numbers where it moves values;
* scatters (``untake``: ``cr.at``, the transpose of indexing) and reductions
  along axes: a 0/1 matrix from output to input elements times the pattern;
* ``cumsum``: prefix unions; ``matmul``: Kronecker structures of the product;
  ``sparse_linear``: the operator's nonzero pattern;
* a value-dependent choice written in the user's code (``np.where`` on a
  comparison of traced values, indexing by ``np.argsort(x)``): the union of
  every choice, so the pattern also holds at points on the other side;
* ``np.sort``: the permutation that sorts the values at the point (stable
  among ties), the one its derivative follows: each sorted element depends on
  the one input at its rank there. The order at the point is part of the
  traced path, like a Python ``if`` on a value: exact for that path, and where
  the order changes (another point) the pattern is that point's;
* order statistics (``median``, ``quantile``, ``percentile``): each result on
  every element along its reduced axis (which element is chosen depends on the
  values);
* linalg: dense (every output on every traced input of the call); any other
  primitive: dense with a ``UserWarning`` naming it (once).
"""

from __future__ import annotations

import functools
import math
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
import scipy.sparse as sp

from ..core.trace import Trace, Tracer, bind, strip

_BOOL = np.bool_


class Derived(np.ndarray):
    """A plain array computed from traced values by a non-differentiable call
    (a comparison, ``argsort``): a choice it steers is value-dependent."""


class SparsityTracer(Tracer):
    """A concrete value and its dependency pattern (``size x n_inputs``)."""

    __slots__ = ("_pat",)

    def __init__(self, value: Any, trace: SparsityTrace, pat: Any) -> None:
        self._value = value
        self._trace = trace
        self._pat = pat


def _empty(rows: int, n: int) -> Any:
    return sp.csr_array((rows, n), dtype=_BOOL)


def _clean(p: Any) -> Any:
    p = sp.csr_array(p)
    if p.dtype != _BOOL:
        p = p.astype(_BOOL)
    p.eliminate_zeros()
    return p


def _union(pats: list[Any]) -> Any:
    out = pats[0]
    for p in pats[1:]:
        out = out + p
    return _clean(out)


def _take_rows(p: Any, idx: np.ndarray) -> Any:
    """Rows ``idx`` of ``p``; ``-1`` gives an empty row."""
    if np.any(idx < 0):
        p = sp.vstack([p, _empty(1, p.shape[1])], format="csr")
    return _clean(p[np.asarray(idx, dtype=np.intp).ravel()])


def _map_matrix(rows: np.ndarray, cols: np.ndarray, shape: tuple[int, int]) -> Any:
    rows, cols = np.ravel(rows), np.ravel(cols)
    data = np.ones(rows.size, dtype=_BOOL)
    return sp.csr_array((data, (rows, cols)), shape=shape)


def _times(r: Any, p: Any) -> Any:
    # counts, then booleans: a sum of products of 0/1 is 0 only structurally
    return _clean(r.astype(np.int64) @ p.astype(np.int64))


def _dense(ans_size: int, pats: list[Any], n: int) -> Any:
    """Every output on every input any of ``pats`` depends on."""
    cols = np.unique(np.concatenate([p.indices for p in pats])) if pats else np.array([], int)
    if ans_size == 0 or cols.size == 0:
        return _empty(ans_size, n)
    indptr = np.arange(ans_size + 1, dtype=np.int64) * cols.size
    indices = np.tile(cols, ans_size)
    return sp.csr_array((np.ones(indices.size, _BOOL), indices, indptr), shape=(ans_size, n))


# -- the rules: rule(ans, vals, kwargs, pats {position: pattern}, n) -> pattern


def _elementwise(ans: Any, vals: list, kwargs: dict, pats: dict, n: int) -> Any:
    shape = np.shape(ans)
    out = []
    for i, p in pats.items():
        s = np.shape(vals[i])
        if s == shape:
            out.append(p)
        else:
            ids = np.broadcast_to(np.arange(math.prod(s)).reshape(s), shape)
            out.append(_take_rows(p, ids))
    return _union(out)


def _number_args(vals: list, pats: dict, data: Any) -> tuple[list, Any]:
    """``vals`` with each traced data argument replaced by its element numbers
    (1-based, consecutive over the arguments) and each constant data argument
    by zeros; and the stacked patterns, whose row ``k - 1`` is number ``k``."""
    new = list(vals)
    stacked = []
    offset = 1
    for i in data:
        if i in pats:
            s = np.shape(vals[i])
            size = math.prod(s)
            new[i] = np.arange(offset, offset + size, dtype=np.int64).reshape(s)
            offset += size
            stacked.append(pats[i])
        elif i < len(vals) and vals[i] is not None:
            new[i] = np.zeros(np.shape(vals[i]), dtype=np.int64)
    return new, sp.vstack(stacked, format="csr")


def _selection(data: Any) -> Callable[..., Any]:
    """A primitive that only moves, copies or drops elements of its data
    arguments (positions ``data``; None: all)."""

    def rule(ans: Any, vals: list, kwargs: dict, pats: dict, n: int, impl: Any = None) -> Any:
        where = range(len(vals)) if data is None else data
        numbered, stacked = _number_args(vals, pats, where)
        ids = np.asarray(impl(*numbered, **kwargs))
        return _take_rows(stacked, ids.astype(np.intp) - 1)

    rule.needs_impl = True  # type: ignore[attr-defined]
    return rule


def _getitem(ans: Any, vals: list, kwargs: dict, pats: dict, n: int, impl: Any = None) -> Any:
    idx = vals[1]
    if any(isinstance(i, Derived) for i in (idx if isinstance(idx, tuple) else (idx,))):
        return _dense(np.size(ans), list(pats.values()), n)  # a sort, a mask: any element
    return _selection((0,))(ans, vals, kwargs, pats, n, impl)


_getitem.needs_impl = True  # type: ignore[attr-defined]


def _where(ans: Any, vals: list, kwargs: dict, pats: dict, n: int, impl: Any = None) -> Any:
    if 0 in pats or isinstance(vals[0], Derived):
        pats = {i: p for i, p in pats.items() if i != 0}
        return _elementwise(ans, vals, kwargs, pats, n) if pats else _empty(np.size(ans), n)
    return _selection((1, 2))(ans, vals, kwargs, pats, n, impl)


_where.needs_impl = True  # type: ignore[attr-defined]


def _shift(ans: Any, vals: list, kwargs: dict, pats: dict, n: int, impl: Any = None) -> Any:
    x, k, _fill = vals
    return _selection((0,))(ans, [x, k, 0], kwargs, pats, n, impl)


_shift.needs_impl = True  # type: ignore[attr-defined]


def _same(ans: Any, vals: list, kwargs: dict, pats: dict, n: int) -> Any:
    return pats[0]  # astype: the same elements


def _untake(ans: Any, vals: list, kwargs: dict, pats: dict, n: int) -> Any:
    g, idx, shape, out_ndim, _acc = vals
    if 0 not in pats or np.ndim(g) != out_ndim or _has_derived(idx):
        return _dense(np.size(ans), list(pats.values()), n)
    size = math.prod(shape)
    dest = np.arange(size).reshape(shape)[idx]
    dest = np.broadcast_to(dest, np.shape(g))
    r = _map_matrix(dest.ravel(), np.arange(dest.size), (size, dest.size))
    return _times(r, pats[0])


def _has_derived(idx: Any) -> bool:
    return any(isinstance(i, Derived) for i in (idx if isinstance(idx, tuple) else (idx,)))


def _reduce_map(shape: tuple, axes: Any, out_size: int) -> Any:
    """The 0/1 matrix from the reduced array's elements to the input's."""
    nd = len(shape)
    axes = tuple(range(nd)) if axes is None else tuple(a % nd for a in np.atleast_1d(axes))
    kept = tuple(1 if d in axes else s for d, s in enumerate(shape))
    ids = np.broadcast_to(np.arange(math.prod(kept)).reshape(kept), shape)
    size = math.prod(shape)
    return _map_matrix(ids.ravel(), np.arange(size), (max(out_size, math.prod(kept)), size))


def _reduction(ans: Any, vals: list, kwargs: dict, pats: dict, n: int) -> Any:
    x, axes = vals[0], vals[1]
    return _times(_reduce_map(np.shape(x), axes, np.size(ans)), pats[0])


def _logsumexp(ans: Any, vals: list, kwargs: dict, pats: dict, n: int) -> Any:
    a, b, axes = vals[0], vals[1], vals[2]
    shape = np.broadcast_shapes(np.shape(a), np.shape(b)) if b is not None else np.shape(a)
    both = _elementwise(np.empty(shape), vals, kwargs, pats, n)
    return _times(_reduce_map(shape, axes, np.size(ans)), both)


def _softmax(ans: Any, vals: list, kwargs: dict, pats: dict, n: int) -> Any:
    r = _reduce_map(np.shape(vals[0]), vals[1], 0)
    return _times(r.T, _times(r, pats[0]))


def _cumsum(ans: Any, vals: list, kwargs: dict, pats: dict, n: int) -> Any:
    x, axis, reverse = vals
    shape = np.shape(x)
    ids = np.moveaxis(np.arange(math.prod(shape)).reshape(shape), axis, -1)
    length = ids.shape[-1] if ids.ndim else 1
    ids = ids.reshape(-1, length)
    i, j = np.tril_indices(length) if not reverse else np.triu_indices(length)
    rows = ids[:, i].ravel()  # out element of the pair (i >= j) in each line
    cols = ids[:, j].ravel()
    size = math.prod(shape)
    return _times(_map_matrix(rows, cols, (size, size)), pats[0])


def _matmul(ans: Any, vals: list, kwargs: dict, pats: dict, n: int) -> Any:
    a, b = vals[0], vals[1]
    if kwargs:
        return _dense_warn("matmul with keywords", ans, pats, n)
    sa, sb = np.shape(a), np.shape(b)
    sa = (1, *sa) if len(sa) == 1 else sa  # a 1-D operand is a row (column) of length 1
    sb = (*sb, 1) if len(sb) == 1 else sb
    batch = np.broadcast_shapes(sa[:-2], sb[:-2])
    m, k, nn = sa[-2], sa[-1], sb[-1]
    ob = np.arange(math.prod(batch))[:, None, None, None]
    i = np.arange(m)[None, :, None, None]
    j = np.arange(nn)[None, None, :, None]
    el = np.arange(k)[None, None, None, :]
    rows = np.broadcast_to((ob * m + i) * nn + j, (ob.size, m, nn, k))
    size = math.prod(batch) * m * nn
    out = []
    if 0 in pats:  # out (b, i, j) on a (b, i, l) for every l
        ab = np.broadcast_to(np.arange(math.prod(sa[:-2])).reshape(sa[:-2]), batch).reshape(-1)
        cols = (ab[ob] * m + i) * k + el
        r = _map_matrix(rows, np.broadcast_to(cols, rows.shape), (size, math.prod(sa)))
        out.append(_times(r, pats[0]))
    if 1 in pats:  # out (b, i, j) on b (b, l, j) for every l
        bb = np.broadcast_to(np.arange(math.prod(sb[:-2])).reshape(sb[:-2]), batch).reshape(-1)
        cols = (bb[ob] * k + el) * nn + j
        r = _map_matrix(rows, np.broadcast_to(cols, rows.shape), (size, math.prod(sb)))
        out.append(_times(r, pats[1]))
    return _union(out)


def _einsum(ans: Any, vals: list, kwargs: dict, pats: dict, n: int) -> Any:
    spec = kwargs["spec"]
    ins, _, out_labels = spec.partition("->")
    subs = ins.split(",")
    if "..." in spec or len(subs) != len(vals):
        return _dense_warn("einsum with '...'", ans, pats, n)
    dims: dict[str, int] = {}
    for sub, v in zip(subs, vals):
        dims.update(zip(sub, np.shape(v)))
    labels = "".join(dims)
    grid = np.indices(tuple(dims[c] for c in labels)).reshape(len(labels), -1)
    at = dict(zip(labels, grid))

    def flat(sub: str) -> Any:  # each grid point's element of an array with labels ``sub``
        if not sub:
            return np.zeros(grid.shape[1], dtype=np.intp)
        return np.ravel_multi_index(tuple(at[c] for c in sub), tuple(dims[c] for c in sub))

    rows = flat(out_labels)
    out = []
    for i, p in pats.items():  # out element on each operand element on the same grid point
        cols = flat(subs[i])
        out.append(_times(_map_matrix(rows, cols, (np.size(ans), math.prod(np.shape(vals[i])))), p))
    return _union(out)


def _order_stat(ans: Any, vals: list, kwargs: dict, pats: dict, n: int) -> Any:
    """The ks-th smallest along the last axis: each result on every element of
    its own line (which element it is depends on the values)."""
    shape = np.shape(vals[0])
    if 0 not in pats or len(shape) == 0:
        return _dense_rule(ans, vals, kwargs, pats, n)
    lines, length = math.prod(shape[:-1]), shape[-1]
    per_line = np.size(ans) // max(lines, 1)
    if per_line * lines != np.size(ans):
        return _dense_rule(ans, vals, kwargs, pats, n)
    out = np.arange(lines * per_line).reshape(lines, per_line, 1)
    into = np.arange(lines * length).reshape(lines, 1, length)
    rows, cols = np.broadcast_arrays(out, into)
    r = _map_matrix(rows, cols, (lines * per_line, lines * length))
    return _times(r, pats[0])


def _sparse_linear(ans: Any, vals: list, kwargs: dict, pats: dict, n: int) -> Any:
    op, x = vals
    if 1 not in pats:
        return _empty(np.size(ans), n)
    matrix = getattr(op, "matrix", None)
    if matrix is None:  # a solve: the inverse of a sparse matrix is dense in general
        return _dense_rule(ans, vals, kwargs, pats, n)
    structure = sp.csr_array(matrix).astype(_BOOL)
    structure.eliminate_zeros()
    if np.ndim(x) == 2:
        structure = sp.kron(structure, sp.eye_array(np.shape(x)[1])).tocsr()
    return _times(structure, pats[1])


def _dense_rule(ans: Any, vals: list, kwargs: dict, pats: dict, n: int) -> Any:
    return _dense(np.size(ans), list(pats.values()), n)


_warned: set[str] = set()


def _dense_warn(name: str, ans: Any, pats: dict, n: int) -> Any:
    if name not in _warned:
        _warned.add(name)
        warnings.warn(
            f"jacobian_sparsity: no sparsity rule for {name}; every output of it is taken "
            "to depend on every traced input of the call (a dense block: correct, maybe "
            "not sparse).",
            UserWarning,
            stacklevel=4,
        )
    return _dense(np.size(ans), list(pats.values()), n)


_ELEMENTWISE = ("sigmoid softplus sinc log1mexp xlogy i0 i1 real imag angle conjugate").split()
_DENSE = (
    "inv solve det logdet cholesky eigh eigvalsh eig eigvals svd svdvals qr lstsq "
    "pinv expm sqrtm logm solve_triangular solve_banded solve_sylvester lu_factor adjugate "
    "adjugate_derivative eigvalsh_derivative svd_qr_complement scatter_extremum unique"
).split()

RULES: dict[str, Callable[..., Any]] = {
    "getitem": _getitem,
    "reshape": _selection((0,)),
    "transpose": _selection((0,)),
    "broadcast_to": _selection((0,)),
    "split_piece": _selection((0,)),
    "split": _same,
    "einsum": _einsum,
    "stack": _selection(None),
    "concatenate": _selection(None),
    "where": _where,
    "shift": _shift,
    "astype": _same,
    "untake": _untake,
    "sum": _reduction,
    "prod": _reduction,
    "max": _reduction,
    "min": _reduction,
    "nanmax": _reduction,
    "nanmin": _reduction,
    "logsumexp": _logsumexp,
    "softmax": _softmax,
    "log_softmax": _softmax,
    "cumsum": _cumsum,
    "matmul": _matmul,
    "sparse_linear": _sparse_linear,
    "order_stat": _order_stat,
}
RULES.update(dict.fromkeys(_ELEMENTWISE, _elementwise))
RULES.update(dict.fromkeys(_DENSE, _dense_rule))


class SparsityTrace(Trace):
    """Follows dependency patterns through each primitive (module docstring)."""

    __slots__ = ("n",)

    def __init__(self, n: int) -> None:
        super().__init__()
        self.n = n

    def process_primitive(self, prim: Any, args: Any, kwargs: Any) -> Any:
        vals = list(args)
        pats: dict[int, Any] = {}
        lower = False
        for i, a in enumerate(args):
            if isinstance(a, Tracer):
                if a._trace is self:
                    vals[i] = a._value
                    pats[i] = a._pat
                    lower = lower or isinstance(a._value, Tracer)
                else:
                    lower = True
        ans = bind(prim, vals, kwargs) if lower else prim.impl(*vals, **kwargs)
        if not pats:
            return ans
        plain = [strip(v) for v in vals]
        results = ans if prim.multiple_results else (ans,)
        rule = RULES.get(prim.name)
        if rule is None and id(prim) in _ufunc_ids():
            rule = _elementwise
        out = []
        for r in results:
            rv = strip(r)
            if rule is None:
                p = _dense_warn(prim.name, rv, pats, self.n)
            elif getattr(rule, "needs_impl", False):
                p = rule(rv, plain, kwargs, pats, self.n, impl=prim.impl)
            else:
                p = rule(rv, plain, kwargs, pats, self.n)
            out.append(SparsityTracer(r, self, p))
        return tuple(out) if prim.multiple_results else out[0]

    def process_nondiff(self, fn: Any, args: Any, kwargs: Any) -> Any:
        """Run it on the plain values and mark an array result as value-derived."""
        ans = super().process_nondiff(fn, args, kwargs)
        if type(ans) is np.ndarray:
            return ans.view(Derived)
        return ans

    def process_custom_vjp(self, call: Any) -> Any:
        """A function with its own derivative: follow its ordinary code."""
        return call.plain()

    process_custom_jvp = process_custom_vjp


@functools.cache
def _ufunc_ids() -> frozenset:
    from ..core import registry

    return frozenset(id(p) for p in registry.UFUNCS.values())


def _trace_pattern(fun: Callable[..., Any], argnums: Any, args: tuple, fname: str) -> Any:
    from ..core.trace import boundary_state, restore_boundary

    nums = (argnums,) if isinstance(argnums, int) else tuple(argnums)
    if not nums or any(not isinstance(k, int) or not -len(args) <= k < len(args) for k in nums):
        raise ValueError(
            f"{fname}: argnums {argnums!r} does not name positional arguments of a call "
            f"with {len(args)} of them"
        )
    nums = tuple(k % len(args) for k in nums)
    xs = [np.asarray(strip(args[k])) for k in nums]
    for k, x in zip(nums, xs):
        if x.dtype.kind not in "fc":
            raise TypeError(
                f"{fname}: argument {k} must be a float or complex array to differentiate, "
                f"got dtype {x.dtype}; pass it as floats (np.asarray(x, float))."
            )
    n = sum(x.size for x in xs)
    state = boundary_state()
    try:
        with SparsityTrace(n) as trace:
            new = list(args)
            offset = 0
            for k, x in zip(nums, xs):
                cols = np.arange(offset, offset + x.size)
                pat = _map_matrix(np.arange(x.size), cols, (x.size, n))
                new[k] = SparsityTracer(x, trace, pat)
                offset += x.size
            out = fun(*new)
            if isinstance(out, SparsityTracer) and out._trace is trace:
                pat, size = out._pat, np.size(out._value)
            elif isinstance(out, (np.ndarray, np.generic, float, int, complex)):
                pat, size = None, np.size(out)
            else:
                raise TypeError(
                    f"{fname}: the function must return one array, got {type(out).__name__}"
                )
    finally:
        restore_boundary(state)
    if pat is None:
        return sp.csr_array((size, n), dtype=_BOOL)
    pat = sp.csr_array(pat, dtype=_BOOL)
    pat.sort_indices()
    return pat


def jacobian_sparsity(fun: Callable[..., Any], argnums: Any = 0) -> Callable[..., Any]:
    """The Jacobian's nonzero pattern, found by tracing ``fun`` once.

    Returns a function of ``fun``'s arguments giving a ``scipy.sparse.csr_array``
    of bools, ``(out.size, in.size)`` (flattened, C order; several ``argnums``:
    their inputs one after the other). An entry is True when the output may
    depend on the input along the path the call takes; the values at the point
    play no part, so a zero there hides nothing. The path is the point's:
    Python branches on values and the order ``np.sort`` finds are those of
    ``args`` (a pattern for other points: detect there too and take the union).

    Example:
        >>> import numpy as np, chainrule as cr
        >>> f = lambda x: x[1:] * x[:-1] + np.sin(x[0])
        >>> cr.jacobian_sparsity(f)(np.zeros(4)).toarray().astype(int)
        array([[1, 1, 0, 0],
               [1, 1, 1, 0],
               [1, 0, 1, 1]])
    """
    if not callable(fun):
        raise TypeError(f"jacobian_sparsity: fun must be callable, got {type(fun).__name__}")

    @functools.wraps(fun)
    def pattern_fun(*args: Any) -> Any:
        return _trace_pattern(fun, argnums, args, "jacobian_sparsity")

    return pattern_fun


def hessian_sparsity(fun: Callable[..., Any], argnums: int = 0) -> Callable[..., Any]:
    """The Hessian's nonzero pattern of a scalar ``fun``, found by tracing its
    reverse-mode gradient: the pattern of the gradient's dependencies.

    Example:
        >>> import numpy as np, chainrule as cr
        >>> f = lambda x: np.sum(x[1:] * x[:-1]) + np.sum(x**3)
        >>> cr.hessian_sparsity(f)(np.ones(4)).toarray().astype(int)
        array([[1, 1, 0, 0],
               [1, 1, 1, 0],
               [0, 1, 1, 1],
               [0, 0, 1, 1]])
    """
    if not callable(fun):
        raise TypeError(f"hessian_sparsity: fun must be callable, got {type(fun).__name__}")
    if not isinstance(argnums, int):
        raise TypeError(f"hessian_sparsity: argnums must be one int, got {argnums!r}")

    from ..transforms.reverse_mode import grad

    g = grad(fun, argnums)

    @functools.wraps(fun)
    def pattern_fun(*args: Any) -> Any:
        p = _trace_pattern(g, argnums, args, "hessian_sparsity")
        return _clean(p + p.T)  # the Hessian is symmetric; a rule's bias must not break it

    return pattern_fun


__all__ = ["jacobian_sparsity", "hessian_sparsity", "SparsityTrace", "SparsityTracer"]
