"""``numpy.fft``: every transform against finite differences in both modes to
second order, with ``n``/``s``, ``axis``/``axes`` and every ``norm``, on real
and complex inputs, through plain ``np.fft`` and ``chainrule.numpy.fft``; and
the worked example, the power spectrum of a signal."""

from __future__ import annotations

import numpy as np
import pytest
from complex_checks import fd_grad
from conftest import rand
from numpy.testing import assert_allclose
from test_complex import check_complex

import chainrule as cr
import chainrule.numpy as cnp

RNG = np.random.default_rng(11)


def crand(*shape):
    return rand(*shape) + 1j * rand(*shape)


NORMS = [None, "backward", "ortho", "forward"]

# name, keyword arguments, input shape; the input may be real or complex
ONE_D = [
    ("fft", {}, (5,)),
    ("fft", {"n": 8}, (5,)),
    ("fft", {"n": 3, "axis": 0}, (4, 2)),
    ("ifft", {}, (6,)),
    ("ifft", {"n": 4, "axis": -2}, (3, 2)),
    ("irfft", {}, (4,)),
    ("irfft", {"n": 7}, (4,)),
    ("irfft", {"n": 4, "axis": 0}, (5, 2)),
    ("hfft", {}, (4,)),
    ("hfft", {"n": 5, "axis": 0}, (3, 2)),
]
N_D = [
    ("fft2", {}, (3, 4)),
    ("fft2", {"s": (2, 5)}, (3, 4)),
    ("ifft2", {"axes": (0, 2)}, (2, 2, 3)),
    ("fftn", {}, (2, 3, 2)),
    ("fftn", {"axes": (-1,)}, (2, 3)),
    ("fftn", {"s": (4, 2), "axes": (0, 1)}, (3, 3)),
    ("ifftn", {"axes": (1, 0)}, (3, 4)),
    ("irfft2", {}, (3, 3)),
    ("irfftn", {"s": (4, 5), "axes": (0, 1)}, (3, 3)),
    ("irfftn", {"axes": (0,)}, (3, 2)),
]
REAL_ONLY = [
    ("rfft", {}, (6,)),
    ("rfft", {"n": 5}, (6,)),
    ("rfft", {"axis": 0}, (5, 2)),
    ("ihfft", {}, (5,)),
    ("ihfft", {"n": 8, "axis": 0}, (4, 2)),
    ("rfft2", {}, (3, 4)),
    ("rfft2", {"s": (4, 3)}, (3, 4)),
    ("rfftn", {"axes": (1, 0)}, (3, 4)),
    ("rfftn", {}, (2, 3, 2)),
]


def _ids(cases):
    return [f"{name}{kwargs}{shape}" for name, kwargs, shape in cases]


def _functions(name, kwargs, norm):
    np_f, cnp_f = getattr(np.fft, name), getattr(cnp.fft, name)
    return (lambda x: np_f(x, norm=norm, **kwargs)), (lambda x: cnp_f(x, norm=norm, **kwargs))


@pytest.mark.parametrize("case", ONE_D + N_D + REAL_ONLY, ids=_ids(ONE_D + N_D + REAL_ONLY))
@pytest.mark.parametrize("norm", NORMS)
def test_real_input(case, norm):
    name, kwargs, shape = case
    f, g = _functions(name, kwargs, norm)
    x = rand(*shape)
    assert_allclose(g(x), f(x), atol=1e-12)
    check_complex(f, x, order=2)
    check_complex(g, x, order=1)
    # the Jacobian of the real and imaginary parts, both modes (batched rules)
    parts = lambda x: cnp.stack([np.real(f(x)), np.imag(f(x))])  # noqa: E731
    assert_allclose(cr.jacrev(parts)(x), cr.jacfwd(parts)(x), atol=1e-12)
    assert_allclose(
        cr.jacfwd(f)(x), cr.jacfwd(parts)(x)[0] + 1j * cr.jacfwd(parts)(x)[1], atol=1e-12
    )


@pytest.mark.parametrize("case", ONE_D + N_D, ids=_ids(ONE_D + N_D))
@pytest.mark.parametrize("norm", NORMS)
def test_complex_input(case, norm):
    name, kwargs, shape = case
    f, g = _functions(name, kwargs, norm)
    z = crand(*shape)
    check_complex(f, z, order=2)
    check_complex(g, z, order=1)
    loss = lambda z: np.sum(np.abs(f(z)) ** 3)  # noqa: E731
    assert_allclose(cr.grad(loss)(z), fd_grad(loss, z), rtol=1e-5, atol=1e-6)
    if name in ("fft", "ifft", "fft2", "ifft2", "fftn", "ifftn"):  # holomorphic (linear)
        Jr = cr.jacrev(f, holomorphic=True)(z)
        assert_allclose(Jr, cr.jacfwd(f, holomorphic=True)(z), atol=1e-12)
        basis = np.eye(z.size).reshape((z.size,) + z.shape)
        columns = np.stack([f(b + 0j) for b in basis], axis=-1)
        assert_allclose(Jr, columns.reshape(Jr.shape), atol=1e-12)


def test_irfft_ignores_imaginary_parts_it_does_not_read():
    # imag of the zero-frequency and (even n) Nyquist terms do not change the result.
    z = crand(4)
    g = cr.grad(lambda z: np.sum(np.fft.irfft(z) ** 2))(z)
    assert g[0].imag == 0.0 and g[-1].imag == 0.0
    g = cr.grad(lambda z: np.sum(np.fft.irfft(z, n=7) ** 2))(z)
    assert g[0].imag == 0.0 and g[-1].imag != 0.0


