"""Every row of API.md's "Errors users get" table, plus the other user mistakes
the transforms must report clearly: the exception type, and a message that
names the cause and the fix."""

import dataclasses
import math

import numpy as np
import pytest
from conftest import fd_jacobian
from numpy.testing import assert_allclose, assert_array_equal

import chainrule as cr
import chainrule.numpy as cnp

X = np.array([3.0, 2.0])


# ---------------------------------------------------------------------------
# grad of a non-scalar output
# ---------------------------------------------------------------------------
@pytest.mark.parametrize(
    "fun, arg, shape",
    [
        (lambda x: x * 2.0, X, r"\(2,\)"),
        (lambda x: x[:, None] * x[None, :], X, r"\(2, 2\)"),
        (lambda x: np.sin(x) * np.ones((3, 1, 2)), X, r"\(3, 1, 2\)"),
        (lambda x: x * np.ones(4), 1.5, r"\(4,\)"),
    ],
)
@pytest.mark.parametrize("transform", [cr.grad, cr.value_and_grad], ids=["grad", "vag"])
def test_grad_of_non_scalar_output(transform, fun, arg, shape):
    with pytest.raises(TypeError, match=shape) as info:
        transform(fun)(arg)
    msg = str(info.value)
    assert "jacrev" in msg and "vjp" in msg


def test_grad_of_non_scalar_output_nested():
    """The inner grad of grad(grad(f)) checks its output too."""
    with pytest.raises(TypeError, match=r"\(2,\).*jacrev"):
        cr.grad(lambda x: np.sum(cr.grad(lambda y: y * x)(1.0)))(X)


def test_grad_of_tuple_output_suggests_has_aux_or_jacrev():
    with pytest.raises(TypeError, match="jacrev") as info:
        cr.grad(lambda x: (x * 2.0, x))(1.0)
    assert "has_aux" in str(info.value)


# ---------------------------------------------------------------------------
# differentiating with respect to an integer or bool input
# ---------------------------------------------------------------------------
@pytest.mark.parametrize(
    "value, dtype_name",
    [(3, "int"), (True, "bool"), (np.int64(3), "int64"), (np.int32(-2), "int32")],
    ids=["py-int", "py-bool", "np-int64", "np-int32"],
)
def test_grad_wrt_python_or_numpy_integer_scalar(value, dtype_name):
    with pytest.raises(TypeError, match="argument 0") as info:
        cr.grad(lambda x: x * 2.0)(value)
    msg = str(info.value)
    assert dtype_name in msg
    assert "astype(float)" in msg or "float(" in msg


@pytest.mark.parametrize(
    "arr, dtype_name",
    [
        (np.arange(3), "int64"),
        (np.arange(3, dtype=np.int32), "int32"),
        (np.array([True, False]), "bool"),
        (np.arange(4, dtype=np.uint8).reshape(2, 2), "uint8"),
    ],
)
def test_grad_wrt_integer_array(arr, dtype_name):
    with pytest.raises(TypeError, match=dtype_name) as info:
        cr.grad(lambda a, x: a * np.sum(x * 2.0), argnums=1)(1.0, arr)
    msg = str(info.value)
    assert "argument 1" in msg
    assert "astype(float)" in msg


@pytest.mark.parametrize(
    "call",
    [
        lambda x: cr.jacrev(lambda x: x * 2.0)(x),
        lambda x: cr.jacfwd(lambda x: x * 2.0)(x),
        lambda x: cr.hessian(lambda x: np.sum(x * 2.0))(x),
        lambda x: cr.vjp(lambda x: x * 2.0, x),
        lambda x: cr.value_and_grad(lambda x: np.sum(x * 2.0))(x),
        lambda x: cr.jvp(lambda x: x * 2.0, (x,), (np.ones(3),)),
        lambda x: cr.linearize(lambda x: x * 2.0, x),
    ],
    ids=["jacrev", "jacfwd", "hessian", "vjp", "value_and_grad", "jvp", "linearize"],
)
def test_every_transform_rejects_integer_input(call):
    with pytest.raises(TypeError, match="int64") as info:
        call(np.arange(3))
    assert "astype(float)" in str(info.value)


