"""A trust-region Newton method driven by Hessian-vector products: Rosenbrock in 1,000 dimensions.

The chained Rosenbrock function ``sum(100 (x[i+1] - x[i]^2)^2 + (1 - x[i])^2)``
has its minimum at ``x = (1, ..., 1)``, at the end of a long curved valley
that defeats plain gradient descent. Newton's method follows the curvature,
but its Hessian has a million entries. Here it is never formed: each
Hessian-vector product ``H v`` comes from ``cr.hvp`` (forward mode over reverse
mode) for the cost of a few gradients, and the Newton step is found by
conjugate gradients inside a trust region (Steihaug's method), which needs
nothing else.

Run:  python examples/rosenbrock_trust_region.py
The comparison with SciPy's trust-ncg at the end needs SciPy
(``pip install "chainrule[scipy]"``).
"""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np

import chainrule as cr


def rosenbrock(x: np.ndarray) -> float:
    """The chained Rosenbrock function; zero at ``x = 1``.

    >>> float(rosenbrock(np.ones(5))), float(rosenbrock(np.zeros(3)))
    (0.0, 2.0)
    """
    return np.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2)


def _to_boundary(z: np.ndarray, d: np.ndarray, radius: float) -> np.ndarray:
    """``z + tau d`` with ``tau >= 0`` chosen so that the point lies on the sphere of ``radius``."""
    a, b, c = d @ d, 2.0 * (z @ d), z @ z - radius**2
    tau = (-b + np.sqrt(b * b - 4.0 * a * c)) / (2.0 * a)
    return z + tau * d


def steihaug_cg(
    hessp: Callable[[np.ndarray], np.ndarray], g: np.ndarray, radius: float, tol: float
) -> tuple[np.ndarray, bool]:
    """Approximately minimise the model ``g.p + p.H p / 2`` over ``|p| <= radius``
    by conjugate gradients, using only products ``hessp(v) = H v``.

    Returns the step and whether it stopped on the trust-region boundary (at
    negative curvature, or when an iterate would leave the region).

    >>> H = np.diag([2.0, 4.0])
    >>> p, on_boundary = steihaug_cg(lambda v: H @ v, np.array([2.0, 4.0]), 10.0, 1e-12)
    >>> p, on_boundary
    (array([-1., -1.]), False)
    """
    z = np.zeros_like(g)
    r = g.copy()
    d = -r
    if np.linalg.norm(r) < tol:
        return z, False
    for _ in range(10 * g.size):
        Hd = hessp(d)
        curvature = d @ Hd
        if curvature <= 0:
            return _to_boundary(z, d, radius), True
        alpha = (r @ r) / curvature
        z_next = z + alpha * d
        if np.linalg.norm(z_next) >= radius:
            return _to_boundary(z, d, radius), True
        r_next = r + alpha * Hd
        if np.linalg.norm(r_next) < tol:
            return z_next, False
        d = -r_next + ((r_next @ r_next) / (r @ r)) * d
        z, r = z_next, r_next
    return z, False


def trust_region_newton(
    f: Callable, x0: np.ndarray, gtol: float = 1e-8, maxiter: int = 500
) -> dict:
    """Minimise ``f`` by a trust-region Newton-CG method using only gradients and
    Hessian-vector products from chainrule.

    >>> out = trust_region_newton(lambda x: np.sum((x - 2.0) ** 2), np.zeros(3))
    >>> np.round(out["x"], 8), out["hvps"] > 0
    (array([2., 2., 2.]), True)
    """
    value_and_grad = cr.value_and_grad(f)
    x = np.asarray(x0, dtype=float)
    value, grad = value_and_grad(x)
    radius, counts = 1.0, {"hvps": 0, "gradients": 1}
    iterations = 0
    while iterations < maxiter and np.linalg.norm(grad) >= gtol:
        iterations += 1
        grad_norm = np.linalg.norm(grad)

        def hessp(v: np.ndarray, x: np.ndarray = x) -> np.ndarray:
            counts["hvps"] += 1
            return cr.hvp(f, (x,), (v,))[1]

        # Forcing term min(0.5, sqrt|g|) * |g|: loose far away, tight near the minimum.
        step, on_boundary = steihaug_cg(
            hessp, grad, radius, min(0.5, np.sqrt(grad_norm)) * grad_norm
        )
        predicted = -(grad @ step + 0.5 * step @ hessp(step))
        new_value, new_grad = value_and_grad(x + step)
        counts["gradients"] += 1
        rho = (value - new_value) / predicted if predicted > 0 else -1.0
        if rho < 0.25:
            radius *= 0.25
        elif rho > 0.75 and on_boundary:
            radius = min(2.0 * radius, 1e3)
        if rho > 0.1:  # accept the step
            x, value, grad = x + step, new_value, new_grad
    return {
        "x": x,
        "value": float(value),
        "grad_norm": float(np.linalg.norm(grad)),
        "iterations": iterations,
        **counts,
    }


def _report(label: str, out: dict, seconds: float) -> None:
    print(
        f"{label}: {out['iterations']} trust-region iterations, {out['hvps']} Hessian-vector "
        f"products, {out['gradients']} gradients, {seconds:.2f} s"
    )
    print(
        f"  f = {out['value']:.3e}, |grad| = {out['grad_norm']:.1e}, "
        f"max |x - 1| = {out['max_error']:.1e}"
    )


def _solve(x0: np.ndarray, maxiter: int = 500) -> tuple[dict, float]:
    start = time.perf_counter()
    out = trust_region_newton(rosenbrock, x0, maxiter=maxiter)
    out["max_error"] = float(np.max(np.abs(out["x"] - 1.0)))
    return out, time.perf_counter() - start


def main(quick: bool = False, n: int = 1000) -> dict:
    """Minimise the ``n``-dimensional Rosenbrock function from SciPy's documented start
    (1.3, 0.7, 0.8, 1.9, 1.2) repeated; returns the numbers.

    ``quick`` prints nothing and runs nothing else. The full run also compares
    with SciPy's trust-ncg (through ``chainrule.optim.minimize``) and starts
    once from the classic (-1.2, 1, -1.2, 1, ...), far from the minimum: the
    chained valleys then straighten out one coordinate after another, and it
    takes thousands of iterations (about 4 per dimension), however cheap each is.
    """
    x0 = np.resize([1.3, 0.7, 0.8, 1.9, 1.2], n)
    out, seconds = _solve(x0)
    if quick:
        return out
    _report(f"n = {n}, start (1.3, 0.7, 0.8, 1.9, 1.2, ...)", out, seconds)
    print(f"  the Hessian would have {n * n:,} entries; it was never formed")
    try:
        from chainrule.optim import minimize

        res = minimize(rosenbrock, x0, method="trust-ncg", options={"gtol": 1e-8})
        print(
            f"SciPy trust-ncg with cr.hvp: {res.nit} iterations, {res.nhev} products, "
            f"max |x - 1| = {np.max(np.abs(res.x - 1.0)):.1e}"
        )
    except ImportError as err:
        print(f"(skipping the SciPy comparison: {err})")
    hard, seconds = _solve(np.resize([-1.2, 1.0], n), maxiter=10 * n)
    _report(f"n = {n}, start (-1.2, 1, ...)", hard, seconds)
    return out


if __name__ == "__main__":
    main()
