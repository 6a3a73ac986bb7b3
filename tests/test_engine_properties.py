"""Properties of the engine rather than of single rules: deep graphs, reusable
VJPs, thread safety, memory release, NumPy/chainrule.numpy equivalence and
symbolic zeros."""

import gc
import threading
import time
import weakref

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal

import chainrule as cr
import chainrule.numpy as cnp
from chainrule.core.trace import Trace, Tracer

# ---------------------------------------------------------------------------
# deep graphs: no recursion anywhere
# ---------------------------------------------------------------------------
N_DEEP = 100_000
FACTOR = 1.0000001


def _deep_chain(x):
    for _ in range(N_DEEP):
        x = x * FACTOR
    return x


@pytest.mark.parametrize("x0", [np.float64(1.0), 2.0, np.array(3.0)], ids=["np0d", "py", "arr0d"])
def test_deep_chain_reverse(x0):
    start = time.perf_counter()
    g = cr.grad(_deep_chain)(x0)
    assert time.perf_counter() - start < 5.0
    assert_allclose(g, FACTOR**N_DEEP, rtol=1e-10)


def test_deep_chain_forward():
    out, t = cr.jvp(_deep_chain, (1.5,), (2.0,))
    assert_allclose(out, 1.5 * FACTOR**N_DEEP, rtol=1e-10)
    assert_allclose(t, 2.0 * FACTOR**N_DEEP, rtol=1e-10)


def test_deep_chain_vector_jacobian():
    """A deep chain on a vector through jacrev (batched backward pass)."""

    def f(x):
        for _ in range(20_000):
            x = x * FACTOR + 0.0
        return x

    J = cr.jacrev(f)(np.array([1.0, 2.0]))
    assert_allclose(J, FACTOR**20_000 * np.eye(2), rtol=1e-10)


# ---------------------------------------------------------------------------
# vjp_fn can be called more than once; it is linear
# ---------------------------------------------------------------------------
def _vec_f(x):
    return np.sin(x) * x[::-1] + np.exp(np.sum(x) * 0.1)


def _vec_f_jacobian(x):
    n = x.size
    rev = x[::-1]
    J = np.diag(np.cos(x) * rev)
    J += np.diag(np.sin(x))[:, ::-1]  # d/dx_{n-1-i} of sin(x_i) x_{n-1-i}
    J += 0.1 * np.exp(np.sum(x) * 0.1) * np.ones((n, n))
    return J


def test_vjp_fn_called_twice_same_answer():
    x = np.array([0.3, -1.2, 2.0])
    out, vjp_fn = cr.vjp(_vec_f, x)
    u = np.array([1.0, 0.5, -2.0])
    (first,) = vjp_fn(u)
    (second,) = vjp_fn(u)
    assert_array_equal(first, second)
    assert_allclose(first, u @ _vec_f_jacobian(x), rtol=1e-12)
    # the returned arrays are independent: mutating one leaves the other intact
    first[:] = 0.0
    (third,) = vjp_fn(u)
    assert_array_equal(third, second)


def test_vjp_fn_linear_in_cotangent():
    x = np.array([0.3, -1.2, 2.0])
    _, vjp_fn = cr.vjp(_vec_f, x)
    J = _vec_f_jacobian(x)
    rng = np.random.default_rng(0)
    us = [rng.normal(size=3) for _ in range(5)]
    results = [vjp_fn(u)[0] for u in us]
    for u, r in zip(us, results):
        assert_allclose(r, u @ J, rtol=1e-12, atol=1e-14)
    a, b = 2.5, -0.75
    (combo,) = vjp_fn(a * us[0] + b * us[1])
    assert_allclose(combo, a * results[0] + b * results[1], rtol=1e-12, atol=1e-14)
    assert_array_equal(vjp_fn(np.zeros(3))[0], np.zeros(3))
    # and the first answer is unchanged after all those calls
    assert_array_equal(vjp_fn(us[0])[0], results[0])


def test_vjp_fn_many_calls_with_fan_out():
    """Fan-out accumulation must not leak state from one call into the next."""
    f = lambda x: x * x + np.sin(x) * x + x
    x = np.array([0.5, 1.5])
    _, vjp_fn = cr.vjp(f, x)
    expected = 2 * x + np.cos(x) * x + np.sin(x) + 1
    for k in range(10):
        assert_allclose(vjp_fn(np.full(2, float(k)))[0], k * expected, rtol=1e-12)


