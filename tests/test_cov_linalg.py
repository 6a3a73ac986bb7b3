"""Products (einsum and everything built on it) and numpy.linalg: values
against NumPy, both modes against finite differences to second order, reverse
against forward Jacobians (the batched paths), on single matrices and stacks,
through plain ``numpy`` calls and through ``chainrule.numpy``; plus the
invariants and the documented conventions at non-differentiable points."""

from __future__ import annotations

import warnings
import zlib

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import chainrule as cr
import chainrule.numpy as cnp

TOL = {"rtol": 1e-4, "atol": 1e-5}  # decompositions: finite differences are less exact


def rng_for(name: str) -> np.random.Generator:
    return np.random.default_rng(zlib.crc32(name.encode()))


def rect(rng, *shape):
    return rng.standard_normal(shape)


def well(rng, *shape):
    """Well-conditioned square matrices: identity-dominated."""
    return 0.3 * rng.standard_normal(shape) + 2.0 * np.eye(shape[-1])


def spd(rng, *shape):
    x = rng.standard_normal(shape)
    return x @ np.swapaxes(x, -1, -2) / shape[-1] + np.eye(shape[-1])


def assert_values(f_cr, f_np, args):
    """Same values as NumPy, called plainly and while traced (reverse mode)."""
    want = f_np(*args)
    for got in (f_cr(*args), cr.vjp(f_cr, *args)[0]):
        for g, w in zip(cr.tree.leaves(got), cr.tree.leaves(want), strict=True):
            assert np.shape(g) == np.shape(w)
            np.testing.assert_allclose(g, w, rtol=1e-10, atol=1e-12)


def assert_jacobians_agree(f, args):
    for i in range(len(args)):
        g = lambda x, i=i: f(*args[:i], x, *args[i + 1 :])  # noqa: E731
        jr, jf = cr.jacrev(g)(args[i]), cr.jacfwd(g)(args[i])
        for r, fw in zip(cr.tree.leaves(jr), cr.tree.leaves(jf), strict=True):
            np.testing.assert_allclose(r, fw, rtol=1e-8, atol=1e-10)


def full_check(f, args, **tol):
    cr.check_grads(f, args, order=2, **tol)
    assert_jacobians_agree(f, args)


# ======================================================================================
# einsum
# ======================================================================================
EINSUM = [
    ("ij,jk->ik", [(2, 3), (3, 4)]),
    ("ij,jk", [(2, 3), (3, 4)]),  # implicit output
    ("ba", [(2, 3)]),  # implicit output is sorted: a transpose
    ("Ab,bC", [(2, 3), (3, 2)]),  # upper case sorts first
    ("ii", [(3, 3)]),  # trace
    ("ii->i", [(3, 3)]),  # diagonal
    ("iii->i", [(2, 2, 2)]),
    ("iij->j", [(3, 3, 2)]),
    ("iij,jk->ik", [(2, 2, 3), (3, 2)]),
    ("ij->", [(2, 3)]),
    ("ij->j", [(2, 3)]),
    ("i,j->ij", [(2,), (3,)]),
    ("i,i", [(3,), (3,)]),
    ("i,i->i", [(1,), (3,)]),  # a size-1 axis broadcasting
    ("ij,ij->ij", [(1, 3), (2, 3)]),
    ("", [()]),
    (",->", [(), ()]),
    ("i,->i", [(3,), ()]),
    ("...ij,...jk->...ik", [(2, 2, 3), (3, 2)]),
    ("...ij,...jk", [(4, 1, 2, 3), (5, 3, 2)]),  # ellipsis broadcasting
    ("...i,...i", [(2, 1, 3), (4, 3)]),
    ("...ii->...i", [(2, 3, 3)]),
    ("ii...->i...", [(3, 3, 2)]),
    ("a...b,b...c->...ac", [(2, 3, 4), (4, 1, 5)]),
    ("i...->...", [(3, 2, 2)]),
    ("ijk,jil->kl", [(2, 3, 4), (3, 2, 5)]),
    ("i,j,k->ijk", [(2,), (3,), (2,)]),
    ("ab,bc,cd,de->ae", [(2, 3), (3, 2), (2, 4), (4, 2)]),
    ("ij,jk,kl", [(2, 3), (3, 3), (3, 2)]),
    ("ii,ij,jj->", [(2, 2), (2, 2), (2, 2)]),
]


@pytest.mark.parametrize("spec,shapes", EINSUM, ids=[s or "scalar" for s, _ in EINSUM])
@pytest.mark.parametrize("via", ["numpy", "chainrule.numpy"])
def test_einsum(spec, shapes, via):
    rng = rng_for(spec + via)
    args = tuple(rect(rng, *s) for s in shapes)
    mod = np if via == "numpy" else cnp
    f = lambda *ops: mod.einsum(spec, *ops)  # noqa: E731
    assert_values(f, lambda *ops: np.einsum(spec, *ops), args)
    full_check(f, args)


@pytest.mark.parametrize("optimize", [False, True, "greedy", "optimal", "path"])
def test_einsum_optimize(optimize):
    rng = rng_for("optimize")
    args = (rect(rng, 2, 3), rect(rng, 3, 4), rect(rng, 4, 2))
    if optimize == "path":
        optimize = np.einsum_path("ij,jk,kl->il", *args)[0]
    f = lambda *ops: np.einsum("ij,jk,kl->il", *ops, optimize=optimize)  # noqa: E731
    np.testing.assert_allclose(f(*args), np.einsum("ij,jk,kl->il", *args))
    full_check(f, args)


