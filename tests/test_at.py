"""Functional updates ``at(x)[idx].set/add/multiply/min/max(v)``: NumPy's
semantics on plain arrays (``x[idx] = v`` and ``np.<ufunc>.at``), the same
values when traced, and derivatives in ``x`` and ``v`` in both modes, to second
order and batched, for every indexing form."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from numpy.testing import assert_allclose, assert_array_equal

import chainrule as cr
import chainrule.numpy as cnp
from chainrule.at import at

RNG = np.random.default_rng(7)
MODES = ["set", "add", "multiply", "min", "max"]
REFERENCE = {"add": np.add, "multiply": np.multiply, "min": np.minimum, "max": np.maximum}

_row_mask = np.array([True, False])
_plane_mask = np.array(
    [[True, False, True, False], [False, False, True, True], [True, True, False, False]]
)
INDICES = {
    "int": 1,
    "negative int": -1,
    "slice": slice(1, None),
    "step slice": (slice(None), slice(None, None, 2)),
    "negative step slice": (Ellipsis, slice(None, 0, -2)),
    "tuple": (1, 2),
    "every axis int": (1, -2, 3),
    "empty tuple": (),
    "ellipsis": (Ellipsis, 1),
    "newaxis": (None, 1, Ellipsis),
    "newaxis middle": (slice(None), None, 0),
    "int array repeated": np.array([0, 1, 1]),
    "int list": [1, 0],
    "negative int array": (slice(None), np.array([-1, 0, -1])),
    "repeated 2d int arrays": (np.array([[0, 1], [1, 1]]), np.array([[2, 2], [0, 1]])),
    "same position 4 times": (np.array([1, 1, 1, 1]), 2, 3),
    "separated advanced": (np.array([0, 1]), slice(None), np.array([1, 2])),
    "separated advanced repeated": (np.array([0, 0, 1]), slice(None), np.array([3, 3, 0])),
    "bool mask": "mask",
    "bool row mask": (_row_mask, Ellipsis),
    "bool plane mask": (slice(None), _plane_mask),
    "mixed": (slice(None), np.array([2, 0, 2]), 1),
    "mixed with newaxis": (None, np.array([1, 1]), slice(0, 2), -1),
    "empty selection": np.array([], dtype=int),
}


def index(name, x):
    idx = INDICES[name]
    return x > 0 if isinstance(idx, str) else idx


def reference(mode, x, idx, v):
    """What NumPy itself does, on a copy."""
    out = x.copy()
    if mode == "set":
        out[idx] = v
    else:
        REFERENCE[mode].at(out, idx, v)
    return out


def update(mode, x, idx, v):
    return getattr(at(x)[idx], mode)(v)


def inputs(name):
    x = RNG.uniform(-1.5, 1.5, size=(2, 3, 4))
    idx = index(name, x)
    v = RNG.uniform(-1.5, 1.5, size=np.shape(x[idx]))
    return x, idx, v


# ---------------------------------------------------------------------------
# values: NumPy's semantics on plain arrays, the same values when traced
# ---------------------------------------------------------------------------
@pytest.mark.parametrize("name", list(INDICES))
@pytest.mark.parametrize("mode", MODES)
def test_plain_values_are_numpys_and_leave_x_alone(mode, name):
    x, idx, v = inputs(name)
    x_before, v_before = x.copy(), v.copy()
    out = update(mode, x, idx, v)
    assert type(out) is np.ndarray and out is not x
    assert_array_equal(out, reference(mode, x, idx, v))
    assert_array_equal(x, x_before)
    assert_array_equal(v, v_before)


@pytest.mark.parametrize("name", list(INDICES))
@pytest.mark.parametrize("mode", MODES)
def test_traced_values_equal_plain_values(mode, name):
    x, idx, v = inputs(name)
    expected = reference(mode, x, idx, v)
    out, _ = cr.jvp(lambda x, v: update(mode, x, idx, v), (x, v), (x, v))
    assert_allclose(out, expected, rtol=1e-14, atol=0)
    out, _ = cr.vjp(lambda v: update(mode, x, idx, v), v)  # only v traced
    assert_allclose(out, expected, rtol=1e-14, atol=0)
    out, _ = cr.vjp(lambda x: update(mode, x, idx, v), x)  # only x traced
    assert_allclose(out, expected, rtol=1e-14, atol=0)


# ---------------------------------------------------------------------------
# derivatives: every mode x every index form, in x, in v, and both at once
# ---------------------------------------------------------------------------
@pytest.mark.parametrize("name", list(INDICES))
@pytest.mark.parametrize("mode", MODES)
def test_grads(mode, name):
    x, idx, v = inputs(name)
    f = lambda x, v: update(mode, x, idx, v)  # noqa: E731
    cr.check_grads(f, (x, v), order=2)  # in x, and in v
    # both at once: v computed from x
    g = lambda x: np.sin(update(mode, x, idx, 2.0 * np.cos(x[idx]) - 0.3))  # noqa: E731
    cr.check_grads(g, (x,), order=2)


@pytest.mark.parametrize("name", list(INDICES))
@pytest.mark.parametrize("mode", MODES)
def test_jacrev_equals_jacfwd(mode, name):
    x, idx, v = inputs(name)
    f = lambda x, v: update(mode, x, idx, v)  # noqa: E731
    jr = cr.jacrev(f, argnums=(0, 1))(x, v)
    jf = cr.jacfwd(f, argnums=(0, 1))(x, v)
    assert_allclose(jr[0], jf[0], rtol=1e-12, atol=1e-14)
    assert_allclose(jr[1], jf[1], rtol=1e-12, atol=1e-14)


HESSIAN_CASES = [
    ("set", "repeated 2d int arrays"),
    ("add", "separated advanced repeated"),
    ("multiply", "same position 4 times"),
    ("multiply", "mixed with newaxis"),
    ("min", "int array repeated"),
    ("max", "bool mask"),
    ("multiply", "step slice"),
]


@pytest.mark.parametrize("mode, name", HESSIAN_CASES)
def test_hessian(mode, name):
    x, idx, v = inputs(name)
    w = RNG.uniform(-1, 1, size=x.shape)

    def f(x):
        return np.sum(w * update(mode, x, idx, np.sin(x[idx]) * 1.7) ** 2)

    assert_allclose(cr.hessian(f)(x), cr.jacrev(cr.jacrev(f))(x), rtol=1e-10, atol=1e-12)
    cr.check_grads(cr.grad(f), (x,), order=1)


def test_through_chainrule_numpy_and_nested_transforms():
    x = np.array([0.3, -0.7, 1.1])

    def f(x):
        y = at(x)[np.array([0, 2, 0])].multiply(cnp.exp(x))
        return cnp.sum(at(y)[1].max(cnp.sin(x[0]) + 2.0) * x)

    cr.check_grads(f, (x,), order=2)
    inner = lambda y: cr.grad(lambda z: np.sum(at(z)[0].add(y * z[1]) ** 2))(x)  # noqa: E731
    cr.check_grads(lambda y: inner(y)[1], (0.4,), order=2)


# ---------------------------------------------------------------------------
# v broadcasts to the shape of x[idx]
# ---------------------------------------------------------------------------
BROADCAST_CASES = [  # (index, shape of v); x has shape (2, 3, 4)
    ((slice(None), np.array([0, 2, 0])), ()),
    ((slice(None), np.array([0, 2, 0])), (4,)),
    ((slice(None), np.array([0, 2, 0])), (1, 3, 1)),
    ((np.array([0, 0]), slice(None), np.array([1, 1])), (3,)),
    ((np.array([0, 0]), slice(None), np.array([1, 1])), (2, 1)),
    (Ellipsis, (3, 1)),
    ((None, 0), (1, 1, 4)),
]


@pytest.mark.parametrize("idx, vshape", BROADCAST_CASES, ids=str)
@pytest.mark.parametrize("mode", MODES)
def test_v_broadcasts(mode, idx, vshape):
    x = RNG.uniform(-1.5, 1.5, size=(2, 3, 4))
    v = RNG.uniform(-1.5, 1.5, size=vshape)
    assert_array_equal(update(mode, x, idx, v), reference(mode, x, idx, v))
    f = lambda x, v: update(mode, x, idx, v)  # noqa: E731
    cr.check_grads(f, (x, v), order=2)
    jr = cr.jacrev(f, argnums=1)(x, v)
    assert_allclose(jr, cr.jacfwd(f, argnums=1)(x, v), rtol=1e-12, atol=1e-14)
    assert jr.shape == x.shape + v.shape


def test_set_accepts_leading_unit_axes_like_assignment():
    x = np.zeros((3, 4))
    v = np.arange(4.0).reshape(1, 1, 4)
    assert_array_equal(at(x)[1].set(v), reference("set", x, 1, v))
    g = cr.grad(lambda v: np.sum(at(x)[1].set(v) * np.arange(12.0).reshape(3, 4)))(v)
    assert_array_equal(g, np.arange(4.0, 8.0).reshape(1, 1, 4))


@pytest.mark.parametrize("mode", MODES)
def test_v_that_does_not_broadcast_is_a_value_error(mode):
    x = np.zeros((2, 3))
    with pytest.raises(ValueError):
        update(mode, x, 0, np.ones(4))
    with pytest.raises(ValueError, match=r"\(4,\).*\(3,\)"):
        cr.grad(lambda v: np.sum(update(mode, x, 0, v)))(np.ones(4))


# ---------------------------------------------------------------------------
# repeated indices: semantics and which contribution gets the derivative
# ---------------------------------------------------------------------------
def test_set_repeated_last_write_wins_and_alone_gets_the_cotangent():
    x = np.zeros(3)
    idx = [0, 0, 1, 0]
    v = np.array([1.0, 2.0, 3.0, 4.0])
    w = np.array([10.0, 20.0, 30.0])
    assert_array_equal(at(x)[idx].set(v), [4.0, 3.0, 0.0])
    f = lambda x, v: np.sum(w * at(x)[idx].set(v))  # noqa: E731
    gx, gv = cr.grad(f, argnums=(0, 1))(x, v)
    assert_array_equal(gx, [0.0, 0.0, 30.0])
    assert_array_equal(gv, [0.0, 0.0, 20.0, 10.0])
    assert_array_equal(
        cr.jacfwd(lambda v: at(x)[idx].set(v))(v), [[0, 0, 0, 1], [0, 0, 1, 0], [0, 0, 0, 0]]
    )


def exact_jacobian_in_v(mode, x, idx, v):
    """For the linear updates, the plain NumPy result's response to each unit
    change of v: an oracle independent of chainrule."""
    base = reference(mode, x, idx, v)
    cols = []
    for k in range(v.size):
        e = np.zeros(v.size)
        e[k] = 1.0
        cols.append(reference(mode, x, idx, v + e.reshape(v.shape)) - base)
    return np.stack(cols, axis=-1).reshape(x.shape + v.shape)


@pytest.mark.parametrize(
    "name",
    [
        "int array repeated",
        "repeated 2d int arrays",
        "same position 4 times",
        "separated advanced repeated",
        "mixed with newaxis",
        "mixed",
    ],
)
@pytest.mark.parametrize("mode", ["set", "add"])
def test_linear_updates_match_numpy_exactly(mode, name):
    x, idx, v = inputs(name)
    x, v = np.round(x * 8), np.round(v * 8)  # small integers: the oracle is exact
    expected = exact_jacobian_in_v(mode, x, idx, v)
    f = lambda v: update(mode, x, idx, v)  # noqa: E731
    assert_array_equal(cr.jacrev(f)(v), expected)
    assert_array_equal(cr.jacfwd(f)(v), expected)


def test_add_repeated_accumulates():
    x = np.ones(4)
    v = np.array([1.0, 2.0, 3.0])
    assert_array_equal(at(x)[[3, 0, 3]].add(v), [3.0, 1.0, 1.0, 5.0])
    w = np.array([1.0, 2.0, 3.0, 4.0])
    assert_array_equal(cr.grad(lambda v: np.sum(w * at(x)[[3, 0, 3]].add(v)))(v), [4.0, 1.0, 4.0])


def test_multiply_repeated_with_exact_zeros():
    x = np.array([2.0, 7.0])
    idx = [0, 0, 0]

    def f(x, v):
        return at(x)[idx].multiply(v)[0]

    v = np.array([0.0, 3.0, 5.0])  # one zero: only its own derivative survives
    assert f(x, v) == 0.0
    gx, gv = cr.grad(f, argnums=(0, 1))(x, v)
    assert_array_equal(gx, [0.0, 0.0])
    assert_array_equal(gv, [30.0, 0.0, 0.0])
    assert_array_equal(cr.jacfwd(f, argnums=1)(x, v), [30.0, 0.0, 0.0])
    h = cr.hessian(f, argnums=1)(x, v)  # d2(2 v0 v1 v2)
    assert_array_equal(h, [[0.0, 10.0, 6.0], [10.0, 0.0, 0.0], [6.0, 0.0, 0.0]])
    v = np.array([0.0, 3.0, 0.0])  # two zeros: every first derivative is 0
    assert_array_equal(cr.grad(f, argnums=1)(x, v), [0.0, 0.0, 0.0])
    assert_array_equal(cr.hessian(f, argnums=1)(x, v), [[0, 0, 6], [0, 0, 0], [6, 0, 0]])


# ---------------------------------------------------------------------------
# min / max: the documented split at ties
# ---------------------------------------------------------------------------
@pytest.mark.parametrize("mode", ["min", "max"])
def test_single_tie_splits_evenly_between_x_and_v(mode):
    x = np.array([1.0, 2.0])

    def f(x, v):
        return np.sum(np.array([1.0, 3.0]) * update(mode, x, 0, v))

    gx, gv = cr.grad(f, argnums=(0, 1))(x, 1.0)
    assert_array_equal(gx, [0.5, 3.0])
    assert gv == 0.5
    jx, jv = cr.jacfwd(lambda x, v: update(mode, x, 0, v), argnums=(0, 1))(x, 1.0)
    assert_array_equal(jx, [[0.5, 0.0], [0.0, 1.0]])
    assert_array_equal(jv, [0.5, 0.0])
    # consistent with np.minimum / np.maximum on their own
    elementwise = getattr(np, {"min": "minimum", "max": "maximum"}[mode])
    assert_array_equal(gv, cr.grad(lambda v: elementwise(1.0, v))(1.0))


@pytest.mark.parametrize("mode", ["min", "max"])
def test_repeated_ties_split_evenly_among_all_tied_values(mode):
    sign = 1.0 if mode == "min" else -1.0
    x = sign * np.array([1.0, 4.0])
    idx = [0, 0, 1, 0]
    v = sign * np.array([1.0, 3.0, 5.0, 1.0])  # position 0: x, v0, v3 tie; position 1: x wins
    out = update(mode, x, idx, v)
    assert_array_equal(out, reference(mode, x, idx, v))
    f = lambda x, v: np.sum(update(mode, x, idx, v) * [3.0, 5.0])  # noqa: E731
    gx, gv = cr.grad(f, argnums=(0, 1))(x, v)
    assert_allclose(gx, [1.0, 5.0])
    assert_allclose(gv, [1.0, 0.0, 0.0, 1.0])
    jr = cr.jacrev(lambda x, v: update(mode, x, idx, v), argnums=(0, 1))(x, v)
    jf = cr.jacfwd(lambda x, v: update(mode, x, idx, v), argnums=(0, 1))(x, v)
    assert_allclose(jr[0], [[1 / 3, 0.0], [0.0, 1.0]])
    assert_allclose(jr[1], [[1 / 3, 0.0, 0.0, 1 / 3], [0.0, 0.0, 0.0, 0.0]])
    assert_allclose(jf[0], jr[0])
    assert_allclose(jf[1], jr[1])
    # a broadcast scalar repeated twice ties with itself: it still gets the whole derivative
    assert cr.grad(lambda s: update(mode, np.array([10.0 * sign]), [0, 0], s)[0])(sign) == 1.0
    # the second derivative of a piecewise-linear update is zero
    assert_array_equal(cr.hessian(lambda v: update(mode, x, idx, v)[0])(v), np.zeros((4, 4)))


# ---------------------------------------------------------------------------
# plain arrays, dtypes, 0-d, and odd inputs
# ---------------------------------------------------------------------------
@pytest.mark.parametrize("mode", MODES)
def test_plain_inputs_of_other_kinds(mode):
    x = [1.0, 2.0, 3.0]
    out = update(mode, x, [0, 2], 0.5)
    assert isinstance(out, np.ndarray)
    assert_array_equal(out, reference(mode, np.array(x), [0, 2], 0.5))
    x32 = np.array([1.0, 2.0], dtype=np.float32)
    assert update(mode, x32, 0, 0.25).dtype == np.float32
    xi = np.array([1, 5])
    assert_array_equal(update(mode, xi, 1, 3), reference(mode, xi, 1, 3))
    s = np.float64(2.0)
    assert_array_equal(update(mode, s, (), 3.0), reference(mode, np.array(s), (), 3.0))


@pytest.mark.parametrize("idx", [(), Ellipsis, None], ids=str)
@pytest.mark.parametrize("mode", MODES)
def test_0d(mode, idx):
    cr.check_grads(lambda x, v: update(mode, x, idx, v), (np.float64(0.7), -0.4), order=2)
    cr.check_grads(lambda x: update(mode, x, idx, 0.5 * x**2 + 0.1), (0.7,), order=2)
    assert_array_equal(
        cr.jacrev(lambda x: update(mode, x, idx, 2.0))(np.float64(0.7)),
        cr.jacfwd(lambda x: update(mode, x, idx, 2.0))(np.float64(0.7)),
    )


@pytest.mark.parametrize("mode", MODES)
def test_float32_x_keeps_its_dtype_with_traced_v(mode):
    x = np.array([1.0, 2.0, 3.0], dtype=np.float32)
    out, vjp_fn = cr.vjp(lambda v: update(mode, x, [2, 0], v), np.array([0.5, 4.0]))
    assert out.dtype == np.float32
    assert_allclose(out, reference(mode, x, [2, 0], np.array([0.5, 4.0])))
    assert vjp_fn(np.ones(3, dtype=np.float32))[0].shape == (2,)


@pytest.mark.parametrize("mode", MODES)
def test_integer_x_with_traced_v_is_refused(mode):
    with pytest.raises(TypeError, match="astype"):
        cr.grad(lambda v: np.sum(update(mode, np.arange(3), 1, v)))(2.0)


def test_traced_index_values_are_fine():
    x = np.array([1.0, 2.0, 3.0])
    g = cr.grad(lambda x: np.sum(at(x)[np.argmax(x)].set(0.0) * x))(x)
    assert_array_equal(g, [2.0, 4.0, 0.0])


# ---------------------------------------------------------------------------
# the shorthand x.at[idx] on traced values, and the error that points to it
# ---------------------------------------------------------------------------
@pytest.mark.parametrize("mode", MODES)
def test_shorthand_on_traced_values(mode):
    """x.at[idx] exists on traced values only (a plain ndarray has no .at), and
    is the same update as at(x)[idx]."""
    x, idx, v = inputs("separated advanced repeated")

    def short(x, v):
        return getattr(x.at[idx], mode)(v)

    def long(x, v):
        return update(mode, x, idx, v)

    for jac in (cr.jacrev, cr.jacfwd):
        for a, b in zip(jac(short, argnums=(0, 1))(x, v), jac(long, argnums=(0, 1))(x, v)):
            assert_allclose(a, b, rtol=1e-14)
    out, _ = cr.vjp(short, x, v)
    assert_array_equal(out, reference(mode, x, idx, v))
    h = cr.hessian(lambda x: np.sum(np.sin(short(x, np.cos(x[idx])))))(x)
    assert_allclose(h, cr.hessian(lambda x: np.sum(np.sin(long(x, np.cos(x[idx])))))(x))


def test_setitem_error_suggests_at_and_the_suggestion_works():
    x = np.array([1.0, 2.0])

    def mutate(x):
        x[0] = 5.0
        return np.sum(x * x)

    with pytest.raises(TypeError, match=r"at\(x\)\[idx\]\.set\(v\)") as info:
        cr.grad(mutate)(x)
    assert "x.at[idx].set(v)" in str(info.value)

    def functional(x):
        x = at(x)[0].set(5.0)  # the suggested fix
        return np.sum(x * x)

    assert_array_equal(cr.grad(functional)(x), [0.0, 4.0])

    def into_plain(s):
        a = np.zeros(3)
        a[1] = s
        return np.sum(a)

    # NumPy turns our error for a[1] = traced into its own ValueError, keeping ours as the cause
    with pytest.raises((TypeError, ValueError)) as info:
        cr.grad(into_plain)(2.0)
    err = info.value if isinstance(info.value, TypeError) else info.value.__cause__
    assert "cr.at(x)[idx].set(v)" in str(err)
    assert cr.grad(lambda s: np.sum(at(np.zeros(3))[1].set(s) * [1.0, 3.0, 5.0]))(2.0) == 3.0


# ---------------------------------------------------------------------------
# Hypothesis: random shapes, repeated indices and broadcast values
# ---------------------------------------------------------------------------
@st.composite
def problems(draw):
    shape = draw(hnp.array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=3))
    n = draw(st.integers(1, 4))
    axes = draw(st.integers(1, len(shape)))  # integer arrays on the first `axes` axes
    idx = tuple(
        np.array(draw(st.lists(st.integers(-s, s - 1), min_size=n, max_size=n)))
        for s in shape[:axes]
    )
    if draw(st.booleans()) and len(shape) > axes:
        idx = idx + (slice(None, None, draw(st.sampled_from([1, -1, 2]))),)
    target = np.zeros(shape)[idx].shape
    kept = draw(st.integers(0, len(target)))  # v: trailing axes of x[idx], some of them 1
    vshape = tuple(draw(st.sampled_from([1, s])) for s in target[len(target) - kept :])
    mode = draw(st.sampled_from(MODES))
    seed = draw(st.integers(0, 2**16))
    return shape, idx, vshape, mode, seed


@settings(max_examples=40, deadline=None, derandomize=True)
@given(problems())
def test_random_repeated_updates(problem):
    shape, idx, vshape, mode, seed = problem
    rng = np.random.default_rng(seed)
    x = rng.uniform(-2, 2, size=shape)
    v = rng.uniform(-2, 2, size=vshape)
    expected = reference(mode, x, idx, v)
    assert_array_equal(update(mode, x, idx, v), expected)
    f = lambda x, v: update(mode, x, idx, v)  # noqa: E731
    out, _ = cr.jvp(f, (x, v), (x, v))
    assert_allclose(out, expected, rtol=1e-14)
    cr.check_grads(f, (x, v), order=2)
    jr = cr.jacrev(f, argnums=(0, 1))(x, v)
    jf = cr.jacfwd(f, argnums=(0, 1))(x, v)
    assert_allclose(jr[0], jf[0], rtol=1e-12, atol=1e-14)
    assert_allclose(jr[1], jf[1], rtol=1e-12, atol=1e-14)