def test_vjp_fn_of_pytree_called_twice():
    f = lambda p: {"a": p[0] * p[1], "b": np.sum(p[0])}
    p = (np.array([1.0, 2.0]), 3.0)
    _, vjp_fn = cr.vjp(f, p)
    ct = {"a": np.array([1.0, -1.0]), "b": 2.0}
    (g1,) = vjp_fn(ct)
    (g2,) = vjp_fn(ct)
    for g in (g1, g2):
        assert_allclose(g[0], np.array([3.0, -3.0]) + 2.0)
        assert_allclose(g[1], 1.0 * 1.0 + 2.0 * -1.0)


# ---------------------------------------------------------------------------
# threads: eight at once, each with its own traces
# ---------------------------------------------------------------------------
def _thread_jobs():
    x = np.array([0.4, -0.3, 1.1])
    return [
        (lambda: cr.grad(lambda x: np.sum(np.sin(x) * x))(x), np.cos(x) * x + np.sin(x)),
        (lambda: cr.grad(lambda x: np.sum(np.exp(x) ** 2))(x), 2 * np.exp(2 * x)),
        (lambda: cr.jvp(np.tanh, (x,), (np.ones(3),))[1], 1 - np.tanh(x) ** 2),
        (lambda: cr.jacfwd(lambda x: x**3)(x), np.diag(3 * x**2)),
        (lambda: cr.jacrev(lambda x: np.log(1 + x**2))(x), np.diag(2 * x / (1 + x**2))),
        (lambda: cr.hessian(lambda x: np.sum(x**4))(x), np.diag(12 * x**2)),
        (
            lambda: cr.grad(lambda y: y * cr.grad(lambda z: y * z**2)(2.0))(1.5),
            2 * 1.5 * 4.0,  # d/dy [y * 4y] = 8y
        ),
        (
            lambda: cr.grad(cr.grad(cr.grad(lambda t: np.sin(t) * t)))(0.7),
            -3 * np.sin(0.7) - 0.7 * np.cos(0.7),
        ),
    ]


