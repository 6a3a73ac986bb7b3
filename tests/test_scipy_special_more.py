"""beta, rgamma, erfcinv, gammasgn, zeta, multigammaln, lambertw, and the
complex error functions (erf, erfc, erfcx, wofz, erfi, dawsn): closed forms,
both modes to second order against finite differences, jacrev == jacfwd,
complex arguments, plain SciPy calls, errors."""

from __future__ import annotations

import math

import numpy as np
import pytest

sc = pytest.importorskip("scipy.special")

import chainrule as cr  # noqa: E402
import chainrule.scipy.special as csp  # noqa: E402
from chainrule.errors import NoRuleError  # noqa: E402
from chainrule.scipy._special_more import zeta_derivative  # noqa: E402

X = np.array([0.3, 1.2, 2.7])

REAL_UNARY = {
    "rgamma": X,
    "erfcinv": np.array([0.2, 0.9, 1.6]),
    "erfi": X - 1.0,
    "dawsn": X - 1.0,
    "erf": X - 1.0,
    "erfc": X - 1.0,
}


@pytest.mark.parametrize("name", sorted(REAL_UNARY))
@pytest.mark.parametrize("via", ["scipy", "chainrule"])
def test_real_unary_second_order_both_modes(name, via):
    fn = getattr(sc if via == "scipy" else csp, name)
    x = REAL_UNARY[name]
    cr.check_grads(fn, (x,), order=2, modes=("fwd", "rev"))
    assert np.array_equal(cr.jacrev(fn)(x), cr.jacfwd(fn)(x))


def test_beta():
    a, b = 2.0, 3.0
    g = cr.grad(sc.beta, argnums=(0, 1))(a, b)
    assert g[0] == pytest.approx(-13 / 144, rel=1e-14)  # B(2,3) (psi(2) - psi(5))
    assert g[1] == pytest.approx(sc.beta(a, b) * (sc.digamma(b) - sc.digamma(a + b)), rel=1e-14)
    cr.check_grads(sc.beta, (X + 0.5, X[::-1] + 1.0), order=2, modes=("fwd", "rev"))
    cr.check_grads(csp.beta, (X + 0.5, 2.0), order=2, modes=("fwd", "rev"))


def test_rgamma_at_the_poles_of_gamma():
    # 1/Gamma(x) near -n is (-1)**n n! (x + n): the derivative there.
    d = cr.grad(sc.rgamma)
    assert d(0.0) == 1.0 and d(-1.0) == -1.0 and d(-2.0) == 2.0 and d(-3.0) == -6.0
    assert d(2.5) == pytest.approx(-sc.rgamma(2.5) * sc.digamma(2.5), rel=1e-14)
    assert cr.jvp(sc.rgamma, (-2.0,), (1.0,))[1] == 2.0


def test_erfcinv_inverts_erfc():
    comp = lambda x: sc.erfcinv(sc.erfc(x))  # noqa: E731
    assert cr.grad(comp)(0.4) == pytest.approx(1.0, rel=1e-12)
    assert cr.grad(cr.grad(comp))(0.4) == pytest.approx(0.0, abs=1e-10)
    assert cr.grad(sc.erfcinv)(1.0) == pytest.approx(-math.sqrt(math.pi) / 2, rel=1e-15)


def test_gammasgn_is_piecewise_constant():
    x = np.array([-2.5, -1.5, 0.5, 3.0])
    f = lambda x: np.sum(sc.gammasgn(x) * x)  # noqa: E731
    assert np.array_equal(cr.grad(f)(x), sc.gammasgn(x))
    assert np.array_equal(cr.grad(lambda x: np.sum(csp.gammasgn(x) * x))(x), sc.gammasgn(x))
    assert np.array_equal(cr.jacfwd(lambda x: sc.gammasgn(x) * x)(x), np.diag(sc.gammasgn(x)))


# --- zeta ------------------------------------------------------------------------------------
def test_riemann_zeta_derivative():
    # zeta'(2) = pi^2/6 (gamma + log(2 pi) - 12 log A), A Glaisher's constant.
    glaisher = 1.2824271291006226368753425688697917277676889273250011920637400217
    exact = math.pi**2 / 6 * (np.euler_gamma + math.log(2 * math.pi) - 12 * math.log(glaisher))
    assert cr.grad(sc.zeta)(2.0) == pytest.approx(exact, rel=1e-14)
    assert cr.grad(csp.zeta)(2.0) == pytest.approx(exact, rel=1e-14)
    # zeta'(0) = -log(2 pi)/2.
    assert cr.grad(sc.zeta)(0.0) == pytest.approx(-0.5 * math.log(2 * math.pi), rel=1e-13)
    s = np.array([0.3, 1.5, 4.0, 12.0])
    cr.check_grads(sc.zeta, (s,), order=2, modes=("fwd", "rev"))


