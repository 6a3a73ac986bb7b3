"""The foreign-array path without a GPU: a duck array that speaks NumPy's
protocols (NEP 13 ``__array_ufunc__``, NEP 18 ``__array_function__``) over a
private ndarray, as CuPy does over device memory, and refuses ``__array__``
(CuPy refuses implicit conversion the same way). Traced values must wrap it,
every rule must keep results of its kind, nothing may convert it to NumPy, and
nothing may write into the user's arrays.
"""

from __future__ import annotations

import sys

import numpy as np
import pytest

import chainrule as cr
import chainrule.numpy as cnp
from chainrule._backends import is_foreign, namespace, ones, zeros

sys.path.insert(0, __file__.rsplit("/", 1)[0])
from test_rule_families import FAMILIES, X  # noqa: E402


class Converted(AssertionError):
    """Raised when a Duck is turned into a NumPy array."""


def _unwrap(x):
    if isinstance(x, Duck):
        return x._data
    if type(x) in (list, tuple):
        return type(x)(_unwrap(v) for v in x)
    if type(x) is dict:
        return {k: _unwrap(v) for k, v in x.items()}
    return x


def _wrap(x):
    if isinstance(x, (np.ndarray, np.generic)):  # reductions give 0-d arrays, as CuPy's do
        return Duck(x)
    if type(x) in (list, tuple):
        return type(x)(_wrap(v) for v in x)
    return x


class Duck(np.lib.mixins.NDArrayOperatorsMixin):
    """A NumPy-backed array that is not an ndarray. ``frozen`` ones (the user's
    inputs) refuse item assignment, so an in-place write into them fails."""

    __module__ = "duckarray"  # what is_foreign reads to tell a library's arrays

    def __init__(self, data, frozen=False):
        self._data = np.asarray(data)
        self._frozen = frozen

    # -- the protocols -----------------------------------------------------
    def __array__(self, dtype=None, copy=None):
        raise Converted("a Duck array was converted to a NumPy array")

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        if "out" in kwargs or method == "at":
            target = kwargs.get("out", (inputs[0],))[0] if method != "at" else inputs[0]
            if isinstance(target, Duck) and target._frozen:
                raise AssertionError(f"in-place {ufunc.__name__}.{method} into a user's array")
        result = getattr(ufunc, method)(*_unwrap(inputs), **_unwrap(kwargs))
        return None if method == "at" else _wrap(result)

    def __array_function__(self, func, types, args, kwargs):
        return _wrap(func(*_unwrap(args), **_unwrap(kwargs)))

    # -- what arrays have ------------------------------------------------
    shape = property(lambda self: self._data.shape)
    dtype = property(lambda self: self._data.dtype)
    ndim = property(lambda self: self._data.ndim)
    size = property(lambda self: self._data.size)
    T = property(lambda self: Duck(self._data.T))
    real = property(lambda self: Duck(self._data.real))
    imag = property(lambda self: Duck(self._data.imag))

    def __len__(self):
        return len(self._data)

    def __getitem__(self, idx):
        return _wrap(self._data[_unwrap(idx)])

    def __setitem__(self, idx, value):
        if self._frozen:
            raise AssertionError("item assignment into a user's array")
        self._data[_unwrap(idx)] = _unwrap(value)

    def __bool__(self):  # CuPy answers it too (waiting for the device): a branch, no copy
        return bool(self._data)

    def __float__(self):
        raise Converted("float() of a Duck array")

    def __getattr__(self, name):  # methods: x.sum(axis=...), x.reshape(...), x.astype(...)
        if name.startswith("__"):  # __array_interface__ would hand NumPy the buffer
            raise AttributeError(name)
        attr = getattr(self._data, name)
        if not callable(attr):
            return _wrap(attr)
        return lambda *a, **k: _wrap(attr(*_unwrap(a), **_unwrap(k)))

    def __repr__(self):
        return f"Duck({self._data!r})"


def duck(x):
    return Duck(np.array(x, dtype=float), frozen=True)


def plain(x):
    assert isinstance(x, Duck), f"expected a Duck result, got {type(x).__name__}"
    return x._data


def values(x):
    """A result's values: a Duck's, or those of an ndarray that the rules built
    from NumPy constants alone (the derivative of a linear function)."""
    return x._data if isinstance(x, Duck) else np.asarray(x)


def test_the_duck_converts_nowhere_by_itself():
    d = duck([1.0, 2.0])
    with pytest.raises(Converted):
        np.asarray(d)
    with pytest.raises(AssertionError, match="item assignment"):
        d[0] = 3.0
    assert isinstance(np.sin(d), Duck) and isinstance(np.sum(d), Duck)


