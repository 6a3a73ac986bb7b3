"""Which ``chainrule.scipy`` function to use when a SciPy function meets a traced value.

SciPy's Python-level functions (``scipy.stats.norm.logpdf``,
``scipy.linalg.solve_triangular``, ``scipy.special.logsumexp``...) convert their
inputs with ``np.asarray``, which a traced value refuses with a
``ConversionError``. ``hint_for_current_call`` looks at the call stack at that
moment and names our replacement, so the error can say what to do.
"""

from __future__ import annotations

import sys
from types import FrameType

from ..core.registry import EXTRAS

_PACKAGES = (
    "scipy.special",
    "scipy.stats",
    "scipy.linalg",
    "scipy.signal",
    "scipy.ndimage",
    "scipy.integrate",
)


# SciPy's solvers with a differentiable counterpart in cr.optim (implicit derivatives).
_OPTIMIZE = {
    name: f"cr.optim.{name}"
    for name in ("minimize", "root", "least_squares", "fixed_point", "curve_fit")
}


def _package(module: str) -> str | None:
    for p in _PACKAGES:
        if module == p or module.startswith(p + "."):
            return p
    return None


def _replacement(frame: FrameType) -> tuple[str, str] | None:
    """``(scipy name, chainrule name)`` for a frame running a SciPy function we cover."""
    module, func = frame.f_globals.get("__name__", ""), frame.f_code.co_name
    wrapped = frame.f_locals.get("f") if func == "wrapper" else None
    if callable(wrapped):  # SciPy's batching decorator converts before calling the function
        module = getattr(wrapped, "__module__", None) or module
        func = getattr(wrapped, "__name__", func)
    if module == "scipy.optimize" or module.startswith("scipy.optimize."):
        ours_optim = _OPTIMIZE.get(func)
        return (f"scipy.optimize.{func}", ours_optim) if ours_optim else None
    package = _package(module)
    if package is None:
        return None
    if package not in EXTRAS:  # chainrule.scipy imports these on first use
        import importlib

        importlib.import_module(f"chainrule.{package}")
    ours = EXTRAS.get(package, {})
    if package != "scipy.stats":
        return (f"{package}.{func}", f"chainrule.{package}.{func}") if func in ours else None
    owner = frame.f_locals.get("self")
    dist = getattr(owner, "dist", owner)  # a frozen distribution holds its family
    name = getattr(dist, "name", None) or type(dist).__name__.removesuffix("_gen")
    if name not in ours:
        return None
    if hasattr(ours[name], func):
        return f"scipy.stats.{name}.{func}", f"chainrule.scipy.stats.{name}.{func}"
    return f"scipy.stats.{name}", f"chainrule.scipy.stats.{name}"


def hint_for_current_call(frame: FrameType | None = None) -> str | None:
    """A sentence naming the ``chainrule.scipy`` function to call instead of the
    SciPy function now running (found on the call stack from ``frame``, by
    default the caller's), or None when no covered SciPy function is running.

    Meant for the message of the error raised when a traced value is converted
    with ``np.asarray``: the outermost SciPy function on the stack is the one
    the user called.
    """
    f: FrameType | None = frame if frame is not None else sys._getframe(1)
    found = None
    in_scipy = False
    while f is not None:
        is_scipy = f.f_globals.get("__name__", "").startswith("scipy.")
        if in_scipy and not is_scipy:
            break  # left the block of SciPy frames the user's call opened
        if is_scipy:
            in_scipy = True
            found = _replacement(f) or found
        f = f.f_back
    if found is None:
        return None
    theirs, ours = found
    if ours.startswith("cr.optim."):
        return (
            f"{theirs} converts its inputs with np.asarray and cannot be differentiated; "
            f"call {ours} instead (SciPy's signature; differentiable in traced args by "
            "the implicit function theorem)."
        )
    return (
        f"{theirs} converts its inputs with np.asarray and cannot be differentiated; "
        f"call {ours} (same signature; import chainrule.scipy) instead."
    )
