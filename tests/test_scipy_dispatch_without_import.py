"""Plain ``scipy.special`` calls are differentiable without importing
``chainrule.scipy`` first (a bug found once).
"""

from __future__ import annotations

import pytest


def test_plain_scipy_special_works_without_importing_chainrule_scipy():
    import subprocess
    import sys

    pytest.importorskip("scipy")
    code = (
        "import numpy as np, scipy.special, chainrule as cr\n"
        "g = cr.grad(lambda x: scipy.special.erf(x))(1.0)\n"
        "assert abs(g - 2 / np.sqrt(np.pi) * np.exp(-1.0)) < 1e-12, g\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
