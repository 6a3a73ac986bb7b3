"""Complex numbers: the convention (``grad(f)(z) = df/dx - i df/dy`` for real
``f``, as in JAX and HIPS autograd), every complex-capable rule against finite
differences in both modes to second order, the ``holomorphic`` flags, and
real inputs keeping real derivatives through complex intermediates."""

from __future__ import annotations

import functools
import warnings

import numpy as np
import pytest
from complex_checks import check_one, fd_grad
from conftest import rand
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from numpy.testing import assert_allclose

import chainrule as cr
import chainrule.numpy as cnp

RNG = np.random.default_rng(7)


def crand(*shape, low=-1.5, high=1.5):
    """Complex values with both parts in [low, high]."""
    return RNG.uniform(low, high, size=shape) + 1j * RNG.uniform(low, high, size=shape)


def cpos(*shape):
    """Complex values in the right half-plane, away from branch cuts and zeros."""
    return RNG.uniform(0.5, 2.0, size=shape) + 1j * RNG.uniform(-1.0, 1.0, size=shape)


def csmall(*shape):
    """Complex values of modulus < 0.6 (inside the domain of arcsin, arctanh...)."""
    return RNG.uniform(-0.4, 0.4, size=shape) + 1j * RNG.uniform(-0.4, 0.4, size=shape)


# --- the checkers: finite differences along complex directions (tests/complex_checks.py)
# Like ``cr.check_grads`` for one (possibly complex) array argument and one
# array output, to second order by default.
check_complex = functools.partial(check_one, rtol=1e-5, atol=1e-6)


# --- the convention ----------------------------------------------------------------------
def test_convention_abs_squared_is_twice_the_conjugate():
    z = np.complex128(1.0 + 2.0j)
    # f = x^2 + y^2: df/dx - i df/dy = 2x - 2iy = 2 conj(z).
    assert cr.grad(lambda z: np.abs(z) ** 2)(z) == 2 * np.conj(z)
    assert cr.grad(lambda z: np.real(z * np.conj(z)))(z) == 2 * np.conj(z)
    assert_allclose(cr.grad(np.abs)(3.0 + 4.0j), (3.0 - 4.0j) / 5.0)
    assert_allclose(cr.grad(np.real)(z), 1.0)
    assert_allclose(cr.grad(np.imag)(z), -1j)  # df/dy = 1


REAL_FUNCTIONS = {
    "abs": lambda z: np.sum(np.abs(z)),
    "abs squared": lambda z: np.sum(np.abs(z) ** 2),
    "real of square": lambda z: np.sum(np.real(z * z)),
    "imag of exp": lambda z: np.sum(np.imag(np.exp(z))),
    "angle": lambda z: np.sum(np.angle(z)),
    "mixed": lambda z: np.sum(z.real**2 * z.imag) + np.abs(np.sum(np.sin(z) * z.conj())),
    "log abs": lambda z: np.sum(np.log(np.abs(z * z + 1.0))),
    "norm": lambda z: np.sqrt(np.real(np.vdot(z, z))),
}


@pytest.mark.parametrize("name", REAL_FUNCTIONS)
@pytest.mark.parametrize("shape", [(), (3,), (2, 2)])
def test_grad_of_real_function_is_dfdx_minus_i_dfdy(name, shape):
    f = REAL_FUNCTIONS[name]
    z = cpos(*shape)
    g = cr.grad(f)(z)
    assert np.asarray(g).dtype == np.complex128
    assert_allclose(g, fd_grad(f, z), rtol=1e-6, atol=1e-7)
    check_complex(f, z, order=2)


def test_jvp_is_the_complex_derivative_of_a_holomorphic_function():
    z = crand(3)
    t = crand(3)
    _, out = cr.jvp(np.exp, (z,), (t,))
    assert_allclose(out, t * np.exp(z))
    # vjp of a holomorphic function: g * f'(z), no conjugate (JAX's convention).
    _, vjp_fn = cr.vjp(np.sin, z)
    assert_allclose(vjp_fn(np.ones(3, dtype=complex))[0], np.cos(z))


# --- the holomorphic flags and the real-output check ----------------------------------------
def test_grad_of_complex_output_raises_type_error():
    with pytest.raises(TypeError, match="holomorphic=True"):
        cr.grad(lambda z: z * z)(1.0 + 1.0j)
    with pytest.raises(TypeError, match="holomorphic=True"):
        cr.grad(lambda x: x * 1j)(1.0)
    with pytest.raises(TypeError, match="holomorphic=True"):
        cr.jacrev(lambda z: z * z)(crand(2))


