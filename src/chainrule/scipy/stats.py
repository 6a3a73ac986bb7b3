"""``chainrule.scipy.stats``: differentiable log-densities of common distributions.

``norm``, ``t``, ``gamma``, ``beta``, ``poisson`` and ``multivariate_normal``
with SciPy's call signatures (``norm.logpdf(x, loc=0, scale=1)``...) and
values. They are written with differentiable functions, so they differentiate
in every float argument to any order, with two exceptions that raise
``NotImplementedError`` rather than return a wrong number: the ``logcdf`` of
``t``, ``gamma`` and ``beta`` in their shape parameters (``df``, ``a``, ``b``:
derivatives of the incomplete beta/gamma functions in their parameters have no
closed form), and ``poisson`` in the count ``k`` (integer-valued). Plain
``scipy.stats`` calls convert their inputs with ``np.asarray`` and so refuse
traced values: use these instead.

``multivariate_normal`` reads the lower triangle of ``cov`` (as SciPy and
``numpy.linalg.cholesky`` do): its gradient with respect to the upper triangle
is 0, and a covariance built symmetrically gets the usual symmetric result.

>>> import chainrule as cr, chainrule.scipy.stats as cst
>>> float(cr.grad(lambda m: cst.norm.logpdf(1.0, loc=m))(0.0))
1.0
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import scipy.special as _sc

from ..core.primitive import Primitive
from ..core.registry import export as _export
from ..core.trace import is_traced, strip
from ..errors import no_rule_error
from ..rules._util import mul0
from . import _special_rules as _r
from ._linalg_rules import tri_solve_p

_NS = "scipy.stats"
_LOG_2PI = math.log(2.0 * math.pi)
_f = _r.as_float


def _shape_error(name: str, what: str) -> Any:
    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise no_rule_error(
            f"chainrule.scipy.stats.{name}",
            f"no derivative with respect to {what}; the other arguments are differentiable",
        )

    return refuse


def _log_cdf_primitive(name: str, log_cdf: Any, log_pdf: Any, inside: Any, params: str):
    """A primitive ``(z, *params) -> log CDF(z)``, arguments of one shape, with
    derivative ``exp(log_pdf - log_cdf)`` in ``z`` (0 outside the support
    ``inside(z)``) and none in the shape parameters (they raise)."""

    def slope(ans: Any, z: Any, *p: Any) -> Any:
        ok = inside(strip(z)) & np.isfinite(strip(ans))
        if np.all(ok):
            return np.exp(log_pdf(z, *p) - ans)
        zs, ans_s = np.where(ok, z, 0.5), np.where(ok, ans, 0.0)
        return np.where(ok, np.exp(log_pdf(zs, *p) - ans_s), 0.0)

    refuse = _shape_error(name, params)
    prim = Primitive(name, log_cdf)
    others = [refuse] * len(params.split(", "))
    prim.defvjp(lambda ans, z, *p: lambda g: mul0(g, slope(ans, z, *p)), *others)
    prim.defjvp(lambda t, ans, z, *p: mul0(t, slope(ans, z, *p)), *others)
    return prim


def _broadcast(*args: Any) -> list[Any]:
    shape = np.broadcast_shapes(*(np.shape(strip(a)) for a in args))
    return [np.broadcast_to(a, shape) for a in args]


class _Continuous:
    """A continuous distribution with ``logpdf``/``logcdf`` of a standardized
    ``z = (x - loc) / scale``; ``pdf`` and ``cdf`` are their exponentials."""

    name = ""

    def _logpdf(self, z: Any, *shapes: Any) -> Any:
        raise NotImplementedError

    def _logcdf(self, z: Any, *shapes: Any) -> Any:
        raise NotImplementedError

    numargs = 0
    shapes: tuple[str, ...] = ()

    def _split(self, x: Any, args: tuple, kwargs: dict) -> tuple[Any, Any, list]:
        """``z``, ``log(scale)`` and the shape parameters, from SciPy's arguments."""
        names = self.shapes + ("loc", "scale")
        if len(args) > len(names):
            raise TypeError(f"{self.name}: too many arguments")
        params = dict(zip(names, args))
        for k, v in kwargs.items():
            if k not in names or k in params:
                raise TypeError(f"{self.name}: unexpected or repeated argument {k!r}")
            params[k] = v
        missing = [n for n in self.shapes if n not in params]
        if missing:
            raise TypeError(f"{self.name}: missing shape parameter(s) {missing}")
        scale = _f(params.get("scale", 1.0))
        z = (_f(x) - _f(params.get("loc", 0.0))) / scale
        return z, np.log(scale), [_f(params[n]) for n in self.shapes]

    def logpdf(self, x: Any, *args: Any, **kwargs: Any) -> Any:
        """The log density at ``x``, as ``scipy.stats``."""
        z, log_scale, shapes = self._split(x, args, kwargs)
        return self._logpdf(z, *shapes) - log_scale

    def logcdf(self, x: Any, *args: Any, **kwargs: Any) -> Any:
        """The log cumulative distribution function at ``x``, as ``scipy.stats``."""
        z, _, shapes = self._split(x, args, kwargs)
        return self._logcdf(z, *shapes)

    def pdf(self, x: Any, *args: Any, **kwargs: Any) -> Any:
        """The density at ``x``: ``exp(logpdf)``."""
        return np.exp(self.logpdf(x, *args, **kwargs))

    def cdf(self, x: Any, *args: Any, **kwargs: Any) -> Any:
        """The cumulative distribution function at ``x``: ``exp(logcdf)``."""
        return np.exp(self.logcdf(x, *args, **kwargs))

    def __repr__(self) -> str:
        return f"<chainrule.scipy.stats.{self.name}>"


