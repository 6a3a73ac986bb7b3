"""Derivative checks for functions of one complex (or real) array, shared by the
rule sweeps: forward mode against central differences along a random direction
of the argument's dtype, reverse mode through the pairing ``Re(sum(u * J v))``
of the complex convention (docs/design.md), and the same for the JVP and VJP
maps themselves up to ``order``; and ``fd_grad``, the central-difference
gradient ``df/dx - i df/dy`` of a real function of a complex array."""

from __future__ import annotations

import numpy as np

import chainrule as cr


def like(x, rng):
    """A random array of ``x``'s shape and dtype (complex parts both random)."""
    x = np.asarray(x)
    v = rng.standard_normal(x.shape)
    if x.dtype.kind == "c":
        v = v + 1j * rng.standard_normal(x.shape)
    return v.astype(x.dtype)


def check_one(f, x, order=2, eps=1e-6, rtol=1e-6, atol=1e-7, seed=0):
    rng = np.random.default_rng(seed)
    x = np.asarray(x)
    v = like(x, rng)
    numeric = (np.asarray(f(x + eps * v)) - np.asarray(f(x - eps * v))) / (2 * eps)
    _, t = cr.jvp(f, (x,), (v,))
    np.testing.assert_allclose(t, numeric, rtol=rtol, atol=atol, err_msg="forward mode")
    out, vjp_fn = cr.vjp(f, x)
    u = like(out, rng)
    (ct,) = vjp_fn(u)
    assert np.asarray(ct).dtype == x.dtype, "a cotangent has its input's dtype"
    lhs = np.real(np.sum(np.asarray(ct) * v))
    rhs = np.real(np.sum(u * numeric))
    np.testing.assert_allclose(lhs, rhs, rtol=rtol, atol=atol, err_msg="reverse mode")
    if order > 1:
        check_one(lambda a: cr.jvp(f, (a,), (v,))[1], x, order - 1, eps, rtol, atol, seed + 1)
        check_one(lambda a: cr.vjp(f, a)[1](u)[0], x, order - 1, eps, rtol, atol, seed + 2)


def fd_grad(f, z, eps=1e-6):
    """``df/dx - i df/dy`` of a real function, by central differences taken
    separately along the real and the imaginary direction of each element."""
    z = np.asarray(z)
    g = np.zeros(z.shape, dtype=complex)
    for i in np.ndindex(z.shape):
        e = np.zeros(z.shape)
        e[i] = eps
        dx = (f(z + e) - f(z - e)) / (2 * eps)
        dy = (f(z + 1j * e) - f(z - 1j * e)) / (2 * eps)
        g[i] = dx - 1j * dy
    return g
