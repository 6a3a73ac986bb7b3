"""cr.optim.curve_fit: SciPy's popt and pcov (exact Jacobian), popt differentiable."""

import warnings

import numpy as np
import pytest
import scipy.optimize

import chainrule as cr
from chainrule.optim import curve_fit

TIGHT = {"ftol": 1e-14, "xtol": 1e-14, "gtol": 1e-14}
rng = np.random.default_rng(42)

# 1. exponential decay, no sigma
X1 = np.linspace(0.0, 4.0, 40)
Y1 = 2.5 * np.exp(-1.3 * X1) + 0.4 + 0.05 * rng.normal(size=40)


def decay(x, a, k, c):
    return a * np.exp(-k * x) + c


def decay_jac(x, a, k, c):
    e = np.exp(-k * x)
    return np.stack([e, -a * x * e, np.ones_like(x)], axis=1)


# 2. Gaussian peak on a background, 1-d sigma
X2 = np.linspace(-3.0, 5.0, 60)
S2 = 0.05 + 0.05 * rng.random(60)
Y2 = 3.0 * np.exp(-((X2 - 1.0) ** 2) / (2 * 0.7**2)) + 0.2 + S2 * rng.normal(size=60)


def peak(x, amp, mu, width, base):
    return amp * np.exp(-((x - mu) ** 2) / (2 * width**2)) + base


def peak_jac(x, amp, mu, width, base):
    g = np.exp(-((x - mu) ** 2) / (2 * width**2))
    return np.stack(
        [g, amp * g * (x - mu) / width**2, amp * g * (x - mu) ** 2 / width**3, np.ones_like(x)],
        axis=1,
    )


# 3. a saturating curve with a correlated (2-d) covariance of ydata
X3 = np.linspace(0.1, 5.0, 30)
COV3 = 0.02**2 * 0.6 ** np.abs(np.subtract.outer(np.arange(30), np.arange(30)))
Y3 = 1.8 * X3 / (0.9 + X3) + np.linalg.cholesky(COV3) @ rng.normal(size=30)


def saturation(x, vmax, km):
    return vmax * x / (km + x)


def saturation_jac(x, vmax, km):
    return np.stack([x / (km + x), -vmax * x / (km + x) ** 2], axis=1)


PROBLEMS = {
    "decay": (decay, decay_jac, X1, Y1, [1.0, 1.0, 0.0], None),
    "peak": (peak, peak_jac, X2, Y2, [2.0, 0.5, 1.0, 0.0], S2),
    "cov2d": (saturation, saturation_jac, X3, Y3, [1.0, 1.0], COV3),
}


@pytest.mark.parametrize("name", sorted(PROBLEMS))
@pytest.mark.parametrize("absolute_sigma", [False, True])
def test_popt_and_pcov_equal_scipys(name, absolute_sigma):
    f, jac, x, y, p0, sigma = PROBLEMS[name]
    ref_p, ref_c = scipy.optimize.curve_fit(
        f, x, y, p0=p0, sigma=sigma, absolute_sigma=absolute_sigma, jac=jac, **TIGHT
    )
    popt, pcov = curve_fit(f, x, y, p0, sigma=sigma, absolute_sigma=absolute_sigma, **TIGHT)
    assert np.allclose(popt, ref_p, rtol=1e-8, atol=0)
    assert np.max(np.abs(pcov - ref_c) / np.abs(ref_c)) < 1e-6
    # and against SciPy's default (finite-difference Jacobian): same parameters, same pcov
    # to the differences' accuracy
    _, fd_c = scipy.optimize.curve_fit(f, x, y, p0=p0, sigma=sigma, absolute_sigma=absolute_sigma)
    assert np.allclose(pcov, fd_c, rtol=1e-4, atol=0)


def implicit_reference(f, x, y, p, sigma):
    """dpopt/dy at popt from the stationarity of 1/2 |W (f - y)|^2, written out."""
    w = 1.0 / sigma

    def cost(p, y):
        return 0.5 * np.sum((w * (f(x, *p) - y)) ** 2)

    H = cr.hessian(cost)(p, y)
    mixed = cr.jacfwd(cr.grad(cost), argnums=1)(p, y)
    return -np.linalg.solve(H, mixed)