def test_integer_leaf_inside_pytree_is_named():
    with pytest.raises(TypeError, match="argument 0") as info:
        cr.grad(lambda p: p["w"] * 2.0 + np.sum(p["n"]))({"w": 1.0, "n": np.arange(2)})
    msg = str(info.value)
    assert "int64" in msg and "astype(float)" in msg


def test_integer_argument_not_differentiated_is_fine():
    """Only the differentiated arguments must be floats."""
    g = cr.grad(lambda x, n: x**n, argnums=0)(2.0, 3)
    assert_allclose(g, 12.0)


# ---------------------------------------------------------------------------
# a NumPy function with no derivative rule meets a traced value
# ---------------------------------------------------------------------------
# Candidates: each is either still without a rule (then it must raise
# NotImplementedError naming it and suggesting custom_vjp) or has gained one
# (then its derivative must match finite differences). Never silently wrong.
NO_RULE_CANDIDATES = {
    "fft": lambda x: np.fft.fft(x),
    "cumsum": lambda x: np.cumsum(x),
    "diff": lambda x: np.diff(x),
    "sort": lambda x: np.sort(x),
    "convolve": lambda x: np.convolve(x, np.array([1.0, -2.0, 0.5])),
    "i0": lambda x: np.i0(x),
    "polyval": lambda x: np.polyval(x, 1.7),
    "cbrt": lambda x: np.cbrt(x),
    "arctan": lambda x: np.arctan(x),
    "log1p": lambda x: np.log1p(x),
    "unwrap": lambda x: np.unwrap(x),
    "kron": lambda x: np.kron(x, x),
    "nanvar": lambda x: np.nanvar(x),
    "spacing": lambda x: np.spacing(x),
}
NO_RULE_POINT = np.array([0.3, 1.1, 2.3])


@pytest.mark.parametrize("name", sorted(set(NO_RULE_CANDIDATES) - {"fft"}))
@pytest.mark.parametrize("mode", ["rev", "fwd"])
def test_function_without_rule_raises_or_is_right(name, mode):
    fn = NO_RULE_CANDIDATES[name]
    f = lambda x: np.sum(fn(x) * fn(x))
    x = NO_RULE_POINT
    try:
        if mode == "rev":
            g = cr.grad(f)(x)
        else:
            g = cr.jacfwd(f)(x)
    except NotImplementedError as e:
        msg = str(e)
        assert name in msg, msg
        assert "custom_vjp" in msg, msg
        return
    assert_allclose(g, fd_jacobian(f, x), rtol=1e-5, atol=1e-7)


def test_some_function_still_has_no_rule():
    """Keep the no-rule error exercised: at least one candidate must still lack a
    rule (if all gain one, add a new candidate to NO_RULE_CANDIDATES)."""
    missing = []
    for name, fn in NO_RULE_CANDIDATES.items():
        try:
            cr.vjp(fn, NO_RULE_POINT)
        except NotImplementedError as e:
            missing.append(name)
            assert name in str(e) and "custom_vjp" in str(e)
    assert missing


def test_fft_without_rule():
    try:
        cr.vjp(np.fft.fft, NO_RULE_POINT)
    except NotImplementedError as e:
        assert "fft" in str(e) and "custom_vjp" in str(e)
    else:
        pytest.skip("numpy.fft.fft has a rule now")


def _first_missing():
    for name, fn in NO_RULE_CANDIDATES.items():
        try:
            cr.vjp(fn, NO_RULE_POINT)
        except NotImplementedError:
            return name, fn
    pytest.fail("every candidate has a rule; add a new one to NO_RULE_CANDIDATES")


