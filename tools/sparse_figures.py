"""Draw the pictures of docs/howto/sparse.md: the Brusselator's Jacobian
pattern as chainrule detects it, and the column colouring that compresses it.

    python tools/sparse_figures.py        # writes docs/img/brusselator_*.svg

The model is the how-to's (2 species on an N x N periodic grid, N = 8 here so
that single entries show). Needs matplotlib (in the ``test`` dependency group).
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

import chainrule as cr  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "docs" / "img"
N = 8

# Reproducible SVGs: no date, fixed ids.
plt.rcParams["svg.hashsalt"] = "chainrule-sparse"
METADATA = {"Date": None, "Creator": "tools/sparse_figures.py"}


def brusselator(n: int, alpha: float = 0.002) -> object:
    """The how-to's right-hand side: y = (u, v), each n x n, flattened."""

    def lap(w: np.ndarray) -> np.ndarray:
        return np.roll(w, 1, 0) + np.roll(w, -1, 0) + np.roll(w, 1, 1) + np.roll(w, -1, 1) - 4 * w

    def f(y: np.ndarray) -> np.ndarray:
        u = y[: n * n].reshape(n, n)
        v = y[n * n :].reshape(n, n)
        uuv = u * u * v
        du = 1.0 + uuv - 4.4 * u + alpha * n * n * lap(u)
        dv = 3.4 * u - uuv + alpha * n * n * lap(v)
        return np.concatenate([du.ravel(), dv.ravel()])

    return f


def palette(k: int) -> np.ndarray:
    return plt.get_cmap("tab20" if k > 10 else "tab10")(np.arange(k))[:, :3]


def main() -> None:
    f = brusselator(N)
    y = np.ones(2 * N * N)
    jac = cr.sparse_jacobian(f)
    J = jac(y)  # detects the pattern and colours it on this first call
    sp_ = jac.pattern
    pattern, colors, k = sp_.pattern, sp_.coloring, sp_.ncolors
    rows, cols = pattern.nonzero()
    colours = palette(k)
    n = 2 * N * N

    # The pattern, each nonzero in the colour of its column.
    image = np.ones((n, n, 3))
    image[rows, cols] = colours[colors[cols]]
    fig, ax = plt.subplots(figsize=(5.2, 5.2))
    ax.imshow(image, interpolation="nearest")
    half = N * N - 0.5
    ax.axhline(half, color="0.6", lw=0.6)
    ax.axvline(half, color="0.6", lw=0.6)
    ax.set_xticks([N * N / 2, N * N * 1.5], ["u", "v"])
    ax.set_yticks([N * N / 2, N * N * 1.5], ["du/dt", "dv/dt"])
    ax.set_title(
        f"Brusselator N={N}: {n}x{n} Jacobian, {pattern.nnz} nonzeros,\n"
        f"columns in {k} colours (one JVP each)",
        fontsize=10,
    )
    fig.tight_layout()
    fig.savefig(OUT / "brusselator_pattern.svg", metadata=METADATA)
    plt.close(fig)

    # The colours on the grid: columns of one colour share no row, so their
    # stencils do not overlap.
    fig, axes = plt.subplots(1, 2, figsize=(6.4, 3.4))
    for ax, (name, part) in zip(axes, [("u", colors[: N * N]), ("v", colors[N * N :])]):
        grid = colours[part.reshape(N, N)]
        ax.imshow(grid, interpolation="nearest")
        for i in range(N):
            for j in range(N):
                ax.text(j, i, str(part[i * N + j]), ha="center", va="center", fontsize=7)
        ax.set_title(f"colour of each {name} unknown", fontsize=10)
        ax.set_xticks([])
        ax.set_yticks([])
    fig.suptitle(f"{k} colours: the seeds of the {k} JVPs (dense: {n} JVPs)", fontsize=10, y=0.98)
    fig.tight_layout(rect=(0, 0, 1, 0.94))
    fig.savefig(OUT / "brusselator_coloring.svg", metadata=METADATA)
    plt.close(fig)
    assert np.allclose(J.toarray(), cr.jacfwd(f)(y))
    print(f"wrote {OUT / 'brusselator_pattern.svg'} and {OUT / 'brusselator_coloring.svg'}")
    print(f"N={N}: nnz {pattern.nnz}, {k} colours ({sp_.mode})")


if __name__ == "__main__":
    main()
