"""scipy.sparse matrices as constants: ``L @ x``, ``x @ L``, ``L.dot(x)`` and ``spsolve(A, x)``.

A constant sparse matrix is a linear map, so one primitive covers both: it
applies a constant ``op`` (a matrix, or a factorised matrix's solve) to a
traced vector or matrix. Its JVP applies ``op`` to the tangent and its VJP
applies ``op``'s transpose to the cotangent, each through the same primitive,
so every order of differentiation follows.

SciPy's ``L @ x`` converts ``x`` with ``np.asanyarray`` before anyone else
gets a say; the traced value's ``__array__`` answers that call (and only that
one, see ``scipy_sparse_conversion``) with an uninterpretable object so SciPy
returns ``NotImplemented`` and Python asks ``x.__rmatmul__``, which comes here.
"""

from __future__ import annotations

from types import FrameType
from typing import Any

import numpy as np

from ..core.primitive import Primitive
from ..core.trace import Tracer


class _Matrix:
    """A constant sparse matrix as a linear map."""

    __slots__ = ("matrix",)

    def __init__(self, matrix: Any) -> None:
        self.matrix = matrix

    @property
    def shape(self) -> tuple[int, int]:
        return tuple(self.matrix.shape)

    def apply(self, x: np.ndarray) -> np.ndarray:
        return np.asarray(self.matrix @ x)

    def transpose(self) -> _Matrix:
        return _Matrix(self.matrix.T)


class _Solve:
    """``x -> A⁻¹ x`` (or ``A⁻ᵀ x``) with ``A``'s sparse LU factors, computed once."""

    __slots__ = ("lu", "trans", "shape")

    def __init__(self, lu: Any, trans: str, shape: tuple[int, int]) -> None:
        self.lu, self.trans, self.shape = lu, trans, shape

    def apply(self, x: np.ndarray) -> np.ndarray:
        rhs = np.asarray(x, dtype=np.result_type(x, np.float64))
        return np.asarray(self.lu.solve(rhs, trans=self.trans))

    def transpose(self) -> _Solve:
        return _Solve(self.lu, "T" if self.trans == "N" else "N", self.shape[::-1])


def _impl(op: Any, x: np.ndarray) -> np.ndarray:
    return op.apply(x)


# ``sparse_linear(op, x)``: op's first axis meets x's first (x is 1-D or 2-D).
sparse_linear = Primitive("sparse_linear", _impl)


def apply(op: Any, x: Any, core_ndim: int) -> Any:
    """``op`` along the axis ``-core_ndim`` of ``x``, whose leading axes (a
    batch of tangents or cotangents) it leaves alone. Built from NumPy calls
    and the primitive, so it is differentiable itself."""
    if np.ndim(x) == core_ndim:
        return sparse_linear(op, x)
    moved = np.moveaxis(x, -core_ndim, 0)
    rest = np.shape(moved)[1:]
    flat = np.reshape(moved, (np.shape(moved)[0], -1))
    out = np.reshape(sparse_linear(op, flat), (op.shape[0],) + rest)
    return np.moveaxis(out, 0, -core_ndim)


sparse_linear.defjvp(None, lambda t, ans, op, x: apply(op, t, np.ndim(x)))
sparse_linear.defvjp(None, lambda ans, op, x: lambda g: apply(op.transpose(), g, np.ndim(x)))


def _is_sparse(a: Any) -> bool:
    import scipy.sparse as sp

    return bool(sp.issparse(a))


def _check_operand(a: Any, x: Any, fname: str) -> None:
    if isinstance(a, Tracer):
        raise NotImplementedError(
            f"{fname}: the sparse matrix is traced; only a constant scipy.sparse matrix with a "
            "traced right-hand side is differentiable. Build the matrix outside the function."
        )
    if np.ndim(x) not in (1, 2):
        raise ValueError(f"{fname}: the dense operand must be 1-D or 2-D, got shape {np.shape(x)}")
    if np.shape(x)[0] != a.shape[1]:
        raise ValueError(f"{fname}: dimension mismatch, matrix {a.shape} and operand {np.shape(x)}")


def matmul(a: Any, x: Any) -> Any:
    """``a @ x`` where one operand is a constant ``scipy.sparse`` matrix and the
    other a traced (or plain) 1-D or 2-D array; differentiable in the array in
    both modes, the sparse matrix on either side. Inside a differentiated
    function plain ``L @ x``, ``L.dot(x)`` and ``x @ L`` come here too (core's
    operator hooks, ``rmatmul`` and ``lmatmul``).

    >>> import numpy as np, scipy.sparse as sp, chainrule as cr
    >>> L = sp.csr_array(np.array([[2.0, 0.0], [1.0, 3.0]]))
    >>> cr.jacfwd(lambda u: cr.sparse.matmul(L, u))(np.ones(2))
    array([[2., 0.],
           [1., 3.]])
    >>> cr.jacrev(lambda u: cr.sparse.matmul(u, L))(np.ones(2))  # u @ L = L.T @ u
    array([[2., 1.],
           [0., 3.]])
    """
    if not _is_sparse(a):
        if _is_sparse(x):
            return _right(a, x)
        return np.matmul(a, x)
    if not isinstance(x, Tracer):
        return a @ x
    _check_operand(a, x, "chainrule.sparse.matmul")
    return sparse_linear(_Matrix(a), x)


