"""``chainrule.numpy.polynomial``: the differentiable ``numpy.polynomial.polynomial``.

Only the power-series module has rules; import it as
``import chainrule.numpy.polynomial.polynomial as P``.
"""

from __future__ import annotations

from . import polynomial

__all__ = ["polynomial"]
