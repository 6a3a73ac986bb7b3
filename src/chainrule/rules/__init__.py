"""The rule table: importing this package registers every primitive."""

from . import (  # noqa: F401
    arrange,
    constructors,
    elementwise,
    fft,
    linalg,
    nondiff,
    norms,
    products,
    reductions,
    shape,
    stable,
    statistics,
)
