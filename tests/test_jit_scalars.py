"""cr.jit and Python numbers: traced by type, weakly typed as NumPy's rules say.

A Python int/float/bool/complex argument is a traced 0-d value keyed by its
type (not its value), and it keeps the weak typing of a Python scalar:
``float32_array * 2.5`` is float32 eagerly and must stay float32 replayed.
"""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr

X32 = np.array([0.5, -1.25, 2.0], dtype=np.float32)


def _same(a, b):
    """Bitwise equal, with the same dtype (or the same Python type)."""
    assert type(a) is type(b), (type(a), type(b))
    if isinstance(a, np.ndarray | np.generic):
        assert a.dtype == b.dtype, (a.dtype, b.dtype)
        np.testing.assert_array_equal(a, b)
    else:
        assert a == b


@pytest.mark.parametrize("s", [2.5, 3, True, -0.75])
def test_float32_times_python_number_stays_float32(s):
    f = lambda x, s: x * s  # noqa: E731
    jf = cr.jit(f)
    for x in (X32, X32 + 1):  # the second call is a replay
        out = jf(x, s)
        assert out.dtype == np.float32
        _same(out, f(x, s))


def test_weak_values_stay_weak_through_python_operators():
    # s * s, -s, 2 / s, s ** 2 are Python numbers eagerly: still weak here
    def f(x, s):
        return x * (s * s) + (-s) * x - x / (2 / s) + s**2

    jf = cr.jit(f)
    for s in (1.5, -0.25, 3.0):
        _same(jf(X32, s), f(X32, s))
    assert jf.cache_size() == 1  # one program: keyed by type, not value


def test_numpy_functions_of_python_numbers_are_strong_as_in_numpy():
    # np.sin(2.5) is an np.float64 eagerly, which promotes float32 to float64
    def f(x, s):
        return x * np.sin(s), np.sin(s), s * 2

    jf = cr.jit(f)
    for s in (0.5, 2.5):
        out, expected = jf(X32, s), f(X32, s)
        assert out[0].dtype == np.float64
        for a, b in zip(out, expected):
            _same(a, b)
    assert type(jf(X32, 4.0)[2]) is float  # a Python number, as eagerly


def test_types_are_separate_signatures():
    f = lambda x, s: x * s  # noqa: E731
    jf = cr.jit(f)
    for s in (2.0, 5.0, 2, 7, True, False, 1j):
        _same(jf(X32, s), f(X32, s))
    assert jf.cache_size() == 4  # float, int, bool, complex
    assert jf(X32, 1j).dtype == np.complex64  # complex64: weak complex keeps float32's width


@pytest.mark.parametrize("transform", [cr.grad, cr.jacfwd, cr.jacrev])
def test_derivatives_in_float32_with_a_python_number(transform):
    def f(x, s):
        return np.sum(np.tanh(x * s) * s + x**2 / s)

    g = transform(f)
    jg = cr.jit(g)
    for s in (0.5, 1.75):
        out = jg(X32, s)
        assert out.dtype == np.float32
        _same(out, g(X32, s))
    # against the closed form d/dx = s^2 (1 - tanh(sx)^2) + 2x / s
    s = 1.75
    x64 = X32.astype(np.float64)
    expected = s**2 * (1 - np.tanh(s * x64) ** 2) + 2 * x64 / s
    np.testing.assert_allclose(jg(X32, s), expected, rtol=1e-5)


def test_derivative_with_respect_to_a_python_number():
    def f(s):
        return np.sin(s) * s * 2.0

    for transform in (cr.grad, cr.jacfwd, cr.value_and_grad):
        jg = cr.jit(transform(f))
        for s in (0.3, 1.2):
            _same(jg(s), transform(f)(s))
    s = 1.2
    np.testing.assert_allclose(cr.jit(cr.grad(f))(s), 2 * (np.cos(s) * s + np.sin(s)))


def test_guards_on_python_numbers():
    def f(x, n):
        for _ in range(n):  # a loop bound: a guard on n's value
            x = x * 0.5
        return x if n % 2 else -x

    jf = cr.jit(f)
    for n in (3, 2, 3, 0):
        _same(jf(X32, n), f(X32, n))
    assert jf.cache_size() == 3
