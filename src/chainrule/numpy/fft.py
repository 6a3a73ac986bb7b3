"""``chainrule.numpy.fft``: ``numpy.fft`` with derivative rules attached.

Built from the rule table like ``chainrule.numpy``; names without a rule
(``fftfreq``, ``rfftfreq``) fall through to ``numpy.fft``.
"""

from __future__ import annotations

from typing import Any

import numpy as _np

from .. import rules as _rules  # noqa: F401
from ..core.registry import mirror as _mirror

globals().update(_mirror(_np.fft, "numpy.fft"))

#: The names this module defines itself (as opposed to falling through to NumPy).
DIFFERENTIABLE = sorted(_mirror(_np.fft, "numpy.fft"))


def __getattr__(name: str) -> Any:
    try:
        return getattr(_np.fft, name)
    except AttributeError:
        raise AttributeError(f"module 'chainrule.numpy.fft' has no attribute {name!r}") from None