def test_einsum_interleaved_sublists():
    rng = rng_for("sublist")
    a, b = rect(rng, 2, 3), rect(rng, 3, 4)
    for sub_a, sub_b, out in [
        ([0, 1], [1, 2], [[0, 2]]),
        ([0, 1], [1, 30], []),
        ([Ellipsis, 1], [1, 2], [[Ellipsis, 2]]),
    ]:
        want = np.einsum(a, sub_a, b, sub_b, *out)
        np.testing.assert_allclose(cnp.einsum(a, sub_a, b, sub_b, *out), want)
        full_check(lambda a, b, sa=sub_a, sb=sub_b, o=out: np.einsum(a, sa, b, sb, *o), (a, b))


def test_einsum_dtype_and_errors():
    rng = rng_for("einsum errors")
    a = rect(rng, 2, 2)
    f = lambda a: np.einsum("ij->", a, dtype=np.float32)  # noqa: E731
    assert cr.grad(f)(a).dtype == np.float64  # cotangent cast back to the input's dtype
    np.testing.assert_allclose(cr.grad(f)(a), np.ones((2, 2)))
    with pytest.raises(TypeError):
        cr.grad(lambda a: np.einsum("ij->", a, out=np.zeros(())))(a)
    with pytest.raises(ValueError, match="ellipsis"):
        cnp.einsum("...i->i", np.ones((2, 3)))
    with pytest.raises(ValueError):
        cnp.einsum("ij,jk", np.ones((2, 3)))


def test_einsum_with_many_indices_and_nesting():
    rng = rng_for("many")
    a = rect(rng, 2, 1, 2, 1, 2)
    f = lambda a: np.einsum("abcde,edcba->", a, np.swapaxes(a, 0, 4) ** 2)  # noqa: E731
    full_check(f, (a,))
    h = cr.hessian(f)(a)
    np.testing.assert_allclose(h, cr.jacrev(cr.jacrev(f))(a), rtol=1e-10, atol=1e-12)


@st.composite
def einsum_problems(draw):
    letters = "abcd"
    sizes = {c: draw(st.integers(1, 3)) for c in letters}
    n_ops = draw(st.integers(1, 3))
    terms = []
    for _ in range(n_ops):
        term = "".join(draw(st.lists(st.sampled_from(letters), min_size=0, max_size=3)))
        terms.append(term)
    used = sorted(set("".join(terms)))
    explicit = draw(st.booleans())
    if explicit:
        out = "".join(draw(st.permutations(used))[: draw(st.integers(0, len(used)))])
        spec = ",".join(terms) + "->" + out
    else:
        spec = ",".join(terms)
    shapes = [tuple(sizes[c] for c in t) for t in terms]
    return spec, shapes


@settings(max_examples=40, deadline=None, derandomize=True)
@given(einsum_problems())
def test_einsum_random_subscripts(problem):
    spec, shapes = problem
    rng = rng_for(spec)
    args = tuple(rect(rng, *s) for s in shapes)
    f = lambda *ops: np.einsum(spec, *ops)  # noqa: E731
    assert_values(f, lambda *ops: np.einsum(spec, *ops), args)
    cr.check_grads(f, args, order=2)
    assert_jacobians_agree(f, args)


@st.composite
def einsum_ellipsis_problems(draw):
    """Subscripts with ``...`` anywhere in a term, broadcasting (size-1) axes
    inside and outside the ellipsis, explicit or implicit output."""
    letters = "abc"
    sizes = {c: draw(st.integers(1, 3)) for c in letters}
    ell = [draw(st.integers(1, 3)) for _ in range(2)]
    terms, shapes = [], []
    for _ in range(draw(st.integers(1, 3))):
        term = "".join(draw(st.lists(st.sampled_from(letters), max_size=3)))
        n_ell = draw(st.integers(0, 2))
        at = draw(st.integers(0, len(term)))
        ell_shape = tuple(draw(st.sampled_from([1, ell[i - n_ell]])) for i in range(n_ell))
        shape = {c: 1 if draw(st.integers(0, 4)) == 0 else sizes[c] for c in set(term)}
        terms.append(term[:at] + "..." + term[at:])
        shapes.append(
            tuple(shape[c] for c in term[:at]) + ell_shape + tuple(shape[c] for c in term[at:])
        )
    if draw(st.booleans()):
        used = sorted(set("".join(terms).replace(".", "")))
        out = "".join(draw(st.permutations(used))[: draw(st.integers(0, len(used)))])
        at = draw(st.integers(0, len(out)))
        return ",".join(terms) + "->" + out[:at] + "..." + out[at:], shapes
    return ",".join(terms), shapes


@settings(max_examples=40, deadline=None, derandomize=True)
@given(einsum_ellipsis_problems())
def test_einsum_random_ellipsis_and_broadcasting(problem):
    spec, shapes = problem
    rng = rng_for(spec + str(shapes))
    args = tuple(rect(rng, *s) for s in shapes)
    try:
        want = np.einsum(spec, *args)
    except ValueError:  # NumPy refuses these subscripts: so must we
        with pytest.raises(ValueError):
            cnp.einsum(spec, *args)
        return
    got = cnp.einsum(spec, *args)
    assert np.shape(got) == np.shape(want)
    np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-12)
    f = lambda *ops: np.einsum(spec, *ops)  # noqa: E731
    cr.check_grads(f, args, order=2)
    assert_jacobians_agree(f, args)


