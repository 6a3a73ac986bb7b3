"""The functions of the calculus, creation, signal, editing, polynomial,
covariance and bessel families through ``chainrule.numpy`` on plain inputs:
NumPy's own results (same values, dtype and shape); and with a traced input
the same values again."""

from __future__ import annotations

import numpy as np
import numpy.polynomial.polynomial as NP
import pytest
from cov_checks import assert_tree_close, traced_value

import chainrule.numpy as cnp
import chainrule.numpy.polynomial.polynomial as P

RNG = np.random.default_rng(23)
A = RNG.normal(size=(3, 5))
V = RNG.normal(size=5)
XP = np.sort(RNG.uniform(0, 4, 5))

# name: (chainrule's function, NumPy's, arguments; the first is traced in the second test)
CASES = {
    "diff": (cnp.diff, np.diff, (A,), {"n": 2}),
    "ediff1d": (cnp.ediff1d, np.ediff1d, (V,), {"to_end": 1.0}),
    "gradient": (cnp.gradient, np.gradient, (A, 0.5), {"edge_order": 2}),
    "trapezoid": (cnp.trapezoid, np.trapezoid, (A, XP), {}),
    "interp": (cnp.interp, np.interp, (V, XP, A[0]), {}),
    "unwrap": (cnp.unwrap, np.unwrap, (A * 3,), {}),
    "linspace": (cnp.linspace, np.linspace, (V, V + 1, 4), {"axis": 1}),
    "logspace": (cnp.logspace, np.logspace, (V, V + 1, 4), {}),
    "geomspace": (cnp.geomspace, np.geomspace, (np.abs(V), 2.0, 4), {}),
    "meshgrid": (cnp.meshgrid, np.meshgrid, (V, V[:3]), {}),
    "convolve": (cnp.convolve, np.convolve, (V, V[:3], "same"), {}),
    "correlate": (cnp.correlate, np.correlate, (V, V[:3], "full"), {}),
    "insert": (cnp.insert, np.insert, (A, 1, V), {"axis": 0}),
    "delete": (cnp.delete, np.delete, (A, [0, 2]), {"axis": 1}),
    "rollaxis": (cnp.rollaxis, np.rollaxis, (A, 1), {}),
    "partition": (cnp.partition, np.partition, (A, 2), {}),
    "piecewise": (cnp.piecewise, np.piecewise, (V, [V < 0], [np.sin, np.cos]), {}),
    "apply_along_axis": (
        lambda a: cnp.apply_along_axis(np.cumsum, 1, a),
        lambda a: np.apply_along_axis(np.cumsum, 1, a),
        (A,),
        {},
    ),
    "real_if_close": (cnp.real_if_close, np.real_if_close, (A + 1e-20j,), {}),
    "cov": (cnp.cov, np.cov, (A,), {"ddof": 0}),
    "corrcoef": (cnp.corrcoef, np.corrcoef, (A,), {}),
    "i0": (cnp.i0, np.i0, (A,), {}),
    "polyval": (cnp.polyval, np.polyval, (V, A), {}),
    "polyfit": (cnp.polyfit, np.polyfit, (XP, V, 2), {}),
    "polyder": (cnp.polyder, np.polyder, (V,), {}),
    "polyint": (cnp.polyint, np.polyint, (V,), {}),
    "polymul": (cnp.polymul, np.polymul, (V, V[:2]), {}),
    "polydiv": (cnp.polydiv, np.polydiv, (V, V[:2]), {}),
    "vander": (cnp.vander, np.vander, (V,), {}),
    "P.polyval": (P.polyval, NP.polyval, (A, V), {}),
    "P.polyfit": (P.polyfit, NP.polyfit, (XP, V, 2), {}),
    "P.polyint": (P.polyint, NP.polyint, (V, 2), {}),
    "P.polymul": (P.polymul, NP.polymul, (V, V[:2]), {}),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_plain_call_is_numpys(name):
    ours, theirs, args, kw = CASES[name]
    out, ref = ours(*args, **kw), theirs(*args, **kw)
    assert_tree_close(out, ref, rtol=0, atol=0)
    for o, r in zip(_leaves(out), _leaves(ref)):
        assert np.asarray(o).dtype == np.asarray(r).dtype


@pytest.mark.parametrize("name", sorted(CASES))
def test_traced_call_matches_numpy(name):
    ours, theirs, args, kw = CASES[name]
    first = np.asarray(args[0])
    if not np.issubdtype(first.dtype, np.inexact):
        pytest.skip("first argument not differentiable")
    out = traced_value(lambda a: ours(a, *args[1:], **kw), first)
    assert_tree_close(out, theirs(*args, **kw))


def _leaves(x):
    return list(x) if isinstance(x, (tuple, list)) else [x]