def test_no_rule_error_is_raised_in_the_forward_pass():
    """The error comes when the function meets the tracer, not deep inside the
    backward pass: vjp itself raises, before any vjp_fn exists."""
    name, fn = _first_missing()
    with pytest.raises(NotImplementedError, match=name):
        cr.vjp(lambda x: fn(x * 2.0), NO_RULE_POINT)
    with pytest.raises(NotImplementedError, match=name):
        cr.jvp(lambda x: fn(x * 2.0), (NO_RULE_POINT,), (np.ones(3),))


def test_no_rule_through_chainrule_numpy_and_methods():
    """chainrule.numpy falls through to NumPy for names it lacks, which must still
    raise the no-rule error; so must an ndarray method without a rule."""
    for name in ("cumsum", "diff", "sort"):
        f = lambda x, n=name: np.sum(getattr(cnp, n)(x) ** 2)
        try:
            g = cr.grad(f)(NO_RULE_POINT)
        except NotImplementedError as e:
            assert name in str(e) and "custom_vjp" in str(e)
        else:
            assert_allclose(g, fd_jacobian(f, NO_RULE_POINT), rtol=1e-5)
    for method in ("cumsum", "cumprod"):
        try:
            f = lambda x, m=method: np.sum(getattr(x, m)() ** 2)
            g = cr.grad(f)(NO_RULE_POINT)
        except NotImplementedError as e:
            assert method in str(e) and "custom_vjp" in str(e)
        else:
            assert_allclose(g, fd_jacobian(f, NO_RULE_POINT), rtol=1e-5)


def test_no_rule_on_plain_values_still_works():
    """Only traced values are refused: the same function on constants is fine."""
    name, fn = _first_missing()
    c = NO_RULE_POINT
    g = cr.grad(lambda x: x * np.sum(np.abs(fn(c))))(2.0)
    assert_allclose(g, np.sum(np.abs(fn(c))))


def test_no_rule_with_stop_gradient_is_allowed():
    name, fn = _first_missing()
    x0 = NO_RULE_POINT
    g = cr.grad(lambda x: np.sum(x) * np.sum(np.abs(fn(cr.stop_gradient(x)))))(x0)
    assert_allclose(g, np.full(3, np.sum(np.abs(fn(x0)))))


# ---------------------------------------------------------------------------
# conversions that would silently drop the derivative
# ---------------------------------------------------------------------------
def _assign_into_plain(x):
    a = np.zeros(3)
    a[0] = x  # a traced 0-d value into a plain ndarray
    return np.sum(a)


def _assign_vector_into_plain(x):
    a = np.zeros(3)
    a[:2] = x
    return np.sum(a)


def _assign_element_into_plain(x):
    a = np.zeros(3)
    a[1] = x[0]
    return np.sum(a)


def _assign_into_traced(x):
    x[0] = 1.0
    return np.sum(x)


def _ufunc_out(x):
    buf = np.zeros(np.shape(x))
    np.sin(x, out=buf)
    return np.sum(buf)


def _binary_ufunc_out(x):
    buf = np.zeros(np.shape(x))
    np.multiply(x, x, out=buf)
    return np.sum(buf)


def _reduction_out(x):
    buf = np.zeros(())
    np.sum(x * x, out=buf)
    return buf * 1.0


CONVERSIONS_OK = {
    "float": (lambda x: float(x) * 1.0, "scalar"),
    "int": (lambda x: int(x) * 1.0, "scalar"),
    "item": (lambda x: x.item() * 1.0, "scalar"),
    "tolist": (lambda x: sum(x.tolist()), "vector"),
    "math.sin": (lambda x: math.sin(x), "scalar"),
    "np.asarray": (lambda x: np.sum(np.asarray(x)), "vector"),
    "np.array": (lambda x: np.sum(np.array(x)), "vector"),
    "np.array(list)": (lambda x: np.sum(np.array([x, x])), "scalar"),
    "np.float64": (lambda x: np.float64(x), "scalar"),
    "a[:2]=traced": (_assign_vector_into_plain, "vector"),
    "traced[i]=v": (_assign_into_traced, "vector"),
    "sin(out=)": (_ufunc_out, "vector"),
    "multiply(out=)": (_binary_ufunc_out, "vector"),
    "sum(out=)": (_reduction_out, "vector"),
}

