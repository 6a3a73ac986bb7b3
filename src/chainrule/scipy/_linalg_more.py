"""More of ``chainrule.scipy.linalg``: ``solve_sylvester``, ``sqrtm``, ``logm``,
``expm_frechet``, ``solve_banded``, ``lu_factor``/``lu_solve``, ``eigh`` and ``eig``.

Rules (for stacks of matrices on leading axes, broadcast; ``S(A, B, Q)`` is the
solution ``X`` of ``A X + X B = Q``):

* ``solve_sylvester``: ``dX = S(A, B, dQ - dA X - X dB)``; the VJP solves the
  transposed equation once, ``Z = S(A^T, B^T, G)``, and gives ``Z`` to ``Q``,
  ``-Z X^T`` to ``A`` and ``-X^T Z`` to ``B``.
* ``sqrtm``: differentiating ``X X = A`` gives ``X dX + dX X = dA``, so
  ``dX = S(X, X, dA)`` and the VJP is ``S(X^T, X^T, G)``.
* ``logm`` (and ``expm``): the Frechet derivative ``L(A, E)`` of a primary
  matrix function is the upper-right block of ``f([[A, E], [0, A]])`` (Higham,
  *Functions of Matrices*, 2008, Thm. 3.6); its adjoint under ``sum(G * E)``
  is ``L(A^T, .)``. Written with the primitive itself, so every order works.
* ``lu_factor``: with ``A[perm] = L U`` and ``F = L^-1 dA[perm] U^-1``, the packed
  factor moves by ``L tril(F, -1) + triu(F) U``; the VJP is
  ``L^-T (tril(L^T G_L, -1) + triu(G_U U^T)) U^-T`` put back through ``perm``
  (``G_L``, ``G_U`` the strictly lower and upper parts of the cotangent).
  ``lu_solve`` is two triangular solves on the (traced) packed factor, so its
  derivative with respect to ``A`` flows through ``lu_factor``.
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
import scipy.linalg as sl

from ..core.primitive import Primitive
from ..core.registry import export
from ..core.trace import is_traced, strip
from ..errors import no_rule_error
from ..rules._util import allow_complex, ndim_of, pad_batch, shape_of, unbroadcast
from ._banded import banded_p
from ._linalg_rules import expm_p, tri_solve_p
from ._special_rules import as_float

_NS = "scipy.linalg"


def _mT(x: Any) -> Any:
    return np.swapaxes(x, -1, -2)


def _stacked(fn: Any, *mats: Any) -> Any:
    """``fn`` (a SciPy function of 2-d arrays) over broadcast stacks of matrices."""
    if all(m.ndim == 2 for m in mats):
        return fn(*mats)
    lead = np.broadcast_shapes(*(m.shape[:-2] for m in mats))
    mats = tuple(np.broadcast_to(m, lead + m.shape[-2:]) for m in mats)
    first = fn(*(m[(0,) * len(lead)] for m in mats)) if lead and 0 not in lead else None
    dtype = np.result_type(*mats, *(() if first is None else (first,)))
    out = np.empty(lead + (mats[0].shape[-2], mats[-1].shape[-1]), dtype=dtype)
    for i in np.ndindex(*lead):
        out[i] = fn(*(m[i] for m in mats))
    return out


def _square(a: Any, name: str) -> None:
    shape = shape_of(a)
    if len(shape) < 2 or shape[-1] != shape[-2]:
        raise ValueError(f"{name}: expected a (stack of) square matrices, got shape {shape}")


# --- solve_sylvester --------------------------------------------------------------------
sylvester_p = Primitive("solve_sylvester", lambda a, b, q: _stacked(sl.solve_sylvester, a, b, q))


def _sylv_vjp(which: int):
    def maker(ans: Any, a: Any, b: Any, q: Any):
        shape, nd = shape_of((a, b, q)[which]), ndim_of(ans)

        def vjp(g: Any) -> Any:
            z = sylvester_p(_mT(a), _mT(b), g)
            r = -(z @ _mT(ans)) if which == 0 else (-(_mT(ans) @ z) if which == 1 else z)
            return unbroadcast(r, shape, nd)

        return vjp

    return maker


def _sylv_jvp(which: int):
    def rule(t: Any, ans: Any, a: Any, b: Any, q: Any) -> Any:
        t = pad_batch(t, ndim_of((a, b, q)[which]), ndim_of(ans))
        rhs = -(t @ ans) if which == 0 else (-(ans @ t) if which == 1 else t)
        return sylvester_p(a, b, rhs)

    return rule


sylvester_p.defvjp(_sylv_vjp(0), _sylv_vjp(1), _sylv_vjp(2))
sylvester_p.defjvp(_sylv_jvp(0), _sylv_jvp(1), _sylv_jvp(2))
allow_complex(sylvester_p)


@export("solve_sylvester", _NS)
def solve_sylvester(a: Any, b: Any, q: Any) -> Any:
    """``scipy.linalg.solve_sylvester``: ``X`` with ``a X + X b = q``, differentiable
    in ``a``, ``b`` and ``q`` (real or complex, stacks broadcast).

    >>> import chainrule as cr, chainrule.scipy.linalg as csl, numpy as np
    >>> cr.grad(lambda q: csl.solve_sylvester(np.eye(2), np.eye(2), q).sum())(np.ones((2, 2)))
    array([[0.5, 0.5],
           [0.5, 0.5]])
    """
    if not any(is_traced(x) for x in (a, b, q)):  # stacks too, before SciPy 1.15
        return _stacked(sl.solve_sylvester, *(np.asarray(x) for x in (a, b, q)))
    a, b, q = as_float(a), as_float(b), as_float(q)
    _square(a, "solve_sylvester")
    _square(b, "solve_sylvester")
    return sylvester_p(a, b, q)


# --- sqrtm ------------------------------------------------------------------------------
sqrtm_p = Primitive("sqrtm", lambda a: _stacked(sl.sqrtm, a))
sqrtm_p.defvjp(lambda ans, a: lambda g: sylvester_p(_mT(ans), _mT(ans), g))
sqrtm_p.defjvp(lambda t, ans, a: sylvester_p(ans, ans, t))
allow_complex(sqrtm_p)


@export("sqrtm", _NS)
def sqrtm(A: Any, disp: bool = True, blocksize: int = 64) -> Any:
    """``scipy.linalg.sqrtm``: the principal square root ``X`` (``X @ X = A``),
    complex when ``A`` has negative eigenvalues, as SciPy's. Its derivative solves
    the Sylvester equation ``X dX + dX X = dA``. With ``disp=False`` returns
    ``(X, errest)`` like SciPy (``errest`` not differentiated).

    >>> import chainrule as cr, chainrule.scipy.linalg as csl, numpy as np
    >>> cr.grad(lambda a: csl.sqrtm(a)[0, 0])(np.diag([4.0, 9.0]))
    array([[0.25, 0.  ],
           [0.  , 0.  ]])
    """
    if not is_traced(A):
        x = _stacked(sl.sqrtm, np.asarray(A))
    else:
        A = as_float(A)
        _square(A, "sqrtm")
        x = sqrtm_p(A)
    if disp:
        return x
    plain, a = strip(x), strip(A)
    return x, np.linalg.norm(plain @ plain - a, "fro") ** 2 / np.linalg.norm(a, "fro")


# --- logm and the Frechet derivatives of expm -------------------------------------------
def _block(a: Any, e: Any) -> Any:
    """``[[a, e], [0, a]]`` for stacks (``e`` may carry extra leading axes)."""
    shape = np.broadcast_shapes(shape_of(a), shape_of(e))
    a, e = np.broadcast_to(a, shape), np.broadcast_to(e, shape)
    zero = np.zeros(shape, dtype=np.result_type(strip(a), strip(e)))
    top = np.concatenate([a, e], axis=-1)
    return np.concatenate([top, np.concatenate([zero, a], axis=-1)], axis=-2)


def _log_frechet(a: Any, e: Any) -> Any:
    n = shape_of(a)[-1]
    return logm_p(_block(a, e))[..., :n, n:]


logm_p = Primitive("logm", lambda a: _stacked(sl.logm, a))
logm_p.defvjp(lambda ans, a: lambda g: _log_frechet(_mT(a), g))
logm_p.defjvp(lambda t, ans, a: _log_frechet(a, t))
allow_complex(logm_p)


@export("logm", _NS)
def logm(A: Any, disp: bool = True) -> Any:
    """``scipy.linalg.logm``: the principal matrix logarithm (complex when ``A``
    has negative eigenvalues). Its derivative is the Frechet derivative of
    ``logm``, the upper-right block of ``logm([[A, E], [0, A]])``, to any order.
    With ``disp=False`` returns ``(logm(A), errest)`` (``errest`` not differentiated).

    >>> import chainrule as cr, chainrule.scipy.linalg as csl, numpy as np
    >>> cr.grad(lambda a: csl.logm(a)[0, 0])(np.diag([2.0, 3.0]))
    array([[0.5, 0. ],
           [0. , 0. ]])
    """
    if not is_traced(A):
        x = _stacked(sl.logm, np.asarray(A))
    else:
        A = as_float(A)
        _square(A, "logm")
        x = logm_p(A)
    if disp:
        return x
    plain, a = strip(x), strip(A)
    return x, np.linalg.norm(sl.expm(plain) - a, 1) / np.linalg.norm(a, 1)


@export("expm_frechet", _NS)
def expm_frechet(
    A: Any, E: Any, method: Any = None, compute_expm: bool = True, check_finite: bool = True
) -> Any:
    """``scipy.linalg.expm_frechet``: ``(expm(A), L(A, E))``, or only the Frechet
    derivative ``L(A, E)`` with ``compute_expm=False``; both read from
    ``expm([[A, E], [0, A]])``, so they are differentiable in ``A`` and ``E`` to
    any order (the derivative of ``L`` in ``A`` is a second Frechet derivative).

    >>> import chainrule as cr, chainrule.scipy.linalg as csl, numpy as np
    >>> cr.grad(lambda e: csl.expm_frechet(np.zeros((2, 2)), e)[1][0, 1])(np.eye(2))
    array([[0., 1.],
           [0., 0.]])
    """
    if not (is_traced(A) or is_traced(E)):
        return sl.expm_frechet(A, E, method, compute_expm, check_finite)
    if method not in (None, "SPS", "blockEnlarge"):
        raise ValueError(
            f"expm_frechet: method must be None, 'SPS' or 'blockEnlarge', got {method!r}"
        )
    A, E = as_float(A), as_float(E)
    _square(A, "expm_frechet")
    if shape_of(A) != shape_of(E):
        raise ValueError(
            f"expm_frechet: A and E must have the same shape, got {shape_of(A)} and {shape_of(E)}"
        )
    n = shape_of(A)[-1]
    big = expm_p(_block(A, E))
    frechet = big[..., :n, n:]
    return (big[..., :n, :n], frechet) if compute_expm else frechet


# --- solve_banded -----------------------------------------------------------------------
@export("solve_banded", _NS)
def solve_banded(
    l_and_u: Any,
    ab: Any,
    b: Any,
    overwrite_ab: bool = False,
    overwrite_b: bool = False,
    check_finite: bool = True,
) -> Any:
    """``scipy.linalg.solve_banded``: solve ``A x = b`` for ``A`` given in banded
    storage (``ab[u + i - j, j] = A[i, j]``). Differentiable in ``ab`` (its band
    entries; the unused corners get 0) and ``b``, in ``O(n (l + u)^2)``: each
    derivative is another banded solve (``_banded.py``).

    >>> import chainrule as cr, chainrule.scipy.linalg as csl, numpy as np
    >>> ab = np.array([[0.0, 1.0], [2.0, 2.0]])  # A = [[2, 1], [0, 2]]
    >>> cr.grad(lambda b: csl.solve_banded((0, 1), ab, b)[0])(np.array([1.0, 1.0]))
    array([ 0.5 , -0.25])
    """
    if not (is_traced(ab) or is_traced(b)):
        return sl.solve_banded(l_and_u, ab, b, overwrite_ab, overwrite_b, check_finite)
    lo, up = (int(v) for v in l_and_u)
    ab, b = as_float(ab), as_float(b)
    rows, n = shape_of(ab) if ndim_of(ab) == 2 else (None, None)
    if rows != lo + up + 1:
        raise ValueError(
            f"solve_banded: ab must have shape (l + u + 1, n) = ({lo + up + 1}, n), "
            f"got {shape_of(ab)}"
        )
    if shape_of(b)[0] != n:
        raise ValueError(
            f"solve_banded: b must have {n} rows (like ab's columns), got {shape_of(b)}"
        )
    if ndim_of(b) == 1:
        return banded_p(ab, b[:, None], lo, up)[:, 0]
    rest = shape_of(b)[1:]
    return np.reshape(banded_p(ab, np.reshape(b, (n, -1)), lo, up), (n,) + rest)


# --- lu_factor / lu_solve ---------------------------------------------------------------
def _perm(piv: np.ndarray) -> np.ndarray:
    """LAPACK's row interchanges as a permutation: ``A[perm] = L U``."""
    perm = np.arange(piv.shape[-1])
    for i, p in enumerate(piv):
        perm[i], perm[p] = perm[p], perm[i]
    return perm


