"""chainrule.scipy: special functions, log-densities and linear algebra against
SciPy's values and finite differences, in both modes, to second order."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

sc = pytest.importorskip("scipy.special")
import scipy.linalg as sl  # noqa: E402
import scipy.stats as ss  # noqa: E402

import chainrule as cr  # noqa: E402
import chainrule.scipy.linalg as csl  # noqa: E402
import chainrule.scipy.special as csp  # noqa: E402
import chainrule.scipy.stats as cst  # noqa: E402
from chainrule.errors import ConversionError, NoRuleError  # noqa: E402
from chainrule.scipy import hint_for_current_call  # noqa: E402

RNG = np.random.default_rng(7)


def u(low, high):
    return lambda *shape: RNG.uniform(low, high, size=shape)


SHAPES = [(), (3,), (2, 3)]

# name: (input generator); the function is scipy.special.NAME / chainrule.scipy.special.NAME
UNARY = {
    "gammaln": u(0.5, 3.0),
    "gamma": u(0.5, 3.0),
    "digamma": u(0.5, 3.0),
    "psi": u(0.5, 3.0),
    "erf": u(-1.5, 1.5),
    "erfc": u(-1.5, 1.5),
    "erfinv": u(-0.8, 0.8),
    "erfcx": u(-1.0, 2.0),
    "expit": u(-3.0, 3.0),
    "logit": u(0.1, 0.9),
    "ndtr": u(-2.0, 2.0),
    "log_ndtr": u(-3.0, 2.0),
    "ndtri": u(0.1, 0.9),
    "i0e": lambda *s: RNG.uniform(0.3, 2.0, size=s) * RNG.choice([-1, 1], size=s),
    "i1e": lambda *s: RNG.uniform(0.3, 2.0, size=s) * RNG.choice([-1, 1], size=s),
}
BINARY = {
    "betaln": (u(0.5, 3.0), u(0.5, 3.0)),
    "xlogy": (u(-1.0, 1.0), u(0.5, 2.0)),
    "xlog1py": (u(-1.0, 1.0), u(-0.5, 2.0)),
}
BINARY_SHAPES = [((), ()), ((3,), (3,)), ((2, 3), (3,)), ((2, 1), (1, 3))]


@pytest.mark.parametrize("shape", SHAPES, ids=str)
@pytest.mark.parametrize("name", sorted(UNARY))
@pytest.mark.parametrize("via", ["scipy", "chainrule"])
def test_unary(name, shape, via):
    fn = getattr(sc if via == "scipy" else csp, name)
    x = UNARY[name](*shape)
    np.testing.assert_allclose(getattr(csp, name)(x), getattr(sc, name)(x), rtol=1e-13)
    cr.check_grads(fn, (x,), order=2)
    if shape:
        np.testing.assert_allclose(cr.jacrev(fn)(x), cr.jacfwd(fn)(x), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("shapes", BINARY_SHAPES, ids=str)
@pytest.mark.parametrize("name", sorted(BINARY))
@pytest.mark.parametrize("via", ["scipy", "chainrule"])
def test_binary(name, shapes, via):
    fn = getattr(sc if via == "scipy" else csp, name)
    gx, gy = BINARY[name]
    x, y = gx(*shapes[0]), gy(*shapes[1])
    np.testing.assert_allclose(getattr(csp, name)(x, y), getattr(sc, name)(x, y), rtol=1e-13)
    cr.check_grads(fn, (x, y), order=2)
    if shapes[0]:
        for argnums in (0, 1):
            np.testing.assert_allclose(
                cr.jacrev(fn, argnums=argnums)(x, y),
                cr.jacfwd(fn, argnums=argnums)(x, y),
                rtol=1e-10,
                atol=1e-12,
            )


@pytest.mark.parametrize("n", [0, 1, 2])
def test_polygamma(n):
    x = RNG.uniform(0.5, 3.0, size=(2, 3))
    np.testing.assert_allclose(csp.polygamma(n, x), sc.polygamma(n, x), rtol=1e-13)
    cr.check_grads(lambda x: csp.polygamma(n, x), (x,), order=2)
    np.testing.assert_allclose(
        cr.grad(lambda x: np.sum(csp.polygamma(n, x)))(x), sc.polygamma(n + 1, x), rtol=1e-12
    )
    with pytest.raises(NoRuleError, match="order n"):
        cr.grad(lambda k: csp.polygamma(k, 1.5))(1.0)


def test_derivatives_are_the_known_functions():
    x = np.array([-1.3, -0.2, 0.4, 2.5])
    p = np.array([0.05, 0.3, 0.7, 0.99])
    d = lambda f, x: cr.grad(lambda x: np.sum(f(x)))(x)  # noqa: E731
    np.testing.assert_allclose(d(csp.erf, x), 2 / np.sqrt(np.pi) * np.exp(-x * x), rtol=1e-13)
    np.testing.assert_allclose(
        d(csp.erfinv, p - 0.5), np.sqrt(np.pi) / 2 * np.exp(sc.erfinv(p - 0.5) ** 2), rtol=1e-13
    )
    np.testing.assert_allclose(d(csp.ndtr, x), ss.norm.pdf(x), rtol=1e-13)
    np.testing.assert_allclose(d(csp.ndtri, p), 1 / ss.norm.pdf(sc.ndtri(p)), rtol=1e-12)
    np.testing.assert_allclose(d(sc.gamma, x + 3), sc.gamma(x + 3) * sc.digamma(x + 3), rtol=1e-13)
    np.testing.assert_allclose(d(sc.i0e, x), sc.i1e(x) - np.sign(x) * sc.i0e(x), rtol=1e-13)
    # log_ndtr far in the left tail: the derivative is about -x, not inf/nan
    far = np.array([-40.0, -1e3])
    np.testing.assert_allclose(d(sc.log_ndtr, far), -far, rtol=1e-3)
    assert np.all(np.isfinite(cr.hessian(lambda x: np.sum(sc.log_ndtr(x)))(far)))


def test_conventions_at_special_points():
    assert cr.grad(csp.i0e)(0.0) == 0.0  # the kink: mean of the one-sided slopes
    assert cr.grad(csp.i1e)(0.0) == 0.5  # the limit of i0e - i1e (sign + 1/x)
    assert cr.grad(cr.grad(csp.i1e))(0.0) == 0.0
    assert cr.grad(lambda y: csp.xlog1py(0.0, y))(-1.0) == 0.0
    assert cr.grad(lambda x: csp.xlog1py(x, 1.0))(0.0) == np.log(2.0)
    assert np.isinf(cr.grad(csp.erfinv)(1.0))
    assert np.isinf(cr.grad(csp.logit)(0.0))
    # a zero cotangent meeting an infinite derivative stays 0
    g = cr.grad(lambda p: np.sum(np.where(p < 1, sc.ndtri(p), 0.0)))(np.array([0.5, 1.0]))
    np.testing.assert_allclose(g, [np.sqrt(2 * np.pi), 0.0])


SOFT = ["logsumexp", "softmax", "log_softmax"]


@pytest.mark.parametrize("axis", [None, 0, -1, (0, 1)], ids=str)
@pytest.mark.parametrize("name", SOFT)
def test_logsumexp_family_has_scipy_signature(name, axis):
    x = RNG.normal(size=(2, 3))
    ours, theirs = getattr(csp, name), getattr(sc, name)
    np.testing.assert_allclose(ours(x, axis=axis), theirs(x, axis=axis), rtol=1e-13)
    np.testing.assert_allclose(ours(x), theirs(x), rtol=1e-13)  # SciPy's default axis=None
    cr.check_grads(lambda x: ours(x, axis=axis), (x,), order=2)
    np.testing.assert_allclose(cr.jacrev(ours)(x), cr.jacfwd(ours)(x), rtol=1e-10, atol=1e-12)


def test_logsumexp_with_b_and_keepdims():
    a, b = RNG.normal(size=(2, 3)), RNG.uniform(0.5, 2, size=(2, 3))
    f = lambda a, b: csp.logsumexp(a, axis=1, b=b, keepdims=True)  # noqa: E731
    np.testing.assert_allclose(f(a, b), sc.logsumexp(a, axis=1, b=b, keepdims=True), rtol=1e-13)
    cr.check_grads(f, (a, b), order=2)


def test_hessians_match_nested_jacobians():
    x = RNG.uniform(0.5, 2.0, size=3)
    for f in (sc.gammaln, sc.erf, sc.log_ndtr, sc.i1e, csp.softmax):
        s = lambda x, f=f: np.sum(f(x) ** 2)  # noqa: E731
        np.testing.assert_allclose(
            cr.hessian(s)(x), cr.jacrev(cr.jacrev(s))(x), rtol=1e-9, atol=1e-12
        )


# --- stats ------------------------------------------------------------------------------
K = np.array([[0], [1], [3], [7]])  # counts, broadcast against a vector of rates
# name: (chainrule call, scipy call, args; the first is x)
STATS = {
    "norm.logpdf": (
        lambda x, m, s: cst.norm.logpdf(x, loc=m, scale=s),
        lambda x, m, s: ss.norm.logpdf(x, loc=m, scale=s),
        (0.3, -0.2, 1.4),
    ),
    "norm.logcdf": (
        lambda x, m, s: cst.norm.logcdf(x, m, s),
        lambda x, m, s: ss.norm.logcdf(x, m, s),
        (0.3, -0.2, 1.4),
    ),
    "norm.pdf": (cst.norm.pdf, ss.norm.pdf, (0.3, -0.2, 1.4)),
    "norm.cdf": (cst.norm.cdf, ss.norm.cdf, (0.3, -0.2, 1.4)),
    "t.logpdf": (
        lambda x, df, m, s: cst.t.logpdf(x, df, loc=m, scale=s),
        lambda x, df, m, s: ss.t.logpdf(x, df, loc=m, scale=s),
        (0.3, 3.5, 0.1, 1.2),
    ),
    "t.logcdf": (
        lambda x, m, s: cst.t.logcdf(x, 3.5, m, s),
        lambda x, m, s: ss.t.logcdf(x, 3.5, m, s),
        (0.3, 0.1, 1.2),
    ),
    "gamma.logpdf": (
        lambda x, a, s: cst.gamma.logpdf(x, a, scale=s),
        lambda x, a, s: ss.gamma.logpdf(x, a, scale=s),
        (1.3, 2.2, 0.8),
    ),
    "gamma.logcdf": (
        lambda x, m, s: cst.gamma.logcdf(x, 2.2, m, s),
        lambda x, m, s: ss.gamma.logcdf(x, 2.2, m, s),
        (1.3, 0.1, 0.8),
    ),
    "beta.logpdf": (
        lambda x, a, b: cst.beta.logpdf(x, a, b),
        lambda x, a, b: ss.beta.logpdf(x, a, b),
        (0.3, 2.5, 1.7),
    ),
    "beta.logpdf scaled": (
        lambda x, m, s: cst.beta.logpdf(x, 2.5, 1.7, loc=m, scale=s),
        lambda x, m, s: ss.beta.logpdf(x, 2.5, 1.7, loc=m, scale=s),
        (0.3, -0.1, 1.5),
    ),
    "beta.logcdf": (
        lambda x: cst.beta.logcdf(x, 2.5, 1.7),
        lambda x: ss.beta.logcdf(x, 2.5, 1.7),
        (0.3,),
    ),
    "poisson.logpmf": (
        lambda mu: cst.poisson.logpmf(K, mu),
        lambda mu: ss.poisson.logpmf(K, mu),
        (2.3,),
    ),
    "poisson.pmf": (lambda mu: cst.poisson.pmf(K, mu), lambda mu: ss.poisson.pmf(K, mu), (2.3,)),
}


@pytest.mark.parametrize("shape", [(), (3,)], ids=str)
@pytest.mark.parametrize("name", sorted(STATS))
def test_stats(name, shape):
    ours, theirs, base = STATS[name]
    args = tuple(
        b * RNG.uniform(0.9, 1.1, size=shape) if i == 0 else np.float64(b)
        for i, b in enumerate(base)
    )
    np.testing.assert_allclose(ours(*args), theirs(*args), rtol=1e-10)
    cr.check_grads(ours, args, order=2)
    if shape:
        np.testing.assert_allclose(
            cr.jacrev(ours)(*args), cr.jacfwd(ours)(*args), rtol=1e-10, atol=1e-12
        )


def test_stats_outside_the_support():
    np.testing.assert_allclose(cst.gamma.logpdf([-1.0, 0.5], 2.0), ss.gamma.logpdf([-1.0, 0.5], 2))
    np.testing.assert_allclose(
        cst.beta.logpdf([-1.0, 0.5, 1.5], 2.0, 3.0), ss.beta.logpdf([-1.0, 0.5, 1.5], 2.0, 3.0)
    )
    np.testing.assert_allclose(cst.gamma.logcdf([-1.0, 0.5], 2.0), ss.gamma.logcdf([-1.0, 0.5], 2))
    k = np.array([-1.0, 1.5, 2.0])
    np.testing.assert_allclose(cst.poisson.logpmf(k, 1.3), ss.poisson.logpmf(k, 1.3))
    g = cr.grad(lambda x: np.sum(np.where(x > 0, cst.gamma.logcdf(x, 2.0), 0.0)))(
        np.array([-1.0, 0.5])
    )
    assert g[0] == 0.0 and np.isfinite(g[1])


def test_stats_gradients_in_shape_parameters():
    # logpdf and logcdf are differentiable in df, a, b (tests/test_scipy_stats.py has the rest).
    cr.check_grads(lambda df: cst.t.logpdf(0.7, df), (4.0,), order=2)
    cr.check_grads(lambda a: cst.gamma.logpdf(1.3, a), (2.2,), order=2)
    cr.check_grads(lambda a, b: cst.beta.logpdf(0.3, a, b), (2.5, 1.7), order=2)
    cr.check_grads(lambda d: cst.t.logcdf(0.7, d), (2.0,), order=2)
    cr.check_grads(lambda a: cst.gamma.logcdf(1.0, a), (2.0,), order=2)
    cr.check_grads(lambda b: cst.beta.logcdf(0.4, 2.0, b), (2.0,), order=2)
    with pytest.raises(NoRuleError, match="integer"):
        cr.grad(lambda k: cst.poisson.logpmf(k, 2.0))(1.0)


@pytest.mark.parametrize("form", ["matrix", "diagonal", "scalar"])
def test_multivariate_normal(form):
    d = 3
    m = RNG.normal(size=(d, d))
    cov = {"matrix": m @ m.T + d * np.eye(d), "diagonal": RNG.uniform(0.5, 2, d), "scalar": 1.7}[
        form
    ]
    x, mean = RNG.normal(size=(4, d)), RNG.normal(size=d)
    np.testing.assert_allclose(
        cst.multivariate_normal.logpdf(x, mean, cov),
        ss.multivariate_normal.logpdf(x, mean, cov),
        rtol=1e-12,
    )
    one = x[0]
    ours = cst.multivariate_normal.logpdf(one, mean, cov)
    np.testing.assert_allclose(ours, ss.multivariate_normal.logpdf(one, mean, cov), rtol=1e-12)
    np.testing.assert_allclose(
        cst.multivariate_normal.pdf(x[0], mean, cov),
        ss.multivariate_normal.pdf(x[0], mean, cov),
        rtol=1e-12,
    )
    cr.check_grads(cst.multivariate_normal.logpdf, (x, mean, cov), order=2)


def test_multivariate_normal_cov_gradient_is_symmetric_for_symmetric_inputs():
    x, mean = RNG.normal(size=2), RNG.normal(size=2)
    s = lambda c: cst.multivariate_normal.logpdf(x, mean, c @ c.T)  # noqa: E731
    c = np.array([[1.2, 0.0], [0.3, 0.9]])
    cov = c @ c.T
    dx = x - mean
    inv = np.linalg.inv(cov)
    expected = 0.5 * (inv @ np.outer(dx, dx) @ inv - inv)  # d logpdf / d cov, symmetric
    np.testing.assert_allclose(cr.grad(s)(c), (expected + expected.T) @ c, rtol=1e-10)
    np.testing.assert_allclose(
        cst.multivariate_normal.logpdf(1.3, 0.2, 2.0), ss.multivariate_normal.logpdf(1.3, 0.2, 2.0)
    )


# --- linalg -----------------------------------------------------------------------------
def _tri(n, lead=()):
    a = RNG.normal(size=lead + (n, n))
    return a + 3 * np.eye(n)


def _scipy_solve_triangular(a, b, **opts):
    """SciPy's answer one matrix at a time: SciPy < 1.15 takes no stacks."""
    if a.ndim == 2 and b.ndim <= 2:
        return sl.solve_triangular(a, b, **opts)
    vector = b.ndim == 1
    b = b[:, None] if vector else b
    lead = np.broadcast_shapes(a.shape[:-2], b.shape[:-2])
    a = np.broadcast_to(a, lead + a.shape[-2:])
    b = np.broadcast_to(b, lead + b.shape[-2:])
    out = np.empty(lead + b.shape[-2:])
    for i in np.ndindex(lead):
        out[i] = sl.solve_triangular(a[i], b[i], **opts)
    return out[..., 0] if vector else out


