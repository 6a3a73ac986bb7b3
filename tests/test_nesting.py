"""Nested transforms: higher derivatives in every mode combination, perturbation
confusion, Hessians, Jacobians of Jacobians, linearize, and pytrees through
every Jacobian-style transform."""

import collections
import itertools

import numpy as np
import pytest
from numpy.testing import assert_allclose

import chainrule as cr
import chainrule.numpy as cnp
from chainrule.core.trace import Tracer


def d_fwd(f):
    """Derivative of a scalar function by forward mode."""
    return lambda x: cr.jvp(f, (x,), (1.0,))[1]


d_rev = cr.grad
MODES = {"f": d_fwd, "r": d_rev}


def derivative(f, combo):
    """Apply the derivative operators in ``combo`` (e.g. "rfr"), innermost first."""
    for c in combo:
        f = MODES[c](f)
    return f


# --- closed forms ---------------------------------------------------------------
def _sinexp():
    e, s, c = np.exp, np.sin, np.cos
    return (
        lambda x: np.sin(x) * np.exp(x),
        [
            lambda x: e(x) * (s(x) + c(x)),
            lambda x: 2 * e(x) * c(x),
            lambda x: 2 * e(x) * (c(x) - s(x)),
        ],
    )


def _x3tanh():
    def d1(x):
        t = np.tanh(x)
        s = 1 - t**2
        return 3 * x**2 * t + x**3 * s

    def d2(x):
        t = np.tanh(x)
        s = 1 - t**2
        return 6 * x * t + 6 * x**2 * s - 2 * x**3 * t * s

    def d3(x):
        t = np.tanh(x)
        s = 1 - t**2
        return 6 * t + 18 * x * s - 18 * x**2 * t * s - 2 * x**3 * s**2 + 4 * x**3 * t**2 * s

    return lambda x: x**3 * np.tanh(x), [d1, d2, d3]


def _log1px2():
    return (
        lambda x: np.log(1 + x**2),
        [
            lambda x: 2 * x / (1 + x**2),
            lambda x: 2 * (1 - x**2) / (1 + x**2) ** 2,
            lambda x: 4 * x * (x**2 - 3) / (1 + x**2) ** 3,
        ],
    )


def _cnp_mix():
    # the same kind of function written with chainrule.numpy: x * cos(x) + sqrt(1 + x^2)
    def d1(x):
        r = np.sqrt(1 + x**2)
        return np.cos(x) - x * np.sin(x) + x / r

    def d2(x):
        r = np.sqrt(1 + x**2)
        return -2 * np.sin(x) - x * np.cos(x) + 1 / r**3

    def d3(x):
        r = np.sqrt(1 + x**2)
        return -3 * np.cos(x) + x * np.sin(x) - 3 * x / r**5

    return lambda x: x * cnp.cos(x) + cnp.sqrt(1 + x**2), [d1, d2, d3]


FUNCS = {
    "sin*exp": _sinexp(),
    "x^3*tanh": _x3tanh(),
    "log(1+x^2)": _log1px2(),
    "cnp-mix": _cnp_mix(),
}
POINTS = [0.7, -1.3, 2.1]
COMBOS = ["".join(c) for n in (1, 2, 3) for c in itertools.product("fr", repeat=n)]


