"""SciPy, imported only when a SciPy-backed function is called.

>>> scipy_optimize().__name__
'scipy.optimize'
"""

from __future__ import annotations

from types import ModuleType


def scipy_optimize() -> ModuleType:
    """``scipy.optimize``, or an ``ImportError`` telling how to install SciPy."""
    try:
        import scipy.optimize
    except ImportError as err:
        from ..errors import install_hint

        raise ImportError(
            "chainrule.optim.minimize needs SciPy, which is not installed; install it with: "
            + install_hint("scipy", "scipy")
        ) from err
    return scipy.optimize
