"""Transforms nested in each other: perturbation confusion, every hessian nesting,
several arguments at second order, ``stop_gradient`` and ``checkpoint`` inside nests.
"""

from __future__ import annotations

import numpy as np
import pytest
from conftest import fd_jacobian

import chainrule as cr


def test_perturbation_confusion_reverse_and_forward():
    assert cr.grad(lambda x: x * cr.grad(lambda y: x * y)(2.0))(1.0) == pytest.approx(2.0)
    inner = lambda x: x * cr.jvp(lambda y: x * y, (2.0,), (1.0,))[1]  # noqa: E731
    assert cr.jvp(inner, (1.0,), (1.0,))[1] == pytest.approx(2.0)


def test_hessians_by_every_nesting_agree_with_fd():
    x = np.array([1.0, 2.0, 3.0])
    f = lambda x: np.sin(x[:2]) * x[1:]  # noqa: E731
    ref = fd_jacobian(lambda x: cr.jacrev(f)(x), x, 1e-5)
    for outer in (cr.jacfwd, cr.jacrev):
        for inner in (cr.jacfwd, cr.jacrev):
            np.testing.assert_allclose(outer(inner(f))(x), ref, atol=1e-6)


def test_hessian_and_hvp_several_arguments():
    f = lambda a, b: a**2 * b**3  # noqa: E731
    h = cr.hessian(f, argnums=(0, 1))(2.0, 3.0)
    np.testing.assert_allclose(np.array(h, dtype=float), [[54.0, 108.0], [108.0, 72.0]])
    g, hv = cr.hvp(f, (2.0, 3.0), (1.0, 0.0))
    np.testing.assert_allclose(g, (108.0, 108.0))
    np.testing.assert_allclose(hv, (54.0, 108.0))


def test_stop_gradient_nested():
    assert cr.grad(lambda x: x * cr.stop_gradient(x))(3.0) == pytest.approx(3.0)
    f = lambda x: cr.grad(lambda y: y * cr.stop_gradient(x * y))(x)  # noqa: E731
    assert cr.grad(f)(2.0) == pytest.approx(0.0)


def test_checkpoint_inside_hessian_and_jacfwd():
    x = np.array([0.1, 0.2])
    ck = cr.checkpoint(lambda y: cr.checkpoint(np.sin)(y) ** 2)
    ref = cr.hessian(lambda x: np.sum(np.sin(x) ** 2))(x)
    np.testing.assert_allclose(cr.hessian(lambda x: np.sum(ck(x)))(x), ref)
    np.testing.assert_allclose(cr.jacfwd(ck)(x), np.diag(np.sin(2 * x)))