@pytest.mark.parametrize("name", ["fftshift", "ifftshift"])
@pytest.mark.parametrize("axes", [None, 0, -1, (0, 1)], ids=str)
def test_shifts(name, axes):
    for x in (rand(3, 4), crand(3, 5)):
        f = lambda x: getattr(np.fft, name)(x, axes=axes)  # noqa: E731
        assert_allclose(getattr(cnp.fft, name)(x, axes), f(x))
        check_complex(f, x, order=2)
    x = rand(5)
    J = cr.jacrev(getattr(np.fft, name))(x)
    assert_allclose(J, getattr(np.fft, name)(np.eye(5), axes=0))


def test_round_trips_have_identity_derivatives():
    x = rand(6)
    for f in (
        lambda x: np.real(np.fft.ifft(np.fft.fft(x))),
        lambda x: np.fft.irfft(np.fft.rfft(x), n=6),
        lambda x: np.fft.hfft(np.fft.ihfft(x), n=6),
        lambda x: np.fft.irfftn(np.fft.rfftn(x.reshape(2, 3)), s=(2, 3)).ravel(),
    ):
        J = cr.jacrev(f)(x)
        assert J.dtype == np.float64
        assert_allclose(J, np.eye(6), atol=1e-12)
        assert_allclose(cr.jacfwd(f)(x), np.eye(6), atol=1e-12)


def test_hessians_through_fft():
    x = rand(5)
    f = lambda x: np.sum(np.abs(np.fft.rfft(x * x, n=8)) ** 3)  # noqa: E731
    H = cr.hessian(f)(x)
    assert H.dtype == np.float64
    assert_allclose(H, cr.jacrev(cr.jacrev(f))(x), atol=1e-9)
    g = lambda x: np.sum(np.fft.irfft2(np.fft.fft2(x) ** 2, s=x.shape))  # noqa: E731
    y = rand(3, 4)
    assert_allclose(cr.hessian(g)(y), cr.jacrev(cr.jacrev(g))(y), atol=1e-9)


def power_spectrum(signal):
    """|rfft(signal)|^2 / n: the periodogram of a real signal."""
    return np.abs(np.fft.rfft(signal)) ** 2 / signal.shape[-1]


def test_worked_example_power_spectrum():
    # A 1 Hz sine sampled 8 times: all its power is in frequency bin 1.
    n = 8
    t = np.arange(n) / n
    signal = np.sin(2 * np.pi * t) + 0.25 * rand(n)
    assert np.argmax(power_spectrum(signal)) == 1
    # d p_k / d signal_j = 2 Re(conj(X_k) e^{-2 pi i j k / n}) / n, with X = rfft(signal).
    X = np.fft.rfft(signal)
    k = np.arange(n // 2 + 1)[:, None]
    j = np.arange(n)[None, :]
    expected = 2 * np.real(np.conj(X)[:, None] * np.exp(-2j * np.pi * j * k / n)) / n
    J = cr.jacrev(power_spectrum)(signal)
    assert J.dtype == np.float64
    assert_allclose(J, expected, atol=1e-12)
    assert_allclose(cr.jacfwd(power_spectrum)(signal), expected, atol=1e-12)
    # Parseval: the power summed with its mirror images is sum(signal**2), so the
    # gradient of that total is 2 * signal.
    w = np.ones(n // 2 + 1)
    w[1:-1] = 2.0
    total = lambda s: np.sum(w * power_spectrum(s))  # noqa: E731
    assert_allclose(total(signal), np.sum(signal**2))
    assert_allclose(cr.grad(total)(signal), 2 * signal, atol=1e-12)
    cr.check_grads(power_spectrum, (signal,), order=2)


def test_batched_signals_with_axis():
    x = rand(3, 8)
    f = lambda x: np.sum(np.abs(np.fft.rfft(x, axis=-1)) ** 2, axis=-1)  # noqa: E731
    assert_allclose(cr.jacrev(f)(x), cr.jacfwd(f)(x), atol=1e-12)
    cr.check_grads(f, (x,), order=2)


def test_errors():
    x = rand(4)
    with pytest.raises(ValueError, match="norm"):
        cr.grad(lambda x: np.sum(np.abs(np.fft.fft(x, norm="bad"))))(x)
    with pytest.raises(ValueError, match="data points"):
        cr.grad(lambda x: np.sum(np.abs(np.fft.fft(x, n=0))))(x)
    with pytest.raises(TypeError, match="real input"):
        cr.grad(lambda z: np.sum(np.abs(np.fft.rfft(z))))(x + 1j)
    with pytest.raises(cr.errors.ConversionError):
        cr.grad(lambda x: np.sum(np.abs(np.fft.fft(x, out=np.empty(4, complex)))))(x)


def test_namespace_mirrors_numpy_fft():
    for name in [
        "fft",
        "ifft",
        "rfft",
        "irfft",
        "fft2",
        "ifft2",
        "rfft2",
        "irfft2",
        "fftn",
        "ifftn",
        "rfftn",
        "irfftn",
        "hfft",
        "ihfft",
        "fftshift",
        "ifftshift",
    ]:
        assert name in cnp.fft.DIFFERENTIABLE
    assert cnp.fft.fftfreq is np.fft.fftfreq