def test_hurwitz_zeta_in_both_arguments():
    s, q = 3.0, 1.7
    gq = cr.grad(lambda q: sc.zeta(s, q))(q)
    assert gq == pytest.approx(-s * sc.zeta(s + 1, q), rel=1e-14)
    # d/ds zeta(s, q) = -sum log(n + q) / (n + q)**s, summed directly to 1e-13.
    n = np.arange(200000.0)
    direct = -np.sum(np.log(n + q) / (n + q) ** 5.0)
    assert cr.grad(lambda s: sc.zeta(s, q))(5.0) == pytest.approx(direct, rel=1e-13)
    args = (np.array([1.5, 3.0, 7.0]), np.array([0.4, 1.0, 5.5]))
    cr.check_grads(sc.zeta, args, order=2, modes=("fwd", "rev"))
    cr.check_grads(csp.zeta, args, order=2, modes=("fwd", "rev"))
    jr = cr.jacrev(sc.zeta, argnums=(0, 1))(*args)
    jf = cr.jacfwd(sc.zeta, argnums=(0, 1))(*args)
    assert np.allclose(jr[0], jf[0], rtol=1e-14) and np.allclose(jr[1], jf[1], rtol=1e-14)


def test_zeta_derivative_against_mpmath_and_its_limits():
    mp = pytest.importorskip("mpmath")
    mp.mp.dps = 30
    for s, q in [(2.0, 1.0), (1.5, 0.3), (30.0, 2.0), (0.5, 1.0), (1.0001, 1.0)]:
        for k in (1, 2, 3):
            ref = float(mp.diff(lambda t: mp.zeta(t, q), s, k))  # noqa: B023
            assert zeta_derivative(k, s, q) == pytest.approx(ref, rel=1e-13)
    z = 3.0 + 2.0j
    ref = complex(mp.diff(lambda t: mp.zeta(t), z, 1))
    assert zeta_derivative(1, z, 1.0) == pytest.approx(ref, rel=1e-13)
    # Where the summation would lose its digits, NaN instead of a poor number.
    assert np.isnan(zeta_derivative(1, -3.0, 1.0))
    assert np.isnan(zeta_derivative(1, 1.0, 1.0))
    assert np.isnan(zeta_derivative(1, 2.0, -1.0))


def _has_complex_zeta() -> bool:
    try:
        return np.iscomplexobj(sc.zeta(2.5 + 1.5j))
    except TypeError:  # SciPy before 1.15 has no complex zeta
        return False


@pytest.mark.skipif(not _has_complex_zeta(), reason="this SciPy has no complex zeta")
def test_complex_zeta_is_holomorphic():
    f = lambda z: sc.zeta(z)  # noqa: E731
    z, h = 2.5 + 1.5j, 1e-6
    g = cr.grad(f, holomorphic=True)(z)
    assert g == pytest.approx((f(z + h) - f(z - h)) / (2 * h), rel=1e-8)


def test_zeta_out_argument():
    out = np.empty(())
    csp.zeta(2.0, out=out)
    assert out == sc.zeta(2.0)
    with pytest.raises(TypeError, match="out="):
        cr.grad(lambda s: csp.zeta(s, out=np.empty(())))(2.0)


# --- multigammaln ----------------------------------------------------------------------------
def test_multigammaln():
    a, d = 4.0, 3
    assert csp.multigammaln(a, d) == pytest.approx(sc.multigammaln(a, d), rel=1e-15)
    g = cr.grad(csp.multigammaln)(a, d)
    assert g == pytest.approx(sum(sc.digamma(a - j / 2) for j in range(d)), rel=1e-14)
    cr.check_grads(lambda a: csp.multigammaln(a, 4), (X + 2.0,), order=2, modes=("fwd", "rev"))
    with pytest.raises(ValueError, match="d should be a positive integer"):
        csp.multigammaln(4.0, 2.5)
    with pytest.raises(ValueError, match=r"condition a .* > 0.5 \* \(d-1\)"):
        csp.multigammaln(0.8, 3)
    with pytest.raises(NoRuleError, match="dimension d"):
        cr.grad(lambda d: csp.multigammaln(4.0, d))(3.0)