def test_holomorphic_flags_give_the_complex_derivative():
    z = crand(3)
    assert_allclose(cr.grad(np.sin, holomorphic=True)(z[0]), np.cos(z[0]))
    assert_allclose(cr.grad(lambda z: z**3, holomorphic=True)(z[1]), 3 * z[1] ** 2)
    f = lambda z: np.exp(z) * z  # noqa: E731
    expected = np.diag(np.exp(z) * (1 + z))
    assert_allclose(cr.jacrev(f, holomorphic=True)(z), expected)
    assert_allclose(cr.jacfwd(f, holomorphic=True)(z), expected)
    g = lambda z: cnp.stack([z[0] * z[1], z[1] ** 2 - z[2]])  # noqa: E731
    assert_allclose(cr.jacrev(g, holomorphic=True)(z), cr.jacfwd(g, holomorphic=True)(z))
    value, d = cr.value_and_grad(np.exp, holomorphic=True)(z[2])
    assert_allclose([value, d], [np.exp(z[2])] * 2)


def test_holomorphic_flag_needs_complex_inputs_and_outputs():
    with pytest.raises(TypeError, match="complex inputs"):
        cr.grad(np.sin, holomorphic=True)(1.0)
    with pytest.raises(TypeError, match="complex inputs"):
        cr.jacfwd(np.sin, holomorphic=True)(np.ones(2))
    with pytest.raises(TypeError, match="complex outputs"):
        cr.grad(np.abs, holomorphic=True)(1.0 + 1.0j)
    with pytest.raises(TypeError, match="complex outputs"):
        cr.jacrev(np.abs, holomorphic=True)(crand(2))


def test_jacfwd_refuses_complex_inputs_without_holomorphic():
    with pytest.raises(TypeError, match="holomorphic=True"):
        cr.jacfwd(np.abs)(crand(2))


def test_jacobians_of_real_functions_of_complex_inputs():
    z = cpos(3)
    f = lambda z: np.abs(z) * np.array([1.0, 2.0, 3.0])  # noqa: E731
    J = cr.jacrev(f)(z)
    expected = np.stack([fd_grad(lambda w, k=k: f(w)[k], z) for k in range(3)])
    assert_allclose(J, expected, rtol=1e-6, atol=1e-8)


def test_jacfwd_of_real_input_with_complex_output():
    x = rand(3)
    J = cr.jacfwd(lambda x: np.exp(1j * x))(x)
    assert_allclose(J, np.diag(1j * np.exp(1j * x)))


def test_vjp_and_jvp_accept_complex_cotangents_and_tangents():
    z = crand(2)
    _, vjp_fn = cr.vjp(lambda z: z * z, z)
    assert_allclose(vjp_fn(np.array([1.0, 1j]))[0], 2 * z * np.array([1.0, 1j]))
    assert_allclose(vjp_fn(np.ones(2))[0], 2 * z)  # a real cotangent is promoted
    with pytest.raises(ValueError, match="complex"):
        cr.vjp(np.abs, z)[1](np.ones(2, dtype=complex))  # a real output takes a real one
    with pytest.raises(ValueError, match="complex only for a complex primal"):
        cr.jvp(np.sin, (np.ones(2),), (np.ones(2, dtype=complex),))


def test_complex_python_scalar_input():
    assert_allclose(cr.grad(lambda z: np.abs(z) ** 2)(1.0 + 1.0j), 2.0 - 2.0j)


def test_linearize_of_complex_function():
    z = crand(2)
    out, f_jvp = cr.linearize(lambda z: np.exp(z) * np.conj(z), z)
    t = crand(2)
    assert_allclose(f_jvp(t), cr.jvp(lambda z: np.exp(z) * np.conj(z), (z,), (t,))[1])


# --- real inputs keep real derivatives ------------------------------------------------------
def test_real_input_through_complex_intermediate_has_real_gradient():
    x = rand(4)
    for f in (
        lambda x: np.sum(np.abs(x * 1j + 2.0) ** 2),
        lambda x: np.sum(np.real(np.exp(1j * x))),
        lambda x: np.sum(np.abs(np.fft.ifft(np.fft.fft(x))) ** 2),
        lambda x: np.real(np.sum((x + 1j) @ (x - 2j))),
        lambda x: np.sum(np.real(np.stack([x, x * 1j]) ** 2)),
        lambda x: np.sum(np.imag(np.where(x > 0, x * (1 + 1j), 2j)) ** 2),
        lambda x: np.sum(np.angle(np.concatenate([x + 1j, 1j * x + 0.5]))),
        lambda x: np.real(np.einsum("i,i->", x.astype(complex), x * (1 - 2j))),
    ):
        g = cr.grad(f)(x)
        assert g.dtype == np.float64
        check_x = lambda x, f=f: f(x)  # noqa: E731
        cr.check_grads(check_x, (x,), order=2)
        assert_allclose(cr.jacrev(cr.grad(f))(x), cr.jacfwd(cr.grad(f))(x), atol=1e-10)


