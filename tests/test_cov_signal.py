"""convolve and correlate: every mode, both arguments, both orders of
length, both modes of differentiation to second order, batched Jacobians,
NumPy's values, complex inputs, errors."""

from __future__ import annotations

import numpy as np
import pytest
from cov_checks import check, check_holomorphic, check_real_of_complex, traced_value
from numpy.testing import assert_allclose

import chainrule as cr
from chainrule.rules.signal import conv_window_p

RNG = np.random.default_rng(5)
LENGTHS = [(5, 3), (3, 5), (4, 4), (1, 3), (6, 1), (2, 5)]
MODES = ["full", "same", "valid"]


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("n,m", LENGTHS)
@pytest.mark.parametrize("fn", [np.convolve, np.correlate], ids=["convolve", "correlate"])
def test_real(fn, n, m, mode):
    a, v = RNG.normal(size=n), RNG.normal(size=m)
    check(lambda x, y: fn(x, y, mode), a, v, ref=fn(a, v, mode))


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("n,m", [(5, 3), (2, 5)])
@pytest.mark.parametrize("fn", [np.convolve, np.correlate], ids=["convolve", "correlate"])
def test_complex(fn, n, m, mode):
    a = RNG.normal(size=n) + 1j * RNG.normal(size=n)
    v = RNG.normal(size=m) + 1j * RNG.normal(size=m)
    assert_allclose(traced_value(lambda x: fn(x, v, mode), a), fn(a, v, mode), rtol=1e-12)
    assert_allclose(traced_value(lambda y: fn(a, y, mode), v), fn(a, v, mode), rtol=1e-12)
    check_holomorphic(lambda x: fn(x, v, mode), a)
    check_real_of_complex(lambda y: fn(a, y, mode), v)
    if fn is np.convolve:  # holomorphic in v too; correlate conjugates v
        check_holomorphic(lambda y: fn(a, y, mode), v)


def test_real_argument_of_complex_result():
    a, v = RNG.normal(size=4), RNG.normal(size=3) + 1j * RNG.normal(size=3)
    g = cr.grad(lambda x: np.sum(np.abs(np.convolve(x, v)) ** 2))(a)
    assert g.dtype == np.float64
    e = 1e-6
    fd = [
        (
            np.sum(np.abs(np.convolve(a + e * d, v)) ** 2)
            - np.sum(np.abs(np.convolve(a - e * d, v)) ** 2)
        )
        / (2 * e)
        for d in np.eye(4)
    ]
    assert_allclose(g, fd, rtol=1e-6)


def test_closed_form_and_mode_names():
    a = np.array([1.0, 2.0, 3.0])
    assert_allclose(cr.grad(lambda k: np.convolve(a, k, "valid").sum())(np.ones(2)), [5.0, 3.0])
    # NumPy reads only a mode's first letter, any case; 0, 1, 2 are valid, same, full
    for mode, ref in (("F", "full"), ("s", "same"), (0, "valid"), (2, "full")):
        out = traced_value(lambda k, mode=mode: np.convolve(a, k, mode), np.ones(2))
        assert_allclose(out, np.convolve(a, np.ones(2), ref))


def _window_ref(a, v, lo, hi):
    full = np.convolve(a, v)
    padded = np.concatenate([np.zeros(max(0, -lo)), full, np.zeros(max(0, hi - len(full)))])
    return padded[lo + max(0, -lo) : hi + max(0, -lo)]


@pytest.mark.parametrize("lo,hi", [(0, 7), (2, 5), (-2, 3), (4, 10), (-3, 12), (6, 7)])
def test_window_primitive_any_window_and_leading_axes(lo, hi):
    a, v = RNG.normal(size=(3, 1, 5)), RNG.normal(size=(2, 3))
    out = conv_window_p.impl(a, v, lo, hi)
    ref = np.array([[_window_ref(a[i, 0], v[j], lo, hi) for j in range(2)] for i in range(3)])
    assert_allclose(out, ref, rtol=1e-12, atol=1e-14)
    assert_allclose(conv_window_p.impl(a[0, 0], v[0], lo, hi), ref[0, 0], rtol=1e-12, atol=1e-14)
    assert_allclose(conv_window_p.impl(v[0], a[0, 0], lo, hi), ref[0, 0], rtol=1e-12, atol=1e-14)
    check(lambda x, y: conv_window_p(x, y, lo, hi), a[0, 0], v[0])


def test_long_signal_short_kernel_gradient_stays_cheap():
    # The kernel's cotangent is a window of length 16 of a 200000-by-200000
    # convolution: computed directly, never the full product.
    signal, kernel = RNG.normal(size=200_000), RNG.normal(size=16)
    ga, gk = cr.grad(lambda s, k: np.sum(np.convolve(s, k, "same") ** 2), argnums=(0, 1))(
        signal, kernel
    )
    y = np.convolve(signal, kernel, "same")
    # d/dk sum(y^2) = 2 sum_j y_j * d y_j / d k
    e = np.zeros(16)
    e[3] = 1.0
    assert_allclose(gk[3], 2 * np.sum(y * np.convolve(signal, e, "same")), rtol=1e-10)
    assert ga.shape == signal.shape


def test_errors():
    with pytest.raises(ValueError, match="a cannot be empty"):
        cr.jacrev(lambda x: np.convolve(np.zeros(0), x))(np.ones(2))
    with pytest.raises(ValueError, match="v cannot be empty"):
        cr.jacrev(lambda x: np.convolve(x, np.zeros(0)))(np.ones(2))
    with pytest.raises(ValueError, match="mode must be one of"):
        cr.jacrev(lambda x: np.convolve(x, x, "wide"))(np.ones(2))
    with pytest.raises(ValueError, match="too deep"):
        cr.jacrev(lambda x: np.convolve(x, np.ones(2)))(np.ones((2, 2)))
