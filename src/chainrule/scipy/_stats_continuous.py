"""Continuous distributions of ``chainrule.scipy.stats``.

Each family gives its log density of the standardized ``z = (x - loc) / scale``
as a differentiable formula (SciPy's own), and, when it has shape parameters,
a differentiable expression of its CDF (``gammainc(a, z)``) for the CDF's
partial derivatives in them. The base class turns these into SciPy's methods:
``logpdf``/``pdf`` from the formula; ``cdf``, ``logcdf``, ``sf``, ``logsf`` and
``ppf`` as primitives valued by SciPy (``_stats_util``) whose derivatives are
the density (in ``z``), the CDF's partials (in the shapes) and the
inverse-function rule (``ppf``); ``entropy`` from its closed form.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import scipy.stats as _ss

from ..core.trace import strip
from ..rules import stable as _stable
from . import _special_rules as _r
from ._stats_util import (
    broadcast,
    elementwise_primitive,
    fl,
    nan_where,
    on_support,
    parse,
    partial,
)

_LOG_SQRT_2PI = 0.5 * math.log(2.0 * math.pi)
_LOG_PI = math.log(math.pi)
_INF = math.inf


def _special(name: str) -> Any:
    """``chainrule.scipy.special.<name>``, looked up at call time (the module
    registers the rules of the incomplete gamma and beta functions)."""
    from . import special

    return getattr(special, name)


class Continuous:
    """A continuous distribution with SciPy's methods and signatures:
    ``pdf logpdf cdf logcdf sf logsf ppf isf`` take ``(x, *shapes, loc=0, scale=1)``
    and ``entropy`` takes ``(*shapes, loc=0, scale=1)``; calling the family
    (``norm(loc, scale)``) freezes its parameters, as in SciPy."""

    name = ""
    shapes: tuple[str, ...] = ()
    support = (-_INF, _INF)  # of z
    safe = 0.0  # a point inside the support
    pdf_closed = True  # whether the density is evaluated at the ends of the support

    # --- what a family defines (z inside the support, arguments broadcast) ----------------
    def _logpdf(self, z: Any, *s: Any) -> Any:
        raise NotImplementedError

    def _cdf_formula(self, z: Any, *s: Any) -> Any:
        """A differentiable expression of the CDF, for its partials in the shapes."""
        raise NotImplementedError

    def _entropy(self, *s: Any) -> Any:
        raise NotImplementedError

    def _argcheck(self, *s: Any) -> Any:
        return np.all([np.asarray(strip(v)) > 0 for v in s], axis=0) if s else True

    # --- machinery ------------------------------------------------------------------------
    def __init__(self) -> None:
        sd = getattr(_ss, self.name)
        n = len(self.shapes)
        cdf_parts = [self._dcdf(i) for i in range(n)]

        def scaled(d: Any, sign: float, log: bool) -> Any:
            # d/dtheta of sign * F, or of log(sign-side probability) = ans
            if log:
                return lambda ans, z, *s: sign * d(z, *s) * np.exp(-ans)
            return lambda ans, z, *s: sign * d(z, *s)

        def dz(sign: float, log: bool) -> Any:
            if log:
                return lambda ans, z, *s: sign * self._pdf_open(z, *s, minus=ans)
            return lambda ans, z, *s: sign * self._pdf_open(z, *s)

        def prim(method: str, sign: float, log: bool) -> Any:
            return elementwise_primitive(
                f"{self.name}.{method}",
                getattr(sd, method),
                [dz(sign, log)] + [scaled(d, sign, log) for d in cdf_parts],
            )

        self._cdf_p = prim("cdf", 1.0, False)
        self._sf_p = prim("sf", -1.0, False)
        self._logcdf_p = prim("logcdf", 1.0, True)
        self._logsf_p = prim("logsf", -1.0, True)

        def dq(ans: Any, q: Any, *s: Any) -> Any:
            return self._inverse_pdf(ans, q, *s)

        def dshape(d: Any) -> Any:
            return lambda ans, q, *s: -d(ans, *s) * self._inverse_pdf(ans, q, *s)

        self._ppf_p = elementwise_primitive(
            f"{self.name}.ppf", sd.ppf, [dq] + [dshape(d) for d in cdf_parts]
        )
        # isf: sf(x) = q, so dx/dq = -1 / pdf(x); in the shapes as for ppf.
        self._isf_p = elementwise_primitive(
            f"{self.name}.isf",
            sd.isf,
            [lambda ans, q, *s: -dq(ans, q, *s)] + [dshape(d) for d in cdf_parts],
        )

    def _open(self, zv: Any) -> Any:
        lo, hi = self.support
        return (zv > lo) & (zv < hi)

    def _pdf_open(self, z: Any, *s: Any, minus: Any = 0.0) -> Any:
        """``exp(logpdf(z) - minus)`` strictly inside the support, 0 elsewhere."""
        inside = self._open(strip(z))
        if not np.all(inside) and not np.isscalar(minus):
            minus = np.where(inside, minus, 0.0)
        return on_support(
            inside, z, self.safe, lambda zz: np.exp(self._logpdf(zz, *s) - minus), 0.0
        )

    def _inverse_pdf(self, x: Any, q: Any, *s: Any) -> Any:
        """``1 / pdf(x)`` at ``x = ppf(q)`` for ``0 < q < 1``, 0 elsewhere."""
        qv = strip(q)
        inside = (qv > 0) & (qv < 1) & self._open(strip(x))
        return on_support(inside, x, self.safe, lambda xx: np.exp(-self._logpdf(xx, *s)), 0.0)

    def _dcdf(self, i: int) -> Any:
        def d(z: Any, *s: Any) -> Any:
            return on_support(
                self._open(strip(z)),
                z,
                self.safe,
                lambda zz: partial(self._cdf_formula, i + 1, (zz, *s)),
                0.0,
            )

        return d

    def _params(self, args: tuple, kwargs: dict) -> tuple[list[Any], Any, Any]:
        p = parse(self.name, self.shapes, args, kwargs)
        return [fl(p[n]) for n in self.shapes], fl(p.get("loc", 0.0)), fl(p.get("scale", 1.0))

    def _bad(self, zv: Any, s: list[Any], scale: Any) -> Any:
        return np.isnan(zv) | ~(np.asarray(strip(scale)) > 0) | ~np.asarray(self._argcheck(*s))

    def _standard(self, x: Any, args: tuple, kwargs: dict) -> tuple[Any, list[Any], Any, Any]:
        s, loc, scale = self._params(args, kwargs)
        z, *s = broadcast((fl(x) - loc) / scale, *s)
        return z, s, scale, self._bad(strip(z), s, scale)

    # --- SciPy's methods ------------------------------------------------------------------
    def logpdf(self, x: Any, *args: Any, **kwargs: Any) -> Any:
        """The log density at ``x``; ``-inf`` off the support (derivative 0)."""
        z, s, scale, bad = self._standard(x, args, kwargs)
        zv = strip(z)
        lo, hi = self.support
        inside = (zv >= lo) & (zv <= hi) if self.pdf_closed else (zv > lo) & (zv < hi)
        with np.errstate(invalid="ignore", divide="ignore"):  # NaN for bad parameters, as SciPy
            out = on_support(inside, z, self.safe, lambda zz: self._logpdf(zz, *s), -_INF)
            return nan_where(bad, out - np.log(scale))

    def pdf(self, x: Any, *args: Any, **kwargs: Any) -> Any:
        """The density at ``x``: ``exp(logpdf)``."""
        return np.exp(self.logpdf(x, *args, **kwargs))

    def _probability(self, prim: Any, x: Any, args: tuple, kwargs: dict) -> Any:
        z, s, scale, bad = self._standard(x, args, kwargs)
        return nan_where(bad, prim(z, *s))

    def cdf(self, x: Any, *args: Any, **kwargs: Any) -> Any:
        """The cumulative distribution function at ``x``."""
        return self._probability(self._cdf_p, x, args, kwargs)

    def logcdf(self, x: Any, *args: Any, **kwargs: Any) -> Any:
        """``log(cdf)``, SciPy's value (accurate in the lower tail where SciPy's is)."""
        return self._probability(self._logcdf_p, x, args, kwargs)

    def sf(self, x: Any, *args: Any, **kwargs: Any) -> Any:
        """The survival function ``1 - cdf``, accurate in the upper tail."""
        return self._probability(self._sf_p, x, args, kwargs)

    def logsf(self, x: Any, *args: Any, **kwargs: Any) -> Any:
        """``log(sf)``, SciPy's value."""
        return self._probability(self._logsf_p, x, args, kwargs)

    def ppf(self, q: Any, *args: Any, **kwargs: Any) -> Any:
        """The quantile function, inverse of ``cdf``; NaN outside ``[0, 1]``."""
        s, loc, scale = self._params(args, kwargs)
        q, *s = broadcast(fl(q), *s)
        qv = strip(q)
        bad = np.isnan(qv) | (qv < 0) | (qv > 1) | self._bad(qv * 0.0, s, scale)
        return nan_where(bad, self._ppf_p(q, *s) * scale + loc)

    def isf(self, q: Any, *args: Any, **kwargs: Any) -> Any:
        """The inverse survival function, ``ppf(1 - q)`` computed without losing ``q``."""
        s, loc, scale = self._params(args, kwargs)
        q, *s = broadcast(fl(q), *s)
        qv = strip(q)
        bad = np.isnan(qv) | (qv < 0) | (qv > 1) | self._bad(qv * 0.0, s, scale)
        return nan_where(bad, self._isf_p(q, *s) * scale + loc)

    def entropy(self, *args: Any, **kwargs: Any) -> Any:
        """The differential entropy, ``entropy(*shapes) + log(scale)``."""
        s, _, scale = self._params(args, kwargs)
        s = broadcast(*s) if s else s
        bad = self._bad(np.zeros(np.shape(strip(scale))), s, scale)
        with np.errstate(invalid="ignore", divide="ignore"):  # NaN for bad parameters, as SciPy
            return nan_where(bad, self._entropy(*s) + np.log(scale))

    def __call__(self, *args: Any, **kwargs: Any) -> Frozen:
        """The distribution with its parameters fixed: ``norm(0, 2).logpdf(x)``."""
        parse(self.name, self.shapes, args, kwargs)  # fail early on bad arguments
        return Frozen(self, args, kwargs)

    def __repr__(self) -> str:
        return f"<chainrule.scipy.stats.{self.name}>"


