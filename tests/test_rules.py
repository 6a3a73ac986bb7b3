"""Every core primitive against finite differences: both modes, to second
order, over shapes that include 0-d and broadcasting, through plain NumPy
calls and through ``chainrule.numpy``."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import rand

import chainrule as cr
import chainrule.numpy as cnp

RNG = np.random.default_rng(1)


def pos(*shape):
    return RNG.uniform(0.5, 2.0, size=shape)


UNARY_SHAPES = [(), (3,), (2, 3)]
BINARY_SHAPES = [
    ((), ()),
    ((3,), (3,)),
    ((2, 3), (3,)),
    ((3,), (2, 3)),
    ((2, 1), (1, 3)),
    ((), (2, 3)),
    ((4, 1, 3), (2, 1)),
]

# name: (plain-numpy function, chainrule.numpy function, input generator)
UNARY = {
    "negative": (np.negative, cnp.negative, rand),
    "positive": (np.positive, cnp.positive, rand),
    "square": (np.square, cnp.square, rand),
    "reciprocal": (np.reciprocal, cnp.reciprocal, pos),
    "absolute": (np.abs, cnp.abs, rand),
    "exp": (np.exp, cnp.exp, rand),
    "log": (np.log, cnp.log, pos),
    "sqrt": (np.sqrt, cnp.sqrt, pos),
    "sin": (np.sin, cnp.sin, rand),
    "cos": (np.cos, cnp.cos, rand),
    "tanh": (np.tanh, cnp.tanh, rand),
    "operator -": (lambda x: -x, lambda x: -x, rand),
    "power 3": (lambda x: x**3, lambda x: cnp.power(x, 3), rand),
    "power 2": (lambda x: x**2, lambda x: cnp.power(x, 2.0), rand),
    "power 0.5": (lambda x: x**0.5, lambda x: cnp.power(x, 0.5), pos),
    "rpow": (lambda x: 2.0**x, lambda x: cnp.power(2.0, x), rand),
}

BINARY = {
    "add": (np.add, cnp.add, rand, rand),
    "subtract": (np.subtract, cnp.subtract, rand, rand),
    "multiply": (np.multiply, cnp.multiply, rand, rand),
    "divide": (np.divide, cnp.divide, rand, pos),
    "true_divide": (np.true_divide, cnp.true_divide, rand, pos),
    "power": (np.power, cnp.power, pos, rand),
    "maximum": (np.maximum, cnp.maximum, rand, rand),
    "minimum": (np.minimum, cnp.minimum, rand, rand),
    "operators": (
        lambda x, y: (x + y) * x / y - y**2,
        lambda x, y: (x + y) * x / y - y**2,
        rand,
        pos,
    ),
}


@pytest.mark.parametrize("shape", UNARY_SHAPES, ids=str)
@pytest.mark.parametrize("name", sorted(UNARY))
@pytest.mark.parametrize("via", ["numpy", "chainrule.numpy"])
def test_unary(name, shape, via):
    np_fn, cnp_fn, gen = UNARY[name]
    fn = np_fn if via == "numpy" else cnp_fn
    x = gen(*shape)
    if name == "absolute":
        x = x + np.sign(x) * 0.1  # keep away from the kink for finite differences
    cr.check_grads(fn, (x,), order=2)


@pytest.mark.parametrize("shapes", BINARY_SHAPES, ids=str)
@pytest.mark.parametrize("name", sorted(BINARY))
@pytest.mark.parametrize("via", ["numpy", "chainrule.numpy"])
def test_binary(name, shapes, via):
    np_fn, cnp_fn, gen_x, gen_y = BINARY[name]
    fn = np_fn if via == "numpy" else cnp_fn
    x, y = gen_x(*shapes[0]), gen_y(*shapes[1])
    cr.check_grads(fn, (x, y), order=2)


def test_binary_with_constant_operand():
    x = rand(2, 3)
    c = rand(3)
    for f in (lambda x: x * c, lambda x: c - x, lambda x: x / (c + 3.0), lambda x: c**2 / (x + 3)):
        cr.check_grads(f, (x,), order=2)


AXES = [None, 0, 1, -1, (0, 2), (-1, -3)]


@pytest.mark.parametrize("axis", AXES, ids=str)
@pytest.mark.parametrize("keepdims", [False, True])
@pytest.mark.parametrize("fn", ["sum", "mean", "max", "min", "amax", "amin", "prod"])
def test_reductions(fn, axis, keepdims):
    x = rand(2, 3, 4) + 2.5  # positive: prod's rule needs no zeros
    np_fn = getattr(np, fn)
    cr.check_grads(lambda x: np_fn(x, axis=axis, keepdims=keepdims), (x,), order=2)
    if hasattr(np.ndarray, fn):
        method = lambda x: getattr(x, fn)(axis=axis, keepdims=keepdims)  # noqa: E731
        cr.check_grads(method, (x,), order=2)


def test_reductions_of_0d():
    x = np.float64(0.7)
    for f in (np.sum, np.mean, np.max, np.min, np.prod):
        cr.check_grads(f, (x,), order=2)


MATMUL_SHAPES = [
    ((3,), (3,)),
    ((2, 3), (3,)),
    ((3,), (3, 4)),
    ((2, 3), (3, 4)),
    ((5, 2, 3), (3, 4)),
    ((2, 3), (5, 3, 4)),
    ((5, 2, 3), (1, 3, 4)),
    ((3,), (5, 3, 4)),
    ((5, 2, 3), (3,)),
]


@pytest.mark.parametrize("shapes", MATMUL_SHAPES, ids=str)
def test_matmul(shapes):
    a, b = rand(*shapes[0]), rand(*shapes[1])
    cr.check_grads(lambda a, b: a @ b, (a, b), order=2)
    cr.check_grads(np.matmul, (a, b), order=2)


@pytest.mark.parametrize(
    "shapes",
    [((3,), (3,)), ((2, 3), (3,)), ((3,), (3, 2)), ((2, 3), (3, 4)), ((), (3,)), ((2, 2), ())],
)
def test_dot(shapes):
    a, b = rand(*shapes[0]), rand(*shapes[1])
    cr.check_grads(np.dot, (a, b), order=2)
    cr.check_grads(lambda a, b: cnp.dot(a, b), (a, b), order=2)
    if np.ndim(a):
        cr.check_grads(lambda a: a.dot(b), (a,), order=2)  # ndarray.dot(traced) can't dispatch


SHAPE_OPS = {
    "reshape": lambda x: np.reshape(x, (4, 6)),
    "reshape -1": lambda x: x.reshape(-1, 2),
    "reshape F": lambda x: np.reshape(x, (6, 4), order="F"),
    "method reshape args": lambda x: x.reshape(3, 8),
    "transpose": lambda x: np.transpose(x),
    "transpose axes": lambda x: np.transpose(x, (1, 2, 0)),
    "T": lambda x: x.T,
    "permute_dims": lambda x: np.permute_dims(x, (2, 0, 1)),
    "copy": lambda x: np.copy(x) * cnp.copy(x),
    "method transpose": lambda x: x.transpose(2, 0, 1),
    "ravel": np.ravel,
    "flatten": lambda x: x.flatten(),
    "squeeze": lambda x: np.squeeze(x[:, :1, :]),
    "expand_dims": lambda x: np.expand_dims(x, (0, 2)),
    "swapaxes": lambda x: np.swapaxes(x, 0, 2),
    "moveaxis": lambda x: np.moveaxis(x, 0, -1),
    "broadcast_to": lambda x: np.broadcast_to(x[:, :1, :], (5, 2, 3, 4)),
    "stack": lambda x: np.stack([x, 2 * x, x**2], axis=1),
    "stack -1": lambda x: cnp.stack([x, np.sin(x)], axis=-1),
    "astype float32 and back": lambda x: x.astype(np.float32).astype(np.float64) * 2.0,
    "clip": lambda x: np.clip(x, -0.5, 0.5),
    "clip method": lambda x: x.clip(-0.5, 0.7),
}


@pytest.mark.parametrize("name", sorted(SHAPE_OPS))
def test_shape_ops(name):
    x = rand(2, 3, 4)
    if name.startswith("clip"):
        x = x + np.where(np.abs(np.abs(x) - 0.5) < 0.05, 0.1, 0.0)  # away from the kinks
        x = x + np.where(np.abs(x - 0.7) < 0.05, 0.1, 0.0)
    kwargs = {"rtol": 1e-3, "atol": 1e-4, "eps": 1e-2} if "float32" in name else {}
    cr.check_grads(SHAPE_OPS[name], (x,), order=2, **kwargs)


INDICES = {
    "int": 1,
    "negative int": -1,
    "slice": slice(1, None),
    "step slice": (slice(None), slice(None, None, 2)),
    "tuple": (1, 2),
    "ellipsis": (Ellipsis, 1),
    "newaxis": (None, 1, Ellipsis),
    "int array": np.array([0, 1, 1]),
    "int list": [1, 0],
    "repeated 2d int arrays": (np.array([[0, 1], [1, 1]]), np.array([[2, 2], [0, 1]])),
    "separated advanced": (np.array([0, 1]), slice(None), np.array([1, 2])),
    "bool mask": "mask",
    "bool row mask": (np.array([True, False]), Ellipsis),
    "mixed": (slice(None), np.array([2, 0, 2]), 1),
}


@pytest.mark.parametrize("name", sorted(INDICES))
def test_indexing(name):
    x = rand(2, 3, 4)
    idx = INDICES[name]
    if isinstance(idx, str):
        idx = x > 0
    cr.check_grads(lambda x: x[idx] * 2.0, (x,), order=2)
    jr = cr.jacrev(lambda x: x[idx])(x)
    jf = cr.jacfwd(lambda x: x[idx])(x)
    np.testing.assert_allclose(jr, jf)


def test_iteration_and_len():
    x = rand(3, 2)
    f = lambda x: sum(row[0] * row[1] for row in x) + len(x)  # noqa: E731
    cr.check_grads(f, (x,), order=2)
    np.testing.assert_allclose(cr.grad(f)(x), x[:, ::-1])


@pytest.mark.parametrize(
    "shapes", [((3,), (3,), (3,)), ((2, 3), (3,), ()), ((2, 1), (1, 3), (3,))], ids=str
)
def test_where(shapes):
    c_shape, x_shape, y_shape = shapes
    cond = RNG.uniform(size=c_shape) > 0.5
    x, y = rand(*x_shape), rand(*y_shape)
    cr.check_grads(lambda x, y: np.where(cond, x * x, np.sin(y)), (x, y), order=2)


def test_where_single_argument_is_nonzero():
    x = np.array([0.0, 1.0, 0.0, 2.0])
    seen = []

    def f(x):
        seen.append(np.where(x > 0.5))
        return np.sum(x)

    cr.grad(f)(x)
    np.testing.assert_array_equal(seen[0][0], [1, 3])
