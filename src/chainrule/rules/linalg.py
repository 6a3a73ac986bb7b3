"""Linear algebra: ``numpy.linalg`` with derivative rules.

Every function works on stacks of matrices (leading axes) and every rule is
written with differentiable NumPy calls (``@``, ``np.linalg.solve``,
``swapaxes``, ``einsum``) acting on the trailing two axes, so the rules serve
batches of tangents and cotangents and differentiate again for higher orders.

Formulas (written for this module from the literature):

* ``inv``, ``solve``, ``det``, ``slogdet``, ``pinv``, ``lstsq``: M. Giles, "An
  extended collection of matrix derivative results for forward and reverse
  mode algorithmic differentiation" (2008); Golub & Pereyra (1973) for the
  pseudo-inverse.
* ``cholesky``: I. Murray, "Differentiation of the Cholesky decomposition"
  (2016); Seeger et al., "Auto-differentiating linear algebra" (2017).
* ``eigh``, ``eig``, ``eigvals``: first-order perturbation theory, as collected by
  Giles (2008).
* ``svd``: J. Townsend, "Differentiating the singular value decomposition"
  (2016), regrouped by ``1/(s_j - s_i)`` and ``1/(s_j + s_i)``.
* ``qr``: Walter & Lehmann (2018); Liao et al. (2019) for the reverse rule.

Conventions (see each function's docstring):

* Functions that read one triangle of their input (``cholesky``, ``eigh``,
  ``eigvalsh``, ``pinv(hermitian=True)``, ``svd(hermitian=True)``) are
  differentiated as the functions NumPy computes: the derivative with respect
  to the unread triangle is zero, and the read off-diagonal entries count for
  both of their mirror images. For a symmetric input built symmetrically (say
  ``A = X @ X.T``) this gives the usual symmetric derivative.
* Decompositions assume distinct eigenvalues / singular values. At exactly
  repeated ones the eigen-/singular vectors are an arbitrary basis that jumps
  under perturbation: any use of them raises ``NotImplementedError`` (reverse
  mode, when a cotangent reaches them; forward mode always). The values
  themselves stay differentiable for functions that treat repeated values
  alike (their sum, the log-determinant...), and ``svd(compute_uv=False)``
  also in forward mode along directions that do not split them; anything else
  raises. ``eigvalsh`` follows the convention of ``max`` ties instead: each
  cluster of equal eigenvalues moves by its mean, in both modes (see
  ``eigvalsh``). Near-repeated values give large (correct but
  ill-conditioned) derivatives.
* ``det`` is differentiated through the adjugate, so it has first and second
  derivatives at singular matrices too; ``slogdet`` has none there.
* A zero singular value is a kink, like ``abs`` at 0: its derivative is 0.
  Singular vectors of a rank-deficient matrix raise ``NotImplementedError``.
  The extra columns of ``svd(full_matrices=True)`` get a documented gauge
  (``svd``); ``pinv`` of a rank-deficient matrix is differentiated at its
  fixed rank (NumPy's cut-off at the point).
* ``eig``'s eigenvectors keep LAPACK's normalisation (unit norm, largest entry
  real) in their derivative, so every use of them is differentiated as NumPy
  computes it.
* Eigenvector and singular vector signs are the ones LAPACK returns; their
  derivative keeps that sign (and the vectors' normalisation) fixed.
* Complex matrices (the convention of docs/design.md: VJPs are transposes,
  never conjugate transposes, of the JVPs): ``inv``, ``solve``, ``det``,
  ``slogdet``, ``eigh``, ``eigvalsh``, ``eig``, ``eigvals``, ``svd``, ``pinv``
  (not holomorphic: its derivative has ``dA^H`` terms). Hermitian
  functions read the real part of the diagonal, like LAPACK. Complex eigen-/
  singular vectors of ``eigh`` and ``svd`` carry an arbitrary phase: reverse
  mode raises when the result depends on it, forward mode follows JAX's
  convention. ``cholesky``, ``qr`` and ``lstsq`` still raise
  ``NotImplementedError`` for complex input.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..core.primitive import EachArgument, Primitive
from ..core.registry import NONDIFF, implements
from ..core.trace import is_traced, strip
from ..errors import NoRuleError, no_rule_error
from ._util import allow_complex, batch_lead, ndim_of, pad_batch, shape_of, unbroadcast
from .products import einsum
from .shape import expand_dims, getitem, reshape, swapaxes

NONDIFF.add(np.linalg.matrix_rank)

_EighResult = type(np.linalg.eigh(np.eye(1)))
_EigResult = type(np.linalg.eig(np.eye(1)))
_SVDResult = type(np.linalg.svd(np.eye(1)))
_QRResult = type(np.linalg.qr(np.eye(1)))
_SlogdetResult = type(np.linalg.slogdet(np.eye(1)))


# --- helpers --------------------------------------------------------------------------
def _mT(x: Any) -> Any:
    return swapaxes(x, -1, -2)


def _is_complex(x: Any) -> bool:
    return np.iscomplexobj(strip(x))


def _cj(x: Any) -> Any:
    """The complex conjugate of ``x`` (``x`` itself when real)."""
    return np.conj(x) if _is_complex(x) else x


def _mH(x: Any) -> Any:
    """The conjugate transpose of a stack of matrices."""
    return _cj(_mT(x))


def _real(x: Any) -> Any:
    return np.real(x) if _is_complex(x) else x


def _diag(x: Any) -> Any:
    return einsum("...ii->...i", x)


def _trace(x: Any) -> Any:
    return einsum("...ii->...", x)


def _diag_embed(v: Any) -> Any:
    """A stack of diagonal matrices with the vectors ``v`` on the diagonal."""
    return expand_dims(v, -2) * np.eye(shape_of(v)[-1], dtype=strip(v).dtype)


def _tri(x: Any, k: int = 0) -> np.ndarray:
    """The lower-triangular mask (entries on and below diagonal ``k``) of a stack of
    square matrices like ``x``, in its dtype."""
    return np.tri(shape_of(x)[-1], k=k, dtype=strip(x).dtype)


def _sym_from(t: Any, lower: bool) -> Any:
    """The symmetric (complex: Hermitian) matrix a function reading only one
    triangle of ``t`` sees. LAPACK reads only the real part of a complex diagonal."""
    if not lower:
        return _mT(_sym_from(_mT(t), True))
    if _is_complex(t):
        strict = t * _tri(t, -1)
        return strict + _mH(strict) + np.real(t) * np.eye(shape_of(t)[-1])
    return t * _tri(t) + _mT(t * _tri(t, -1))


def _fold_to(m: Any, lower: bool) -> Any:
    """The adjoint of ``_sym_from`` (the transpose, for the pairing
    ``Re(sum(c * t))``): a cotangent of the symmetric (Hermitian) matrix folded
    onto the triangle that was read."""
    if not lower:
        return _mT(_fold_to(_mT(m), True))
    if _is_complex(m):
        return (m + _mH(m)) * _tri(m, -1) + np.real(m) * np.eye(shape_of(m)[-1])
    return m * _tri(m) + _mT(m) * _tri(m, -1)


def _uplo_lower(uplo: str) -> bool:
    uplo = str(uplo).upper()
    if uplo not in ("L", "U"):
        raise ValueError("UPLO argument must be 'L' or 'U'")
    return uplo == "L"


def _check_matrix(a: Any, name: str, square: bool = True, complex_ok: bool = False) -> None:
    shape = shape_of(a)
    if len(shape) < 2:
        raise np.linalg.LinAlgError(
            f"{len(shape)}-dimensional array given. Array must be at least two-dimensional"
        )
    if square and shape[-1] != shape[-2]:
        raise np.linalg.LinAlgError("Last 2 dimensions of the array must be square")
    if not complex_ok and np.iscomplexobj(strip(a)):
        detail = "complex matrices are not supported yet by this function's rule"
        raise no_rule_error(f"numpy.linalg.{name} of a complex matrix", detail)


# Concatenation along a negative axis, for packing several results into one array.
def _concat_vjp(i: int, ans: Any, *arrays: Any, axis: int):
    sizes = [shape_of(x)[axis] for x in arrays]
    start = sum(sizes[:i])
    idx = (Ellipsis, slice(start, start + sizes[i])) + (slice(None),) * (-axis - 1)
    return lambda g: getitem(g, idx)


def _concat_jvp(i: int, t: Any, ans: Any, *arrays: Any, axis: int) -> Any:
    lead = batch_lead(t, ndim_of(arrays[i]))
    dtype = strip(t).dtype
    parts = [t if j == i else np.zeros(lead + shape_of(x), dtype) for j, x in enumerate(arrays)]
    return concat_p(*parts, axis=axis)


concat_p = Primitive("concatenate", lambda *arrays, axis: np.concatenate(arrays, axis=axis))
concat_p.defvjp(EachArgument(_concat_vjp))
concat_p.defjvp(EachArgument(_concat_jvp))


# --- repeated eigenvalues / singular values --------------------------------------------
_TOL = 1e-8


def _ties(v: Any) -> np.ndarray:
    """Mask ``(..., n, n)`` of the pairs ``i != j`` with ``v_i == v_j`` exactly."""
    v = strip(v)
    n = v.shape[-1]
    return (v[..., :, None] == v[..., None, :]) & ~np.eye(n, dtype=bool)


def _require_zero(x: Any, mask: np.ndarray, what: str) -> None:
    """Raise unless ``x`` vanishes wherever ``mask`` is set (up to rounding:
    ``_TOL`` relative to the largest entry of ``x``)."""
    if not mask.any():
        return
    xv = np.abs(strip(x))
    if np.any(xv * mask > _TOL * np.max(xv, initial=0.0)):
        raise _repeated_error(what)


def _repeated_error(what: str) -> NoRuleError:
    return NoRuleError(
        f"chainrule: the derivative of {what} at a matrix with exactly repeated "
        "eigenvalues/singular values is not defined here: the result depends on the arbitrary "
        "basis of the repeated space, or on how the repeated values split. Differentiable at "
        "such points (reverse mode): functions of the values alone that treat the repeated "
        "ones alike (e.g. their sum); svd(compute_uv=False) also in forward mode when the "
        "direction does not split them; eigvalsh in both modes (each cluster moves by its mean)."
    )


def _require_phase_free(m: Any, what: str) -> None:
    """Reverse mode through complex eigen-/singular vectors: each vector is
    defined only up to a phase ``e^{i phi}`` (LAPACK's choice is arbitrary). The
    result is independent of the phases exactly when ``Im(diag(m)) = 0`` for
    ``m = V^T g`` (the pairing of the cotangent ``g`` with ``i V``); otherwise
    there is no derivative to give, and this raises."""
    mv = strip(m)
    scale = np.max(np.abs(mv), axis=(-2, -1))
    bad = np.abs(np.imag(np.diagonal(mv, axis1=-2, axis2=-1))) > _TOL * scale[..., None]
    if np.any(bad):
        raise NoRuleError(
            f"chainrule: the result depends on the phases of {what}, which are arbitrary "
            "(LAPACK's choice): it has no derivative. Differentiable: uses that do not depend "
            "on them, such as |v|, v v^H, V f(w) V^H, or u_k v_k^H for the SVD; forward mode "
            "follows JAX's convention (see numpy.linalg.eigh / svd in chainrule)."
        )


def _gap_inverse(v: Any, ok: np.ndarray, sign: float = -1.0) -> Any:
    """``1 / (v_j + sign * v_i)`` where ``ok``, 0 elsewhere (differentiable in ``v``)."""
    d = expand_dims(v, -2) + sign * expand_dims(v, -1)
    return ok / (d + (~ok))


# --- inv ------------------------------------------------------------------------------
inv_p = Primitive("inv", np.linalg.inv)
inv_p.defvjp(lambda ans, a: lambda g: -(_mT(ans) @ g @ _mT(ans)))
inv_p.defjvp(lambda t, ans, a: -(ans @ t @ ans))


@implements(np.linalg.inv)
def inv(a: Any) -> Any:
    """Differentiable ``numpy.linalg.inv``: ``d(A^-1) = -A^-1 dA A^-1`` (real or
    complex; holomorphic)."""
    if not is_traced(a):
        return np.linalg.inv(a)
    _check_matrix(a, "inv", complex_ok=True)
    return inv_p(a)


# --- solve ----------------------------------------------------------------------------
def _solve_vjp_a(ans: Any, a: Any, b: Any):
    shape, n = shape_of(a), ndim_of(ans)

    def vjp(g: Any) -> Any:
        gb = np.linalg.solve(_mT(a), g)
        return unbroadcast(-(gb @ _mT(ans)), shape, n)

    return vjp


def _solve_vjp_b(ans: Any, a: Any, b: Any):
    shape, n = shape_of(b), ndim_of(ans)
    return lambda g: unbroadcast(np.linalg.solve(_mT(a), g), shape, n)


def _solve_jvp_a(t: Any, ans: Any, a: Any, b: Any) -> Any:
    t = pad_batch(t, ndim_of(a), ndim_of(ans))
    return -np.linalg.solve(a, t @ ans)


def _solve_jvp_b(t: Any, ans: Any, a: Any, b: Any) -> Any:
    lead = batch_lead(t, ndim_of(b))
    r = np.linalg.solve(a, pad_batch(t, ndim_of(b), ndim_of(ans)))
    return r if r.shape == lead + ans.shape else np.broadcast_to(r, lead + ans.shape)


# solve_p(a, b): b is a stack of matrices (..., M, K); a vector b is handled by the caller.
solve_p = Primitive("solve", np.linalg.solve)
solve_p.defvjp(_solve_vjp_a, _solve_vjp_b)
solve_p.defjvp(_solve_jvp_a, _solve_jvp_b)


@implements(np.linalg.solve)
def solve(a: Any, b: Any) -> Any:
    """Differentiable ``numpy.linalg.solve``, batched with NumPy 2's rule: ``b``
    is a vector only when ``b.ndim == 1``, otherwise a stack of matrices. Real
    or complex (holomorphic in both arguments), also mixed."""
    if not (is_traced(a) or is_traced(b)):
        return np.linalg.solve(a, b)
    b = b if is_traced(b) else np.asarray(b)
    _check_matrix(a, "solve", complex_ok=True)
    if ndim_of(b) == 1:
        return getitem(solve_p(a, expand_dims(b, -1)), (Ellipsis, 0))
    return solve_p(a, b)


# --- det and slogdet ------------------------------------------------------------------
def _logdet_vjp(ans: Any, a: Any):
    _require_nonsingular(a)
    return lambda g: expand_dims(g, (-1, -2)) * _mT(np.linalg.inv(a))


def _logdet_jvp(t: Any, ans: Any, a: Any) -> Any:
    _require_nonsingular(a)
    return _trace(np.linalg.solve(a, t))


def _require_nonsingular(a: Any) -> None:
    """log|det A| is -inf at a singular matrix, and its derivative tr(A^-1 dA) is
    +-inf or undefined depending on the direction: there is nothing to give."""
    if np.any(np.linalg.det(strip(a)) == 0):
        raise np.linalg.LinAlgError(
            "chainrule: slogdet of an exactly singular matrix: logabsdet is -inf there and "
            "has no derivative (tr(A^-1 dA) is infinite or undefined). Differentiate "
            "numpy.linalg.det instead, which has a derivative everywhere (the adjugate)."
        )


def _logdet_impl(a: Any) -> Any:
    sign, logabsdet = np.linalg.slogdet(a)
    return logabsdet + 1j * np.angle(sign) if np.iscomplexobj(sign) else logabsdet


# The adjugate adj(A) (adj(A) A = det(A) I) is the derivative of det:
# d det(A) = tr(adj(A) dA). It exists at singular matrices, where A^-1 does not.
# Real A is taken through its SVD A = U S V^T: adj(A) = det(U V^T) V adj(S) U^T with
# adj(S) = diag(prod_{j != i} s_j), exact at any rank. Since A + T = U (S + U^T T V) V^T,
# the derivative is d adj(A)[T] = det(U V^T) V L(U^T T V) U^T with, at a diagonal S,
# L(P)_ii = sum_{k != i} e_ik P_kk and L(P)_ij = -e_ij P_ij (i != j), where
# e_ik = prod_{j != i, k} s_j. L is self-adjoint, so the transposed map is
# G -> det(U V^T) U L(V^T G U) V^T.
def _leave_out_products(s: np.ndarray, drop: int) -> np.ndarray:
    """prod_{j != i} s_j (``drop=1``, shape (..., n)) or prod_{j != i, k} s_j
    (``drop=2``, shape (..., n, n), zero diagonal), without dividing by s."""
    n = s.shape[-1]
    eye = np.eye(n, dtype=bool)
    if drop == 1:
        return np.prod(np.where(eye, 1.0, s[..., None, :]), axis=-1)
    out_ij = eye[:, None, :] | eye[None, :, :]  # [i, k, j]: j is i or k
    e = np.prod(np.where(out_ij, 1.0, s[..., None, None, :]), axis=-1)
    return np.where(eye, 0.0, e)


def _svd_parts(a: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    u, s, vh = np.linalg.svd(a)
    return u, s, np.swapaxes(vh, -1, -2), np.linalg.det(u) * np.linalg.det(vh)


def _adj_impl(a: np.ndarray) -> np.ndarray:
    # det(A) A^-1 by LU when A^-1 is accurate (the common case, and cheaper); the SVD
    # formula, exact at any rank, otherwise.
    with np.errstate(all="ignore"):
        try:
            inv = np.linalg.inv(a)
        except np.linalg.LinAlgError:
            inv = None
        if inv is not None:
            residual = np.abs(a @ inv - np.eye(a.shape[-1]))
            if np.all(residual < 1e-10):  # also False for inf/nan
                return np.linalg.det(a)[..., None, None] * inv
    u, s, v, sgn = _svd_parts(a)
    d = _leave_out_products(s, 1)
    return sgn[..., None, None] * ((v * d[..., None, :]) @ np.swapaxes(u, -1, -2))


def _dadj_impl(a: np.ndarray, t: np.ndarray, transpose: bool) -> np.ndarray:
    u, s, v, sgn = _svd_parts(a)
    if transpose:
        u, v = v, u
    p = np.swapaxes(u, -1, -2) @ t @ v
    e = _leave_out_products(s, 2)
    dp = np.diagonal(p, axis1=-2, axis2=-1)
    lp = np.eye(s.shape[-1]) * (e @ dp[..., None]) - e * p
    return sgn[..., None, None] * (v @ lp @ np.swapaxes(u, -1, -2))


def _third_order_error(*args: Any, **kwargs: Any) -> Any:
    raise NoRuleError(
        "chainrule: the third derivative of numpy.linalg.det at a (nearly) singular matrix "
        "is not implemented (first and second derivatives are). At a well-conditioned "
        "matrix every order works."
    )


# dadj_p(a, t, transpose): the derivative of the adjugate of real ``a`` in direction
# ``t`` (or, transposed, the cotangent of ``a`` for the cotangent ``t`` of adj(a)).
# Linear in ``t``; its derivative in ``a`` (a third derivative of det) is refused.
dadj_p = Primitive("adjugate_derivative", _dadj_impl)
dadj_p.defvjp(
    lambda ans, a, t, transpose: _third_order_error(),
    lambda ans, a, t, transpose: lambda g: dadj_p(a, g, not transpose),
)
dadj_p.defjvp(
    lambda ta, ans, a, t, transpose: _third_order_error(),
    lambda tt, ans, a, t, transpose: dadj_p(a, tt, transpose),
)

# Below this reciprocal condition number the adjugate's derivative goes through the
# SVD formula above; above it through (tr(adj dA) adj - adj dA adj) / det, which is
# differentiable to every order.
_ADJ_RCOND = 1e-6


def _well_conditioned(a: Any) -> bool:
    s = np.linalg.svd(strip(a), compute_uv=False)
    return bool(np.all(s[..., -1] > _ADJ_RCOND * s[..., 0]))


def _adj_jvp(t: Any, ans: Any, a: Any) -> Any:
    if _well_conditioned(a):
        det = expand_dims(np.linalg.det(a), (-1, -2))
        tr = expand_dims(np.sum(_mT(ans) * t, axis=(-2, -1)), (-1, -2))
        return (tr * ans - ans @ t @ ans) / det
    return dadj_p(a, t, False)


def _adj_vjp(ans: Any, a: Any):
    if _well_conditioned(a):
        det = expand_dims(np.linalg.det(a), (-1, -2))
        adj_t = _mT(ans)

        def vjp(g: Any) -> Any:
            inner = expand_dims(np.sum(g * ans, axis=(-2, -1)), (-1, -2))
            return (inner * adj_t - adj_t @ g @ adj_t) / det

        return vjp
    return lambda g: dadj_p(a, g, True)


adj_p = Primitive("adjugate", _adj_impl)
adj_p.defvjp(_adj_vjp)
adj_p.defjvp(_adj_jvp)


def adjugate(a: Any) -> Any:
    """The adjugate of a stack of square matrices (``adj(A) A = det(A) I``),
    differentiable: real matrices at any rank (to second order at singular
    ones), complex ones as ``det(A) A^-1`` where ``A`` is invertible."""
    if _is_complex(a):
        return expand_dims(np.linalg.det(a), (-1, -2)) * np.linalg.inv(a)
    return adj_p(a)


det_p = Primitive("det", np.linalg.det)
det_p.defvjp(lambda ans, a: lambda g: expand_dims(g, (-1, -2)) * _mT(adjugate(a)))
det_p.defjvp(lambda t, ans, a: np.sum(_mT(adjugate(a)) * t, axis=(-2, -1)))
# logdet_p(a): log|det A| for real A; for complex A the (holomorphic) log det A,
# log|det A| + i angle(det A). Both have the derivative tr(A^-1 dA).
logdet_p = Primitive("logdet", _logdet_impl)
logdet_p.defvjp(_logdet_vjp)
logdet_p.defjvp(_logdet_jvp)


@implements(np.linalg.det)
def det(a: Any) -> Any:
    """Differentiable ``numpy.linalg.det``: ``d det A = tr(adj(A) dA)`` with the
    adjugate ``adj(A)`` (``det A A^-1`` where ``A`` is invertible). Real
    matrices have first and second derivatives at every point, singular ones
    included (the adjugate comes from the SVD, never from ``A^-1``); complex
    ones (holomorphic) where ``A`` is invertible.

    >>> import chainrule as cr, numpy as np
    >>> cr.grad(np.linalg.det)(np.array([[1.0, 2.0], [2.0, 4.0]]))  # singular
    array([[ 4., -2.],
           [-2.,  1.]])
    """
    if not is_traced(a):
        return np.linalg.det(a)
    _check_matrix(a, "det", complex_ok=True)
    return det_p(a)


@implements(np.linalg.slogdet)
def slogdet(a: Any) -> Any:
    """Differentiable ``numpy.linalg.slogdet``: returns ``(sign, logabsdet)``.

    Real ``A``: ``sign`` is piecewise constant and carries no derivative;
    ``logabsdet`` has gradient ``inv(A).T``. Complex ``A`` (as in JAX):
    ``sign = det/|det|`` moves smoothly on the unit circle and is differentiated,
    ``d sign = i Im(tr(A^-1 dA)) sign``, and ``d logabsdet = Re(tr(A^-1 dA))``:
    both are parts of the holomorphic ``log det A``.
    """
    if not is_traced(a):
        return np.linalg.slogdet(a)
    _check_matrix(a, "slogdet", complex_ok=True)
    sign = np.linalg.slogdet(strip(a))[0]
    logdet = logdet_p(a)
    if not np.iscomplexobj(sign):
        return _SlogdetResult(sign, logdet)
    # exp(i (Im log det - angle(sign))) is exactly 1 here: NumPy's sign, with the derivative
    # of exp(i Im log det).
    phase = np.exp((np.imag(logdet) - np.angle(sign)) * 1j)
    return _SlogdetResult(sign * phase, np.real(logdet))


# --- cholesky -------------------------------------------------------------------------
def _phi(x: Any) -> Any:
    """The lower triangle of ``x`` with its diagonal halved."""
    return x * (_tri(x, -1) + 0.5 * np.eye(shape_of(x)[-1], dtype=strip(x).dtype))


def _cholesky_vjp(ans: Any, a: Any):
    linv = np.linalg.inv(ans)
    return lambda g: _fold_to(_mT(linv) @ _phi(_mT(ans) @ g) @ linv, True)


def _cholesky_jvp(t: Any, ans: Any, a: Any) -> Any:
    linv = np.linalg.inv(ans)
    return ans @ _phi(linv @ _sym_from(t, True) @ _mT(linv))


cholesky_p = Primitive("cholesky", np.linalg.cholesky)
cholesky_p.defvjp(_cholesky_vjp)
cholesky_p.defjvp(_cholesky_jvp)


@implements(np.linalg.cholesky)
def cholesky(a: Any, /, *, upper: bool = False) -> Any:
    """Differentiable ``numpy.linalg.cholesky``. NumPy reads only the lower
    triangle of ``a`` (the upper one with ``upper=True``); the derivative is
    that of this function, so it is zero for the unread triangle (see the
    module docstring)."""
    if not is_traced(a):
        return np.linalg.cholesky(a, upper=upper)
    _check_matrix(a, "cholesky")
    if upper:
        return _mT(cholesky_p(_mT(a)))
    return cholesky_p(a)


# --- eigh and eigvalsh ----------------------------------------------------------------
def _eigh_impl(a: Any, lower: bool) -> tuple[Any, Any]:
    return tuple(np.linalg.eigh(a, "L" if lower else "U"))  # type: ignore[return-value]


def _eigh_vjp(ans: Any, a: Any, lower: bool):
    w, v = ans
    ties = _ties(w)
    gaps = _gap_inverse(w, ~ties & ~np.eye(shape_of(w)[-1], dtype=bool))

    def vjp(gs: tuple) -> Any:
        gw, gv = gs  # None: that result was not used (a symbolic zero)
        inner: Any = None
        if gw is not None:
            gw = _real(gw)  # the eigenvalues are real
            _require_zero(expand_dims(gw, -1) - expand_dims(gw, -2), ties, "eigh's eigenvalues")
            inner = _diag_embed(gw)
        if gv is not None:
            # at repeated eigenvalues the eigenvectors jump: no derivative if used
            if ties.any():
                raise _repeated_error("eigh's eigenvectors")
            m = _mT(v) @ gv
            if _is_complex(m):
                _require_phase_free(m, "eigh's complex eigenvectors")
            inner = gaps * m if inner is None else inner + gaps * m
        return None if inner is None else _fold_to(_cj(v) @ inner @ _mT(v), lower)

    return vjp


def _eigh_jvp(t: Any, ans: Any, a: Any, lower: bool) -> tuple[Any, Any]:
    w, v = ans
    if _ties(w).any():
        raise _repeated_error("eigh (forward mode; eigvalsh has one)")
    x = _mH(v) @ _sym_from(t, lower) @ v
    gaps = _gap_inverse(w, ~np.eye(shape_of(w)[-1], dtype=bool))
    # complex: the gauge v_k^H dv_k = 0 (JAX's); the phases are arbitrary
    return _real(_diag(x)), v @ (gaps * x)


# eigh_p(a, lower): (eigenvalues, eigenvectors), two results
eigh_p = Primitive("eigh", _eigh_impl, multiple_results=True)
eigh_p.defvjp(_eigh_vjp)
eigh_p.defjvp(_eigh_jvp)


@implements(np.linalg.eigh)
def eigh(a: Any, UPLO: str = "L") -> Any:
    """Differentiable ``numpy.linalg.eigh``: returns ``(eigenvalues,
    eigenvectors)``. NumPy reads only the ``UPLO`` triangle, and so does the
    derivative (see the module docstring). The eigenvector derivative assumes
    distinct eigenvalues: at repeated ones, using the eigenvectors raises
    ``NotImplementedError``, and so does forward mode (``eigvalsh`` has a
    forward derivative there). The eigenvectors keep LAPACK's signs; their
    derivative keeps each vector's sign and unit length.

    Complex Hermitian matrices: the eigenvalues are real; each eigenvector is
    defined only up to a phase, which LAPACK picks arbitrarily. Reverse mode
    differentiates uses that do not depend on the phases (``|v|``, ``v v^H``,
    ``V f(w) V^H``, ...) and raises ``NotImplementedError`` for the others.
    Forward mode cannot see the use: its eigenvector tangents follow JAX's
    convention ``v_k^H dv_k = 0``, right for every phase-independent use.
    LAPACK reads only the real part of the diagonal; so does the derivative.
    """
    lower = _uplo_lower(UPLO)
    if not is_traced(a):
        return np.linalg.eigh(a, UPLO)  # type: ignore[call-overload]  # the caller's string; NumPy checks it
    _check_matrix(a, "eigh", complex_ok=True)
    return _EighResult(*eigh_p(a, lower))


def _eigvalsh_vjp(ans: Any, a: Any, lower: bool):
    v = np.linalg.eigh(a, "L" if lower else "U")[1]
    ties = _ties(ans)

    def vjp(g: Any) -> Any:
        _require_zero(expand_dims(g, -1) - expand_dims(g, -2), ties, "eigvalsh")
        return _fold_to(_cj(v) @ (expand_dims(g, -1) * _mT(v)), lower)

    return vjp


def _eigvalsh_jvp(t: Any, ans: Any, a: Any, lower: bool) -> Any:
    v = np.linalg.eigh(a, "L" if lower else "U")[1]
    x = _mH(v) @ _sym_from(t, lower) @ v
    ties = _ties(ans)
    _require_zero(x, ties, "eigvalsh")
    dx = _real(_diag(x))
    _require_zero(expand_dims(dx, -1) - expand_dims(dx, -2), ties, "eigvalsh")
    return dx


eigvalsh_p = Primitive("eigvalsh", lambda a, lower: np.linalg.eigvalsh(a, "L" if lower else "U"))
eigvalsh_p.defvjp(_eigvalsh_vjp)
eigvalsh_p.defjvp(_eigvalsh_jvp)


# At repeated eigenvalues eigvalsh follows the convention of max ties: a cluster of
# equal eigenvalues moves, to first order, by the mean of the projected perturbation,
# dw_i = tr(P_C dA) / |C| for i in the cluster C (P_C its spectral projector), a linear
# map (so jacfwd == jacrev), exact for symmetric functions of the eigenvalues. Its
# transpose, the VJP, gives each cluster the mean of its cotangents:
# g -> sum_C mean(g_C) P_C. Both maps depend smoothly on A through the P_C
# (Daleckii-Krein: dP_C = V (Gamma o V^T dA V) V^T across clusters), which gives their
# own derivatives. Second derivatives that need the split of a cluster (f'' of a
# function of the eigenvalues at a cluster) are refused: a linear tangent cannot carry
# the split, and the answer would be wrong (docs/conventions.md).
_CLUSTER_RTOL = 1e-10


def _clusters(w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For ascending eigenvalues ``w`` (..., n): the cluster-averaging matrix ``M``
    (..., n, n) (``M_ij = 1/|C|`` when ``i``, ``j`` are in the same cluster ``C``)
    and the same-cluster mask. Neighbours closer than ``_CLUSTER_RTOL`` times the
    largest ``|w|`` are one cluster."""
    w = np.asarray(w)
    scale = np.max(np.abs(w), axis=-1, keepdims=True)
    new = np.diff(w, axis=-1) > _CLUSTER_RTOL * scale
    label = np.concatenate([np.zeros(w.shape[:-1] + (1,), int), np.cumsum(new, axis=-1)], -1)
    same = label[..., :, None] == label[..., None, :]
    return same / np.sum(same, axis=-1, keepdims=True), same


def _has_clusters(w: Any) -> bool:
    return bool(np.any(np.sum(_clusters(strip(w))[1], axis=-1) > 1))


def _avg(m: np.ndarray, x: Any) -> Any:
    """Cluster means of the vectors ``x`` (batch axes in front allowed)."""
    return (m @ expand_dims(x, -1))[..., 0]


def _eig_setup(a: Any, lower: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    w, v = np.linalg.eigh(strip(a), "L" if lower else "U")
    m, same = _clusters(w)
    return w, v, m, same


def _cluster_map_impl(a: Any, x: Any, lower: bool, transpose: bool) -> Any:
    _, v, m, _ = _eig_setup(a, lower)
    if transpose:  # x: cotangents of the eigenvalues -> cotangent of a
        return _fold_to(np.conj(v) @ (_avg(m, x)[..., None] * np.swapaxes(v, -1, -2)), lower)
    y = np.conj(np.swapaxes(v, -1, -2)) @ _sym_from(x, lower) @ v  # x: a tangent of a
    return _avg(m, np.real(np.diagonal(y, axis1=-2, axis2=-1)))


def _split_error(what: str) -> NoRuleError:
    return NoRuleError(
        f"chainrule: {what} at exactly repeated eigenvalues of numpy.linalg.eigvalsh would "
        "need how the repeated eigenvalues split, which the first-order convention (each "
        "cluster moves by its mean) does not carry; the answer would be wrong. Write "
        "functions of all eigenvalues as matrix functions where you can (sum(w**2) is "
        "np.sum(A * A) for symmetric A, sum(w) is np.trace(A)), or evaluate away from the "
        "repeated eigenvalues."
    )


def _refuse_varying_cotangent(same: np.ndarray) -> None:
    """The VJP of eigvalsh at a cluster is ``sum_C mean(g_C) P_C``. Differentiated in
    the cotangent ``g`` (as forward-over-reverse does when ``g = f'(w)`` depends on
    the eigenvalues) it would need how the cluster splits; no tangent or cotangent
    of ``g`` can show whether it does (a zero one can hide an ``f''`` along a
    direction of mean zero), so any is refused at a cluster."""
    if np.any(np.sum(same, axis=-1) > 1):
        raise _split_error("a second derivative through a cotangent that depends on them")


def _dk_gamma(w: np.ndarray, same: np.ndarray, h: Any) -> Any:
    """Daleckii-Krein weights ``(h_i - h_j) / (w_i - w_j)`` across clusters, 0 within."""
    return (expand_dims(h, -1) - expand_dims(h, -2)) * np.where(same, 0.0, 1.0 / _gap(w, same))


def _cluster_a_rule(a: Any) -> None:
    if is_traced(a):
        raise NoRuleError(
            "chainrule: third derivatives of numpy.linalg.eigvalsh at repeated eigenvalues "
            "are not implemented (first and second derivatives are)."
        )
    if _is_complex(a):
        raise no_rule_error(
            "second derivatives of numpy.linalg.eigvalsh of a complex matrix at repeated "
            "eigenvalues"
        )


def _cluster_map_jvp_a(ta: Any, ans: Any, a: Any, x: Any, lower: bool, transpose: bool) -> Any:
    _cluster_a_rule(a)
    w, v, m, same = _eig_setup(a, lower)
    xa = _mT(v) @ _sym_from(ta, lower) @ v
    if transpose:  # d/da of fold(sum_C mean(x_C) P_C)
        gamma = _dk_gamma(w, same, _avg(m, x))
        return _fold_to(v @ (gamma * pad_batch(xa, ndim_of(a), ndim_of(ans))) @ _mT(v), lower)
    # d/da of tr(P_C sym(x)) / |C|: 2 M r with r_i = sum_j X_ij Y_ij / (w_i - w_j) across
    y = _mT(v) @ _sym_from(x, lower) @ v
    inv_gap = np.where(same, 0.0, 1.0 / _gap(w, same))
    r = np.sum(pad_batch(xa, ndim_of(a), ndim_of(y)) * y * inv_gap, axis=-1)
    return 2.0 * _avg(m, r)


def _gap(w: np.ndarray, same: np.ndarray) -> np.ndarray:
    """``w_i - w_j``, 1 within clusters (where it is not used)."""
    return np.where(same, 1.0, w[..., :, None] - w[..., None, :])


def _cluster_map_vjp_a(ans: Any, a: Any, x: Any, lower: bool, transpose: bool):
    _cluster_a_rule(a)
    w, v, m, same = _eig_setup(a, lower)
    shape, n_own = shape_of(a), ndim_of(ans) + (0 if transpose else 1)
    if transpose:
        gamma = _dk_gamma(w, same, _avg(m, x))

        def vjp(c: Any) -> Any:
            y = _mT(v) @ _sym_from(c, lower) @ v
            return unbroadcast(_fold_to(v @ (gamma * y) @ _mT(v), lower), shape, n_own)

        return vjp
    y = _mT(v) @ _sym_from(x, lower) @ v

    def vjp_g(u: Any) -> Any:
        r = v @ (_dk_gamma(w, same, _avg(m, u)) * y) @ _mT(v)
        return unbroadcast(_fold_to(r, lower), shape, n_own)

    return vjp_g


def _cluster_map_jvp_x(t: Any, ans: Any, a: Any, x: Any, lower: bool, transpose: bool) -> Any:
    if transpose:  # the VJP of eigvalsh, differentiated in its cotangent
        _refuse_varying_cotangent(_eig_setup(a, lower)[3])
    return cluster_map_p(a, t, lower, transpose)


def _cluster_map_vjp_x(ans: Any, a: Any, x: Any, lower: bool, transpose: bool):
    same = _eig_setup(a, lower)[3]

    def vjp(c: Any) -> Any:
        if transpose:
            _refuse_varying_cotangent(same)
        return cluster_map_p(a, c, lower, not transpose)

    return vjp


# cluster_map_p(a, x, lower, transpose): the derivative map of eigvalsh at a with
# clusters, applied to a tangent x of a (transpose=False) or its transpose applied to
# cotangents x of the eigenvalues (transpose=True).
cluster_map_p = Primitive("eigvalsh_derivative", _cluster_map_impl)
cluster_map_p.defvjp(_cluster_map_vjp_a, _cluster_map_vjp_x)
cluster_map_p.defjvp(_cluster_map_jvp_a, _cluster_map_jvp_x)


def _eigvalsh_cluster_jvp(t: Any, ans: Any, a: Any, lower: bool) -> Any:
    if is_traced(a):
        # Inside a higher derivative: averaging loses the split of a cluster unless the
        # projected perturbation is a multiple of the identity there.
        _, v, m, same = _eig_setup(a, lower)
        tv = strip(t)
        y = np.conj(np.swapaxes(v, -1, -2)) @ _sym_from(tv, lower) @ v
        mean = _avg(m, np.real(np.diagonal(y, axis1=-2, axis2=-1)))
        dev = y - mean[..., None, :] * np.eye(shape_of(a)[-1])
        multi = same & (np.sum(same, axis=-1, keepdims=True) > 1)
        scale = np.max(np.abs(y), initial=0.0)
        if np.any(np.abs(dev) * multi > _TOL * scale):
            raise _split_error("a higher derivative through forward mode")
    return cluster_map_p(a, t, lower, False)


eigvalsh_cluster_p = Primitive(
    "eigvalsh", lambda a, lower: np.linalg.eigvalsh(a, "L" if lower else "U")
)
eigvalsh_cluster_p.defvjp(lambda ans, a, lower: lambda g: cluster_map_p(a, g, lower, True))
eigvalsh_cluster_p.defjvp(_eigvalsh_cluster_jvp)


@implements(np.linalg.eigvalsh)
def eigvalsh(a: Any, UPLO: str = "L") -> Any:
    """Differentiable ``numpy.linalg.eigvalsh``: ``dw_i = v_i^T dA v_i``, reading
    the ``UPLO`` triangle like NumPy. Complex Hermitian: ``dw_i = v_i^H dA v_i`` (real).

    At repeated eigenvalues (equal to a relative ``1e-10``) each cluster of equal
    eigenvalues moves by the mean of the projected perturbation,
    ``tr(P_C dA) / |C|``, in both modes (the VJP gives the cluster the mean of its
    cotangents, like ``max`` ties): exact for symmetric functions of the eigenvalues
    (the trace, ``sum(f(w))``), and a documented convention for the others (an
    even split). Second derivatives that need how a cluster splits (``f''`` of the
    eigenvalues at a cluster) raise ``NotImplementedError`` rather than answer wrongly.

    >>> import chainrule as cr, numpy as np
    >>> cr.jacfwd(lambda a: np.linalg.eigvalsh(a)[0])(np.eye(2))  # cluster {1, 1}
    array([[0.5, 0. ],
           [0. , 0.5]])
    """
    lower = _uplo_lower(UPLO)
    if not is_traced(a):
        return np.linalg.eigvalsh(a, UPLO)  # type: ignore[call-overload]  # the caller's string; NumPy checks it
    _check_matrix(a, "eigvalsh", complex_ok=True)
    if _has_clusters(np.linalg.eigvalsh(strip(a), UPLO)):  # type: ignore[call-overload]  # the caller's string; NumPy checks it
        return eigvalsh_cluster_p(a, lower)
    return eigvalsh_p(a, lower)


# --- eig and eigvals ------------------------------------------------------------------
# A = V diag(w) V^-1 with P = V^-1 dA V: dw = diag(P), and dV = V (F o P) + V diag(c)
# with F_ij = 1/(w_j - w_i) off the diagonal. The free diag(c) is the gauge: LAPACK
# scales each eigenvector to unit norm with its largest component real, so
# Re(v_k^H dv_k) = 0 and Im(dv_k[j_k] / v_k[j_k]) = 0 at that component j_k. The
# result is real-linear (not holomorphic) in dA; the VJP is its transpose under the
# pairing Re(sum(g * t)) (docs/design.md).
def _eig_impl(a: Any) -> tuple[Any, Any]:
    return tuple(np.linalg.eig(a))  # type: ignore[return-value]


def _largest_component(v: Any) -> np.ndarray:
    """One-hot masks (..., n, n) of the largest entry of each column of ``v``: the
    entry LAPACK makes real."""
    vv = strip(v)
    top = np.argmax(np.abs(vv), axis=-2)
    return np.arange(vv.shape[-2])[:, None] == top[..., None, :]


def _require_diagonalizable(v: Any) -> None:
    if np.any(np.linalg.cond(strip(v)) > 1e12):
        raise NoRuleError(
            "chainrule: numpy.linalg.eig / eigvals at a defective matrix (repeated eigenvalues "
            "without a full set of eigenvectors, like a Jordan block): the eigenvalues are not "
            "differentiable there (they move like a square root of the perturbation)."
        )


def _eig_gauge(dv0: Any, v: Any, top: np.ndarray) -> Any:
    """``dv0`` moved along each ``v_k`` so that it keeps LAPACK's normalisation."""
    s = np.sum(_cj(v) * dv0, axis=-2)
    if not _is_complex(dv0):
        return dv0 - v * expand_dims(s, -2)
    e = np.imag(np.sum(top * dv0, axis=-2) / np.sum(top * v, axis=-2))
    return dv0 - v * expand_dims(np.real(s) + e * 1j, -2)


def _eig_gauge_transpose(g: Any, v: Any, top: np.ndarray) -> Any:
    b = np.sum(g * v, axis=-2)
    if not (_is_complex(g) or _is_complex(v)):
        return g - v * expand_dims(b, -2)
    r = g - _cj(v) * expand_dims(np.real(b), -2)
    return r + top * expand_dims(np.imag(b) * -1j / np.sum(top * v, axis=-2), -2)


def _eig_jvp(t: Any, ans: Any, a: Any) -> tuple[Any, Any]:
    w, v = ans
    if _ties(w).any():
        raise _repeated_error("eig (forward mode)")
    p = np.linalg.solve(v, t @ v)
    gaps = _gap_inverse(w, ~np.eye(shape_of(w)[-1], dtype=bool))
    dv = _eig_gauge(v @ (gaps * p), v, _largest_component(v))
    return _diag(p), dv


def _eig_vjp(ans: Any, a: Any):
    w, v = ans
    ties = _ties(w)
    if ties.any():
        _require_diagonalizable(v)
    gaps = _gap_inverse(w, ~ties & ~np.eye(shape_of(w)[-1], dtype=bool))
    top = _largest_component(v)

    def vjp(gs: tuple) -> Any:
        gw, gv = gs  # None: that result was not used (a symbolic zero)
        q: Any = None
        if gw is not None:
            _require_zero(expand_dims(gw, -1) - expand_dims(gw, -2), ties, "eig's eigenvalues")
            q = _diag_embed(gw)
        if gv is not None:
            # at repeated eigenvalues the eigenvectors jump: no derivative if used
            if ties.any():
                raise _repeated_error("eig's eigenvectors")
            p = gaps * (_mT(v) @ _eig_gauge_transpose(gv, v, top))
            q = p if q is None else q + p
        return None if q is None else np.linalg.solve(_mT(v), q @ _mT(v))

    return vjp


# eig_p(a): (eigenvalues, right eigenvectors), two results (complex unless every
# eigenvalue of a real matrix is real, like NumPy's).
eig_p = Primitive("eig", _eig_impl, multiple_results=True)
eig_p.defvjp(_eig_vjp)
eig_p.defjvp(_eig_jvp)


@implements(np.linalg.eig)
def eig(a: Any) -> Any:
    """Differentiable ``numpy.linalg.eig``: returns ``(eigenvalues,
    eigenvectors)``, complex unless every eigenvalue of a real matrix is real
    (as NumPy's). Real and complex matrices.

    ``dw_i = u_i^H dA v_i / (u_i^H v_i)`` (left eigenvectors ``u``: the rows of
    ``V^-1``, conjugated) and ``dV = V (F o V^-1 dA V)`` with
    ``F_ij = 1 / (w_j - w_i)``, plus the gauge that keeps LAPACK's
    normalisation: each eigenvector has unit norm and its largest entry real.
    That is NumPy's own normalisation, so the derivative of every use of the
    eigenvectors matches finite differences (except where two entries of a
    vector tie for the largest modulus, where NumPy's choice itself jumps);
    uses that do not depend on the normalisation (``V diag(f(w)) V^-1``, the
    projectors) are exact everywhere. The eigenvectors need distinct
    eigenvalues: at repeated ones, using them raises ``NotImplementedError``,
    and so does forward mode (see ``eigvals`` for the values alone). For a
    real matrix the derivative with respect to it is real (the real part of
    the complex cotangent, docs/design.md).

    >>> import chainrule as cr, numpy as np
    >>> a = np.array([[2.0, 1.0], [0.0, 3.0]])
    >>> cr.grad(lambda a: np.sum(np.linalg.eig(a)[0] ** 2))(a)  # d tr(A^2) = 2 A^T
    array([[4., 0.],
           [2., 6.]])
    """
    if not is_traced(a):
        return np.linalg.eig(a)
    _check_matrix(a, "eig", complex_ok=True)
    return _EigResult(*eig_p(a))


def _eigvals_vectors(ans: Any, a: Any) -> Any:
    """Right eigenvectors of ``a`` (differentiable in ``a``), in the order of
    ``eigvals``' result ``ans`` (LAPACK computes the two separately)."""
    w, v = np.linalg.eig(a)
    wv, av = strip(w), strip(ans)
    if np.array_equal(wv, av):
        return v
    order = np.argmin(np.abs(av[..., :, None] - wv[..., None, :]), axis=-1)
    n = av.shape[-1]
    onehot = (np.arange(n)[:, None] == order[..., None, :]).astype(wv.dtype)
    return v @ onehot


def _eigvals_jvp(t: Any, ans: Any, a: Any) -> Any:
    v = _eigvals_vectors(ans, a)
    p = np.linalg.solve(v, t @ v)
    ties = _ties(ans)
    if ties.any():
        # A repeated eigenvalue moves by the eigenvalues of the block of p it spans:
        # linear in dA only where that block is a multiple of the identity.
        _require_diagonalizable(v)
        _require_zero(p, ties, "eigvals (forward mode)")
        dw = _diag(p)
        _require_zero(expand_dims(dw, -1) - expand_dims(dw, -2), ties, "eigvals (forward mode)")
        return dw
    return _diag(p)


def _eigvals_vjp(ans: Any, a: Any):
    v = _eigvals_vectors(ans, a)
    ties = _ties(ans)
    if ties.any():
        _require_diagonalizable(v)

    def vjp(g: Any) -> Any:
        _require_zero(expand_dims(g, -1) - expand_dims(g, -2), ties, "eigvals")
        return np.linalg.solve(_mT(v), expand_dims(g, -1) * _mT(v))

    return vjp


eigvals_p = Primitive("eigvals", np.linalg.eigvals)
eigvals_p.defvjp(_eigvals_vjp)
eigvals_p.defjvp(_eigvals_jvp)


@implements(np.linalg.eigvals)
def eigvals(a: Any) -> Any:
    """Differentiable ``numpy.linalg.eigvals`` (NumPy's values and dtype):
    ``dw_i = u_i^H dA v_i / (u_i^H v_i)``, real and complex matrices (see ``eig``).

    At exactly repeated eigenvalues of a diagonalizable matrix (say the
    identity) the eigenvalues are differentiable only for uses that treat the
    repeated ones alike: reverse mode gives the derivative when their
    cotangents are equal (their sum, ``sum(f(w))``...); forward mode when the
    direction moves them together (its projection on their eigenspace is a
    multiple of the identity). Anything else, and defective matrices (a Jordan
    block, where eigenvalues move like a square root), raise
    ``NotImplementedError``.

    >>> import chainrule as cr, numpy as np
    >>> a = np.array([[0.0, -1.0], [1.0, 0.0]])  # eigenvalues +-i
    >>> cr.grad(lambda a: np.sum(np.linalg.eigvals(a) ** 2).real)(a)
    array([[ 0.,  2.],
           [-2.,  0.]])
    """
    if not is_traced(a):
        return np.linalg.eigvals(a)
    _check_matrix(a, "eigvals", complex_ok=True)
    return eigvals_p(a)


# --- svd ------------------------------------------------------------------------------
def _svd_impl(a: Any) -> tuple[Any, Any, Any]:
    u, s, vh = np.linalg.svd(a, full_matrices=False)
    return u, s, np.conj(np.swapaxes(vh, -1, -2))


def _zeros_for_unused(gs: tuple, results: tuple) -> list:
    """The cotangents ``gs`` of several results, with a zero array (batched like
    the others) in place of each symbolic zero ``None``."""
    k, g = next((k, g) for k, g in enumerate(gs) if g is not None)
    lead = batch_lead(g, ndim_of(results[k]))
    return [
        np.zeros(lead + shape_of(r), np.result_type(strip(r), strip(g))) if c is None else c
        for c, r in zip(gs, results)
    ]


def _svd_gaps(s: Any) -> tuple[np.ndarray, Any, Any]:
    """The tie mask, ``1/(s_j - s_i)`` and ``1/(s_j + s_i)`` off the diagonal."""
    ties = _ties(s)
    off = ~np.eye(shape_of(s)[-1], dtype=bool)
    pos = strip(s) > 0
    both_zero = ~(pos[..., :, None] | pos[..., None, :])
    return ties, _gap_inverse(s, off & ~ties), _gap_inverse(s, off & ~both_zero, 1.0)


def _rank_deficient(what: str) -> NotImplementedError:
    return no_rule_error(
        f"{what} of a rank-deficient matrix (a zero singular value)",
        "the singular vectors are not differentiable there; "
        "svd(..., compute_uv=False) has a derivative",
    )


def _svd_vjp(ans: Any, a: Any):
    m, n = shape_of(a)[-2:]
    k = min(m, n)
    u, s, v = ans
    ties, fm, fp = _svd_gaps(s)
    pos = strip(s) > 0

    def vjp(g: tuple) -> Any:
        vectors_used = g[0] is not None or g[2] is not None
        if vectors_used:
            # at repeated or zero singular values the singular vectors jump
            if np.any(strip(s) == 0):
                raise _rank_deficient("the singular vectors of numpy.linalg.svd")
            if ties.any():
                raise _repeated_error("svd's singular vectors")
        gu, gs, gv = _zeros_for_unused(g, ans)
        gs = _real(gs)  # the singular values are real
        _require_zero(expand_dims(gs, -1) - expand_dims(gs, -2), ties & pos[..., None], "svd")
        uc = _cj(u)
        if not vectors_used:
            return uc @ (expand_dims(gs * pos, -1) * _mT(v))
        j0, h0 = _mT(u) @ gu, _mT(v) @ gv
        j, h = j0 - _mH(j0), h0 - _mH(h0)
        inner = 0.5 * (fm * (j + h) + fp * (j - h)) + _diag_embed(gs)
        if _is_complex(j0):
            # (u_k, v_k) share an arbitrary phase; their relative phase is defined
            _require_phase_free(j0 + h0, "svd's complex singular vectors")
            inner = inner + _diag_embed(np.imag(_diag(j0)) / s * 1j)
        r = uc @ inner @ _mT(v)
        if m > k:
            r = r + ((gu - uc @ (_mT(u) @ gu)) / expand_dims(s, -2)) @ _mT(v)
        if n > k:
            r = r + uc @ _mH((gv - _cj(v) @ (_mT(v) @ gv)) / expand_dims(s, -2))
        return r

    return vjp


def _svd_jvp(t: Any, ans: Any, a: Any) -> tuple[Any, Any, Any]:
    m, n = shape_of(a)[-2:]
    k = min(m, n)
    u, s, v = ans
    if np.any(strip(s) == 0):
        raise _rank_deficient("the forward derivative of numpy.linalg.svd")
    ties, fm, fp = _svd_gaps(s)
    if ties.any():
        raise _repeated_error("svd (forward mode; svd(compute_uv=False) has one)")
    tv = t @ v
    p = _mH(u) @ tv
    psym, pasym = 0.5 * (p + _mH(p)), 0.5 * (p - _mH(p))
    omega_u = fm * psym + fp * pasym
    if _is_complex(p):
        # the relative phase of (u_k, v_k); JAX's convention puts it all in u_k
        omega_u = omega_u + _diag_embed(np.imag(_diag(p)) / s * 1j)
    du = u @ omega_u
    dv = v @ (fm * psym - fp * pasym)
    srow = expand_dims(s, -2)
    if m > k:
        du = du + (tv - u @ p) / srow
    if n > k:
        dv = dv + (_mH(t) @ u - v @ _mH(p)) / srow
    return du, _real(_diag(p)), dv


# svd_p(a): (U, s, V) of the reduced A = U diag(s) V^H, three results
svd_p = Primitive("svd", _svd_impl, multiple_results=True)
svd_p.defvjp(_svd_vjp)
svd_p.defjvp(_svd_jvp)


def _sv_vjp(ans: Any, a: Any):
    u, _, vh = np.linalg.svd(a, full_matrices=False)
    ties, pos = _ties(ans), strip(ans) > 0

    def vjp(g: Any) -> Any:
        _require_zero(expand_dims(g, -1) - expand_dims(g, -2), ties & pos[..., None], "svd")
        return _cj(u) @ (expand_dims(g * pos, -1) * _cj(vh))

    return vjp


def _sv_jvp(t: Any, ans: Any, a: Any) -> Any:
    u, _, vh = np.linalg.svd(a, full_matrices=False)
    p = _mH(u) @ t @ _mH(vh)
    ties, pos = _ties(ans), strip(ans) > 0
    tie_pos = ties & pos[..., None]
    _require_zero(p + _mH(p), tie_pos, "svd")
    ds = _real(_diag(p))
    _require_zero(expand_dims(ds, -1) - expand_dims(ds, -2), tie_pos, "svd")
    return ds * pos


# sv_p(a): the singular values alone.
sv_p = Primitive("svdvals", lambda a: np.linalg.svd(a, compute_uv=False))
sv_p.defvjp(_sv_vjp)
sv_p.defjvp(_sv_jvp)


# The extra columns U2 of a full SVD's U (tall A) span the complement of U1's, in an
# arbitrary basis. Gauge: they move only as much as staying orthogonal to U1 needs
# (U1^H dU2 = -dU1^H U2, U2^H dU2 = 0), which gives dU2 = -P^H dA^H U2 with
# P = pinv(A) = V1 S^-1 U1^H; likewise dVh2 = -Vh2 dA^H P^H for the extra rows of
# Vh (wide A). Exact for every use invariant under rotations of the complement
# (U @ U.T, U2 @ U2.T, the first k columns). The VJPs are the transposes under the
# pairing Re(sum(g * t)). QR's extra columns (which='q') have no derivative.
def _complement_ph(a: Any) -> Any:
    """``pinv(A)^H = U1 S^-1 V1^H``, differentiable, for ``A`` of full rank."""
    u1, s, vh1 = np.linalg.svd(a, full_matrices=False)
    if np.any(strip(s) == 0):
        raise _rank_deficient("the extra singular vectors of numpy.linalg.svd")
    return (u1 / expand_dims(s, -2)) @ vh1


def _complement_vjp(ans: Any, a: Any, which: str):
    shape = shape_of(a)
    if which == "q":

        def refuse(g: Any) -> Any:
            if np.any(strip(g)):
                raise _complement_error(which)
            return np.zeros(batch_lead(g, ndim_of(ans)) + shape, dtype=strip(g).dtype)

        return refuse
    ph = _complement_ph(a)
    if which == "u":
        return lambda g: -(_cj(ans) @ _mH(g) @ _cj(ph))
    return lambda g: -(_cj(ph) @ _mH(g) @ _cj(ans))


def _complement_error(which: str) -> NotImplementedError:
    return no_rule_error(
        "the extra columns of Q (mode='complete') of numpy.linalg.qr of a non-square matrix",
        "they are an arbitrary basis of a complement, not a differentiable function of the "
        "matrix; reverse mode works while they are not used, forward mode needs "
        "mode='reduced'",
    )


def _complement_jvp(t: Any, ans: Any, a: Any, which: str) -> Any:
    if which == "q":
        raise _complement_error(which)
    ph = _complement_ph(a)
    if which == "u":
        return -(ph @ _mH(t) @ ans)
    return -(ans @ _mH(t) @ ph)


def _complement_impl(a: Any, which: str) -> Any:
    k = min(a.shape[-2:])
    if which == "q":
        return np.linalg.qr(a, mode="complete")[0][..., :, k:]
    u, _, vh = np.linalg.svd(a, full_matrices=True)
    return u[..., :, k:] if which == "u" else vh[..., k:, :]


# complement_p(a, which): the extra columns of u ('u') or rows of vh ('v') of a full
# SVD (differentiated in the gauge above), or of Q of a complete QR ('q': refused).
complement_p = Primitive("svd_qr_complement", _complement_impl)
complement_p.defvjp(_complement_vjp)
complement_p.defjvp(_complement_jvp)


def _stack_grids(stack: tuple[int, ...], extra: int) -> tuple[np.ndarray, ...]:
    """Index arrays addressing every matrix of a stack, with ``extra`` trailing unit axes."""
    k = len(stack)
    return tuple(
        np.arange(d).reshape((1,) * i + (d,) + (1,) * (k - i - 1 + extra))
        for i, d in enumerate(stack)
    )


def _svd_hermitian(a: Any, compute_uv: bool) -> Any:
    """NumPy's construction of the SVD of a symmetric matrix from ``eigh``
    (reading the lower triangle), with differentiable operations."""
    stack = shape_of(a)[:-2]
    if not compute_uv:
        s = np.abs(eigvalsh(a))
        order = np.argsort(strip(s), axis=-1)[..., ::-1]
        return getitem(s, _stack_grids(stack, 1) + (order,))
    w, u = eigh(a)
    sign = np.copysign(1.0, strip(w))
    s = np.abs(w)
    order = np.argsort(strip(s), axis=-1)[..., ::-1]
    sign = np.take_along_axis(sign, order, axis=-1)
    s = getitem(s, _stack_grids(stack, 1) + (order,))
    rows = np.arange(shape_of(a)[-1])[:, None]
    u = getitem(u, _stack_grids(stack, 2) + (rows, order[..., None, :]))
    return _SVDResult(u, s, _mH(u * sign[..., None, :]))


@implements(np.linalg.svd)
def svd(
    a: Any, full_matrices: bool = True, compute_uv: bool = True, hermitian: bool = False
) -> Any:
    """Differentiable ``numpy.linalg.svd``.

    Singular values: ``ds_i = u_i^T dA v_i``; at a zero singular value (a kink,
    like ``abs`` at 0) the derivative is 0. Singular vectors (Townsend 2016)
    assume distinct, nonzero singular values: otherwise using them raises
    ``NotImplementedError``, and so does forward mode (``compute_uv=False``
    has a forward derivative). They keep LAPACK's signs. With
    ``full_matrices=True`` and a non-square matrix of full rank, the extra
    columns ``U2`` of ``u`` (rows ``Vh2`` of ``vh``) are an arbitrary basis of a
    complement; their gauge: they turn only as much as staying orthogonal to
    the others needs (``U2^H dU2 = 0``), ``dU2 = -pinv(A)^H dA^H U2`` and
    ``dVh2 = -Vh2 dA^H pinv(A)^H``. That is exact for every use invariant under
    a rotation of the extra columns among themselves (``u @ u.T``,
    ``U2 @ U2.T``, the first ``min(m, n)`` columns), in both modes; for other
    uses it is a convention, not the derivative of LAPACK's basis.
    ``hermitian=True`` follows NumPy's construction from ``eigh``, reading the
    lower triangle.

    Complex matrices: ``A = U diag(s) V^H`` with ``ds_i = Re(u_i^H dA v_i)``.
    Each pair ``(u_k, v_k)`` is defined only up to a common phase, which LAPACK
    picks arbitrarily: reverse mode differentiates uses that do not depend on
    it (``s``, ``u_k v_k^H``, ``|U|``, ...) and raises ``NotImplementedError``
    for the others; forward mode follows JAX's convention (``v_k^H dv_k = 0``,
    the relative phase carried by ``u_k``), right for every phase-independent use.
    """
    if not is_traced(a):
        return np.linalg.svd(a, full_matrices, compute_uv, hermitian)  # type: ignore[call-overload]
    _check_matrix(a, "svd", square=hermitian, complex_ok=True)
    if hermitian:
        return _svd_hermitian(a, compute_uv)
    if not compute_uv:
        return sv_p(a)
    m, n = shape_of(a)[-2:]
    u, s, v = svd_p(a)
    vh = _mH(v)
    if full_matrices and m != n:
        if m > n:
            u = concat_p(u, complement_p(a, "u"), axis=-1)
        else:
            vh = concat_p(vh, complement_p(a, "v"), axis=-2)
    return _SVDResult(u, s, vh)


@implements(np.linalg.svdvals)
def svdvals(x: Any, /) -> Any:
    """Differentiable ``numpy.linalg.svdvals`` (see ``svd``)."""
    return svd(x, compute_uv=False)


# --- qr -------------------------------------------------------------------------------
def _qr_impl(a: Any) -> tuple[Any, Any]:
    return tuple(np.linalg.qr(a))  # type: ignore[return-value]


def _qr_parts(ans: Any, a: Any) -> tuple[Any, Any, Any]:
    q, r = ans
    if np.any(_diag(strip(r)) == 0):
        raise no_rule_error("numpy.linalg.qr of a matrix without full column rank")
    return q, r, np.linalg.inv(r)


def _qr_vjp(ans: Any, a: Any):
    m, n = shape_of(a)[-2:]
    q, r, rinv = _qr_parts(ans, a)

    def vjp(g: tuple) -> Any:
        gq, gr = _zeros_for_unused(g, ans)
        rrt = gr @ _mT(r)
        mm = _mT(q) @ gq - rrt
        inner = (mm - _mT(mm)) * _tri(mm, -1) + rrt
        return (gq + q @ (inner - _mT(q) @ gq)) @ _mT(rinv)

    return vjp


def _qr_jvp(t: Any, ans: Any, a: Any) -> Any:
    m, n = shape_of(a)[-2:]
    q, r, rinv = _qr_parts(ans, a)
    trinv = t @ rinv
    c = _mT(q) @ trinv
    low = c * _tri(c, -1)
    omega = low - _mT(low)
    dr = (c - omega) @ r
    dq = q @ omega
    if m > n:
        dq = dq + trinv - q @ c
    return dq, dr


# qr_p(a): (Q, R), the reduced QR of a tall or square matrix: two results
qr_p = Primitive("qr", _qr_impl, multiple_results=True)
qr_p.defvjp(_qr_vjp)
qr_p.defjvp(_qr_jvp)


def _qr_reduced(a: Any) -> tuple[Any, Any]:
    m, n = shape_of(a)[-2:]
    if m >= n:
        return qr_p(a)
    # Wide: A = Q [R1, R2] with Q R1 the QR of the leading square block.
    q, r1 = _qr_reduced(getitem(a, (Ellipsis, slice(None), slice(None, m))))
    r2 = _mT(q) @ getitem(a, (Ellipsis, slice(None), slice(m, None)))
    return q, concat_p(r1, r2, axis=-1)


@implements(np.linalg.qr)
def qr(a: Any, mode: str = "reduced") -> Any:
    """Differentiable ``numpy.linalg.qr`` for modes ``'reduced'``, ``'complete'``
    and ``'r'``, for matrices of full rank (``NotImplementedError`` otherwise).
    A wide matrix is factored as ``Q [R1, R2]`` from the QR of its leading
    square block. With ``'complete'`` and a tall matrix the extra columns of
    ``Q`` are an arbitrary basis of a complement: reverse mode raises if they
    influence the result, forward mode always raises. ``'raw'`` is not
    differentiable."""
    if not is_traced(a):
        return np.linalg.qr(a, mode)  # type: ignore[call-overload]  # the caller's string; NumPy checks it
    if mode not in ("reduced", "complete", "r"):
        if mode == "raw":
            raise no_rule_error("numpy.linalg.qr(mode='raw')", "use mode='reduced'")
        raise ValueError(f"Unrecognized mode '{mode}'")
    _check_matrix(a, "qr", square=False)
    q, r = _qr_reduced(a)
    m, n = shape_of(a)[-2:]
    if mode == "r":
        return r
    if mode == "complete" and m > n:
        q = concat_p(q, complement_p(a, "q"), axis=-1)
        zeros = np.zeros(shape_of(r)[:-2] + (m - n, n), dtype=strip(r).dtype)
        r = concat_p(r, zeros, axis=-2)
    return _QRResult(q, r)


allow_complex(concat_p, complement_p, inv_p, solve_p, det_p, logdet_p)
allow_complex(eigh_p, eigvalsh_p, eigvalsh_cluster_p, cluster_map_p, svd_p, sv_p)
allow_complex(eig_p, eigvals_p)


# --- pinv and lstsq -------------------------------------------------------------------
def _pinv_jvp_formula(t: Any, p: Any, a: Any, full_rank: bool = True) -> Any:
    """``d pinv(A)`` at fixed rank (Golub & Pereyra):
    ``-P dA P + P P^H dA^H (I - A P) + (I - P A) dA^H P^H P``. At full rank the
    second term vanishes unless ``A`` is tall and the third unless it is wide."""
    m, n = shape_of(a)[-2:]
    th = _mH(t)
    r = -(p @ t @ p)
    if m > n or not full_rank:
        r = r + p @ (_mH(p) @ (th - th @ (a @ p)))
    if n > m or not full_rank:
        r = r + (th - (p @ a) @ th) @ (_mH(p) @ p)
    return r


def _pinv_vjp_formula(g: Any, p: Any, a: Any, full_rank: bool = True) -> Any:
    """The transpose of ``_pinv_jvp_formula`` for the pairing ``Re(sum(g * t))``
    (its ``dA^H`` terms give conjugated cotangents)."""
    m, n = shape_of(a)[-2:]
    pt, pc = _mT(p), _cj(p)
    gh = _mH(g)
    r = -(pt @ g @ pt)
    if m > n or not full_rank:
        r = r + (gh - _cj(a @ p) @ gh) @ (pc @ pt)
    if n > m or not full_rank:
        r = r + (pt @ pc) @ (gh - gh @ _cj(p @ a))
    return r


# At a rank-deficient matrix NumPy's pinv is the pseudo-inverse of A_r = A P A, the
# matrix with the singular values below the cut-off set to 0. The formulas take A_r:
# to first order that changes nothing (A P = A_r P), and its derivative is the
# projection of dA on the matrices of rank r, which keeps second derivatives exact
# when the dropped singular values are not exactly 0.
def _rank_r(a: Any, p: Any, hermitian: bool) -> Any:
    """``A_r = A P A`` for the matrix NumPy reads (one triangle when ``hermitian``)."""
    a = _sym_from(a, True) if hermitian else a
    return a @ p @ a


def _pinv_vjp(ans: Any, a: Any, hermitian: bool, kwargs: tuple, full_rank: bool):
    ar = a if full_rank else _rank_r(a, ans, hermitian)
    if not hermitian:
        return lambda g: _pinv_vjp_formula(g, ans, ar, full_rank)
    return lambda g: _fold_to(_pinv_vjp_formula(g, ans, ar, full_rank), True)


def _pinv_jvp(t: Any, ans: Any, a: Any, hermitian: bool, kwargs: tuple, full_rank: bool) -> Any:
    if hermitian:
        t = _sym_from(t, True)
    ar = a if full_rank else _rank_r(a, ans, hermitian)
    return _pinv_jvp_formula(t, ans, ar, full_rank)


# pinv_p(a, hermitian, kwargs, full_rank): with hermitian=True NumPy reads the lower
# triangle; kwargs are NumPy's rcond/rtol as a tuple of pairs; full_rank says whether
# NumPy's cut-off kept every singular value.
pinv_p = Primitive(
    "pinv",
    lambda a, hermitian, kwargs, full_rank: np.linalg.pinv(a, hermitian=hermitian, **dict(kwargs)),
)
pinv_p.defvjp(_pinv_vjp)
pinv_p.defjvp(_pinv_jvp)
allow_complex(pinv_p)


def _full_rank(a: Any, rcond: Any, hermitian: bool = False) -> bool:
    """Whether NumPy's cut-off (``rcond`` times the largest singular value) keeps
    every singular value of every matrix of the stack."""
    s = np.linalg.svd(strip(a), compute_uv=False, hermitian=hermitian)
    cutoff = np.asarray(rcond)[..., None] * np.max(s, axis=-1, keepdims=True)
    return bool(np.all(np.sum(s > cutoff, axis=-1) == min(shape_of(a)[-2:])))


@implements(np.linalg.pinv)
def pinv(a: Any, rcond: Any = None, hermitian: bool = False, *, rtol: Any = np._NoValue) -> Any:
    """Differentiable ``numpy.linalg.pinv``, also of rank-deficient matrices.

    The rank is NumPy's, taken with ``pinv``'s own cut-off (``rcond`` / ``rtol``
    times the largest singular value) at the point; the derivative is that of
    the pseudo-inverse at that fixed rank (Golub & Pereyra):
    ``dA+ = -A+ dA A+ + A+ A+^T dA^T (I - A A+) + (I - A+ A) dA^T A+^T A+``,
    exact along every direction that keeps the rank, and for the others the
    derivative of the function NumPy computes near the point (the small
    singular values a perturbation creates fall below the cut-off only if they
    are small enough; the pseudo-inverse is discontinuous where they do not).
    With ``hermitian=True`` NumPy reads only the lower triangle, and so does
    the derivative.

    >>> import chainrule as cr, numpy as np
    >>> a = np.array([[1.0, 2.0], [2.0, 4.0]])  # rank 1: pinv(a) = a / 25
    >>> cr.jvp(np.linalg.pinv, (a,), (a,))[1]  # along a: d(a / (25 c^2)) = -a / 25
    array([[-0.04, -0.08],
           [-0.08, -0.16]])
    """
    kwargs = {"rcond": rcond}
    if rtol is not np._NoValue:
        kwargs["rtol"] = rtol
    if not is_traced(a):
        return np.linalg.pinv(a, hermitian=hermitian, **kwargs)
    _check_matrix(a, "pinv", square=hermitian, complex_ok=True)
    if rcond is None:
        if rtol is np._NoValue:
            cut = 1e-15
        elif rtol is None:
            cut = max(shape_of(a)[-2:]) * np.finfo(strip(a).dtype).eps
        else:
            cut = rtol
    else:
        if rtol is not np._NoValue:
            raise ValueError("`rtol` and `rcond` can't be both set.")
        cut = rcond
    full = _full_rank(a, cut, hermitian)
    return pinv_p(a, bool(hermitian), tuple(kwargs.items()), full)


# At a rank-deficient ``a`` the solution is the minimum-norm one, ``pinv(a) b`` with
# pinv's cut-off set to lstsq's: its derivative is that of the fixed-rank
# pseudo-inverse (as for pinv, through A_r = A P A), times b.
def _lstsq_pinv(a: Any, cut: float, full_rank: bool) -> tuple[Any, Any]:
    """-> (P, the matrix the pinv formulas take): pinv(a) with lstsq's cut-off."""
    p = np.linalg.pinv(a, rcond=cut)
    return p, (a if full_rank else _rank_r(a, p, False))


def _lstsq_vjp_a(ans: Any, a: Any, b: Any, cut: float, full_rank: bool):
    p, ar = _lstsq_pinv(a, cut, full_rank)
    return lambda g: _pinv_vjp_formula(g @ _mT(b), p, ar, full_rank)


def _lstsq_jvp_a(t: Any, ans: Any, a: Any, b: Any, cut: float, full_rank: bool) -> Any:
    p, ar = _lstsq_pinv(a, cut, full_rank)
    return _pinv_jvp_formula(t, p, ar, full_rank) @ b


def _lstsq_vjp_b(ans: Any, a: Any, b: Any, cut: float, full_rank: bool):
    p = np.linalg.pinv(a, rcond=cut)
    return lambda g: _mT(p) @ g


def _lstsq_jvp_b(t: Any, ans: Any, a: Any, b: Any, cut: float, full_rank: bool) -> Any:
    return np.linalg.pinv(a, rcond=cut) @ t


# lstsq_p(a, b, cut, full_rank): the solution x of numpy.linalg.lstsq for a matrix b
# (M, K); cut is lstsq's relative cut-off on the singular values (its rcond resolved),
# full_rank whether every singular value passed it at the point.
lstsq_p = Primitive("lstsq", lambda a, b, cut, full_rank: np.linalg.lstsq(a, b, cut)[0])
lstsq_p.defvjp(_lstsq_vjp_a, _lstsq_vjp_b)
lstsq_p.defjvp(_lstsq_jvp_a, _lstsq_jvp_b)


def _lstsq_cut(rcond: Any, a: Any) -> float:
    """lstsq's cut-off as a number: ``rcond=None`` is eps times max(M, N); a
    negative one is LAPACK's machine precision."""
    eps = float(np.finfo(np.result_type(strip(a).dtype, np.float64)).eps)
    if rcond is None:
        return eps * max(shape_of(a)[-2:])
    return float(rcond) if rcond >= 0 else eps


@implements(np.linalg.lstsq)
def lstsq(a: Any, b: Any, rcond: Any = None) -> Any:
    """Differentiable ``numpy.linalg.lstsq``: returns ``(x, residuals, rank, s)``.

    ``x`` is differentiable for every ``a`` (tall, square or wide): the
    minimum-norm solution ``pinv(a) b``. At a rank-deficient ``a`` the rank is
    lstsq's own, taken with its ``rcond`` at the point, and the derivative is
    that of the minimum-norm solution at that fixed rank (as for ``pinv``):
    exact along every direction that keeps the rank. ``residuals`` (the squared
    residual norms, present when ``a`` is tall and of full rank) and the singular
    values ``s`` are differentiable too; ``rank`` is an integer.

    >>> import chainrule as cr, numpy as np
    >>> a = np.array([[1.0, 1.0], [1.0, 1.0], [0.0, 0.0]])  # rank 1
    >>> b = np.array([2.0, 2.0, 5.0])
    >>> np.round(cr.jacfwd(lambda b: np.linalg.lstsq(a, b)[0])(b), 12)
    array([[0.25, 0.25, 0.  ],
           [0.25, 0.25, 0.  ]])
    """
    if not (is_traced(a) or is_traced(b)):
        return np.linalg.lstsq(a, b, rcond)
    b = b if is_traced(b) else np.asarray(b)
    _check_matrix(a, "lstsq", square=False)
    if np.iscomplexobj(strip(b)):
        raise no_rule_error("numpy.linalg.lstsq with a complex right-hand side")
    _, res0, rank, _ = np.linalg.lstsq(strip(a), strip(b), rcond)
    m, n = shape_of(a)[-2:]
    cut = _lstsq_cut(rcond, a)
    full = bool(rank == min(m, n))
    vector = ndim_of(b) == 1
    b2 = expand_dims(b, -1) if vector else b
    x = lstsq_p(a, b2, cut, full)
    if m > n and full:  # NumPy gives residuals only then
        res = np.sum((b2 - a @ x) ** 2, axis=-2)
    else:
        res = res0
    if vector:
        x = reshape(x, (n,))
    s = svd(a, compute_uv=False)
    return x, res, rank, s
