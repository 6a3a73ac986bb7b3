"""Small, realistic programs run end to end, the way users write them: plain NumPy,
plain ``scipy.special`` ufuncs, and ``chainrule.scipy`` where SciPy's function is
Python code that converts its input. Each gradient is checked against central
finite differences of the same program (and, where one exists, a closed form)."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("scipy")

import scipy.special as sc  # noqa: E402

import chainrule as cr  # noqa: E402
import chainrule.scipy.linalg as csl  # noqa: E402
import chainrule.scipy.signal as css  # noqa: E402
import chainrule.scipy.special as csp  # noqa: E402


def central_gradient(f, x, h=1e-6):
    """Central differences of the scalar ``f`` at the vector ``x``, step relative to |x|."""
    x = np.asarray(x, dtype=float)
    g = np.empty_like(x)
    for i in range(x.size):
        step = h * max(1.0, abs(x[i]))
        e = np.zeros_like(x)
        e[i] = step
        g[i] = (f(x + e) - f(x - e)) / (2 * step)
    return g


def central_jacobian(f, x, h=1e-6):
    """Central differences of the vector function ``f`` at ``x``: one column per input."""
    x = np.asarray(x, dtype=float)
    cols = []
    for i in range(x.size):
        step = h * max(1.0, abs(x[i]))
        e = np.zeros_like(x)
        e[i] = step
        cols.append((np.asarray(f(x + e)) - np.asarray(f(x - e))) / (2 * step))
    return np.stack(cols, axis=-1)


# --- survival analysis: generalised gamma with right-censoring ---------------------
# Stacy's generalised gamma, scale a, shapes d and p: density
#   f(t) = p / a^d t^(d-1) exp(-(t/a)^p) / Gamma(d/p),
# survival S(t) = Q(d/p, (t/a)^p) (the regularised upper incomplete gamma).
# d = p is the Weibull; the shape ratio d/p is gammaincc's first argument, so the
# gradient in the shapes needs the incomplete gamma's derivative in its order.


def _survival_data():
    rng = np.random.default_rng(7)
    n = 60
    t = 2.0 * rng.weibull(1.5, size=n)  # Weibull, shape 1.5, scale 2
    censor_at = rng.uniform(0.5, 4.0, size=n)
    event = t <= censor_at
    return np.minimum(t, censor_at), event


def gengamma_loglik(theta, t, event):
    log_a, log_d, log_p = theta[0], theta[1], theta[2]
    a, d, p = np.exp(log_a), np.exp(log_d), np.exp(log_p)
    z = (t / a) ** p
    log_density = log_p - d * log_a + (d - 1) * np.log(t) - z - sc.gammaln(d / p)
    log_survival = np.log(sc.gammaincc(d / p, z))
    return np.sum(np.where(event, log_density, log_survival))


def test_generalised_gamma_survival_likelihood_with_censoring():
    t, event = _survival_data()
    assert 0 < event.sum() < event.size  # both kinds of observation take part
    theta = np.log(np.array([2.2, 1.3, 1.6]))  # near, not at, the Weibull d = p
    f = lambda th: gengamma_loglik(th, t, event)  # noqa: E731

    g = cr.grad(f)(theta)
    np.testing.assert_allclose(g, central_gradient(f, theta), rtol=1e-6, atol=1e-6)
    # forward mode gives the same gradient, and the Hessian (the shape-shape block
    # needs gammaincc's second derivative in its order) matches differences of it
    np.testing.assert_allclose(cr.jacfwd(f)(theta), g, rtol=1e-10, atol=1e-10)
    h = cr.hessian(f)(theta)
    h_fd = central_jacobian(cr.grad(f), theta)
    np.testing.assert_allclose(h, h_fd, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(h, h.T, rtol=1e-10, atol=1e-10)


def test_gamma_regression_with_censoring_uses_gammainc_in_its_shape():
    # Gamma survival times with a covariate-dependent scale, theta_i = exp(x_i beta):
    # an event contributes the log density, a censored time log(1 - P(k, t/theta)),
    # P = scipy.special.gammainc with the shape k as its first argument.
    t, event = _survival_data()
    covariate = np.linspace(-1.0, 1.0, t.size)
    design = np.stack([np.ones_like(covariate), covariate], axis=1)

    def loglik(params):
        log_k, beta = params[0], params[1:]
        k = np.exp(log_k)
        theta = np.exp(design @ beta)
        z = t / theta
        log_density = (k - 1) * np.log(z) - z - sc.gammaln(k) - np.log(theta)
        log_survival = np.log1p(-sc.gammainc(k, z))
        return np.sum(np.where(event, log_density, log_survival))

    params = np.array([np.log(1.7), 0.2, -0.3])
    g = cr.grad(loglik)(params)
    np.testing.assert_allclose(g, central_gradient(loglik, params), rtol=1e-6, atol=1e-7)
    # the censored terms alone: d/dk log(1 - P(k, z)) at each censored point is the
    # incomplete gamma's derivative in its order, checked elementwise
    z = t[~event] / np.exp(design[~event] @ params[1:])
    k = np.exp(params[0])
    per_point = cr.elementwise_grad(lambda kk: np.log1p(-sc.gammainc(kk, z)))(np.full(z.size, k))
    h = 1e-6
    fd = (np.log1p(-sc.gammainc(k + h, z)) - np.log1p(-sc.gammainc(k - h, z))) / (2 * h)
    np.testing.assert_allclose(per_point, fd, rtol=1e-6, atol=1e-9)
    cr.check_grads(loglik, (params,), order=2)


# --- a Bessel-function fit ----------------------------------------------------------
# The radial profile of a drum mode plus a modified-Bessel background:
#   y(r) = A J_1(k r) + B I_0(s r), fitted by least squares in (A, k, B, s).

R = np.linspace(0.05, 3.0, 40)


def bessel_model(p, r):
    amp, k, bg, s = p[0], p[1], p[2], p[3]
    return amp * sc.jv(1, k * r) + bg * sc.iv(0, s * r)


def test_bessel_least_squares_gradient_and_fit():
    true = np.array([1.5, 2.3, 0.2, 0.8])
    y = bessel_model(true, R) + 0.01 * np.random.default_rng(3).normal(size=R.size)
    loss = lambda p: np.sum((bessel_model(p, R) - y) ** 2)  # noqa: E731

    p0 = np.array([1.0, 2.0, 0.1, 0.5])
    g = cr.grad(loss)(p0)
    np.testing.assert_allclose(g, central_gradient(loss, p0), rtol=1e-6, atol=1e-8)
    # the residuals' Jacobian both ways (Gauss-Newton needs it)
    resid = lambda p: bessel_model(p, R) - y  # noqa: E731
    np.testing.assert_allclose(cr.jacrev(resid)(p0), cr.jacfwd(resid)(p0), rtol=1e-12)

    fit = cr.optim.minimize(loss, p0, method="BFGS")
    assert fit.success
    np.testing.assert_allclose(fit.x, true, rtol=0.05)
    assert np.linalg.norm(cr.grad(loss)(fit.x)) < 1e-4


# --- signal processing: fitting IIR coefficients with lfilter -----------------------


def test_iir_coefficients_fit_a_target_response():
    rng = np.random.default_rng(11)
    x = rng.normal(size=200)
    b_true, a_true = np.array([0.3, 0.2]), np.array([1.0, -0.6, 0.2])
    target = css.lfilter(b_true, a_true, x)  # plain values: SciPy's own answer
    import scipy.signal

    np.testing.assert_allclose(target, scipy.signal.lfilter(b_true, a_true, x), rtol=1e-12)

    def loss(coef):
        b, a = coef[:2], np.concatenate([np.ones(1), coef[2:]])
        return np.mean((css.lfilter(b, a, x) - target) ** 2)

    c0 = np.array([0.25, 0.1, -0.4, 0.1])
    g = cr.grad(loss)(c0)
    np.testing.assert_allclose(g, central_gradient(loss, c0), rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(cr.jacfwd(loss)(c0), g, rtol=1e-9, atol=1e-12)

    # a few hundred Adam steps on the exact gradient recover the filter
    opt = cr.optim.adam(0.02)
    c, state = c0, opt.init(c0)
    for _ in range(400):
        c, state = opt.step(c, cr.grad(loss)(c), state)
    assert loss(c) < 1e-3 * loss(c0)
    np.testing.assert_allclose(c, [0.3, 0.2, -0.6, 0.2], atol=0.05)


# --- a Gaussian-process marginal likelihood with cho_factor / cho_solve -------------


def _gp_data():
    rng = np.random.default_rng(5)
    x = np.sort(rng.uniform(0, 5, size=25))
    y = np.sin(1.3 * x) + 0.1 * rng.normal(size=x.size)
    return x, y


def gp_kernel(theta, x):
    signal, length, noise = np.exp(theta)
    d2 = (x[:, None] - x[None, :]) ** 2
    return signal**2 * np.exp(-0.5 * d2 / length**2) + noise**2 * np.eye(x.size)


def gp_neg_log_marginal(theta, x, y):
    K = gp_kernel(theta, x)
    factor = csl.cho_factor(K, lower=True)
    alpha = csl.cho_solve(factor, y)
    log_det = 2.0 * np.sum(np.log(np.diag(factor[0])))
    return 0.5 * y @ alpha + 0.5 * log_det + 0.5 * x.size * np.log(2 * np.pi)


def test_gp_marginal_likelihood_gradient_in_the_hyperparameters():
    x, y = _gp_data()
    theta = np.log(np.array([0.9, 0.7, 0.2]))
    f = lambda th: gp_neg_log_marginal(th, x, y)  # noqa: E731

    g = cr.grad(f)(theta)
    np.testing.assert_allclose(g, central_gradient(f, theta), rtol=1e-6, atol=1e-7)

    # the textbook form: dNLL/dθ = ½ tr((K⁻¹ - α αᵀ) ∂K/∂θ), ∂K/∂θ by forward mode
    K = gp_kernel(theta, x)
    K_inv = np.linalg.inv(K)
    alpha = K_inv @ y
    dK = cr.jacfwd(lambda th: gp_kernel(th, x))(theta)  # (n, n, 3)
    closed = 0.5 * np.einsum("ij,jik->k", K_inv - np.outer(alpha, alpha), dK)
    np.testing.assert_allclose(g, closed, rtol=1e-8, atol=1e-10)

    # the value is SciPy's own, and the Hessian is symmetric and matches differences
    import scipy.linalg

    c = scipy.linalg.cho_factor(K, lower=True)
    expected = (
        0.5 * y @ scipy.linalg.cho_solve(c, y)
        + np.sum(np.log(np.diag(c[0])))
        + 0.5 * x.size * np.log(2 * np.pi)
    )
    assert f(theta) == pytest.approx(expected, rel=1e-12)
    h = cr.hessian(f)(theta)
    h_fd = central_jacobian(cr.grad(f), theta)
    np.testing.assert_allclose(h, h_fd, rtol=1e-5, atol=1e-6)


# --- logistic regression: expit and logsumexp ---------------------------------------


def test_binary_logistic_regression_with_expit():
    rng = np.random.default_rng(2)
    X = rng.normal(size=(80, 3))
    y = (rng.uniform(size=80) < sc.expit(X @ np.array([1.0, -2.0, 0.5]))).astype(float)

    def nll(w):
        p = sc.expit(X @ w)  # a plain scipy.special ufunc on a traced value
        return -np.sum(sc.xlogy(y, p) + sc.xlog1py(1 - y, -p)) + 0.5 * w @ w

    w = np.array([0.2, -0.3, 0.1])
    g = cr.grad(nll)(w)
    closed = X.T @ (sc.expit(X @ w) - y) + w
    np.testing.assert_allclose(g, closed, rtol=1e-10)
    np.testing.assert_allclose(g, central_gradient(nll, w), rtol=1e-6, atol=1e-7)
    # the Hessian is Xᵀ diag(p (1 - p)) X + I
    p = sc.expit(X @ w)
    np.testing.assert_allclose(
        cr.hessian(nll)(w), X.T @ ((p * (1 - p))[:, None] * X) + np.eye(3), rtol=1e-9
    )


def test_multinomial_logistic_regression_with_logsumexp():
    rng = np.random.default_rng(4)
    X = rng.normal(size=(50, 4))
    labels = rng.integers(0, 3, size=50)
    onehot = np.eye(3)[labels]

    def nll(flat):
        W = flat.reshape(4, 3)
        logits = X @ W
        # scipy.special.logsumexp is Python code that converts its input: the
        # chainrule.scipy version has SciPy's signature
        return np.sum(csp.logsumexp(logits, axis=1) - np.sum(onehot * logits, axis=1))

    w = 0.1 * rng.normal(size=12)
    g = cr.grad(nll)(w)
    probs = sc.softmax(X @ w.reshape(4, 3), axis=1)
    np.testing.assert_allclose(g, (X.T @ (probs - onehot)).ravel(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(g, central_gradient(nll, w), rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(cr.jacfwd(nll)(w), g, rtol=1e-10, atol=1e-12)


# --- robust regression with missing responses ----------------------------------------
# A Huber-type loss whose scale is the median absolute deviation of the residuals,
# with some responses missing (NaN): np.nanmedian skips them, the row products are
# np.vecdot, and the missing rows are masked out of the sum.
def _robust_data():
    rng = np.random.default_rng(11)
    X = rng.normal(size=(40, 3))
    y = X @ np.array([1.5, -2.0, 0.5]) + 0.3 * rng.standard_t(3, size=40)
    y[[3, 17, 29]] = np.nan
    return X, y


def robust_loss(w, X, y):
    missing = np.isnan(y)
    # the residuals of the observed rows, zeros at the missing ones, which are marked
    # NaN only where nanmedian reads them: a NaN going through abs or the loss would
    # poison the derivative (0 * NaN), as in any program masked after the fact
    r = np.where(missing, 0.0, y) - np.vecdot(X, w)
    centre = np.nanmedian(np.where(missing, np.nan, r))
    scale = 1.4826 * np.nanmedian(np.where(missing, np.nan, np.abs(r - centre)))
    u = r / scale
    huber = np.where(np.abs(u) < 1.345, 0.5 * u**2, 1.345 * np.abs(u) - 0.5 * 1.345**2)
    return np.sum(np.where(missing, 0.0, huber))


def test_robust_regression_with_missing_values_uses_nanmedian_and_vecdot():
    X, y = _robust_data()
    w = np.array([1.2, -1.7, 0.4])
    g = cr.grad(robust_loss)(w, X, y)
    assert np.all(np.isfinite(g))
    np.testing.assert_allclose(g, central_gradient(lambda v: robust_loss(v, X, y), w), rtol=1e-6)
    np.testing.assert_allclose(cr.jacfwd(robust_loss)(w, X, y), g, rtol=1e-10)
    # a few gradient steps lower the loss
    v = w.copy()
    for _ in range(20):
        v = v - 0.01 * cr.grad(robust_loss)(v, X, y)
    assert robust_loss(v, X, y) < robust_loss(w, X, y)
