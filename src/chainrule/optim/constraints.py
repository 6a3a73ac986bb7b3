"""Bounds and constraints for :func:`~chainrule.optim.minimize`, in SciPy's flat form.

Users write bounds and constraint functions against the structure of ``x0``;
SciPy sees one flat vector. Constraint Jacobians come from ``jacrev`` and
constraint Hessians (for ``trust-constr``) from Hessian-vector products.

>>> import numpy as np
>>> view = FlatView({"a": np.zeros(2), "b": 0.0})
>>> b = to_bounds({"a": (0.0, None), "b": (-1.0, 1.0)}, view)
>>> b.lb, b.ub
(array([ 0.,  0., -1.]), array([inf, inf,  1.]))
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from .. import tree
from ..transforms import hvp, jacrev
from ._scipy import scipy_optimize
from .ravel import FlatView, ravel_output


def _is_leaf(x: Any) -> bool:
    leaves, treedef = tree.flatten(x)
    return treedef.num_leaves == 1 and len(leaves) == 1 and leaves[0] is x


def _bound_value(value: Any, default: float, shape: tuple[int, ...], where: str) -> np.ndarray:
    value = default if value is None else value
    try:
        return np.broadcast_to(np.asarray(value, dtype=np.float64), shape)
    except ValueError:
        raise ValueError(
            f"bounds: {where} has shape {np.shape(value)}, which does not fit x0's {shape}"
        ) from None


def _split_pairs(x: Any, b: Any, where: str) -> tuple[Any, Any]:
    """Two trees shaped like ``x``: the lower and upper bounds read from ``b``, a tree
    with ``x``'s structure and a ``(lower, upper)`` pair at each leaf of ``x``."""
    if _is_leaf(x):
        if not (isinstance(b, (tuple, list)) and len(b) == 2):
            raise ValueError(f"bounds: expected a (lower, upper) pair at {where}, got {b!r}")
        shape = np.shape(x)
        lo = _bound_value(b[0], -np.inf, shape, f"the lower bound at {where}")
        hi = _bound_value(b[1], np.inf, shape, f"the upper bound at {where}")
        return lo, hi
    if x is None:
        return None, None
    if isinstance(x, dict):
        if not isinstance(b, dict) or set(b) != set(x):
            raise ValueError(f"bounds: expected a dict with keys {sorted(x)} at {where}")
        pairs = {k: _split_pairs(x[k], b[k], f"{where}[{k!r}]") for k in x}
        return {k: p[0] for k, p in pairs.items()}, {k: p[1] for k, p in pairs.items()}
    if isinstance(x, (tuple, list)):
        if not isinstance(b, (tuple, list)) or len(b) != len(x):
            raise ValueError(f"bounds: expected a sequence of {len(x)} entries at {where}")
        entries = [_split_pairs(xi, bi, f"{where}[{i}]") for i, (xi, bi) in enumerate(zip(x, b))]
        cls: Any = type(x)  # a tuple, a list or a namedtuple class
        rebuild = cls._make if hasattr(cls, "_fields") else cls
        return rebuild(p[0] for p in entries), rebuild(p[1] for p in entries)
    raise TypeError(
        f"bounds: cannot match bounds to the {type(x).__name__} node at {where}; "
        "give the bounds as a list of (lower, upper) pairs, one per flattened entry"
    )


def _is_scalar_pair(b: Any) -> bool:
    return (
        isinstance(b, (tuple, list))
        and len(b) == 2
        and all(v is None or np.ndim(v) == 0 for v in b)
    )


def to_bounds(bounds: Any, view: FlatView) -> Any:
    """``scipy.optimize.Bounds`` for the flat vector, from ``bounds`` given as

    * ``None`` (no bounds) or a ``scipy.optimize.Bounds`` on the flat vector;
    * SciPy's list of ``(lower, upper)`` pairs, one per flattened entry of ``x0``;
    * a pytree like ``x0`` with a ``(lower, upper)`` pair at each leaf, each bound a
      number, an array of the leaf's shape, or ``None`` for no bound.

    A list of scalar pairs as long as the flattened ``x0`` is read SciPy's way.

    >>> import numpy as np
    >>> to_bounds([(0, 1), (None, 2)], FlatView(np.zeros(2))).ub
    array([1., 2.])
    >>> to_bounds((np.zeros(2), np.ones(2)), FlatView(np.zeros(2))).ub
    array([1., 1.])
    """
    optimize = scipy_optimize()
    if bounds is None or isinstance(bounds, optimize.Bounds):
        return bounds
    if (
        isinstance(bounds, (tuple, list))
        and len(bounds) == view.size
        and all(_is_scalar_pair(b) for b in bounds)
    ):
        lb = [-np.inf if b[0] is None else b[0] for b in bounds]
        ub = [np.inf if b[1] is None else b[1] for b in bounds]
        return optimize.Bounds(np.asarray(lb, dtype=float), np.asarray(ub, dtype=float))
    lo, hi = _split_pairs(view.example, bounds, "x0")
    return optimize.Bounds(view.flatten_like(lo, "bounds"), view.flatten_like(hi, "bounds"))


def flat_function(fun: Callable, view: FlatView, args: tuple = ()) -> Callable:
    """``fun``, written against the structure of ``x0``, as a function of the flat vector
    returning a flat vector.

    >>> import numpy as np
    >>> f = flat_function(lambda p: p["a"] * 2, FlatView({"a": np.zeros(2)}))
    >>> f(np.array([1.0, 2.0]))
    array([2., 4.])
    """

    def flat(z: Any) -> Any:
        return ravel_output(fun(view.unflatten(z), *args))

    return flat


