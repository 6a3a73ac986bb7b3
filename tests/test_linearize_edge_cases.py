"""``linearize``: its tangent function accepts what ``jvp`` accepts, for several
arguments, several outputs, checkpointed functions and under ``grad``.

The first test pins a fixed bug: ``jvp_fn`` rejected a float64 tangent for a
float32 primal (``jvp`` accepts it) with a misleading "vjp_fn: cotangent"
message, because the cast tangents were discarded.
"""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr


def test_linearize_accepts_tangents_like_jvp():
    x32 = np.array([1.0, 2.0], dtype=np.float32)
    t = np.ones(2)
    _, jv = cr.jvp(lambda x: x * 2, (x32,), (t,))
    _, lin = cr.linearize(lambda x: x * 2, x32)
    np.testing.assert_allclose(lin(t), jv)


def test_linearize_various():
    x = np.array([0.3, 0.6, -0.2])
    v = np.array([1.0, 2.0, 3.0])
    _, lin = cr.linearize(lambda a, b: a * b, x, 2 * x)
    np.testing.assert_allclose(lin(v, v), 3 * x * v)
    _, lin = cr.linearize(lambda x: (x, x**2), x)
    t0, t1 = lin(v)
    np.testing.assert_allclose(t0, v)
    np.testing.assert_allclose(t1, 2 * x * v)
    _, lin = cr.linearize(cr.checkpoint(lambda x: np.sin(x) * x), x)
    np.testing.assert_allclose(lin(v), (np.cos(x) * x + np.sin(x)) * v)
    assert cr.grad(lambda y: cr.linearize(lambda x: x**3, y)[1](1.0))(2.0) == pytest.approx(12.0)