# ======================================================================================
# products built on einsum / matmul
# ======================================================================================
PRODUCT_CASES = {
    "dot": (
        lambda a, b, m: m.dot(a, b),
        [
            ((3,), (3,)),
            ((2, 3), (3,)),
            ((3,), (3, 2)),
            ((2, 3), (3, 4)),
            ((), (2, 3)),
            ((2, 3), ()),
            ((2, 4, 3), (3,)),
            ((2, 4, 3), (3, 5)),
            ((3,), (2, 3, 5)),
            ((2, 3), (4, 3, 2)),
            ((2, 2, 3), (2, 3, 2)),
        ],
    ),
    "vdot": (
        lambda a, b, m: m.vdot(a, b),
        [((3,), (3,)), ((2, 3), (3, 2)), ((2, 3), (6,)), ((), ())],
    ),
    "inner": (
        lambda a, b, m: m.inner(a, b),
        [((3,), (3,)), ((2, 3), (3,)), ((2, 4, 3), (5, 3)), ((), (2, 3)), ((2, 3), (4, 2, 3))],
    ),
    "outer": (lambda a, b, m: m.outer(a, b), [((3,), (2,)), ((2, 3), (2,)), ((), (3,))]),
    "kron": (
        lambda a, b, m: m.kron(a, b),
        [((2,), (3,)), ((2, 3), (2, 2)), ((2,), (2, 3)), ((), (2,)), ((2, 1, 3), (2, 2))],
    ),
    "matmul": (
        lambda a, b, m: m.matmul(a, b),
        [
            ((3,), (3,)),
            ((2, 3), (3,)),
            ((2, 1, 2, 3), (4, 3, 2)),
            ((3,), (2, 3, 2)),
            ((2, 2, 3), (3,)),
            ((1, 2, 3), (4, 1, 3, 2)),
            ((4, 2, 3), (1, 3, 2)),
        ],
    ),
    "linalg.matmul": (lambda a, b, m: m.linalg.matmul(a, b), [((2, 2, 3), (3, 2))]),
    "linalg.outer": (lambda a, b, m: m.linalg.outer(a, b), [((3,), (2,))]),
    "linalg.vecdot": (lambda a, b, m: m.linalg.vecdot(a, b), [((2, 3), (3,)), ((4, 1, 3), (2, 3))]),
}
PRODUCT_PARAMS = [(name, shapes) for name, (_, cases) in PRODUCT_CASES.items() for shapes in cases]


@pytest.mark.parametrize("name,shapes", PRODUCT_PARAMS, ids=[f"{n}-{s}" for n, s in PRODUCT_PARAMS])
@pytest.mark.parametrize("via", ["numpy", "chainrule.numpy"])
def test_products(name, shapes, via):
    f_any = PRODUCT_CASES[name][0]
    rng = rng_for(name + str(shapes))
    args = tuple(rect(rng, *s) for s in shapes)
    mod = np if via == "numpy" else cnp
    f = lambda a, b: f_any(a, b, mod)  # noqa: E731
    assert_values(f, lambda a, b: f_any(a, b, np), args)
    full_check(f, args)


def test_dot_method_and_errors():
    rng = rng_for("dot method")
    a, b = rect(rng, 2, 4, 3), rect(rng, 3, 2)
    full_check(lambda a: a.dot(b), (a,))
    with pytest.raises(ValueError, match="not aligned"):
        cr.grad(lambda a: np.sum(np.dot(a, np.ones((2, 2)))))(a)


TENSORDOT = [
    ((2, 3, 4), (3, 4, 5), 2),
    ((2, 3), (3, 2), 1),
    ((2, 3), (4,), 0),
    ((2, 3, 4), (4, 3, 5), ([1, 2], [1, 0])),
    ((2, 3, 4), (3, 2), ((0, 1), (1, 0))),
    ((2, 3), (2,), (0, 0)),
    ((2, 3), (3, 2), ([-1], [0])),
]


@pytest.mark.parametrize("sa,sb,axes", TENSORDOT, ids=str)
@pytest.mark.parametrize("via", ["numpy", "chainrule.numpy", "linalg"])
def test_tensordot(sa, sb, axes, via):
    rng = rng_for(f"tensordot{sa}{sb}{axes}")
    args = (rect(rng, *sa), rect(rng, *sb))
    if via == "linalg":
        if not isinstance(axes, int):
            return
        f = lambda a, b: np.linalg.tensordot(a, b, axes=axes)  # noqa: E731
    else:
        mod = np if via == "numpy" else cnp
        f = lambda a, b: mod.tensordot(a, b, axes)  # noqa: E731
    assert_values(f, lambda a, b: np.tensordot(a, b, axes), args)
    full_check(f, args)


def test_tensordot_shape_mismatch():
    a = np.ones((2, 3))
    with pytest.raises(ValueError, match="shape-mismatch"):
        cr.grad(lambda a: np.sum(np.tensordot(a, np.ones((2, 3)), 1)))(a)


CROSS = [
    ((3,), (3,), {}),
    ((2,), (2,), {}),
    ((2,), (3,), {}),
    ((3,), (2,), {}),
    ((4, 3), (3,), {}),
    ((5, 1, 3), (4, 3), {}),
    ((3, 4), (4, 3), {"axisa": 0}),
    ((3, 4), (3, 4), {"axis": 0}),
    ((4, 3), (3, 4), {"axisb": 0, "axisc": 0}),
    ((2, 4), (4, 2), {"axisa": 0, "axisb": -1}),
    ((2, 3), (4, 1, 3), {"axisc": 1}),
    ((4, 2), (4, 2), {}),
]


@pytest.mark.parametrize("sa,sb,kw", CROSS, ids=str)
@pytest.mark.parametrize("via", ["numpy", "chainrule.numpy"])
def test_cross(sa, sb, kw, via):
    rng = rng_for(f"cross{sa}{sb}{kw}")
    args = (rect(rng, *sa), rect(rng, *sb))
    mod = np if via == "numpy" else cnp
    f = lambda a, b: mod.cross(a, b, **kw)  # noqa: E731
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # NumPy 2 deprecates 2-vectors
        assert_values(f, lambda a, b: np.cross(a, b, **kw), args)
        full_check(f, args)