def _l_solve(lu: Any, x: Any, trans: int) -> Any:
    return tri_solve_p(lu, x, True, trans, True)


def _u_solve(lu: Any, x: Any, trans: int) -> Any:
    return tri_solve_p(lu, x, False, trans, False)


def _lu_jvp(t: Any, ans: Any, a: Any, packed: Any, perm: np.ndarray) -> Any:
    f = _mT(_u_solve(ans, _mT(_l_solve(ans, t[..., perm, :], 0)), 1))  # L^-1 dA[perm] U^-1
    strict = np.tril(f, -1)
    return np.tril(ans, -1) @ strict + strict + np.triu(f) @ np.triu(ans)


def _lu_vjp(ans: Any, a: Any, packed: Any, perm: np.ndarray):
    inverse = np.argsort(perm)

    def vjp(g: Any) -> Any:
        gl, gu = np.tril(g, -1), np.triu(g)
        m = np.tril(_mT(np.tril(ans, -1)) @ gl + gl, -1) + np.triu(gu @ _mT(np.triu(ans)))
        r = _mT(_u_solve(ans, _mT(_l_solve(ans, m, 1)), 0))  # L^-T m U^-T
        return r[..., inverse, :]

    return vjp


# lu_p(a, packed, perm): the packed LU factor of a, computed beforehand (with its pivots).
lu_p = Primitive("lu_factor", lambda a, packed, perm: packed)
lu_p.defvjp(_lu_vjp, None, None)
lu_p.defjvp(_lu_jvp, None, None)
allow_complex(lu_p)


