"""Issue #18's sparse-Jacobian timings on the periodic 2-D Brusselator, one run.

The model (two species u, v on an N x N periodic grid, 2 N^2 unknowns)::

    du/dt = 1 + u^2 v - 4.4 u + alpha N^2 lap(u)
    dv/dt = 3.4 u - u^2 v + alpha N^2 lap(v)        (alpha = 0.002)

Reported, side by side:

* N = 64 and N = 256: the sparse Jacobian (``cr.sparse_jacobian``, pattern and
  colouring known; the csr_array included) in units of one JVP (the median of
  ``cr.jvp(f, (y,), (t,))`` in the same run; target <= 15); the detection
  (``cr.jacobian_sparsity``) in evaluations of ``f`` (target <= 100 at N=256);
  the colouring time (target <= 1 s at N=256); SciPy's grouped finite
  differences with the same pattern (``approx_derivative(..., sparsity=)``);
  JAX (if installed): the same compressed Jacobian (``vmap`` of ``jvp`` over
  the same colour seeds, jitted), in its own JVPs.
* N = 32: dense ``cr.jacfwd`` and JAX's dense ``jacfwd`` against the sparse one.
* ``solve_ivp(method="BDF")`` at N = 48: chainrule's sparse Jacobian against
  SciPy's grouped finite differences (``jac_sparsity=``; target <= 1.2x its
  time, the same solution to rtol 1e-6), and the dense default; with ``njev``.

Every time is the median of ``--repeat`` runs, the competitors alternated.

    python benchmarks/sparse_jacobians.py [--repeat N] [--dense-bdf] [--wall] [--only sizes|bdf]
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import scipy.integrate as si
from scipy.optimize._numdiff import approx_derivative

import chainrule as cr
from chainrule.sparse import coloring

ALPHA = 0.002


def brusselator(n: int) -> Callable[[Any], Any]:
    """The right-hand side for an n x n grid, of the flat state (u, v)."""
    a = ALPHA * n * n

    def lap(w: Any) -> Any:
        return (
            np.roll(w, 1, axis=0)
            + np.roll(w, -1, axis=0)
            + np.roll(w, 1, axis=1)
            + np.roll(w, -1, axis=1)
            - 4.0 * w
        )

    def f(y: Any) -> Any:
        u = y[: n * n].reshape(n, n)
        v = y[n * n :].reshape(n, n)
        uuv = u * u * v
        du = 1.0 + uuv - 4.4 * u + a * lap(u)
        dv = 3.4 * u - uuv + a * lap(v)
        return np.concatenate([du.ravel(), dv.ravel()])

    return f


def initial(n: int, centred: bool = True) -> np.ndarray:
    """The usual Brusselator start, u = 22 (y (1 - y))^1.5, v = 27 (x (1 - x))^1.5,
    on cell centres (``centred``) or on nodes starting at 0, where u and v are 0."""
    x = (np.arange(n) + (0.5 if centred else 0.0)) / n
    xx, yy = np.meshgrid(x, x, indexing="ij")
    u = 22.0 * (yy * (1.0 - yy)) ** 1.5
    v = 27.0 * (xx * (1.0 - xx)) ** 1.5
    return np.concatenate([u.ravel(), v.ravel()])


def median_time(fn: Callable[[], Any], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return float(np.median(times))


def alternate(fns: dict[str, Callable[[], Any]], repeat: int) -> dict[str, float]:
    """Median time of each, the calls alternated (one of each per round).
    CPU time of this process (``time.process_time``) when ``CPU`` is set:
    the machine these were measured on is shared, and wall times there swing
    with the other jobs (JAX's own threads make its CPU time an overcount, so
    its rows use wall time always)."""
    times: dict[str, list[float]] = {k: [] for k in fns}
    for fn in fns.values():
        fn()  # warm-up
    for _ in range(repeat):
        for k, fn in fns.items():
            clock = time.perf_counter if (not CPU or k.startswith("jax")) else time.process_time
            t = clock()
            fn()
            times[k].append(clock() - t)
    return {k: float(np.median(v)) for k, v in times.items()}


CPU = True


def jax_compressed(n: int, colors: np.ndarray) -> Any:
    """JAX's jitted ``vmap(jvp)`` over the colour seeds, and its single JVP."""
    try:
        import jax
        import jax.numpy as jnp
    except ImportError:
        return None
    jax.config.update("jax_enable_x64", True)
    a = ALPHA * n * n

    def f(y: Any) -> Any:
        u = y[: n * n].reshape(n, n)
        v = y[n * n :].reshape(n, n)

        def lap(w: Any) -> Any:
            return (
                jnp.roll(w, 1, 0) + jnp.roll(w, -1, 0) + jnp.roll(w, 1, 1) + jnp.roll(w, -1, 1)
            ) - 4.0 * w

        uuv = u * u * v
        return jnp.concatenate(
            [(1.0 + uuv - 4.4 * u + a * lap(u)).ravel(), (3.4 * u - uuv + a * lap(v)).ravel()]
        )

    k = int(colors.max()) + 1
    seeds = np.zeros((k, colors.size))
    seeds[colors, np.arange(colors.size)] = 1.0
    seeds_j = jnp.asarray(seeds)
    compressed = jax.jit(lambda y: jax.vmap(lambda s: jax.jvp(f, (y,), (s,))[1])(seeds_j))
    one = jax.jit(lambda y, t: jax.jvp(f, (y,), (t,))[1])
    dense = jax.jit(jax.jacfwd(f))
    return compressed, one, dense


