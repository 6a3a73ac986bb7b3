"""Named regression tests: each bug found once stays fixed."""

from __future__ import annotations

import numpy as np
import pytest
from numpy.testing import assert_allclose

import chainrule as cr


def test_matmul_with_a_list_operand():
    A = [[1.0, 2.0], [3.0, 4.0]]
    x = np.array([1.0, -1.0])
    assert_allclose(cr.grad(lambda x: np.sum(np.matmul(A, x)))(x), [4.0, 6.0])
    assert_allclose(cr.grad(lambda x: np.sum(np.matmul(x, A)))(x), [3.0, 7.0])
    assert_allclose(cr.jacfwd(lambda x: np.matmul(A, x))(x), A)


def test_in_place_sort_on_a_traced_array_is_refused():
    # x.sort() used to forward to np.sort and silently leave x unsorted.
    def f(x):
        x.sort()
        return x * np.arange(3.0)

    with pytest.raises(TypeError, match="np.sort"):
        cr.vjp(f, np.array([3.0, 1.0, 2.0]))


def test_complex_intermediate_of_real_inputs_is_not_silently_wrong():
    # abs(x + 1j y) once gave the wrong sign for the y-gradient.
    x, y = np.array([1.0, -0.5]), np.array([2.0, 0.3])
    f = lambda x, y: np.sum(np.abs(x + 1j * y))  # noqa: E731
    gx, gy = cr.grad(f, argnums=(0, 1))(x, y)
    assert gx.dtype == gy.dtype == np.float64  # real inputs keep real gradients
    r = np.hypot(x, y)
    assert_allclose(gx, x / r)
    assert_allclose(gy, y / r)


def test_power_zero_exponent_at_zero_is_not_nan():
    assert cr.grad(lambda x: x**0.0)(0.0) == 0.0
    assert cr.grad(lambda x: np.sum(x**2))(np.zeros(3)).tolist() == [0.0, 0.0, 0.0]


def test_plain_scipy_special_works_without_importing_chainrule_scipy():
    import subprocess
    import sys

    pytest.importorskip("scipy")
    code = (
        "import numpy as np, scipy.special, chainrule as cr\n"
        "g = cr.grad(lambda x: scipy.special.erf(x))(1.0)\n"
        "assert abs(g - 2 / np.sqrt(np.pi) * np.exp(-1.0)) < 1e-12, g\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


def test_full_like_is_differentiable_in_the_fill_value():
    import chainrule.numpy as cnp

    assert_allclose(cr.grad(lambda x: np.sum(np.full_like(x, 2.0) * x))(np.ones(2)), [2.0, 2.0])
    assert cr.grad(lambda v: cnp.sum(cnp.full_like(np.zeros(3), v)))(2.0) == 3.0
    assert_allclose(cr.jacfwd(lambda v: cnp.full_like(np.zeros((2, 2)), v))(2.0), np.ones((2, 2)))


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
