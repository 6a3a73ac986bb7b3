"""``chainrule.scipy``: differentiable parts of SciPy (an optional extra:
``pip install "chainrule[scipy]"``).

* ``chainrule.scipy.special``: ``gammaln``, ``gamma``, ``digamma``,
  ``polygamma``, ``betaln``, ``erf``, ``erfc``, ``erfinv``, ``erfcx``,
  ``expit``, ``logit``, ``xlogy``, ``xlog1py``, ``logsumexp``, ``softmax``,
  ``log_softmax``, ``ndtr``, ``log_ndtr``, ``ndtri``, ``i0e``, ``i1e``.
* ``chainrule.scipy.stats``: ``pdf logpdf cdf logcdf sf logsf ppf entropy``
  of ``norm t gamma beta chi2 expon laplace logistic lognorm cauchy uniform``
  in every parameter; ``pmf logpmf cdf logcdf sf logsf entropy`` of
  ``poisson binom nbinom``; ``multivariate_normal`` (``allow_singular``) and
  ``dirichlet``.
* ``chainrule.scipy.linalg``: ``solve_triangular``, ``cho_factor``,
  ``cho_solve``, ``expm``, ``expm_frechet``, ``sqrtm``, ``logm``,
  ``solve_sylvester``, ``solve_banded``, ``lu_factor``/``lu_solve``, ``eigh``, ``eig``.
* ``chainrule.scipy.signal``: ``convolve``, ``correlate``, ``fftconvolve``, ``lfilter``.
* ``chainrule.scipy.ndimage``: ``correlate``, ``convolve``, ``gaussian_filter``.
* ``chainrule.scipy.integrate``: ``trapezoid``, ``simpson``.

Importing this package also lets plain ``scipy.special`` ufunc calls on traced
values (``scipy.special.erf(x)``) reach the rules: it registers them under
SciPy's ufunc objects. The first such call on a traced value imports it by
itself, so this costs only ``scipy.special``: ``stats``, ``linalg``, ``signal``,
``ndimage`` and ``integrate`` (and the SciPy packages behind them, several
times ``scipy.special``'s import) load when first asked for. SciPy's Python
functions (``scipy.special.logsumexp``, ``scipy.stats.*``, ``scipy.linalg.*``)
convert their inputs with ``np.asarray`` and refuse traced values; call the
functions here instead (``hint_for_current_call`` names the right one for an
error message).
"""

from __future__ import annotations

try:
    import scipy.special  # noqa: F401
except ImportError as _err:  # pragma: no cover - exercised in a subprocess test
    from ..errors import install_hint

    raise ImportError(
        "chainrule.scipy needs SciPy, which is not installed; install it with: "
        + install_hint("scipy", "scipy")
    ) from _err

from typing import TYPE_CHECKING

from . import special
from ._hints import hint_for_current_call

if TYPE_CHECKING:  # loaded by __getattr__ below; type checkers see them as imported
    from . import integrate, linalg, ndimage, signal, stats

__all__ = ["special", "stats", "linalg", "signal", "ndimage", "integrate", "hint_for_current_call"]

# Imported when first asked for (``chainrule.scipy.stats``): each imports its
# SciPy package, and scipy.stats alone costs several times scipy.special, which
# is all a plain ``scipy.special.erf(traced)`` needs (it imports this package).
_ON_FIRST_USE = ("stats", "linalg", "signal", "ndimage", "integrate")


def __getattr__(name: str) -> object:
    if name in _ON_FIRST_USE:
        import importlib

        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
