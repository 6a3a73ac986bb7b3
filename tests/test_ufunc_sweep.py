"""Every NumPy ufunc with derivative rules (core.registry.UFUNCS), enumerated from
the registry itself: a batched check for each (jacfwd and jacrev of a vector
function against central differences, on a point inside its domain), and under
complex inputs either the rules follow the complex convention (``complex_ok``:
JVP and VJP against finite differences along complex directions, to second
order) or a complex argument is refused with the real-only message. A ufunc
added to the registry without a sample point here fails the first test."""

from __future__ import annotations

import numpy as np
import pytest
from complex_checks import check_one
from conftest import fd_jacobian

import chainrule as cr
import chainrule.rules
from chainrule.core.registry import UFUNCS

chainrule.rules.load()
RNG = np.random.default_rng(42)

RULED = sorted(
    (uf for uf in UFUNCS if getattr(np, uf.__name__, None) is uf), key=lambda u: u.__name__
)


def _pos(*shape):
    return RNG.uniform(0.5, 2.0, size=shape)


def _small(*shape):
    return RNG.uniform(-0.6, 0.6, size=shape)


# name -> (arguments, positions to differentiate in, output to look at). Default:
# every argument a vector in [0.5, 2], all differentiated, the first output.
REAL_POINTS = {
    "arcsin": ((_small(4),), (0,)),
    "arccos": ((_small(4),), (0,)),
    "arctanh": ((_small(4),), (0,)),
    "arccosh": ((1.5 + _pos(4),), (0,)),
    "tan": ((_small(4),), (0,)),
    "matmul": ((_pos(2, 3), _pos(3, 2)), (0, 1)),
    "vecdot": ((_pos(2, 3), _pos(3)), (0, 1)),
    "matvec": ((_pos(2, 3), _pos(3)), (0, 1)),
    "vecmat": ((_pos(3), _pos(3, 2)), (0, 1)),
    # exponent an integer; only x moves
    "ldexp": ((_pos(4), np.array([0, 1, -2, 3])), (0,)),
    # nextafter(x1, x2) moves with x1 only (one ulp apart)
    "nextafter": ((_pos(4), np.full(4, 5.0)), (0,)),
    # heaviside(x1, x2) is x2 where x1 == 0, a step elsewhere
    "heaviside": ((np.array([0.0, 1.5, -0.7, 0.0]), _pos(4)), (1,)),
    # copysign moves with |x1|; the sign of x2 is piecewise constant
    "copysign": ((_pos(4), np.array([1.0, -1.0, 2.0, -0.5])), (0,)),
    # away from the multiples of the divisor, where the remainders jump
    "remainder": ((np.array([2.3, 5.1, -1.7, 3.9]), np.array([0.9, 1.3, 0.8, 1.7])), (0, 1)),
    "fmod": ((np.array([2.3, 5.1, -1.7, 3.9]), np.array([0.9, 1.3, 0.8, 1.7])), (0, 1)),
    "divmod": ((np.array([2.3, 5.1, -1.7, 3.9]), np.array([0.9, 1.3, 0.8, 1.7])), (0, 1), 1),
    "modf": ((np.array([2.3, 5.1, -1.7, 3.9]),), (0,), 0),
    # distinct operands: no ties
    "maximum": ((np.array([0.5, 2.0, 1.0, 3.0]), np.array([1.0, 1.5, 0.2, 3.5])), (0, 1)),
    "minimum": ((np.array([0.5, 2.0, 1.0, 3.0]), np.array([1.0, 1.5, 0.2, 3.5])), (0, 1)),
    "fmax": ((np.array([0.5, 2.0, 1.0, 3.0]), np.array([1.0, 1.5, 0.2, 3.5])), (0, 1)),
    "fmin": ((np.array([0.5, 2.0, 1.0, 3.0]), np.array([1.0, 1.5, 0.2, 3.5])), (0, 1)),
}


def _real_point(uf):
    spec = REAL_POINTS.get(uf.__name__)
    if spec is None:
        return tuple(_pos(4) for _ in range(uf.nin)), tuple(range(uf.nin)), 0
    return spec if len(spec) == 3 else (*spec, 0)


def test_the_sweep_sees_every_ruled_numpy_ufunc():
    names = {uf.__name__ for uf in RULED}
    # a sample of what must be there, so an empty registry cannot pass
    assert {"exp", "add", "matmul", "arctan2", "modf", "divmod", "heaviside"} <= names
    assert len(RULED) >= 50


