"""Discrete distributions of ``chainrule.scipy.stats``: ``poisson``, ``binom``,
``nbinom``.

``pmf``/``logpmf`` are SciPy's formulas, differentiable in the continuous
parameters. ``cdf``, ``sf``, ``logcdf``, ``logsf`` are primitives valued by
SciPy whose partial derivatives have closed forms: for ``F(k) = P(K <= k)``,
``dF/dmu = -pmf(k; mu)`` (Poisson), ``dF/dp = -n pmf(k; n - 1, p)`` (binomial),
``dF/dp = p**(n-1) (1-p)**k / B(n, k + 1)`` (negative binomial; its ``dF/dn``
is the partial of ``betainc(n, k + 1, p)``).

The counts ``k`` (and the binomial ``n``) are integers: a traced one raises.
``ppf`` is piecewise constant in ``q`` and the parameters (its values are
integers), so it is declared non-differentiable: it returns SciPy's value as
a constant, with derivative 0 everywhere (it has none at the jumps).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.stats as _ss

from ..core.trace import strip
from . import _special_rules as _r
from ._stats_util import broadcast, elementwise_primitive, fl, nan_where, parse, partial
from ._stats_util import refuse_traced as _refuse


class Discrete:
    """A discrete distribution with SciPy's methods ``pmf logpmf cdf logcdf sf
    logsf ppf``, each taking ``(k, *shapes, loc=0)``."""

    name = ""
    shapes: tuple[str, ...] = ()
    integer_shapes: tuple[str, ...] = ()

    def _logpmf(self, k: Any, *s: Any) -> Any:
        raise NotImplementedError

    def _upper(self, *sv: Any) -> Any:
        """The largest count of the support."""
        return np.inf

    def _argcheck(self, *sv: Any) -> Any:
        raise NotImplementedError

    def _dcdf(self, k: Any, *s: Any) -> list[Any]:
        """``dF/dtheta`` for each shape, at integer ``0 <= k < upper``."""
        raise NotImplementedError

    def __init__(self) -> None:
        sd = getattr(_ss, self.name)
        n = len(self.shapes)

        def part(i: int, sign: float, log: bool) -> Any:
            def d(ans: Any, k: Any, *s: Any) -> Any:
                value = sign * self._dcdf_masked(k, *s)[i]
                return value * np.exp(-ans) if log else value

            return d

        def prim(method: str, sign: float, log: bool) -> Any:
            parts = [part(i, sign, log) for i in range(n)]
            for name in self.integer_shapes:
                parts[self.shapes.index(name)] = None
            return elementwise_primitive(
                f"{self.name}.{method}", getattr(sd, method), [None, *parts]
            )

        self._cdf_p = prim("cdf", 1.0, False)
        self._sf_p = prim("sf", -1.0, False)
        self._logcdf_p = prim("logcdf", 1.0, True)
        self._logsf_p = prim("logsf", -1.0, True)

    def _dcdf_masked(self, k: Any, *s: Any) -> list[Any]:
        """The partials of the CDF at ``floor(k)``: 0 where it is constant (``k < 0``
        or past the support)."""
        fk = np.floor(k)
        sv = [strip(v) for v in s]
        inside = (fk >= 0) & (fk < self._upper(*sv)) & self._argcheck(*sv)
        if np.all(inside):
            return self._dcdf(fk, *s)
        parts = self._dcdf(np.where(inside, fk, 0.0), *s)
        return [np.where(inside, d, 0.0) for d in parts]

    def _counts(self, what: str, k: Any, args: tuple, kwargs: dict) -> tuple[Any, list[Any]]:
        p = parse(self.name, self.shapes, args, kwargs, loc_scale=("loc",))
        loc = p.get("loc", 0)
        _refuse(f"{self.name}.{what}", "the count k is an integer", k, loc)
        for name in self.integer_shapes:
            _refuse(f"{self.name}.{what}", f"the number {name} is an integer", p[name])
        k = np.asarray(k, dtype=float) - np.asarray(loc, dtype=float)
        k, *s = broadcast(k, *[fl(p[n]) for n in self.shapes])
        return k, s

    def logpmf(self, k: Any, *args: Any, **kwargs: Any) -> Any:
        """The log probability of the counts ``k``: ``-inf`` off the support
        (negative, non-integer, or past ``n``), NaN for invalid parameters."""
        k, s = self._counts("logpmf", k, args, kwargs)
        sv = [strip(v) for v in s]
        ok = self._argcheck(*sv)
        inside = (k >= 0) & (k <= self._upper(*sv)) & (k == np.floor(k)) & ok
        if np.all(inside):
            return self._logpmf(k, *s)
        out = np.where(inside, self._logpmf(np.where(inside, k, 0.0), *s), -np.inf)
        return nan_where(~ok | np.isnan(k), out)

    def pmf(self, k: Any, *args: Any, **kwargs: Any) -> Any:
        """The probability of the counts ``k``: ``exp(logpmf)``."""
        return np.exp(self.logpmf(k, *args, **kwargs))

    def _probability(self, prim: Any, what: str, k: Any, args: tuple, kwargs: dict) -> Any:
        k, s = self._counts(what, k, args, kwargs)
        return prim(k, *s)

    def cdf(self, k: Any, *args: Any, **kwargs: Any) -> Any:
        """``P(K <= k)``, SciPy's value."""
        return self._probability(self._cdf_p, "cdf", k, args, kwargs)

    def logcdf(self, k: Any, *args: Any, **kwargs: Any) -> Any:
        """``log P(K <= k)``, SciPy's value."""
        return self._probability(self._logcdf_p, "logcdf", k, args, kwargs)

    def sf(self, k: Any, *args: Any, **kwargs: Any) -> Any:
        """``P(K > k)``, SciPy's value."""
        return self._probability(self._sf_p, "sf", k, args, kwargs)

    def logsf(self, k: Any, *args: Any, **kwargs: Any) -> Any:
        """``log P(K > k)``, SciPy's value."""
        return self._probability(self._logsf_p, "logsf", k, args, kwargs)

    def ppf(self, q: Any, *args: Any, **kwargs: Any) -> Any:
        """The smallest count ``k`` with ``cdf(k) >= q``: SciPy's value, as a
        constant (piecewise constant in ``q`` and the parameters: derivative 0)."""
        return getattr(_ss, self.name).ppf(
            strip(q), *[strip(a) for a in args], **{n: strip(v) for n, v in kwargs.items()}
        )

    def entropy(self, *args: Any, **kwargs: Any) -> Any:
        """``-sum_k pmf(k) log pmf(k)``, summed over the support (for an infinite
        support, to twice the count whose upper tail is 1e-16)."""
        p = parse(self.name, self.shapes, args, kwargs, loc_scale=("loc",))
        for name in self.integer_shapes:
            _refuse(f"{self.name}.entropy", f"the number {name} is an integer", p[name])
        s = broadcast(*[fl(p[n]) for n in self.shapes])
        sv = [np.asarray(strip(v)) for v in s]
        ok = np.asarray(self._argcheck(*sv))
        last = self._last_count([np.where(ok, v, 1.0) for v in sv])
        k = np.arange(float(np.max(last, initial=0)) + 1.0)
        lp = self.logpmf(k, *[np.where(ok, v, 1.0)[..., None] for v in s])
        finite = np.isfinite(strip(lp))
        lp = np.where(finite, lp, 0.0)
        return nan_where(~ok, -np.sum(np.where(finite, np.exp(lp) * lp, 0.0), axis=-1))

    def _last_count(self, sv: list[Any]) -> Any:
        """A count past which the probabilities are negligible (SciPy's isf is
        NaN below about 1e-16 for some parameters: go twice as far instead)."""
        return 2.0 * getattr(_ss, self.name).isf(1e-16, *sv) + 20.0

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        """The distribution with its parameters fixed: ``poisson(2.5).logpmf(k)``."""
        from ._stats_continuous import Frozen

        parse(self.name, self.shapes, args, kwargs, loc_scale=("loc",))
        return Frozen(self, args, kwargs)

    def __repr__(self) -> str:
        return f"<chainrule.scipy.stats.{self.name}>"


