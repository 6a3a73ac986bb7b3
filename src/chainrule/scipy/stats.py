"""``chainrule.scipy.stats``: SciPy's distributions, differentiable.

Continuous: ``norm t gamma beta chi2 expon laplace logistic lognorm cauchy
uniform``, each with ``pdf logpdf cdf logcdf sf logsf ppf isf`` taking
``(x, *shapes, loc=0, scale=1)`` and ``entropy(*shapes, loc=0, scale=1)``,
SciPy's signatures and values, differentiable in ``x`` and every parameter
(shapes, ``loc``, ``scale``) in both modes to any order. ``cdf``/``sf`` (and
their logs) are SciPy's values with the density as derivative in ``x`` and
the partials of ``gammainc``/``betainc`` in the shapes; ``ppf`` follows the
inverse-function rule, ``dx/dq = 1 / pdf(x)`` and
``dx/dtheta = -(dF/dtheta)(x) / pdf(x)``. Off the support the log density is
``-inf`` and the CDF 0 or 1, with derivative 0; invalid parameters give NaN.

Discrete: ``poisson binom nbinom`` with ``pmf logpmf cdf logcdf sf logsf``
taking ``(k, *shapes, loc=0)`` and ``entropy(*shapes)``, differentiable in ``mu``, ``p`` and the
negative binomial's ``n``; the counts ``k`` and the binomial ``n`` are
integers (a traced one raises ``NoRuleError``), and ``ppf``, piecewise
constant, returns SciPy's value as a constant.

Multivariate: ``multivariate_normal`` (``logpdf``/``pdf(x, mean, cov,
allow_singular=False)``, ``entropy``), vectorised over the points, and
``dirichlet`` (``logpdf``/``pdf(x, alpha)``, ``entropy``).

Calling a family freezes its parameters, as in SciPy: ``norm(0.0, 2.0).cdf(x)``.
Plain ``scipy.stats`` calls convert their inputs with ``np.asarray`` and so
refuse traced values (the error names the function here to call instead).

>>> import chainrule as cr, chainrule.scipy.stats as cst
>>> float(cr.grad(lambda m: cst.norm.logpdf(1.0, loc=m))(0.0))
1.0
>>> round(float(cr.grad(lambda q: cst.norm.ppf(q))(0.5)), 6)  # 1 / pdf(0) = sqrt(2 pi)
2.506628
"""

from __future__ import annotations

from ..core.registry import export as _export
from . import _stats_continuous as _c
from . import _stats_discrete as _d
from . import _stats_multivariate as _m

_NS = "scipy.stats"

norm = _export("norm", _NS)(_c.Norm())
t = _export("t", _NS)(_c.T())
gamma = _export("gamma", _NS)(_c.Gamma())
beta = _export("beta", _NS)(_c.Beta())
chi2 = _export("chi2", _NS)(_c.Chi2())
expon = _export("expon", _NS)(_c.Expon())
laplace = _export("laplace", _NS)(_c.Laplace())
logistic = _export("logistic", _NS)(_c.Logistic())
lognorm = _export("lognorm", _NS)(_c.Lognorm())
cauchy = _export("cauchy", _NS)(_c.Cauchy())
uniform = _export("uniform", _NS)(_c.Uniform())
poisson = _export("poisson", _NS)(_d.Poisson())
binom = _export("binom", _NS)(_d.Binom())
nbinom = _export("nbinom", _NS)(_d.Nbinom())
multivariate_normal = _export("multivariate_normal", _NS)(_m.MultivariateNormal())
dirichlet = _export("dirichlet", _NS)(_m.Dirichlet())

#: The names this module defines itself.
DIFFERENTIABLE = sorted(
    ["norm", "t", "gamma", "beta", "chi2", "expon", "laplace", "logistic", "lognorm"]
    + ["cauchy", "uniform", "poisson", "binom", "nbinom", "multivariate_normal", "dirichlet"]
)

__all__ = DIFFERENTIABLE