def _right(x: Any, a: Any) -> Any:
    """``x @ a`` for a constant sparse ``a``: ``(aᵀ xᵀ)ᵀ``, the same primitive
    with the transposed matrix (a 1-D ``x`` needs no transposes)."""
    if not isinstance(x, Tracer):
        return x @ a
    if np.ndim(x) not in (1, 2):
        raise ValueError(
            f"chainrule.sparse.matmul: the dense operand must be 1-D or 2-D, got shape "
            f"{np.shape(x)}"
        )
    if np.shape(x)[-1] != a.shape[0]:
        raise ValueError(
            f"chainrule.sparse.matmul: dimension mismatch, operand {np.shape(x)} and matrix "
            f"{a.shape}"
        )
    op = _Matrix(a.T)
    if np.ndim(x) == 1:
        return sparse_linear(op, x)
    return np.transpose(sparse_linear(op, np.transpose(x)))


def spsolve(a: Any, b: Any, permc_spec: str | None = None, use_umfpack: bool = True) -> Any:
    """``scipy.sparse.linalg.spsolve(a, b)``, differentiable in ``b`` (``a``
    a constant sparse matrix): the solution's derivative is ``a⁻¹ db`` and
    the cotangent of ``b`` is ``a⁻ᵀ g``, both with ``a``'s LU factors from the
    one factorisation. A plain ``b`` goes to SciPy unchanged.

    >>> import numpy as np, scipy.sparse as sp, chainrule as cr
    >>> A = sp.csc_array(np.array([[2.0, 0.0], [1.0, 4.0]]))
    >>> cr.jacrev(lambda b: cr.sparse.spsolve(A, b))(np.ones(2))
    array([[ 0.5  ,  0.   ],
           [-0.125,  0.25 ]])
    """
    import scipy.sparse.linalg as spla

    if not isinstance(b, Tracer):
        return spla.spsolve(a, b, permc_spec=permc_spec, use_umfpack=use_umfpack)
    if not _is_sparse(a):
        raise TypeError(f"chainrule.sparse.spsolve: a must be a scipy.sparse matrix, got {type(a)}")
    if a.shape[0] != a.shape[1]:
        raise ValueError(f"chainrule.sparse.spsolve: a must be square, got shape {a.shape}")
    _check_operand(a, b, "chainrule.sparse.spsolve")
    options = {} if permc_spec is None else {"permc_spec": permc_spec}
    lu = spla.splu(a.tocsc().astype(np.result_type(a.dtype, np.float64)), **options)
    x = sparse_linear(_Solve(lu, "N", a.shape), b)
    # SciPy returns a 1-D solution for one right-hand side given as a column.
    return np.reshape(x, (-1,)) if np.ndim(b) == 2 and np.shape(b)[1] == 1 else x


# -- what a traced value's __array__ and __rmatmul__ ask (core/array_facade.py) --

_REPLACEMENTS = {"spsolve": "chainrule.scipy.sparse.linalg.spsolve (or cr.sparse.spsolve)"}


def scipy_sparse_conversion(frame: FrameType | None) -> Any:
    """Called by a traced value's ``__array__`` when ``scipy.sparse`` is loaded,
    with the frame asking. scipy.sparse's matmul dispatch gets a 0-d object
    array (it then returns ``NotImplemented``, and ``x.__rmatmul__`` takes over);
    a scipy.sparse function we replace gets an error naming the replacement;
    anything else ``None`` (the usual refusal)."""
    if frame is None:
        return None
    module = frame.f_globals.get("__name__") or ""
    if not module.startswith("scipy.sparse"):
        return None
    name = frame.f_code.co_name
    if name == "_matmul_dispatch":
        return np.empty((), dtype=object)
    from ..errors import ConversionError

    ours = _REPLACEMENTS.get(name)
    if ours is not None:
        raise ConversionError(
            f"scipy.sparse.linalg.{name} converts its right-hand side with np.asarray, which "
            f"would drop the traced value's derivative. Call {ours} instead: same arguments, "
            "differentiable in the right-hand side."
        )
    return None


def lmatmul(x: Any, a: Any) -> Any:
    """``x @ a`` for a traced ``x``: the sparse primitive for a scipy.sparse
    ``a`` (through ``matmul``), else ``NotImplemented`` (the usual matmul).
    The hook for a traced value's ``__matmul__``, as ``rmatmul`` is for
    ``__rmatmul__``."""
    if "scipy.sparse" in _loaded() and _is_sparse(a):
        return _right(x, a)
    return NotImplemented


def rmatmul(x: Any, a: Any) -> Any:
    """``a @ x`` for a traced ``x``: the sparse primitive for a scipy.sparse
    ``a``, else ``NotImplemented`` (the caller's usual matmul)."""
    if "scipy.sparse" in _loaded() and _is_sparse(a):
        return matmul(a, x)
    return NotImplemented


def _loaded() -> Any:
    import sys

    return sys.modules