CONVERSIONS_BUGGY = {
    "a[0]=traced": (_assign_into_plain, "scalar"),
    "a[1]=traced[0]": (_assign_element_into_plain, "vector"),
}


def _run(fun, kind, mode):
    x = 2.0 if kind == "scalar" else np.array([0.5, 2.0])
    if mode == "rev":
        return cr.grad(fun)(x)
    return cr.jvp(fun, (x,), (np.ones_like(x) if kind == "vector" else 1.0,))


def _check_conversion(fun, kind, mode):
    with pytest.raises(TypeError) as info:
        _run(fun, kind, mode)
    msg = str(info.value)
    assert "stop_gradient" in msg or ".at" in msg or "at(" in msg, msg
    assert "derivative" in msg or "differentiat" in msg, msg


@pytest.mark.parametrize("mode", ["rev", "fwd"])
@pytest.mark.parametrize("name", list(CONVERSIONS_OK))
def test_conversion_refused(name, mode):
    _check_conversion(*CONVERSIONS_OK[name], mode)


@pytest.mark.parametrize("mode", ["rev", "fwd"])
@pytest.mark.parametrize("name", list(CONVERSIONS_BUGGY))
def test_conversion_refused_element_assignment(name, mode):
    """NumPy converts a single element with float() and, because a tracer also
    looks like a sequence, replaces the error of float() by its own ValueError.
    It keeps ours as the direct cause, so the message still reaches the user."""
    with pytest.raises((TypeError, ValueError)) as info:
        _run(*CONVERSIONS_BUGGY[name], mode)
    err = info.value
    if isinstance(err, ValueError):
        err = err.__cause__
    assert isinstance(err, cr.ConversionError), repr(info.value)
    assert "stop_gradient" in str(err) and "derivative" in str(err)


def test_assignment_into_traced_suggests_at():
    with pytest.raises(TypeError, match=r"\.at\[|cr\.at\("):
        cr.grad(_assign_into_traced)(np.array([0.5, 2.0]))


def test_conversion_message_suggests_stop_gradient():
    with pytest.raises(TypeError, match="stop_gradient"):
        cr.grad(lambda x: float(x))(2.0)
    with pytest.raises(TypeError, match="stop_gradient"):
        cr.grad(_ufunc_out)(np.array([0.5, 2.0]))


def test_conversion_allowed_after_stop_gradient():
    """The fix the message suggests does work."""
    g = cr.grad(lambda x: x * float(cr.stop_gradient(x)))(3.0)
    assert_allclose(g, 3.0)
    g = cr.grad(lambda x: np.sum(x * np.asarray(cr.stop_gradient(x))))(np.array([1.0, 2.0]))
    assert_allclose(g, [1.0, 2.0])


def test_branching_on_traced_value_is_fine():
    """bool() drops no derivative: Python control flow just works."""
    f = lambda x: x**2 if x > 0 else -(x**3)
    assert_allclose(cr.grad(f)(3.0), 6.0)
    assert_allclose(cr.grad(f)(-2.0), -12.0)


# ---------------------------------------------------------------------------
# vjp_fn with a cotangent of the wrong shape or dtype
# ---------------------------------------------------------------------------
@pytest.mark.parametrize(
    "bad, given", [(np.ones(3), r"\(3,\)"), (np.ones((2, 1)), r"\(2, 1\)"), (1.0, r"\(\)")]
)
def test_vjp_fn_wrong_shape(bad, given):
    _, vjp_fn = cr.vjp(np.sin, X)
    with pytest.raises(ValueError, match=given) as info:
        vjp_fn(bad)
    assert "(2,)" in str(info.value)  # the expected shape


def test_vjp_fn_wrong_shape_matrix_output():
    _, vjp_fn = cr.vjp(lambda x: x[:, None] * x[None, :], X)
    with pytest.raises(ValueError, match=r"\(2, 2\)") as info:
        vjp_fn(np.ones((2, 3)))
    assert "(2, 3)" in str(info.value)


