"""Functional updates: ``cr.at(x)[idx].set(v)``, ``.add``, ``.multiply``, ``.min``, ``.max``.

Traced arrays are immutable (``x[idx] = v`` would drop a derivative), so an
update returns a new array and leaves ``x`` alone. Every NumPy index works,
and ``v`` broadcasts to the shape of ``x[idx]``, as in NumPy. With repeated
integer indices the semantics are NumPy's: ``add``, ``multiply``, ``min`` and
``max`` are ``np.add.at``, ``np.multiply.at``, ``np.minimum.at`` and
``np.maximum.at`` (every contribution counts); ``set`` is ``x[idx] = v`` (the
last write wins, and only the winning element of ``v`` gets a derivative).

How: NumPy itself turns the index, whatever its form, into the flat positions
``p`` of the elements it selects (``arange(x.size).reshape(x.shape)[idx]``).
The update is then a one-dimensional scatter of ``ravel(broadcast_to(v,
x[idx].shape))`` into ``ravel(x)`` at ``p``. ``set``, ``add`` and ``multiply``
are written with differentiable pieces (``where``, ``getitem``, ``untake``, the
scatter-add that is ``getitem``'s transpose), so both modes, batches and higher
orders come from their rules. ``min`` and ``max`` are one primitive with their
own rules, to split the derivative evenly at ties.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .core.primitive import Primitive
from .core.registry import ATTRIBUTES
from .core.trace import is_traced, strip, strip_tree
from .errors import ConversionError
from .rules._util import as_array, gather, shape_of
from .rules.shape import untake_p, where_p

_UFUNCS = {"add": np.add, "multiply": np.multiply, "min": np.minimum, "max": np.maximum}


def at(x: Any) -> _Indexer:
    """Functional updates of ``x``: ``at(x)[idx].set(v)`` returns a copy of ``x``
    with ``x[idx]`` replaced by ``v``; likewise ``.add(v)``, ``.multiply(v)``,
    ``.min(v)`` and ``.max(v)`` (``np.add.at`` etc.: repeated indices
    accumulate). Works on traced and plain arrays alike, and is
    differentiable in ``x`` and ``v``. Traced values also offer the shorthand
    ``x.at[idx]``.

    Args:
        x: the array to update (never modified).

    Returns:
        An object to index with any NumPy index ``idx``; ``at(x)[idx]`` has the
        methods ``set``, ``add``, ``multiply``, ``min`` and ``max``, each taking
        ``v`` (broadcast to the shape of ``x[idx]``) and returning the new array.
        Derivative conventions: with repeated indices ``set`` differentiates
        only the element of ``v`` NumPy keeps (the last written); at ties
        ``min``/``max`` split the derivative evenly among the tied values.

    >>> import chainrule as cr, numpy as np
    >>> from chainrule.at import at
    >>> x = np.zeros(3)
    >>> at(x)[[0, 0, 2]].add(1.0), x
    (array([2., 0., 1.]), array([0., 0., 0.]))
    >>> cr.grad(lambda v: np.sum(at(np.ones(3))[1:].multiply(v) ** 2))(np.array([2.0, 3.0]))
    array([4., 6.])
    """
    return _Indexer(x)


ATTRIBUTES["at"] = at  # x.at[...] on a traced value (core/array_facade.py)


class _Indexer:
    """``at(x)``: index it to choose what to update."""

    __slots__ = ("_x",)

    def __init__(self, x: Any) -> None:
        self._x = x

    def __getitem__(self, idx: Any) -> _Update:
        return _Update(self._x, idx)

    def __repr__(self) -> str:
        return f"at({self._x!r})"


class _Update:
    """``at(x)[idx]``: the updates of ``x[idx]``, each returning a new array."""

    __slots__ = ("_x", "_idx")

    def __init__(self, x: Any, idx: Any) -> None:
        self._x = x
        self._idx = idx

    def set(self, v: Any) -> Any:
        """``x`` with ``x[idx] = v``. With repeated indices the last write wins,
        as in NumPy, and only the winning element of ``v`` has a derivative."""
        return _update("set", self._x, self._idx, v)

    def add(self, v: Any) -> Any:
        """``x`` with ``v`` added at ``idx``; repeated indices accumulate (``np.add.at``)."""
        return _update("add", self._x, self._idx, v)

    def multiply(self, v: Any) -> Any:
        """``x`` with ``x[idx]`` multiplied by ``v``; repeated indices multiply
        in turn (``np.multiply.at``). Exact zeros in ``v`` are fine."""
        return _update("multiply", self._x, self._idx, v)

    def min(self, v: Any) -> Any:
        """``x`` with ``x[idx] = minimum(x[idx], v)`` (``np.minimum.at``).

        At a tie the derivative is split evenly among every tied value at that
        position: the old ``x`` element and each tied contribution of ``v``.
        """
        return _update("min", self._x, self._idx, v)

    def max(self, v: Any) -> Any:
        """``x`` with ``x[idx] = maximum(x[idx], v)`` (``np.maximum.at``).

        At a tie the derivative is split evenly among every tied value at that
        position: the old ``x`` element and each tied contribution of ``v``.
        """
        return _update("max", self._x, self._idx, v)


def _update(mode: str, x: Any, idx: Any, v: Any) -> Any:
    idx = strip_tree(idx)  # an index carries no derivative
    if not (is_traced(x) or is_traced(v)):
        out = np.array(x, copy=True)
        if mode == "set":
            out[idx] = v
        else:
            _UFUNCS[mode].at(out, idx, v)
        return out
    return _traced_update(mode, x, idx, v)


def _traced_update(mode: str, x: Any, idx: Any, v: Any) -> Any:
    if not is_traced(x):
        x = as_array(x)
        if x.dtype.kind not in "fc":
            raise ConversionError(
                f"at(x)[idx].{mode}(v) with a traced v and x of dtype {x.dtype}: NumPy would cast "
                "v to that dtype and its derivative would be lost. Use x.astype(float) first."
            )
    shape = shape_of(x)
    size = int(np.prod(shape))
    flat = gather(np.arange(size).reshape(shape), idx)  # NumPy resolves every index form
    target = flat.shape
    p = flat.reshape(-1)
    if not is_traced(v):
        v = np.asarray(v, dtype=x.dtype)
    v = _broadcast_value(mode, v, target)
    if p.size == 0:
        return x if is_traced(x) else np.array(x, copy=True)
    xf = np.reshape(x, (size,))
    vf = np.reshape(v, (p.size,))
    if mode == "set" and np.unique(p).size < p.size:
        keep = _last_writes(p, shape, idx, target)
        vf, p = vf[keep], p[keep]
    out = _FLAT[mode](xf, vf, p, size)
    out = np.reshape(out, shape)
    return out if out.dtype == x.dtype else out.astype(x.dtype)


def _broadcast_value(mode: str, v: Any, target: tuple[int, ...]) -> Any:
    vshape = shape_of(v)
    extra = len(vshape) - len(target)
    if mode == "set" and extra > 0 and all(s == 1 for s in vshape[:extra]):
        v = np.reshape(v, vshape[extra:])  # assignment, unlike ufunc.at, drops leading 1s
    try:
        fits = np.broadcast_shapes(shape_of(v), target) == target
    except ValueError:
        fits = False
    if not fits:
        raise ValueError(
            f"at(x)[idx].{mode}(v): v of shape {vshape} does not broadcast to the shape "
            f"{target} of x[idx]"
        )
    return np.broadcast_to(v, target)


# --- the flat updates: xf (size,), vf (n,), positions p (n,) into xf --------------
def _written(p: np.ndarray, size: int) -> np.ndarray:
    # a count, not w[p] = True: a p computed from a value staged by cr.jit is
    # then recorded (an assignment into a plain array would be frozen)
    return np.bincount(p, minlength=size) > 0


def _last_writes(p: np.ndarray, shape: tuple, idx: Any, target: tuple) -> np.ndarray:
    """Which contributions NumPy's own ``x[idx] = v`` keeps where a position
    repeats: assign labels through the same index and read them back."""
    labels = np.full(int(np.prod(shape)), -1, dtype=np.intp)
    labels.reshape(shape)[idx] = np.arange(p.size).reshape(target)
    return np.flatnonzero(labels[p] == np.arange(p.size))


def _set(xf: Any, vf: Any, p: np.ndarray, size: int) -> Any:
    # where_p, not np.where: NumPy would hand the call to a mask computed from a
    # value staged by cr.jit before the traced operands (and so freeze the mask)
    return where_p(_written(p, size), untake_p(vf, (p,), (size,), 1, False), xf)


def _add(xf: Any, vf: Any, p: np.ndarray, size: int) -> Any:
    repeated = np.unique(p).size < p.size
    return xf + untake_p(vf, (p,), (size,), 1, repeated)


def _multiply(xf: Any, vf: Any, p: np.ndarray, size: int) -> Any:
    # Repeated positions multiply in turn, in NumPy's order: lay the
    # contributions out as a (positions, occurrence) table and multiply the
    # old values by one column after another. No division, so zeros are fine.
    n = p.size
    u, inv = np.unique(p, return_inverse=True)
    counts = np.bincount(inv, minlength=u.size)
    order = np.argsort(inv, kind="stable")
    # Built by gathers and counts, not by assignments into plain arrays: with
    # positions computed from a value staged by cr.jit, every step is recorded.
    rank = np.arange(n) - np.repeat(np.cumsum(counts) - counts, counts)
    occurrence = rank[np.argsort(order)]  # occurrence[order] = rank
    width = int(counts.max())
    cell = inv * width + occurrence  # distinct cells of the (u.size, width) table
    cells = u.size * width
    table = np.bincount(cell, weights=np.arange(n), minlength=cells).astype(np.intp)
    table = table.reshape(u.size, width)
    filled = (np.bincount(cell, minlength=cells) > 0).reshape(u.size, width)
    factors = vf[table]
    if not filled.all():
        factors = np.where(filled, factors, np.ones((), dtype=factors.dtype))
    acc = xf[u]
    for r in range(table.shape[1]):
        acc = acc * factors[:, r]
    return where_p(_written(u, size), untake_p(acc, (u,), (size,), 1, False), xf)


# --- min / max: a primitive, so that ties split evenly --------------------------
def _extremum_impl(xf: Any, vf: Any, p: np.ndarray, which: str) -> Any:
    out = np.array(xf, copy=True)
    _UFUNCS[which].at(out, p, vf)
    return out


def _tie_shares(ans: Any, xf: Any, vf: Any, p: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The share of the derivative each value gets: 1 for untouched elements of
    ``x``; at an updated position, ``1/k`` for each of the ``k`` values (old
    ``x`` element and contributions of ``v``) equal to the result, 0 for the
    others (and 0 for all when the result is NaN)."""
    m, xv, vv = strip(ans), strip(xf), strip(vf)
    size = m.shape[0]
    tie_x = (xv == m).astype(m.dtype)
    tie_v = (vv == m[p]).astype(m.dtype)
    count = tie_x + np.bincount(p, weights=tie_v, minlength=size)
    share = np.divide(1.0, count, out=np.zeros_like(count), where=count > 0)
    sx = np.where(_written(p, size), tie_x * share, 1.0)
    return sx.astype(m.dtype, copy=False), (tie_v * share[p]).astype(m.dtype, copy=False)