def test_cross_warns_like_numpy_and_linalg_cross():
    with pytest.warns(DeprecationWarning):
        cr.grad(lambda a: np.cross(a, np.ones(2)))(np.ones(2))
    rng = rng_for("linalg cross")
    full_check(lambda a, b: np.linalg.cross(a, b), (rect(rng, 4, 3), rect(rng, 3)))
    with pytest.raises(ValueError):
        cr.jacrev(lambda a: np.linalg.cross(a, np.ones(2)))(np.ones(2))
    # the cross product is orthogonal to both factors, and so stays: derivative of a.(a x b) is 0
    a, b = rect(rng, 3), rect(rng, 3)
    np.testing.assert_allclose(cr.grad(lambda a: np.dot(a, np.cross(a, b)))(a), 0, atol=1e-12)


@pytest.mark.parametrize(
    "shapes",
    [
        [(3, 4), (4, 2), (2, 5)],
        [(3,), (3, 4), (4, 2)],
        [(3, 4), (4, 2), (2,)],
        [(3,), (3, 4), (4, 2), (2,)],
        [(2, 3), (3,)],
        [(5, 2), (2, 4), (4, 1), (1, 3)],
    ],
    ids=str,
)
def test_multi_dot(shapes):
    rng = rng_for(f"multi_dot{shapes}")
    args = tuple(rect(rng, *s) for s in shapes)
    for mod in (np, cnp):
        f = lambda *xs, mod=mod: mod.linalg.multi_dot(list(xs))  # noqa: E731
        assert_values(f, lambda *xs: np.linalg.multi_dot(xs), args)
        full_check(f, args)


@pytest.mark.parametrize("n", [-3, -2, -1, 0, 1, 2, 3, 5])
@pytest.mark.parametrize("shape", [(3, 3), (2, 3, 3)], ids=str)
def test_matrix_power(n, shape):
    a = well(rng_for(f"power{n}{shape}"), *shape)
    for mod in (np, cnp):
        f = lambda a, mod=mod: mod.linalg.matrix_power(a, n)  # noqa: E731
        assert_values(f, lambda a: np.linalg.matrix_power(a, n), (a,))
        cr.check_grads(f, (a,), order=2, **TOL)
        if n != 0:
            assert_jacobians_agree(f, (a,))
    if n == 0:
        np.testing.assert_array_equal(cr.jacrev(lambda a: np.linalg.matrix_power(a, 0))(a), 0)
    if n == 2:  # d(A^2) = dA A + A dA
        t = rect(rng_for("t"), *shape)
        _, d = cr.jvp(lambda a: np.linalg.matrix_power(a, 2), (a,), (t,))
        np.testing.assert_allclose(d, t @ a + a @ t)


def test_matrix_power_needs_integer():
    with pytest.raises(TypeError):
        cr.grad(lambda a: np.sum(np.linalg.matrix_power(a, 1.5)))(np.eye(2))


@settings(max_examples=25, deadline=None, derandomize=True)
@given(
    st.lists(st.integers(1, 3), min_size=0, max_size=2),
    st.lists(st.integers(1, 3), min_size=0, max_size=2),
    st.integers(1, 3),
    st.integers(1, 3),
    st.integers(1, 3),
    st.booleans(),
    st.booleans(),
)
def test_matmul_broadcasting_stacks(stack_a, stack_b, m, k, n, vec_a, vec_b):
    # make the stacks broadcast-compatible: equal, or 1, position by position from the right
    rng = rng_for(f"{stack_a}{stack_b}{m}{k}{n}{vec_a}{vec_b}")
    sa = list(stack_a)
    sb = list(stack_b)
    for i in range(1, min(len(sa), len(sb)) + 1):
        if sa[-i] != sb[-i]:
            sb[-i] = 1
    a = rect(rng, *(() if vec_a else tuple(sa)), *((k,) if vec_a else (m, k)))
    b = rect(rng, *(() if vec_b else tuple(sb)), *((k,) if vec_b else (k, n)))
    assert_values(lambda a, b: a @ b, np.matmul, (a, b))
    cr.check_grads(np.matmul, (a, b), order=2)
    assert_jacobians_agree(lambda a, b: a @ b, (a, b))


def test_products_hessians():
    rng = rng_for("product hessians")
    a, b = rect(rng, 2, 3), rect(rng, 3, 3)
    for f in (
        lambda a: np.sum(np.einsum("ij,jk,ik->i", a, b, a) ** 2),
        lambda a: np.sum(np.kron(a, a) ** 2),
        lambda a: np.sum(np.tensordot(a, a, ([0], [0])) ** 2),
        lambda a: np.sum(np.cross(a, a[::-1]) ** 2),
        lambda a: np.inner(a, a).sum() ** 2,
    ):
        h = cr.hessian(f)(a)
        np.testing.assert_allclose(h, cr.jacrev(cr.jacrev(f))(a), rtol=1e-9, atol=1e-10)
        np.testing.assert_allclose(h, cr.jacfwd(cr.jacfwd(f))(a), rtol=1e-9, atol=1e-10)


# ======================================================================================
# numpy.linalg
# ======================================================================================
b32 = rect(rng_for("b32"), 3, 2)
b3 = rect(rng_for("b3"), 3)
bb = {k: rect(rng_for(f"bb{k}"), k, 2) for k in (2, 3, 4)}
bv = {k: rect(rng_for(f"bv{k}"), k) for k in (2, 3, 4)}

