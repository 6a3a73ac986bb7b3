"""Inputs from the rest of the data stack: pandas and xarray objects, np.matrix and
masked arrays get an error naming the conversion to make; gradients of pytrees
come back with leaves of one kind (issue #14)."""

from __future__ import annotations

import collections

import numpy as np
import pytest

import chainrule as cr

X = np.array([1.0, 2.0, 3.0])
loss = lambda x: np.sum(np.sin(x) * x)
dloss = lambda x: np.cos(x) * x + np.sin(x)

# Every transform a user may hand an array-like to, called on one argument.
TRANSFORMS = {
    "grad": lambda v: cr.grad(loss)(v),
    "value_and_grad": lambda v: cr.value_and_grad(loss)(v),
    "vjp": lambda v: cr.vjp(loss, v),
    "jacrev": lambda v: cr.jacrev(np.sin)(v),
    "jacfwd": lambda v: cr.jacfwd(np.sin)(v),
    "hessian": lambda v: cr.hessian(loss)(v),
    "elementwise_grad": lambda v: cr.elementwise_grad(np.sin)(v),
    "jvp": lambda v: cr.jvp(loss, (v,), (np.ones(3),)),
    "linearize": lambda v: cr.linearize(loss, v),
    "hvp": lambda v: cr.hvp(loss, (v,), (np.ones(3),)),
    "in a dict": lambda v: cr.grad(lambda p: loss(p["x"]))({"x": v}),
}


# ---------------------------------------------------------------------------
# pandas and xarray
# ---------------------------------------------------------------------------
def _labelled(kind):
    if kind == "DataArray":
        xr = pytest.importorskip("xarray")
        return xr.DataArray(X, dims="t"), "an xarray DataArray"
    pd = pytest.importorskip("pandas")
    if kind == "Series":
        return pd.Series(X), "a pandas Series"
    return pd.DataFrame({"a": X}), "a pandas DataFrame"


@pytest.mark.parametrize("transform", list(TRANSFORMS), ids=list(TRANSFORMS))
@pytest.mark.parametrize("kind", ["Series", "DataFrame", "DataArray"])
def test_labelled_input_says_to_numpy(kind, transform):
    value, described = _labelled(kind)
    with pytest.raises(TypeError) as info:
        TRANSFORMS[transform](value)
    msg = str(info.value)
    assert described in msg
    assert ".to_numpy()" in msg and ".values" in msg
    assert "register" not in msg


def test_labelled_input_detected_without_importing_the_library():
    """Recognised by the class's module, so pandas need not be installed."""
    Fake = type("Series", (), {"__module__": "pandas.core.series"})
    with pytest.raises(TypeError, match=r"argument 0 is a pandas Series.*to_numpy"):
        cr.grad(loss)(Fake())
    Other = type("Series", (), {"__module__": "pandaslike"})  # not pandas: the general message
    with pytest.raises(TypeError, match="register the class"):
        cr.grad(loss)(Other())


def test_labelled_tangent_is_refused_too():
    pd = pytest.importorskip("pandas")
    with pytest.raises(TypeError, match=r"tangent leaf 0 is a pandas Series.*to_numpy"):
        cr.jvp(loss, (X,), (pd.Series(np.ones(3)),))


def test_the_suggested_conversion_works():
    pd = pytest.importorskip("pandas")
    s = pd.Series(X, index=["a", "b", "c"])
    g = cr.grad(loss)(s.to_numpy())
    np.testing.assert_allclose(g, dloss(X), rtol=1e-12)
    assert list(pd.Series(g, index=s.index).index) == ["a", "b", "c"]


PANDAS_INSIDE = {
    "pd.Series(x)": lambda pd: lambda x: pd.Series(x).sum(),
    "pd.DataFrame({'a': x})": lambda pd: lambda x: pd.DataFrame({"a": x})["a"].sum(),
    "series * x": lambda pd: lambda x: np.sum(pd.Series(np.ones(3)) * x),
}


