"""Newton's method on a nonlinear system: where do two circles meet?

Circle 1 has centre (0, 0) and radius 2, circle 2 centre (3, 1) and radius 2.
A point (x, y) on both solves

    x^2 + y^2 - 4 = 0
    (x - 3)^2 + (y - 1)^2 - 4 = 0

``chainrule.optim.root`` runs Newton's method with the Jacobian from forward
mode (``cr.jacfwd``). Near a root the number of correct digits doubles at every
step (quadratic convergence), which the printed residuals show. The two exact
intersections are known in closed form, for comparison.

Run:  python examples/newton_circles.py [--plot circles.png]
The optional picture needs matplotlib (``pip install "chainrule[examples]"``).
"""

from __future__ import annotations

import argparse

import numpy as np

import chainrule as cr
from chainrule.errors import install_hint
from chainrule.optim import root

CENTRES = np.array([[0.0, 0.0], [3.0, 1.0]])
RADII = np.array([2.0, 2.0])


def equations(p: np.ndarray) -> tuple:
    """The residuals of the two circle equations at the point ``p = (x, y)``.

    >>> [float(r) for r in equations(np.array([2.0, 0.0]))]
    [0.0, -2.0]
    """
    return tuple((p[0] - c[0]) ** 2 + (p[1] - c[1]) ** 2 - r**2 for c, r in zip(CENTRES, RADII))


def exact_intersections() -> np.ndarray:
    """Both intersection points, from elementary geometry (rows, sorted by x).

    >>> np.round(exact_intersections(), 6)
    array([[ 1.112702,  1.661895],
           [ 1.887298, -0.661895]])
    """
    (c1, c2), (r1, r2) = CENTRES, RADII
    d = np.linalg.norm(c2 - c1)
    a = (r1**2 - r2**2 + d**2) / (2 * d)  # distance from c1 to the chord's midpoint
    h = np.sqrt(r1**2 - a**2)
    mid = c1 + a * (c2 - c1) / d
    normal = np.array([-(c2 - c1)[1], (c2 - c1)[0]]) / d
    points = np.array([mid + h * normal, mid - h * normal])
    return points[np.argsort(points[:, 0])]


def plot(path: str, paths: list[np.ndarray]) -> None:
    """Save a picture of the circles and the Newton iterates to ``path`` (needs matplotlib)."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError as err:
        raise ImportError(
            "--plot needs matplotlib; install it with: " + install_hint("examples", "matplotlib")
        ) from err
    fig, ax = plt.subplots(figsize=(5, 5))
    t = np.linspace(0, 2 * np.pi, 200)
    for c, r in zip(CENTRES, RADII):
        ax.plot(c[0] + r * np.cos(t), c[1] + r * np.sin(t), color="gray")
    for xs in paths:
        ax.plot(xs[:, 0], xs[:, 1], "o-", ms=3)
    ax.set_aspect("equal")
    ax.set_title("Newton iterates converging to the intersections")
    fig.savefig(path, dpi=100)
    plt.close(fig)


def main(quick: bool = False, plot_path: str | None = None) -> dict:
    """Solve from two starting points, one per intersection; returns the numbers.

    ``quick`` prints nothing.
    """
    starts = [np.array([0.0, 3.0]), np.array([3.0, -2.0])]
    exact = exact_intersections()
    solutions, histories, paths = [], [], []
    for start in starts:
        iterates = [start]
        result = root(equations, start, callback=iterates.append)
        solutions.append(result.x)
        histories.append(result.history)
        paths.append(np.array(iterates))
        if not quick:
            print(f"start {start}: {result.nit} Newton steps -> x = {result.x}")
            print("  Jacobian at the root (from cr.jacfwd):")
            jac = cr.jacfwd(lambda p: np.stack(equations(p)))(result.x)
            print("  " + str(np.round(jac, 6)).replace("\n", "\n  "))
            print("  residual norms:", " ".join(f"{r:.1e}" for r in result.history))
    solutions = np.array(sorted(solutions, key=lambda s: s[0]))
    error = float(np.max(np.abs(solutions - exact)))
    if not quick:
        print(f"max distance from the exact intersections: {error:.1e}")
    if plot_path:
        plot(plot_path, paths)
    return {
        "solutions": solutions,
        "exact": exact,
        "max_error": error,
        "histories": histories,
        "paths": paths,
    }


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--plot", metavar="PATH", help="save a picture (needs matplotlib)")
    main(plot_path=parser.parse_args().plot)