# name: (function of a and the module (numpy or chainrule.numpy), input kind, shapes)
SQUARE = [(3, 3), (2, 3, 3), (2, 1, 2, 2)]
RECT = [(3, 3), (4, 2), (2, 4), (2, 3, 2), (2, 2, 4)]
LINALG = {
    "inv": (lambda a, m: m.linalg.inv(a), well, SQUARE),
    "det": (lambda a, m: m.linalg.det(a), well, SQUARE),
    "slogdet": (lambda a, m: m.linalg.slogdet(a), well, SQUARE),
    "solve matrix b": (lambda a, m: m.linalg.solve(a, b32), well, [(3, 3), (2, 3, 3)]),
    "solve vector b": (lambda a, m: m.linalg.solve(a, b3), well, [(3, 3), (2, 3, 3)]),
    "cholesky": (lambda a, m: m.linalg.cholesky(a), spd, SQUARE),
    "cholesky upper": (lambda a, m: m.linalg.cholesky(a, upper=True), spd, SQUARE),
    "eigh": (lambda a, m: m.linalg.eigh(a), spd, SQUARE),
    "eigh U": (lambda a, m: m.linalg.eigh(a, UPLO="U"), spd, SQUARE),
    "eigvalsh": (lambda a, m: m.linalg.eigvalsh(a), spd, SQUARE),
    "eigvalsh U": (lambda a, m: m.linalg.eigvalsh(a, "U"), spd, SQUARE),
    "svd thin": (lambda a, m: m.linalg.svd(a, full_matrices=False), rect, RECT),
    "svd full square": (lambda a, m: m.linalg.svd(a), rect, SQUARE),
    "svd values": (lambda a, m: m.linalg.svd(a, compute_uv=False), rect, RECT),
    "svdvals": (lambda a, m: m.linalg.svdvals(a), rect, RECT),
    "svd hermitian": (lambda a, m: m.linalg.svd(a, hermitian=True), rect, [(3, 3), (2, 3, 3)]),
    "svd hermitian values": (
        lambda a, m: m.linalg.svd(a, compute_uv=False, hermitian=True),
        rect,
        [(3, 3), (2, 3, 3)],
    ),
    "qr": (lambda a, m: m.linalg.qr(a), rect, RECT),
    "qr r": (lambda a, m: m.linalg.qr(a, mode="r"), rect, RECT),
    "qr complete square or wide": (
        lambda a, m: m.linalg.qr(a, mode="complete"),
        rect,
        [(3, 3), (2, 4), (2, 2, 3)],
    ),
    "pinv": (lambda a, m: m.linalg.pinv(a), rect, RECT),
    "pinv rtol": (lambda a, m: m.linalg.pinv(a, rtol=1e-8), rect, [(4, 2)]),
    "pinv hermitian": (lambda a, m: m.linalg.pinv(a, hermitian=True), spd, [(3, 3), (2, 3, 3)]),
    "lstsq x matrix b": (
        lambda a, m: m.linalg.lstsq(a, bb[a.shape[0]])[0],
        rect,
        [(4, 2), (2, 4), (3, 3)],
    ),
    "lstsq x vector b": (
        lambda a, m: m.linalg.lstsq(a, bv[a.shape[0]])[0],
        rect,
        [(4, 2), (2, 4), (3, 3)],
    ),
    "lstsq residuals": (lambda a, m: m.linalg.lstsq(a, bb[a.shape[0]])[1], rect, [(4, 2)]),
    "lstsq s": (lambda a, m: m.linalg.lstsq(a, bv[a.shape[0]])[3], rect, [(4, 2), (2, 4)]),
    "matrix_power": (lambda a, m: m.linalg.matrix_power(a, -2), well, SQUARE),
}
LINALG_PARAMS = [(name, shape) for name, (_, _, shapes) in LINALG.items() for shape in shapes]


@pytest.mark.parametrize("name,shape", LINALG_PARAMS, ids=[f"{n}-{s}" for n, s in LINALG_PARAMS])
@pytest.mark.parametrize("via", ["numpy", "chainrule.numpy"])
def test_linalg(name, shape, via):
    fn, kind, _ = LINALG[name]
    a = kind(rng_for(name + str(shape)), *shape)
    mod = np if via == "numpy" else cnp
    f = lambda a: fn(a, mod)  # noqa: E731
    assert_values(f, lambda a: fn(a, np), (a,))
    full_check(f, (a,), **TOL)


@pytest.mark.parametrize(
    "sa,sb",
    [
        ((3, 3), (3,)),
        ((2, 3, 3), (3,)),
        ((3, 3), (3, 2)),
        ((2, 3, 3), (3, 2)),
        ((2, 3, 3), (2, 3, 2)),
        ((2, 3, 3), (4, 1, 3, 2)),
        ((3, 3), (4, 3, 1)),
        ((1, 3, 3), (2, 3, 3)),
    ],
    ids=str,
)
def test_solve_broadcasting(sa, sb):
    rng = rng_for(f"solve{sa}{sb}")
    a, b = well(rng, *sa), rect(rng, *sb)
    for mod in (np, cnp):
        f = lambda a, b, mod=mod: mod.linalg.solve(a, b)  # noqa: E731
        assert_values(f, np.linalg.solve, (a, b))
        full_check(f, (a, b), **TOL)


@pytest.mark.parametrize(
    "sa,sb", [((4, 2), (4,)), ((4, 2), (4, 3)), ((2, 4), (2,)), ((3, 3), (3, 2))], ids=str
)
def test_lstsq_in_both_arguments(sa, sb):
    rng = rng_for(f"lstsq{sa}{sb}")
    a, b = rect(rng, *sa), rect(rng, *sb)
    f = lambda a, b: np.linalg.lstsq(a, b)[0]  # noqa: E731
    full_check(f, (a, b), **TOL)
    if sa[0] > sa[1]:
        g = lambda a, b: np.linalg.lstsq(a, b)[1]  # noqa: E731
        full_check(g, (a, b), **TOL)
    x, res, rank, s = cnp.linalg.lstsq(a, b)
    want = np.linalg.lstsq(a, b)
    np.testing.assert_allclose(x, want[0])
    assert rank == want[2] and np.shape(res) == np.shape(want[1])