class Frozen:
    """A distribution with fixed parameters, SciPy's ``rv_frozen``: the same
    methods without the parameters (``norm(0, 2).cdf(x)``)."""

    def __init__(self, dist: Any, args: tuple, kwargs: dict) -> None:
        self.dist, self.args, self.kwds = dist, args, kwargs

    def __getattr__(self, method: str) -> Any:
        if method.startswith("_"):  # copy/pickle probe dunders before __init__ has run
            raise AttributeError(method)
        fn = getattr(self.dist, method)
        if method == "entropy":
            return lambda: fn(*self.args, **self.kwds)
        return lambda x: fn(x, *self.args, **self.kwds)

    def __repr__(self) -> str:
        return f"<chainrule.scipy.stats.{self.dist.name} frozen at {self.args} {self.kwds}>"


# --- families without shape parameters ----------------------------------------------------
class Norm(Continuous):
    """The normal distribution, ``norm.logpdf(x, loc=0, scale=1)`` and the rest."""

    name = "norm"

    def _logpdf(self, z: Any) -> Any:
        return -0.5 * z * z - _LOG_SQRT_2PI

    def _entropy(self) -> Any:
        return 0.5 * (2.0 * _LOG_SQRT_2PI + 1.0)

    def logcdf(self, x: Any, *args: Any, **kwargs: Any) -> Any:
        """``log_ndtr((x - loc) / scale)``: accurate far into the lower tail."""
        z, _, _, bad = self._standard(x, args, kwargs)
        return nan_where(bad, _r.log_ndtr_p(z))

    def logsf(self, x: Any, *args: Any, **kwargs: Any) -> Any:
        """``log_ndtr(-(x - loc) / scale)``: accurate far into the upper tail."""
        z, _, _, bad = self._standard(x, args, kwargs)
        return nan_where(bad, _r.log_ndtr_p(-z))


