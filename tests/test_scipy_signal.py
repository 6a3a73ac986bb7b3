"""chainrule.scipy.signal: convolve, correlate, fftconvolve and lfilter against
SciPy's values and finite differences, in both modes, to second order."""

from __future__ import annotations

import numpy as np
import pytest

sps = pytest.importorskip("scipy.signal")

from test_complex import check_complex  # noqa: E402

import chainrule as cr  # noqa: E402
import chainrule.scipy.signal as css  # noqa: E402

RNG = np.random.default_rng(11)
MODES = ["full", "same", "valid"]
# (in1 shape, in2 shape): 1-d both ways round, even and odd lengths, and 2-d.
SHAPES = [((7,), (3,)), ((3,), (6,)), ((6,), (4,)), ((4, 5), (2, 3)), ((2, 3), (4, 4))]


def _traced_value(f, x):
    """``f(x)`` computed on a traced ``x`` (the value cr.jvp returns)."""
    return cr.jvp(f, (x,), (np.ones_like(x),))[0]


def _pair(s1, s2, complex_=False):
    a, v = RNG.normal(size=s1), RNG.normal(size=s2)
    if complex_:
        a, v = a + 1j * RNG.normal(size=s1), v + 1j * RNG.normal(size=s2)
    return a, v


@pytest.mark.parametrize("name", ["convolve", "correlate"])
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("shapes", SHAPES)
@pytest.mark.parametrize("complex_", [False, True])
def test_values_match_scipy_every_method(name, mode, shapes, complex_):
    a, v = _pair(*shapes, complex_)
    ours, theirs = getattr(css, name), getattr(sps, name)
    for method in ("direct", "fft", "auto"):
        want = theirs(a, v, mode, method)
        assert np.array_equal(ours(a, v, mode, method), want)  # plain inputs: SciPy itself
        got = _traced_value(lambda x, m=method: ours(x, v, mode, m), a)
        assert got.shape == want.shape
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)
        got = _traced_value(lambda y, m=method: ours(a, y, mode, m), v)
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("name", ["convolve", "correlate"])
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("shapes", [((6,), (3,)), ((3, 4), (2, 2))])
def test_derivatives_both_arguments_second_order(name, mode, shapes):
    a, v = _pair(*shapes)
    f = getattr(css, name)
    cr.check_grads(lambda x, y: np.sin(f(x, y, mode)), (a, v), order=2, modes=("fwd", "rev"))
    jr = cr.jacrev(lambda x, y: f(x, y, mode), argnums=(0, 1))(a, v)
    jf = cr.jacfwd(lambda x, y: f(x, y, mode), argnums=(0, 1))(a, v)
    for r, w in zip(jr, jf):
        np.testing.assert_allclose(r, w, atol=1e-12)


@pytest.mark.parametrize("name", ["convolve", "correlate"])
def test_complex_jacobian_is_scipys_linear_map(name):
    """Linear in each argument: the JVP is the function of the tangent, and the
    VJP its transpose (the complex convention: no conjugate)."""
    a, v = _pair((5, 3), (2, 2), complex_=True)
    f = getattr(css, name)
    t = RNG.normal(size=a.shape) + 1j * RNG.normal(size=a.shape)
    _, dout = cr.jvp(lambda x: f(x, v, "same"), (a,), (t,))
    np.testing.assert_allclose(dout, getattr(sps, name)(t, v, "same"), atol=1e-12)
    out, vjp = cr.vjp(lambda x: f(x, v, "same"), a)
    g = RNG.normal(size=out.shape) + 1j * RNG.normal(size=out.shape)
    (ga,) = vjp(g)
    np.testing.assert_allclose(np.sum(ga * t), np.sum(g * dout), atol=1e-12)
    check_complex(lambda x: np.sin(f(x, v, "full")), a)
    check_complex(lambda y: np.sin(f(a, y, "valid")), v)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(
    "s1, s2, axes",
    [
        ((4, 6), (4, 3), 1),
        ((4, 6), (1, 3), -1),
        ((5, 3, 2), (2, 3, 1), (0,)),
        ((5, 4), (2, 3), None),
    ],
)
def test_fftconvolve_axes(mode, s1, s2, axes):
    a, v = _pair(s1, s2)
    want = sps.fftconvolve(a, v, mode, axes)
    got = _traced_value(lambda x: css.fftconvolve(x, v, mode, axes), a)
    assert got.shape == want.shape
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)
    cr.check_grads(
        lambda x, y: css.fftconvolve(x, y, mode, axes) ** 2, (a, v), order=2, modes=("fwd", "rev")
    )


def test_errors_name_the_problem():
    a = cr.jvp  # keep a traced path: errors come from our checks, not SciPy's
    x = np.ones((4, 5))
    with pytest.raises(ValueError, match="'valid' mode, one input must be at least as large"):
        a(lambda y: css.convolve(y, np.ones((5, 2)), "valid"), (x,), (x,))
    with pytest.raises(ValueError, match="same dimensionality"):
        a(lambda y: css.correlate(y, np.ones(3)), (x,), (x,))
    with pytest.raises(ValueError, match="mode must be one of"):
        css.convolve(x, x, "middle")
    with pytest.raises(ValueError, match="not convolved, the shapes must be equal or 1"):
        a(lambda y: css.fftconvolve(y, np.ones((3, 2)), axes=1), (x,), (x,))


