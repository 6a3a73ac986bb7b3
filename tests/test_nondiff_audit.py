"""The functions declared non-differentiable (``core.registry.NONDIFF``) run on the
plain values of traced arguments and record nothing, so their derivative is
silently zero. That is right only where it *is* zero: integer, boolean,
shape-only or piecewise-constant results. This test enumerates the registry
itself, after every rule module (NumPy's and SciPy's) has registered, and
checks each name numerically: at random points its outputs do not move under a
small perturbation of its floating inputs. A name added to the registry without
a recipe here fails, and so does one whose outputs move (``histogram``, whose
bin edges follow the data, is the example the checker must catch)."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
import chainrule.rules
from chainrule.core.registry import FUNCTIONS, NONDIFF, UFUNCS
from chainrule.core.trace import Tracer

pytest.importorskip("scipy")
import chainrule.scipy  # noqa: E402,F401  (registers SciPy's rules too)

chainrule.rules.load()

RNG = np.random.default_rng(2024)
EPS = 1e-7


def _x(rng):
    return rng.normal(size=(3, 4)) * 3.0


def _y(rng):
    return rng.normal(size=(3, 4)) * 3.0


def _pos(rng):
    return rng.uniform(0.5, 2.0, size=(3, 4))


# How to call each declared name: rng -> (args, kwargs). Floating arrays among the
# args are what gets perturbed. Keep this table honest: a name belongs in NONDIFF
# only if its outputs cannot carry a derivative.
UNARY = """isnan isinf isfinite signbit sign floor ceil rint trunc logical_not
argmax argmin argsort nonzero flatnonzero argwhere count_nonzero shape ndim size
zeros_like ones_like round around fix isreal iscomplex isrealobj iscomplexobj all any""".split()
BINARY = """greater greater_equal less less_equal equal not_equal logical_and logical_or
logical_xor result_type isclose allclose array_equal array_equiv may_share_memory
shares_memory""".split()
INTEGER_ONLY = "bitwise_and bitwise_or bitwise_xor invert left_shift right_shift".split()

RECIPES: dict[str, object] = {}
for _name in UNARY:
    RECIPES[_name] = lambda rng: ((_x(rng),), {})
for _name in BINARY:
    RECIPES[_name] = lambda rng: ((_x(rng), _y(rng)), {})
for _name in INTEGER_ONLY:
    RECIPES[_name] = "integer only"
RECIPES.update(
    {
        "floor_divide": lambda rng: ((_x(rng), _pos(rng)), {}),
        "searchsorted": lambda rng: ((np.sort(rng.normal(size=7)), _x(rng)), {}),
        "argpartition": lambda rng: ((rng.normal(size=9), 3), {}),
        "einsum_path": lambda rng: (("ij,jk->ik", _x(rng), _y(rng).T), {"optimize": "greedy"}),
        "linalg.matrix_rank": lambda rng: ((rng.normal(size=(4, 4)),), {}),
        "gammasgn": lambda rng: ((_x(rng),), {}),  # scipy.special: the sign of Gamma(x)
        # values unspecified (uninitialised memory): only the shape and dtype count
        "empty_like": "shape only",
    }
)
# extra calls with keywords for names whose keywords change what they compute
KEYWORD_VARIANTS = {
    "round": lambda rng: ((_x(rng),), {"decimals": 2}),
    "around": lambda rng: ((_x(rng),), {"decimals": -1}),
    "isclose": lambda rng: ((_x(rng), _y(rng)), {"rtol": 0.5, "atol": 1.0}),
}


def _label(obj) -> str:
    name = getattr(obj, "__name__", repr(obj))
    if obj is getattr(np.linalg, name, None) and getattr(np, name, None) is not obj:
        return f"linalg.{name}"
    return name


DECLARED = sorted(NONDIFF, key=_label)


def _perturbed(args, rng):
    out = []
    for a in args:
        if isinstance(a, np.ndarray) and a.dtype.kind in "fc":
            a = a + EPS * rng.normal(size=a.shape)
        out.append(a)
    return tuple(out)


def _same(a, b) -> bool:
    """Equal results, compared through any nesting of tuples/lists."""
    if isinstance(a, (tuple, list)):
        return type(a) is type(b) and len(a) == len(b) and all(map(_same, a, b))
    if isinstance(a, np.dtype) or isinstance(b, np.dtype):
        return a == b
    a, b = np.asarray(a), np.asarray(b)
    nan_ok = a.dtype.kind in "fc"
    return a.shape == b.shape and a.dtype == b.dtype and np.array_equal(a, b, equal_nan=nan_ok)


def moves(fn, recipe, points: int = 4, seed: int = 0) -> bool:
    """Whether ``fn``'s outputs change under a small perturbation at random points."""
    rng = np.random.default_rng(seed)
    for _ in range(points):
        args, kwargs = recipe(rng)
        if not _same(fn(*args, **kwargs), fn(*_perturbed(args, rng), **kwargs)):
            return True
    return False


