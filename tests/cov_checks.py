"""Checks shared by the coverage tests of the composite NumPy families
(calculus, creation, signal, editing, polynomials, covariance, bessel).

``check``: ``cr.check_grads`` in both modes to second order, the reverse and
forward Jacobians equal (the batched rules of both modes), and the value seen
while tracing equal to NumPy's. ``check_holomorphic`` and
``check_real_of_complex`` do the same for complex inputs.
"""

from __future__ import annotations

import numpy as np
from numpy.testing import assert_allclose

import chainrule as cr


def leaves(x):
    return [np.asarray(v) for v in cr.tree.leaves(x)]


def assert_tree_close(a, b, rtol=1e-12, atol=1e-12):
    la, lb = leaves(a), leaves(b)
    assert len(la) == len(lb)
    for x, y in zip(la, lb):
        assert x.shape == y.shape, (x.shape, y.shape)
        assert_allclose(x, y, rtol=rtol, atol=atol, equal_nan=True)


def traced_value(f, *args):
    return cr.vjp(f, *args)[0]


def check(f, *args, ref=None, order=2, jac=True):
    cr.check_grads(f, args, order=order, modes=("fwd", "rev"))
    if jac:
        for i in range(len(args)):
            jr = cr.jacrev(f, argnums=i)(*args)
            jf = cr.jacfwd(f, argnums=i)(*args)
            assert_tree_close(jr, jf, rtol=1e-10, atol=1e-12)
    if ref is not None:
        assert_tree_close(traced_value(f, *args), ref)


def _fd_columns(f, z, eps):
    z = np.asarray(z)
    cols = []
    for i in np.ndindex(z.shape):
        e = np.zeros(z.shape, dtype=complex)
        e[i] = eps
        cols.append((np.asarray(f(z + e)) - np.asarray(f(z - e))) / (2 * eps))
    out = np.stack(cols, axis=-1)
    return out.reshape(out.shape[:-1] + z.shape)


def check_holomorphic(f, z, eps=1e-6):
    """A holomorphic ``f`` of one complex array: both Jacobians equal and
    match complex central differences; the second derivatives too."""
    jr = cr.jacrev(f, holomorphic=True)(z)
    jf = cr.jacfwd(f, holomorphic=True)(z)
    assert_allclose(jr, jf, rtol=1e-10, atol=1e-12)
    assert_allclose(jr, _fd_columns(f, z, eps), rtol=1e-6, atol=1e-6)
    j = cr.jacrev(f, holomorphic=True)
    h1 = cr.jacfwd(j, holomorphic=True)(z)
    h2 = cr.jacrev(j, holomorphic=True)(z)
    assert_allclose(h1, h2, rtol=1e-9, atol=1e-10)
    assert_allclose(h1, _fd_columns(j, z, eps), rtol=1e-5, atol=1e-5)


def fd_grad(g, z, eps=1e-6):
    """``dg/dx - i dg/dy`` of a real ``g`` by central differences."""
    z = np.asarray(z, dtype=complex)
    out = np.zeros(z.shape, dtype=complex)
    for i in np.ndindex(z.shape):
        e = np.zeros(z.shape)
        e[i] = eps
        dx = (g(z + e) - g(z - e)) / (2 * eps)
        dy = (g(z + 1j * e) - g(z - 1j * e)) / (2 * eps)
        out[i] = dx - 1j * dy
    return out


def check_real_of_complex(f, z):
    """The gradient of ``sum |f(z)|^2`` (a real function of complex ``z``,
    holomorphic or not) against central differences along both parts."""

    def g(w):
        return np.sum(np.abs(f(w)) ** 2)

    assert_allclose(cr.grad(g)(z), fd_grad(g, z), rtol=1e-6, atol=1e-6)
