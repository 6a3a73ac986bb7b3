"""A pytree of arrays seen as one flat float64 vector, and back.

SciPy and Newton's method work on vectors; users' parameters are pytrees. A
:class:`FlatView` remembers the structure, shapes and kinds of the leaves of
an example tree, so that a vector can be turned back into that structure,
traced values included (the unflattening is slicing and reshaping, which
chainrule differentiates). The example's leaves may be traced too (the
flattening is raveling, casting and concatenating): ``cr.tree.ravel`` is this
class, and works inside a differentiated function.

>>> import numpy as np
>>> view = FlatView({"w": np.ones((2, 2)), "b": 0.5})
>>> view.flat
array([0.5, 1. , 1. , 1. , 1. ])
>>> view.restore(np.arange(5.0))
{'b': 0.0, 'w': array([[1., 2.],
       [3., 4.]])}
"""

from __future__ import annotations

import numbers
from typing import Any

import numpy as np

from .. import tree
from ..core.trace import Tracer
from ..transforms._foreign import refusal


class FlatView:
    """The flat-vector view of the pytree ``example`` (see the module docstring).

    ``flat`` is the example as a float64 vector, ``size`` its length;
    ``unflatten(z)`` rebuilds the tree from a vector (traced or not);
    ``restore(z)`` does the same for a result, giving Python floats back where
    the example had Python numbers.

    >>> import numpy as np
    >>> view = FlatView((np.zeros(3), 1))
    >>> view.size
    4
    >>> view.unflatten(np.array([1.0, 2.0, 3.0, 4.0]))
    (array([1., 2., 3.]), array(4.))
    """

    def __init__(self, example: Any, what: str = "x0") -> None:
        self.example = example
        leaves, self.treedef = tree.flatten(example)
        self.shapes: list[tuple[int, ...]] = []
        self.scalars: list[bool] = []
        parts = []
        for i, leaf in enumerate(leaves):
            self.scalars.append(isinstance(leaf, numbers.Number))
            # np.asarray would drop a mask silently
            if isinstance(leaf, np.ma.MaskedArray) and (
                refused := refusal(leaf, f"leaf {i}", what)
            ):
                raise refused
            if not isinstance(leaf, Tracer):  # a traced leaf must stay traced
                leaf = np.asarray(leaf)
            dtype, shape = leaf.dtype, leaf.shape
            if dtype.kind not in "fiub":
                raise TypeError(
                    f"{what}: leaf {i} has dtype {dtype}; only real numbers (floating point, "
                    "integer or bool) can be flattened into one float64 vector"
                )
            self.shapes.append(shape)
            part = np.ravel(leaf)
            parts.append(part if dtype == np.float64 else part.astype(np.float64))
        self.flat = np.concatenate(parts) if parts else np.zeros(0)
        self.size = int(self.flat.size)
        self.offsets = np.cumsum([0] + [int(np.prod(s, dtype=int)) for s in self.shapes])

    def unflatten(self, z: Any) -> Any:
        """Rebuild the tree from the vector ``z`` (which may be traced)."""
        shape = getattr(z, "shape", None)
        if type(shape) is not tuple:
            z = np.asarray(z)
            shape = z.shape
        if shape != (self.size,):
            raise ValueError(
                f"expected a vector of length {self.size} (the number of elements of the "
                f"tree's leaves), got an array of shape {shape}"
            )
        if len(self.shapes) == 1:
            return self.treedef.unflatten([z.reshape(self.shapes[0])])
        pieces = [
            z[int(a) : int(b)].reshape(shape)
            for a, b, shape in zip(self.offsets[:-1], self.offsets[1:], self.shapes)
        ]
        return self.treedef.unflatten(pieces)

    def restore(self, z: Any) -> Any:
        """Rebuild a plain result from the vector ``z``: Python floats where the example
        had Python numbers, arrays elsewhere."""
        z = np.asarray(z, dtype=np.float64)
        leaves = tree.leaves(self.unflatten(z))
        leaves = [float(v) if s else np.array(v) for v, s in zip(leaves, self.scalars)]
        return self.treedef.unflatten(leaves)

    def flatten_like(self, values: Any, what: str) -> np.ndarray:
        """Flatten ``values``, a tree with the example's structure and leaf shapes.

        >>> import numpy as np
        >>> FlatView({"a": np.zeros(2)}).flatten_like({"a": np.array([1, 2])}, "v")
        array([1., 2.])
        """
        leaves, treedef = tree.flatten(values)
        if treedef != self.treedef:
            raise ValueError(f"{what}: structure {treedef!r} does not match x0's {self.treedef!r}")
        parts = []
        for i, (leaf, shape) in enumerate(zip(leaves, self.shapes)):
            arr = np.asarray(leaf, dtype=np.float64)
            if arr.shape != shape:
                raise ValueError(f"{what}: leaf {i} has shape {arr.shape}, x0's has {shape}")
            parts.append(arr.ravel())
        return np.concatenate(parts) if parts else np.zeros(0)


def ravel_output(out: Any) -> Any:
    """The leaves of a function's output (arrays, numbers or a pytree of them, traced or
    not) as one vector.

    >>> import numpy as np
    >>> ravel_output((1.0, np.array([[2.0, 3.0]])))
    array([1., 2., 3.])
    """
    leaves = tree.leaves(out)
    if not leaves:
        return np.zeros(0)
    if len(leaves) == 1:
        return np.ravel(leaves[0])
    return np.concatenate([np.ravel(leaf) for leaf in leaves])
