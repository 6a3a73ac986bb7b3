"""``chainrule.numpy.fft``: ``numpy.fft`` with derivative rules attached.

Built from the rule table like ``chainrule.numpy``; names without a rule
(``fftfreq``, ``rfftfreq``) fall through to ``numpy.fft``.
"""

from __future__ import annotations

import numpy as _np

from ..core.registry import populate as _populate

_populate(globals(), _np.fft, "numpy.fft")