# --- lfilter ----------------------------------------------------------------------------
FILTERS = [
    ([0.5, 0.3, 0.2], [1.0, -0.5, 0.2]),  # IIR, a[0] = 1
    ([2.0], [2.0, 0.3]),  # all-pole, a[0] != 1
    ([1.0, 2.0, 3.0, 4.0], [1.5, 0.2]),  # len(b) > len(a)
    ([0.3, 0.1], [1.0]),  # FIR
]


@pytest.mark.parametrize("b, a", FILTERS)
def test_lfilter_values_match_scipy(b, a):
    b, a = np.array(b), np.array(a)
    k = max(len(a), len(b)) - 1
    x, zi = RNG.normal(size=(3, 8)), RNG.normal(size=(3, k))
    for args, kw in [
        ((b, a, x), {}),
        ((b, a, x), {"zi": zi}),
        ((b, a, x.T), {"axis": 0, "zi": zi.T}),
    ]:
        want = sps.lfilter(*args, **kw)
        got = _traced_value(lambda bb, args=args, kw=kw: css.lfilter(bb, *args[1:], **kw), b)
        for g, w in zip(got if "zi" in kw else [got], want if "zi" in kw else [want]):
            np.testing.assert_allclose(g, w, rtol=1e-12, atol=1e-12)
    # fewer samples than states: part of zi passes straight into zf
    x2, zi2 = RNG.normal(size=2), RNG.normal(size=k)
    want = sps.lfilter(b, a, x2, zi=zi2)
    got = _traced_value(lambda xx: css.lfilter(b, a, xx, zi=zi2), x2)
    np.testing.assert_allclose(got[1], want[1], rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("b, a", FILTERS)
def test_lfilter_derivatives_in_b_a_x_zi(b, a):
    b, a = np.array(b), np.array(a)
    k = max(len(a), len(b)) - 1
    x, zi = RNG.normal(size=(6, 2)), RNG.normal(size=(k, 2))
    for part in (0, 1):
        cr.check_grads(
            lambda b, a, x, zi, part=part: css.lfilter(b, a, x, axis=0, zi=zi)[part],
            (b, a, x, zi),
            order=2,
            modes=("fwd", "rev"),
        )
    f = lambda b, a, x: css.lfilter(b, a, x)  # noqa: E731
    x1 = RNG.normal(size=7)
    cr.check_grads(f, (b, a, x1), order=2, modes=("fwd", "rev"))
    for arg in range(3):
        np.testing.assert_allclose(
            cr.jacrev(f, argnums=arg)(b, a, x1), cr.jacfwd(f, argnums=arg)(b, a, x1), atol=1e-12
        )


def test_lfilter_gradient_closed_form_and_complex():
    # y = x filtered by 1 / (1 + c z^-1) on an impulse: y[n] = (-c)^n, sum' = sum n (-c)^(n-1) (-1)
    c, x = 0.3, np.array([1.0, 0.0, 0.0, 0.0])
    got = cr.grad(lambda c: css.lfilter([1.0], np.stack([1.0, c]), x).sum())(c)
    want = sum(-n * (-c) ** (n - 1) for n in range(1, 4))
    np.testing.assert_allclose(got, want, rtol=1e-13)
    b = np.array([0.5 + 0.2j, 0.1j])
    a = np.array([1.0, -0.3 + 0.4j])
    x = RNG.normal(size=6) + 1j * RNG.normal(size=6)
    want = sps.lfilter(b, a, x)
    np.testing.assert_allclose(_traced_value(lambda aa: css.lfilter(b, aa, x), a), want, atol=1e-12)
    check_complex(lambda b: np.sin(css.lfilter(b, a, x)), b)
    check_complex(lambda a: np.sin(css.lfilter(b, a, x)), a)
    check_complex(lambda x: np.sin(css.lfilter(b, a, x)), x)


def test_lfilter_errors():
    x = np.ones(5)
    with pytest.raises(ValueError, match=r"a\[0\] must not be 0"):
        cr.grad(lambda x: css.lfilter([1.0], [0.0, 1.0], x).sum())(x)
    with pytest.raises(ValueError, match="zi must have shape"):
        cr.grad(lambda x: css.lfilter([1.0, 1.0], [1.0], x, zi=np.ones(3))[0].sum())(x)
    with pytest.raises(ValueError, match="b must be a non-empty 1-d array"):
        cr.grad(lambda x: css.lfilter(np.ones((2, 2)), [1.0], x).sum())(x)


def test_falls_through_to_scipy():
    assert css.windows is sps.windows  # names not defined here are SciPy's own
    with pytest.raises(AttributeError, match="chainrule.scipy.signal"):
        css.no_such_name  # noqa: B018