def test_threads_differentiate_concurrently():
    jobs = _thread_jobs()
    n_threads, iterations = len(jobs), 150
    barrier = threading.Barrier(n_threads)
    errors = []
    counts = [0] * n_threads

    def work(k):
        fn, expected = jobs[k]
        try:
            barrier.wait(timeout=10)
            for _ in range(iterations):
                assert_allclose(fn(), expected, rtol=1e-10, atol=1e-12)
                counts[k] += 1
        except BaseException as e:  # noqa: BLE001 - reported below
            errors.append((k, repr(e)))

    threads = [threading.Thread(target=work, args=(k,)) for k in range(n_threads)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not any(t.is_alive() for t in threads)
    assert not errors, errors
    assert counts == [iterations] * n_threads


def test_threads_with_interleaved_nesting():
    """Threads that hold an outer trace open while others start and finish
    theirs: each inner grad yields to the others between levels."""
    n_threads = 8
    barrier = threading.Barrier(n_threads)
    results = [None] * n_threads
    errors = []

    def work(k):
        a = float(k + 1)
        try:

            def inner(y, x):
                barrier.wait(timeout=10)  # every thread is inside its outer grad now
                return x * y * a

            def outer(x):
                return x * cr.grad(inner)(1.0, x)  # = a x^2

            results[k] = cr.grad(outer)(3.0)  # = 2 a x = 6 a
        except BaseException as e:  # noqa: BLE001
            errors.append((k, repr(e)))

    threads = [threading.Thread(target=work, args=(k,)) for k in range(n_threads)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not errors, errors
    assert_allclose(np.array(results, dtype=float), 6.0 * np.arange(1, n_threads + 1))


# ---------------------------------------------------------------------------
# nothing of the trace stays alive
# ---------------------------------------------------------------------------
def _count(cls):
    gc.collect()
    return sum(1 for o in gc.get_objects() if isinstance(o, cls))


def test_no_tracers_or_traces_survive_grad():
    x = np.array([0.5, 1.0, 2.0])
    f = lambda x: np.sum(np.sin(x) * x + np.exp(x) / (1 + x**2))
    cr.grad(f)(x)  # warm up any lazily built tables
    before = (_count(Tracer), _count(Trace))
    for _ in range(5):
        cr.grad(f)(x)
        cr.jvp(f, (x,), (x,))
        cr.hessian(f)(x)
        cr.grad(cr.grad(lambda t: np.sin(t) * t))(0.3)
    after = (_count(Tracer), _count(Trace))
    assert after == before


def test_intermediates_released_after_grad_without_gc():
    """The rules keep intermediates (sin keeps its input, multiply its other
    operand) only until the backward pass is done; there are no reference
    cycles, so they are freed as soon as grad returns, without the collector."""
    refs = []

    def f(x):
        c = np.linspace(0.0, 1.0, 1000)
        y = x * c  # multiply keeps c for its VJP
        refs.append(weakref.ref(c))
        refs.append(weakref.ref(y._value if isinstance(y, Tracer) else y))
        return np.sum(np.sin(y))

    was_enabled = gc.isenabled()
    gc.disable()
    try:
        g = cr.grad(f)(0.5)
        alive = [r() is not None for r in refs]
    finally:
        if was_enabled:
            gc.enable()
    c = np.linspace(0.0, 1.0, 1000)
    assert_allclose(g, np.sum(np.cos(0.5 * c) * c), rtol=1e-12)
    assert alive == [False, False]


def test_vjp_keeps_graph_while_vjp_fn_lives_and_frees_it_after():
    refs = []

    def f(x):
        c = np.linspace(0.0, 1.0, 50)
        refs.append(weakref.ref(c))
        return np.sin(x * c)

    _, vjp_fn = cr.vjp(f, 0.5)
    gc.collect()
    assert refs[0]() is not None  # multiply's VJP needs c
    c = np.linspace(0.0, 1.0, 50)
    assert_allclose(vjp_fn(np.ones(50))[0], np.sum(np.cos(0.5 * c) * c), rtol=1e-12)
    del vjp_fn
    gc.collect()
    assert refs[0]() is None


def test_inputs_not_retained_after_grad():
    x = np.linspace(0.1, 1.0, 100)
    ref = weakref.ref(x)
    g = cr.grad(lambda x: np.sum(np.log(x)))(x)
    assert_allclose(g, 1.0 / np.linspace(0.1, 1.0, 100), rtol=1e-12)
    del x
    gc.collect()
    assert ref() is None


def test_aux_holds_no_tracers():
    g, aux = cr.grad(lambda x: (np.sum(x**2), {"y": x * 2, "z": [np.sin(x)]}), has_aux=True)(
        np.array([1.0, 2.0])
    )
    for leaf in cr.tree.leaves(aux):
        assert not isinstance(leaf, Tracer)
        assert isinstance(leaf, np.ndarray)
    assert_allclose(aux["y"], [2.0, 4.0])
    assert_allclose(g, [2.0, 4.0])


def test_results_hold_no_tracers():
    x = np.array([1.0, 2.0])
    f = lambda x: np.sum(np.sin(x) * x)
    results = [
        cr.grad(f)(x),
        *cr.value_and_grad(f)(x),
        *cr.jvp(f, (x,), (x,)),
        cr.jacrev(np.sin)(x),
        cr.jacfwd(np.sin)(x),
        cr.hessian(f)(x),
        *cr.hvp(f, (x,), (x,)),
        cr.vjp(np.sin, x)[0],
        cr.vjp(np.sin, x)[1](x)[0],
        cr.linearize(np.sin, x)[1](x),
    ]
    for r in results:
        assert not isinstance(r, Tracer), type(r)
        assert isinstance(r, (np.ndarray, np.floating)), type(r)


# ---------------------------------------------------------------------------
# plain `import numpy as np` and chainrule.numpy give identical derivatives
# ---------------------------------------------------------------------------
def _np_versions():
    M = np.array([[1.0, -2.0, 0.5], [0.3, 0.7, -1.1]])
    return {
        "elementwise": (
            lambda x: np.sum(np.exp(np.sin(x)) * np.sqrt(x * x + 1.0) / np.cos(x * 0.3)),
            lambda x: cnp.sum(cnp.exp(cnp.sin(x)) * cnp.sqrt(x * x + 1.0) / cnp.cos(x * 0.3)),
        ),
        "reductions": (
            lambda x: np.max(x) * np.mean(x) + np.prod(x) - np.min(x**2),
            lambda x: cnp.max(x) * cnp.mean(x) + cnp.prod(x) - cnp.min(x**2),
        ),
        "linear": (
            lambda x: np.sum(np.tanh(np.dot(M, x)) ** 2) + np.matmul(x, x),
            lambda x: cnp.sum(cnp.tanh(cnp.dot(M, x)) ** 2) + cnp.matmul(x, x),
        ),
        "shapes": (
            lambda x: np.sum(
                np.transpose(np.reshape(np.stack([x, x**2]), (3, 2))) * np.arange(6).reshape(2, 3)
            ),
            lambda x: cnp.sum(
                cnp.transpose(cnp.reshape(cnp.stack([x, x**2]), (3, 2)))
                * np.arange(6).reshape(2, 3)
            ),
        ),
        "where-clip": (
            lambda x: np.sum(np.where(x > 0, np.log(np.abs(x) + 1), x**2) + np.clip(x, -1, 1)),
            lambda x: cnp.sum(cnp.where(x > 0, cnp.log(cnp.abs(x) + 1), x**2) + cnp.clip(x, -1, 1)),
        ),
        "maximum-power": (
            lambda x: np.sum(np.maximum(x, 0.2) ** 3 + np.square(np.minimum(x, 0.0))),
            lambda x: cnp.sum(cnp.power(cnp.maximum(x, 0.2), 3) + cnp.square(cnp.minimum(x, 0.0))),
        ),
    }


@pytest.mark.parametrize("name", list(_np_versions()))
def test_numpy_and_chainrule_numpy_identical(name):
    f_np, f_cnp = _np_versions()[name]
    x = np.array([0.7, -1.3, 2.2])
    assert_array_equal(f_np(x), f_cnp(x))
    assert_array_equal(cr.grad(f_np)(x), cr.grad(f_cnp)(x))
    assert_array_equal(cr.jacfwd(f_np)(x), cr.jacfwd(f_cnp)(x))
    assert_array_equal(cr.hessian(f_np)(x), cr.hessian(f_cnp)(x))
    # and both are right
    eps = 1e-6
    fd = np.array([(f_np(x + eps * e) - f_np(x - eps * e)) / (2 * eps) for e in np.eye(3)])
    assert_allclose(cr.grad(f_np)(x), fd, rtol=1e-6, atol=1e-8)


def test_numpy_method_forms_identical():
    x = np.array([0.7, -1.3, 2.2, 0.1]).reshape(2, 2)
    f_methods = lambda x: (x.T @ x).sum() + x.mean() * x.max() + x.reshape(4).dot(x.ravel())
    f_funcs = lambda x: (
        np.sum(np.matmul(np.transpose(x), x))
        + np.mean(x) * np.max(x)
        + np.dot(np.reshape(x, 4), np.ravel(x))
    )
    assert_array_equal(cr.grad(f_methods)(x), cr.grad(f_funcs)(x))


# ---------------------------------------------------------------------------
# symbolic zeros: outputs that do not depend on the input
# ---------------------------------------------------------------------------
@pytest.mark.parametrize(
    "x",
    [np.array([3.0, 2.0]), np.ones((2, 3)), np.float64(1.5), np.array(2.0)],
    ids=["vec", "mat", "scalar", "0d"],
)
def test_symbolic_zero_grad(x):
    for const in (lambda x: 3.0, lambda x: np.float64(3.0), lambda x: np.sum(np.ones(3))):
        g = cr.grad(const)(x)
        assert np.shape(g) == np.shape(x)
        assert np.result_type(g) == np.float64
        assert_array_equal(g, np.zeros(np.shape(x)))


def test_symbolic_zero_through_stop_gradient():
    x = np.array([3.0, 2.0])
    g = cr.grad(lambda x: np.sum(cr.stop_gradient(x) ** 2))(x)
    assert_array_equal(g, np.zeros(2))
    _, t = cr.jvp(lambda x: cr.stop_gradient(x) * 2.0, (x,), (np.ones(2),))
    assert_array_equal(t, np.zeros(2))


def test_symbolic_zero_jacobians():
    x = np.array([3.0, 2.0])
    for jac in (cr.jacrev, cr.jacfwd):
        J = jac(lambda x: np.ones(3))(x)
        assert J.shape == (3, 2) and J.dtype == np.float64
        assert_array_equal(J, np.zeros((3, 2)))
        J = jac(lambda x: 4.0)(x)
        assert J.shape == (2,)
        assert_array_equal(J, np.zeros(2))
        # mixed: one output depends on x, one does not
        Jd, Jc = jac(lambda x: (x * 2.0, np.ones((2, 2))))(x)
        assert_array_equal(Jd, 2.0 * np.eye(2))
        assert Jc.shape == (2, 2, 2)
        assert_array_equal(Jc, np.zeros((2, 2, 2)))


def test_symbolic_zero_jvp_and_vjp():
    x = np.array([3.0, 2.0])
    out, t = cr.jvp(lambda x: np.ones(3), (x,), (np.ones(2),))
    assert_array_equal(out, np.ones(3))
    assert t.shape == (3,)
    assert_array_equal(t, np.zeros(3))
    _, vjp_fn = cr.vjp(lambda x: np.ones(3), x)
    (ct,) = vjp_fn(np.ones(3))
    assert ct.shape == (2,)
    assert_array_equal(ct, np.zeros(2))
    _, jvp_fn = cr.linearize(lambda x: np.ones(3), x)
    assert_array_equal(jvp_fn(np.ones(2)), np.zeros(3))


def test_symbolic_zero_unused_argument():
    x, y = np.array([1.0, 2.0]), np.ones((3, 1))
    gx, gy = cr.grad(lambda x, y: np.sum(x**2), argnums=(0, 1))(x, y)
    assert_array_equal(gx, 2 * x)
    assert gy.shape == (3, 1)
    assert_array_equal(gy, np.zeros((3, 1)))
    _, t = cr.jvp(lambda x, y: x * 2.0, (x, y), (np.ones(2), np.ones((3, 1))))
    assert_array_equal(t, 2.0 * np.ones(2))


def test_symbolic_zero_hessian_of_linear_function():
    x = np.array([1.0, 2.0, 3.0])
    H = cr.hessian(lambda x: np.sum(x * np.array([1.0, -2.0, 0.5])))(x)
    assert H.shape == (3, 3)
    assert_array_equal(H, np.zeros((3, 3)))
    assert cr.grad(cr.grad(lambda t: 3.0 * t))(1.0) == 0.0
    assert cr.grad(d_fwd(lambda t: 3.0 * t))(1.0) == 0.0


def test_symbolic_zero_keeps_float32():
    x = np.array([1.0, 2.0], dtype=np.float32)
    g = cr.grad(lambda x: np.float32(1.0))(x)
    assert g.dtype == np.float32
    assert_array_equal(g, np.zeros(2, dtype=np.float32))


def test_independent_values_stay_plain_inside_transforms():
    """Values that do not depend on the differentiated input are never wrapped:
    no tangent or cotangent is carried for them."""
    seen = {}

    def f(x):
        c = np.sin(np.ones(3)) * 2.0
        seen["c"] = c
        seen["y"] = cr.stop_gradient(x) * c
        seen["z"] = x * c
        return np.sum(seen["z"])

    cr.grad(f)(np.ones(3))
    assert not isinstance(seen["c"], Tracer)
    assert not isinstance(seen["y"], Tracer)
    assert isinstance(seen["z"], Tracer)
    cr.jvp(f, (np.ones(3),), (np.ones(3),))
    assert not isinstance(seen["c"], Tracer)
    assert not isinstance(seen["y"], Tracer)


def d_fwd(f):
    return lambda x: cr.jvp(f, (x,), (1.0,))[1]


# ---------------------------------------------------------------------------
# the cyclic garbage collector runs inside the user's function and is paused
# only around the engine's own bookkeeping (GcPause; issue #12)
# ---------------------------------------------------------------------------
_TRANSFORMS = {
    "grad": lambda f, x: cr.grad(f)(x),
    "value_and_grad": lambda f, x: cr.value_and_grad(f)(x),
    "vjp": lambda f, x: cr.vjp(f, x)[1](1.0),
    "jvp": lambda f, x: cr.jvp(f, (x,), (1.0,)),
    "jacrev": lambda f, x: cr.jacrev(f)(x),
    "jacfwd": lambda f, x: cr.jacfwd(f)(x),
    "hessian": lambda f, x: cr.hessian(f)(x),
    "hvp": lambda f, x: cr.hvp(f, (x,), (1.0,)),
    "grad of grad": lambda f, x: cr.grad(cr.grad(f))(x),
}


@pytest.mark.parametrize("name", list(_TRANSFORMS))
def test_collector_runs_inside_and_is_on_after(name):
    seen = []

    def f(x):
        seen.append(gc.isenabled())
        return np.sin(x) * x

    assert gc.isenabled()
    _TRANSFORMS[name](f, 0.5)
    assert seen and all(seen)
    assert gc.isenabled()


def test_collector_paused_for_the_backward_pass():
    seen = []

    def probe_vjp(ans, x):
        return lambda g: seen.append(gc.isenabled()) or g

    from chainrule.core.primitive import Primitive

    probe = Primitive("probe", lambda x: x).defvjp(probe_vjp)
    probe.defjvp(lambda t, ans, x: t)
    assert cr.grad(lambda x: probe(x) * 2.0)(0.5) == 2.0
    assert seen == [False]
    assert gc.isenabled()


@pytest.mark.parametrize("name", list(_TRANSFORMS))
def test_collector_restored_when_the_function_raises(name):
    def f(x):
        raise KeyError("boom")

    with pytest.raises(KeyError, match="boom"):
        _TRANSFORMS[name](f, 0.5)
    assert gc.isenabled()


def test_a_disabled_collector_stays_disabled():
    gc.disable()
    try:
        assert_allclose(cr.grad(lambda x: np.sin(x) * x)(0.5), np.cos(0.5) * 0.5 + np.sin(0.5))
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_cyclic_garbage_made_inside_is_collected_after():
    class Node:
        pass

    refs = []

    def f(x):
        a, b = Node(), Node()
        a.other, b.other = b, a  # a reference cycle: only the collector frees it
        refs.append(weakref.ref(a))
        return x * x

    cr.grad(f)(1.0)
    gc.collect()
    assert refs[0]() is None


def test_collector_restored_after_threads_race():
    barrier = threading.Barrier(8)
    errors = []

    def work():
        try:
            barrier.wait()
            for _ in range(50):
                assert_allclose(cr.grad(lambda x: np.sum(np.sin(x)))(np.ones(3)), np.cos(1.0))
        except Exception as e:  # pragma: no cover - reported below
            errors.append(e)

    threads = [threading.Thread(target=work) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not errors
    assert gc.isenabled()


def test_an_explicit_collect_inside_still_works():
    class Node:
        pass

    refs = []

    def f(x):
        a = Node()
        a.me = a  # a cycle
        refs.append(weakref.ref(a))
        del a
        gc.collect()  # the escape hatch docs/design.md names
        refs.append(refs[0]() is None)
        return x * x

    cr.grad(f)(1.0)
    assert refs[1] is True


# ---------------------------------------------------------------------------
# fan-out sums are made in place only into arrays nothing else refers to
# ---------------------------------------------------------------------------
def test_in_place_fan_out_sum_leaves_a_shared_cotangent_alone():
    # add's VJP hands the same cotangent object to x and y; x then gets a
    # second contribution, which must not be added into y's.
    def f(x, y):
        # Tape order puts x * 3.0 first, so the backward pass reaches x with
        # the shared cotangent first and with 3 * g second.
        return np.sum(x * 3.0) + np.sum(np.sin(x + y))

    x, y = np.linspace(0.1, 1.0, 5000), np.linspace(-1.0, 0.5, 5000)
    gx, gy = cr.grad(f, argnums=(0, 1))(x, y)
    assert_allclose(gy, np.cos(x + y), rtol=1e-12)
    assert_allclose(gx, np.cos(x + y) + 3.0, rtol=1e-12)


def test_in_place_fan_out_sum_leaves_the_users_cotangent_alone():
    def f(x):
        return x * 2.0 + (x + 1.0)  # the seed reaches x's slot unchanged, first

    x = np.linspace(0.0, 1.0, 5000)
    _, vjp_fn = cr.vjp(f, x)
    seed = np.linspace(1.0, 2.0, 5000)
    before = seed.copy()
    (g,) = vjp_fn(seed)
    assert_array_equal(seed, before)
    assert_allclose(g, 3.0 * before, rtol=1e-12)
    (g2,) = vjp_fn(seed)  # and the recording is reusable
    assert_allclose(g2, 3.0 * before, rtol=1e-12)


def test_in_place_fan_out_sum_leaves_forward_values_alone():
    # exp's VJP is g * exp(x): the forward value exp(x) itself is never a
    # cotangent, but a cotangent can be a view of one (reshape); neither may change.
    seen = []

    def f(x):
        e = np.exp(x)
        seen.append(e._value)
        r = e.reshape(-1)
        return np.sum(r * x) + np.sum(r)

    x = np.linspace(0.0, 1.0, 5000)
    g = cr.grad(f)(x)
    assert_allclose(seen[0], np.exp(x), rtol=1e-15)
    assert_allclose(g, np.exp(x) * x + np.exp(x) + np.exp(x), rtol=1e-12)
