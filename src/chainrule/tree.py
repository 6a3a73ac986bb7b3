"""Pytrees: nested containers whose non-container parts ("leaves") are values.

Node kinds are tuple, list, dict, None (a node with no children), namedtuples and
classes added with :func:`register`; everything else is a leaf.

>>> leaves, treedef = flatten({"b": [1, 2], "a": (3, None)})
>>> leaves
[3, 1, 2]
>>> treedef
TreeDef({'a': (*, None), 'b': [*, *]})
>>> unflatten(treedef, [30, 10, 20])
{'a': (30, None), 'b': [10, 20]}
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

__all__ = ["TreeDef", "flatten", "unflatten", "map", "leaves", "register", "structure", "ravel"]

NoneType = type(None)
_BUILTIN_NODES = (tuple, list, dict, NoneType)

# cls -> (flatten, unflatten). Configuration written by users at import time.
_registry: dict[type, tuple[Callable[[Any], tuple[Iterable[Any], Any]], Callable[..., Any]]] = {}

# A treedef is stored as a flat tuple of (cls, aux, num_children) entries in pre-order, so
# equality, hashing and rebuilding never recurse however deep the tree is. Shared constant
# entries avoid an allocation for the most common nodes.
_LEAF = (None, None, 0)
_NONE = (NoneType, None, 0)


class TreeDef:
    """The structure of a pytree, with its leaves left out. Immutable and hashable.

    >>> treedef = structure((1.0, {"w": 2.0}))
    >>> treedef.num_leaves
    2
    >>> treedef.unflatten(["x", "y"])
    ('x', {'w': 'y'})
    >>> treedef == structure(("a", {"w": "b"}))
    True
    """

    __slots__ = ("_nodes", "num_leaves", "_hash")
    _nodes: tuple[tuple[Any, Any, int], ...]
    num_leaves: int
    _hash: int | None

    def __init__(self, nodes: tuple[tuple[Any, Any, int], ...], num_leaves: int) -> None:
        object.__setattr__(self, "_nodes", nodes)
        object.__setattr__(self, "num_leaves", num_leaves)
        object.__setattr__(self, "_hash", None)

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError("TreeDef is immutable")

    def __reduce__(self) -> tuple[Any, ...]:
        # __setattr__ blocks the default slot-restoring pickle/copy path.
        return (TreeDef, (self._nodes, self.num_leaves))

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, TreeDef):
            return NotImplemented
        return self.num_leaves == other.num_leaves and self._nodes == other._nodes

    def __hash__(self) -> int:
        # Lazy: most treedefs are only compared, never hashed, and flatten must stay cheap.
        h = self._hash
        if h is None:
            h = hash(self._nodes)
            object.__setattr__(self, "_hash", h)
        return h

    def __repr__(self) -> str:
        return f"TreeDef({self._build(['*'] * self.num_leaves, _node_repr)})"

    def unflatten(self, leaves: Iterable[Any]) -> Any:
        """Rebuild a tree of this structure from ``leaves`` (in flatten order).

        >>> structure([0, (0, 0)]).unflatten([1, 2, 3])
        [1, (2, 3)]
        """
        leaves = list(leaves)
        if len(leaves) != self.num_leaves:
            raise ValueError(
                f"{self!r} expected {self.num_leaves} leaves, but {len(leaves)} were given"
            )
        nodes = self._nodes
        if nodes == _ONE_LEAF:  # the commonest trees, on every transform call
            return leaves[0]
        if nodes == _ONE_LEAF_IN_TUPLE:
            return (leaves[0],)
        return self._build(leaves, _node_build)

    def _build(self, leaves: list[Any], make: Callable[[tuple[Any, Any, int], list], Any]) -> Any:
        # Reversed pre-order visits every node after all of its descendants, so a value stack
        # suffices; children come off the stack last-first, hence the reverse.
        values: list[Any] = []
        i = len(leaves)
        for node in reversed(self._nodes):
            n = node[2]
            if node[0] is None:  # leaf
                i -= 1
                values.append(leaves[i])
                continue
            if n:
                kids = values[-n:]
                del values[-n:]
                kids.reverse()
            else:
                kids = []
            values.append(make(node, kids))
        return values[0]


_ONE_LEAF = (_LEAF,)
_ONE_LEAF_IN_TUPLE = ((tuple, None, 1), _LEAF)
_LEAF_DEF = TreeDef(_ONE_LEAF, 1)
_LEAF_IN_TUPLE_DEF = TreeDef(_ONE_LEAF_IN_TUPLE, 1)


def _node_build(node: tuple[Any, Any, int], kids: list[Any]) -> Any:
    cls, aux, _ = node
    if cls is tuple:
        return tuple(kids)
    if cls is list:
        return kids
    if cls is dict:
        return dict(zip(aux, kids, strict=True))
    if cls is NoneType:
        return None
    if cls in _registry:
        return _registry[cls][1](aux, kids)
    return cls(*kids)  # namedtuple


def _node_repr(node: tuple[Any, Any, int], kids: list[str]) -> str:
    cls, aux, _ = node
    if cls is tuple:
        return f"({kids[0]},)" if len(kids) == 1 else f"({', '.join(kids)})"
    if cls is list:
        return f"[{', '.join(kids)}]"
    if cls is dict:
        return "{" + ", ".join(f"{k!r}: {v}" for k, v in zip(aux, kids, strict=True)) + "}"
    if cls is NoneType:
        return "None"
    if cls in _registry:
        tag = "" if aux is None else f"[{aux!r}]"
        return f"{cls.__name__}{tag}({', '.join(kids)})"
    fields = ", ".join(f"{f}={v}" for f, v in zip(cls._fields, kids, strict=True))
    return f"{cls.__name__}({fields})"


def _dict_keys(d: dict) -> tuple[Any, ...]:
    # Sorting makes treedefs independent of insertion order; keys like {1, 'a'} cannot be
    # sorted, and then insertion order is the only deterministic choice.
    try:
        return tuple(sorted(d))
    except TypeError:
        return tuple(d)


def _plainly_a_leaf(x: Any) -> bool:
    """A leaf, decided without the general walk (containers and their
    subclasses, which may be namedtuples, are left to it)."""
    cls = type(x)
    return not issubclass(cls, (tuple, list, dict)) and x is not None and cls not in _registry


def flatten(tree: Any) -> tuple[list[Any], TreeDef]:
    """Split ``tree`` into its leaves (left to right) and its structure.

    >>> flatten((1.0, [2.0, None]))
    ([1.0, 2.0], TreeDef((*, [*, None])))
    """
    if _plainly_a_leaf(tree):
        return [tree], _LEAF_DEF  # a single leaf: the commonest tree, on every transform call
    if type(tree) is tuple and len(tree) == 1 and _plainly_a_leaf(tree[0]):
        return [tree[0]], _LEAF_IN_TUPLE_DEF  # one argument: the next commonest
    leaves: list[Any] = []
    nodes: list[tuple[Any, Any, int]] = []
    stack = [tree]
    # An explicit stack, not recursion, so that very deep trees cannot hit RecursionError.
    while stack:
        x = stack.pop()
        cls = type(x)
        if cls is tuple or cls is list:
            nodes.append((cls, None, len(x)))
            stack.extend(reversed(x))
        elif cls is dict:
            keys = _dict_keys(x)
            nodes.append((dict, keys, len(keys)))
            stack.extend([x[k] for k in reversed(keys)])
        elif x is None:
            nodes.append(_NONE)
        elif cls in _registry:
            children, aux = _registry[cls][0](x)
            children = list(children)
            nodes.append((cls, aux, len(children)))
            stack.extend(reversed(children))
        elif issubclass(cls, tuple) and hasattr(cls, "_fields"):
            nodes.append((cls, None, len(x)))
            stack.extend(reversed(x))
        else:
            leaves.append(x)
            nodes.append(_LEAF)
    return leaves, TreeDef(tuple(nodes), len(leaves))


def unflatten(treedef: TreeDef, leaves: Iterable[Any]) -> Any:
    """Inverse of :func:`flatten`; dicts come back with their keys in sorted order.

    >>> leaves, treedef = flatten({"x": 1, "y": (2, 3)})
    >>> unflatten(treedef, [v * 10 for v in leaves])
    {'x': 10, 'y': (20, 30)}
    """
    return treedef.unflatten(leaves)


def map(f: Callable[..., Any], tree: Any, *rest: Any) -> Any:
    """Apply ``f`` to each leaf of ``tree`` and the matching leaves of ``rest``.

    >>> map(lambda a, b: a + b, {"u": 1, "v": [2]}, {"u": 10, "v": [20]})
    {'u': 11, 'v': [22]}
    """
    leaves, treedef = flatten(tree)
    if not rest:
        return treedef.unflatten([f(x) for x in leaves])
    columns = [leaves]
    for i, other in enumerate(rest, start=1):
        other_leaves, other_def = flatten(other)
        if other_def != treedef:
            raise ValueError(
                f"tree structure mismatch: first tree is {treedef!r}, "
                f"tree {i} of rest is {other_def!r}"
            )
        columns.append(other_leaves)
    return treedef.unflatten([f(*xs) for xs in zip(*columns, strict=True)])


def leaves(tree: Any) -> list[Any]:
    """The leaves of ``tree``, left to right.

    >>> leaves([1, {"b": 3, "a": 2}, None])
    [1, 2, 3]
    """
    return flatten(tree)[0]


def structure(tree: Any) -> TreeDef:
    """The :class:`TreeDef` of ``tree``.

    >>> structure({"a": 1, "b": (2, 3)})
    TreeDef({'a': *, 'b': (*, *)})
    """
    return flatten(tree)[1]


def ravel(tree: Any) -> tuple[Any, Callable[[Any], Any]]:
    """Flatten a pytree of arrays and numbers to one float64 vector, and back.

    Returns ``(flat, unravel)``: ``flat`` holds every leaf's elements in
    :func:`leaves` order, each leaf raveled in C order and cast to float64
    (integer and bool leaves included; complex leaves are refused);
    ``unravel(vector)`` rebuilds a tree of the same structure and leaf shapes
    from a vector of that length, with the vector's dtype (Python numbers come
    back as 0-d arrays). Both directions are differentiable: ``ravel`` of traced
    leaves inside a differentiated function, and ``unravel`` of a traced vector.
    It is the flattening ``cr.optim.minimize`` and ``cr.optim.root`` use.

    >>> import numpy as np
    >>> flat, unravel = ravel({"w": np.ones((2, 2)), "b": 0.5})
    >>> flat
    array([0.5, 1. , 1. , 1. , 1. ])
    >>> unravel(np.arange(5.0))
    {'b': array(0.), 'w': array([[1., 2.],
           [3., 4.]])}
    """
    # The implementation lives with the optimisers, its first users; this module
    # itself needs no NumPy.
    from .optim.ravel import FlatView

    view = FlatView(tree, what="ravel")
    return view.flat, view.unflatten


def register(
    cls: type,
    flatten: Callable[[Any], tuple[Iterable[Any], Any]],
    unflatten: Callable[[Any, list[Any]], Any],
) -> None:
    """Make instances of exactly ``cls`` tree nodes (subclasses are not included).

    ``flatten(obj)`` returns ``(children, aux_data)``; ``unflatten(aux_data, children)``
    rebuilds the object. ``aux_data`` is part of the structure, so it must be hashable and
    comparable with ``==``.

    >>> class Pair:
    ...     def __init__(self, a, b):
    ...         self.a, self.b = a, b
    >>> register(Pair, lambda p: ((p.a, p.b), None), lambda aux, kids: Pair(*kids))
    >>> leaves(Pair(1, [2, 3]))
    [1, 2, 3]
    """
    if not isinstance(cls, type):
        raise TypeError(f"register expects a class, got {cls!r}")
    if cls in _registry or cls in _BUILTIN_NODES:
        raise ValueError(f"{cls.__qualname__} is already registered as a tree node")
    _registry[cls] = (flatten, unflatten)