class Poisson(Discrete):
    """The Poisson distribution, ``poisson.logpmf(k, mu, loc=0)``..., differentiable in ``mu``."""

    name, shapes = "poisson", ("mu",)

    def _argcheck(self, mu: Any) -> Any:
        return mu >= 0

    def _logpmf(self, k: Any, mu: Any) -> Any:
        return _r.xlogy_p(k, mu) - _r.gammaln_p(k + 1.0) - mu

    def _dcdf(self, k: Any, mu: Any) -> list[Any]:
        return [-np.exp(self._logpmf(k, mu))]


class Binom(Discrete):
    """The binomial distribution, ``binom.logpmf(k, n, p, loc=0)``...,
    differentiable in ``p`` (``n`` is an integer)."""

    name, shapes, integer_shapes = "binom", ("n", "p"), ("n",)

    def _argcheck(self, n: Any, p: Any) -> Any:
        return (n >= 0) & (n == np.floor(n)) & (p >= 0) & (p <= 1)

    def _upper(self, n: Any, p: Any) -> Any:
        return n

    def _last_count(self, sv: list[Any]) -> Any:
        return sv[0]

    def _logpmf(self, k: Any, n: Any, p: Any) -> Any:
        comb = _r.gammaln_p(n + 1.0) - (_r.gammaln_p(k + 1.0) + _r.gammaln_p(n - k + 1.0))
        return comb + _r.xlogy_p(k, p) + _r.xlog1py_p(n - k, -p)

    def _dcdf(self, k: Any, n: Any, p: Any) -> list[Any]:
        return [np.zeros(np.shape(k)), -n * np.exp(self._logpmf(k, n - 1.0, p))]


class Nbinom(Discrete):
    """The negative binomial distribution, ``nbinom.logpmf(k, n, p, loc=0)``...,
    differentiable in ``p`` and in the (real, positive) ``n``."""

    name, shapes = "nbinom", ("n", "p")

    def _argcheck(self, n: Any, p: Any) -> Any:
        return (n > 0) & (p > 0) & (p <= 1)

    def _logpmf(self, k: Any, n: Any, p: Any) -> Any:
        coeff = _r.gammaln_p(n + k) - _r.gammaln_p(k + 1.0) - _r.gammaln_p(n)
        return coeff + n * np.log(p) + _r.xlog1py_p(k, -p)

    def _dcdf(self, k: Any, n: Any, p: Any) -> list[Any]:
        from . import special

        dn = partial(special.betainc, 0, broadcast(n, k + 1.0, p))
        dp = np.exp(_r.xlogy_p(n - 1.0, p) + _r.xlog1py_p(k, -p) - _r.betaln_p(n, k + 1.0))
        return [dn, dp]


FAMILIES = [Poisson, Binom, Nbinom]