def sizes_table(repeat: int) -> None:
    print("## Sparse Jacobian, Brusselator (medians of alternated runs)")
    for n in (64, 256):
        one_size(n, repeat)
    dense_table(repeat)


def one_size(n: int, repeat: int) -> None:
    if True:
        f = brusselator(n)
        y = initial(n) + 0.01 * np.random.default_rng(0).standard_normal(2 * n * n)
        tangent = np.random.default_rng(1).standard_normal(y.size)
        pattern = cr.jacobian_sparsity(f)(y)
        colors = coloring.color_columns(pattern)
        once = alternate(
            {
                "detect": lambda: cr.jacobian_sparsity(f)(y),
                "colour": lambda: coloring.color_columns(pattern),
            },
            3,
        )
        detect, colour_time = once["detect"], once["colour"]
        spat = cr.SparsityPattern(pattern, colors, mode="forward")
        jac = cr.sparse_jacobian(f, sparsity=spat)
        # the same colour groups for SciPy's finite differences
        fd = lambda: approx_derivative(f, y, sparsity=(pattern, colors))  # noqa: E731
        fns = {
            "f": lambda: f(y),
            "jvp": lambda: cr.jvp(f, (y,), (tangent,)),
            "sparse": lambda: jac(y),
            "scipy_fd": fd,
        }
        jx = jax_compressed(n, colors)
        if jx is not None:
            import jax.numpy as jnp

            yj, tj = jnp.asarray(y), jnp.asarray(tangent)
            fns["jax_compressed"] = lambda: jx[0](yj).block_until_ready()
            fns["jax_jvp"] = lambda: jx[1](yj, tj).block_until_ready()
        t = alternate(fns, repeat)
        detect_evals = detect / t["f"]
        rel = np.abs(jac(y) - approx_derivative(f, y, sparsity=(pattern, colors))).max()
        print(
            f"N={n} ({2 * n * n} unknowns): nnz {pattern.nnz}, {spat.ncolors} colours "
            f"(colouring {colour_time:.2f} s); f {t['f'] * 1e3:.2f} ms, one JVP "
            f"{t['jvp'] * 1e3:.2f} ms; sparse Jacobian {t['sparse'] * 1e3:.2f} ms = "
            f"{t['sparse'] / t['jvp']:.1f} JVPs (target <= 15); detection {detect:.2f} s = "
            f"{detect_evals:.0f} f evaluations (target <= 100); SciPy FD with the pattern "
            f"{t['scipy_fd'] * 1e3:.2f} ms = {t['scipy_fd'] / t['jvp']:.1f} JVPs "
            f"(max |difference| {rel:.1e})"
        )
        if jx is not None:
            print(
                f"    JAX jit(vmap(jvp)) over the same {spat.ncolors} seeds: "
                f"{t['jax_compressed'] * 1e3:.2f} ms = {t['jax_compressed'] / t['jax_jvp']:.1f} "
                f"JAX JVPs (one JAX JVP {t['jax_jvp'] * 1e3:.2f} ms)"
            )


