"""Products: matmul (``@``), einsum, and everything built on them (dot, vdot,
inner, outer, tensordot, kron, cross, multi_dot, matrix_power).

A 1-d operand of ``matmul`` is promoted to a matrix (a row on the left, a
column on the right) so one formula covers every case:
``d(A @ B) = dA @ B + A @ dB``, ``cot A = G @ B^T``, ``cot B = A^T @ G``,
each summed back over broadcast stack axes.

``einsum`` is the general primitive. Its subscripts are first normalised to
an explicit form with one letter per axis (``...`` spelled out with unused
letters, the implicit output made explicit, an operand's size-1 axis that
broadcasts against a longer one given a letter of its own), so its rules are
einsums again: the JVP for operand ``k`` is the same einsum with the tangent
in place of operand ``k``, and its VJP contracts the cotangent with the other
operands onto operand ``k``'s subscripts. Batches of tangents or cotangents
ride on a ``...`` prefix, which is free because the normalised subscripts never
contain one. Repeated indices (``'ii->i'``, traces) need care in the VJP: the
cotangent of a diagonal lives on the diagonal, which an einsum produces by
contracting with identity matrices; indices summed away inside operand ``k``
alone get a vector of ones.
"""

from __future__ import annotations

import operator
import string
import warnings
from typing import Any

import numpy as np

from .._backends import is_foreign
from ..core.primitive import EachArgument, Primitive, set_direct_pair
from ..core.registry import NONDIFF, UFUNCS, implements
from ..core.trace import is_traced, strip
from ..errors import conversion_error
from ._util import FLOAT64, allow_complex, batch_lead, ndim_of, pad_batch, shape_of, unbroadcast
from .shape import astype, expand_dims, getitem, moveaxis, ravel, reshape, swapaxes


def _as_matrix(x: Any, own_ndim: int, left: bool) -> Any:
    """Promote a 1-d operand (with any batch axes in front) to a matrix."""
    if own_ndim != 1:
        return x
    return expand_dims(x, -2 if left else -1)


def _mT(x: Any) -> Any:
    return swapaxes(x, -1, -2)


# Vectors and matrices (the common case): one product each, no promotion.
# ``g`` and ``t`` may carry batch axes in front; every formula below acts on
# the trailing axes only.
def _small_vjp_a(a_nd: int, b_nd: int, b: Any) -> Any:
    if b_nd == 2:
        return lambda g: g @ b.T  # (.., n, p) @ (p, m) or (.., p) @ (p, m)
    if a_nd == 2:
        return lambda g: g[..., None] * b  # outer product: (.., n, 1) * (m,)
    return lambda g: g[..., None] * b  # a . b: (.., 1) * (m,)


def _small_vjp_b(a_nd: int, b_nd: int, a: Any) -> Any:
    if a_nd == 2:
        return (lambda g: a.T @ g) if b_nd == 2 else (lambda g: g @ a)
    if b_nd == 2:
        return lambda g: a[:, None] * g[..., None, :]  # outer product (m, 1) * (.., 1, p)
    return lambda g: g[..., None] * a


def _small_jvp(which: int, t: Any, a: Any, b: Any) -> Any:
    if which == 1:
        return t @ b
    if ndim_of(b) == 1 and ndim_of(t) > 1:
        return t @ (a.T if ndim_of(a) == 2 else a)  # (.., m) @ (m, n): keep batch in front
    return a @ t


def _plain(x: Any) -> Any:
    """A constant operand given as a list becomes an array (traced ones are arrays)."""
    return x if type(x) is np.ndarray or hasattr(x, "ndim") else np.asarray(x)


def _matmul_vjp_a(ans: Any, a: Any, b: Any):
    # x @ W, the commonest case, without the general bookkeeping (as _small_vjp_a)
    if (
        type(b) is np.ndarray
        and b.ndim == 2
        and (a.ndim if type(a) is np.ndarray else ndim_of(a)) <= 2
    ):
        return lambda g: g @ b.T
    a, b = _plain(a), _plain(b)
    a_nd, b_nd = a.ndim, b.ndim
    if a_nd <= 2 and b_nd <= 2:
        return _small_vjp_a(a_nd, b_nd, b)
    return _general_vjp_a(ans, a, b)