def test_real_input_regression_abs_of_x_plus_iy():
    x, y = np.array([1.0, -0.5]), np.array([2.0, 0.3])
    gx, gy = cr.grad(lambda x, y: np.sum(np.abs(x + 1j * y)), argnums=(0, 1))(x, y)
    assert gx.dtype == gy.dtype == np.float64
    assert_allclose(gx, x / np.hypot(x, y))
    assert_allclose(gy, y / np.hypot(x, y))


def test_hessian_of_real_function_through_complex_values():
    x = rand(3)
    f = lambda x: np.sum(np.abs(np.exp(1j * x) * (x + 2j)) ** 3)  # noqa: E731
    H = cr.hessian(f)(x)
    assert H.dtype == np.float64
    assert_allclose(H, cr.jacrev(cr.jacrev(f))(x), atol=1e-10)
    assert_allclose(H, H.T, atol=1e-10)


# --- the table: every complex-capable elementwise function ----------------------------------
UNARY = {
    "negative": (np.negative, cnp.negative, crand),
    "positive": (np.positive, cnp.positive, crand),
    "square": (np.square, cnp.square, crand),
    "reciprocal": (np.reciprocal, cnp.reciprocal, cpos),
    "exp": (np.exp, cnp.exp, crand),
    "exp2": (np.exp2, cnp.exp2, crand),
    "expm1": (np.expm1, cnp.expm1, crand),
    "log": (np.log, cnp.log, cpos),
    "log2": (np.log2, cnp.log2, cpos),
    "log10": (np.log10, cnp.log10, cpos),
    "log1p": (np.log1p, cnp.log1p, cpos),
    "sqrt": (np.sqrt, cnp.sqrt, cpos),
    "sin": (np.sin, cnp.sin, crand),
    "cos": (np.cos, cnp.cos, crand),
    "tan": (np.tan, cnp.tan, csmall),
    "arcsin": (np.arcsin, cnp.arcsin, csmall),
    "arccos": (np.arccos, cnp.arccos, csmall),
    "arctan": (np.arctan, cnp.arctan, csmall),
    "sinh": (np.sinh, cnp.sinh, crand),
    "cosh": (np.cosh, cnp.cosh, crand),
    "tanh": (np.tanh, cnp.tanh, csmall),
    "arcsinh": (np.arcsinh, cnp.arcsinh, csmall),
    "arccosh": (np.arccosh, cnp.arccosh, lambda *s: cpos(*s) + 1.5),
    "arctanh": (np.arctanh, cnp.arctanh, csmall),
    "sinc": (np.sinc, cnp.sinc, crand),
    "conj": (np.conj, cnp.conj, crand),
    "conjugate": (np.conjugate, cnp.conjugate, crand),
    "method conj": (lambda z: z.conj(), lambda z: z.conjugate(), crand),
    "power 3": (lambda z: z**3, lambda z: cnp.power(z, 3), crand),
    "power 0.5": (lambda z: z**0.5, lambda z: cnp.power(z, 0.5), cpos),
    "power complex": (lambda z: z ** (1.5 - 0.5j), lambda z: cnp.power(z, 1.5 - 0.5j), cpos),
    "rpow": (lambda z: (2.0 + 1j) ** z, lambda z: cnp.power(2.0 + 1j, z), crand),
    "float_power": (lambda z: np.float_power(z, 2.5), lambda z: cnp.float_power(z, 2.5), cpos),
    # non-holomorphic functions with a real result
    "absolute": (np.abs, cnp.abs, crand),
    "real": (np.real, cnp.real, crand),
    "imag": (np.imag, cnp.imag, crand),
    "attribute real": (lambda z: z.real, lambda z: z.real * 2.0, crand),
    "attribute imag": (lambda z: z.imag, lambda z: z.imag * 2.0, crand),
    "angle": (np.angle, cnp.angle, crand),
    "angle deg": (lambda z: np.angle(z, deg=True), lambda z: cnp.angle(z, True), crand),
}
HOLOMORPHIC = set(UNARY) - {
    "conj",
    "conjugate",
    "method conj",
    "absolute",
    "real",
    "imag",
    "attribute real",
    "attribute imag",
    "angle",
    "angle deg",
}


