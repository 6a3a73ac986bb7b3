"""``chainrule.scipy.special``: ``scipy.special`` with derivative rules attached.

Use it like ``scipy.special``. After ``import chainrule.scipy`` plain
``scipy.special`` ufunc calls (``scipy.special.erf(x)``) on traced values reach
the same rules; ``logsumexp``, ``softmax``, ``log_softmax`` and ``polygamma``
are Python functions in SciPy (they convert their input with ``np.asarray``),
so call them from here. Names without a rule fall through to ``scipy.special``.

>>> import chainrule as cr, chainrule.scipy.special as csp
>>> float(cr.grad(csp.gammaln)(3.0))  # digamma(3)
0.9227...
"""

from __future__ import annotations

from typing import Any

import scipy.special as _sc

from ..core.registry import export as _export
from ..core.registry import mirror as _mirror
from ..core.trace import is_traced as _is_traced
from ..errors import no_rule_error as _no_rule_error
from ..rules import stable as _stable
from . import _special_bessel as _bessel
from . import _special_cdf as _cdf
from . import _special_incomplete as _incomplete
from . import _special_more as _more
from . import _special_rules as _r

_NS = "scipy.special"


@_export("gammaln", _NS)
def gammaln(x: Any) -> Any:
    """``log|Gamma(x)|``; its derivative is ``digamma(x)``."""
    return _r.gammaln_p(_r.as_float(x))


@_export("gamma", _NS)
def gamma(x: Any) -> Any:
    """The gamma function; its derivative is ``gamma(x) digamma(x)``."""
    return _r.gamma_p(_r.as_float(x))


@_export("digamma", _NS)
@_export("psi", _NS)
def digamma(x: Any) -> Any:
    """The digamma function ``d/dx log Gamma(x)``; its derivative is ``polygamma(1, x)``."""
    return _r.digamma_p(_r.as_float(x))


@_export("polygamma", _NS)
def polygamma(n: Any, x: Any) -> Any:
    """The ``n``-th derivative of ``digamma``; differentiable in ``x`` (its
    derivative is ``polygamma(n + 1, x)``), not in the integer order ``n``."""
    if _is_traced(n):
        raise _no_rule_error("scipy.special.polygamma", "its integer order n is not differentiable")
    return _r.polygamma_p(_r.as_float(n), _r.as_float(x))


@_export("betaln", _NS)
def betaln(a: Any, b: Any) -> Any:
    """``log|B(a, b)|``; its partial derivatives are ``digamma(a) - digamma(a + b)``
    and ``digamma(b) - digamma(a + b)``."""
    return _r.betaln_p(_r.as_float(a), _r.as_float(b))


@_export("erf", _NS)
def erf(x: Any) -> Any:
    """The error function; its derivative is ``2/sqrt(pi) exp(-x**2)``."""
    return _r.erf_p(_r.as_float(x))


@_export("erfc", _NS)
def erfc(x: Any) -> Any:
    """``1 - erf(x)``, accurate for large ``x``."""
    return _r.erfc_p(_r.as_float(x))


@_export("erfinv", _NS)
def erfinv(y: Any) -> Any:
    """The inverse of ``erf``; its derivative ``sqrt(pi)/2 exp(erfinv(y)**2)`` is
    ``inf`` at ``y = +-1``."""
    return _r.erfinv_p(_r.as_float(y))


@_export("erfcx", _NS)
def erfcx(x: Any) -> Any:
    """``exp(x**2) erfc(x)``; its derivative is ``2 x erfcx(x) - 2/sqrt(pi)``."""
    return _r.erfcx_p(_r.as_float(x))


@_export("expit", _NS)
def expit(x: Any) -> Any:
    """The logistic function ``1 / (1 + exp(-x))``, without overflow (chainrule's
    ``sigmoid``)."""
    return _stable.sigmoid(x)