class Expon(Continuous):
    """The exponential distribution, ``expon.logpdf(x, loc=0, scale=1)``..."""

    name, support, safe = "expon", (0.0, _INF), 1.0

    def _logpdf(self, z: Any) -> Any:
        return -z

    def _entropy(self) -> Any:
        return 1.0


class Laplace(Continuous):
    """The Laplace distribution, ``laplace.logpdf(x, loc=0, scale=1)``... The
    density has a kink at ``loc``, where its derivative is taken as 0."""

    name = "laplace"

    def _logpdf(self, z: Any) -> Any:
        return -np.abs(z) - math.log(2.0)

    def _entropy(self) -> Any:
        return math.log(2.0) + 1.0


class Logistic(Continuous):
    """The logistic distribution, ``logistic.logpdf(x, loc=0, scale=1)``..."""

    name = "logistic"

    def _logpdf(self, z: Any) -> Any:
        y = -np.abs(z)
        return y - 2.0 * _stable.softplus(y)

    def _entropy(self) -> Any:
        return 2.0


class Cauchy(Continuous):
    """The Cauchy distribution, ``cauchy.logpdf(x, loc=0, scale=1)``..."""

    name = "cauchy"

    def _logpdf(self, z: Any) -> Any:
        big = np.abs(strip(z)) > 1e150  # z * z would overflow
        small = lambda zz: -_LOG_PI - np.log1p(zz * zz)  # noqa: E731
        if not np.any(big):
            return small(z)
        zs = np.where(big, 1.0, z)
        zb = np.abs(np.where(big, z, 1e151))
        return np.where(big, -_LOG_PI - 2.0 * np.log(zb) - np.log1p(1.0 / (zb * zb)), small(zs))

    def _entropy(self) -> Any:
        return math.log(4.0 * math.pi)