def _jacobian(c_flat: Callable, n: int) -> Callable:
    jac = jacrev(c_flat)

    def jac_flat(z: np.ndarray) -> np.ndarray:
        return np.asarray(jac(np.asarray(z, dtype=np.float64))).reshape(-1, n)

    return jac_flat


def _hessian_operator(c_flat: Callable, n: int) -> Callable:
    """``hess(x, v)``: the Hessian of ``v . c(x)`` as a LinearOperator made of
    Hessian-vector products, as ``trust-constr`` asks of a nonlinear constraint."""
    scipy_optimize()  # a clear error if SciPy is missing
    from scipy.sparse.linalg import LinearOperator

    def hess(z: np.ndarray, v: np.ndarray) -> Any:
        z = np.asarray(z, dtype=np.float64)
        v = np.asarray(v, dtype=np.float64)

        def weighted(y: Any) -> Any:
            return np.sum(v * c_flat(y))

        def matvec(p: np.ndarray) -> np.ndarray:
            p = np.asarray(p, dtype=np.float64).reshape(n)
            return np.asarray(hvp(weighted, (z,), (p,))[1])

        return LinearOperator((n, n), matvec=matvec, dtype=np.float64)

    return hess


def _from_dict(con: dict, view: FlatView, method: str) -> Any:
    optimize = scipy_optimize()
    unknown = set(con) - {"type", "fun", "args"}
    if "jac" in unknown:
        raise ValueError(
            "minimize: leave 'jac' out of constraint dicts; chainrule computes it with jacrev"
        )
    if unknown:
        raise ValueError(f"minimize: unknown constraint keys {sorted(unknown)}")
    kind = con.get("type")
    if kind not in ("eq", "ineq"):
        raise ValueError(f"minimize: constraint 'type' must be 'eq' or 'ineq', got {kind!r}")
    if not callable(con.get("fun")):
        raise ValueError("minimize: a constraint dict needs a callable 'fun'")
    c_flat = flat_function(con["fun"], view, tuple(con.get("args", ())))
    plain = lambda z: np.asarray(c_flat(z), dtype=np.float64)
    jac = _jacobian(c_flat, view.size)
    if method == "trust-constr":
        upper = 0.0 if kind == "eq" else np.inf
        hess = _hessian_operator(c_flat, view.size)
        return optimize.NonlinearConstraint(plain, 0.0, upper, jac=jac, hess=hess)
    return {"type": kind, "fun": plain, "jac": jac}


def _from_nonlinear(con: Any, view: FlatView) -> Any:
    optimize = scipy_optimize()
    c_flat = flat_function(con.fun, view)
    plain = lambda z: np.asarray(c_flat(z), dtype=np.float64)
    if callable(con.jac):  # the user's own derivatives, called with x in x0's structure
        user_jac = con.jac
        jac = lambda z: np.asarray(user_jac(view.unflatten(np.asarray(z))), dtype=np.float64)
    else:
        jac = _jacobian(c_flat, view.size)
    if isinstance(con.hess, optimize.HessianUpdateStrategy):
        hess = con.hess
    elif callable(con.hess):
        user_hess = con.hess
        hess = lambda z, v: user_hess(view.unflatten(np.asarray(z)), v)
    else:  # None or a finite-difference scheme: exact products instead
        hess = _hessian_operator(c_flat, view.size)
    return optimize.NonlinearConstraint(
        plain, con.lb, con.ub, jac=jac, hess=hess, keep_feasible=con.keep_feasible
    )


def to_constraints(constraints: Any, view: FlatView, method: str) -> list:
    """SciPy constraints on the flat vector, from ``constraints`` written against ``x0``.

    Accepts one constraint or a sequence of them: dicts ``{"type": "eq" | "ineq",
    "fun": f}`` (``f(x) == 0`` or ``f(x) >= 0``), ``NonlinearConstraint`` objects and
    ``LinearConstraint`` objects. Constraint functions receive ``x`` in the
    structure of ``x0``; their Jacobians come from ``jacrev``, and for
    ``trust-constr`` their Hessians are Hessian-vector products (a ``NonlinearConstraint``
    keeps its own callable ``jac`` / ``hess`` or quasi-Newton ``hess``; callables
    receive ``x`` in the structure of ``x0`` too). ``LinearConstraint``
    matrices act on the flat vector and are passed on unchanged.

    >>> import numpy as np
    >>> view = FlatView(np.zeros(2))
    >>> [c] = to_constraints({"type": "eq", "fun": lambda x: x[0] * x[1]}, view, "slsqp")
    >>> c["jac"](np.array([2.0, 3.0]))
    array([[3., 2.]])
    """
    optimize = scipy_optimize()
    if constraints is None:
        return []
    if isinstance(constraints, (dict, optimize.NonlinearConstraint, optimize.LinearConstraint)):
        constraints = [constraints]
    out = []
    for con in constraints:
        if isinstance(con, dict):
            out.append(_from_dict(con, view, method))
        elif isinstance(con, optimize.NonlinearConstraint):
            out.append(_from_nonlinear(con, view))
        elif isinstance(con, optimize.LinearConstraint):
            out.append(con)
        else:
            raise TypeError(
                "minimize: constraints must be dicts, NonlinearConstraint or LinearConstraint "
                f"objects, got {type(con).__name__}"
            )
    return out