def _extremum_vjp_x(ans: Any, xf: Any, vf: Any, p: np.ndarray, which: str) -> Any:
    sx, _ = _tie_shares(ans, xf, vf, p)
    return lambda g: g * sx


def _extremum_vjp_v(ans: Any, xf: Any, vf: Any, p: np.ndarray, which: str) -> Any:
    _, sv = _tie_shares(ans, xf, vf, p)
    return lambda g: g[..., p] * sv


def _extremum_jvp_x(t: Any, ans: Any, xf: Any, vf: Any, p: np.ndarray, which: str) -> Any:
    return t * _tie_shares(ans, xf, vf, p)[0]


def _extremum_jvp_v(t: Any, ans: Any, xf: Any, vf: Any, p: np.ndarray, which: str) -> Any:
    sv = _tie_shares(ans, xf, vf, p)[1]
    return untake_p(t * sv, (p,), shape_of(xf), 1, True)


# scatter_extremum_p(xf, vf, p, which): np.minimum.at / np.maximum.at on a copy of
# the 1-d xf; its derivative is piecewise linear, the shares being constants.
scatter_extremum_p = Primitive("scatter_extremum", _extremum_impl)
scatter_extremum_p.defvjp(_extremum_vjp_x, _extremum_vjp_v, None, None)
scatter_extremum_p.defjvp(_extremum_jvp_x, _extremum_jvp_v, None, None)


def _extremum(which: str) -> Any:
    def flat(xf: Any, vf: Any, p: np.ndarray, size: int) -> Any:
        return scatter_extremum_p(xf, vf, p, which)

    return flat


_FLAT = {
    "set": _set,
    "add": _add,
    "multiply": _multiply,
    "min": _extremum("min"),
    "max": _extremum("max"),
}