@_export("logit", _NS)
def logit(x: Any) -> Any:
    """``log(x / (1 - x))``; its derivative ``1 / (x (1 - x))`` is ``inf`` at 0 and 1."""
    return _r.logit_p(_r.as_float(x))


@_export("xlogy", _NS)
def xlogy(x: Any, y: Any) -> Any:
    """``x log(y)``, 0 where ``x == 0`` (see ``chainrule.numpy.xlogy``)."""
    return _stable.xlogy(x, y)


@_export("xlog1py", _NS)
def xlog1py(x: Any, y: Any) -> Any:
    """``x log1p(y)``, 0 where ``x == 0`` (unless ``y`` is NaN). The derivative in
    ``y`` is ``x / (1 + y)``, also 0 where ``x == 0``; in ``x`` it is ``log1p(y)``."""
    return _r.xlog1py_p(_r.as_float(x), _r.as_float(y))


@_export("logsumexp", _NS)
def logsumexp(
    a: Any, axis: Any = None, b: Any = None, keepdims: bool = False, return_sign: bool = False
) -> Any:
    """``log(sum(b * exp(a), axis))`` without overflow; SciPy's signature (see
    ``chainrule.numpy.logsumexp``)."""
    return _stable.logsumexp(a, axis=axis, b=b, keepdims=keepdims, return_sign=return_sign)


@_export("softmax", _NS)
def softmax(x: Any, axis: Any = None) -> Any:
    """``exp(x) / sum(exp(x), axis)`` without overflow. As in SciPy, the default
    ``axis=None`` normalises over all elements (``chainrule.numpy.softmax``
    defaults to the last axis)."""
    return _stable.softmax(x, axis=axis)


@_export("log_softmax", _NS)
def log_softmax(x: Any, axis: Any = None) -> Any:
    """``x - logsumexp(x, axis, keepdims=True)`` without overflow; ``axis=None``
    (all elements) by default, as in SciPy."""
    return _stable.log_softmax(x, axis=axis)


@_export("ndtr", _NS)
def ndtr(x: Any) -> Any:
    """The standard normal CDF; its derivative is the normal density."""
    return _r.ndtr_p(_r.as_float(x))


@_export("log_ndtr", _NS)
def log_ndtr(x: Any) -> Any:
    """``log(ndtr(x))``, accurate in both tails, as is its derivative
    ``exp(log_pdf(x) - log_ndtr(x))`` (about ``-x`` for very negative ``x``)."""
    return _r.log_ndtr_p(_r.as_float(x))


@_export("ndtri", _NS)
def ndtri(y: Any) -> Any:
    """The inverse of ``ndtr``; its derivative ``1 / pdf(ndtri(y))`` is ``inf``
    at 0 and 1."""
    return _r.ndtri_p(_r.as_float(y))


@_export("i0e", _NS)
def i0e(x: Any) -> Any:
    """``exp(-|x|) I0(x)``; derivative ``i1e(x) - sign(x) i0e(x)``. It has a kink
    at 0, where the derivative is taken as 0 (the mean of the one-sided slopes)."""
    return _r.i0e_p(_r.as_float(x))


@_export("i1e", _NS)
def i1e(x: Any) -> Any:
    """``exp(-|x|) I1(x)``; derivative ``i0e(x) - i1e(x) (sign(x) + 1/x)``, 1/2 at 0."""
    return _r.i1e_p(_r.as_float(x))


_r.register()
_incomplete.register()
_bessel.register()
_more.register()
_cdf.register()
globals().update(_mirror(_sc, _NS))

#: The names this module defines itself (as opposed to falling through to SciPy).
DIFFERENTIABLE = sorted(_mirror(_sc, _NS))


def __getattr__(name: str) -> Any:
    try:
        return getattr(_sc, name)
    except AttributeError:
        msg = f"module 'chainrule.scipy.special' has no attribute {name!r}"
        raise AttributeError(msg) from None