@pytest.mark.parametrize(
    "bad, dtype_name",
    [
        (np.ones(2, dtype=np.int64), "int64"),
        (np.ones(2, dtype=bool), "bool"),
        (np.ones(2, dtype=np.float32), "float32"),
        (np.ones(2, dtype=complex), "complex128"),
    ],
)
def test_vjp_fn_wrong_dtype(bad, dtype_name):
    _, vjp_fn = cr.vjp(np.sin, X)
    with pytest.raises(ValueError, match=dtype_name) as info:
        vjp_fn(bad)
    msg = str(info.value)
    assert "float64" in msg  # the expected dtype
    assert "(2,)" in msg


def test_vjp_fn_wrong_structure():
    _, vjp_fn = cr.vjp(lambda x: (x, 2.0 * x), X)
    with pytest.raises(ValueError, match="structure"):
        vjp_fn(np.ones(2))
    with pytest.raises(ValueError, match="structure"):
        vjp_fn((np.ones(2), np.ones(2), np.ones(2)))
    (ct,) = vjp_fn((np.ones(2), np.ones(2)))
    assert_allclose(ct, [3.0, 3.0])


def test_vjp_fn_still_usable_after_a_bad_call():
    _, vjp_fn = cr.vjp(np.sin, X)
    with pytest.raises(ValueError):
        vjp_fn(np.ones(5))
    assert_allclose(vjp_fn(np.ones(2))[0], np.cos(X))


# ---------------------------------------------------------------------------
# jvp with mismatched primals / tangents
# ---------------------------------------------------------------------------
@pytest.mark.parametrize(
    "fun, primals, tangents, match",
    [
        (lambda a, b: a * b, (1.0, 2.0), (1.0,), "1 tangent"),
        (lambda a: a[0] * a[1], ((1.0, 2.0),), ([1.0, 1.0],), "structure"),
        (lambda d: d["a"], ({"a": 1.0},), ({"b": 1.0},), "structure"),
        (np.sin, (X,), (np.ones(3),), r"\(3,\).*\(2,\)"),
        (np.sin, (X,), (np.ones((2, 1)),), r"\(2, 1\)"),
        (np.sin, (X,), (np.ones(2, dtype=int),), "int64"),
        (np.sin, X, X, "tuple"),
    ],
    ids=["count", "tuple-vs-list", "dict-keys", "shape", "shape-2d", "int-tangent", "no-tuple"],
)
def test_jvp_mismatch(fun, primals, tangents, match):
    with pytest.raises(ValueError, match=match):
        cr.jvp(fun, primals, tangents)


def test_linearize_jvp_fn_checks_tangents():
    _, jvp_fn = cr.linearize(np.sin, X)
    with pytest.raises(ValueError, match=r"\(3,\)"):
        jvp_fn(np.ones(3))
    assert_allclose(jvp_fn(np.ones(2)), np.cos(X))


# ---------------------------------------------------------------------------
# non-differentiable points: documented finite conventions, never NaN
# ---------------------------------------------------------------------------
pytestmark_nan = pytest.mark.filterwarnings("ignore::RuntimeWarning")


@pytestmark_nan
def test_sqrt_at_zero_is_inf_in_both_modes():
    assert cr.grad(np.sqrt)(0.0) == np.inf
    assert cr.grad(cnp.sqrt)(0.0) == np.inf
    _, t = cr.jvp(np.sqrt, (0.0,), (1.0,))
    assert t == np.inf
    x = np.array([0.0, 4.0])
    expected = np.array([[np.inf, 0.0], [0.0, 0.25]])
    for jac in (cr.jacrev, cr.jacfwd):
        J = jac(np.sqrt)(x)
        assert not np.any(np.isnan(J)), J
        assert_array_equal(J, expected)
    g = cr.grad(lambda x: np.sum(np.sqrt(x)))(x)
    assert_array_equal(g, [np.inf, 0.25])


