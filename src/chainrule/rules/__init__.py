"""The rule table: importing this package registers every primitive."""

from . import elementwise, nondiff, products, reductions, shape  # noqa: F401
