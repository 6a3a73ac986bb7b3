"""np.vecdot (NumPy >= 2.0), np.matvec and np.vecmat (NumPy >= 2.2): both modes against finite
differences, jacfwd == jacrev on vector functions (batched tangents and
cotangents), broadcasting loop axes, second order, and complex operands
(conjugated first operand) against finite differences along complex directions."""

from __future__ import annotations

import numpy as np
import pytest
from complex_checks import check_one, fd_grad

import chainrule as cr

RNG = np.random.default_rng(15)

# (ufunc name, shape of the first operand, shape of the second): loop axes broadcast
# matvec and vecmat are NumPy 2.2's; vecdot is in NumPy 2.0 already
_NEW = pytest.mark.skipif(not hasattr(np, "matvec"), reason="a ufunc from NumPy 2.2 on")
CASES = [
    ("vecdot", (4, 3), (3,)),
    ("vecdot", (3,), (2, 3)),
    pytest.param("matvec", (2, 3, 4), (4,), marks=_NEW),
    pytest.param("matvec", (3, 4), (2, 4), marks=_NEW),
    pytest.param("vecmat", (4,), (2, 4, 3), marks=_NEW),
    pytest.param("vecmat", (2, 4), (4, 3), marks=_NEW),
]


def fd_jacobian(f, x, eps=1e-6):
    y = np.asarray(f(x))
    J = np.zeros(y.shape + x.shape, dtype=y.dtype)
    for i in np.ndindex(x.shape):
        e = np.zeros_like(x)
        e[i] = eps
        J[(...,) + i] = (f(x + e) - f(x - e)) / (2 * eps)
    return J


@pytest.mark.parametrize("name,sa,sb", CASES)
@pytest.mark.parametrize("which", [0, 1])
def test_jacobians_match_finite_differences(name, sa, sb, which):
    uf = getattr(np, name)
    a, b = RNG.normal(size=sa), RNG.normal(size=sb)
    f = (lambda x: uf(x, b)) if which == 0 else (lambda x: uf(a, x))
    x = (a, b)[which]
    Jf, Jr = cr.jacfwd(f)(x), cr.jacrev(f)(x)
    np.testing.assert_allclose(Jf, Jr, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(Jf, fd_jacobian(f, x), rtol=1e-7, atol=1e-8)


@pytest.mark.parametrize("name,sa,sb", CASES)
def test_second_order(name, sa, sb):
    uf = getattr(np, name)
    a, b = RNG.normal(size=sa), RNG.normal(size=sb)
    cr.check_grads(lambda a, b: np.sum(np.sin(uf(a, b))), (a, b), order=2)
    # the Hessian of a quadratic form is exact: vecdot(x, x) -> 2 I
    H = cr.hessian(lambda x: np.vecdot(x, x))(RNG.normal(size=4))
    np.testing.assert_allclose(H, 2 * np.eye(4))


def _crand(shape):
    return RNG.normal(size=shape) + 1j * RNG.normal(size=shape)


@pytest.mark.parametrize("name,sa,sb", CASES)
def test_complex_operands_against_finite_differences(name, sa, sb):
    # vecdot and vecmat conjugate their first operand: tangent maps are only
    # real-linear there, so check JVPs along complex directions and the VJP by
    # the pairing Re(sum(u * J v)) of the complex convention.
    uf = getattr(np, name)
    a, b = _crand(sa), _crand(sb)
    for which in (0, 1):
        x = (a, b)[which]
        f = (lambda x: uf(x, b)) if which == 0 else (lambda x: uf(a, x))
        v = _crand(x.shape)
        numeric = (f(x + 1e-6 * v) - f(x - 1e-6 * v)) / 2e-6
        _, t = cr.jvp(f, (x,), (v,))
        np.testing.assert_allclose(t, numeric, rtol=1e-7, atol=1e-8)
        out, vjp_fn = cr.vjp(f, x)
        u = _crand(out.shape)
        (ct,) = vjp_fn(u)
        np.testing.assert_allclose(
            np.real(np.sum(ct * v)), np.real(np.sum(u * numeric)), rtol=1e-7, atol=1e-8
        )
    # second order, in each operand
    check_one(lambda x: uf(x, b), a, order=2)
    check_one(lambda x: uf(a, x), b, order=2)


def test_grad_of_a_real_loss_has_the_documented_complex_convention():
    # f(a) = |vecdot(a, b)|^2: df/dx - i df/dy by finite differences
    a, b = _crand((3,)), _crand((3,))

    def f(a):
        return np.abs(np.vecdot(a, b)) ** 2

    g = cr.grad(f)(a)
    np.testing.assert_allclose(g, fd_grad(f, a), rtol=1e-7)


@pytest.mark.parametrize("name,sa,sb", CASES)
def test_under_vmap(name, sa, sb):
    uf = getattr(np, name)
    a, b = RNG.normal(size=(5,) + sa), RNG.normal(size=(5,) + sb)
    expect = np.stack([uf(a[i], b[i]) for i in range(5)])
    np.testing.assert_allclose(cr.vmap(uf)(a, b), expect)
    np.testing.assert_allclose(
        cr.vmap(uf, in_axes=(0, None))(a, b[0]), np.stack([uf(a[i], b[0]) for i in range(5)])
    )
    np.testing.assert_allclose(
        cr.vmap(uf, in_axes=(None, 0))(a[0], b), np.stack([uf(a[0], b[i]) for i in range(5)])
    )
    J = cr.vmap(cr.jacfwd(lambda y, x: uf(x, y)))(b, a)
    each = [cr.jacrev(lambda y, x=a[i]: uf(x, y))(b[i]) for i in range(5)]
    np.testing.assert_allclose(J, np.stack(each))


def test_keywords_on_traced_operands_are_refused_by_name():
    with pytest.raises(NotImplementedError, match=r"numpy\.vecdot.*keyword arguments \['axis'\]"):
        cr.grad(lambda x: np.vecdot(x, x, axis=0).sum())(np.ones((3, 2)))
