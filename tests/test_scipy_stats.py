"""chainrule.scipy.stats: every family and method against SciPy's values (plain
and traced inputs) and its derivatives in every parameter against finite
differences, both modes, to second order; closed forms of the inverse-function
rule; the multivariate normal (singular covariances included) and Dirichlet."""

from __future__ import annotations

import re

import numpy as np
import pytest

ss = pytest.importorskip("scipy.stats")

import chainrule as cr  # noqa: E402
import chainrule.scipy.stats as cst  # noqa: E402
from chainrule.errors import ConversionError, NoRuleError  # noqa: E402

RNG = np.random.default_rng(11)

# name: (shape parameters, points x inside the support of the standardized variable)
CONTINUOUS = {
    "norm": ((), [-1.3, 0.2, 2.1]),
    "t": ((3.5,), [-1.3, 0.2, 2.1]),
    "gamma": ((2.2,), [0.4, 1.3, 3.0]),
    "beta": ((2.5, 1.7), [0.15, 0.5, 0.8]),
    "chi2": ((3.3,), [0.4, 1.3, 3.0]),
    "expon": ((), [0.4, 1.3, 3.0]),
    "laplace": ((), [-1.3, 0.2, 2.1]),
    "logistic": ((), [-1.3, 0.2, 2.1]),
    "lognorm": ((0.8,), [0.4, 1.3, 3.0]),
    "cauchy": ((), [-1.3, 0.2, 2.1]),
    "uniform": ((), [0.15, 0.5, 0.8]),
}
LOC, SCALE = 0.3, 1.4
METHODS = ["pdf", "logpdf", "cdf", "logcdf", "sf", "logsf", "ppf", "isf"]
Q = np.array([0.05, 0.4, 0.93])


def _x(name):
    return LOC + SCALE * np.array(CONTINUOUS[name][1])


def _point(name, method):
    return Q if method in ("ppf", "isf") else _x(name)


@pytest.mark.parametrize("method", METHODS + ["entropy"])
@pytest.mark.parametrize("name", sorted(CONTINUOUS))
def test_values_equal_scipys_plain_and_traced(name, method):
    shapes = CONTINUOUS[name][0]
    ours, theirs = getattr(getattr(cst, name), method), getattr(getattr(ss, name), method)
    args = shapes if method == "entropy" else (_point(name, method), *shapes)
    expected = theirs(*args, loc=LOC, scale=SCALE)
    np.testing.assert_allclose(ours(*args, loc=LOC, scale=SCALE), expected, rtol=1e-10)
    # traced (through a forward pass in every argument): same value
    out, _ = cr.jvp(lambda *a: ours(*a, loc=LOC, scale=SCALE), args, args)
    np.testing.assert_allclose(out, expected, rtol=1e-10)
    # positional loc and scale, as SciPy takes them
    np.testing.assert_allclose(ours(*args, LOC, SCALE), expected, rtol=1e-10)


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("name", sorted(CONTINUOUS))
def test_derivatives_in_every_parameter(name, method):
    shapes = CONTINUOUS[name][0]
    f = getattr(getattr(cst, name), method)
    args = (_point(name, method), *[np.float64(s) for s in shapes], np.float64(LOC), SCALE)
    cr.check_grads(f, args, order=2, modes=("fwd", "rev"))
    # batched: Jacobians in every argument (the shapes as vectors too), and the Hessian
    args = (args[0], *[np.full(3, s) for s in shapes], args[-2], args[-1])
    every = tuple(range(len(args)))
    jr, jf = cr.jacrev(f, argnums=every)(*args), cr.jacfwd(f, argnums=every)(*args)
    for a, b in zip(jr, jf):
        np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-12)
    s = lambda *a: np.sum(f(*a) ** 2)  # noqa: E731
    args = tuple(a[1] if np.ndim(a) else a for a in args)  # the Hessian at one point
    h, h2 = cr.hessian(s, argnums=every)(*args), cr.jacrev(cr.jacrev(s, every), every)(*args)
    for i in every:
        for j in every:
            np.testing.assert_allclose(h[i][j], h2[i][j], rtol=1e-8, atol=1e-10)