@pytest.mark.parametrize("mode", ["rev", "fwd"])
@pytest.mark.parametrize("call", list(PANDAS_INSIDE), ids=list(PANDAS_INSIDE))
def test_pandas_inside_the_function_says_it_cannot_carry_traced_values(call, mode):
    pd = pytest.importorskip("pandas")
    fun = PANDAS_INSIDE[call](pd)
    with pytest.raises(TypeError) as info:
        if mode == "rev":
            cr.grad(fun)(X)
        else:
            cr.jvp(fun, (X,), (np.ones(3),))
    msg = str(info.value)
    assert isinstance(info.value, cr.ConversionError)
    assert "pandas cannot carry traced values" in msg
    assert "Use NumPy arrays inside the differentiated function" in msg
    assert "build the Series or DataFrame outside it" in msg


def test_pandas_message_is_given_once_under_nested_transforms():
    pd = pytest.importorskip("pandas")
    inner = cr.grad(lambda y: pd.Series(y).sum())
    with pytest.raises(cr.ConversionError) as info:
        cr.jacfwd(inner)(X)
    assert str(info.value).count("pandas cannot carry traced values") == 1


def test_plain_conversion_error_does_not_mention_pandas():
    pytest.importorskip("pandas")  # imported, but not on the stack
    with pytest.raises(cr.ConversionError) as info:
        cr.grad(lambda x: np.asarray(x).sum())(X)
    assert "pandas" not in str(info.value)


def test_xarray_output_says_to_return_data():
    xr = pytest.importorskip("xarray")
    with pytest.raises(TypeError) as info:
        cr.grad(lambda x: (xr.DataArray(x) ** 2).sum())(X)
    msg = str(info.value)
    assert "returned an xarray DataArray" in msg and "Return its .data" in msg
    assert "register" not in msg


def test_xarray_carries_traced_values_through_data():
    """What the message suggests does give the derivative (xarray wraps duck arrays)."""
    xr = pytest.importorskip("xarray")
    fun = lambda x: (xr.DataArray(x, dims="t") ** 2).sum().data
    np.testing.assert_allclose(cr.grad(fun)(X), 2 * X, rtol=1e-12)
    _, t = cr.jvp(fun, (X,), (np.array([1.0, 0.0, -1.0]),))
    np.testing.assert_allclose(t, 2 * 1.0 - 2 * 3.0, rtol=1e-12)


# ---------------------------------------------------------------------------
# np.matrix and masked arrays
# ---------------------------------------------------------------------------
@pytest.mark.filterwarnings("ignore::PendingDeprecationWarning")
@pytest.mark.parametrize("transform", list(TRANSFORMS), ids=list(TRANSFORMS))
def test_matrix_input_says_asarray(transform):
    with pytest.raises(TypeError) as info:
        TRANSFORMS[transform](np.matrix(X))
    msg = str(info.value)
    assert "np.matrix" in msg and "np.asarray(m)" in msg


@pytest.mark.filterwarnings("ignore::PendingDeprecationWarning")
def test_matrix_tangent_and_the_suggested_fix():
    with pytest.raises(TypeError, match=r"tangent leaf 0 is an np.matrix.*np.asarray"):
        cr.jvp(np.sin, (X,), (np.matrix(np.ones(3)),))
    m = np.matrix([[1.0, 2.0], [3.0, 4.0]])
    g = cr.grad(lambda a: np.sum(a @ a))(np.asarray(m))
    a = np.asarray(m)  # d/dA sum(A A) = 1 A^T + A^T 1
    ones = np.ones((2, 2))
    np.testing.assert_allclose(g, ones @ a.T + a.T @ ones, rtol=1e-12)


MASKED = np.ma.masked_array(X, mask=[False, True, False])


@pytest.mark.parametrize("transform", list(TRANSFORMS), ids=list(TRANSFORMS))
def test_masked_input_says_masks_are_not_differentiated(transform):
    with pytest.raises(TypeError) as info:
        TRANSFORMS[transform](MASKED)
    msg = str(info.value)
    assert "masks are not differentiated" in msg
    assert ".filled(" in msg and "np.where" in msg


def test_masked_tangent_and_cotangent_are_refused():
    with pytest.raises(TypeError, match="tangent leaf 0 is a masked array"):
        cr.jvp(np.sin, (X,), (MASKED,))
    _, pull = cr.vjp(np.sin, X)
    with pytest.raises(TypeError, match="cotangent is a masked array"):
        pull(MASKED)