TRI_CASES = [
    ((3, 3), (3,)),
    ((3, 3), (3, 2)),
    ((2, 3, 3), (3,)),
    ((2, 3, 3), (2, 3, 2)),
    ((3, 3), (2, 3, 2)),
    ((2, 1, 3, 3), (4, 3, 1)),
]


@pytest.mark.parametrize("shapes", TRI_CASES, ids=str)
@pytest.mark.parametrize(
    "opts",
    [
        dict(),
        dict(lower=True),
        dict(trans=1),
        dict(trans="T", lower=True, unit_diagonal=True),
        dict(trans=2, unit_diagonal=True),
    ],
    ids=str,
)
def test_solve_triangular(shapes, opts):
    a = _tri(shapes[0][-1], shapes[0][:-2])
    b = RNG.normal(size=shapes[1])
    f = lambda a, b: csl.solve_triangular(a, b, **opts)  # noqa: E731
    np.testing.assert_allclose(f(a, b), _scipy_solve_triangular(a, b, **opts), rtol=1e-12)
    cr.check_grads(f, (a, b), order=2)
    for k in (0, 1):
        np.testing.assert_allclose(
            cr.jacrev(f, argnums=k)(a, b), cr.jacfwd(f, argnums=k)(a, b), rtol=1e-10, atol=1e-12
        )


