"""The rule table: importing this package registers every primitive."""

from . import (  # noqa: F401
    arrange,
    bessel,
    calculus,
    constructors,
    covariance,
    creation,
    editing,
    elementwise,
    fft,
    linalg,
    nondiff,
    norms,
    polynomials,
    products,
    reductions,
    shape,
    signal,
    stable,
    statistics,
    unique,
)