@pytest.mark.parametrize("name", sorted(CONTINUOUS))
def test_entropy_derivatives(name):
    shapes = CONTINUOUS[name][0]
    f = lambda *a: cst.__dict__[name].entropy(*a[:-1], scale=a[-1])  # noqa: E731
    cr.check_grads(f, (*[np.float64(s) for s in shapes], SCALE), order=2, modes=("fwd", "rev"))
    np.testing.assert_allclose(cr.grad(f, argnums=len(shapes))(*shapes, SCALE), 1.0 / SCALE)


@pytest.mark.parametrize("name", sorted(CONTINUOUS))
def test_inverse_function_rule(name):
    shapes = CONTINUOUS[name][0]
    d = getattr(cst, name)
    x = d.ppf(Q, *shapes)
    dq = cr.elementwise_grad(lambda q: d.ppf(q, *shapes))(Q)
    np.testing.assert_allclose(dq, 1.0 / ss.__dict__[name].pdf(x, *shapes), rtol=1e-8)
    np.testing.assert_allclose(
        cr.elementwise_grad(lambda x: d.cdf(x, *shapes))(x), d.pdf(x, *shapes), rtol=1e-10
    )
    for i in range(len(shapes)):  # dx/dtheta = -(dF/dtheta) / pdf, dF/dtheta by SciPy's differences
        h = 1e-6 * shapes[i]
        up = [*shapes[:i], shapes[i] + h, *shapes[i + 1 :]]
        down = [*shapes[:i], shapes[i] - h, *shapes[i + 1 :]]
        dF = (ss.__dict__[name].cdf(x, *up) - ss.__dict__[name].cdf(x, *down)) / (2 * h)
        ours = cr.elementwise_grad(
            lambda s: d.ppf(Q, *shapes[:i], s, *shapes[i + 1 :])  # noqa: B023
        )(np.full(3, shapes[i]))
        np.testing.assert_allclose(ours, -dF / ss.__dict__[name].pdf(x, *shapes), rtol=1e-6)


def test_shape_derivatives_of_cdfs_against_scipy_differences():
    # dF/dtheta of gamma, chi2, t, beta (through gammainc/betainc) against SciPy's own values.
    cases = [("gamma", 1.7, (0.6,), 0), ("chi2", 4.1, (5.0,), 0), ("t", -0.8, (2.5,), 0)]
    cases += [("beta", 0.35, (0.7, 3.2), 0), ("beta", 0.35, (0.7, 3.2), 1)]
    for name, x, shapes, i in cases:
        h = 1e-6 * shapes[i]
        s_up = list(shapes)
        s_up[i] += h
        s_dn = list(shapes)
        s_dn[i] -= h
        expected = (ss.__dict__[name].logsf(x, *s_up) - ss.__dict__[name].logsf(x, *s_dn)) / (2 * h)

        def f(s, name=name, x=x, shapes=shapes, i=i):
            return cst.__dict__[name].logsf(x, *shapes[:i], s, *shapes[i + 1 :])

        np.testing.assert_allclose(cr.grad(f)(shapes[i]), expected, rtol=1e-6)
        np.testing.assert_allclose(cr.jvp(f, (shapes[i],), (1.0,))[1], expected, rtol=1e-6)


def test_off_the_support_and_invalid_parameters():
    x = np.array([-1.0, 0.0, 0.5, 1.0, 2.0, np.nan])
    for name, shapes in [("gamma", (0.7,)), ("gamma", (2.0,)), ("beta", (2.0, 0.6))]:
        for m in ["pdf", "logpdf", "cdf", "logcdf", "sf", "logsf"]:
            ours = getattr(cst.__dict__[name], m)(x, *shapes)
            np.testing.assert_allclose(ours, getattr(ss.__dict__[name], m)(x, *shapes))
    np.testing.assert_allclose(
        cst.lognorm.logpdf([-1.0, 0.0, 1.0], 0.5), ss.lognorm.logpdf([-1.0, 0.0, 1.0], 0.5)
    )
    np.testing.assert_allclose(
        cst.uniform.ppf([-0.1, 0.0, 1.0, 1.1], 2.0, 3.0), [np.nan, 2, 5, np.nan]
    )
    np.testing.assert_allclose(cst.norm.ppf([0.0, 1.0]), [-np.inf, np.inf])
    for bad in [cst.norm.logpdf(0.3, scale=-1.0), cst.gamma.cdf(1.0, -2.0), cst.t.entropy(-1.0)]:
        assert np.isnan(bad)
    # derivative 0 off the support, finite inside
    g = cr.grad(lambda m: np.sum(np.where(x > 0, cst.gamma.logpdf(x, 2.0, loc=m), 0.0)))(0.0)
    assert np.isfinite(g)
    g = cr.elementwise_grad(lambda x: cst.beta.cdf(x, 2.0, 3.0))(np.array([-0.5, 0.5, 1.5]))
    np.testing.assert_allclose(g, [0.0, ss.beta.pdf(0.5, 2.0, 3.0), 0.0])