def conditioned(rng, stack, m, n, symmetric=False):
    """Matrices with well separated singular values (eigenvalues) in [1, 2]."""
    k = min(m, n)
    u = np.linalg.qr(rng.standard_normal(stack + (m, m)))[0][..., :k]
    v = u if symmetric else np.linalg.qr(rng.standard_normal(stack + (n, n)))[0][..., :k]
    s = (
        np.linspace(1.0, 2.0, k) * rng.choice([-1.0, 1.0], k)
        if symmetric
        else np.linspace(1.0, 2.0, k)
    )
    return (u * s) @ np.swapaxes(v, -1, -2)


LINALG_RANDOM = {
    "inv": (np.linalg.inv, True, False),
    "det": (np.linalg.det, True, False),
    "slogdet": (lambda a: np.linalg.slogdet(a)[1], True, False),
    "solve": (lambda a: np.linalg.solve(a, np.arange(1.0, a.shape[-1] + 1)), True, False),
    "eigh": (np.linalg.eigh, True, True),
    "eigvalsh": (lambda a: np.linalg.eigvalsh(a, "U"), True, True),
    "cholesky": (lambda a: np.linalg.cholesky(a @ np.swapaxes(a, -1, -2)), True, False),
    "svd": (lambda a: np.linalg.svd(a, full_matrices=False), False, False),
    "svdvals": (np.linalg.svdvals, False, False),
    "qr": (np.linalg.qr, False, False),
    "pinv": (np.linalg.pinv, False, False),
}


@settings(max_examples=40, deadline=None, derandomize=True)
@given(
    st.sampled_from(sorted(LINALG_RANDOM)),
    st.lists(st.integers(1, 3), max_size=2),
    st.integers(1, 4),
    st.integers(1, 4),
)
def test_linalg_random_shapes(name, stack, m, n):
    f, square, symmetric = LINALG_RANDOM[name]
    n = m if square else n
    a = conditioned(rng_for(f"{name}{stack}{m}{n}"), tuple(stack), m, n, symmetric)
    cr.check_grads(f, (a,), order=2, **TOL)
    assert_jacobians_agree(f, (a,))


def test_linalg_hessians():
    rng = rng_for("linalg hessians")
    a = spd(rng, 3, 3)
    r = rect(rng, 4, 3)
    weights = rect(rng, 3, 3)
    for f in (
        lambda a: np.linalg.slogdet(a)[1],
        lambda a: np.sum(np.linalg.inv(a) * weights),
        lambda a: np.sum(np.linalg.cholesky(a) ** 3),
        lambda a: np.sum(np.linalg.eigh(a)[1] ** 3 * weights),
        lambda a: np.sum(np.linalg.eigvalsh(a) ** 3),
        lambda a: np.sum(np.linalg.svd(a @ r.T, full_matrices=False)[0] ** 3),
        lambda a: np.sum(np.linalg.qr(r @ a)[0] ** 3),
        lambda a: np.sum(np.linalg.pinv(r @ a) ** 2),
        lambda a: np.sum(np.linalg.lstsq(r @ a, r[:, 0])[0] ** 2),
    ):
        h = cr.hessian(f)(a)
        np.testing.assert_allclose(h, cr.jacrev(cr.jacrev(f))(a), rtol=1e-7, atol=1e-9)
        np.testing.assert_allclose(h, cr.jacfwd(cr.jacfwd(f))(a), rtol=1e-7, atol=1e-9)


def test_every_linalg_function_is_in_chainrule_numpy_linalg():
    for name in [
        "inv",
        "pinv",
        "solve",
        "det",
        "slogdet",
        "cholesky",
        "eigh",
        "eigvalsh",
        "svd",
        "svdvals",
        "qr",
        "lstsq",
        "multi_dot",
        "matrix_power",
        "tensordot",
        "outer",
        "cross",
        "matmul",
        "vecdot",
    ]:
        assert getattr(cnp.linalg, name) is not getattr(np.linalg, name), name
    for name in ["einsum", "dot", "vdot", "inner", "outer", "tensordot", "kron", "cross"]:
        assert getattr(cnp, name) is not getattr(np, name), name


# --- invariants -----------------------------------------------------------------------
def test_logdet_and_det_gradients():
    a = well(rng_for("logdet"), 3, 3)
    np.testing.assert_allclose(
        cr.grad(lambda a: np.linalg.slogdet(a)[1])(a), np.linalg.inv(a).T, rtol=1e-12
    )
    np.testing.assert_allclose(
        cr.grad(np.linalg.det)(a), np.linalg.det(a) * np.linalg.inv(a).T, rtol=1e-12
    )
    neg = a.copy()
    neg[0] *= -1  # negative determinant: same gradient of log|det|
    np.testing.assert_allclose(
        cr.grad(lambda a: np.linalg.slogdet(a).logabsdet)(neg), np.linalg.inv(neg).T, rtol=1e-12
    )
    sign, _ = cnp.linalg.slogdet(neg)
    assert sign == -1.0
    stack = well(rng_for("logdet stack"), 2, 3, 3)
    np.testing.assert_allclose(
        cr.grad(lambda a: np.sum(np.linalg.slogdet(a)[1]))(stack),
        np.swapaxes(np.linalg.inv(stack), -1, -2),
        rtol=1e-12,
    )