# --- Lambert W -------------------------------------------------------------------------------
def test_lambertw_real_branches():
    w = lambda z: sc.lambertw(z).real  # noqa: E731
    assert cr.grad(w)(0.0) == 1.0
    z = 1.0
    wz = sc.lambertw(z).real
    assert cr.grad(w)(z) == pytest.approx(wz / (z * (1 + wz)), rel=1e-14)
    # The k = -1 branch on (-1/e, 0).
    zm = -0.2
    wm = sc.lambertw(zm, -1).real
    assert cr.grad(lambda z: csp.lambertw(z, -1).real)(zm) == pytest.approx(
        wm / (zm * (1 + wm)), rel=1e-13
    )
    x = np.array([-0.3, 0.1, 2.0, 40.0])
    cr.check_grads(w, (x,), order=2, modes=("fwd", "rev"))
    cr.check_grads(lambda z: csp.lambertw(z).real, (x,), order=2, modes=("fwd", "rev"))
    # Towards the branch point -1/e the derivative grows like 1/sqrt(z + 1/e).
    near = cr.grad(w)(-math.exp(-1.0) + 1e-12)
    assert 1e5 < near < 1e7


def test_lambertw_complex():
    for k in (0, 1, -1):
        f = lambda z, k=k: sc.lambertw(z, k)  # noqa: E731
        z, h = 0.8 + 1.1j, 1e-6
        g = cr.grad(f, holomorphic=True)(z)
        assert g == pytest.approx((f(z + h) - f(z - h)) / (2 * h), rel=1e-8)
        g2 = cr.grad(cr.grad(f, holomorphic=True), holomorphic=True)(z)
        assert g2 == pytest.approx((f(z + 1e-4) - 2 * f(z) + f(z - 1e-4)) / 1e-8, rel=1e-5)


# --- complex error functions -----------------------------------------------------------------
@pytest.mark.parametrize(
    "name", ["erf", "erfc", "erfcx", "wofz", "erfi", "dawsn", "ndtr", "log_ndtr"]
)
def test_complex_error_functions_are_holomorphic(name):
    f = getattr(sc, name)
    z, h = 0.7 + 0.4j, 1e-6
    for fn in (f, getattr(csp, name)):
        g = cr.grad(fn, holomorphic=True)(z)
        assert g == pytest.approx((f(z + h) - f(z - h)) / (2 * h), rel=1e-8)
        g2 = cr.grad(cr.grad(fn, holomorphic=True), holomorphic=True)(z)
        assert g2 == pytest.approx((f(z + 1e-4) - 2 * f(z) + f(z - 1e-4)) / 1e-8, rel=1e-5)
    zs = np.array([0.3 - 0.2j, 1.1 + 0.5j])
    jr = cr.jacrev(f, holomorphic=True)(zs)
    jf = cr.jacfwd(f, holomorphic=True)(zs)
    assert np.allclose(jr, jf, rtol=1e-14)


def test_wofz_closed_form_and_real_input():
    z = 0.9 - 0.3j
    assert cr.grad(sc.wofz, holomorphic=True)(z) == pytest.approx(
        2j / math.sqrt(math.pi) - 2 * z * sc.wofz(z), rel=1e-14
    )
    # A real argument gives a complex value: its real and imaginary parts
    # differentiate as real functions, in both modes.
    x = np.array([0.5, 1.0])
    for part in (np.real, np.imag):
        f = lambda x: part(sc.wofz(x))  # noqa: E731, B023
        jr, jf = cr.jacrev(f)(x), cr.jacfwd(f)(x)
        assert np.allclose(jr, jf, rtol=1e-14)
        fd = (f(x + 1e-6) - f(x - 1e-6)) / 2e-6
        assert np.allclose(np.diag(jr), fd, rtol=1e-8)
        cr.check_grads(f, (x,), order=2, modes=("fwd", "rev"))


def test_plain_calls_work_without_importing_chainrule_scipy():
    import subprocess
    import sys

    code = (
        "import chainrule as cr, scipy.special as sc\n"
        "print(cr.grad(lambda a: sc.gammainc(a, 2.0))(1.5))\n"
        "print(cr.grad(lambda b: sc.betainc(2.0, b, 0.3))(1.5))\n"
        "print(cr.grad(sc.j0)(1.0))\n"
        "print(cr.grad(lambda z: sc.jv(0.5, z))(1.0))\n"
        "print(cr.grad(sc.erfcinv)(0.5))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    got = [float(v) for v in out.stdout.split()]
    assert got[0] == pytest.approx(cr.grad(csp.gammainc)(1.5, 2.0), rel=1e-15)
    assert got[1] == pytest.approx(cr.grad(csp.betainc, argnums=1)(2.0, 1.5, 0.3), rel=1e-15)
    assert got[2] == pytest.approx(-sc.j1(1.0), rel=1e-15)
    assert got[3] == pytest.approx(0.5 * (sc.jv(-0.5, 1.0) - sc.jv(1.5, 1.0)), rel=1e-15)
    assert got[4] == pytest.approx(-math.sqrt(math.pi) / 2 * np.exp(sc.erfcinv(0.5) ** 2))