@export("lu_factor", _NS)
def lu_factor(a: Any, overwrite_a: bool = False, check_finite: bool = True) -> tuple[Any, Any]:
    """``scipy.linalg.lu_factor``: ``(lu, piv)``, the packed factors of
    ``A[perm] = L U`` and LAPACK's pivot indices. ``lu`` is differentiable in
    ``a`` (a real square matrix), so ``lu_solve``, and anything computed from
    ``lu`` (``log|det A| = sum(log|diag(lu)|)``), differentiates through it;
    real or complex.

    >>> import chainrule as cr, chainrule.scipy.linalg as csl, numpy as np
    >>> f = lambda a: csl.lu_solve(csl.lu_factor(a), np.array([1.0, 0.0]))[0]
    >>> cr.grad(f)(np.array([[2.0, 0.0], [0.0, 4.0]]))
    array([[-0.25,  0.  ],
           [ 0.  ,  0.  ]])
    """
    if not is_traced(a):
        return sl.lu_factor(a, overwrite_a, check_finite)
    a = as_float(a)
    if ndim_of(a) != 2 or shape_of(a)[0] != shape_of(a)[1]:
        raise ValueError(
            f"lu_factor: differentiable for a square 2-d matrix, got shape {shape_of(a)}"
        )
    packed, piv = sl.lu_factor(strip(a), check_finite=check_finite)
    return lu_p(a, packed, _perm(piv)), piv