def test_every_declared_name_has_a_recipe():
    missing = [_label(f) for f in DECLARED if _label(f) not in RECIPES]
    assert not missing, (
        f"{missing} declared non-differentiable without a recipe in {__file__}: add one "
        "(and make sure their outputs really are integer, boolean or piecewise constant; "
        "anything continuous needs derivative rules or an error instead)"
    )


@pytest.mark.parametrize("fn", DECLARED, ids=_label)
def test_declared_name_is_piecewise_constant(fn):
    recipe = RECIPES[_label(fn)]
    if recipe == "integer only":
        # Defined for integers alone: a traced (floating) value can never reach it.
        with pytest.raises(TypeError):
            fn(*([np.array([1.5, 2.5])] * (1 if fn.nin == 1 else 2)))
        return
    if recipe == "shape only":
        x = _x(RNG)
        out = fn(x)
        assert out.shape == x.shape and out.dtype == x.dtype
        return
    assert not moves(fn, recipe), f"{_label(fn)}: outputs move with the input"
    variant = KEYWORD_VARIANTS.get(_label(fn))
    if variant is not None:
        assert not moves(fn, variant), f"{_label(fn)} with keywords: outputs move"


@pytest.mark.parametrize("fn", DECLARED, ids=_label)
def test_declared_name_returns_plain_values_on_traced_input(fn):
    recipe = RECIPES[_label(fn)]
    if recipe == "integer only":
        return
    if recipe == "shape only":
        recipe = RECIPES["zeros_like"]
    args, kwargs = recipe(np.random.default_rng(1))
    seen = {}
    position = next(i for i, a in enumerate(args) if isinstance(a, np.ndarray))

    def f(x):
        call = list(args)
        call[position] = x
        seen["out"] = fn(*call, **kwargs)
        return np.sum(x * x)

    x = args[position]
    np.testing.assert_allclose(cr.grad(f)(x), 2 * x)  # the traced path ran and recorded nothing
    leaves = seen["out"] if isinstance(seen["out"], (tuple, list)) else [seen["out"]]
    assert not any(isinstance(v, Tracer) for v in leaves)
    if recipe is not RECIPES["zeros_like"] or fn in (np.zeros_like, np.ones_like):
        assert _same(seen["out"], fn(*args, **kwargs))


def test_declared_names_have_no_rules_as_well():
    both = [_label(f) for f in DECLARED if f in FUNCTIONS or f in UFUNCS]
    assert not both, f"{both} both have rules and are declared non-differentiable"


def test_the_checker_catches_continuous_functions():
    # the test above can fail: these move with their input, so they must not be declared
    def edges(x):
        return np.histogram(x, bins=3)[1]

    assert moves(edges, lambda rng: ((_x(rng),), {}))
    assert moves(np.unique, lambda rng: ((_x(rng),), {}))
    assert moves(np.sort, lambda rng: ((_x(rng),), {}))
    # and histogram, whose edges move, is refused on traced values rather than run plain
    with pytest.raises(NotImplementedError, match="histogram"):
        cr.grad(lambda x: np.sum(np.histogram(x, bins=3)[1]))(_x(RNG))
    # unique has rules now: its values carry a derivative
    np.testing.assert_allclose(cr.grad(lambda x: np.sum(np.unique(x)))(np.array([2.0, 1.0])), 1)


def test_the_checker_sees_complex_sign_move():
    # np.sign is declared for its real use (piecewise constant); for complex z it is
    # z / |z|, which moves with z: the checker sees that, the real case does not move
    def complex_recipe(rng):
        return ((_x(rng) + 1j * _y(rng),), {})

    assert moves(np.sign, complex_recipe)
    assert not moves(np.sign, RECIPES["sign"])


def test_sign_of_traced_complex_value_is_refused():
    # sign(z) = z/|z| moves with a complex z: refused (registry.REAL_ONLY), never a silent 0
    with pytest.raises(NotImplementedError, match="z / np.abs"):
        cr.grad(lambda z: np.real(np.sign(z)))(np.array(1.0 + 1.0j))
    # the real sign stays non-differentiable: derivative 0
    assert cr.grad(lambda x: np.sign(x) * x)(np.array(-2.0)) == -1.0
