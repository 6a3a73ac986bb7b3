"""cr.vmap installs nothing at first use: its batching rules are registered
with the other rule families, and every primitive's implementation and
derivative rules, and every registered NumPy function, are the same objects
before and after a vmap call (so vmap changes nothing for other transforms)."""

from __future__ import annotations

import subprocess
import sys
import textwrap

SCRIPT = textwrap.dedent(
    """
    import numpy as np
    import chainrule as cr
    from chainrule.core import batching, registry
    from chainrule.core.primitive import Primitive
    import chainrule.rules as rules

    registry.ensure_rules()
    import importlib

    def snapshot():
        prims = {}
        for fam in rules.families():
            mod = importlib.import_module("chainrule.rules." + fam)
            for name, p in vars(mod).items():
                if isinstance(p, Primitive):
                    prims[fam + "." + name] = (
                        p.impl,
                        tuple(p.vjp) if type(p.vjp) is list else p.vjp,
                        tuple(p.jvp) if type(p.jvp) is list else p.jvp,
                    )
        return prims, dict(registry.FUNCTIONS), dict(registry.UFUNCS)

    rules_before = dict(batching.BATCH_RULES), dict(batching.NONDIFF_RULES)
    assert len(rules_before[0]) > 30, "the batching rules load with the rule families"
    before = snapshot()
    X = np.random.default_rng(0).standard_normal((3, 4))
    f = lambda x: np.max(x) * np.take_along_axis(x, np.argsort(x), axis=0)[0] + x[[0, 2]].sum()
    cr.vmap(cr.grad(f))(X)
    cr.vmap(cr.jacfwd(f))(X)
    cr.grad(lambda X: cr.vmap(f)(X).sum())(X)
    after = snapshot()
    for k, v in before[0].items():
        assert after[0][k] == v, k
    assert before[1] == after[1] and before[2] == after[2]
    assert set(batching.BATCH_RULES) >= set(rules_before[0])
    for k, v in rules_before[0].items():
        assert batching.BATCH_RULES[k] is v
    print("same", len(before[0]))
    """
)


def test_vmap_replaces_no_rule_or_implementation():
    out = subprocess.run(
        [sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=120
    )
    assert out.returncode == 0, out.stderr[-3000:]
    assert out.stdout.startswith("same")
    assert int(out.stdout.split()[1]) > 50  # every primitive of every family was compared


def test_named_primitives_are_batch_aware_from_the_start():
    """The four that vmap used to replace at first use: getitem/untake with a
    batched index, take_along_axis with batched indices, max/min tie shares."""
    import numpy as np

    import chainrule as cr
    from chainrule.core.registry import FUNCTIONS, ensure_rules
    from chainrule.rules import arrange, reductions, shape

    ensure_rules()
    assert shape.getitem_p.impl is shape._getitem_impl
    assert shape.untake_p.impl is shape._untake_impl
    assert FUNCTIONS[np.take_along_axis] is arrange.take_along_axis
    for p in (reductions.max_p, reductions.min_p, reductions.nanmax_p, reductions.nanmin_p):
        assert p.vjp[0].__qualname__.startswith("_extreme")
        assert p.jvp[0].__qualname__.startswith("_extreme")
    X = np.array([[1.0, 3.0, 3.0], [2.0, 0.5, 2.0]])  # ties: the derivative is shared
    g = cr.vmap(cr.grad(lambda x: np.max(x) + x.min()))(X)
    np.testing.assert_allclose(g, [[1.0, 0.5, 0.5], [0.5, 1.0, 0.5]])
    # an unbatched x indexed by a batched index (getitem/untake's implementations)
    x = np.array([1.0, 2.0, 3.0, 4.0])
    idx = np.array([[0, 3], [2, 2]])
    g = cr.vmap(cr.grad(lambda x, i: np.sum(x[i] ** 2)), in_axes=(None, 0))(x, idx)
    np.testing.assert_allclose(g, [[2.0, 0, 0, 8.0], [0, 0, 12.0, 0]])
    t = cr.vmap(lambda i: cr.jvp(lambda x: x[i] ** 2, (x,), (np.ones(4),))[1])(idx)
    np.testing.assert_allclose(t, [[2.0, 8.0], [6.0, 6.0]])