def test_asymptotic_entropy_branches_match_scipy():
    for name, s in [("t", [50.0, 150.0]), ("gamma", [100.0, 400.0]), ("chi2", [200.0, 300.0])]:
        s = np.array(s)
        np.testing.assert_allclose(
            cst.__dict__[name].entropy(s), ss.__dict__[name].entropy(s), rtol=1e-12
        )
        cr.check_grads(lambda v, n=name: cst.__dict__[n].entropy(v), (s,), order=2)


def test_t_with_infinite_df_is_the_normal():
    x, df = np.array([-1.0, 0.3, 2.0]), np.array([np.inf, 4.0, np.inf])
    for m in ["logpdf", "cdf", "logsf", "ppf"]:
        arg = Q if m == "ppf" else x
        np.testing.assert_allclose(
            getattr(cst.t, m)(arg, df), getattr(ss.t, m)(arg, df), rtol=1e-12
        )
        d_df = cr.elementwise_grad(lambda d, m=m, arg=arg: getattr(cst.t, m)(arg, d))(df)
        assert d_df[0] == 0.0 and d_df[2] == 0.0 and d_df[1] != 0.0
    np.testing.assert_allclose(cst.t.entropy(df), ss.t.entropy(df), rtol=1e-12)
    np.testing.assert_allclose(cr.elementwise_grad(lambda v: cst.t.logpdf(v, df))(x)[::2], -x[::2])


def test_tails_stay_accurate():
    # log_ndtr: the derivative of logcdf far in the lower tail is about -x.
    for x in (-30.0, -300.0):
        np.testing.assert_allclose(cr.grad(cst.norm.logcdf)(x), -x, rtol=2e-3)
        np.testing.assert_allclose(cr.grad(cst.norm.logsf)(-x), x, rtol=2e-3)
    g = cr.grad(lambda x: cst.gamma.logsf(x, 3.0))(200.0)  # about -1 + (a-1)/x
    np.testing.assert_allclose(
        g, -np.exp(ss.gamma.logpdf(200.0, 3.0) - ss.gamma.logsf(200.0, 3.0)), rtol=1e-10
    )


def test_frozen_distributions():
    np.testing.assert_allclose(
        cst.gamma(2.0, scale=3.0).cdf(1.5), ss.gamma(2.0, scale=3.0).cdf(1.5), rtol=1e-12
    )
    np.testing.assert_allclose(
        cst.norm(1.0, 2.0).entropy(), ss.norm(1.0, 2.0).entropy(), rtol=1e-12
    )
    g = cr.grad(lambda s: cst.norm(0.0, s).logpdf(1.0))(2.0)
    np.testing.assert_allclose(g, -1 / 2.0 + 1.0 / 2.0**3)
    with pytest.raises(TypeError, match="unexpected argument 'sigma'"):
        cst.norm(sigma=1.0)
    with pytest.raises(TypeError, match="missing shape parameter"):
        cst.gamma.logpdf(1.0)


# --- discrete -------------------------------------------------------------------------------
DISCRETE = {"poisson": (2.3,), "binom": (7, 0.35), "nbinom": (3.4, 0.45)}
K = np.array([-1.0, 0.0, 1.0, 2.5, 3.0, 6.0, 7.0, 9.0])


