"""The rule table: importing this package registers every primitive."""

from . import (  # noqa: F401
    arrange,
    elementwise,
    linalg,
    nondiff,
    norms,
    products,
    reductions,
    shape,
    stable,
    statistics,
)