@export("lu_solve", _NS)
def lu_solve(
    lu_and_piv: tuple[Any, Any],
    b: Any,
    trans: int = 0,
    overwrite_b: bool = False,
    check_finite: bool = True,
) -> Any:
    """``scipy.linalg.lu_solve``: solve ``A x = b`` (``trans=0``) or ``A^T x = b``
    (1), or ``A^H x = b`` (2) from ``lu_factor(A)``; differentiable in ``lu``
    (so in ``A``, through ``lu_factor``) and ``b``."""
    lu, piv = lu_and_piv
    if not (is_traced(lu) or is_traced(b)):
        return sl.lu_solve((lu, piv), b, trans, overwrite_b, check_finite)
    if trans not in (0, 1, 2):
        raise ValueError(f"lu_solve: trans must be 0, 1 or 2, got {trans!r}")
    lu, b = as_float(lu), as_float(b)
    n = shape_of(lu)[-1]
    if shape_of(b)[0] != n:
        raise ValueError(f"lu_solve: b must have {n} rows, got shape {shape_of(b)}")
    perm = _perm(np.asarray(piv))
    rest = shape_of(b)[1:]
    rhs = np.reshape(b, (n, -1))
    conj = trans == 2 and (np.iscomplexobj(strip(lu)) or np.iscomplexobj(strip(b)))
    if conj:  # A^H x = b is A^T conj(x) = conj(b)
        rhs = np.conjugate(rhs)
    if trans == 0:
        x = _u_solve(lu, _l_solve(lu, rhs[perm], 0), 0)
    else:
        x = _l_solve(lu, _u_solve(lu, rhs, 1), 1)[np.argsort(perm)]
    if conj:
        x = np.conjugate(x)
    return np.reshape(x, (n,) + rest)