def test_masked_suggested_fixes_give_the_derivative():
    mask = np.ma.getmaskarray(MASKED)
    g = cr.grad(loss)(MASKED.filled(0.0))
    np.testing.assert_allclose(g, dloss(MASKED.filled(0.0)), rtol=1e-12)
    g = cr.grad(lambda x: loss(np.where(mask, 0.0, x)))(MASKED.data)
    np.testing.assert_allclose(g, np.where(mask, 0.0, dloss(X)), rtol=1e-12)


# ---------------------------------------------------------------------------
# Gradient leaves of one kind
# ---------------------------------------------------------------------------
def _assert_arrays(leaves, dtype=np.float64):
    for leaf in leaves:
        assert type(leaf) is np.ndarray, type(leaf)
        assert leaf.dtype == dtype
        assert leaf.flags.writeable


@pytest.mark.parametrize(
    "fun, expected",
    [
        (lambda l: l[0] * l[1], [2.0, 1.0]),  # both used
        (lambda l: l[0] + np.sum(l[1] ** 2), [1.0, 4.0]),
        (lambda l: np.sum(l[1] ** 2), [0.0, 4.0]),  # the first unused
        (lambda l: l[0] * 3.0, [3.0, 0.0]),  # the second unused
        (lambda l: np.float64(5.0), [0.0, 0.0]),  # neither
    ],
)
@pytest.mark.parametrize("container", [list, tuple])
def test_list_input_gives_arrays_of_one_kind(container, fun, expected):
    g = cr.grad(fun)(container([1.0, np.array(2.0)]))
    assert type(g) is container
    _assert_arrays(g)
    assert [leaf.shape for leaf in g] == [(), ()]
    np.testing.assert_allclose([float(v) for v in g], expected, rtol=1e-12)


def test_every_container_leaf_is_an_array_with_its_dtype():
    Point = collections.namedtuple("Point", "x y")
    params = {"a": 2.0, "b": np.float32(3.0), "c": Point(np.array(1.0), np.array([1.0, 2.0]))}
    g = cr.grad(lambda p: p["a"] * p["b"] + p["c"].x * np.sum(p["c"].y))(params)
    _assert_arrays([g["a"], g["c"].x, g["c"].y])
    _assert_arrays([g["b"]], np.float32)
    assert float(g["a"]) == 3.0 and float(g["b"]) == 2.0
    assert float(g["c"].x) == 3.0
    np.testing.assert_array_equal(g["c"].y, [1.0, 1.0])


def test_bare_numbers_give_numpy_scalars_and_arrays_give_arrays():
    """An argument given as a bare number gets a NumPy scalar of its dtype (as
    autograd); an ndarray argument, 0-d included, gets an ndarray."""
    g = cr.grad(lambda x: x**3)(2.0)
    assert type(g) is np.float64 and g == 12.0
    g = cr.grad(lambda x: x**3)(np.float32(2.0))
    assert type(g) is np.float32 and g == 12.0
    g = cr.grad(lambda x: x**3)(np.array(2.0))
    assert type(g) is np.ndarray and g.shape == () and g == 12.0
    g = cr.grad(lambda x: np.float64(1.0))(2.0)  # unused bare number
    assert type(g) is np.float64 and g == 0.0
    gx, gy = cr.grad(lambda x, y: x * y, argnums=(0, 1))(2.0, np.array(3.0))
    assert type(gx) is np.float64 and gx == 3.0
    assert type(gy) is np.ndarray and gy == 2.0
    gg = cr.grad(cr.grad(lambda x: x**3))(2.0)
    assert type(gg) is np.float64 and gg == 12.0


def test_vjp_follows_the_same_rule():
    _, pull = cr.vjp(lambda x, l: x * l[0] * l[1], 2.0, [3.0, np.array(4.0)])
    gx, gl = pull(1.0)
    assert type(gx) is np.float64 and gx == 12.0
    _assert_arrays(gl)
    assert [float(v) for v in gl] == [8.0, 6.0]
