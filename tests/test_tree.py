import copy
import dataclasses
import doctest
import pickle
from collections import OrderedDict, namedtuple
from typing import NamedTuple

import numpy as np
import pytest

from chainrule import tree

Point = namedtuple("Point", ["x", "y"])


class Pair(NamedTuple):
    first: object
    second: object


@dataclasses.dataclass
class Params:
    w: object
    b: object
    name: str = "layer"


tree.register(
    Params,
    lambda p: ((p.w, p.b), p.name),
    lambda name, kids: Params(kids[0], kids[1], name),
)


@dataclasses.dataclass
class Unregistered:
    v: float


def same(a, b):
    """Structural equality that also compares numpy arrays and checks exact container types."""
    if type(a) is not type(b):
        return False
    if isinstance(a, np.ndarray):
        return a.shape == b.shape and bool(np.array_equal(a, b))
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, (tuple, list)):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, Params):
        return same(a.w, b.w) and same(a.b, b.b) and a.name == b.name
    return a == b


@pytest.mark.parametrize(
    "t, expected_leaves",
    [
        (1.5, [1.5]),
        (None, []),
        ((), []),
        ([], []),
        ({}, []),
        ((1, 2), [1, 2]),
        ([1, [2, 3]], [1, 2, 3]),
        ({"b": 2, "a": 1}, [1, 2]),
        ((None, 1, [None]), [1]),
        (Point(1, 2), [1, 2]),
        (Pair(first=[1], second=(2, 3)), [1, 2, 3]),
        (Params(w=1.0, b=[2.0, 3.0]), [1.0, 2.0, 3.0]),
        ({"p": Point((1, 2), None), "q": [Params(4, 5, "z"), {"r": 6}]}, [1, 2, 4, 5, 6]),
        ([(), [], {}, None], []),
    ],
)
def test_round_trip(t, expected_leaves):
    leaves, treedef = tree.flatten(t)
    assert leaves == expected_leaves
    assert treedef.num_leaves == len(expected_leaves)
    rebuilt = tree.unflatten(treedef, leaves)
    assert same(rebuilt, t)
    assert same(treedef.unflatten(leaves), t)
    assert tree.leaves(t) == expected_leaves
    assert tree.structure(t) == treedef


def test_numpy_values_are_leaves():
    a, s = np.arange(3.0), np.float32(2.0)
    leaves, treedef = tree.flatten((a, {"s": s}))
    assert leaves[0] is a and leaves[1] is s
    assert treedef == tree.structure((0, {"s": 0}))


def test_none_is_node_not_leaf():
    leaves, treedef = tree.flatten([None, 1])
    assert leaves == [1]
    assert treedef.unflatten([7]) == [None, 7]
    assert tree.structure(None) != tree.structure(0)


def test_namedtuple_rebuilt_with_same_class():
    out = tree.map(lambda v: v * 2, Point(1, Pair(2, 3)))
    assert type(out) is Point and type(out.y) is Pair
    assert out == Point(2, Pair(4, 6))
    assert tree.structure(Point(1, 2)) != tree.structure((1, 2))
    assert tree.structure(Point(1, 2)) != tree.structure(Pair(1, 2))


def test_dict_sorted_keys_order():
    d = {"c": 3, "a": 1, "b": 2}
    leaves, treedef = tree.flatten(d)
    assert leaves == [1, 2, 3]
    out = treedef.unflatten([10, 20, 30])
    assert out == {"a": 10, "b": 20, "c": 30}
    assert list(out) == ["a", "b", "c"]
    # insertion order does not matter when keys sort
    assert treedef == tree.structure({"a": 0, "b": 0, "c": 0})


def test_dict_unsortable_keys_use_insertion_order():
    d = {"z": 1, 0: 2, "a": 3}
    leaves, treedef = tree.flatten(d)
    assert leaves == [1, 2, 3]
    out = treedef.unflatten(leaves)
    assert out == d and list(out) == ["z", 0, "a"]


def test_dict_subclass_and_unregistered_classes_are_leaves():
    od = OrderedDict(a=1)
    u = Unregistered(1.0)
    obj = object()
    assert tree.flatten([od, u, obj])[0] == [od, u, obj]
    assert tree.leaves(u)[0] is u


def test_registered_class_round_trip():
    p = Params(w=np.ones(2), b=(1.0, 2.0), name="dense")
    leaves, treedef = tree.flatten(p)
    assert len(leaves) == 3 and leaves[1:] == [1.0, 2.0]
    out = treedef.unflatten([np.zeros(2), 3.0, 4.0])
    assert isinstance(out, Params) and out.name == "dense"
    assert out.b == (3.0, 4.0) and np.array_equal(out.w, [0.0, 0.0])
    # aux_data is part of the structure
    assert treedef != tree.structure(Params(0, (0, 0), name="other"))
    assert treedef == tree.structure(Params(5, (6, 7), name="dense"))


def test_register_twice_raises():
    class C:
        pass

    tree.register(C, lambda c: ((), None), lambda aux, kids: C())
    with pytest.raises(ValueError, match="already registered"):
        tree.register(C, lambda c: ((), None), lambda aux, kids: C())
    with pytest.raises(ValueError, match="already registered"):
        tree.register(Params, lambda c: ((), None), lambda aux, kids: None)
    with pytest.raises(ValueError):
        tree.register(dict, lambda c: ((), None), lambda aux, kids: {})