def test_inverse_and_solve_identities():
    rng = rng_for("inverse")
    a, t = well(rng, 2, 3, 3), rect(rng, 2, 3, 3)
    _, d = cr.jvp(np.linalg.inv, (a,), (t,))
    ai = np.linalg.inv(a)
    np.testing.assert_allclose(d, -ai @ t @ ai, rtol=1e-12)
    b = rect(rng, 3)
    np.testing.assert_allclose(cr.jacrev(lambda b: np.linalg.solve(a[0], b))(b), ai[0], rtol=1e-12)
    np.testing.assert_allclose(  # pinv of an invertible matrix is its inverse
        cr.jacfwd(np.linalg.pinv)(a[0]), cr.jacfwd(np.linalg.inv)(a[0]), rtol=1e-9, atol=1e-12
    )


@pytest.mark.parametrize("shape", [(3, 3), (4, 2), (2, 4), (2, 3, 2)], ids=str)
def test_decompositions_reconstruct(shape):
    """Differentiating the product of the factors gives the identity map."""
    rng = rng_for(f"reconstruct{shape}")
    a = rect(rng, *shape)
    eye = lambda a: a  # noqa: E731
    recon = {
        "svd": lambda a: (lambda u, s, vh: u @ (s[..., :, None] * vh))(
            *np.linalg.svd(a, full_matrices=False)
        ),
        "qr": lambda a: np.matmul(*np.linalg.qr(a)),
        "pinv twice": lambda a: np.linalg.pinv(np.linalg.pinv(a)),
    }
    for name, f in recon.items():
        np.testing.assert_allclose(f(a), a, atol=1e-12)
        np.testing.assert_allclose(cr.jacrev(f)(a), cr.jacrev(eye)(a), atol=1e-9, err_msg=name)
        np.testing.assert_allclose(cr.jacfwd(f)(a), cr.jacfwd(eye)(a), atol=1e-9, err_msg=name)


def test_symmetric_decompositions_reconstruct():
    rng = rng_for("sym reconstruct")
    x = rect(rng, 3, 3)
    sym = lambda x: x @ x.T + np.eye(3)  # noqa: E731
    for f in (
        lambda x: (lambda l: l @ l.T)(np.linalg.cholesky(sym(x))),
        lambda x: (lambda w, v: v @ (w[:, None] * v.T))(*np.linalg.eigh(sym(x))),
        lambda x: (lambda w, v: v @ (w[:, None] * v.T))(*np.linalg.eigh(sym(x), "U")),
    ):
        np.testing.assert_allclose(f(x), sym(x), atol=1e-12)
        np.testing.assert_allclose(cr.jacrev(f)(x), cr.jacrev(sym)(x), atol=1e-9)
        np.testing.assert_allclose(cr.jacfwd(f)(x), cr.jacfwd(sym)(x), atol=1e-9)


def test_eigenvalue_derivative_is_the_rayleigh_quotient():
    a = spd(rng_for("rayleigh"), 3, 3)
    w, v = np.linalg.eigh(a)
    g = cr.jacrev(np.linalg.eigvalsh)(a)
    for i in range(3):  # with the lower-triangle convention: fold of v v^T
        full = np.outer(v[:, i], v[:, i])
        np.testing.assert_allclose(
            g[i], np.tril(full + full.T) - np.diag(np.diag(full)), atol=1e-12
        )


# --- conventions ----------------------------------------------------------------------
def test_triangle_conventions_are_exact_zeros():
    a = spd(rng_for("triangles"), 3, 3)
    upper = np.triu(np.ones((3, 3)), 1).astype(bool)
    for f in (
        np.linalg.cholesky,
        lambda a: np.linalg.eigh(a)[1],
        np.linalg.eigvalsh,
        lambda a: np.linalg.pinv(a, hermitian=True),
    ):
        j = cr.jacrev(f)(a)
        assert np.all(j[..., upper] == 0)
        assert np.all(cr.jacfwd(f)(a)[..., upper] == 0)
    for f in (lambda a: np.linalg.cholesky(a, upper=True), lambda a: np.linalg.eigvalsh(a, "U")):
        assert np.all(cr.jacrev(f)(a)[..., upper.T] == 0)


def test_repeated_eigenvalues():
    eye = np.eye(3)
    # the trace is differentiable: eigenvalues treated alike
    np.testing.assert_array_equal(cr.grad(lambda a: np.sum(np.linalg.eigvalsh(a)))(eye), eye)
    # along a direction that keeps them together, forward mode works too
    _, d = cr.jvp(np.linalg.eigvalsh, (eye,), (2 * eye,))
    np.testing.assert_allclose(d, [2.0, 2.0, 2.0])
    # a single repeated eigenvalue: the cluster's mean, like max ties (docs/conventions.md)
    np.testing.assert_allclose(cr.grad(lambda a: np.linalg.eigvalsh(a)[0])(eye), eye / 3)
    jf = cr.jacfwd(np.linalg.eigvalsh)(eye)
    np.testing.assert_allclose(jf, cr.jacrev(np.linalg.eigvalsh)(eye))
    # nor are the eigenvectors of a repeated eigenvalue
    with pytest.raises(NotImplementedError, match="repeated"):
        cr.grad(lambda a: np.linalg.eigh(a)[1][0, 0])(np.diag([1.0, 1.0, 3.0]))
    with pytest.raises(NotImplementedError, match="repeated"):
        cr.jvp(lambda a: np.linalg.eigh(a)[1], (eye,), (eye,))
    # chainrule refuses any use of the eigenvectors there (they can jump), but the
    # eigenvalues of eigh remain differentiable in reverse mode
    with pytest.raises(NotImplementedError, match="repeated"):
        cr.grad(lambda a: np.linalg.eigh(a)[1][2, 2])(np.diag([1.0, 1.0, 3.0]))
    d = np.diag([1.0, 1.0, 3.0])
    np.testing.assert_array_equal(
        cr.grad(lambda a: np.linalg.eigh(a)[0][2] + np.sum(np.linalg.eigh(a)[0]))(d),
        np.diag([1.0, 1.0, 2.0]),
    )