def test_solve_triangular_reads_one_triangle():
    a, b = _tri(3), RNG.normal(size=3)
    g = cr.grad(lambda a: np.sum(csl.solve_triangular(a, b, lower=True, unit_diagonal=True)))(a)
    assert np.all(np.triu(g) == 0)


@pytest.mark.parametrize("lower", [False, True])
@pytest.mark.parametrize("bshape", [(3,), (3, 2)], ids=str)
def test_cho_factor_and_solve(lower, bshape):
    m = RNG.normal(size=(3, 3))
    a, b = m @ m.T + 3 * np.eye(3), RNG.normal(size=bshape)
    c, low = csl.cho_factor(a, lower=lower)
    ref = sl.cho_factor(a, lower=lower)
    mask = np.tril(np.ones((3, 3))) if lower else np.triu(np.ones((3, 3)))
    np.testing.assert_allclose(c, ref[0] * mask, rtol=1e-12, atol=1e-14)
    assert low == lower
    f = lambda a, b: csl.cho_solve(csl.cho_factor(a, lower=lower), b)  # noqa: E731
    np.testing.assert_allclose(f(a, b), sl.cho_solve(ref, b), rtol=1e-12)
    sym = lambda m, b: f(m @ m.T + 3 * np.eye(3), b)  # noqa: E731
    cr.check_grads(sym, (m, b), order=2)
    np.testing.assert_allclose(cr.jacrev(sym)(m, b), cr.jacfwd(sym)(m, b), rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("shape", [(1, 1), (3, 3), (2, 3, 3)], ids=str)
def test_expm(shape):
    a = 0.5 * RNG.normal(size=shape)
    np.testing.assert_allclose(csl.expm(a), sl.expm(a), rtol=1e-12)
    cr.check_grads(csl.expm, (a,), order=2)
    np.testing.assert_allclose(
        cr.jacrev(csl.expm)(a), cr.jacfwd(csl.expm)(a), rtol=1e-9, atol=1e-12
    )


def test_expm_derivative_of_a_commuting_direction():
    # For E commuting with A, L(A, E) = E expm(A).
    a = np.diag([0.3, -0.5, 1.1])
    e = np.diag([1.0, 2.0, -1.0])
    _, t = cr.jvp(csl.expm, (a,), (e,))
    np.testing.assert_allclose(t, e @ sl.expm(a), rtol=1e-12, atol=1e-14)


# --- plain SciPy calls that cannot be differentiated -------------------------------------
HINTS = [
    (lambda x: ss.norm.logpdf(x), "chainrule.scipy.stats.norm.logpdf"),
    (lambda x: ss.norm(0.0, 1.0).logcdf(x), "chainrule.scipy.stats.norm.logcdf"),
    (
        lambda x: ss.multivariate_normal.logpdf(x, np.zeros(2)),
        "chainrule.scipy.stats.multivariate_normal.logpdf",
    ),
    (lambda x: sl.solve_triangular(np.eye(2), x), "chainrule.scipy.linalg.solve_triangular"),
    (lambda x: sl.expm(np.outer(x, x)), "chainrule.scipy.linalg.expm"),
    (lambda x: sc.logsumexp(x), "chainrule.scipy.special.logsumexp"),
    (lambda x: sc.polygamma(1, x), "chainrule.scipy.special.polygamma"),
]


@pytest.mark.parametrize("case", range(len(HINTS)))
def test_plain_scipy_calls_refuse_traced_values_and_we_can_name_the_replacement(case, monkeypatch):
    call, name = HINTS[case]
    from chainrule.core import array_facade

    seen = []
    original = array_facade.conversion_error

    def spy(what):
        seen.append(hint_for_current_call())
        return original(what)

    monkeypatch.setattr(array_facade, "conversion_error", spy)
    with pytest.raises(ConversionError):
        cr.grad(lambda x: np.sum(call(x)))(np.array([0.3, 0.6]))
    assert seen and seen[0] is not None and name in seen[0], seen


def test_no_hint_outside_scipy():
    assert hint_for_current_call() is None


def test_chainrule_does_not_import_scipy_and_the_extra_says_how_to_install():
    code = (
        "import sys; import chainrule, chainrule.numpy; assert 'scipy' not in sys.modules\n"
        "sys.modules['scipy'] = None\n"
        "try:\n    import chainrule.scipy\nexcept ImportError as e:\n    print(e)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    from chainrule.errors import install_hint

    assert "install it with: " + install_hint("scipy", "scipy") in out.stdout
