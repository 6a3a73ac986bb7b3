"""Peak memory of a gradient of large arrays (issue #13).

NumPy reports its buffers to tracemalloc, so the extra peak of one gradient
call (the highest traced memory during it minus what was held before: the
input does not count, the returned gradient does) can be counted in arrays
of the input's size. The hand-written gradient of ``sum(sin(x) * x)``,
``cos(x) * x + sin(x)``, peaks at 2 arrays; chainrule must stay within one
array more: it keeps ``sin(x)`` from the forward pass, and ``grad`` releases
each part of the recording as the backward pass is done with it.
"""

from __future__ import annotations

import gc
import tracemalloc

import numpy as np
import pytest

import chainrule as cr

N = 10**7  # 80 MB a float64 array: Python's own allocations are noise
N_SMALL = 10**6  # 8 MB: still far above the bookkeeping, and quicker


def _peak_arrays(fn, x) -> float:
    fn(x)  # warm up: one-time allocations stay out of the peak
    gc.collect()
    tracemalloc.start()
    try:
        held, _ = tracemalloc.get_traced_memory()
        tracemalloc.reset_peak()
        fn(x)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return (peak - held) / x.nbytes


@pytest.fixture(scope="module")
def x():
    return np.random.default_rng(0).standard_normal(N)


def test_sum_sin_x_times_x_within_one_array_of_hand_written(x):
    hand = _peak_arrays(lambda x: np.cos(x) * x + np.sin(x), x)
    ours = _peak_arrays(cr.grad(lambda x: np.sum(np.sin(x) * x)), x)
    assert hand == pytest.approx(2.0, abs=0.05)
    assert ours <= hand + 1.0 + 0.05, f"grad peaked at {ours:.2f} arrays (hand-written {hand:.2f})"


@pytest.mark.parametrize(
    "f, arrays",
    [
        (lambda x: np.sum(np.sin(x)), 1.0),  # the gradient itself
        (lambda x: np.sum(x * x), 2.0),
        (lambda x: np.sum(np.sin(np.sin(x))), 2.0),  # a chain holds one array a link
        (lambda x: np.sum(np.sin(x) * np.exp(-(x**2))), 4.0),  # the benchmark's
    ],
    ids=["sin", "x*x", "sin(sin)", "elementwise-benchmark"],
)
def test_gradient_peaks(x, f, arrays):
    ours = _peak_arrays(cr.grad(f), x[:N_SMALL].copy())
    assert ours <= arrays + 0.05, f"grad peaked at {ours:.2f} arrays, expected {arrays}"


def test_the_gradient_is_still_right(x):
    small = x[:1000]
    g = cr.grad(lambda x: np.sum(np.sin(x) * x))(small)
    np.testing.assert_allclose(g, np.cos(small) * small + np.sin(small), rtol=1e-13)


def test_a_vjp_can_still_be_pulled_back_twice():
    """Only grad's single pull-back releases the recording as it goes."""
    x = np.linspace(-1.0, 1.0, 5)
    _, pull = cr.vjp(lambda x: np.sin(x) * x, x)
    first = pull(np.ones(5))[0]
    second = pull(np.ones(5))[0]
    np.testing.assert_array_equal(first, second)
    np.testing.assert_allclose(first, np.cos(x) * x + np.sin(x), rtol=1e-14)