def _general_vjp_a(ans: Any, a: Any, b: Any):
    a_nd, b_nd = a.ndim, b.ndim
    a_shape, n = shape_of(a), ndim_of(ans)
    b2 = _as_matrix(b, b_nd, left=False)

    def vjp(g: Any) -> Any:
        nb = g.ndim - n
        g2 = _as_matrix(g, 1, left=a_nd == 1) if (a_nd == 1) != (b_nd == 1) else g
        if a_nd == 1 and b_nd == 1:
            g2 = reshape(g, g.shape + (1, 1))
        ga = g2 @ _mT(b2)
        if a_nd == 1:
            ga = getitem(ga, (Ellipsis, 0, slice(None)))
        return unbroadcast(ga, a_shape, ga.ndim - nb)

    return vjp


def _matmul_vjp_b(ans: Any, a: Any, b: Any):
    # W @ x, the commonest case, without the general bookkeeping (as _small_vjp_b)
    if type(a) is np.ndarray and a.ndim == 2:
        b_nd = b.ndim if type(b) is np.ndarray else ndim_of(b)  # b: the traced value
        if b_nd == 2:
            return lambda g: a.T @ g
        if b_nd == 1:
            return lambda g: g @ a
    a, b = _plain(a), _plain(b)
    a_nd, b_nd = a.ndim, b.ndim
    if a_nd <= 2 and b_nd <= 2:
        return _small_vjp_b(a_nd, b_nd, a)
    return _general_vjp_b(ans, a, b)


def _general_vjp_b(ans: Any, a: Any, b: Any):
    a_nd, b_nd = a.ndim, b.ndim
    b_shape, n = shape_of(b), ndim_of(ans)
    a2 = _as_matrix(a, a_nd, left=True)

    def vjp(g: Any) -> Any:
        nb = g.ndim - n
        g2 = _as_matrix(g, 1, left=a_nd == 1) if (a_nd == 1) != (b_nd == 1) else g
        if a_nd == 1 and b_nd == 1:
            g2 = reshape(g, g.shape + (1, 1))
        gb = _mT(a2) @ g2
        if b_nd == 1:
            gb = getitem(gb, (Ellipsis, 0))
        return unbroadcast(gb, b_shape, gb.ndim - nb)

    return vjp


def _matmul_jvp(which: int):
    def rule(t: Any, ans: Any, a: Any, b: Any) -> Any:
        a, b = _plain(a), _plain(b)
        a_nd, b_nd = a.ndim, b.ndim
        if a_nd <= 2 and b_nd <= 2:
            return _small_jvp(which, t, a, b)
        own = a_nd if which == 1 else b_nd
        lead = batch_lead(t, own)
        out_nd = max(a_nd, b_nd, 2)  # ndim of the product of the promoted operands
        if which == 1:
            t2 = pad_batch(_as_matrix(t, a_nd, left=True), max(a_nd, 2), out_nd)
            r = t2 @ _as_matrix(b, b_nd, left=False)
        else:
            t2 = pad_batch(_as_matrix(t, b_nd, left=False), max(b_nd, 2), out_nd)
            r = _as_matrix(a, a_nd, left=True) @ t2
        return reshape(r, lead + shape_of(ans))

    return rule


# Forward mode through ``W @ x`` (or ``x @ W``) with a constant matrix W and a
# vector x needs W @ x and W @ t. Computing both together reads W once instead
# of twice. Up to a few MB (W stays in the core's cache), one product of W
# with the two stacked vectors does it (1.2-1.5x faster than two from 200 x 200
# on; below that, stacking costs more than it saves). For a larger W that
# product spends most of its time copying W into BLAS's packed panels, so W is
# instead taken in blocks of rows small enough to stay in cache for the second
# vector (about 1.35x faster than two products at 1000 x 1000). HVPs do this
# twice.
_FUSE_FROM = 200 * 200
_BLOCK_ABOVE = 4 * 2**20  # bytes of W
_BLOCK_BYTES = 2**19


