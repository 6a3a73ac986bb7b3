"""The engine's short paths must agree with its general paths.

Reverse and forward mode each have short paths for the commonest calls (one
traced argument, ``np.sin(x)``, ``x * 2.0``); they exist only for speed. Here
every random program of ``test_random_programs`` is differentiated twice, once
as usual and once with the short paths switched off, under every transform,
and the results must agree to rounding. The pytree shortcuts get the same
treatment.
"""

from __future__ import annotations

import contextlib

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from test_random_programs import build, programs

import chainrule as cr
from chainrule import tree
from chainrule.core.forward import ForwardTrace
from chainrule.core.reverse import ReverseTrace


@contextlib.contextmanager
def general_paths_only():
    """Route every primitive through ``_general``, the general path of each
    trace's one door (``process_primitive``), skipping its short paths."""
    saved = {cls: cls.process_primitive for cls in (ReverseTrace, ForwardTrace)}
    for cls in saved:
        cls.process_primitive = cls._general
    try:
        yield
    finally:
        for cls, fn in saved.items():
            cls.process_primitive = fn


def _derivatives(f, x):
    s = lambda x: np.sum(np.sin(f(x)))  # noqa: E731
    v = np.linspace(-1.0, 1.0, x.size).reshape(x.shape)
    return [
        cr.grad(s)(x),
        cr.jvp(f, (x,), (v,))[1],
        cr.jacrev(f)(x),
        cr.jacfwd(f)(x),
        cr.hessian(s)(x),
        cr.hvp(s, (x,), (v,))[1],
    ]


@settings(derandomize=True, max_examples=60, deadline=None)
@given(programs(), st.integers(0, 2**16))
def test_short_paths_agree_with_general_paths(program, seed):
    shape, steps = program
    x = np.random.default_rng(seed).uniform(-1.0, 1.0, size=shape)
    f = build(steps, shape)
    fast = _derivatives(f, x)
    with general_paths_only():
        general = _derivatives(f, x)
    for a, b in zip(fast, general):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-14)


def test_switching_off_really_switches_off():
    # Guards the test above: with the switch on, no short path runs.
    calls = []
    original = ReverseTrace._general

    def spy(self, prim, args, kwargs):
        calls.append(prim.name)
        return original(self, prim, args, kwargs)

    ReverseTrace._general = spy
    try:
        f = lambda x: np.cos(np.sin(x) * 2.0) + 1.0  # noqa: E731
        cr.grad(f)(0.5)
        assert calls == []  # the short paths took all four
        with general_paths_only():
            cr.grad(f)(0.5)
        assert calls == ["sin", "multiply", "cos", "add"]
    finally:
        ReverseTrace._general = original


def test_nested_values_take_short_paths_and_stay_right():
    # A tracer whose value is a lower-level tracer (grad of grad, jvp of grad)
    # goes down through bind inside the short paths.
    f = lambda x: np.sum(np.tanh(x * 1.5) ** 3 / 2.0)  # noqa: E731
    x = np.array([0.3, -0.7])

    def all_of_them():
        return [
            cr.hessian(f)(x),
            cr.jacrev(cr.grad(f))(x),
            cr.jacfwd(cr.grad(f))(x),
            np.stack([cr.grad(lambda y, i=i: cr.grad(f)(y)[i])(x) for i in range(2)]),
        ]

    fast = all_of_them()
    with general_paths_only():
        general = all_of_them()
    # f = sum(tanh(1.5 x)^3) / 2: per element f' = 2.25 t^2 (1 - t^2) and
    # f'' = 1.5 * 2.25 * (2 t (1 - t^2)^2 - 2 t^3 (1 - t^2)).
    t = np.tanh(1.5 * x)
    s = 1 - t**2
    closed_form = np.diag(1.5 * 2.25 * (2 * t * s**2 - 2 * t**3 * s))
    for a, b in zip(fast, general):
        np.testing.assert_allclose(a, b, rtol=1e-12)
        np.testing.assert_allclose(a, closed_form, rtol=1e-10, atol=1e-14)


def test_scalar_times_vector_under_jacobians_is_not_mistaken_for_no_batch():
    # The binary JVP shortcut needs "no batch": a (5,) batch of tangents of a
    # 0-d value meeting a (5,) result must still take the batched path.
    f = lambda x: np.sum(x) * (np.arange(5.0) + x)  # noqa: E731
    x = np.ones(5)
    jac = np.outer(np.arange(5.0) + x, np.ones(5)) + np.sum(x) * np.eye(5)
    np.testing.assert_allclose(cr.jacfwd(f)(x), jac)
    np.testing.assert_allclose(cr.jacrev(f)(x), jac)


class _Box:  # a leaf: not a registered node
    pass


def test_pytree_shortcuts_match_the_general_flatten():
    for value in [np.ones(3), 2.0, _Box(), "s", np.float64(1.0)]:
        leaves, treedef = tree.flatten(value)
        assert len(leaves) == 1 and leaves[0] is value
        assert treedef == tree.structure(0.0)
        assert treedef.unflatten([value]) is value
        leaves, treedef = tree.flatten((value,))
        assert len(leaves) == 1 and leaves[0] is value
        assert treedef == tree.structure((0.0,))
        rebuilt = treedef.unflatten([value])
        assert type(rebuilt) is tuple and len(rebuilt) == 1 and rebuilt[0] is value
        # the same structure as the general path builds inside a container
        inner = tree.flatten([(value,)])[1]
        assert repr(inner) == "TreeDef([(*,)])"
    assert tree.flatten(None) == ([], tree.structure(None))
    assert tree.flatten((None,))[0] == []
    assert tree.flatten(((1.0,),))[0] == [1.0]
    assert tree.structure((1.0,)) != tree.structure(1.0)
    assert tree.structure((1.0,)) != tree.structure([1.0])
    assert repr(tree.structure((1.0,))) == "TreeDef((*,))"


