"""Complex values among real ones: a complex intermediate of real inputs, and Python
``complex`` constants times traced values (through operators and through
``chainrule.numpy`` directly). Each test pins a bug found once.
"""

from __future__ import annotations

import numpy as np
from numpy.testing import assert_allclose

import chainrule as cr


def test_complex_intermediate_of_real_inputs_is_not_silently_wrong():
    # abs(x + 1j y) once gave the wrong sign for the y-gradient.
    x, y = np.array([1.0, -0.5]), np.array([2.0, 0.3])
    f = lambda x, y: np.sum(np.abs(x + 1j * y))  # noqa: E731
    gx, gy = cr.grad(f, argnums=(0, 1))(x, y)
    assert gx.dtype == gy.dtype == np.float64  # real inputs keep real gradients
    r = np.hypot(x, y)
    assert_allclose(gx, x / r)
    assert_allclose(gy, y / r)


def test_python_complex_times_a_traced_scalar_stays_a_numpy_value():
    # 1j * np.float64 is computed by Python's complex type and used to give a
    # plain Python complex, which broke the rules that read .ndim / .shape.
    out, t = cr.jvp(lambda z: np.exp(1j * np.imag(z)), (1 + 1j,), (1 + 0j,))
    assert_allclose(out, np.exp(1j))
    assert_allclose(t, 0.0)
    _, t = cr.jvp(lambda x: 1j * x, (2.0,), (1.0,))
    assert_allclose(t, 1j)
    assert_allclose(cr.grad(lambda x: np.real((2 + 1j) * x * (1 - 1j)))(0.5), 3.0)


def test_python_complex_constant_through_chainrule_numpy_directly():
    # The fix belongs to the primitive, not to the tracer's operators: calling
    # the primitive (cnp.multiply) must keep NumPy types too, in both modes.
    import chainrule.numpy as cnp

    out, t = cr.jvp(lambda x: cnp.multiply(1j, x), (2.0,), (1.0,))
    assert_allclose(out, 2j)
    assert_allclose(t, 1j)
    assert_allclose(cr.grad(lambda x: np.real(cnp.multiply(1j, x) * (1 - 1j)))(2.0), 1.0)