@pytest.mark.parametrize("method", ["pmf", "logpmf", "cdf", "logcdf", "sf", "logsf", "ppf"])
@pytest.mark.parametrize("name", sorted(DISCRETE))
def test_discrete_values(name, method):
    shapes = DISCRETE[name]
    arg = Q if method == "ppf" else K
    ours = getattr(cst.__dict__[name], method)(arg, *shapes, loc=1)
    np.testing.assert_allclose(
        ours, getattr(ss.__dict__[name], method)(arg, *shapes, loc=1), rtol=1e-10
    )


@pytest.mark.parametrize("method", ["pmf", "logpmf", "cdf", "logcdf", "sf", "logsf"])
@pytest.mark.parametrize("name", sorted(DISCRETE))
def test_discrete_derivatives(name, method):
    shapes = DISCRETE[name]
    k = np.array([0.0, 1.0, 3.0, 5.0])
    f = getattr(cst.__dict__[name], method)
    if name == "binom":
        fn = lambda p: f(k, shapes[0], p)  # noqa: E731
        args = (np.full(4, shapes[1]),)
    else:
        fn = lambda *s: f(k, *s)  # noqa: E731
        args = tuple(np.full(4, s) for s in shapes)
    cr.check_grads(fn, args, order=2, modes=("fwd", "rev"))


@pytest.mark.parametrize("name", sorted(DISCRETE))
def test_discrete_entropy(name):
    shapes = [np.array([s, s * 0.7]) for s in DISCRETE[name]]
    if name == "binom":
        shapes[0] = np.array([7, 12])
    expected = ss.__dict__[name].entropy(*shapes)
    np.testing.assert_allclose(cst.__dict__[name].entropy(*shapes), expected, rtol=1e-10)
    if name == "binom":
        cr.check_grads(lambda p: cst.binom.entropy(shapes[0], p), (shapes[1],), order=2)
    else:
        cr.check_grads(cst.__dict__[name].entropy, tuple(shapes), order=2)


def test_discrete_closed_forms_and_refusals():
    # dF/dmu = -pmf; dF/dp of the binomial = -n pmf(k; n - 1, p)
    np.testing.assert_allclose(
        cr.grad(lambda m: cst.poisson.cdf(3, m))(2.3), -ss.poisson.pmf(3, 2.3)
    )
    np.testing.assert_allclose(
        cr.grad(lambda p: cst.binom.cdf(3, 7, p))(0.35), -7 * ss.binom.pmf(3, 6, 0.35)
    )
    assert cr.grad(lambda m: cst.poisson.cdf(-1, m))(2.3) == 0.0
    assert cr.grad(lambda p: cst.binom.sf(7, 7, p))(0.3) == 0.0
    assert cr.grad(lambda m: cst.poisson.ppf(0.3, m))(2.3) == 0.0  # piecewise constant
    with pytest.raises(NoRuleError, match="integer"):
        cr.grad(lambda k: cst.poisson.logpmf(k, 2.0))(1.0)
    with pytest.raises(NoRuleError, match="the number n is an integer"):
        cr.grad(lambda n: cst.binom.cdf(2, n, 0.3))(5.0)
    assert np.isnan(cst.binom.logpmf(2, 5.5, 0.3)) and np.isnan(cst.poisson.pmf(1, -1.0))


# --- multivariate normal --------------------------------------------------------------------
def _spd(d):
    m = RNG.normal(size=(d, d))
    return m @ m.T + d * np.eye(d)


@pytest.mark.parametrize("xshape", [(3,), (4, 3), (2, 2, 3)], ids=str)
def test_mvn_values_and_gradients(xshape):
    d = xshape[-1]
    x, mean, cov = RNG.normal(size=xshape), RNG.normal(size=d), _spd(d)
    for m in ("logpdf", "pdf"):
        ours = getattr(cst.multivariate_normal, m)(x, mean, cov)
        np.testing.assert_allclose(
            ours, getattr(ss.multivariate_normal, m)(x, mean, cov), rtol=1e-12
        )
    f = lambda x, m, c: cst.multivariate_normal.logpdf(x, m, c)  # noqa: E731
    cr.check_grads(f, (x, mean, cov), order=2, modes=("fwd", "rev"))
    # the gradient in x is -cov^-1 (x - mean), for each point
    np.testing.assert_allclose(
        cr.grad(lambda x: np.sum(f(x, mean, cov)))(x),
        -np.linalg.solve(cov, (x - mean).reshape(-1, d).T).T.reshape(xshape),
        rtol=1e-10,
    )


