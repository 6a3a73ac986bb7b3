"""The gradient of a multivariate normal log-likelihood, chainrule against HIPS
autograd (issue #15: a program ran 54x slower than autograd when our logpdf
looped over the points).

``sum(multivariate_normal.logpdf(x, mean, cov))`` on 10^4 points in 5
dimensions; the gradient with respect to ``(x, mean, cov)``. Prints each
median and chainrule's time over autograd's (the target: at most 1.5).

    python benchmarks/mvn_logpdf.py [--points 10000] [--dim 5] [--repeats 31] [--all-threads]
"""

from __future__ import annotations

import argparse
import contextlib
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from timing import one_blas_thread  # noqa: E402


def _median_seconds(fn: Callable[[], object], repeats: int) -> float:
    fn()  # warm-up: imports, caches
    samples = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def main(argv: list[str] | None = None) -> float:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--points", type=int, default=10_000)
    ap.add_argument("--dim", type=int, default=5)
    ap.add_argument("--repeats", type=int, default=31)
    ap.add_argument(
        "--all-threads",
        action="store_true",
        help="let BLAS use its default thread pool (by default one thread, as benchmarks/timing)",
    )
    opts = ap.parse_args(argv)
    threads = contextlib.nullcontext if opts.all_threads else one_blas_thread

    import chainrule as cr
    import chainrule.scipy.stats as cst

    rng = np.random.default_rng(0)
    d = opts.dim
    x = rng.normal(size=(opts.points, d))
    mean = rng.normal(size=d)
    m = rng.normal(size=(d, d))
    cov = m @ m.T + d * np.eye(d)

    ours = cr.grad(
        lambda x, mu, c: np.sum(cst.multivariate_normal.logpdf(x, mu, c)), argnums=(0, 1, 2)
    )
    results: dict[str, float] = {}
    with threads():
        results["chainrule"] = _median_seconds(lambda: ours(x, mean, cov), opts.repeats)
        try:
            import autograd
            import autograd.numpy as anp
            import autograd.scipy.stats.multivariate_normal as amvn
        except ImportError:
            print("autograd is not installed (pip install autograd): no comparison")
            print(f"chainrule  median {results['chainrule'] * 1e3:8.3f} ms")
            return float("nan")
        theirs = autograd.grad(lambda x, mu, c: anp.sum(amvn.logpdf(x, mu, c)), argnum=(0, 1, 2))
        results["autograd"] = _median_seconds(lambda: theirs(x, mean, cov), opts.repeats)
        g_ours, g_theirs = ours(x, mean, cov), theirs(x, mean, cov)

    # The same gradient (autograd's cov gradient is the symmetric one; ours reads
    # the lower triangle, so compare the sums over each symmetric pair).
    sym = lambda g: np.tril(g + g.T) - np.diag(np.diag(g))  # noqa: E731
    for a, b in zip(g_ours[:2], g_theirs[:2]):
        np.testing.assert_allclose(a, b, rtol=1e-8, atol=1e-10)
    np.testing.assert_allclose(sym(g_ours[2]), sym(g_theirs[2]), rtol=1e-8, atol=1e-10)

    # The gradient in the parameters alone (a maximum-likelihood fit's).
    ours2 = cr.grad(lambda mu, c: np.sum(cst.multivariate_normal.logpdf(x, mu, c)), argnums=(0, 1))
    theirs2 = autograd.grad(lambda mu, c: anp.sum(amvn.logpdf(x, mu, c)), argnum=(0, 1))
    with threads():
        results["chainrule (mean, cov)"] = _median_seconds(lambda: ours2(mean, cov), opts.repeats)
        results["autograd (mean, cov)"] = _median_seconds(lambda: theirs2(mean, cov), opts.repeats)

    print(f"gradient of sum(logpdf) over {opts.points} points in {d} dimensions")
    for name, sec in results.items():
        print(f"{name:22s} median {sec * 1e3:8.3f} ms")
    ratio = results["chainrule"] / results["autograd"]
    ratio2 = results["chainrule (mean, cov)"] / results["autograd (mean, cov)"]
    print(f"ratio chainrule / autograd in (x, mean, cov): {ratio:.2f} (target <= 1.5)")
    print(f"ratio chainrule / autograd in (mean, cov):    {ratio2:.2f} (target <= 1.5)")
    return max(ratio, ratio2)


if __name__ == "__main__":
    main()