def test_backend_helpers():
    d = duck([1.0, 2.0, 3.0])
    assert is_foreign(d) and not is_foreign(X) and not is_foreign(3.0) and not is_foreign([1.0])
    assert isinstance(zeros((3,), np.float64, like=d), Duck)
    z = zeros((2, 3), np.float64, like=d)
    assert isinstance(z, Duck) and z.shape == (2, 3) and not z._data.any()
    assert plain(ones((3,), np.float32, like=d)).dtype == np.float32
    assert namespace(X) is np


@pytest.mark.parametrize("family", sorted(FAMILIES))
@pytest.mark.parametrize("jac", [cr.jacrev, cr.jacfwd], ids=["rev", "fwd"])
def test_family_on_a_duck_array_equals_numpy(family, jac):
    f = FAMILIES[family]
    want = jac(f)(X)
    got = jac(f)(duck(X))  # a conversion of the input would raise Converted
    np.testing.assert_allclose(values(got), want, rtol=1e-10, atol=1e-12)


def mlp(params, X, Y):
    h = np.tanh(X @ params["W1"] + params["b1"])
    z = h @ params["W2"]
    return -np.mean(np.sum(Y * (z - cnp.logsumexp(z, axis=1, keepdims=True)), axis=1))


def test_transforms_on_a_duck_pytree():
    rng = np.random.default_rng(5)
    p = {"W1": rng.standard_normal((4, 5)), "b1": rng.standard_normal(5)}
    p["W2"] = rng.standard_normal((5, 3))
    Xd, Yd = rng.standard_normal((6, 4)), np.eye(3)[rng.integers(0, 3, 6)]
    want = cr.grad(mlp)(p, Xd, Yd)
    got = cr.grad(mlp)({k: duck(v) for k, v in p.items()}, duck(Xd), duck(Yd))
    for k in p:
        np.testing.assert_allclose(plain(got[k]), want[k], rtol=1e-12, atol=1e-14)
    # forward mode, hvp and a Hessian on the same function of W2 alone
    f = lambda W2: mlp({**p, "W2": W2}, Xd, Yd)
    fd = lambda W2: mlp({"W1": duck(p["W1"]), "b1": duck(p["b1"]), "W2": W2}, duck(Xd), duck(Yd))
    v = rng.standard_normal((5, 3))
    _, t_want = cr.jvp(f, (p["W2"],), (v,))
    _, t_got = cr.jvp(fd, (duck(p["W2"]),), (duck(v),))
    np.testing.assert_allclose(plain(t_got), t_want, rtol=1e-12)
    _, hv_want = cr.hvp(f, (p["W2"],), (v,))
    g, hv_got = cr.hvp(fd, (duck(p["W2"]),), (duck(v),))
    np.testing.assert_allclose(plain(hv_got), hv_want, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(plain(g), cr.grad(f)(p["W2"]), rtol=1e-12)
    H = cr.hessian(lambda b: mlp({**p, "b1": b}, Xd, Yd))(p["b1"])
    Hd = cr.jacfwd(cr.grad(lambda b: fd_b(b, p, Xd, Yd)))(duck(p["b1"]))
    np.testing.assert_allclose(plain(Hd), H, rtol=1e-10, atol=1e-12)


def fd_b(b, p, Xd, Yd):
    return mlp({"W1": duck(p["W1"]), "b1": b, "W2": duck(p["W2"])}, duck(Xd), duck(Yd))


def test_value_and_grad_and_vjp_keep_the_kind():
    A = np.random.default_rng(2).standard_normal((7, 3))
    y = np.linspace(-1.0, 1.0, 7)
    th = np.array([0.2, -0.4, 0.9])
    loss = lambda th, A, y: np.mean((A @ th - y) ** 2)
    v, g = cr.value_and_grad(loss)(duck(th), duck(A), duck(y))
    np.testing.assert_allclose(plain(v), loss(th, A, y), rtol=1e-14)
    np.testing.assert_allclose(plain(g), 2 * A.T @ (A @ th - y) / 7, rtol=1e-12)
    Ad = duck(A)
    out, f_vjp = cr.vjp(lambda th: np.sin(Ad @ th), duck(th))
    (ct,) = f_vjp(np.ones(7))
    np.testing.assert_allclose(plain(out), np.sin(A @ th), rtol=1e-14)
    np.testing.assert_allclose(plain(ct), A.T @ np.cos(A @ th), rtol=1e-12)


def test_indexing_with_repeats_scatters_into_a_fresh_array():
    idx = np.array([0, 2, 2, 5])
    x = duck(X)
    g = cr.grad(lambda x: np.sum(x[idx] ** 2) + np.sum(x[1:4]))(x)
    want = cr.grad(lambda x: np.sum(x[idx] ** 2) + np.sum(x[1:4]))(X)
    np.testing.assert_allclose(plain(g), want, rtol=1e-12)
    np.testing.assert_array_equal(x._data, X)  # the input is untouched


def test_integer_duck_input_is_refused():
    with pytest.raises(TypeError, match="integer dtype int64"):
        cr.grad(lambda x: np.sum(x))(Duck(np.arange(3)))