class Uniform(Continuous):
    """The uniform distribution on ``[loc, loc + scale]``, ``uniform.pdf(x, loc=0, scale=1)``..."""

    name, support, safe = "uniform", (0.0, 1.0), 0.5

    def _logpdf(self, z: Any) -> Any:
        return z * 0.0

    def _entropy(self) -> Any:
        return 0.0


# --- families with shape parameters -------------------------------------------------------
class Lognorm(Continuous):
    """The log-normal distribution, ``lognorm.logpdf(x, s, loc=0, scale=1)``..."""

    name, shapes, support, safe, pdf_closed = "lognorm", ("s",), (0.0, _INF), 1.0, False

    def _logpdf(self, z: Any, s: Any) -> Any:
        lz = np.log(z)
        return -lz * lz / (2.0 * s * s) - np.log(s) - lz - _LOG_SQRT_2PI

    def _cdf_formula(self, z: Any, s: Any) -> Any:
        return _r.ndtr_p(np.log(z) / s)

    def _entropy(self, s: Any) -> Any:
        return 0.5 * (1.0 + 2.0 * _LOG_SQRT_2PI + 2.0 * np.log(s))


class T(Continuous):
    """Student's t distribution, ``t.logpdf(x, df, loc=0, scale=1)``... (``df = inf``
    is the normal distribution, as in SciPy)."""

    name, shapes = "t", ("df",)

    def _logpdf(self, z: Any, df: Any) -> Any:
        infinite = np.isposinf(strip(df))  # SciPy's df = inf: the normal distribution
        if np.any(infinite):
            finite = self._logpdf(z, np.where(infinite, 1.0, df))
            return np.where(infinite, -0.5 * z * z - _LOG_SQRT_2PI, finite)
        return (
            _r.gammaln_p(0.5 * (df + 1.0))
            - _r.gammaln_p(0.5 * df)
            - 0.5 * (np.log(df) + _LOG_PI)
            - 0.5 * (df + 1.0) * np.log1p(z * z / df)
        )

    def _cdf_formula(self, z: Any, df: Any) -> Any:
        # F(z) = 1 - I_{df/(df+z^2)}(df/2, 1/2) / 2 for z > 0 (by symmetry below 0);
        # F(0) = 1/2 for every df, so its partial there is 0.
        infinite = np.isposinf(strip(df))
        if np.any(infinite):  # the normal CDF, constant in df
            finite = self._cdf_formula(z, np.where(infinite, 1.0, df))
            return np.where(infinite, _r.ndtr_p(z), finite)
        zero = strip(z) == 0

        def tail(zz: Any) -> Any:
            return 0.5 * _special("betainc")(0.5 * df, 0.5, df / (df + zz * zz))

        if np.any(zero):
            zz = np.where(zero, 1.0, z)
            half = tail(zz)
            return np.where(zero, 0.5, np.where(strip(z) > 0, 1.0 - half, half))
        half = tail(z)
        return np.where(strip(z) > 0, 1.0 - half, half)

    def _entropy(self, df: Any) -> Any:
        big = strip(df) >= 100  # SciPy's switch to the asymptotic series (exact at inf)

        def regular(d: Any) -> Any:
            half, half1 = 0.5 * d, 0.5 * (d + 1.0)
            return (
                half1 * (_r.digamma_p(half1) - _r.digamma_p(half))
                + 0.5 * np.log(d)
                + _r.betaln_p(half, 0.5)
            )

        def asymptotic(d: Any) -> Any:
            r = 1.0 / d
            series = r * (1.0 + r * (0.25 + r * (-1 / 6 + r * (-1 / 8 + r * (0.3 + r * 0.25)))))
            return self.norm_entropy + series

        if not np.any(big):
            return regular(df)
        if np.all(big):
            return asymptotic(df)
        return np.where(big, asymptotic(np.where(big, df, 100.0)), regular(np.where(big, 1.0, df)))

    norm_entropy = 0.5 * (2.0 * _LOG_SQRT_2PI + 1.0)


