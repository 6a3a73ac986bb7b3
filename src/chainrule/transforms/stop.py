"""``stop_gradient``: a value with zero derivative."""

from __future__ import annotations

from typing import Any

from .. import tree
from ..core.trace import strip


def stop_gradient(x: Any) -> Any:
    """Return ``x`` (any pytree) with no derivative at any level of nesting.

    >>> import chainrule as cr
    >>> cr.grad(lambda x: x * cr.stop_gradient(x))(3.0)
    np.float64(3.0)
    """
    return tree.map(strip, x)