def test_popt_is_differentiable_in_ydata_both_modes():
    f, _, x, y, p0, sigma = PROBLEMS["peak"]

    def popt_of(y):
        return curve_fit(f, x, y, p0, sigma=sigma, **TIGHT)[0]

    # differentiated, the fit is refined by Newton steps past SciPy's stopping point
    # (cr.optim.least_squares): the reference is taken at that point
    popt, _ = cr.jvp(popt_of, (y,), (np.zeros_like(y),))
    assert np.allclose(popt, popt_of(y), rtol=1e-7, atol=0)
    expected = implicit_reference(f, x, y, popt, sigma)
    assert np.allclose(cr.jacfwd(popt_of)(y), expected, rtol=1e-10, atol=1e-13)
    assert np.allclose(cr.jacrev(popt_of)(y), expected, rtol=1e-10, atol=1e-13)
    # and the fit's own finite differences (its stopping point moves by ~1e-10)
    eps = 1e-4
    e = np.zeros_like(y)
    e[7] = eps
    column = (popt_of(y + e) - popt_of(y - e)) / (2 * eps)
    assert np.allclose(column, expected[:, 7], rtol=1e-5, atol=1e-7)


def test_popt_and_pcov_differentiable_in_sigma_and_xdata():
    f, _, x, y, p0, sigma = PROBLEMS["peak"]

    def fit(x, sigma):
        return curve_fit(f, x, y, p0, sigma=sigma, **TIGHT)

    # the point the derivative is taken at: SciPy's, refined by Newton's method
    popt = cr.jvp(lambda s: fit(x, s)[0], (sigma,), (np.zeros_like(sigma),))[0]

    def cost(p, x, sigma):
        return 0.5 * np.sum(((f(x, *p) - y) / sigma) ** 2)

    H = cr.hessian(cost)(popt, x, sigma)
    for argnum in (1, 2):
        mixed = cr.jacfwd(cr.grad(cost), argnums=argnum)(popt, x, sigma)
        expected = -np.linalg.solve(H, mixed)
        got = cr.jacrev(lambda *a: fit(*a)[0], argnums=argnum - 1)(x, sigma)
        assert np.allclose(got, expected, rtol=1e-9, atol=1e-12)

    # pcov in x: J depends on x directly and through popt; differences of the fit
    # (its stopping point moves by ~1e-10, so the step is large and the check loose)
    def err_mu(x):
        return fit(x, sigma)[1][1, 1]

    gx = cr.grad(err_mu)(x)
    eps = 1e-3
    for k in (3, 30):
        e = np.zeros_like(x)
        e[k] = eps
        fd = (-err_mu(x + 2 * e) + 8 * err_mu(x + e) - 8 * err_mu(x - e) + err_mu(x - 2 * e)) / (
            12 * eps
        )
        assert gx[k] == pytest.approx(fd, rel=1e-4, abs=1e-9)


def test_two_d_sigma_derivative_in_ydata():
    f, _, x, y, p0, cov = PROBLEMS["cov2d"]

    def popt_of(y):
        return curve_fit(f, x, y, p0, sigma=cov, **TIGHT)[0]

    popt = cr.jvp(popt_of, (y,), (np.zeros_like(y),))[0]  # (the refined point)
    inv = np.linalg.inv(cov)

    def cost(p, y):
        d = f(x, *p) - y
        return 0.5 * d @ inv @ d

    expected = -np.linalg.solve(
        cr.hessian(cost)(popt, y), cr.jacfwd(cr.grad(cost), argnums=1)(popt, y)
    )
    assert np.allclose(cr.jacrev(popt_of)(y), expected, rtol=1e-9, atol=1e-12)
    assert np.allclose(cr.jacfwd(popt_of)(y), expected, rtol=1e-9, atol=1e-12)


def test_errors_and_degenerate_cases():
    f, _, x, y, p0, _ = PROBLEMS["decay"]
    with pytest.raises(ValueError, match="sigma must be None, a 1-d array of 40"):
        curve_fit(f, x, y, p0, sigma=np.ones(3))
    with pytest.raises(ValueError, match="p0 is required"):
        curve_fit(f, x, y, None)
    with pytest.raises(ValueError, match="cannot fix 3 parameters"):
        curve_fit(f, x[:2], y[:2], p0)
    with pytest.raises(RuntimeError, match="Optimal parameters not found"):
        curve_fit(f, x, y, p0, max_nfev=2)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        _, pcov = curve_fit(f, x[:3], y[:3], p0)
    assert np.all(np.isinf(pcov))
    assert any(issubclass(w.category, scipy.optimize.OptimizeWarning) for w in caught)