# --- norm -------------------------------------------------------------------------------
class _Norm(_Continuous):
    """The normal distribution: ``norm.logpdf(x, loc=0, scale=1)``, ``norm.logcdf``..."""

    name = "norm"

    def _logpdf(self, z: Any) -> Any:
        return -0.5 * z * z - 0.5 * _LOG_2PI

    def _logcdf(self, z: Any) -> Any:
        return _r.log_ndtr_p(z)


# --- t ----------------------------------------------------------------------------------
def _t_logpdf(z: Any, df: Any) -> Any:
    return (
        _r.gammaln_p(0.5 * (df + 1.0))
        - _r.gammaln_p(0.5 * df)
        - 0.5 * np.log(df * math.pi)
        - 0.5 * (df + 1.0) * np.log1p(z * z / df)
    )


_t_logcdf_p = _log_cdf_primitive(
    "t.logcdf",
    lambda z, df: np.log(_sc.stdtr(df, z)),
    _t_logpdf,
    lambda z: np.ones(np.shape(z), dtype=bool),
    "df",
)


class _T(_Continuous):
    """Student's t distribution: ``t.logpdf(x, df, loc=0, scale=1)``, ``t.logcdf``
    (not differentiable in ``df``)..."""

    name, numargs, shapes = "t", 1, ("df",)

    def _logpdf(self, z: Any, df: Any) -> Any:
        return _t_logpdf(z, df)

    def _logcdf(self, z: Any, df: Any) -> Any:
        return _t_logcdf_p(*_broadcast(z, df))


# --- gamma ------------------------------------------------------------------------------
def _gamma_logpdf_pos(z: Any, a: Any) -> Any:
    return _r.xlogy_p(a - 1.0, z) - z - _r.gammaln_p(a)


def _gamma_log_cdf(z: Any, a: Any) -> Any:
    with np.errstate(divide="ignore"):
        return np.log(_sc.gammainc(a, np.maximum(z, 0.0)))


_gamma_logcdf_p = _log_cdf_primitive(
    "gamma.logcdf", _gamma_log_cdf, _gamma_logpdf_pos, lambda z: z > 0, "a"
)


class _Gamma(_Continuous):
    """The gamma distribution: ``gamma.logpdf(x, a, loc=0, scale=1)``,
    ``gamma.logcdf`` (not differentiable in ``a``)... The log density is
    ``-inf`` (derivative 0) for ``x < loc``."""

    name, numargs, shapes = "gamma", 1, ("a",)

    def _logpdf(self, z: Any, a: Any) -> Any:
        z, a = _broadcast(z, a)
        ok = strip(z) >= 0
        if np.all(ok):
            return _gamma_logpdf_pos(z, a)
        return np.where(ok, _gamma_logpdf_pos(np.where(ok, z, 1.0), a), -np.inf)

    def _logcdf(self, z: Any, a: Any) -> Any:
        return _gamma_logcdf_p(*_broadcast(z, a))


# --- beta -------------------------------------------------------------------------------
def _beta_logpdf_in(z: Any, a: Any, b: Any) -> Any:
    return _r.xlogy_p(a - 1.0, z) + _r.xlog1py_p(b - 1.0, -z) - _r.betaln_p(a, b)


def _beta_log_cdf(z: Any, a: Any, b: Any) -> Any:
    with np.errstate(divide="ignore"):
        return np.log(_sc.betainc(a, b, np.clip(z, 0.0, 1.0)))


_beta_logcdf_p = _log_cdf_primitive(
    "beta.logcdf", _beta_log_cdf, _beta_logpdf_in, lambda z: (z > 0) & (z < 1), "a, b"
)