def test_register_accepts_generator_children():
    class Box:
        def __init__(self, *items):
            self.items = items

    tree.register(Box, lambda b: ((x for x in b.items), len(b.items)), lambda n, k: Box(*k))
    out = tree.map(lambda v: -v, [Box(1, 2), 3])
    assert isinstance(out[0], Box) and out[0].items == (-1, -2) and out[1] == -3


def test_map_single_and_multiple_trees():
    t1 = {"a": [1, 2], "b": (3, None)}
    t2 = {"a": [10, 20], "b": (30, None)}
    t3 = {"b": (300, None), "a": [100, 200]}
    assert tree.map(lambda x: x + 1, t1) == {"a": [2, 3], "b": (4, None)}
    out = tree.map(lambda x, y, z: x + y + z, t1, t2, t3)
    assert out == {"a": [111, 222], "b": (333, None)}


def test_map_with_arrays():
    a = {"w": np.arange(3.0), "b": np.float64(1.0)}
    g = {"w": np.ones(3), "b": np.float64(0.5)}
    out = tree.map(lambda p, d: p - 0.1 * d, a, g)
    assert np.allclose(out["w"], [-0.1, 0.9, 1.9]) and out["b"] == pytest.approx(0.95)


def test_map_structure_mismatch_message():
    with pytest.raises(ValueError) as info:
        tree.map(lambda x, y: x + y, (1, [2, 3]), (1, (2, 3)))
    msg = str(info.value)
    assert "mismatch" in msg
    assert "TreeDef((*, [*, *]))" in msg and "TreeDef((*, (*, *)))" in msg
    with pytest.raises(ValueError, match=r"\{'a': \*\}.*\{'b': \*\}"):
        tree.map(lambda x, y: x, {"a": 1}, {"b": 1})
    with pytest.raises(ValueError, match="None"):
        tree.map(lambda x, y: x, [1], [None])


def test_wrong_leaf_count():
    treedef = tree.structure((1, [2, 3]))
    with pytest.raises(ValueError, match="expected 3 leaves, but 2 were given"):
        treedef.unflatten([1, 2])
    with pytest.raises(ValueError, match="expected 3 leaves, but 4 were given"):
        tree.unflatten(treedef, [1, 2, 3, 4])
    with pytest.raises(ValueError, match="expected 0 leaves, but 1 were given"):
        tree.structure(None).unflatten([1])


def test_treedef_equality_and_hash():
    t1 = tree.structure((np.ones(2), {"a": 1.0, "b": [2.0, 3.0]}))
    t2 = tree.structure(("x", {"b": ["y", "z"], "a": "w"}))
    assert t1 == t2 and hash(t1) == hash(t2)
    assert len({t1, t2}) == 1
    assert t1 != tree.structure(("x", {"a": "w", "b": ("y", "z")}))
    assert t1 != tree.structure([1, {"a": 1, "b": [2, 3]}])
    assert tree.structure([1, 2]) != tree.structure([1, 2, 3])
    assert tree.structure({"a": 1}) != tree.structure({"b": 1})
    assert t1 != "not a treedef"
    d = {t1: "cached"}
    assert d[t2] == "cached"


def test_treedef_is_immutable_and_picklable():
    treedef = tree.structure((1, {"a": Point(2, 3)}))
    with pytest.raises(AttributeError):
        treedef.num_leaves = 5
    for clone in (pickle.loads(pickle.dumps(treedef)), copy.deepcopy(treedef)):
        assert clone == treedef and hash(clone) == hash(treedef)
        assert clone.unflatten([1, 2, 3]) == (1, {"a": Point(2, 3)})


def test_repr():
    assert repr(tree.structure((1, {"a": 2, "b": [3, 4]}))) == "TreeDef((*, {'a': *, 'b': [*, *]}))"
    assert repr(tree.structure(5)) == "TreeDef(*)"
    assert repr(tree.structure(None)) == "TreeDef(None)"
    assert repr(tree.structure((1,))) == "TreeDef((*,))"
    assert repr(tree.structure(((), [], {}))) == "TreeDef(((), [], {}))"
    assert repr(tree.structure(Point(1, [2]))) == "TreeDef(Point(x=*, y=[*]))"
    assert repr(tree.structure(Params(1, 2, "n"))) == "TreeDef(Params['n'](*, *))"


def test_deep_nesting():
    depth = 5000
    t = 1.0
    for i in range(depth):
        t = [t] if i % 3 == 0 else ({"k": t} if i % 3 == 1 else (t, None))
    leaves, treedef = tree.flatten(t)
    assert leaves == [1.0] and treedef.num_leaves == 1
    out = tree.map(lambda v: v + 1, t)
    # walk both trees iteratively: == on 5000-deep containers would itself recurse
    a, b = t, out
    for i in reversed(range(depth)):
        assert type(a) is type(b)
        if i % 3 == 0:
            a, b = a[0], b[0]
        elif i % 3 == 1:
            a, b = a["k"], b["k"]
        else:
            assert a[1] is None and b[1] is None
            a, b = a[0], b[0]
    assert a == 1.0 and b == 2.0
    assert treedef == tree.structure(out) and hash(treedef) == hash(tree.structure(out))
    assert repr(treedef).count("[") == (depth + 2) // 3


def test_wide_tree():
    t = list(range(10000))
    assert tree.map(lambda v: v * 2, t) == [2 * v for v in range(10000)]


def test_docstring_examples():
    result = doctest.testmod(tree, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 10 and result.failed == 0
