"""``chainrule.numpy.linalg``: ``numpy.linalg`` with derivative rules attached.

Built from the rule table like ``chainrule.numpy``; names without a rule fall
through to ``numpy.linalg``.
"""

from __future__ import annotations

import numpy as _np

from ..core.registry import populate as _populate

_populate(globals(), _np.linalg, "numpy.linalg")