@pytest.mark.parametrize("form", ["scalar", "diagonal", "one dimension", "no mean"])
def test_mvn_forms(form):
    x = RNG.normal(size=(4, 3))
    mean, cov = {
        "scalar": (np.ones(3), 1.7),
        "diagonal": (np.ones(3), RNG.uniform(0.5, 2.0, 3)),
        "one dimension": (0.2, 2.0),
        "no mean": (None, _spd(3)),
    }[form]
    if form == "one dimension":
        x = x[:, 0]
    np.testing.assert_allclose(
        cst.multivariate_normal.logpdf(x, mean, cov),
        ss.multivariate_normal.logpdf(x, mean, cov),
        rtol=1e-12,
    )
    np.testing.assert_allclose(
        cst.multivariate_normal.entropy(mean, cov),
        ss.multivariate_normal.entropy(mean, cov),
        rtol=1e-12,
    )
    cr.check_grads(lambda c: cst.multivariate_normal.logpdf(x, mean, c), (cov,), order=2)
    cr.check_grads(lambda c: cst.multivariate_normal.entropy(mean, c), (cov,), order=2)


def test_mvn_singular_covariance():
    d, r = 4, 2
    b, w, mean = RNG.normal(size=(d, r)), RNG.normal(size=(3, r)), RNG.normal(size=d)
    cov = b @ b.T
    x = mean + w @ b.T  # on the support
    off = x[0] + np.array([1.0, 0.0, 0.0, 0.0]) * 0.3
    pts = np.vstack([x, off])
    expected = ss.multivariate_normal.logpdf(pts, mean, cov, allow_singular=True)
    ours = cst.multivariate_normal.logpdf(pts, mean, cov, allow_singular=True)
    assert np.isneginf(ours[-1]) and np.isneginf(expected[-1])
    np.testing.assert_allclose(ours, expected, rtol=1e-10)
    np.testing.assert_allclose(
        cst.multivariate_normal.entropy(mean, cov),
        ss.multivariate_normal.entropy(mean, cov),
        rtol=1e-10,
    )
    with pytest.raises(np.linalg.LinAlgError, match="allow_singular"):
        cst.multivariate_normal.logpdf(x, mean, cov)
    with pytest.raises(ValueError, match="positive semidefinite"):
        cst.multivariate_normal.logpdf(x, mean, -cov)

    # Derivatives along rank-preserving changes (cov = B B^T, the points moving with B):
    # logpdf = -(r log 2 pi + log det(B^T B) + |w|^2) / 2 exactly.
    def f(b, m, w):
        return cst.multivariate_normal.logpdf(m + w @ b.T, m, b @ b.T, allow_singular=True)

    cr.check_grads(f, (b, mean, w), order=2, modes=("fwd", "rev"))
    closed = lambda b: (
        -0.5 * (r * np.log(2 * np.pi) + np.linalg.slogdet(b.T @ b)[1] + np.sum(w * w, -1))
    )  # noqa: E731
    np.testing.assert_allclose(f(b, mean, w), closed(b), rtol=1e-10)
    np.testing.assert_allclose(
        cr.jacrev(lambda b: f(b, mean, w))(b), cr.jacrev(closed)(b), rtol=1e-8, atol=1e-10
    )
    # the gradient in x along the support is -C^+ (x - mean)
    g = cr.grad(lambda x: cst.multivariate_normal.logpdf(x, mean, cov, allow_singular=True))(x[0])
    np.testing.assert_allclose(g, -np.linalg.pinv(cov) @ (x[0] - mean), rtol=1e-8, atol=1e-10)


def test_mvn_refuses_mismatched_shapes_clearly():
    x = np.zeros((4, 3))
    with pytest.raises(ValueError, match="mean must be a vector"):
        cst.multivariate_normal.logpdf(x, np.zeros((4, 3)), np.eye(3))
    with pytest.raises(ValueError, match=r"cov of shape \(2, 2\) does not fit a mean of length 3"):
        cst.multivariate_normal.logpdf(x, np.zeros(3), np.eye(2))
    with pytest.raises(
        ValueError, match="have 3 components on their last axis, the distribution 2"
    ):
        cst.multivariate_normal.logpdf(x, np.zeros(2), np.eye(2))


