"""cr.jit's generated replay: buffer reuse (out=), fused finiteness guards,
broadcast constants as scalars, and the fast lookup of all-array calls."""

from __future__ import annotations

import threading

import numpy as np
import pytest

import chainrule as cr
import chainrule.numpy as cnp
from chainrule.transforms import jit as jit_module

RNG = np.random.default_rng(3)


def mlp_loss(params, X, Y):
    h = np.tanh(X @ params["W1"] + params["b1"])
    z = h @ params["W2"] + params["b2"]
    return -np.mean(np.sum(Y * (z - cnp.logsumexp(z, axis=1, keepdims=True)), axis=1))


def mlp_data():
    params = {
        "W1": RNG.standard_normal((40, 64)) / 6,
        "b1": RNG.standard_normal(64) * 0.1,
        "W2": RNG.standard_normal((64, 5)) / 8,
        "b2": RNG.standard_normal(5) * 0.1,
    }
    X = RNG.standard_normal((48, 40))
    Y = np.eye(5)[RNG.integers(0, 5, 48)]
    return params, X, Y


def least_squares(theta, X, Y):
    r = X @ theta - Y
    return np.mean(r**2)


def elementwise(x, y):
    # a chain of elementwise temporaries, a view (reshape) of one of them, and a
    # temporary returned as an output: only the first may be written into
    a = np.sin(x) * y
    b = a + 1.0
    view = np.reshape(b, (-1,))
    c = np.exp(b) * 2.0 - y
    return c * c, view, np.sum(c)


CASES = {
    "mlp grad": (lambda: cr.jit(cr.grad(mlp_loss)), mlp_data),
    "least squares grad": (
        lambda: cr.jit(cr.grad(least_squares)),
        lambda: tuple(RNG.standard_normal(shape) for shape in (30, (2000, 30), 2000)),
    ),
    "elementwise": (
        lambda: cr.jit(elementwise),
        lambda: (RNG.standard_normal((40, 50)), RNG.standard_normal((40, 50))),
    ),
    "elementwise vjp": (
        lambda: cr.jit(lambda x, y: cr.grad(lambda x: elementwise(x, y)[2])(x)),
        lambda: (RNG.standard_normal((40, 50)), RNG.standard_normal((40, 50))),
    ),
}


def _flat(tree):
    return cr.tree.flatten(tree)[0]


@pytest.mark.parametrize("name", sorted(CASES))
def test_buffer_reuse_is_bit_identical_and_overwrites_no_input_or_result(name, monkeypatch):
    make, data = CASES[name]
    monkeypatch.setattr(jit_module, "CHECK_FIRST_REPLAY", False)
    args_list = [data() for _ in range(3)]
    results = {}
    for reuse in (False, True):
        monkeypatch.setattr(jit_module, "REUSE_BUFFERS", reuse)
        jf = make()
        jf(*args_list[0])  # staged; later calls replay (compiled now, reuse as set)
        copies = [[a.copy() for a in _flat(args)] for args in args_list]
        outs = [jf(*args) for args in args_list]
        kept = [[np.array(o, copy=True) for o in _flat(out)] for out in outs]
        for _ in range(2):  # more calls must not write into earlier results
            for args in args_list:
                jf(*args)
        for args, before in zip(args_list, copies):  # inputs untouched
            for a, b in zip(_flat(args), before):
                np.testing.assert_array_equal(a, b)
        for out, before in zip(outs, kept):  # returned arrays untouched
            for a, b in zip(_flat(out), before):
                np.testing.assert_array_equal(a, b)
        source = next(c for paths in jf._cache.values() for c in paths).source
        assert ("out=" in source) == reuse
        results[reuse] = kept
    for with_reuse, without in zip(results[True], results[False]):
        for a, b in zip(with_reuse, without):
            assert a.dtype == b.dtype
            assert a.tobytes() == b.tobytes()  # bit-identical


def test_reuse_skips_views_inputs_constants_and_outputs():
    jf = cr.jit(elementwise)
    x, y = RNG.standard_normal((40, 50)), RNG.standard_normal((40, 50))
    jf(x, y)
    jf(x, y)
    source = next(c for paths in jf._cache.values() for c in paths).source
    lines = [ln.strip() for ln in source.splitlines() if "out=" in ln]
    # a = sin(x) * y is written into sin(x)'s array; b = a + 1.0 into a's
    assert len(lines) >= 2
    targets = {ln.split("out=")[1].rstrip(")") for ln in lines}
    assert "v0" not in targets and "v1" not in targets  # never an input
    # b has a view (the reshape): nothing is ever written into b
    p = jf.lower(x, y)
    b = next(e.outs[0] for e in p.equations if e.name == "add")
    assert f"v{b}" not in targets
    assert all(f"v{o.id}" not in targets for o in p.out_leaves)


