"""The lecture's least-squares model, written the way a user would write it.

``cr.graph`` names the values of a graph after the variables that held them
in the user's code, so the local names below (``residual``,
``sum_of_squares``) are what the demo's listing shows.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable

import numpy as np

# The local names below are the user's: cr.graph is to show them. (Imported by
# name: ``chainrule.graph`` is also the function cr.graph, and a static import
# of the module would hide the function from type checkers.)
importlib.import_module("chainrule.graph").register_user_module(__name__)


def make_risk(X: np.ndarray, Y: np.ndarray) -> Callable:
    """The empirical risk R(theta) = (1/N) |X theta - Y|^2 on the data (X, Y).

    >>> risk = make_risk(np.eye(2), np.ones(2))
    >>> float(risk(np.zeros(2)))
    1.0
    """
    N = len(Y)

    def risk(theta):
        residual = X @ theta - Y
        sum_of_squares = residual @ residual
        return sum_of_squares / N

    return risk


def make_stages(X: np.ndarray, Y: np.ndarray) -> list[tuple[str, Callable]]:
    """The same risk as three functions chained, theta -> residual ->
    sum_of_squares -> risk, so each stage's VJP can be shown on its own."""
    N = len(Y)
    return [
        ("residual", lambda theta: X @ theta - Y),
        ("sum_of_squares", lambda residual: residual @ residual),
        ("risk", lambda sum_of_squares: sum_of_squares / N),
    ]