def test_mvn_reads_the_lower_triangle_and_freezes():
    x, mean, cov = RNG.normal(size=(3, 2)), np.zeros(2), _spd(2)
    g = cr.grad(lambda c: np.sum(cst.multivariate_normal.logpdf(x, mean, c)))(cov)
    assert g[0, 1] == 0.0 and g[1, 0] != 0.0
    frozen = cst.multivariate_normal(mean, cov)
    np.testing.assert_allclose(
        frozen.logpdf(x), ss.multivariate_normal(mean, cov).logpdf(x), rtol=1e-12
    )
    np.testing.assert_allclose(
        frozen.entropy(), ss.multivariate_normal(mean, cov).entropy(), rtol=1e-12
    )


def test_mvn_has_no_loop_over_points():
    # The recorded program is the same size for 10 and 10^4 points.
    mean, cov = np.zeros(5), _spd(5)

    def size(n):
        x = RNG.normal(size=(n, 5))
        return len(
            str(
                cr.graph(lambda c: np.sum(cst.multivariate_normal.logpdf(x, mean, c)))(cov)
            ).splitlines()
        )

    assert size(10) == size(10_000)


# --- dirichlet ------------------------------------------------------------------------------
@pytest.mark.parametrize("layout", ["full", "one fewer", "batch"])
def test_dirichlet(layout):
    alpha = np.array([1.5, 2.0, 3.2])
    x = RNG.dirichlet(alpha, size=4).T  # components on the first axis, as SciPy
    x = {"full": x[:, 0], "one fewer": x[:2, 0], "batch": x}[layout]
    for m in ("logpdf", "pdf"):
        ours = getattr(cst.dirichlet, m)(x, alpha)
        np.testing.assert_allclose(ours, getattr(ss.dirichlet, m)(x, alpha), rtol=1e-12)
    np.testing.assert_allclose(
        cst.dirichlet.entropy(alpha), ss.dirichlet.entropy(alpha), rtol=1e-12
    )
    np.testing.assert_allclose(
        cst.dirichlet(alpha).logpdf(x), ss.dirichlet(alpha).logpdf(x), rtol=1e-12
    )
    cr.check_grads(lambda a: cst.dirichlet.logpdf(x, a), (alpha,), order=2)
    cr.check_grads(cst.dirichlet.entropy, (alpha,), order=2)
    if layout == "one fewer":
        cr.check_grads(lambda x: cst.dirichlet.logpdf(x, alpha), (x,), order=2)
    with pytest.raises(ValueError, match="greater than 0"):
        cst.dirichlet.logpdf(x, -alpha)


# --- plain SciPy calls name the replacement ---------------------------------------------------
HINTS = [
    (lambda x: ss.gamma.cdf(x, 2.0), "chainrule.scipy.stats.gamma.cdf"),
    (lambda x: ss.chi2.ppf(0.3, x), "chainrule.scipy.stats.chi2.ppf"),
    (lambda x: ss.lognorm(x).sf(1.0), "chainrule.scipy.stats.lognorm.sf"),
    (lambda x: ss.binom.logpmf(2, 5, x), "chainrule.scipy.stats.binom.logpmf"),
    (lambda x: ss.nbinom.cdf(2, 5, x), "chainrule.scipy.stats.nbinom.cdf"),
    (lambda x: ss.dirichlet.entropy(x + 1.0), "chainrule.scipy.stats.dirichlet.entropy"),
    (
        lambda x: ss.multivariate_normal.entropy(cov=np.diag(x)),
        "chainrule.scipy.stats.multivariate_normal.entropy",
    ),
]


@pytest.mark.parametrize("case", range(len(HINTS)))
def test_plain_scipy_stats_calls_name_the_replacement(case):
    call, name = HINTS[case]
    with pytest.raises(ConversionError, match=re.escape(f"call {name} (same signature")):
        cr.grad(lambda x: np.sum(call(x)))(np.array([0.3, 0.6]))