class _Beta(_Continuous):
    """The beta distribution: ``beta.logpdf(x, a, b, loc=0, scale=1)``,
    ``beta.logcdf`` (not differentiable in ``a``, ``b``)... The log density is
    ``-inf`` (derivative 0) outside ``[loc, loc + scale]``."""

    name, numargs, shapes = "beta", 2, ("a", "b")

    def _logpdf(self, z: Any, a: Any, b: Any) -> Any:
        z, a, b = _broadcast(z, a, b)
        zv = strip(z)
        ok = (zv >= 0) & (zv <= 1)
        if np.all(ok):
            return _beta_logpdf_in(z, a, b)
        return np.where(ok, _beta_logpdf_in(np.where(ok, z, 0.5), a, b), -np.inf)

    def _logcdf(self, z: Any, a: Any, b: Any) -> Any:
        return _beta_logcdf_p(*_broadcast(z, a, b))


# --- poisson ----------------------------------------------------------------------------
class _Poisson:
    """The Poisson distribution: ``poisson.logpmf(k, mu, loc=0)`` and ``pmf``,
    differentiable in the rate ``mu`` (not in the integer count ``k``). The log
    probability is ``-inf`` for ``k`` that are negative or not integers."""

    name = "poisson"

    def logpmf(self, k: Any, mu: Any, loc: Any = 0) -> Any:
        """``k log(mu) - log(k!) - mu`` at the integers ``k - loc >= 0``, as ``scipy.stats``."""
        if is_traced(k) or is_traced(loc):
            raise no_rule_error("chainrule.scipy.stats.poisson.logpmf", "the count k is an integer")
        k = np.asarray(k, dtype=float) - np.asarray(loc, dtype=float)
        mu = _f(mu)
        k, mu = _broadcast(k, mu)
        ok = (k >= 0) & (k == np.floor(k))
        ks = np.where(ok, k, 0.0)
        out = _r.xlogy_p(ks, mu) - _r.gammaln_p(ks + 1.0) - mu
        return out if np.all(ok) else np.where(ok, out, -np.inf)

    def pmf(self, k: Any, mu: Any, loc: Any = 0) -> Any:
        """``exp(logpmf)``."""
        return np.exp(self.logpmf(k, mu, loc))

    def __repr__(self) -> str:
        return "<chainrule.scipy.stats.poisson>"


# --- multivariate_normal ----------------------------------------------------------------
class _MultivariateNormal:
    """The multivariate normal distribution: ``multivariate_normal.logpdf(x,
    mean=None, cov=1)`` and ``pdf``, differentiable in ``x``, ``mean`` and
    ``cov`` (through its Cholesky factor, so ``cov`` must be positive definite;
    only its lower triangle is read). ``x`` holds points on its last axis;
    ``cov`` may be a matrix, a vector (the diagonal) or a scalar, as in SciPy."""

    name = "multivariate_normal"

    def logpdf(self, x: Any, mean: Any = None, cov: Any = 1) -> Any:
        """The log density at the points ``x`` (..., d); a scalar for one point."""
        x, cov = _f(x), _f(cov)
        d = np.shape(strip(mean))[-1] if mean is not None and np.ndim(strip(mean)) else None
        if d is None:
            d = np.shape(strip(cov))[-1] if np.ndim(strip(cov)) else None
        if d is None:
            d = np.shape(strip(x))[-1] if np.ndim(strip(x)) else 1
        if d == 1 and (np.ndim(strip(x)) == 0 or np.shape(strip(x))[-1] != 1):
            x = np.expand_dims(x, -1)  # SciPy: for d = 1, each element is a point
        if np.ndim(strip(cov)) < 2:
            cov = np.eye(d) * (cov if np.ndim(strip(cov)) == 0 else np.expand_dims(cov, -2))
        dx = x if mean is None else x - _f(mean)
        chol = np.linalg.cholesky(cov)
        z = tri_solve_p(chol, np.expand_dims(dx, -1), True, 0, False)  # L^-1 (x - mean)
        maha = np.sum(z * z, axis=(-2, -1))
        logdet = np.sum(np.log(np.diagonal(chol, axis1=-2, axis2=-1)), axis=-1)
        return -0.5 * maha - logdet - 0.5 * d * _LOG_2PI

    def pdf(self, x: Any, mean: Any = None, cov: Any = 1) -> Any:
        """``exp(logpdf)``."""
        return np.exp(self.logpdf(x, mean, cov))

    def __repr__(self) -> str:
        return "<chainrule.scipy.stats.multivariate_normal>"


norm = _export("norm", _NS)(_Norm())
t = _export("t", _NS)(_T())
gamma = _export("gamma", _NS)(_Gamma())
beta = _export("beta", _NS)(_Beta())
poisson = _export("poisson", _NS)(_Poisson())
multivariate_normal = _export("multivariate_normal", _NS)(_MultivariateNormal())

#: The names this module defines itself.
DIFFERENTIABLE = sorted(["norm", "t", "gamma", "beta", "poisson", "multivariate_normal"])
