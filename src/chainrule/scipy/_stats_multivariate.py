"""``multivariate_normal`` and ``dirichlet`` of ``chainrule.scipy.stats``.

The multivariate normal's log density is computed for all points at once:
one Cholesky factor ``L`` of the covariance, its inverse (d x d), one product
``Z = (x - mean) L^-T`` and the squared norms of the rows of ``Z``. Its
gradient then costs a few matrix products, whatever the number of points.

With ``allow_singular=True`` a covariance of rank ``r < d`` gives SciPy's
density on its support: ``-(r log 2 pi + log pdet(C) + (x-m)^T C^+ (x-m)) / 2``,
the rank taken with SciPy's tolerance at the point, ``-inf`` off the support.
Differentiably, the range of ``C`` is spanned by ``C Q0`` (``Q0``: the
eigenvectors of the nonzero eigenvalues at the point, held constant), whose
orthonormal basis ``Q`` (QR) moves with ``C``; then ``pdet(C) = det(Q^T C Q)``
and ``C^+ = Q (Q^T C Q)^-1 Q^T``. This is exact on the matrices of rank ``r``
near ``C``, to every order: the derivative of the fixed-rank density.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ..core.trace import strip
from . import _special_rules as _r
from ._stats_util import fl, squeeze

_LOG_2PI = math.log(2.0 * math.pi)


def _chol_logdet(chol: Any) -> Any:
    return 2.0 * np.sum(np.log(np.diagonal(chol, axis1=-2, axis2=-1)), axis=-1)


def _lower_symmetric(c: Any) -> Any:
    """The symmetric matrix whose lower triangle is that of ``c`` (SciPy reads
    only the lower triangle)."""
    return np.tril(c) + np.swapaxes(np.tril(c, -1), -1, -2)


class _Gaussian:
    """The quantities of one covariance matrix that the density needs."""

    def __init__(self, cov: Any, allow_singular: bool) -> None:
        cv = np.asarray(strip(cov))
        if cv.ndim != 2 or cv.shape[0] != cv.shape[1]:
            raise ValueError(
                "multivariate_normal: cov must be a scalar, a vector (the diagonal) or a "
                f"square matrix, got shape {cv.shape}"
            )
        d = cv.shape[0]
        s, u = np.linalg.eigh(cv)  # lower triangle, as SciPy
        eps = 1e6 * np.finfo(float).eps * np.max(np.abs(s))
        if np.min(s) < -eps:
            raise ValueError("The input matrix must be symmetric positive semidefinite.")
        keep = s > eps
        self.rank = int(np.sum(keep))
        if self.rank < d and not allow_singular:
            raise np.linalg.LinAlgError(
                "When `allow_singular is False`, the input matrix must be symmetric "
                "positive definite (pass allow_singular=True for a singular covariance)."
            )
        if self.rank == d:
            self.null = None
            self.chol = np.linalg.cholesky(cov)
            self.basis = None
        else:
            self.null, self.tol = u[:, ~keep], 1e3 * eps
            c = _lower_symmetric(cov)
            self.basis = np.linalg.qr(c @ u[:, keep])[0]  # moves with c, spans its range
            self.chol = np.linalg.cholesky(self.basis.T @ c @ self.basis)
        self.log_pdet = _chol_logdet(self.chol)
        # The whitening map W with W^T W = C^+: L^-1 (times Q^T when singular). The
        # points are then whitened by one matrix product, not a triangular solve
        # with a column per point. Everything here runs in NumPy's BLAS: SciPy
        # ships its own, and on a busy machine switching between the two thread
        # pools stalled each call for ~25 ms (0.5 ms when staying in one).
        self.whiten_t = np.swapaxes(np.linalg.inv(self.chol), -1, -2)
        if self.basis is not None:
            self.whiten_t = self.basis @ self.whiten_t

    def maha(self, dev: Any) -> Any:
        """``dev^T C^+ dev`` for every point (rows of ``dev``, shape (..., d))."""
        z = dev @ self.whiten_t
        # einsum, not sum(z * z): the elementwise rules' overflow guard (mul0) scans
        # its operand with a threaded BLAS dot, which stalled under load.
        return np.einsum("...i,...i->...", z, z)

    def logpdf(self, dev: Any) -> Any:
        out = -0.5 * (self.rank * _LOG_2PI + self.log_pdet + self.maha(dev))
        if self.null is None:
            return out
        off = np.linalg.norm(np.asarray(strip(dev)) @ self.null, axis=-1) >= self.tol
        return np.where(off, -np.inf, out) if np.any(off) else out


class MultivariateNormal:
    """The multivariate normal distribution, ``multivariate_normal.logpdf(x,
    mean=None, cov=1, allow_singular=False)``, ``pdf`` and ``entropy(mean=None,
    cov=1)``: SciPy's signatures and values, differentiable in ``x``, ``mean``
    and ``cov``. ``x`` holds points on its last axis; ``cov`` is a matrix (only
    its lower triangle is read, as in SciPy: the gradient in the upper
    triangle is 0), a vector (the diagonal) or a scalar. Calling it
    (``multivariate_normal(mean, cov)``) freezes the parameters."""

    name = "multivariate_normal"

    def _process(self, mean: Any, cov: Any) -> tuple[int, Any, Any]:
        mv = None if mean is None else np.asarray(strip(mean))
        cv = np.asarray(strip(cov))
        if mv is not None:
            d = mv.size
        else:
            d = cv.shape[0] if cv.ndim >= 1 else 1
        if mv is not None and mv.ndim > 1:
            raise ValueError(
                f"multivariate_normal: mean must be a vector, got shape {mv.shape} "
                "(for several means, call once per mean or subtract them from x)"
            )
        mean = np.zeros(d) if mean is None else np.reshape(fl(mean), (d,))
        cov = fl(cov)
        if cv.ndim == 0:
            cov = np.eye(d) * cov
        elif cv.ndim == 1 and cv.size == d:
            cov = np.eye(d) * cov
        elif cv.ndim == 2 and cv.shape == (d, d):
            pass
        elif cv.size == 1 and d == 1:
            cov = np.reshape(cov, (1, 1))
        else:
            raise ValueError(
                f"multivariate_normal: cov of shape {cv.shape} does not fit a mean of length "
                f"{d}: give a scalar, a vector of {d} variances or a {d} x {d} matrix"
            )
        return d, mean, cov

    @staticmethod
    def _points(x: Any, d: int) -> Any:
        x = fl(x)
        nd = np.ndim(strip(x))
        if nd == 0:
            return np.reshape(x, (1,))
        if nd == 1:
            return np.reshape(x, (-1, 1)) if d == 1 else np.reshape(x, (1, -1))
        if np.shape(strip(x))[-1] != d:
            raise ValueError(
                f"multivariate_normal: the points x have {np.shape(strip(x))[-1]} components "
                f"on their last axis, the distribution {d}"
            )
        return x

    def logpdf(self, x: Any, mean: Any = None, cov: Any = 1, allow_singular: bool = False) -> Any:
        """The log density at the points ``x`` (..., d); a scalar for one point."""
        d, mean, cov = self._process(mean, cov)
        x = self._points(x, d)
        return squeeze(_Gaussian(cov, allow_singular).logpdf(x - mean))

    def pdf(self, x: Any, mean: Any = None, cov: Any = 1, allow_singular: bool = False) -> Any:
        """The density: ``exp(logpdf)``."""
        return np.exp(self.logpdf(x, mean, cov, allow_singular))

    def entropy(self, mean: Any = None, cov: Any = 1) -> Any:
        """``(rank (log 2 pi + 1) + log pdet(cov)) / 2`` (``cov`` may be singular)."""
        _, _, cov = self._process(mean, cov)
        g = _Gaussian(cov, True)
        return 0.5 * (g.rank * (_LOG_2PI + 1.0) + g.log_pdet)

    def __call__(self, mean: Any = None, cov: Any = 1, allow_singular: bool = False) -> Any:
        """The distribution with ``mean`` and ``cov`` fixed."""
        return _FrozenMVN(self, mean, cov, allow_singular)

    def __repr__(self) -> str:
        return "<chainrule.scipy.stats.multivariate_normal>"


class _FrozenMVN:
    def __init__(self, dist: MultivariateNormal, mean: Any, cov: Any, singular: bool) -> None:
        self.dist, self.mean, self.cov, self.allow_singular = dist, mean, cov, singular

    def logpdf(self, x: Any) -> Any:
        return self.dist.logpdf(x, self.mean, self.cov, self.allow_singular)

    def pdf(self, x: Any) -> Any:
        return self.dist.pdf(x, self.mean, self.cov, self.allow_singular)

    def entropy(self) -> Any:
        return self.dist.entropy(self.mean, self.cov)


def _check_alpha(alpha: Any) -> Any:
    av = np.asarray(strip(alpha))
    if np.min(av) <= 0:
        raise ValueError("dirichlet: all parameters alpha must be greater than 0")
    if av.ndim != 1:
        raise ValueError(f"dirichlet: alpha must be one dimensional, but alpha.shape = {av.shape}")
    return fl(alpha)


class Dirichlet:
    """The Dirichlet distribution, ``dirichlet.logpdf(x, alpha)``, ``pdf`` and
    ``entropy(alpha)``, differentiable in ``x`` and ``alpha``. As in SciPy the
    components run along the *first* axis of ``x``; with one component fewer
    than ``alpha`` the last is ``1 - sum(x, axis=0)``."""

    name = "dirichlet"

    @staticmethod
    def _lnb(alpha: Any) -> Any:
        return np.sum(_r.gammaln_p(alpha)) - _r.gammaln_p(np.sum(alpha))

    def logpdf(self, x: Any, alpha: Any) -> Any:
        """The log density at ``x`` (components on the first axis)."""
        alpha = _check_alpha(alpha)
        k = np.shape(strip(alpha))[0]
        x = fl(x)
        xv = np.asarray(strip(x))
        if xv.shape[0] not in (k, k - 1):
            raise ValueError(
                "dirichlet: x must have as many entries as alpha, or one fewer, along its "
                f"first axis; alpha.shape = {(k,)}, x.shape = {xv.shape}"
            )
        if xv.shape[0] == k - 1:
            x = np.concatenate([x, 1.0 - np.sum(x, axis=0, keepdims=True)], axis=0)
            xv = np.asarray(strip(x))
        if np.min(xv) < 0 or np.max(xv) > 1:
            raise ValueError("dirichlet: each entry of x must lie in [0, 1]")
        if np.any(np.abs(np.sum(xv, axis=0) - 1.0) > 1e-9):
            raise ValueError(
                f"dirichlet: x must lie on the simplex, but sum(x, axis=0) = {np.sum(xv, axis=0)}"
            )
        a = np.reshape(alpha, (k,) + (1,) * (xv.ndim - 1))
        return squeeze(np.sum(_r.xlogy_p(a - 1.0, x), axis=0) - self._lnb(alpha))

    def pdf(self, x: Any, alpha: Any) -> Any:
        """The density: ``exp(logpdf)``."""
        return np.exp(self.logpdf(x, alpha))

    def entropy(self, alpha: Any) -> Any:
        """``ln B(alpha) + (a0 - K) digamma(a0) - sum((alpha - 1) digamma(alpha))``."""
        alpha = _check_alpha(alpha)
        a0 = np.sum(alpha)
        k = np.shape(strip(alpha))[0]
        return (
            self._lnb(alpha)
            + (a0 - k) * _r.digamma_p(a0)
            - np.sum((alpha - 1.0) * _r.digamma_p(alpha))
        )

    def __call__(self, alpha: Any) -> Any:
        """The distribution with ``alpha`` fixed: ``dirichlet(alpha).logpdf(x)``."""
        from ._stats_continuous import Frozen

        return Frozen(self, (alpha,), {})

    def __repr__(self) -> str:
        return "<chainrule.scipy.stats.dirichlet>"
