"""NumPy's constructors with a traced ``like=``: NumPy sends them to the traced
value's ``__array_function__``; they give NumPy's plain constants (the traced
value only picks the namespace), and traced contents or fill values keep their
derivative, in both modes and to second order."""

from __future__ import annotations

import io

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal

import chainrule as cr
from chainrule.core.trace import Tracer

# name -> (call with like=x, NumPy's value without like)
CONSTANTS = {
    "ones": (lambda x: np.ones((2, 3), like=x), np.ones((2, 3))),
    "zeros": (lambda x: np.zeros(3, dtype=np.float32, like=x), np.zeros(3, np.float32)),
    "empty": (lambda x: np.empty((0, 2), like=x), np.empty((0, 2))),
    "full": (lambda x: np.full((2, 2), 7.5, like=x), np.full((2, 2), 7.5)),
    "arange": (lambda x: np.arange(1.0, 4.0, 0.5, like=x), np.arange(1.0, 4.0, 0.5)),
    "eye": (lambda x: np.eye(3, 4, k=1, like=x), np.eye(3, 4, k=1)),
    "identity": (lambda x: np.identity(3, like=x), np.identity(3)),
    "tri": (lambda x: np.tri(3, like=x), np.tri(3)),
    "array": (lambda x: np.array([[1, 2], [3, 4]], like=x), np.array([[1, 2], [3, 4]])),
    "asarray": (lambda x: np.asarray([1.0, 2.0], like=x), np.asarray([1.0, 2.0])),
    "asanyarray": (lambda x: np.asanyarray((1, 2), like=x), np.asanyarray((1, 2))),
    "ascontiguousarray": (
        lambda x: np.ascontiguousarray([1.0], like=x),
        np.ascontiguousarray([1.0]),
    ),
    "asfortranarray": (lambda x: np.asfortranarray([[1.0]], like=x), np.asfortranarray([[1.0]])),
    "require": (lambda x: np.require([1, 2], dtype=float, like=x), np.require([1, 2], float)),
    "frombuffer": (
        lambda x: np.frombuffer(b"\x01\x02", dtype=np.uint8, like=x),
        np.frombuffer(b"\x01\x02", dtype=np.uint8),
    ),
    "fromiter": (lambda x: np.fromiter(range(4), float, like=x), np.fromiter(range(4), float)),
    "fromstring": (
        lambda x: np.fromstring("1 2 3", sep=" ", like=x),
        np.fromstring("1 2 3", sep=" "),
    ),
    "fromfunction": (
        lambda x: np.fromfunction(lambda i, j: i + 2 * j, (2, 3), like=x),
        np.fromfunction(lambda i, j: i + 2 * j, (2, 3)),
    ),
    "loadtxt": (
        lambda x: np.loadtxt(io.StringIO("1 2\n3 4"), like=x),
        np.loadtxt(io.StringIO("1 2\n3 4")),
    ),
    "genfromtxt": (
        lambda x: np.genfromtxt(io.StringIO("1,2\n3,4"), delimiter=",", like=x),
        np.genfromtxt(io.StringIO("1,2\n3,4"), delimiter=","),
    ),
}


@pytest.mark.parametrize("name", CONSTANTS)
@pytest.mark.parametrize("transform", ["grad", "jacfwd"])
def test_like_constructors_give_numpys_plain_constants(name, transform):
    make, expected = CONSTANTS[name]
    seen = {}

    def f(x):
        seen["c"] = make(x)
        return np.sum(x**2) + np.sum(np.asarray(seen["c"], dtype=float)) * 0.0

    x = np.array([1.0, -2.0])
    g = cr.grad(f)(x) if transform == "grad" else cr.jacfwd(f)(x)
    assert_allclose(g, 2 * x)
    c = seen["c"]
    assert type(c) is np.ndarray and not isinstance(c, Tracer)
    assert c.dtype == expected.dtype and c.shape == expected.shape
    if name != "empty":
        assert_array_equal(c, expected)


def test_constants_from_like_enter_the_computation():
    def f(x):
        return np.sum(x * np.arange(3, like=x)) + np.sum(np.eye(3, like=x) @ x**2)

    x = np.array([1.0, 2.0, 3.0])
    assert_allclose(cr.grad(f)(x), np.arange(3) + 2 * x)
    cr.check_grads(f, (x,), order=2, modes=("fwd", "rev"))


def test_traced_contents_of_array_like_are_stacked():
    def f(x):
        return np.array([[x[0], 2.0], [x[1] * x[0], x[1]]], like=x)

    x = np.array([1.5, -0.5])
    expected = np.array([[[1.0, 0.0], [0.0, 0.0]], [[x[1], x[0]], [0.0, 1.0]]])
    assert_allclose(cr.jacrev(f)(x), expected)
    assert_allclose(cr.jacfwd(f)(x), expected)
    cr.check_grads(lambda x: np.sum(f(x) ** 3), (x,), order=2, modes=("fwd", "rev"))
    # dtype and ndmin as NumPy's
    out = cr.jvp(lambda x: np.asarray([x[0], x[1]], np.float32, like=x), (x,), (x,))[0]
    assert out.dtype == np.float32
    out = cr.jvp(lambda x: np.array(x, ndmin=3, like=x), (x,), (x,))[0]
    assert out.shape == (1, 1, 2)


def test_full_with_a_traced_fill_value():
    def f(v):
        return np.full((2, 3), v, like=v)

    v = np.array([1.25])  # (1,): like= needs an array (NumPy refuses a NumPy scalar)
    assert_allclose(cr.jacrev(f)(v), np.ones((2, 3, 1)))
    assert_allclose(cr.jacfwd(f)(v), np.ones((2, 3, 1)))
    cr.check_grads(lambda v: np.sum(f(v) ** 3), (v,), order=2, modes=("fwd", "rev"))
    # an integer dtype is a constant
    assert cr.jvp(lambda v: np.full(2, v, dtype=int, like=v), (v,), (v,))[0].dtype == int


def test_traced_shape_arguments_raise_the_conversion_error():
    with pytest.raises(TypeError, match="stop_gradient"):
        cr.grad(lambda x: np.sum(np.arange(x, like=x)))(3.0)


def test_fromfile_with_like(tmp_path):
    path = tmp_path / "data.bin"
    np.array([1.5, 2.5], dtype=np.float64).tofile(path)
    seen = {}

    def f(x):
        seen["c"] = np.fromfile(path, dtype=np.float64, like=x)
        return np.sum(x * seen["c"])

    assert_allclose(cr.grad(f)(np.zeros(2)), [1.5, 2.5])
    assert type(seen["c"]) is np.ndarray