@pytest.mark.parametrize("uf", RULED, ids=lambda u: u.__name__)
def test_batched_jacobians_match_finite_differences(uf):
    args, positions, out = _real_point(uf)
    for k in positions:

        def f(x, k=k):
            call = list(args)
            call[k] = x
            res = uf(*call)
            return res[out] if uf.nout > 1 else res

        Jf, Jr = cr.jacfwd(f)(args[k]), cr.jacrev(f)(args[k])
        np.testing.assert_allclose(Jf, Jr, rtol=1e-12, atol=1e-12, err_msg=f"{uf.__name__}[{k}]")
        np.testing.assert_allclose(
            Jf, fd_jacobian(f, args[k]), rtol=1e-6, atol=1e-8, err_msg=f"{uf.__name__}[{k}]"
        )


def _accepts_complex(uf) -> bool:
    """Whether NumPy itself computes ``uf`` on complex operands."""
    try:
        uf(*([np.full((1, 1), 1.0 + 0.5j)] * uf.nin))  # 2-d: gufuncs need core axes
    except TypeError:
        return False
    return True


def _cpos(*shape):
    return RNG.uniform(0.5, 2.0, size=shape) + 1j * RNG.uniform(-1.0, 1.0, size=shape)


def _csmall(*shape):
    return RNG.uniform(-0.4, 0.4, size=shape) + 1j * RNG.uniform(-0.4, 0.4, size=shape)


# complex points away from branch cuts and poles
COMPLEX_POINTS = {
    "arcsin": (_csmall(3),),
    "arccos": (_csmall(3),),
    "arctanh": (_csmall(3),),
    "tan": (_csmall(3),),
    "arccosh": (1.5 + _cpos(3),),
    "matmul": (_cpos(2, 3), _cpos(3, 2)),
    "vecdot": (_cpos(2, 3), _cpos(3)),
    "matvec": (_cpos(2, 3), _cpos(3)),
    "vecmat": (_cpos(3), _cpos(3, 2)),
    # lexicographic order: distinct real parts keep away from ties
    "maximum": (np.array([0.5 + 1j, 2.0 - 1j, 1.0]), np.array([1.0 - 2j, 1.5, 0.2 + 1j])),
    "minimum": (np.array([0.5 + 1j, 2.0 - 1j, 1.0]), np.array([1.0 - 2j, 1.5, 0.2 + 1j])),
    "fmax": (np.array([0.5 + 1j, 2.0 - 1j, 1.0]), np.array([1.0 - 2j, 1.5, 0.2 + 1j])),
    "fmin": (np.array([0.5 + 1j, 2.0 - 1j, 1.0]), np.array([1.0 - 2j, 1.5, 0.2 + 1j])),
}

COMPLEX_OK = [uf for uf in RULED if UFUNCS[uf].complex_ok]
NOT_COMPLEX_OK = [uf for uf in RULED if not UFUNCS[uf].complex_ok]


def test_every_ufunc_numpy_computes_on_complex_values_has_complex_rules():
    # With NumPy's current ufuncs no rule is declared real-only: every ruled
    # ufunc NumPy computes on complex values follows the complex convention.
    missing = [uf.__name__ for uf in NOT_COMPLEX_OK if _accepts_complex(uf)]
    assert not missing, f"{missing}: complex rules, or a real-only test below"
    assert {"exp", "log", "sqrt", "matmul", "vecdot"} <= {u.__name__ for u in COMPLEX_OK}
    assert all(_accepts_complex(uf) for uf in COMPLEX_OK)


@pytest.mark.parametrize("uf", NOT_COMPLEX_OK, ids=lambda u: u.__name__)
def test_real_rules_meet_complex_values_with_an_error_not_a_number(uf):
    # NumPy refuses these on complex operands, and so does the traced call:
    # NumPy's own TypeError, or chainrule's real-only refusal
    args = tuple(_cpos(3) for _ in range(uf.nin))
    with pytest.raises((TypeError, NotImplementedError)) as info:
        cr.jvp(lambda x: uf(x, *args[1:]), (args[0],), (args[0],))
    if isinstance(info.value, NotImplementedError):
        assert "derivative rules are written for real values" in str(info.value)


@pytest.mark.parametrize("uf", COMPLEX_OK, ids=lambda u: u.__name__)
def test_complex_rules_match_finite_differences(uf):
    args = COMPLEX_POINTS.get(uf.__name__) or tuple(_cpos(3) for _ in range(uf.nin))
    for k in range(uf.nin):

        def f(x, k=k):
            call = list(args)
            call[k] = x
            return uf(*call)

        check_one(f, args[k], order=2, rtol=1e-6, atol=1e-7)
