"""Refused NumPy callables: the error names the reason and the fix, plain
calls still work, and conversions NumPy makes before chainrule can see them
(random draws, np.vectorize, dtype classes) name the rewrite."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
import chainrule.numpy as cnp
from chainrule.errors import ConversionError, NoRuleError
from chainrule.rules import _refusals as refusals
from chainrule.rules._conversion_hints import REPARAMETERISED

RNG = np.random.default_rng(7)
X = np.array([0.3, -1.2, 2.5])


def test_a_refused_function_on_a_traced_value_states_its_reason():
    with pytest.raises(NoRuleError, match=r"numpy\.histogram \(bin counts are piecewise"):
        cr.grad(lambda x: np.sum(np.histogram(x)[0] * 1.0) + np.sum(x))(X)
    with pytest.raises(NoRuleError, match=r"numpy\.isin \(a set operation"):
        cr.jvp(lambda x: np.sum(x * np.isin(x, [0.3])), (X,), (X,))
    with pytest.raises(NoRuleError, match=r"numpy\.sort_complex \(sorts complex"):
        cr.grad(lambda a: np.sum(np.real(np.sort_complex(a))))(np.eye(2) * 2.0)


def test_a_refused_function_on_plain_values_is_numpys_own():
    counts, edges = np.histogram(X, bins=3)
    np.testing.assert_array_equal(counts, [1, 1, 1])
    counts2, edges2 = cnp.histogram(X, bins=3)
    np.testing.assert_array_equal(counts2, counts)
    np.testing.assert_allclose(edges2, edges)
    np.testing.assert_array_equal(cnp.isin([1, 2, 3], [2]), [False, True, False])
    # Types stay NumPy's own objects.
    assert cnp.float64 is np.float64


def test_every_refusal_has_a_reason_and_names_a_real_callable():
    import importlib

    for qualified, why in refusals.REFUSED.items():
        assert len(why) > 20, qualified
        namespace, _, name = qualified.rpartition(".")
        if namespace == "ndarray":
            # A method of another NumPy release may be missing (tostring before 2.3).
            assert hasattr(np.ndarray, name) or name in {"tostring"}, qualified
        else:
            module = importlib.import_module(namespace)
            # A name from another NumPy release may be missing; one present is callable.
            obj = getattr(module, name, None)
            assert obj is None or callable(obj), qualified
    assert refusals.reason("numpy.vectorize").startswith("runs a Python function")
    assert refusals.reason("numpy.sin") is None


def _loc(x):
    rng = np.random.default_rng(0)
    return rng.normal(loc=x[0], scale=1.0)


def _uniform(x):
    return np.random.uniform(x[0], 2.0)


def test_a_random_draw_with_a_traced_parameter_names_the_reparameterised_form():
    with pytest.raises(ConversionError, match=r"normal\(\).*loc \+ scale \* rng\.standard_normal"):
        cr.grad(_loc)(X)
    with pytest.raises(ConversionError, match=r"uniform\(\).*low \+ \(high - low\) \* rng"):
        cr.jvp(_uniform, (X,), (X,))


def test_the_reparameterised_normal_differentiates():
    # The form the error names: d/dloc = 1, d/dscale = the standard normal draw.
    def draw(p):
        rng = np.random.default_rng(3)
        return np.sum(p[0] + p[1] * rng.standard_normal(4))

    z = np.random.default_rng(3).standard_normal(4)
    p = np.array([0.5, 2.0])
    np.testing.assert_allclose(cr.grad(draw)(p), [4.0, z.sum()])
    np.testing.assert_allclose(cr.jacfwd(draw)(p), [4.0, z.sum()])
    assert "normal" in REPARAMETERISED


def _vectorized(x):
    return np.sum(np.vectorize(lambda t: t * t)(x))


def _as_float64(x):
    return np.float64(x[0])


def test_vectorize_and_types_name_the_rewrite():
    with pytest.raises(ConversionError, match=r"np\.vectorize runs a Python function"):
        cr.grad(_vectorized)(X)
    with pytest.raises(ConversionError, match=r"x\.astype\(np\.float64\)"):
        cr.grad(_as_float64)(X)


def test_other_conversions_keep_the_plain_message():
    with pytest.raises(ConversionError) as info:
        cr.grad(lambda x: float(np.asarray(x)[0]))(X)
    assert "numpy.random" not in str(info.value)
    assert "vectorize" not in str(info.value)


A2 = np.ones((2, 2))


def test_plain_numpy_calls_on_lists_name_the_chainrule_numpy_form():
    with pytest.raises(ConversionError, match=r"np\.mean converts a list .* cnp\.mean"):
        cr.grad(lambda x: np.mean([x[0], x[1]]))(X)
    with pytest.raises(ConversionError, match=r"np\.array converts a list .* cnp\.array"):
        cr.jvp(lambda x: np.array([x[0], x[1]]), (X,), (X,))
    with pytest.raises(ConversionError, match=r"np\.r_\[\.\.\.\] .* chainrule\.numpy\.r_"):
        cr.grad(lambda x: np.sum(np.r_[x, x]))(X)
    with pytest.raises(ConversionError, match=r"plain_array\.dot\(x\) .* plain_array @ x"):
        cr.grad(lambda x: np.sum(A2.dot(x[:2])))(X)
    # The rewrites the messages name work.
    np.testing.assert_allclose(cr.grad(lambda x: cnp.mean([x[0], x[1]]))(X), [0.5, 0.5, 0.0])
    np.testing.assert_allclose(cr.grad(lambda x: np.sum(A2 @ x[:2]))(X), [2.0, 2.0, 0.0])


def test_a_refused_ufunc_states_its_reason():
    # Ufuncs reach core's error builder (not a registered wrapper): it looks the
    # reason up in the table the rule modules fill.
    with pytest.raises(NoRuleError, match=r"numpy\.frexp \(the exponent is an integer"):
        cr.grad(lambda x: np.sum(np.frexp(x)[0]))(X)
    with pytest.raises(NoRuleError, match=r"numpy\.spacing \(the gap to the next float"):
        cr.jvp(lambda x: np.spacing(x), (X,), (X,))


def test_a_refused_method_states_its_reason():
    with pytest.raises(NoRuleError, match=r"ndarray\.view \(reinterprets raw bytes: use x\.astype"):
        cr.grad(lambda x: np.sum(x.view()))(X)
    with pytest.raises(NoRuleError, match=r"ndarray\.tobytes \(gives plain Python data"):
        cr.grad(lambda x: x.tobytes())(X)


def test_every_refused_ufunc_raises_its_own_reason():
    for qualified, why in refusals.REFUSED.items():
        namespace, _, name = qualified.rpartition(".")
        uf = getattr(np, name, None) if namespace == "numpy" else None
        if not isinstance(uf, np.ufunc):
            continue
        args = (X,) * uf.nin

        def f(x, uf=uf, args=args):
            out = uf(*([x] + list(args[1:])))
            return out

        with pytest.raises(NoRuleError) as info:
            cr.jvp(f, (X,), (X,))
        assert f"{qualified} ({why})" in str(info.value), qualified


def test_a_rule_free_name_without_a_reason_keeps_the_generic_message():
    from chainrule.errors import no_rule_error

    msg = str(no_rule_error("numpy.not_a_function"))
    assert msg.startswith("chainrule has no derivative rule for numpy.not_a_function, and")
    # a caller's own detail wins over the table's reason
    assert "(my detail)" in str(no_rule_error("numpy.frexp", "my detail"))
