"""scipy.special.jve and yve (J_v and Y_v times exp(-|Im z|)), differentiable in
the argument: both modes against finite differences and the recurrence, second
order, jacfwd == jacrev on vector functions with broadcast orders, cr.vmap,
plain and chainrule.scipy calls; a traced order raises naming it; complex
arguments (not holomorphic: the scale |Im z|) against finite differences along
complex directions."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import fd_jacobian

sc = pytest.importorskip("scipy.special")

from complex_checks import check_one, fd_grad  # noqa: E402

import chainrule as cr  # noqa: E402
import chainrule.scipy.special as csp  # noqa: E402
from chainrule.errors import NoRuleError  # noqa: E402

Z = np.array([0.4, 1.7, 3.2, 6.5])
V = np.array([0.0, 0.5, 1.0, 2.5])


@pytest.mark.parametrize("name,plain", [("jve", "jv"), ("yve", "yv")])
def test_jacobians_against_finite_differences_and_recurrence(name, plain):
    fn, unscaled = getattr(sc, name), getattr(sc, plain)

    def f(z):
        return fn(V, z)

    Jf, Jr = cr.jacfwd(f)(Z), cr.jacrev(f)(Z)
    np.testing.assert_allclose(Jf, Jr, rtol=1e-13)
    np.testing.assert_allclose(Jf, fd_jacobian(f, Z), rtol=1e-7, atol=1e-9)
    # for real z the scale is 1: the derivative is (F_{v-1} - F_{v+1}) / 2
    np.testing.assert_allclose(
        np.diag(Jf), 0.5 * (unscaled(V - 1, Z) - unscaled(V + 1, Z)), rtol=1e-12
    )


@pytest.mark.parametrize("name", ["jve", "yve"])
def test_second_order_and_batched_orders(name):
    fn = getattr(sc, name)
    cr.check_grads(lambda z: fn(V, z) * z, (Z,), order=2)
    H = cr.hessian(lambda z: np.sum(fn(1.5, z)))(Z)
    # the recurrence twice: F'' = (F_{v-2} - 2 F_v + F_{v+2}) / 4
    d2 = 0.25 * (fn(-0.5, Z) - 2 * fn(1.5, Z) + fn(3.5, Z))
    np.testing.assert_allclose(H, np.diag(d2), rtol=1e-10, atol=1e-14)
    # a matrix of orders against a vector of arguments: a 2-d output
    orders = np.array([[0.0], [1.0], [3.5]])

    def g(z):
        return fn(orders, z)

    np.testing.assert_allclose(cr.jacfwd(g)(Z), cr.jacrev(g)(Z), rtol=1e-13)
    np.testing.assert_allclose(cr.jacfwd(g)(Z), fd_jacobian(g, Z), rtol=1e-6, atol=1e-9)
    got = cr.vmap(cr.grad(lambda z: fn(2.0, z)))(Z)
    np.testing.assert_allclose(got, 0.5 * (fn(1.0, Z) - fn(3.0, Z)), rtol=1e-12)


@pytest.mark.parametrize("name", ["jve", "yve"])
def test_chainrule_scipy_mirror_agrees(name):
    a = cr.grad(lambda z: np.sum(getattr(sc, name)(0.5, z)))(Z)
    b = cr.grad(lambda z: np.sum(getattr(csp, name)(0.5, z)))(Z)
    np.testing.assert_allclose(a, b)


@pytest.mark.parametrize("name", ["jve", "yve"])
def test_a_traced_order_is_refused_by_name(name):
    fn = getattr(sc, name)
    with pytest.raises(NoRuleError, match=rf"scipy\.special\.{name} \(its order v is not"):
        cr.grad(lambda v: np.sum(fn(v, Z)))(V)
    with pytest.raises(NoRuleError, match=rf"scipy\.special\.{name} \(its order v"):
        cr.jvp(lambda v: fn(v, Z), (V,), (V,))


@pytest.mark.parametrize("name", ["jve", "yve"])
def test_complex_argument_against_finite_differences(name):
    # not holomorphic (the scale e^{-|Im z|}): JVPs along complex directions and
    # the VJP by the pairing Re(sum(u * J v)), to second order, with broadcasting
    fn = getattr(sc, name)
    z = np.array([0.7 + 0.4j, 2.3 - 1.1j, 5.1 + 0.3j])
    check_one(lambda z: fn(V[:3], z), z, order=2)
    check_one(lambda z: fn(V[:3], z), z[1], order=2)  # one z against three orders


@pytest.mark.parametrize("name", ["jve", "yve"])
def test_grad_of_a_real_loss_of_complex_z_is_df_dx_minus_i_df_dy(name):
    fn = getattr(sc, name)
    z = np.array([0.7 + 0.4j, 2.3 - 1.1j])

    def f(z):
        return np.sum(np.abs(fn(0.5, z)) ** 2)

    g = cr.grad(f)(z)
    np.testing.assert_allclose(g, fd_grad(f, z), rtol=1e-7)
    np.testing.assert_allclose(
        cr.grad(lambda z: np.sum(np.abs(getattr(csp, name)(0.5, z)) ** 2))(z), g
    )