@pytest.mark.parametrize("name", UNARY)
@pytest.mark.parametrize("shape", [(), (3,), (2, 3)])
@pytest.mark.parametrize("via", ["np", "cnp"])
def test_unary(name, shape, via):
    np_f, cnp_f, gen = UNARY[name]
    f = np_f if via == "np" else cnp_f
    z = gen(*shape)
    if via == "np":
        assert_allclose(f(z), np_f(z))
    check_complex(f, z, order=2)
    real_f = lambda z: np.sum(np.abs(f(z)) ** 2)  # noqa: E731
    assert_allclose(cr.grad(real_f)(z), fd_grad(real_f, z), rtol=1e-5, atol=1e-6)
    if name in HOLOMORPHIC and shape == (3,):
        Jr = cr.jacrev(f, holomorphic=True)(z)
        Jf = cr.jacfwd(f, holomorphic=True)(z)
        h = 1e-6
        d = (f(z + h) - f(z - h)) / (2 * h)
        assert_allclose(Jr, np.diag(d), rtol=1e-5, atol=1e-6)
        assert_allclose(Jf, Jr, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("name", ["absolute", "angle", "imag", "real"])
def test_non_holomorphic_hessians(name):
    f0 = UNARY[name][0]
    f = lambda x: np.sum(f0(x * (1 + 2j) + 0.5j) ** 2)  # noqa: E731
    x = rand(3)
    assert_allclose(cr.hessian(f)(x), cr.jacrev(cr.jacrev(f))(x), atol=1e-10)


def test_conventions_at_zero():
    zero = np.zeros(2, dtype=complex)
    assert_allclose(cr.grad(lambda z: np.sum(np.abs(z)))(zero), 0.0)
    assert_allclose(cr.grad(lambda z: np.sum(np.angle(z)))(zero), 0.0)
    assert not np.any(np.isnan(cr.jacrev(np.abs)(zero)))


def test_real_arrays_through_complex_functions():
    x = rand(3)
    assert cr.grad(lambda x: np.sum(np.real(x) ** 2))(x).tolist() == (2 * x).tolist()
    assert cr.grad(lambda x: np.sum(np.imag(x) + x))(x).tolist() == [1.0] * 3
    assert cr.grad(lambda x: np.sum(np.angle(x) + x))(x).tolist() == [1.0] * 3
    assert_allclose(cr.grad(lambda x: np.sum(np.conj(x) ** 2))(x), 2 * x)


BINARY = {
    "add": (np.add, cnp.add, crand, crand),
    "subtract": (np.subtract, cnp.subtract, crand, crand),
    "multiply": (np.multiply, cnp.multiply, crand, crand),
    "divide": (np.divide, cnp.divide, crand, cpos),
    "power": (np.power, cnp.power, cpos, crand),
    "operators": (
        lambda x, y: (x + y) * x / y - y**2,
        lambda x, y: (x + y) * x / y - y**2,
        crand,
        cpos,
    ),
}
BINARY_SHAPES = [((), ()), ((3,), (3,)), ((2, 3), (3,)), ((2, 1), (1, 3)), ((), (2, 3))]


@pytest.mark.parametrize("name", BINARY)
@pytest.mark.parametrize("shapes", BINARY_SHAPES, ids=str)
@pytest.mark.parametrize("kinds", ["cc", "rc", "cr"])
def test_binary(name, shapes, kinds):
    np_f, cnp_f, gx, gy = BINARY[name]
    x, y = gx(*shapes[0]), gy(*shapes[1])
    if kinds[0] == "r":
        x = np.real(x).copy()
    if kinds[1] == "r":
        y = np.real(y).copy()
    for f in (np_f, cnp_f):
        check_complex(lambda a, f=f: f(a, y), x, order=2)
        check_complex(lambda b, f=f: f(x, b), y, order=2)
    gx_, gy_ = cr.grad(lambda a, b: np.sum(np.abs(np_f(a, b)) ** 2), argnums=(0, 1))(x, y)
    assert np.asarray(gx_).dtype == x.dtype and np.asarray(gy_).dtype == y.dtype


@settings(max_examples=25, deadline=None, derandomize=True)
@given(
    shapes=hnp.mutually_broadcastable_shapes(num_shapes=2, max_dims=3, max_side=3),
    real_x=st.booleans(),
)
def test_broadcasting_mixed_real_and_complex(shapes, real_x):
    rng = np.random.default_rng(3)
    sx, sy = shapes.input_shapes
    x = rng.uniform(0.5, 1.5, sx) + (0 if real_x else 1j * rng.uniform(-1, 1, sx))
    y = rng.uniform(-1, 1, sy) + 1j * rng.uniform(-1, 1, sy)
    f = lambda x, y: np.sum(np.abs(x * y + x**y) ** 2)  # noqa: E731
    g = cr.grad(f)(x, y)
    assert np.shape(g) == np.shape(x) and np.asarray(g).dtype == np.asarray(x).dtype
    if real_x:
        h = 1e-6
        e = np.zeros(sx)
        num = np.zeros(sx)
        for i in np.ndindex(sx):
            e[...] = 0
            e[i] = h
            num[i] = (f(x + e, y) - f(x - e, y)) / (2 * h)
        assert_allclose(g, num, rtol=1e-5, atol=1e-6)
    else:
        assert_allclose(g, fd_grad(lambda a: f(a, y), x), rtol=1e-5, atol=1e-6)


# --- reductions and products ------------------------------------------------------------------
AXES = [None, 0, -1, (0, 1)]


@pytest.mark.parametrize("fn", ["sum", "mean", "prod"])
@pytest.mark.parametrize("axis", AXES, ids=str)
@pytest.mark.parametrize("keepdims", [False, True])
def test_reductions(fn, axis, keepdims):
    np_f, cnp_f = getattr(np, fn), getattr(cnp, fn)
    z = crand(2, 3)
    for f in (np_f, cnp_f):
        check_complex(lambda z, f=f: f(z, axis=axis, keepdims=keepdims), z, order=2)
    method = lambda z: getattr(z, fn)(axis=axis, keepdims=keepdims)  # noqa: E731
    check_complex(method, z, order=1)
    check_complex(lambda z: np_f(z), crand(), order=2)  # 0-d


def test_prod_with_a_zero_factor():
    z = np.array([1.0 + 1j, 0.0, 2.0 - 1j])
    assert_allclose(cr.grad(np.prod, holomorphic=True)(z), [0.0, (1 + 1j) * (2 - 1j), 0.0])


def test_cumsum_and_cumprod():
    z = crand(2, 3)
    check_complex(lambda z: np.cumsum(z, axis=-1), z)
    check_complex(lambda z: np.cumprod(z, axis=0), z)


PRODUCTS = {
    "matmul mm": (lambda a, b: a @ b, (2, 3), (3, 2)),
    "matmul mv": (np.matmul, (2, 3), (3,)),
    "matmul vm": (np.matmul, (3,), (3, 2)),
    "matmul vv": (np.matmul, (3,), (3,)),
    "matmul batched": (np.matmul, (2, 2, 3), (3, 2)),
    "dot": (np.dot, (2, 3), (3,)),
    "dot nd": (np.dot, (2, 2, 3), (3, 2)),
    "vdot": (np.vdot, (2, 3), (2, 3)),
    "inner": (np.inner, (2, 3), (3,)),
    "outer": (np.outer, (2,), (3,)),
    "tensordot": (lambda a, b: np.tensordot(a, b, axes=1), (2, 3), (3, 2)),
    "vecdot": (np.linalg.vecdot, (2, 3), (3,)),
    "einsum": (lambda a, b: np.einsum("ij,jk->ik", a, b), (2, 3), (3, 2)),
    "einsum trace": (lambda a, b: np.einsum("ii,i->", a, b), (3, 3), (3,)),
    "cnp matmul": (cnp.matmul, (2, 3), (3, 2)),
    "cnp einsum": (lambda a, b: cnp.einsum("ij,j->i", a, b), (2, 3), (3,)),
    "cnp vdot": (cnp.vdot, (3,), (3,)),
}


@pytest.mark.parametrize("name", PRODUCTS)
@pytest.mark.parametrize("kinds", ["cc", "rc", "cr"])
def test_products(name, kinds):
    f, sa, sb = PRODUCTS[name]
    a = crand(*sa) if kinds[0] == "c" else rand(*sa)
    b = crand(*sb) if kinds[1] == "c" else rand(*sb)
    check_complex(lambda a: f(a, b), a, order=2)
    check_complex(lambda b: f(a, b), b, order=2)
    if kinds == "cc":  # holomorphic in b always; in a unless a is conjugated
        fb = lambda b: f(a, b)  # noqa: E731
        assert_allclose(cr.jacrev(fb, holomorphic=True)(b), cr.jacfwd(fb, holomorphic=True)(b))
        if "vdot" not in name and "vecdot" not in name:
            fa = lambda a: f(a, b)  # noqa: E731
            Ja = cr.jacrev(fa, holomorphic=True)(a)
            assert_allclose(Ja, cr.jacfwd(fa, holomorphic=True)(a))


# --- shape functions carry complex values --------------------------------------------------
SHAPE_FUNCTIONS = {
    "reshape": lambda z: np.reshape(z, (3, 2)),
    "transpose": lambda z: z.T,
    "getitem": lambda z: z[1, ::-1],
    "fancy getitem": lambda z: z[[0, 1, 1], [2, 0, 2]],
    "concatenate": lambda z: np.concatenate([z, 2 * z], axis=1),
    "stack": lambda z: np.stack([z, z * z]),
    "where": lambda z: np.where(np.abs(z) > 1.0, z, z * 1j),
    "broadcast_to": lambda z: np.broadcast_to(z[0], (4, 3)),
    "roll": lambda z: np.roll(z, 1, axis=1),
    "flip": lambda z: np.flip(z),
    "diagonal": lambda z: np.diagonal(z),
    "tile": lambda z: np.tile(z, (2, 1)),
    "pad": lambda z: np.pad(z, 1),
    "astype": lambda z: np.real(z).astype(complex) * z,
    "astype float": lambda z: z.astype(float),
    "moveaxis": lambda z: np.moveaxis(z, 0, -1),
    "trace": lambda z: np.trace(z),
    "cross": lambda z: np.cross(z[0], z[1]),
    "kron": lambda z: np.kron(z[0], z[1]),
}


@pytest.mark.parametrize("name", SHAPE_FUNCTIONS)
def test_shape_functions(name):
    f = SHAPE_FUNCTIONS[name]
    z = crand(2, 3)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", np.exceptions.ComplexWarning)  # NumPy's, on plain z
        check_complex(f, z, order=2)


def test_astype_to_real_takes_the_real_part_without_warning():
    z = crand(3)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert_allclose(cr.grad(lambda z: np.sum(z.astype(float) ** 2))(z), 2 * z.real)
        _, t = cr.jvp(lambda z: z.astype(np.float32), (z,), (z * 1j,))
        assert t.dtype == np.float32


def test_single_precision_complex():
    z = crand(3).astype(np.complex64)
    g = cr.grad(lambda z: np.sum(np.abs(z * z)))(z)
    assert g.dtype == np.complex64
    assert_allclose(g, 2 * np.conj(z) * np.abs(z) / np.abs(z), rtol=1e-5)
    g = cr.grad(lambda x: np.sum(np.abs(x.astype(np.complex64) * 1j) ** 2))(np.ones(2, np.float32))
    assert g.dtype == np.float32 and g.tolist() == [2.0, 2.0]


def test_complex_cast_of_real_input():
    x = rand(3)
    g = cr.grad(lambda x: np.sum(np.abs(x.astype(complex) * (1 + 1j)) ** 2))(x)
    assert g.dtype == np.float64
    assert_allclose(g, 4 * x)


# --- what is still refused ---------------------------------------------------------------------
def test_unconverted_functions_still_refuse_complex():
    z = crand(3)
    with pytest.raises(NotImplementedError, match="complex"):
        cr.grad(lambda z: np.abs(np.min(z)))(z)
    with pytest.raises(NotImplementedError, match="complex"):
        cr.grad(lambda z: np.abs(np.max(z)))(z)


@pytest.mark.parametrize("fn", [np.maximum, np.minimum, np.fmax, np.fmin])
def test_complex_selections_follow_numpys_lexicographic_order(fn):
    z = np.array([0.3 + 0.4j, -0.5 + 0.2j, 1.0 - 1.0j])
    w = np.array([0.1 + 0.9j, -0.7 + 0.6j, 2.0 + 0.0j])  # real parts differ: no ties
    chosen = fn(z, w) == z
    check_complex(lambda a: fn(a, w), z)
    _, t = cr.jvp(lambda a: fn(a, w), (z,), (np.ones(3, complex),))
    assert_allclose(t, chosen.astype(complex))
    g = cr.grad(lambda a: np.sum(np.abs(fn(a, w)) ** 2))(z)
    assert_allclose(g, np.where(chosen, 2 * np.conj(z), 0))
