"""chainrule.scipy.ndimage: correlate, convolve and gaussian_filter against SciPy's
values and the dense Jacobian by finite differences, every boundary mode, in
both modes, to second order."""

from __future__ import annotations

import numpy as np
import pytest

nd = pytest.importorskip("scipy.ndimage")

from conftest import fd_jacobian  # noqa: E402
from test_complex import check_complex  # noqa: E402

import chainrule as cr  # noqa: E402
import chainrule.scipy.ndimage as cnd  # noqa: E402

RNG = np.random.default_rng(3)
MODES = ["reflect", "mirror", "nearest", "wrap", "constant", "grid-wrap", "grid-constant"]
BOTH = ("fwd", "rev")


def _traced(f, x):
    return cr.jvp(f, (x,), (np.ones_like(x),))[0]


@pytest.mark.parametrize("name", ["correlate", "convolve"])
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(
    "shape, wshape, origin",
    [((7,), (3,), 0), ((7,), (4,), -1), ((2,), (5,), 0), ((5, 4), (3, 2), (1, 0))],
)
def test_values_and_dense_jacobian(name, mode, shape, wshape, origin):
    x, w = RNG.normal(size=shape), RNG.normal(size=wshape)
    ours, theirs = getattr(cnd, name), getattr(nd, name)
    f = lambda x: ours(x, w, mode=mode, cval=0.7, origin=origin)  # noqa: E731
    want = theirs(x, w, mode=mode, cval=0.7, origin=origin)
    np.testing.assert_allclose(_traced(f, x), want, rtol=1e-12, atol=1e-12)
    # the Jacobian of the (affine) filter, both modes, against finite differences of SciPy
    dense = fd_jacobian(lambda x: theirs(x, w, mode=mode, cval=0.7, origin=origin), x)
    np.testing.assert_allclose(cr.jacrev(f)(x), dense, atol=1e-8)
    np.testing.assert_allclose(cr.jacfwd(f)(x), dense, atol=1e-8)
    # in the weights too
    g = lambda w: ours(x, w, mode=mode, cval=0.7, origin=origin)  # noqa: E731
    dense_w = fd_jacobian(lambda w: theirs(x, w, mode=mode, cval=0.7, origin=origin), w)
    np.testing.assert_allclose(cr.jacrev(g)(w), dense_w, atol=1e-8)
    np.testing.assert_allclose(cr.jacfwd(g)(w), dense_w, atol=1e-8)


@pytest.mark.parametrize("name", ["correlate", "convolve"])
def test_second_order_in_input_and_weights(name):
    x, w = RNG.normal(size=(4, 5)), RNG.normal(size=(2, 3))
    f = getattr(cnd, name)
    cr.check_grads(lambda x, w: np.sin(f(x, w, mode="mirror")), (x, w), order=2, modes=BOTH)


def test_complex_input_and_weights():
    x = RNG.normal(size=(5, 4)) + 1j * RNG.normal(size=(5, 4))
    w = RNG.normal(size=(3, 3)) + 1j * RNG.normal(size=(3, 3))
    want = nd.correlate(x, w, mode="wrap")
    np.testing.assert_allclose(_traced(lambda x: cnd.correlate(x, w, mode="wrap"), x), want)
    check_complex(lambda x: np.sin(cnd.correlate(x, w, mode="nearest")), x)
    check_complex(lambda w: np.sin(cnd.convolve(x, w, mode="reflect")), w)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(
    "kw",
    [
        {"sigma": 1.0},
        {"sigma": (0.7, 1.3), "order": (0, 1)},
        {"sigma": 0.8, "order": 2, "truncate": 2.0},
        {"sigma": 1.2, "radius": 2},
        {"sigma": 1.0, "axes": (1,)},
    ],
)
def test_gaussian_filter(mode, kw):
    x = RNG.normal(size=(6, 5))
    f = lambda x: cnd.gaussian_filter(x, mode=mode, cval=0.3, **kw)  # noqa: E731
    want = nd.gaussian_filter(x, mode=mode, cval=0.3, **kw)
    np.testing.assert_allclose(_traced(f, x), want, rtol=1e-12, atol=1e-13)
    dense = fd_jacobian(lambda x: nd.gaussian_filter(x, mode=mode, cval=0.3, **kw), x)
    np.testing.assert_allclose(cr.jacrev(f)(x), dense, atol=1e-8)
    np.testing.assert_allclose(cr.jacfwd(f)(x), dense, atol=1e-8)


def test_gaussian_filter_second_order_and_total_weight():
    x = RNG.normal(size=(4, 6))
    cr.check_grads(lambda x: cnd.gaussian_filter(x, 1.0) ** 2, (x,), order=2, modes=BOTH)
    # 'reflect' keeps every unit of mass inside: the gradient of the total is all ones
    g = cr.grad(lambda x: cnd.gaussian_filter(x, 1.5).sum())(x)
    np.testing.assert_allclose(g, np.ones_like(x), rtol=1e-12)


def test_errors():
    x = np.ones(5)
    with pytest.raises(ValueError, match="mode must be one of"):
        cr.grad(lambda x: cnd.correlate(x, np.ones(3), mode="bogus").sum())(x)
    with pytest.raises(ValueError, match="invalid origin 2 for a filter of size 3"):
        cr.grad(lambda x: cnd.correlate(x, np.ones(3), origin=2).sum())(x)
    with pytest.raises(ValueError, match="one dimension per filtered axis"):
        cr.grad(lambda x: cnd.correlate(x, np.ones((3, 3))).sum())(x)
    with pytest.raises(TypeError, match="output= would write into an array"):
        cr.grad(lambda x: cnd.convolve(x, np.ones(3), output=np.empty(5)).sum())(x)
    with pytest.raises(TypeError, match="sigma is not differentiated"):
        cr.grad(lambda s: cnd.gaussian_filter(np.ones(4), s).sum())(1.0)
    assert cnd.median_filter is nd.median_filter  # other names fall through to SciPy