# matmul's fused forward rule: the value and the tangent in one product.
N_FUSED = 210  # above the size from which the fused product pays off


def test_fused_matmul_jvp_both_orientations():
    rng = np.random.default_rng(3)
    W = rng.standard_normal((N_FUSED, N_FUSED))
    x, t = rng.standard_normal(N_FUSED), rng.standard_normal(N_FUSED)
    out, tan = cr.jvp(lambda x: W @ x, (x,), (t,))
    np.testing.assert_allclose(out, W @ x, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(tan, W @ t, rtol=1e-12, atol=1e-12)
    out, tan = cr.jvp(lambda x: x @ W, (x,), (t,))
    np.testing.assert_allclose(out, x @ W, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(tan, t @ W, rtol=1e-12, atol=1e-12)
    z, zt = x + 0.5j * t, t - 0.25j * x
    out, tan = cr.jvp(lambda z: (W + 0j) @ z, (z,), (zt,))
    np.testing.assert_allclose(tan, W @ zt, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("n", [N_FUSED, 760], ids=["stacked", "blocked"])
def test_fused_matmul_in_the_hvp_of_the_benchmark(n):
    # 760 x 760 is 4.6 MB: the blocked path, in both products of the HVP.
    rng = np.random.default_rng(4)
    A = rng.standard_normal((n, n)) / n**0.5
    x, v = rng.standard_normal(n), rng.standard_normal(n)
    g, hv = cr.hvp(lambda x: np.sum(np.tanh(A @ x) ** 2), (x,), (v,))
    # closed forms: grad = A^T 2t(1 - t^2), H = A^T diag((2 - 6t^2)(1 - t^2)) A
    t = np.tanh(A @ x)
    hessian = A.T @ (((2.0 - 6.0 * t**2) * (1.0 - t**2))[:, None] * A)
    np.testing.assert_allclose(g, A.T @ (2 * t * (1 - t**2)), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(hv, hessian @ v, rtol=1e-9, atol=1e-11)
    if n == N_FUSED:  # batched tangents (jacfwd) decline the fusion
        jac = cr.jacfwd(lambda x: cr.grad(lambda y: np.sum(np.tanh(A @ y) ** 2))(x))(x)
        np.testing.assert_allclose(jac, hessian, rtol=1e-9, atol=1e-11)


def test_fused_matmul_declines_what_it_does_not_cover():
    from chainrule.rules.products import _matmul_fused_jvp

    W = np.ones((N_FUSED, N_FUSED))
    x = np.ones(N_FUSED)
    assert _matmul_fused_jvp(1, x, W, x) is not None
    assert _matmul_fused_jvp(1, x, W[:10, :10], x) is None  # small: not worth it
    assert _matmul_fused_jvp(1, x, W, np.ones((3, N_FUSED))) is None  # a batch of tangents
    assert _matmul_fused_jvp(1, x, W.astype(np.float32), x) is None  # mixed dtypes
    assert _matmul_fused_jvp(1, np.ones((2, N_FUSED)), W, np.ones((2, N_FUSED))) is None


def test_blocked_matmul_jvp_for_large_matrices():
    # Above 4 MB the matrix is read a block of rows at a time; rows that do
    # not divide evenly into blocks, both orientations, real and complex.
    from chainrule.rules import products

    rng = np.random.default_rng(5)
    for shape in [(1500, 401), (401, 1500)]:
        W = rng.standard_normal(shape)
        assert W.nbytes > products._BLOCK_ABOVE
        x, t = rng.standard_normal(shape[1]), rng.standard_normal(shape[1])
        out, tan = cr.jvp(lambda x, W=W: W @ x, (x,), (t,))
        np.testing.assert_allclose(out, W @ x, rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(tan, W @ t, rtol=1e-12, atol=1e-12)
        y, s = rng.standard_normal(shape[0]), rng.standard_normal(shape[0])
        out, tan = cr.jvp(lambda y, W=W: y @ W, (y,), (s,))
        np.testing.assert_allclose(out, y @ W, rtol=1e-12, atol=1e-11)
        np.testing.assert_allclose(tan, s @ W, rtol=1e-12, atol=1e-11)
    Wc = rng.standard_normal((900, 700)) + 1j * rng.standard_normal((900, 700))
    z = rng.standard_normal(700) + 1j * rng.standard_normal(700)
    zt = rng.standard_normal(700) - 0.5j * rng.standard_normal(700)
    out, tan = cr.jvp(lambda z: Wc @ z, (z,), (zt,))
    np.testing.assert_allclose(out, Wc @ z, rtol=1e-12, atol=1e-11)
    np.testing.assert_allclose(tan, Wc @ zt, rtol=1e-12, atol=1e-11)


def test_fused_matmul_leaves_mismatched_shapes_to_numpy():
    # Found by review: the blocked product once used only the first rows of a
    # too-long vector when the rows divided evenly into blocks.
    for W in (np.ones((1040, 1000)), np.ones((N_FUSED, N_FUSED))):
        x = np.ones(W.shape[0] + 60)
        with pytest.raises(ValueError, match="matmul"):
            cr.jvp(lambda x, W=W: x @ W, (x,), (x,))
        with pytest.raises(ValueError, match="matmul"):
            cr.jvp(lambda x, W=W: W @ x, (x,), (x,))
