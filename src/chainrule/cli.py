"""The ``chainrule`` command. For now: ``chainrule demo``, the lecture's
least-squares walk-through."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

import numpy as np


def demo(steps: int = 500, seed: int = 0) -> int:
    """Least squares by backpropagation, checked against the closed form."""
    import chainrule as cr

    rng = np.random.default_rng(seed)
    n, d = 200, 5
    X = rng.standard_normal((n, d))
    true_theta = rng.standard_normal(d)
    Y = X @ true_theta + 0.1 * rng.standard_normal(n)
    print(f"Least squares on generated data: X is {n}x{d}, Y has {n} entries.")
    print("  theta --f--> z = X theta - Y --g--> s = z.z --h--> R = s / N")

    def risk(theta):
        z = X @ theta - Y
        s = z @ z
        return s / n

    theta = np.zeros(d)
    g = cr.grad(risk)(theta)
    by_hand = 2.0 / n * X.T @ (X @ theta - Y)
    print(f"autodiff gradient at 0:   {np.array2string(g, precision=4)}")
    print(f"(2/N) X^T (X theta - Y):  {np.array2string(by_hand, precision=4)}")
    print(f"largest difference: {np.max(np.abs(g - by_hand)):.2e}")
    lr = 0.1
    for step in range(steps):
        value, g = cr.value_and_grad(risk)(theta)
        theta = theta - lr * g
        if step % max(steps // 5, 1) == 0:
            print(f"  step {step:4d}  risk {value:.6f}")
    best = np.linalg.lstsq(X, Y, rcond=None)[0]
    gap = np.max(np.abs(theta - best))
    print(f"gradient descent: {np.array2string(theta, precision=5)}")
    print(f"closed form:      {np.array2string(best, precision=5)}")
    print(f"gap: {gap:.2e}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="chainrule", description=__doc__)
    sub = parser.add_subparsers(dest="command")
    p_demo = sub.add_parser("demo", help="the lecture's least-squares walk-through")
    p_demo.add_argument("--steps", type=int, default=500, help="gradient-descent steps")
    args = parser.parse_args(argv)
    if args.command in (None, "demo"):
        return demo(steps=getattr(args, "steps", 500))
    parser.error(f"unknown command {args.command}")  # pragma: no cover
    return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