@pytest.mark.filterwarnings("ignore:divide by zero:RuntimeWarning")  # sqrt' at 0, eagerly too
# the careful product's 0 * inf: eagerly under the rule's np.errstate, which is not staged
@pytest.mark.filterwarnings("ignore:invalid value encountered in multiply:RuntimeWarning")
def test_finite_guard_replaces_isfinite_all_and_still_switches_paths():
    # sqrt's derivative is infinite at 0: the rule takes its careful product
    # there (a zero cotangent from where's other branch stays zero), so the
    # program guards that the derivative is finite.
    def f(x):
        return np.sum(np.where(x > 0, np.sqrt(x), 0.0) * np.cos(x))

    g = cr.grad(f)
    jg = cr.jit(g)
    p = jg.lower(np.array([1.0, 2.0]))
    guards = [e.kind for e in p.guards]
    assert "finite" in guards
    assert not any(e.name in ("isfinite", "all") for e in p.equations)
    for x in [np.array([1.0, 2.0]), np.array([0.5, 3.0]), np.array([0.0, 2.0])]:
        np.testing.assert_array_equal(jg(x), g(x))
    assert not np.isnan(jg(np.array([0.0, 2.0]))).any()
    assert jg.cache_size() == 2  # the point with a zero took the other path


@pytest.mark.parametrize(
    "x",
    [
        np.array([1.0, np.inf]),
        np.array([np.nan, 1.0]),
        np.full(10000, 1e200),  # the sum of squares overflows: every entry is tested
        np.full(10000, 1.5),
        np.ones((30, 40))[:, ::2],  # strided
        np.array([1e308, 1e308]),
        np.zeros(0),
        np.array([1 + 2j, np.inf]),
        np.arange(5),
    ],
)
def test_all_finite_agrees_with_numpy(x):
    from chainrule.core.staging import all_finite

    assert all_finite(x) is bool(np.all(np.isfinite(x)))


def test_broadcast_constant_becomes_a_scalar():
    jg = cr.jit(cr.grad(least_squares))
    theta, X, Y = RNG.standard_normal(5), RNG.standard_normal((3000, 5)), RNG.standard_normal(3000)
    jg(theta, X, Y)
    expected = cr.grad(least_squares)(theta, X, Y)
    np.testing.assert_array_equal(jg(theta, X, Y), expected)
    compiled = next(c for paths in jg._cache.values() for c in paths)
    closure = dict(zip(compiled.run.__code__.co_freevars, compiled.run.__closure__))
    arrays = [c.cell_contents for c in closure.values() if isinstance(c.cell_contents, np.ndarray)]
    assert not any(a.size == 3000 for a in arrays)  # the mean's broadcast 1/N: a scalar
    np.testing.assert_allclose(jg(theta, X, Y), 2 / 3000 * X.T @ (X @ theta - Y), rtol=1e-12)


def test_fast_lookup_shares_the_cache_and_its_fallbacks(monkeypatch):
    f = lambda x, y: np.sum(np.sin(x) * y)  # noqa: E731
    jf = cr.jit(f)
    x, y = np.ones(3), np.arange(3.0)
    jf(x, y)
    assert len(jf._fast) == 1 and jf.cache_size() == 1
    np.testing.assert_array_equal(jf(x * 2, y), f(x * 2, y))
    # a keyword call or a Python number reaches the same program by the general path
    np.testing.assert_array_equal(jf(x, y=y), f(x, y))
    assert jf.cache_size() == 2  # (x, y=y) is another pytree structure
    np.testing.assert_array_equal(jf(np.ones(4), np.ones(4)), f(np.ones(4), np.ones(4)))
    assert len(jf._fast) == 2
    # the safety net's eager fallback is seen by the fast lookup too
    calls = []

    def g(x):
        calls.append(1)
        return x * 2.0

    jg = cr.jit(g)
    jg(np.ones(2))
    paths = next(iter(jg._cache.values()))
    monkeypatch.setattr(jit_module, "_agree", lambda a, b: False)
    with pytest.warns(jit_module.RetraceWarning, match="different result"):
        jg(np.ones(2))
    assert paths == [jit_module.EAGER] and jg._fast[next(iter(jg._fast))] is paths
    n = len(calls)
    np.testing.assert_array_equal(jg(np.ones(2)), np.full(2, 2.0))
    assert len(calls) == n + 1  # eager: the function ran


