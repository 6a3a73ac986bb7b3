"""chainrule.numpy functions accept (nested) lists and tuples holding traced
values, as autograd's namespace does, and ``r_``/``c_`` build arrays from
traced pieces: values against NumPy's, derivatives against central finite
differences in both modes, to second order."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import fd_jacobian

import chainrule as cr
import chainrule.numpy as cnp

P = np.array([0.7, -1.3, 2.1])


# name -> (chainrule version on traced p, the same with NumPy on plain p)
CASES = {
    "mean_of_list": (
        lambda p: cnp.mean([p[0], p[1] * p[2]]),
        lambda p: np.mean([p[0], p[1] * p[2]]),
    ),
    "array_of_scalars": (
        lambda p: cnp.sum(cnp.array([p[0], p[1]]) ** 2 * np.array([1.0, 3.0])),
        lambda p: np.sum(np.array([p[0], p[1]]) ** 2 * np.array([1.0, 3.0])),
    ),
    "sum_nested_with_numbers": (
        lambda p: cnp.sum(cnp.sin([[p[0], 1.0], [2.0, p[1]]])),
        lambda p: np.sum(np.sin([[p[0], 1.0], [2.0, p[1]]])),
    ),
    "dot_tuple": (
        lambda p: cnp.dot((p[0], p[1], 0.5), p),
        lambda p: np.dot((p[0], p[1], 0.5), p),
    ),
    "prod_keyword": (
        lambda p: cnp.prod(a=[p[0], p[2], 3.0]),
        lambda p: np.prod(a=[p[0], p[2], 3.0]),
    ),
    "r_": (
        lambda p: cnp.sum(cnp.r_[p, p[0], 5.0, [p[1], 2.0]] ** 3),
        lambda p: np.sum(np.r_[p, p[0], 5.0, [p[1], 2.0]] ** 3),
    ),
    "c_": (
        lambda p: cnp.sum(cnp.c_[p, p**2] @ np.array([1.0, -2.0]) ** 2),
        lambda p: np.sum(np.c_[p, p**2] @ np.array([1.0, -2.0]) ** 2),
    ),
}


@pytest.mark.parametrize("name", CASES)
def test_lists_of_traced_values(name):
    ours, numpys = CASES[name]
    np.testing.assert_allclose(ours(P), numpys(P), rtol=1e-12)
    fd = fd_jacobian(numpys, P)
    np.testing.assert_allclose(cr.grad(ours)(P), fd, rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(cr.jacfwd(ours)(P), fd, rtol=1e-6, atol=1e-8)
    cr.check_grads(ours, (P,), order=2)


def test_c_gives_numpys_shape_and_jacobians_agree():
    f = lambda p: cnp.c_[p, 2.0 * p]  # noqa: E731
    assert f(P).shape == np.c_[P, P].shape == (3, 2)
    np.testing.assert_allclose(cr.jacrev(f)(P), cr.jacfwd(f)(P))
    np.testing.assert_allclose(cr.jacfwd(f)(P)[:, 1, :], 2.0 * np.eye(3))


def test_python_numbers_take_the_traced_dtype():
    p32 = P.astype(np.float32)
    out = cr.jacfwd(lambda p: cnp.array([p[0], 1.0]))(p32)
    assert out.dtype == np.float32
    seen = {}

    def f(p):
        seen["dtype"] = cnp.r_[p, 1.0].dtype
        return cnp.sum(p)

    cr.grad(f)(p32)
    assert seen["dtype"] == np.float32


def test_plain_calls_are_unchanged():
    assert cnp.r_[1:3, 5].tolist() == [1, 2, 5]
    assert cnp.c_[np.ones(2), np.zeros(2)].shape == (2, 2)
    assert cnp.mean([1.0, 2.0]) == 1.5
    assert cnp.expit is cnp.sigmoid  # aliases stay one object


def test_sequence_functions_keep_pieces_of_different_lengths():
    f = lambda p: cnp.sum(cnp.concatenate([p, p[:2]]) ** 2)  # noqa: E731
    np.testing.assert_allclose(cr.grad(f)(P), 2 * P + np.r_[2 * P[:2], 0.0])


def test_string_directives_with_traced_pieces_are_refused():
    with pytest.raises(ValueError, match="no string directives"):
        cr.grad(lambda p: cnp.sum(cnp.r_["0,2", p, p]))(P)