def dense_table(repeat: int) -> None:
    n = 32
    f = brusselator(n)
    y = initial(n)
    jac = cr.sparse_jacobian(f)
    jac(y)
    fns = {"sparse": lambda: jac(y), "jacfwd": lambda: cr.jacfwd(f)(y)}
    jx = jax_compressed(n, jac.pattern.coloring)
    if jx is not None:
        import jax.numpy as jnp

        yj = jnp.asarray(y)
        fns["jax_jacfwd"] = lambda: jx[2](yj).block_until_ready()
    t = alternate(fns, repeat)
    line = (
        f"N=32 ({2 * n * n} unknowns): dense cr.jacfwd {t['jacfwd'] * 1e3:.1f} ms, "
        f"sparse {t['sparse'] * 1e3:.2f} ms ({t['jacfwd'] / t['sparse']:.0f}x)"
    )
    if jx is not None:
        line += f", JAX jit(jacfwd) dense {t['jax_jacfwd'] * 1e3:.1f} ms"
    print(line)


def bdf_table(repeat: int, dense: bool) -> None:
    n = 48
    f = brusselator(n)
    span = (0.0, 1.5)
    tol = {"rtol": 1e-8, "atol": 1e-10}
    rhs = lambda t, y: f(y)  # noqa: E731
    print(f"## solve_ivp(method='BDF'), Brusselator N={n} ({2 * n * n} unknowns), t in {span}")
    for centred in (True, False):
        y0 = initial(n, centred)
        pattern = cr.jacobian_sparsity(f)(y0)
        spat = cr.SparsityPattern(pattern, mode="forward")
        jac_y = cr.sparse_jacobian(f, sparsity=spat)
        jac = lambda t, y, jac_y=jac_y: jac_y(y)  # noqa: E731
        runs = {
            "chainrule": lambda y0=y0, jac=jac: si.solve_ivp(
                rhs, span, y0, method="BDF", jac=jac, **tol
            ),
            "scipy_fd": lambda y0=y0, pattern=pattern: si.solve_ivp(
                rhs, span, y0, method="BDF", jac_sparsity=pattern, **tol
            ),
        }
        results = {k: fn() for k, fn in runs.items()}
        t = alternate(runs, repeat if centred else 1)
        a, b = results["chainrule"], results["scipy_fd"]
        agree = np.allclose(a.y[:, -1], b.y[:, -1], rtol=1e-6, atol=1e-9)
        err = np.max(np.abs(a.y[:, -1] - b.y[:, -1]) / np.abs(b.y[:, -1]))
        print(f"start on {'cell centres' if centred else 'nodes from 0 (u = 0 on a grid line)'}:")
        print(
            f"  chainrule sparse_jacobian ({spat.ncolors} colours): {t['chainrule']:.3f} s, "
            f"njev {a.njev}, nfev {a.nfev}, nlu {a.nlu}"
        )
        print(
            f"  SciPy FD with jac_sparsity: {t['scipy_fd']:.3f} s, njev {b.njev}, "
            f"nfev {b.nfev}, nlu {b.nlu}"
        )
        print(
            f"  ratio {t['chainrule'] / t['scipy_fd']:.2f} (target <= 1.2); same final state "
            f"to rtol 1e-6: {agree} (max relative difference {err:.1e})"
        )
    if dense:
        y0 = initial(n)
        t0 = time.process_time() if CPU else time.perf_counter()
        d = si.solve_ivp(rhs, span, y0, method="BDF", **tol)
        took = (time.process_time() if CPU else time.perf_counter()) - t0
        print(f"  dense default (FD, dense LU): {took:.1f} s, njev {d.njev}, nfev {d.nfev}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument(
        "--dense-bdf", action="store_true", help="also the dense default (about 100 s)"
    )
    parser.add_argument("--only", choices=["sizes", "bdf"], default=None)
    parser.add_argument("--wall", action="store_true", help="wall-clock times, not CPU")
    args = parser.parse_args()
    global CPU
    CPU = not args.wall
    if args.only != "bdf":
        sizes_table(args.repeat)
    if args.only != "sizes":
        bdf_table(max(3, args.repeat // 2), args.dense_bdf)


if __name__ == "__main__":
    main()