# --- eigh / eig -------------------------------------------------------------------------
@export("eigh", _NS)
def eigh(
    a: Any,
    b: Any = None,
    *,
    lower: bool = True,
    eigvals_only: bool = False,
    overwrite_a: bool = False,
    overwrite_b: bool = False,
    type: int = 1,
    check_finite: bool = True,
    subset_by_index: Any = None,
    subset_by_value: Any = None,
    driver: Any = None,
) -> Any:
    """``scipy.linalg.eigh``: eigenvalues (ascending) and eigenvectors of a
    symmetric (Hermitian) ``a`` read from its ``lower`` (or upper) triangle, by
    ``numpy.linalg.eigh``'s rules; with ``b``, the generalized problem
    ``a v = w b v`` (``type=1``) reduced by the Cholesky factor of ``b``, with
    eigenvectors normalised to ``v^T b v = I`` as SciPy's. ``subset_by_index``
    selects eigenpairs; ``subset_by_value`` and other ``type`` values have no rule.

    >>> import chainrule as cr, chainrule.scipy.linalg as csl, numpy as np
    >>> cr.grad(lambda a: csl.eigh(a, eigvals_only=True)[1])(np.diag([1.0, 2.0]))
    array([[0., 0.],
           [0., 1.]])
    """
    if not (is_traced(a) or is_traced(b)):
        return sl.eigh(
            a, b, lower=lower, eigvals_only=eigvals_only, overwrite_a=overwrite_a,
            overwrite_b=overwrite_b, type=type, check_finite=check_finite,
            subset_by_index=subset_by_index, subset_by_value=subset_by_value, driver=driver,
        )  # fmt: skip
    if subset_by_value is not None or type != 1:
        what = "subset_by_value" if subset_by_value is not None else f"type={type}"
        raise no_rule_error("chainrule.scipy.linalg.eigh", what)
    uplo: Literal["L", "U"] = "L" if lower else "U"
    a = as_float(a)
    if b is None:
        if eigvals_only:
            w, v = np.linalg.eigvalsh(a, uplo), None
        else:
            w, v = np.linalg.eigh(a, uplo)
    else:
        b = as_float(b)
        tri = np.tril if lower else np.triu
        full = tri(a) + _mT(tri(a, -1 if lower else 1))
        c = np.linalg.cholesky(np.conjugate(_mT(b)) if not lower else b)  # b = c c^H
        if np.iscomplexobj(strip(a)) or np.iscomplexobj(strip(b)):
            raise no_rule_error("chainrule.scipy.linalg.eigh", "complex generalized problems")
        inner = _mT(tri_solve_p(c, _mT(tri_solve_p(c, full, True, 0, False)), True, 0, False))
        w, u = np.linalg.eigh(inner)
        v = tri_solve_p(c, u, True, 1, False)
    if subset_by_index is not None:
        lo, hi = (int(i) for i in subset_by_index)
        w = w[..., lo : hi + 1]
        v = None if v is None else v[..., lo : hi + 1]
    return w if eigvals_only else (w, v)


@export("eig", _NS)
def eig(
    a: Any,
    b: Any = None,
    left: bool = False,
    right: bool = True,
    overwrite_a: bool = False,
    overwrite_b: bool = False,
    check_finite: bool = True,
    homogeneous_eigvals: bool = False,
) -> Any:
    """``scipy.linalg.eig`` of a traced ``a``: ``numpy.linalg.eig``'s values and
    right eigenvectors, with the eigenvalues always complex as SciPy returns
    them; differentiable where chainrule has a rule for ``numpy.linalg.eig``.
    ``b``, ``left`` and ``homogeneous_eigvals`` have no rule."""
    if not (is_traced(a) or is_traced(b)):
        return sl.eig(
            a, b, left, right, overwrite_a, overwrite_b, check_finite, homogeneous_eigvals
        )
    if b is not None or left or homogeneous_eigvals:
        what = "b" if b is not None else ("left" if left else "homogeneous_eigvals")
        raise no_rule_error("chainrule.scipy.linalg.eig", what)
    w, v = np.linalg.eig(as_float(a))
    w = w if np.iscomplexobj(strip(w)) else w + 0j
    return (w, v) if right else w
