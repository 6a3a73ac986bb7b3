"""cr.vmap: the mapped function equals the loop over examples, for every rule
family, with in_axes/out_axes other than 0, composed with the other
transforms, and with the fallback loop for primitives without a rule."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import scipy.special as sp
from hypothesis import given, settings
from hypothesis import strategies as st
from test_random_programs import build, programs

import chainrule as cr
from chainrule.core.primitive import Primitive

RNG = np.random.default_rng(0)


def loop(f, *args, in_axes=0):
    """np.stack of f over the examples: the reference vmap must equal."""
    axes = in_axes if isinstance(in_axes, tuple) else (in_axes,) * len(args)
    n = next(np.shape(a)[ax] for a, ax in zip(args, axes) if ax is not None)
    outs = []
    for b in range(n):
        one = [a if ax is None else np.take(a, b, axis=ax) for a, ax in zip(args, axes)]
        outs.append(f(*one))
    return np.stack(outs)


def check(f, *args, in_axes=0, rtol=1e-10, atol=1e-12):
    got = cr.vmap(f, in_axes=in_axes)(*args)
    np.testing.assert_allclose(got, loop(f, *args, in_axes=in_axes), rtol=rtol, atol=atol)


# --- random programs --------------------------------------------------------------
@settings(derandomize=True, max_examples=60, deadline=None)
@given(programs(), st.integers(0, 2**16))
def test_random_programs(program, seed):
    shape, steps = program
    f = build(steps, shape)
    X = np.random.default_rng(seed).uniform(-1.0, 1.0, size=(3,) + shape)
    check(f, X)
    check(cr.grad(lambda x: np.sum(f(x))), X)


# --- one function per rule family ---------------------------------------------------
X34 = RNG.standard_normal((4, 3, 5))
FAMILIES = {
    "elementwise": lambda x: np.sin(x) * np.exp(-x) + x**2 / (1.0 + x * x),
    "broadcast": lambda x: x[:, None, :] * np.arange(4.0)[None, :, None] + x[0],
    "comparison-where": lambda x: np.where(x > 0.1, np.log1p(x * x), -x),
    "maximum-clip": lambda x: np.maximum(x, 0.0) + np.clip(x, -0.5, 0.5),
    "sum-axes": lambda x: np.sum(x, axis=0) + np.mean(x, axis=1).sum() + x.sum(axis=(0, 1)),
    "max-min-ties": lambda x: np.max(np.round(x, 1), axis=1)[:, None] * x + np.min(x, axis=0),
    "prod-cumsum": lambda x: np.prod(x, axis=0) + np.cumsum(x, axis=-1),
    "logsumexp-softmax": lambda x: (
        cr.numpy.logsumexp(x, axis=1)[:, None] + cr.numpy.softmax(x, axis=0)
    ),
    "reshape-transpose": lambda x: np.reshape(x, (5, 3)).T @ np.transpose(x)[:, 0] + x.ravel()[:3],
    "moveaxis-expand-squeeze": lambda x: np.squeeze(np.expand_dims(np.moveaxis(x, 0, 1), 0), 0),
    "concatenate-stack": lambda x: (
        np.concatenate([x, 2 * x], axis=1) + np.stack([x, x], axis=0).sum(0)[:, :1]
    ),
    "basic-indexing": lambda x: x[1:, ::-1] * x[0, 2] + x[..., None][1:, 1, :],
    "advanced-indexing": lambda x: x[[0, 2, 2], :] + x[:, [4, 0, 1, 1, 3]] + x[x.shape[0] - 1],
    "iteration-unpack": lambda x: (lambda a, b, c: a * b + c**2)(*x),
    "at-update": lambda x: cr.at(x)[1, [0, 2]].add(x[0, :2]),
    "matmul": lambda x: x @ x.T + (x.T @ x).sum() + x[0] @ x.T,
    "dot-einsum-tensordot": lambda x: (
        np.dot(x, x[0])
        + np.einsum("ij,kj->ik", x, x).sum(1)
        + np.tensordot(x, x, axes=([1], [1]))[:, 0]
    ),
    "outer-kron": lambda x: np.outer(x[0], x[1]).sum(0) + np.kron(x[0, :2], x[1, :2]).sum(),
    "linalg": lambda x: (
        np.linalg.inv(x @ x.T + 3 * np.eye(3))
        + np.linalg.det(x @ x.T)
        + np.linalg.solve(x @ x.T + np.eye(3), x[:, 0])[:, None]
    ),
    "eigh-cholesky": lambda x: (
        np.linalg.eigh(x @ x.T + np.eye(3))[0][:, None] + np.linalg.cholesky(x @ x.T + np.eye(3))
    ),
    "norm-svd": lambda x: (
        np.linalg.norm(x, axis=1)[:, None] + np.linalg.svd(x, compute_uv=False)[0]
    ),
    "fft": lambda x: np.abs(np.fft.fft(x, axis=1)) + np.fft.irfft(np.fft.rfft(x), n=5).real,
    "scipy-special": lambda x: sp.erf(x) + sp.gammaln(1.5 + x * x) + sp.expit(x),
}


@pytest.mark.parametrize("name", sorted(FAMILIES))
def test_rule_families_value_and_gradient(name):
    f = FAMILIES[name]
    X = RNG.standard_normal((4, 3, 5))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", cr.BatchingFallbackWarning)
        check(f, X, rtol=1e-9, atol=1e-10)
        check(cr.grad(lambda x: np.sum(np.sin(f(x)))), X, rtol=1e-8, atol=1e-10)


# --- in_axes / out_axes ----------------------------------------------------------------
def test_in_axes_mixed_and_out_axes():
    A = RNG.standard_normal((3, 6))  # mapped over axis 1
    w = RNG.standard_normal(3)  # shared
    d = {"a": RNG.standard_normal((6, 2)), "b": 2.0}

    def f(x, w, d):
        return {"y": x * w + d["a"].sum() * d["b"], "s": np.sum(x * w)}

    out = cr.vmap(f, in_axes=(1, None, {"a": 0, "b": None}), out_axes={"y": 1, "s": 0})(A, w, d)
    for b in range(6):
        ref = f(A[:, b], w, {"a": d["a"][b], "b": 2.0})
        np.testing.assert_allclose(out["y"][:, b], ref["y"])
        np.testing.assert_allclose(out["s"][b], ref["s"])
    assert out["y"].shape == (3, 6) and out["s"].shape == (6,)


def test_negative_in_axis_and_unbatched_output_broadcast():
    X = RNG.standard_normal((2, 3, 4))
    out = cr.vmap(lambda x, c: (x.sum(), c), in_axes=(-1, None), out_axes=(0, 1))(X, np.ones(2))
    np.testing.assert_allclose(out[0], X.sum(axis=(0, 1)))
    np.testing.assert_allclose(out[1], np.ones((2, 4)))


def test_axis_size_and_out_axes_none():
    out = cr.vmap(lambda c: c * 2.0, in_axes=None, out_axes=None, axis_size=3)(np.ones(2))
    np.testing.assert_allclose(out, [2.0, 2.0])
    out = cr.vmap(lambda c: c * 2.0, in_axes=None, axis_size=3)(np.ones(2))
    assert out.shape == (3, 2)


def test_bad_axes_are_clear_errors():
    X = np.ones((3, 2))
    with pytest.raises(ValueError, match="different sizes"):
        cr.vmap(lambda a, b: a + b)(X, np.ones((4, 2)))
    with pytest.raises(ValueError, match="out of range"):
        cr.vmap(lambda a: a, in_axes=2)(X)
    with pytest.raises(ValueError, match="axis_size"):
        cr.vmap(lambda a: a, in_axes=None)(X)
    with pytest.raises(ValueError, match="2 positional arguments"):
        cr.vmap(lambda a, b: a, in_axes=(0,))(X, X)
    with pytest.raises(ValueError, match="out_axes=None"):
        cr.vmap(lambda a: a, out_axes=None)(X)
    with pytest.raises(ValueError, match="chunk_size"):
        cr.vmap(lambda a: a, chunk_size=0)


# --- control flow ------------------------------------------------------------------------
def test_batched_control_flow_error_suggests_where():
    def f(x):
        if x.sum() > 0:
            return x
        return -x

    with pytest.raises(cr.BatchedControlFlowError, match="np.where"):
        cr.vmap(f)(np.ones((3, 2)))
    for conv in (float, int, lambda v: v.item()):
        with pytest.raises(cr.BatchedControlFlowError):
            cr.vmap(lambda x, conv=conv: conv(x.sum()))(np.ones((3, 2)))
    assert issubclass(cr.BatchedControlFlowError, TypeError)


def test_unbatched_values_branch_freely():
    def f(x, c):
        return x * 2.0 if c.sum() > 0 else x  # c is not mapped: one branch for all

    np.testing.assert_allclose(cr.vmap(f, in_axes=(0, None))(np.ones((3, 2)), np.ones(2)), 2.0)


# --- fallback -----------------------------------------------------------------------------
def test_fallback_warns_once_and_is_right():
    prim = Primitive("vmap_test_cube", lambda x: x**3)
    prim.defvjp(lambda ans, x: lambda g: g * 3 * x**2)
    prim.defjvp(lambda t, ans, x: t * 3 * x**2)
    X = RNG.standard_normal((4, 3))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        out = cr.vmap(lambda x: prim(x) + 1.0)(X)
        out2 = cr.vmap(lambda x: prim(x) * 2.0)(X)
    fallback = [w for w in caught if issubclass(w.category, cr.BatchingFallbackWarning)]
    assert len(fallback) == 1 and "vmap_test_cube" in str(fallback[0].message)
    np.testing.assert_allclose(out, X**3 + 1.0)
    np.testing.assert_allclose(out2, 2 * X**3)
    g = cr.vmap(cr.grad(lambda x: np.sum(prim(x))))(X)
    np.testing.assert_allclose(g, 3 * X**2)


# --- chunks --------------------------------------------------------------------------------
def test_chunk_size_gives_the_same_result():
    W = RNG.standard_normal((4, 3))
    X = RNG.standard_normal((3, 10))
    f = cr.grad(lambda w, x: np.sum(np.tanh(w @ x) ** 2))
    full = cr.vmap(f, in_axes=(None, 1), out_axes=2)(W, X)
    for chunk in (1, 3, 4, 10, 20):
        np.testing.assert_allclose(
            cr.vmap(f, in_axes=(None, 1), out_axes=2, chunk_size=chunk)(W, X), full
        )
    assert full.shape == (4, 3, 10)


# --- per-example gradients and compositions ---------------------------------------------------
def mlp_loss(params, x, y):
    W1, b1, W2, b2 = params
    h = np.tanh(W1 @ x + b1)
    logits = W2 @ h + b2
    return cr.numpy.logsumexp(logits) - logits[y]


def test_per_example_gradients_of_an_mlp():
    rng = np.random.default_rng(1)
    sizes = (12, 8, 5)
    params = (
        rng.standard_normal((sizes[1], sizes[0])) * 0.3,
        rng.standard_normal(sizes[1]) * 0.1,
        rng.standard_normal((sizes[2], sizes[1])) * 0.3,
        rng.standard_normal(sizes[2]) * 0.1,
    )
    X = rng.standard_normal((16, sizes[0]))
    Y = rng.integers(0, sizes[2], 16)
    got = cr.vmap(cr.grad(mlp_loss), in_axes=(None, 0, 0))(params, X, Y)
    for k, p in enumerate(params):
        ref = np.stack([cr.grad(mlp_loss)(params, X[b], Y[b])[k] for b in range(16)])
        np.testing.assert_allclose(got[k], ref, rtol=1e-10, atol=1e-12)
        assert got[k].shape == (16,) + p.shape
    # against finite differences for one example and one entry
    eps = 1e-6
    plus = (params[0] + eps * np.eye(1, params[0].size, 7).reshape(params[0].shape),) + params[1:]
    minus = (params[0] - eps * np.eye(1, params[0].size, 7).reshape(params[0].shape),) + params[1:]
    fd = (mlp_loss(plus, X[3], Y[3]) - mlp_loss(minus, X[3], Y[3])) / (2 * eps)
    np.testing.assert_allclose(got[0][3].ravel()[7], fd, rtol=1e-6)


def small_problem(x, a):
    return np.sum(np.sin(a * x) * x**2) + np.prod(x) + np.sum(np.where(x > 0, x**3, -x))


def test_vmap_of_hessian_equals_the_loop():
    X = RNG.standard_normal((5, 3))
    A = RNG.standard_normal((5, 3))
    check(cr.hessian(small_problem), X, A)
    check(cr.jacrev(cr.grad(small_problem)), X, A)


def test_grad_and_jacfwd_of_vmap():
    X = RNG.standard_normal((5, 3))
    a = RNG.standard_normal(3)
    g = cr.grad(lambda X: np.sum(cr.vmap(small_problem, in_axes=(0, None))(X, a)))(X)
    ref = np.stack([cr.grad(small_problem)(x, a) for x in X])
    np.testing.assert_allclose(g, ref, rtol=1e-10)
    ga = cr.grad(lambda a: np.sum(cr.vmap(small_problem, in_axes=(0, None))(X, a)))(a)
    np.testing.assert_allclose(ga, sum(cr.grad(small_problem, 1)(x, a) for x in X), rtol=1e-10)
    J = cr.jacfwd(lambda X: cr.vmap(small_problem, in_axes=(0, None))(X, a))(X)
    assert J.shape == (5, 5, 3)
    np.testing.assert_allclose(J[np.arange(5), np.arange(5)], ref, rtol=1e-10)
    np.testing.assert_allclose(J.sum(0), ref, rtol=1e-10)  # example i depends on row i only
    Jr = cr.jacrev(lambda X: cr.vmap(small_problem, in_axes=(0, None))(X, a))(X)
    np.testing.assert_allclose(Jr, J, rtol=1e-10, atol=1e-14)


def test_vmap_of_vmap():
    X = RNG.standard_normal((4, 3, 2))
    f = lambda x: np.sum(np.sin(x) * x)  # noqa: E731
    out = cr.vmap(cr.vmap(f))(X)
    np.testing.assert_allclose(out, np.sum(np.sin(X) * X, axis=-1))
    out = cr.vmap(cr.vmap(cr.grad(f)), in_axes=1, out_axes=1)(X)
    np.testing.assert_allclose(out, np.sin(X) + X * np.cos(X))


def test_vmap_of_hvp():
    X = RNG.standard_normal((4, 3))
    V = RNG.standard_normal((4, 3))
    a = RNG.standard_normal(3)
    f = lambda x: small_problem(x, a)  # noqa: E731
    got = cr.vmap(lambda x, v: cr.hvp(f, (x,), (v,))[1])(X, V)
    ref = np.stack([cr.hessian(f)(x) @ v for x, v in zip(X, V)])
    np.testing.assert_allclose(got, ref, rtol=1e-10, atol=1e-12)


def test_vmap_of_jvp_and_vjp():
    X = RNG.standard_normal((4, 3))
    T = RNG.standard_normal((4, 3))
    f = lambda x: np.tanh(x) * x.sum()  # noqa: E731
    got = cr.vmap(lambda x, t: cr.jvp(f, (x,), (t,))[1])(X, T)
    np.testing.assert_allclose(got, np.stack([cr.jacfwd(f)(x) @ t for x, t in zip(X, T)]))
    got = cr.vmap(lambda x, g: cr.vjp(f, x)[1](g)[0])(X, T)
    np.testing.assert_allclose(got, np.stack([g @ cr.jacrev(f)(x) for x, g in zip(X, T)]))


def test_batch_of_jacobians():
    X = RNG.standard_normal((6, 3))
    f = lambda x: np.stack([x[0] * x[1], np.sin(x[2]) + x[0] ** 2])  # noqa: E731
    J = cr.vmap(cr.jacfwd(f))(X)
    assert J.shape == (6, 2, 3)
    np.testing.assert_allclose(J, loop(cr.jacrev(f), X))


def test_jit_of_vmap_of_grad():
    W = RNG.standard_normal((4, 3))

    def f(w, x):
        z = w @ x
        return np.sum(np.where(z > 0.5, z**2, -z)) + cr.numpy.logsumexp(z)

    vg = cr.vmap(cr.grad(f), in_axes=(None, 0))
    staged = cr.jit(vg)
    with warnings.catch_warnings():
        # the batch's masks are computed outside jit's recording: jit notices on
        # its first replay and runs this signature eagerly (RetraceWarning)
        warnings.simplefilter("ignore", cr.RetraceWarning)
        for seed in range(3):  # the staging call, then replays on new data
            X = np.random.default_rng(seed).standard_normal((5, 3))
            np.testing.assert_allclose(staged(W, X), loop(cr.grad(f), W, X, in_axes=(None, 0)))


def test_custom_vjp_rule_is_kept_on_both_sides_of_vmap():
    @cr.custom_vjp
    def clip_gradient(x):
        return x

    clip_gradient.defvjp(lambda x: (x, None), lambda res, g: (np.clip(g, -0.1, 0.1),))
    f = lambda x: np.sum(clip_gradient(x) ** 2)  # noqa: E731 - true gradient 2x, clipped
    X = RNG.uniform(0.2, 1.0, (4, 3))
    np.testing.assert_allclose(cr.vmap(f)(X), np.sum(X**2, axis=1))
    np.testing.assert_allclose(cr.vmap(cr.grad(f))(X), 0.1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", cr.BatchingFallbackWarning)
        np.testing.assert_allclose(cr.grad(lambda X: np.sum(cr.vmap(f)(X)))(X), 0.1)


@pytest.mark.parametrize("method", ["set", "add", "multiply", "min", "max"])
@pytest.mark.parametrize("in_axes", [(0, 0), (None, 0), (0, None)])
def test_at_updates(method, in_axes):
    X = RNG.standard_normal((4, 5))
    V = RNG.standard_normal((4, 2))
    idx = np.array([1, 3]) if method != "max" else np.array([1, 1])

    def f(x, v):
        return getattr(cr.at(x)[idx], method)(v)

    args = (X if in_axes[0] == 0 else X[0], V if in_axes[1] == 0 else V[0])
    check(f, *args, in_axes=in_axes)
    total = lambda x, v: np.sum(np.sin(f(x, v)))  # noqa: E731
    got = cr.grad(lambda a, b: np.sum(cr.vmap(total, in_axes=in_axes)(a, b)), argnums=(0, 1))(*args)
    ref = cr.grad(
        lambda a, b: sum(
            total(a[i] if in_axes[0] == 0 else a, b[i] if in_axes[1] == 0 else b) for i in range(4)
        ),
        argnums=(0, 1),
    )(*args)
    np.testing.assert_allclose(got[0], ref[0], rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(got[1], ref[1], rtol=1e-10, atol=1e-12)
    # derivatives inside vmap too, ties of min/max included (their shares are
    # counted per example: np.bincount of the batch's marks)
    for argnum in (0, 1):
        check(cr.grad(total, argnums=argnum), *args, in_axes=in_axes)
        check(cr.jacfwd(total, argnums=argnum), *args, in_axes=in_axes)


@settings(derandomize=True, max_examples=25, deadline=None)
@given(programs(), st.integers(0, 2**16))
def test_random_programs_on_the_last_axis(program, seed):
    shape, steps = program
    f = build(steps, shape)
    X = np.random.default_rng(seed).uniform(-1.0, 1.0, size=shape + (3,))
    got = cr.vmap(f, in_axes=-1, out_axes=-1)(X)
    ref = np.moveaxis(np.stack([f(X[..., b]) for b in range(3)]), 0, -1)
    np.testing.assert_allclose(got, ref, rtol=1e-10, atol=1e-12)


def _sym(a):
    return a @ a.T + np.eye(4)


MORE = {
    "norm-std-var": lambda x: np.linalg.norm(x, axis=0) + np.std(x, axis=1) + np.var(x),
    "sort-cumprod-diff": lambda x: (
        np.sort(x, axis=-1) + np.cumprod(x, axis=0) + np.diff(x, axis=1, append=0.0)
    ),
    "trace-diag-tril-roll": lambda x: np.trace(x) + np.diag(x) + np.tril(x) + np.roll(x, 1, 0),
    "slogdet-det-inv": lambda x: np.linalg.slogdet(x)[1] + np.linalg.det(x) * np.linalg.inv(x),
    "qr-svd-pinv": lambda x: np.linalg.qr(x)[1] + np.linalg.svd(x)[1] + np.linalg.pinv(x),
    "eigh-vectors": lambda x: np.linalg.eigh(_sym(x))[1] ** 2 + np.linalg.eigvalsh(_sym(x)),
    "convolve-interp-polyval": lambda x: (
        np.convolve(x[0], x[1])[:4]
        + np.interp(np.linspace(0, 1, 4), np.linspace(0, 1, 4), x[0])
        + np.polyval(x[0], x[1])
    ),
    "pad-tile-repeat-flip-take": lambda x: (
        np.pad(x, 1)[1:-1, 1:-1]
        + np.tile(x, 2)[:, :4]
        + np.repeat(x, 2, axis=0)[::2]
        + np.flip(x, 0)
        + np.take(x, [0, 2, 1, 3], axis=1)
    ),
    "einsum-ellipsis-matrix-power": lambda x: (
        np.einsum("...ij,...jk->...ik", x, x) + np.linalg.matrix_power(x, 3)
    ),
    "take-along-argsort": lambda x: (
        np.take_along_axis(x, np.argsort(x, axis=1), axis=1) * np.arange(4.0)
    ),
    "split-stack-cross": lambda x: (
        np.hstack(np.split(x, 2, axis=1)) * np.vstack([x[:2], x[2:]])
        + np.cross(x[0, :3], x[1, :3]).sum()
    ),
}


@pytest.mark.parametrize("name", sorted(MORE))
def test_more_functions_in_every_position(name):
    """Value, vmap(grad) and grad(vmap) against the loop, with no fallback."""
    f = MORE[name]
    X = RNG.standard_normal((3, 4, 4)) + 4 * np.eye(4)
    G = lambda x: np.sum(np.sin(f(x)))  # noqa: E731
    ref = loop(cr.grad(G), X)
    with warnings.catch_warnings():
        warnings.simplefilter("error", cr.BatchingFallbackWarning)
        check(f, X, rtol=1e-9, atol=1e-10)
        np.testing.assert_allclose(cr.vmap(cr.grad(G))(X), ref, rtol=1e-8, atol=1e-10)
        got = cr.grad(lambda X: np.sum(cr.vmap(G)(X)))(X)
    np.testing.assert_allclose(got, ref, rtol=1e-8, atol=1e-10)


def test_keyword_arguments_are_mapped_over_axis_0():
    X = RNG.standard_normal((3, 2))
    s = np.array([1.0, 2.0, 3.0])
    out = cr.vmap(lambda x, w, scale: (x @ w) * scale, in_axes=(0, None))(X, np.ones(2), scale=s)
    np.testing.assert_allclose(out, X.sum(1) * s)
    with pytest.raises(ValueError, match="different sizes"):
        cr.vmap(lambda x, scale: x * scale)(X, scale=np.ones(4))


@settings(derandomize=True, max_examples=25, deadline=None)
@given(programs(), st.integers(0, 2**16), st.integers(0, 3))
def test_random_programs_with_mixed_in_axes(program, seed, axis):
    """A mapped argument on some axis of its own and a shared one (in_axes None)."""
    shape, steps = program
    f = build(steps, shape)
    axis = axis % (len(shape) + 1)
    rng = np.random.default_rng(seed)
    X = np.moveaxis(rng.uniform(-1.0, 1.0, size=(3,) + shape), 0, axis)
    w = rng.uniform(0.5, 1.5, size=shape)

    def g(w, x):
        return f(x * w + 0.1)

    got = cr.vmap(g, in_axes=(None, axis))(w, X)
    ref = np.stack([g(w, np.take(X, b, axis=axis)) for b in range(3)])
    np.testing.assert_allclose(got, ref, rtol=1e-10, atol=1e-12)
    dw = cr.grad(lambda w: np.sum(cr.vmap(g, in_axes=(None, axis))(w, X)))(w)
    ref_dw = sum(
        cr.grad(lambda w, b=b: np.sum(g(w, np.take(X, b, axis=axis))))(w) for b in range(3)
    )
    np.testing.assert_allclose(dw, ref_dw, rtol=1e-9, atol=1e-11)
