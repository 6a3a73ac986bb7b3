"""Masked arrays (np.ma) met inside a differentiated function are refused.

Their arithmetic leaves masked elements out of the value, which no rule
knows about, so the gradient would silently disagree with the value (issue
#13). A masked *input* is refused by the transforms; these are masked
*constants* and np.ma functions applied to traced values.
"""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr

M = np.ma.array([1.0, 2.0, 3.0], mask=[False, True, False])
X = np.array([0.5, 1.5, 2.5])

CASES = {
    "x * m": lambda x: np.sum(x * M),
    "m * x": lambda x: np.sum(M * x),
    "x + m": lambda x: np.sum(x + M),
    "m - x": lambda x: np.sum(M - x),
    "np.multiply(x, m)": lambda x: np.sum(np.multiply(x, M)),
    "np.multiply(m, x)": lambda x: np.sum(np.multiply(M, x)),
    "np.maximum(x, m)": lambda x: np.sum(np.maximum(x, M)),
    "np.where(c, x, m)": lambda x: np.sum(np.where(x > 1.0, x, M)),
    "np.ma.masked_where(c, x)": lambda x: np.sum(np.ma.masked_where(x > 1.0, x)),
    "np.ma.array(x)": lambda x: np.sum(np.ma.array(x, mask=[0, 1, 0])),
    "np.ma.masked_invalid(x)": lambda x: np.sum(np.ma.masked_invalid(x)),
}


@pytest.mark.parametrize("name", sorted(CASES))
@pytest.mark.parametrize(
    "transform",
    [
        lambda f: cr.grad(f)(X),
        lambda f: cr.jvp(f, (X,), (np.ones(3),)),
        lambda f: cr.jacfwd(f)(X),
        lambda f: cr.hessian(f)(X),
    ],
    ids=["grad", "jvp", "jacfwd", "hessian"],
)
def test_masked_constants_are_refused(name, transform):
    with pytest.raises(TypeError) as info:
        transform(CASES[name])
    message = str(info.value)
    assert "Masks are not differentiated" in message
    assert ".filled(" in message and "np.where(mask, fill, data)" in message
    assert "np.ma" in message


def test_the_refusal_names_the_operation():
    with pytest.raises(TypeError, match=r"numpy\.multiply met a traced value and a masked"):
        cr.grad(lambda x: np.sum(x * M))(X)
    with pytest.raises(TypeError, match=r"A traced value was passed to np\.ma"):
        cr.grad(lambda x: np.sum(np.ma.masked_where(x > 1.0, x)))(X)


def test_the_suggested_rewrites_work():
    """What the message says to do gives the derivative of the value it gives."""
    mask, data = np.ma.getmaskarray(M), M.data
    filled = M.filled(0.0)
    g = cr.grad(lambda x: np.sum(x * filled))(X)
    np.testing.assert_array_equal(g, [1.0, 0.0, 3.0])
    g = cr.grad(lambda x: np.sum(np.where(mask, 0.0, x * data)))(X)
    np.testing.assert_array_equal(g, [1.0, 0.0, 3.0])
    # ... and agrees with the masked sum NumPy computes outside a transform.
    assert np.sum(X * M) == np.sum(np.where(mask, 0.0, X * data))


def test_plain_arrays_and_unmasked_elements_still_work():
    assert cr.grad(lambda x: np.sum(x * M[0]))(X).tolist() == [1.0, 1.0, 1.0]
    np.testing.assert_array_equal(cr.grad(lambda x: np.sum(x * M.data))(X), M.data)