@pytestmark_nan
def test_sqrt_at_zero_times_zero_tangent_is_zero():
    """A zero tangent through sqrt at 0 stays zero (no 0 * inf)."""
    _, t = cr.jvp(np.sqrt, (np.array([0.0, 1.0]),), (np.array([0.0, 1.0]),))
    assert_array_equal(t, [0.0, 0.5])


@pytest.mark.parametrize(
    "absfn", [np.abs, np.absolute, abs, cnp.abs], ids=["abs", "absolute", "builtin", "cnp"]
)
def test_abs_at_zero_gives_zero(absfn):
    assert cr.grad(absfn)(0.0) == 0.0
    assert cr.jvp(absfn, (0.0,), (1.0,))[1] == 0.0
    x = np.array([-2.0, 0.0, 3.0])
    assert_array_equal(cr.grad(lambda x: np.sum(absfn(x)))(x), [-1.0, 0.0, 1.0])
    assert_array_equal(cr.jacfwd(absfn)(x), np.diag([-1.0, 0.0, 1.0]))


@pytest.mark.parametrize(
    "maxfn", [np.max, np.amax, cnp.max, lambda x: x.max()], ids=["max", "amax", "cnp", "method"]
)
def test_max_ties_split_evenly(maxfn):
    x = np.array([1.0, 3.0, 3.0])
    assert_array_equal(cr.grad(maxfn)(x), [0.0, 0.5, 0.5])
    assert_array_equal(cr.jacfwd(maxfn)(x), [0.0, 0.5, 0.5])
    assert_array_equal(cr.jacrev(maxfn)(x), [0.0, 0.5, 0.5])
    _, t = cr.jvp(maxfn, (x,), (np.array([0.0, 1.0, 0.0]),))
    assert t == 0.5


def test_min_ties_and_axis():
    x = np.array([[2.0, 1.0, 1.0], [5.0, 5.0, 5.0]])
    assert_allclose(
        cr.grad(lambda x: np.sum(np.min(x, axis=1)))(x), [[0.0, 0.5, 0.5], [1 / 3, 1 / 3, 1 / 3]]
    )


def test_maximum_ties_split_evenly():
    g = cr.grad(lambda a, b: np.maximum(a, b), argnums=(0, 1))(2.0, 2.0)
    assert_array_equal(g, (0.5, 0.5))
    g = cr.grad(lambda a, b: np.maximum(a, b), argnums=(0, 1))(3.0, 2.0)
    assert_array_equal(g, (1.0, 0.0))


@pytestmark_nan
@pytest.mark.parametrize(
    "f",
    [
        lambda x: np.where(x > 0, np.sqrt(x), 0.0),
        lambda x: cnp.where(x > 0, cnp.sqrt(x), 0.0),
        lambda x: np.where(x > 0, np.log(x), x),
    ],
    ids=["sqrt", "cnp-sqrt", "log"],
)
def test_where_masked_branch_gives_no_nan(f):
    g0 = cr.grad(f)(0.0)
    assert not np.isnan(g0)
    x = np.array([0.0, 4.0, -1.0])
    for jac in (cr.jacrev, cr.jacfwd):
        J = jac(f)(x)
        assert not np.any(np.isnan(J)), J
    _, t = cr.jvp(f, (x,), (np.ones(3),))
    assert not np.any(np.isnan(t))


@pytestmark_nan
def test_where_sqrt_at_zero_values():
    f = lambda x: np.where(x > 0, np.sqrt(x), 0.0)
    assert cr.grad(f)(0.0) == 0.0
    assert cr.jvp(f, (0.0,), (1.0,))[1] == 0.0
    assert cr.grad(cr.grad(f))(0.0) == 0.0
    x = np.array([0.0, 4.0, -1.0])
    assert_array_equal(cr.grad(lambda x: np.sum(f(x)))(x), [0.0, 0.25, 0.0])
    assert_array_equal(cr.jacfwd(f)(x), np.diag([0.0, 0.25, 0.0]))