class Gamma(Continuous):
    """The gamma distribution, ``gamma.logpdf(x, a, loc=0, scale=1)``..."""

    name, shapes, support, safe = "gamma", ("a",), (0.0, _INF), 1.0

    def _logpdf(self, z: Any, a: Any) -> Any:
        return _r.xlogy_p(a - 1.0, z) - z - _r.gammaln_p(a)

    def _cdf_formula(self, z: Any, a: Any) -> Any:
        return _special("gammainc")(a, z)

    def _entropy(self, a: Any) -> Any:
        big = strip(a) >= 250  # SciPy's switch to the asymptotic series

        def regular(v: Any) -> Any:
            return _r.digamma_p(v) * (1.0 - v) + v + _r.gammaln_p(v)

        def asymptotic(v: Any) -> Any:
            return (
                0.5 * (1.0 + 2.0 * _LOG_SQRT_2PI + np.log(v))
                - 1.0 / (3.0 * v)
                - v**-2.0 / 12.0
                - v**-3.0 / 90.0
                + v**-4.0 / 120.0
            )

        if not np.any(big):
            return regular(a)
        if np.all(big):
            return asymptotic(a)
        return np.where(big, asymptotic(np.where(big, a, 250.0)), regular(np.where(big, 1.0, a)))


class Chi2(Continuous):
    """The chi-squared distribution, ``chi2.logpdf(x, df, loc=0, scale=1)``..."""

    name, shapes, support, safe = "chi2", ("df",), (0.0, _INF), 1.0

    def _logpdf(self, z: Any, df: Any) -> Any:
        return (
            _r.xlogy_p(0.5 * df - 1.0, z)
            - 0.5 * z
            - _r.gammaln_p(0.5 * df)
            - 0.5 * math.log(2.0) * df
        )

    def _cdf_formula(self, z: Any, df: Any) -> Any:
        return _special("gammainc")(0.5 * df, 0.5 * z)

    def _entropy(self, df: Any) -> Any:
        h = 0.5 * df
        big = strip(h) >= 125  # SciPy's switch to the asymptotic series

        def regular(v: Any) -> Any:
            return v + math.log(2.0) + _r.gammaln_p(v) + (1.0 - v) * _r.digamma_p(v)

        def asymptotic(v: Any) -> Any:
            r = 0.5 / v
            c = math.log(2.0) + 0.5 * (1.0 + 2.0 * _LOG_SQRT_2PI)
            return r * (-2 / 3 + r * (-1 / 3 + r * (-4 / 45 + r / 7.5))) + 0.5 * np.log(v) + c

        if not np.any(big):
            return regular(h)
        if np.all(big):
            return asymptotic(h)
        return np.where(big, asymptotic(np.where(big, h, 125.0)), regular(np.where(big, 1.0, h)))


class Beta(Continuous):
    """The beta distribution, ``beta.logpdf(x, a, b, loc=0, scale=1)``..."""

    name, shapes, support, safe = "beta", ("a", "b"), (0.0, 1.0), 0.5

    def _logpdf(self, z: Any, a: Any, b: Any) -> Any:
        return _r.xlog1py_p(b - 1.0, -z) + _r.xlogy_p(a - 1.0, z) - _r.betaln_p(a, b)

    def _cdf_formula(self, z: Any, a: Any, b: Any) -> Any:
        return _special("betainc")(a, b, z)

    def _entropy(self, a: Any, b: Any) -> Any:
        # SciPy's regular formula (it switches to asymptotic series above a, b ~ 5e6).
        return (
            _r.betaln_p(a, b)
            - (a - 1.0) * _r.digamma_p(a)
            - (b - 1.0) * _r.digamma_p(b)
            + (a + b - 2.0) * _r.digamma_p(a + b)
        )


FAMILIES = [Norm, T, Gamma, Beta, Chi2, Expon, Laplace, Logistic, Lognorm, Cauchy, Uniform]