def _matmul_fused_jvp(i: int, x: Any, w: Any, t: Any) -> Any:
    if (
        type(w) is not np.ndarray
        or type(x) is not np.ndarray
        or type(t) is not np.ndarray
        or w.ndim != 2
        or w.size < _FUSE_FROM
        or x.ndim != 1
        or t.shape != x.shape
        or w.dtype != x.dtype
        or t.dtype != x.dtype
        or w.shape[1 - i] != x.shape[0]  # mismatched: the plain product raises NumPy's error
    ):
        return None
    if w.nbytes > _BLOCK_ABOVE:
        both = _blocked_pair(i, x, t, w)
    else:
        both = np.stack((x, t)) @ (w if i == 0 else w.T)  # rows: x @ w, t @ w (or w @ x, w @ t)
    return both[0], both[1]


def _blocked_pair(i: int, x: Any, t: Any, w: Any) -> Any:
    """Rows ``x @ w`` and ``t @ w`` (``i == 0``) or ``w @ x`` and ``w @ t``,
    reading ``w`` from memory once, a block of rows at a time."""
    rows = max(1, _BLOCK_BYTES // (w.shape[1] * w.itemsize))
    if i == 1:  # w @ x: each block of rows of w gives a block of the result
        out = np.empty((2, w.shape[0]), dtype=x.dtype)
        for r in range(0, w.shape[0], rows):
            block = w[r : r + rows]
            np.matmul(block, x, out=out[0, r : r + rows])
            np.matmul(block, t, out=out[1, r : r + rows])
        return out
    out = np.zeros((2, w.shape[1]), dtype=x.dtype)  # x @ w: the blocks' sum
    part = np.empty(w.shape[1], dtype=x.dtype)
    for r in range(0, w.shape[0], rows):
        block = w[r : r + rows]
        out[0] += np.matmul(x[r : r + rows], block, out=part)
        out[1] += np.matmul(t[r : r + rows], block, out=part)
    return out


def _transposed_times(g: Any, a: Any) -> Any:
    """The cotangent of ``x`` in ``a @ x`` for a matrix ``x`` (as _small_vjp_b)."""
    return a.T @ g


def _matmul_direct(v: Any, c: Any, i: int) -> Any:
    """``c @ v`` (``i == 1``) or ``v @ c`` (``i == 0``) for the reverse trace's
    short path (core.primitive.set_direct_pair): a traced vector or matrix
    ``v`` and a constant float64 matrix ``c`` — a network's layer. For these
    shapes ``np.dot`` is ``np.matmul`` with less dispatch, and the backward
    step is a bare ``np.dot`` call: no closure is made and no Python frame runs
    per layer."""
    if v.dtype is not FLOAT64 or c.dtype is not FLOAT64 or c.ndim != 2:
        return None
    nd = v.ndim
    if nd == 1 or nd == 2:  # (plain arrays: np.dot without its __array_function__ dispatch)
        if i == 1:  # c @ v: the cotangent is g @ c, or c.T @ g for a matrix v
            return _plain_dot(c, v), (np.dot if nd == 1 else _transposed_times), c
        return _plain_dot(v, c), np.dot, c.T  # v @ c: g @ c.T (any batch axes in front of g)
    return None


_plain_dot = getattr(np.dot, "_implementation", np.dot)


matmul_p = Primitive("matmul", np.matmul)
matmul_p.defvjp(_matmul_vjp_a, _matmul_vjp_b)
set_direct_pair(matmul_p, _matmul_direct)
matmul_p.defjvp(_matmul_jvp(1), _matmul_jvp(2))
matmul_p.fused_jvp = _matmul_fused_jvp
UFUNCS[np.matmul] = matmul_p
allow_complex(matmul_p)  # (a @ b)' = a' @ b + a @ b' over the complex numbers too


@implements(np.linalg.matmul)
def linalg_matmul(x1: Any, x2: Any) -> Any:
    """Differentiable ``numpy.linalg.matmul`` (the same as ``x1 @ x2``)."""
    return matmul_p(x1, x2)


# --- einsum ---------------------------------------------------------------------
_LETTERS = string.ascii_letters


def _fresh(used: Any, count: int) -> list[str]:
    """``count`` einsum letters not in ``used``."""
    free = [c for c in _LETTERS if c not in used]
    if len(free) < count:
        raise ValueError(
            "einsum: too many distinct indices (NumPy's einsum has 52 letters, and "
            "differentiating it needs some spare ones)"
        )
    return free[:count]


def _sublist_to_str(sub: Any) -> str:
    out = []
    for s in sub:
        if s is Ellipsis:
            out.append("...")
        else:
            s = operator.index(s)
            if not 0 <= s < 52:
                raise ValueError(f"einsum: subscript {s} is not in [0, 52)")
            out.append(string.ascii_uppercase[s] if s < 26 else string.ascii_lowercase[s - 26])
    return "".join(out)


def _einsum_args(operands: tuple) -> tuple[str, list]:
    """Both calling conventions -> (subscripts string, operands)."""
    if not operands:
        raise TypeError("einsum: no subscripts given")
    if isinstance(operands[0], str):
        return operands[0], list(operands[1:])
    ops = list(operands[0::2])
    subs = [_sublist_to_str(s) for s in operands[1::2]]
    if len(operands) % 2:  # trailing output sublist
        out = _sublist_to_str(operands[-1])
        ops = ops[:-1]
        return ",".join(subs) + "->" + out, ops
    return ",".join(subs), ops


def _normalize_einsum(subscripts: str, shapes: list[tuple[int, ...]]) -> tuple[list[str], str]:
    """Subscripts -> (one explicit letter string per operand, output letters),
    with no ``...``, no implicit output and no size-1 broadcasting between
    operands sharing a letter."""
    s = subscripts.replace(" ", "")
    if s.count("->") > 1:
        raise ValueError("einsum: subscripts may contain '->' only once")
    lhs, arrow, rhs = s.partition("->")
    ins = lhs.split(",")
    if len(ins) != len(shapes):
        raise ValueError(f"einsum: {len(ins)} operand subscripts given for {len(shapes)} operands")
    for term in ins + ([rhs] if arrow else []):
        bad = set(term.replace("...", "")) - set(_LETTERS)
        if bad or term.count("...") > 1:
            raise ValueError(f"einsum: invalid subscripts {term!r}")
    used = set(s) & set(_LETTERS)
    ell = []
    for term, shape in zip(ins, shapes):
        letters = len(term.replace("...", ""))
        extra = len(shape) - letters
        if ("..." in term and extra < 0) or ("..." not in term and extra != 0):
            raise ValueError(
                f"einsum: operand of shape {shape} does not match its subscripts {term!r}"
            )
        ell.append(extra if "..." in term else 0)
    nell = max(ell, default=0)
    e_letters = "".join(_fresh(used, nell))
    used |= set(e_letters)
    ins = [t.replace("...", e_letters[nell - e :]) for t, e in zip(ins, ell)]
    if arrow:
        if "..." not in rhs and nell:
            raise ValueError(
                "output has more dimensions than subscripts given in einstein sum, but "
                "no '...' ellipsis provided to broadcast the extra dimensions."
            )
        out = rhs.replace("...", e_letters)
    else:
        counts: dict[str, int] = {}
        for t in ins:
            for c in t:
                counts[c] = counts.get(c, 0) + 1
        once = sorted(c for c, k in counts.items() if k == 1 and c not in e_letters)
        out = e_letters + "".join(once)
    # Size-1 axes broadcasting against a longer axis of the same letter get a
    # letter of their own (summed over, a no-op), so that every letter has one size.
    size: dict[str, int] = {}
    for t, shape in zip(ins, shapes):
        for c, n in zip(t, shape):
            if n != 1:
                size[c] = n
    renamed = []
    for t, shape in zip(ins, shapes):
        for c in sorted(set(t)):
            if size.get(c, 1) > 1 and all(n == 1 for ci, n in zip(t, shape) if ci == c):
                (f,) = _fresh(used, 1)
                used.add(f)
                t = t.replace(c, f)
        renamed.append(t)
    return renamed, out


def _rule_optimize(n_operands: int) -> Any:
    return "greedy" if n_operands > 2 else False


def _split_spec(spec: str) -> tuple[list[str], str]:
    lhs, _, out = spec.partition("->")
    return lhs.split(","), out


def _einsum_jvp(i: int, t: Any, ans: Any, *ops: Any, spec: str, optimize: Any) -> Any:
    ins, out = _split_spec(spec)
    ins[i] = "..." + ins[i]
    args = list(ops)
    args[i] = t
    return einsum(",".join(ins) + "->..." + out, *args, optimize=_rule_optimize(len(args)))


def _einsum_vjp(i: int, ans: Any, *ops: Any, spec: str, optimize: Any):
    ins, out = _split_spec(spec)
    target, shape = ins[i], shape_of(ops[i])
    others = [(s, o) for j, (s, o) in enumerate(zip(ins, ops)) if j != i]

    def vjp(g: Any) -> Any:
        dtype = strip(g).dtype
        subs = ["..." + out] + [s for s, _ in others]
        args = [g] + [o for _, o in others]
        available = set(out).union(*(s for s, _ in others))
        letters = iter(_fresh(set(spec), len(target)))
        sizes: dict[str, int] = {}
        result = []
        for c, n in zip(target, shape):
            if c in sizes:  # a repeated index: the cotangent lives on the diagonal
                f = next(letters)
                result.append(f)
                subs.append(c + f)
                args.append(np.eye(n, dtype=dtype))
            else:
                sizes[c] = n
                result.append(c)
        for c, n in sizes.items():
            if c not in available:  # summed inside operand i alone: constant along it
                subs.append(c)
                args.append(np.ones(n, dtype=dtype))
        spec_i = ",".join(subs) + "->..." + "".join(result)
        return einsum(spec_i, *args, optimize=_rule_optimize(len(args)))

    return vjp


einsum_p = Primitive(
    "einsum", lambda *ops, spec, optimize: np.einsum(spec, *ops, optimize=optimize)
)
einsum_p.defvjp(EachArgument(_einsum_vjp))
einsum_p.defjvp(EachArgument(_einsum_jvp))
allow_complex(einsum_p)
NONDIFF.add(np.einsum_path)


def _operand(x: Any) -> Any:
    return x if is_traced(x) or is_foreign(x) else np.asarray(x)


@implements(np.einsum)
def einsum(
    *operands: Any,
    out: Any = None,
    optimize: Any = False,
    dtype: Any = None,
    order: str = "K",
    casting: str = "safe",
) -> Any:
    """Differentiable ``numpy.einsum``: any subscripts (explicit or implicit
    output, ``...``, repeated indices and traces, any number of operands, and
    the interleaved ``einsum(a, [0, 1], b, [1, 2])`` form). ``optimize`` is
    passed to NumPy; ``order`` and ``casting`` only affect memory layout and
    the check of ``dtype`` casts, and are ignored.

    >>> import chainrule as cr, numpy as np
    >>> cr.grad(lambda a: np.einsum("ii", a))(np.ones((2, 2)))
    array([[1., 0.],
           [0., 1.]])
    """
    if out is not None:
        raise conversion_error("Writing the result of numpy.einsum into out=")
    subscripts, ops = _einsum_args(operands)
    ops = [_operand(o) for o in ops]
    if dtype is not None:
        ops = [astype(o, dtype) for o in ops]
    ins, out_sub = _normalize_einsum(subscripts, [shape_of(o) for o in ops])
    return einsum_p(*ops, spec=",".join(ins) + "->" + out_sub, optimize=optimize)


def _letters(n: int, skip: str = "") -> str:
    return "".join(_fresh(set(skip), n))


# --- products built on einsum and matmul ------------------------------------------
@implements(np.dot)
def dot(a: Any, b: Any, out: Any = None) -> Any:
    """Differentiable ``numpy.dot``: for N-d operands a sum product over the last
    axis of ``a`` and the second-to-last of ``b`` (the last, if ``b`` is 1-d)."""
    if out is not None:
        raise conversion_error("Writing the result of numpy.dot into out=")
    a, b = _operand(a), _operand(b)
    na, nb = ndim_of(a), ndim_of(b)
    if na == 0 or nb == 0:
        return np.multiply(a, b)
    if na <= 2 and nb <= 2:
        _check_aligned(a, b, -1, 0 if nb == 1 else -2)
        return matmul_p(a, b)
    kb = 0 if nb == 1 else nb - 2
    _check_aligned(a, b, -1, kb)
    la = _letters(na)
    lb = _letters(nb, la)
    lb = lb[:kb] + la[-1] + lb[kb + 1 :]
    out_sub = la[:-1] + lb[:kb] + lb[kb + 1 :]
    return einsum(f"{la},{lb}->{out_sub}", a, b)


def _check_aligned(a: Any, b: Any, ka: int, kb: int) -> None:
    sa, sb = shape_of(a), shape_of(b)
    if sa[ka] != sb[kb]:
        raise ValueError(
            f"shapes {sa} and {sb} not aligned: {sa[ka]} (dim {ka % len(sa)}) "
            f"!= {sb[kb]} (dim {kb % len(sb)})"
        )


@implements(np.vdot)
def vdot(a: Any, b: Any) -> Any:
    """Differentiable ``numpy.vdot``: the dot product of the flattened arrays
    (the first one conjugated)."""
    a, b = ravel(_operand(a)), ravel(_operand(b))
    if shape_of(a) != shape_of(b):
        raise ValueError("cannot reshape array: vdot needs arrays of the same size")
    if np.iscomplexobj(strip(a)):
        a = np.conjugate(a)
    return einsum("i,i->", a, b)


@implements(np.inner)
def inner(a: Any, b: Any) -> Any:
    """Differentiable ``numpy.inner``: a sum product over the last axes."""
    a, b = _operand(a), _operand(b)
    na, nb = ndim_of(a), ndim_of(b)
    if na == 0 or nb == 0:
        return np.multiply(a, b)
    _check_aligned(a, b, -1, -1)
    la = _letters(na)
    lb = _letters(nb - 1, la) + la[-1]
    return einsum(f"{la},{lb}->{la[:-1]}{lb[:-1]}", a, b)


@implements(np.outer)
def outer(a: Any, b: Any, out: Any = None) -> Any:
    """Differentiable ``numpy.outer`` (inputs are flattened)."""
    if out is not None:
        raise conversion_error("Writing the result of numpy.outer into out=")
    return einsum("i,j->ij", ravel(_operand(a)), ravel(_operand(b)))


@implements(np.linalg.outer)
def linalg_outer(x1: Any, x2: Any) -> Any:
    """Differentiable ``numpy.linalg.outer`` (1-d inputs only, as in NumPy)."""
    if ndim_of(x1) != 1 or ndim_of(x2) != 1:
        raise ValueError(
            f"Input arrays must be one-dimensional, but they are x1={ndim_of(x1)}-d and "
            f"x2={ndim_of(x2)}-d."
        )
    return outer(x1, x2)


def _axis_list(axes: Any, ndim: int) -> list[int]:
    axes = [operator.index(axes)] if np.ndim(axes) == 0 else [operator.index(x) for x in axes]
    for ax in axes:
        if not -ndim <= ax < ndim:
            raise np.exceptions.AxisError(ax, ndim)
    return [ax % ndim for ax in axes]


@implements(np.tensordot)
def tensordot(a: Any, b: Any, axes: Any = 2) -> Any:
    """Differentiable ``numpy.tensordot``: ``axes`` an int N (the last N axes of
    ``a`` with the first N of ``b``) or a pair of axis sequences."""
    a, b = _operand(a), _operand(b)
    na, nb = ndim_of(a), ndim_of(b)
    sa, sb = shape_of(a), shape_of(b)
    if np.ndim(axes) == 0:
        n = operator.index(axes)
        if n < 0 or n > min(na, nb):
            raise ValueError("shape-mismatch for sum")
        axa, axb = list(range(na - n, na)), list(range(n))
    else:
        axa_, axb_ = axes
        axa, axb = _axis_list(axa_, na), _axis_list(axb_, nb)
    if len(axa) != len(axb) or any(sa[i] != sb[j] for i, j in zip(axa, axb)):
        raise ValueError("shape-mismatch for sum")
    la = _letters(na)
    fresh = iter(_letters(nb, la))
    lb = "".join(la[axa[axb.index(j)]] if j in axb else next(fresh) for j in range(nb))
    out_sub = "".join(la[i] for i in range(na) if i not in axa)
    out_sub += "".join(lb[j] for j in range(nb) if j not in axb)
    return einsum(f"{la},{lb}->{out_sub}", a, b)


@implements(np.linalg.tensordot)
def linalg_tensordot(x1: Any, x2: Any, /, *, axes: Any = 2) -> Any:
    """Differentiable ``numpy.linalg.tensordot``."""
    return tensordot(x1, x2, axes=axes)


@implements(np.linalg.vecdot)
def linalg_vecdot(x1: Any, x2: Any, /, *, axis: int = -1) -> Any:
    """Differentiable ``numpy.linalg.vecdot``: the dot product along ``axis``,
    broadcasting the other axes (``x1`` conjugated)."""
    x1, x2 = _operand(x1), _operand(x2)
    n = max(ndim_of(x1), ndim_of(x2))
    if not -n <= axis < n:
        raise np.exceptions.AxisError(axis, n)
    axis = axis - n if axis >= 0 else axis
    x1, x2 = moveaxis(x1, axis, -1), moveaxis(x2, axis, -1)
    if np.iscomplexobj(strip(x1)):
        x1 = np.conjugate(x1)
    return einsum("...i,...i->...", x1, x2)


@implements(np.kron)
def kron(a: Any, b: Any) -> Any:
    """Differentiable ``numpy.kron``, the Kronecker product."""
    a, b = _operand(a), _operand(b)
    n = max(ndim_of(a), ndim_of(b))
    sa = (1,) * (n - ndim_of(a)) + shape_of(a)
    sb = (1,) * (n - ndim_of(b)) + shape_of(b)
    a, b = reshape(a, sa), reshape(b, sb)
    la = _letters(n)
    lb = _letters(n, la)
    r = einsum(f"{la},{lb}->{''.join(x + y for x, y in zip(la, lb))}", a, b)
    return reshape(r, tuple(x * y for x, y in zip(sa, sb)))


def _levi_civita(da: int, db: int, dtype: Any) -> np.ndarray:
    """The Levi-Civita tensor restricted to ``da``- and ``db``-vectors (a
    2-vector is a 3-vector with z = 0)."""
    eps = np.zeros((3, 3, 3), dtype)
    for i, j, k in ((0, 1, 2), (1, 2, 0), (2, 0, 1)):
        eps[i, j, k], eps[j, i, k] = 1.0, -1.0
    return eps[:da, :db]


@implements(np.cross)
def cross(
    a: Any, b: Any, axisa: int = -1, axisb: int = -1, axisc: int = -1, axis: Any = None
) -> Any:
    """Differentiable ``numpy.cross`` of (arrays of) 2- and 3-vectors, with
    NumPy's ``axisa``/``axisb``/``axisc``/``axis`` and broadcasting."""
    a, b = _operand(a), _operand(b)
    if axis is not None:
        axisa = axisb = axisc = axis
    a = moveaxis(a, _axis_list(axisa, ndim_of(a))[0], -1)
    b = moveaxis(b, _axis_list(axisb, ndim_of(b))[0], -1)
    da, db = shape_of(a)[-1], shape_of(b)[-1]
    if da not in (2, 3) or db not in (2, 3):
        raise ValueError("incompatible dimensions for cross product\n(dimension must be 2 or 3)")
    if da == 2 or db == 2:
        warnings.warn(
            "Arrays of 2-dimensional vectors are deprecated. Use arrays of 3-dimensional vectors "
            "instead. (deprecated in NumPy 2.0)",
            DeprecationWarning,
            stacklevel=2,
        )
    eps = _levi_civita(da, db, np.result_type(strip(a), strip(b)))
    if da == 2 and db == 2:
        return einsum("...i,...j,ij->...", a, b, eps[:, :, 2])
    c = einsum("...i,...j,ijk->...k", a, b, eps)
    return moveaxis(c, -1, _axis_list(axisc, ndim_of(c))[0])


@implements(np.linalg.cross)
def linalg_cross(x1: Any, x2: Any, /, *, axis: int = -1) -> Any:
    """Differentiable ``numpy.linalg.cross`` (3-vectors only, as in NumPy)."""
    if shape_of(x1)[axis] != 3 or shape_of(x2)[axis] != 3:
        raise ValueError(
            "Both input arrays must be (arrays of) 3-dimensional vectors, but they are "
            f"{shape_of(x1)[axis]} and {shape_of(x2)[axis]} dimensional instead."
        )
    return cross(x1, x2, axis=axis)


# --- chains of products -------------------------------------------------------------
def _chain_order(dims: list[int]) -> list[list[int]]:
    """Where to split each sub-chain of a matrix chain (dims[i] x dims[i+1] for
    matrix i) to need the fewest scalar multiplications (dynamic programming)."""
    n = len(dims) - 1
    cost = [[0] * n for _ in range(n)]
    split = [[0] * n for _ in range(n)]
    for length in range(1, n):
        for i in range(n - length):
            j = i + length
            cost[i][j] = -1
            for k in range(i, j):
                c = cost[i][k] + cost[k + 1][j] + dims[i] * dims[k + 1] * dims[j + 1]
                if cost[i][j] < 0 or c < cost[i][j]:
                    cost[i][j], split[i][j] = c, k
    return split


@implements(np.linalg.multi_dot)
def multi_dot(arrays: Any, *, out: Any = None) -> Any:
    """Differentiable ``numpy.linalg.multi_dot``: a chain of ``dot`` products
    evaluated in the cheapest order (the first and last arrays may be 1-d)."""
    if out is not None:
        raise conversion_error("Writing the result of numpy.linalg.multi_dot into out=")
    arrays = [_operand(x) for x in arrays]
    if len(arrays) < 2:
        raise ValueError("Expecting at least two arrays.")
    if len(arrays) == 2:
        return dot(arrays[0], arrays[1])
    first_1d, last_1d = ndim_of(arrays[0]) == 1, ndim_of(arrays[-1]) == 1
    if first_1d:
        arrays[0] = expand_dims(arrays[0], 0)
    if last_1d:
        arrays[-1] = expand_dims(arrays[-1], -1)
    for x in arrays:
        if ndim_of(x) != 2:
            raise np.linalg.LinAlgError(
                f"{ndim_of(x)}-dimensional array given. Array must be two-dimensional"
            )
    split = _chain_order([shape_of(arrays[0])[0]] + [shape_of(x)[1] for x in arrays])

    def product(i: int, j: int) -> Any:
        if i == j:
            return arrays[i]
        k = split[i][j]
        return dot(product(i, k), product(k + 1, j))

    r = product(0, len(arrays) - 1)
    if first_1d and last_1d:
        return getitem(r, (0, 0))
    if first_1d:
        return getitem(r, 0)
    if last_1d:
        return getitem(r, (slice(None), 0))
    return r


@implements(np.linalg.matrix_power)
def matrix_power(a: Any, n: Any) -> Any:
    """Differentiable ``numpy.linalg.matrix_power`` for stacks of square
    matrices and any integer ``n`` (0 gives the identity, negative ``n``
    powers of the inverse)."""
    try:
        n = operator.index(n)
    except TypeError as e:
        raise TypeError("exponent must be an integer") from e
    a = _operand(a)
    shape = shape_of(a)
    if len(shape) < 2 or shape[-1] != shape[-2]:
        raise np.linalg.LinAlgError("Last 2 dimensions of the array must be square")
    if n == 0:
        return np.broadcast_to(np.eye(shape[-1], dtype=strip(a).dtype), shape).copy()
    if n < 0:
        a, n = np.linalg.inv(a), -n
    result = None
    z = a
    while True:
        if n & 1:
            result = z if result is None else result @ z
        n >>= 1
        if not n:
            return result
        z = z @ z