def test_closed_forms_are_right():
    """Guard the hand-derived closed forms with finite differences."""
    h = 1e-5
    for f, ds in FUNCS.values():
        chain = [f, *ds]
        for k in range(3):
            for x in POINTS:
                fd = (chain[k](x + h) - chain[k](x - h)) / (2 * h)
                assert_allclose(fd, chain[k + 1](x), rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("combo", COMBOS)
@pytest.mark.parametrize("name", list(FUNCS))
def test_higher_derivatives_every_mode_combination(name, combo):
    f, ds = FUNCS[name]
    df = derivative(f, combo)
    for x in POINTS:
        assert_allclose(df(x), ds[len(combo) - 1](x), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("name", list(FUNCS))
def test_higher_derivatives_on_vectors(name):
    """Elementwise: the diagonal Hessian from every second-order pairing, and
    the third derivative via jvp of hvp."""
    f, ds = FUNCS[name]
    x = np.array(POINTS)
    g = lambda x: np.sum(f(x))
    H_expected = np.diag(ds[1](x))
    assert_allclose(cr.hessian(g)(x), H_expected, rtol=1e-10, atol=1e-12)
    for outer, inner in itertools.product((cr.jacfwd, cr.jacrev), repeat=2):
        assert_allclose(outer(inner(g))(x), H_expected, rtol=1e-10, atol=1e-12)
    v = np.ones_like(x)
    third = cr.jvp(lambda y: cr.hvp(g, (y,), (v,))[1], (x,), (v,))[1]
    assert_allclose(third, ds[2](x), rtol=1e-10, atol=1e-12)


# --- perturbation confusion ------------------------------------------------------
@pytest.mark.parametrize("outer, inner", list(itertools.product("fr", repeat=2)))
def test_perturbation_confusion_classic(outer, inner):
    """grad(lambda x: x * grad(lambda y: x * y)(2.))(1.) == 2: the inner derivative
    is x, so the outer function is x^2, whose derivative at 1 is 2."""
    Do, Di = MODES[outer], MODES[inner]
    assert_allclose(Do(lambda x: x * Di(lambda y: x * y)(2.0))(1.0), 2.0)
    assert_allclose(Do(lambda x: x * Di(lambda y: x * y)(2.0))(3.0), 6.0)


@pytest.mark.parametrize("outer, inner", list(itertools.product("fr", repeat=2)))
def test_perturbation_confusion_siskind_pearlmutter(outer, inner):
    """d/dx [x * d/dy (x + y)] = d/dx [x * 1] = 1, at any x and y."""
    Do, Di = MODES[outer], MODES[inner]
    for x0, y0 in [(1.0, 1.0), (-2.5, 4.0), (0.0, 0.3)]:
        assert_allclose(Do(lambda x, y0=y0: x * Di(lambda y: x + y)(y0))(x0), 1.0)


@pytest.mark.parametrize("combo", ["".join(c) for c in itertools.product("fr", repeat=3)])
def test_perturbation_confusion_three_levels(combo):
    """d/dx [x * d/dy [y * d/dz (x * y * z)]] with d/dz(xyz) = xy, so
    d/dy [y * x y] = 2 x y and d/dx [x * 2 x y] = 4 x y."""
    Da, Db, Dc = (MODES[c] for c in combo)
    x0, y0, z0 = 1.5, -0.5, 2.0
    f = lambda x: x * Db(lambda y: y * Dc(lambda z: x * y * z)(z0))(y0)
    assert_allclose(Da(f)(x0), 4 * x0 * y0, rtol=1e-12)


def test_perturbation_confusion_with_vectors_and_jacobians():
    """The inner Jacobian closes over the outer variable."""
    a = np.array([1.0, 2.0, -1.0])
    # inner: jacrev of y -> x * y is diag(x); outer: grad of sum(x * diag(x) @ a) = sum(x^2 a)
    for jac in (cr.jacrev, cr.jacfwd):
        f = lambda x, jac=jac: np.sum(x * (jac(lambda y: x * y)(np.ones(3)) @ a))
        assert_allclose(cr.grad(f)(np.array([0.5, 1.0, 2.0])), 2 * np.array([0.5, 1.0, 2.0]) * a)


# --- Hessians --------------------------------------------------------------------
RNG = np.random.default_rng(7)
A = RNG.normal(size=(4, 4))
B = RNG.normal(size=(5, 4))
x0 = RNG.normal(size=4)


def test_hessian_of_quadratic_form():
    f = lambda x: x @ A @ x
    expected = A + A.T
    assert_allclose(cr.hessian(f)(x0), expected, rtol=1e-12, atol=1e-12)
    # constant in x
    assert_allclose(cr.hessian(f)(10 * x0 + 3), expected, rtol=1e-12, atol=1e-12)
    assert_allclose(cr.grad(f)(x0), expected @ x0, rtol=1e-12, atol=1e-12)


def test_hessian_of_quadratic_form_with_linear_term():
    b = RNG.normal(size=4)
    f = lambda x: 0.5 * cnp.dot(x, cnp.dot(A, x)) + cnp.dot(b, x) + 3.0
    assert_allclose(cr.hessian(f)(x0), 0.5 * (A + A.T), rtol=1e-12, atol=1e-12)


def tanh_sq(x):
    return np.sum(np.tanh(B @ x) ** 2)


def tanh_sq_grad(x):
    t = np.tanh(B @ x)
    return B.T @ (2 * t * (1 - t**2))


def tanh_sq_hessian(x):
    t = np.tanh(B @ x)
    return B.T @ np.diag(2 * (1 - t**2) * (1 - 3 * t**2)) @ B


def test_hessian_of_sum_tanh_squared():
    assert_allclose(cr.grad(tanh_sq)(x0), tanh_sq_grad(x0), rtol=1e-12, atol=1e-12)
    H = cr.hessian(tanh_sq)(x0)
    assert_allclose(H, tanh_sq_hessian(x0), rtol=1e-10, atol=1e-12)
    assert_allclose(H, H.T, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_hvp_equals_hessian_times_vector(seed):
    rng = np.random.default_rng(seed)
    x, v = rng.normal(size=4), rng.normal(size=4)
    g, hv = cr.hvp(tanh_sq, (x,), (v,))
    assert_allclose(g, tanh_sq_grad(x), rtol=1e-12, atol=1e-12)
    assert_allclose(hv, tanh_sq_hessian(x) @ v, rtol=1e-10, atol=1e-12)
    assert_allclose(hv, cr.hessian(tanh_sq)(x) @ v, rtol=1e-10, atol=1e-12)
    # and hvp is linear in v
    _, hv2 = cr.hvp(tanh_sq, (x,), (2.0 * v,))
    assert_allclose(hv2, 2.0 * hv, rtol=1e-12, atol=1e-12)


def test_hvp_several_arguments():
    f = lambda x, y: np.sum(x**2) * y
    x, y = np.array([1.0, 2.0]), 3.0
    (gx, gy), (hx, hy) = cr.hvp(f, (x, y), (np.ones(2), 1.0))
    assert_allclose(gx, 2 * x * y)
    assert_allclose(gy, np.sum(x**2))
    # H = [[2y I, 2x], [2x^T, 0]]
    assert_allclose(hx, 2 * y * np.ones(2) + 2 * x)
    assert_allclose(hy, np.sum(2 * x))


# --- Jacobians of Jacobians -------------------------------------------------------
def vec_fn(x):
    return cnp.stack([np.sin(x[0]) * x[1], x[1] * x[2] ** 2, np.exp(x[0] * x[2])])


def vec_fn_second(x):
    """d^2 f_i / dx_j dx_k, shape (3, 3, 3)."""
    a, b, c = x
    T = np.zeros((3, 3, 3))
    T[0, 0, 0] = -np.sin(a) * b
    T[0, 0, 1] = T[0, 1, 0] = np.cos(a)
    T[1, 1, 2] = T[1, 2, 1] = 2 * c
    T[1, 2, 2] = 2 * b
    e = np.exp(a * c)
    T[2, 0, 0] = c * c * e
    T[2, 2, 2] = a * a * e
    T[2, 0, 2] = T[2, 2, 0] = e + a * c * e
    return T


def test_jacobians_of_jacobians_agree():
    x = np.array([0.4, -1.1, 0.8])
    expected = vec_fn_second(x)
    results = {
        "fwd(rev)": cr.jacfwd(cr.jacrev(vec_fn))(x),
        "rev(fwd)": cr.jacrev(cr.jacfwd(vec_fn))(x),
        "rev(rev)": cr.jacrev(cr.jacrev(vec_fn))(x),
        "fwd(fwd)": cr.jacfwd(cr.jacfwd(vec_fn))(x),
    }
    for name, r in results.items():
        assert r.shape == (3, 3, 3), name
        assert_allclose(r, expected, rtol=1e-12, atol=1e-12, err_msg=name)


def test_hessian_equals_all_jacobian_compositions():
    x = RNG.normal(size=4)
    H = cr.hessian(tanh_sq)(x)
    for outer, inner in itertools.product((cr.jacfwd, cr.jacrev), repeat=2):
        assert_allclose(outer(inner(tanh_sq))(x), H, rtol=1e-10, atol=1e-12)


def test_third_order_tensor():
    """jacfwd(jacrev(jacrev)) of sum(x^3 * y) with x a vector: only d^3/dx_i^3 = 6 y."""
    y = 2.0
    f = lambda x: np.sum(x**3) * y
    x = np.array([1.0, -2.0, 0.5])
    T = cr.jacfwd(cr.jacrev(cr.grad(f)))(x)
    expected = np.zeros((3, 3, 3))
    for i in range(3):
        expected[i, i, i] = 6 * y
    assert_allclose(T, expected, rtol=1e-12, atol=1e-12)
    assert_allclose(cr.jacrev(cr.jacfwd(cr.jacfwd(f)))(x), expected, rtol=1e-12, atol=1e-12)


def test_grad_of_jvp_and_jvp_of_vjp():
    """Mixed compositions through the lower-level transforms."""
    x = np.array([0.3, 1.2])
    v = np.array([1.0, -2.0])
    f = lambda x: np.sum(np.sin(x) * x[::-1])
    H = cr.hessian(f)(x)
    # grad of the directional derivative = H v
    assert_allclose(cr.grad(lambda x: cr.jvp(f, (x,), (v,))[1])(x), H @ v, rtol=1e-12)
    # jvp of vjp: d/dt [J(x + t v)^T u] = H v for scalar output with u = 1
    pulled = lambda x: cr.vjp(f, x)[1](1.0)[0]
    assert_allclose(cr.jvp(pulled, (x,), (v,))[1], H @ v, rtol=1e-12)
    # vjp of jvp
    push = lambda x: cr.jvp(f, (x,), (v,))[1]
    assert_allclose(cr.vjp(push, x)[1](1.0)[0], H @ v, rtol=1e-12)


# --- linearize ----------------------------------------------------------------------
def test_linearize_agrees_with_jvp():
    x = np.array([0.4, -1.1, 0.8])
    out, jvp_fn = cr.linearize(vec_fn, x)
    assert_allclose(out, vec_fn(x))
    rng = np.random.default_rng(3)
    for _ in range(4):
        v = rng.normal(size=3)
        expected = cr.jvp(vec_fn, (x,), (v,))[1]
        assert_allclose(jvp_fn(v), expected, rtol=1e-12, atol=1e-12)
    assert_allclose(jvp_fn(np.zeros(3)), np.zeros(3))
    # column by column it is the Jacobian
    J = np.stack([jvp_fn(e) for e in np.eye(3)], axis=1)
    assert_allclose(J, cr.jacfwd(vec_fn)(x), rtol=1e-12, atol=1e-12)


def test_linearize_several_arguments():
    f = lambda x, y: np.sin(x) * y
    x, y = np.array([1.0, 2.0]), 2.0
    out, jvp_fn = cr.linearize(f, x, y)
    tx, ty = np.array([1.0, 1.0]), 1.0
    assert_allclose(jvp_fn(tx, ty), cr.jvp(f, (x, y), (tx, ty))[1], rtol=1e-12)
    assert_allclose(jvp_fn(tx, ty), np.cos(x) * y * tx + np.sin(x) * ty, rtol=1e-12)


def test_linearize_of_grad():
    """linearize(grad(f)) is the Hessian as a linear map."""
    x = RNG.normal(size=4)
    g, hvp_fn = cr.linearize(cr.grad(tanh_sq), x)
    assert_allclose(g, tanh_sq_grad(x), rtol=1e-12, atol=1e-12)
    v = RNG.normal(size=4)
    assert_allclose(hvp_fn(v), tanh_sq_hessian(x) @ v, rtol=1e-10, atol=1e-12)


# --- pytrees -----------------------------------------------------------------------
NT = collections.namedtuple("NT", ["a", "b"])


class Affine:
    """A registered pytree node: ``w`` and ``b`` are children, ``name`` is aux data."""

    def __init__(self, w, b, name="affine"):
        self.w, self.b, self.name = w, b, name


cr.tree.register(
    Affine, lambda p: ((p.w, p.b), p.name), lambda name, kids: Affine(kids[0], kids[1], name)
)

W0 = np.array([[0.5, -1.0], [2.0, 0.3]])
V0 = np.array([1.0, -0.5])


def loss_of_params(w, b):
    return np.sum(np.tanh(w @ V0 + b) ** 2)


def loss_grads(w, b):
    t = np.tanh(w @ V0 + b)
    gz = 2 * t * (1 - t**2)
    return np.outer(gz, V0), gz


PARAM_TREES = {
    "tuple": ((W0, V0), lambda p: p[0], lambda p: p[1], lambda w, b: (w, b)),
    "list": ([W0, V0], lambda p: p[0], lambda p: p[1], lambda w, b: [w, b]),
    "dict": ({"w": W0, "b": V0}, lambda p: p["w"], lambda p: p["b"], lambda w, b: {"w": w, "b": b}),
    "namedtuple": (NT(W0, V0), lambda p: p.a, lambda p: p.b, lambda w, b: NT(w, b)),
    "registered": (
        Affine(W0, V0, "L1"),
        lambda p: p.w,
        lambda p: p.b,
        lambda w, b: Affine(w, b, "L1"),
    ),
    "nested": (
        {"layer": [(W0,), {"bias": V0}], "extra": None},
        lambda p: p["layer"][0][0],
        lambda p: p["layer"][1]["bias"],
        lambda w, b: {"layer": [(w,), {"bias": b}], "extra": None},
    ),
}


def _same_structure(a, b):
    assert cr.tree.structure(a) == cr.tree.structure(b)


@pytest.mark.parametrize("kind", list(PARAM_TREES))
def test_pytree_grad(kind):
    params, get_w, get_b, make = PARAM_TREES[kind]
    f = lambda p: loss_of_params(get_w(p), get_b(p))
    g = cr.grad(f)(params)
    _same_structure(g, params)
    gw, gb = loss_grads(W0, V0)
    assert_allclose(get_w(g), gw, rtol=1e-12)
    assert_allclose(get_b(g), gb, rtol=1e-12)
    if kind == "registered":
        assert g.name == "L1"


@pytest.mark.parametrize("kind", list(PARAM_TREES))
def test_pytree_grad_argnums_tuple_and_has_aux(kind):
    params, get_w, get_b, make = PARAM_TREES[kind]

    def f(scale, p):
        value = scale * loss_of_params(get_w(p), get_b(p))
        return value, {"value": value, "w": get_w(p)}

    (g_scale, g_p), aux = cr.grad(f, argnums=(0, 1), has_aux=True)(2.0, params)
    gw, gb = loss_grads(W0, V0)
    assert_allclose(g_scale, loss_of_params(W0, V0), rtol=1e-12)
    _same_structure(g_p, params)
    assert_allclose(get_w(g_p), 2 * gw, rtol=1e-12)
    assert_allclose(get_b(g_p), 2 * gb, rtol=1e-12)
    assert_allclose(aux["value"], 2 * loss_of_params(W0, V0), rtol=1e-12)
    assert_allclose(aux["w"], W0)
    assert not isinstance(aux["value"], Tracer)
    # argnums=1 alone: just the params' gradient, value_and_grad too
    (value, aux2), g_only = cr.value_and_grad(f, argnums=1, has_aux=True)(2.0, params)
    assert_allclose(value, 2 * loss_of_params(W0, V0), rtol=1e-12)
    assert_allclose(get_b(g_only), 2 * gb, rtol=1e-12)


@pytest.mark.parametrize("kind", list(PARAM_TREES))
@pytest.mark.parametrize("jac", [cr.jacrev, cr.jacfwd], ids=["rev", "fwd"])
def test_pytree_jacobian(kind, jac):
    """Pytree in, pytree out: result nests output structure over input structure."""
    params, get_w, get_b, make = PARAM_TREES[kind]
    f = lambda p: {"z": get_w(p) @ V0 + get_b(p), "s": np.sum(get_b(p) ** 2)}
    J = jac(f)(params)
    assert set(J) == {"z", "s"}
    _same_structure(J["z"], params)
    _same_structure(J["s"], params)
    # dz/dw[i, j, k] = delta_ij V0[k], dz/db = I, ds/dw = 0, ds/db = 2 b
    dz_dw = np.einsum("ij,k->ijk", np.eye(2), V0)
    assert_allclose(get_w(J["z"]), dz_dw, rtol=1e-12)
    assert_allclose(get_b(J["z"]), np.eye(2), rtol=1e-12)
    assert_allclose(get_w(J["s"]), np.zeros((2, 2)), atol=0)
    assert_allclose(get_b(J["s"]), 2 * V0, rtol=1e-12)


@pytest.mark.parametrize("jac", [cr.jacrev, cr.jacfwd], ids=["rev", "fwd"])
def test_pytree_jacobian_argnums_and_has_aux(jac):
    f = lambda x, p, c: (x * p["k"] + c, {"c": c})
    x, p = np.array([1.0, 2.0]), {"k": 3.0}
    (jx, jp), aux = jac(f, argnums=(0, 1), has_aux=True)(x, p, 5.0)
    assert_allclose(jx, 3.0 * np.eye(2))
    assert set(jp) == {"k"}
    assert_allclose(jp["k"], x)
    assert aux == {"c": 5.0}
    jp_only = jac(lambda x, p: x * p["k"], argnums=1)(x, p)
    assert_allclose(jp_only["k"], x)


@pytest.mark.parametrize("kind", ["tuple", "dict", "registered", "nested"])
def test_pytree_hessian(kind):
    params, get_w, get_b, make = PARAM_TREES[kind]
    # f = sum(w^2) * sum(b^2): H_ww = 2 sum(b^2) I, H_wb = 4 w b^T, H_bb = 2 sum(w^2) I
    f = lambda p: np.sum(get_w(p) ** 2) * np.sum(get_b(p) ** 2)
    H = cr.hessian(f)(params)
    _same_structure(H, make(make(0.0, 0.0), make(0.0, 0.0)))
    Hww = get_w(get_w(H))
    Hwb = get_b(get_w(H))
    Hbw = get_w(get_b(H))
    Hbb = get_b(get_b(H))
    sw, sb = np.sum(W0**2), np.sum(V0**2)
    assert_allclose(Hww, 2 * sb * np.eye(4).reshape(2, 2, 2, 2), rtol=1e-12)
    assert_allclose(Hwb, 4 * np.einsum("ij,k->ijk", W0, V0), rtol=1e-12)
    assert_allclose(Hbw, 4 * np.einsum("k,ij->kij", V0, W0), rtol=1e-12)
    assert_allclose(Hbb, 2 * sw * np.eye(2), rtol=1e-12)


def test_hessian_argnums_tuple():
    f = lambda x, y: np.sum(x**2) * y
    x, y = np.array([1.0, 2.0]), 3.0
    (hxx, hxy), (hyx, hyy) = cr.hessian(f, argnums=(0, 1))(x, y)
    assert_allclose(hxx, 2 * y * np.eye(2))
    assert_allclose(hxy, 2 * x)
    assert_allclose(hyx, 2 * x)
    assert_allclose(hyy, 0.0)
    assert_allclose(cr.hessian(f, argnums=1)(x, y), 0.0)
    assert_allclose(cr.hessian(f)(x, y), 2 * y * np.eye(2))


def test_nested_grad_through_pytrees():
    """grad of a function that itself takes grads over a dict."""

    def inner(p, x):
        return np.sum(p["w"] * x**2)

    def outer(x):
        g = cr.grad(inner)({"w": np.array([1.0, 2.0])}, x)
        return np.sum(g["w"] * x)  # = sum(x^3)

    x = np.array([0.5, -1.5])
    assert_allclose(cr.grad(outer)(x), 3 * x**2, rtol=1e-12)