# ---------------------------------------------------------------------------
# argnums out of range
# ---------------------------------------------------------------------------
@pytest.mark.parametrize(
    "transform",
    [cr.grad, cr.value_and_grad, cr.jacrev, cr.jacfwd, cr.hessian],
    ids=["grad", "value_and_grad", "jacrev", "jacfwd", "hessian"],
)
@pytest.mark.parametrize("argnums", [1, 5, -2, (0, 1)])
def test_argnums_out_of_range(transform, argnums):
    with pytest.raises(ValueError, match="argnums") as info:
        transform(lambda x: np.sum(x * x), argnums=argnums)(X)
    msg = str(info.value)
    assert "1 positional argument" in msg


@pytest.mark.parametrize("argnums", [1.0, "0", None, True])
def test_argnums_wrong_type(argnums):
    with pytest.raises(TypeError, match="argnums"):
        cr.grad(lambda x: x * x, argnums=argnums)(2.0)


# ---------------------------------------------------------------------------
# has_aux with a function that does not return a pair
# ---------------------------------------------------------------------------
NOT_PAIRS = {
    "single": lambda x: np.sum(x * x),
    "triple": lambda x: (np.sum(x * x), 1.0, 2.0),
}

HAS_AUX_CALLS = {
    "grad": lambda f: cr.grad(f, has_aux=True)(X),
    "value_and_grad": lambda f: cr.value_and_grad(f, has_aux=True)(X),
    "vjp": lambda f: cr.vjp(f, X, has_aux=True),
    "jvp": lambda f: cr.jvp(f, (X,), (X,), has_aux=True),
    "jacrev": lambda f: cr.jacrev(f, has_aux=True)(X),
    "jacfwd": lambda f: cr.jacfwd(f, has_aux=True)(X),
}


@pytest.mark.parametrize("kind", list(NOT_PAIRS))
@pytest.mark.parametrize("call", list(HAS_AUX_CALLS))
def test_has_aux_needs_a_pair(call, kind):
    with pytest.raises(TypeError, match="has_aux") as info:
        HAS_AUX_CALLS[call](NOT_PAIRS[kind])
    assert "pair" in str(info.value)


# ---------------------------------------------------------------------------
# a tracer leaked out of its transform
# ---------------------------------------------------------------------------
def _leak_from(transform):
    leaked = []

    def f(x):
        y = np.sin(x) * 2.0
        leaked.append(y)
        return y

    transform(f)
    return leaked[0]


LEAKS = {
    "grad": lambda f: cr.grad(f)(1.0),
    "jvp": lambda f: cr.jvp(f, (1.0,), (1.0,)),
    "vjp": lambda f: cr.vjp(f, 1.0),
    "jacfwd": lambda f: cr.jacfwd(f)(np.array([1.0, 2.0])),
    "jacrev": lambda f: cr.jacrev(f)(np.array([1.0, 2.0])),
}


@pytest.mark.parametrize("where", list(LEAKS))
@pytest.mark.parametrize(
    "use",
    [lambda t: t * 2.0, lambda t: np.sin(t), lambda t: cnp.exp(t), lambda t: 1.0 - t],
    ids=["mul", "np.sin", "cnp.exp", "rsub"],
)
def test_leaked_tracer_is_reported(where, use):
    t = _leak_from(LEAKS[where])
    with pytest.raises(cr.LeakedTracerError) as info:
        use(t)
    msg = str(info.value)
    assert "after its transform returned" in msg
    assert "has_aux" in msg or "stop_gradient" in msg


def test_leaked_tracer_inside_a_new_transform_is_reported():
    t = _leak_from(LEAKS["grad"])
    with pytest.raises(cr.LeakedTracerError, match="transform"):
        cr.grad(lambda y: y * t)(3.0)
    with pytest.raises(cr.LeakedTracerError, match="transform"):
        cr.jvp(lambda y: t + y, (3.0,), (1.0,))


def test_leaked_tracer_error_is_a_runtime_error():
    assert issubclass(cr.LeakedTracerError, RuntimeError)


# ---------------------------------------------------------------------------
# unregistered classes where pytrees of arrays are expected
# ---------------------------------------------------------------------------
@dataclasses.dataclass
class Unregistered:
    w: object


