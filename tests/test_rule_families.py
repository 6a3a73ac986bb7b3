"""One function of every rule family, both modes to second order.

A quick pass over the whole rule table (the test files of each family go
deep): .ci/run runs it against the oldest NumPy and SciPy supported. A new
module in ``chainrule/rules`` fails ``test_every_family_has_a_representative``
until it gets an entry here.
"""

from __future__ import annotations

import sys

import numpy as np
import pytest

import chainrule as cr
import chainrule.numpy as cnp
import chainrule.rules

X = np.array([0.6, 1.3, 0.9, 1.7, 1.1, 0.8])  # distinct (unique), positive (logs)


def _matrix(x):
    return np.reshape(x, (2, 3)) @ np.reshape(x, (3, 2)) + np.eye(2)


FAMILIES = {
    "arrange": lambda x: np.concatenate([x, x[::-1] ** 2]),
    "array_api_forms": lambda x: (
        np.linalg.trace(np.reshape(x, (2, 3)) @ np.reshape(x, (3, 2))) + np.nanvar(x)
    ),
    # cr.vmap's rules for the primitives (batch on axis 0), differentiated through.
    "batching_rules": lambda x: cr.vmap(lambda r: np.sin(r) * r + np.sum(r**2))(
        np.reshape(x, (2, 3))
    ),
    "bessel": lambda x: np.i0(x),
    "calculus": lambda x: np.gradient(x**3),
    "constructors": lambda x: np.full_like(x, 2.0) * x**2,
    "covariance": lambda x: np.cov(np.reshape(x, (2, 3))),
    "creation": lambda x: np.linspace(x[0], x[1], 4),
    "editing": lambda x: np.insert(x, 1, x[0] ** 2),
    "elementwise": lambda x: np.sin(x) * np.exp(x) / (1.0 + x),
    "elementwise_more": lambda x: np.ldexp(x, 2) ** 2 + np.heaviside(x - 1.0, x),
    "fft": lambda x: np.abs(np.fft.rfft(x)) ** 2,
    "linalg": lambda x: np.linalg.det(_matrix(x)),
    # booleans of traced values as constants
    "logical_reductions": lambda x: x**2 * np.all(x > 0.7) + x * x.any(),
    "nondiff": lambda x: x * np.sign(x - 1.0) + np.argmax(x),
    "norms": lambda x: np.linalg.norm(x),
    "polynomials": lambda x: np.polyval(x, 0.7),
    "products": lambda x: np.einsum("ij,j->i", np.reshape(x, (2, 3)), x[:3]),
    "reductions": lambda x: np.mean(x**2, axis=0) + np.max(x),
    "shape": lambda x: np.reshape(x, (2, 3)).T ** 2,
    "signal": lambda x: np.convolve(x, [1.0, -2.0, 0.5]),
    "split_ufuncs": lambda x: np.modf(3.0 * x)[0] ** 2 + np.divmod(x, 0.7)[1],
    "stable": lambda x: cnp.logsumexp(x),
    "statistics": lambda x: np.var(x) + np.median(x),
    "unique": lambda x: np.unique(x) ** 2,
    "vector_products": lambda x: np.vecdot(np.reshape(x, (2, 3)), x[:3] ** 2),
}


def test_every_family_has_a_representative():
    assert sorted(FAMILIES) == chainrule.rules.families()


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_family_derivatives_against_finite_differences(family):
    f = FAMILIES[family]
    assert f"chainrule.rules.{family}" in sys.modules  # loaded by the lazy loader
    cr.check_grads(f, (X,), order=2)  # forward and reverse, first and second order
    np.testing.assert_allclose(cr.jacrev(f)(X), cr.jacfwd(f)(X), rtol=1e-10, atol=1e-12)