def test_singular_values_at_zero_and_ties():
    a = np.diag([2.0, 0.0])
    # a zero singular value is a kink (like abs at 0): derivative 0
    np.testing.assert_array_equal(
        cr.grad(lambda a: np.linalg.svd(a, compute_uv=False)[1])(a), np.zeros((2, 2))
    )
    np.testing.assert_array_equal(cr.jacfwd(np.linalg.svdvals)(a)[1], np.zeros((2, 2)))
    np.testing.assert_array_equal(cr.grad(lambda a: np.linalg.svd(a)[1][1])(a), np.zeros((2, 2)))
    # the singular vectors of a rank-deficient matrix are not differentiable
    with pytest.raises(NotImplementedError, match="rank-deficient"):
        cr.grad(lambda a: np.linalg.svd(a)[0][0, 1])(a)
    with pytest.raises(NotImplementedError, match="rank-deficient"):
        cr.jacfwd(lambda a: np.linalg.svd(a)[0])(a)
    # repeated singular values: their sum (the nuclear norm) is differentiable
    eye = np.eye(2)
    np.testing.assert_array_equal(cr.grad(lambda a: np.sum(np.linalg.svdvals(a)))(eye), eye)
    with pytest.raises(NotImplementedError, match="repeated"):
        cr.grad(lambda a: np.linalg.svdvals(a)[0])(eye)


def test_full_matrices_complement():
    rng = rng_for("complement")
    for shape in [(4, 2), (2, 4)]:
        a = rect(rng, *shape)
        k = min(shape)

        def uses_thin(a, k=k):
            u, s, vh = np.linalg.svd(a)
            return u[:, :k], s, vh[:k]

        def uses_extra(a, tall=shape[0] > shape[1]):
            u, _, vh = np.linalg.svd(a)
            return u if tall else vh

        thin = lambda a: np.linalg.svd(a, full_matrices=False)  # noqa: E731
        for j1, j2 in zip(
            cr.tree.leaves(cr.jacrev(uses_thin)(a)), cr.tree.leaves(cr.jacrev(thin)(a))
        ):
            np.testing.assert_allclose(j1, j2, atol=1e-12)
        cr.check_grads(uses_thin, (a,), order=2, modes=("rev",), **TOL)
        # the extra singular vectors have a gauge (tests/test_linalg_pinv_svd.py)
        np.testing.assert_allclose(cr.jacrev(uses_extra)(a), cr.jacfwd(uses_extra)(a), atol=1e-12)
    a = rect(rng, 4, 2)
    q_thin = lambda a: np.linalg.qr(a, mode="complete")[0][:, :2]  # noqa: E731
    np.testing.assert_allclose(cr.jacrev(q_thin)(a), cr.jacrev(lambda a: np.linalg.qr(a)[0])(a))
    np.testing.assert_allclose(  # the zero rows of the complete R have zero derivative
        cr.jacrev(lambda a: np.linalg.qr(a, mode="complete")[1])(a)[2:], 0
    )
    with pytest.raises(NotImplementedError, match="extra columns of Q"):
        cr.jacrev(lambda a: np.linalg.qr(a, mode="complete")[0])(a)
    with pytest.raises(NotImplementedError):
        cr.jacfwd(lambda a: np.linalg.qr(a, mode="complete")[1])(a)


def test_unsupported_points_raise():
    singular = np.array([[1.0, 2.0], [2.0, 4.0]])
    with pytest.raises(np.linalg.LinAlgError, match="slogdet of an exactly singular"):
        cr.grad(lambda a: np.linalg.slogdet(a)[1])(singular)  # det itself has a gradient there
    # pinv and lstsq of a rank-deficient matrix have fixed-rank derivatives
    # (test_linalg_pinv_svd.py, test_lstsq_rank_deficient.py)
    with pytest.raises(NotImplementedError, match="full column rank"):
        cr.grad(lambda a: np.sum(np.linalg.qr(a)[0]))(np.array([[1.0, 0.0], [0.0, 0.0]]))
    with pytest.raises(NotImplementedError, match="raw"):
        cr.grad(lambda a: np.sum(np.linalg.qr(a, mode="raw")[0]))(np.eye(2))
    with pytest.raises(NotImplementedError, match="complex"):
        cr.grad(lambda x: np.sum(np.linalg.qr(x * (1 + 1j))[1].real))(np.eye(2))
    with pytest.raises(np.linalg.LinAlgError):
        cr.grad(lambda a: np.sum(np.linalg.cholesky(a)))(-np.eye(2))
    with pytest.raises(np.linalg.LinAlgError):
        cr.grad(lambda a: np.sum(np.linalg.inv(a)))(np.ones(3))


def test_results_keep_numpy_result_types():
    a = spd(rng_for("types"), 3, 3)

    def f(a):
        e, s = np.linalg.eigh(a), np.linalg.svd(a)
        q, d = np.linalg.qr(a), np.linalg.slogdet(a)
        return (
            e.eigenvalues[0]
            + e.eigenvectors[0, 0]
            + s.S[0]
            + s.U[0, 0]
            + s.Vh[0, 0]
            + q.Q[0, 0]
            + q.R[0, 0]
            + d.logabsdet
        )

    cr.check_grads(f, (a,), order=1, **TOL)