UNREG_CALLS = {
    "grad": lambda f, p: cr.grad(f)(p),
    "value_and_grad": lambda f, p: cr.value_and_grad(f)(p),
    "jacrev": lambda f, p: cr.jacrev(f)(p),
    "jacfwd": lambda f, p: cr.jacfwd(f)(p),
    "hessian": lambda f, p: cr.hessian(f)(p),
    "vjp": lambda f, p: cr.vjp(f, p),
    "jvp": lambda f, p: cr.jvp(f, (p,), (p,)),
    "linearize": lambda f, p: cr.linearize(f, p),
}


@pytest.mark.parametrize("call", list(UNREG_CALLS))
def test_unregistered_class_argument(call):
    with pytest.raises(TypeError, match=r"cr\.tree\.register") as info:
        UNREG_CALLS[call](lambda p: np.sum(p.w * p.w), Unregistered(np.array([1.0, 2.0])))
    assert "Unregistered" in str(info.value)


UNREG_OUT_CALLS = {
    "grad": lambda f: cr.grad(f)(1.0),
    "jacrev": lambda f: cr.jacrev(f)(1.0),
    "jacfwd": lambda f: cr.jacfwd(f)(1.0),
    "vjp": lambda f: cr.vjp(f, 1.0),
    "jvp": lambda f: cr.jvp(f, (1.0,), (1.0,)),
}


@pytest.mark.parametrize("call", list(UNREG_OUT_CALLS))
def test_unregistered_class_output(call):
    with pytest.raises(TypeError, match=r"cr\.tree\.register"):
        UNREG_OUT_CALLS[call](lambda x: Unregistered(x * 2.0))


def test_registered_class_is_accepted():
    @dataclasses.dataclass
    class Registered:
        w: object
        b: object

    cr.tree.register(Registered, lambda r: ((r.w, r.b), None), lambda aux, kids: Registered(*kids))
    p = Registered(np.array([1.0, 2.0]), 3.0)
    g = cr.grad(lambda p: np.sum(p.w * p.w) * p.b)(p)
    assert isinstance(g, Registered)
    assert_allclose(g.w, [6.0, 12.0])
    assert_allclose(g.b, 5.0)


def test_string_argument_is_a_type_error():
    with pytest.raises(TypeError, match="str"):
        cr.grad(lambda s: 1.0)("not a number")


def test_non_callable_is_a_type_error():
    for transform in (cr.grad, cr.jacrev, cr.jacfwd, cr.value_and_grad):
        with pytest.raises(TypeError, match="function"):
            transform(3.0)


# ---------------------------------------------------------------------------
# the fixes the messages suggest must exist and work
# ---------------------------------------------------------------------------
def test_suggested_at_fix_works():
    x = np.array([1.0, 2.0])
    # x[0] = 5 done functionally: f = 5 x0 + x1^2
    g = cr.grad(lambda x: np.sum(cr.at(x)[0].set(5.0) * x))(x)
    assert_allclose(g, [5.0, 4.0])
    g = cr.grad(lambda x: np.sum(x.at[0].set(5.0) * x))(x)
    assert_allclose(g, [5.0, 4.0])
    # a[0] = x into a plain array, done functionally: f = 3 x
    c = np.array([3.0, 7.0, 11.0])
    g = cr.grad(lambda x: np.sum(cr.at(np.zeros(3))[0].set(x) * c))(2.0)
    assert_allclose(g, 3.0)


def test_suggested_custom_vjp_fix_works():
    @cr.custom_vjp
    def cumsum(x):
        return np.cumsum(x)

    cumsum.defvjp(
        lambda x: (np.cumsum(x), None),
        lambda res, g: (np.cumsum(g[::-1])[::-1],),
    )
    w = np.array([1.0, -2.0, 0.5])
    g = cr.grad(lambda x: np.sum(cumsum(x) * w))(np.array([0.3, 1.1, 2.3]))
    assert_allclose(g, [-0.5, -1.5, 0.5])