def test_reuse_under_threads():
    jg = cr.jit(cr.grad(mlp_loss))
    params, X, Y = mlp_data()
    expected = cr.grad(mlp_loss)(params, X, Y)
    jg(params, X, Y)
    jg(params, X, Y)
    errors = []

    def work():
        for _ in range(20):
            out = jg(params, X, Y)
            for k in expected:
                if not np.array_equal(out[k], expected[k]):
                    errors.append(k)

    threads = [threading.Thread(target=work) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []


def test_long_programs_are_interpreted_until_compiling_pays(monkeypatch):
    monkeypatch.setattr(jit_module, "COMPILE_LATER_ABOVE", 10)
    monkeypatch.setattr(jit_module, "COMPILE_AFTER_REPLAYS", 3)

    def f(x, y):
        for _ in range(4):
            x = np.sin(x) * y + 0.5
        i = np.argmax(x)  # a guard's variable and a general call (a tuple index)
        return x[i] * x, np.sum(x, axis=0)

    g = cr.jit(cr.grad(lambda x, y: np.sum(f(x, y)[0]), argnums=(0, 1)))
    eager = cr.grad(lambda x, y: np.sum(f(x, y)[0]), argnums=(0, 1))
    x, y = RNG.standard_normal(3), RNG.standard_normal(3)
    g(x, y)
    compiled = next(c for paths in g._cache.values() for c in paths)
    assert len(compiled.program.body) >= 10
    for k in range(6):
        xs = x + 0.01 * k
        out = g(xs, y)
        for a, b in zip(out, eager(xs, y)):
            np.testing.assert_array_equal(a, b)  # the same calls in the same order
        assert compiled.interpreted == min(k + 1, 4)  # then the compiled replay runs
        assert (compiled.source != "") == (k >= 3)  # compiled at the 4th replay


def test_common_subexpressions_tell_equal_scalars_of_other_types_and_signs_apart():
    def f(x):
        # equal as Python values, not the same call: none may be shared
        return [x * 0.0, x * -0.0, x + 1, x + 1.0, x + True, x * 0.0]

    x = np.array([2.0, -3.0], dtype=np.float32)
    jf = cr.jit(f)
    for _ in range(2):
        out, expected = jf(x), f(x)
        for a, b in zip(out, expected):
            assert a.dtype == b.dtype
            assert a.tobytes() == b.tobytes()  # -0.0 stays -0.0
    p = jf.lower(x)
    assert len(p.equations) == 5  # only the repeated x * 0.0 is shared
    assert p.out_leaves[0] is p.out_leaves[5] or p.out_leaves[0].id == p.out_leaves[5].id


def test_a_variable_is_guarded_finite_once():
    A = RNG.standard_normal((6, 6))

    def f(y):
        return np.sum(np.tanh(A @ y) ** 2)

    h = cr.jit(lambda x, v: cr.hvp(f, (x,), (v,))[1])
    x, v = RNG.standard_normal(6), RNG.standard_normal(6)
    guards = [(g.kind, g.var) for g in h.lower(x, v).guards]
    assert ("finite", guards[0][1]) in guards
    assert len(set(guards)) == len(guards)
    np.testing.assert_array_equal(h(x, v), cr.hvp(f, (x,), (v,))[1])
    t = np.tanh(A @ x)
    expected = A.T @ ((2 - 6 * t**2) * (1 - t**2) * (A @ v))  # the closed form
    np.testing.assert_allclose(h(x, v), expected, rtol=1e-10)


def test_one_valued_constant_matrices_stay_matrices_in_products():
    ones = np.ones((40, 40))

    def f(x):
        # a one-valued constant in a matrix product must stay a matrix; in
        # an elementwise product it may become a scalar
        return ones @ x + np.full((40, 40), 0.5) * x

    jf = cr.jit(f)
    x = RNG.standard_normal((40, 40))
    for _ in range(3):
        np.testing.assert_array_equal(jf(x), f(x))
        x = x + 1.0
