"""Draw the figures of the documentation from the code (never by hand).

    python tools/make_figures.py            # writes docs/img/*.svg

Needs the Graphviz ``dot`` program.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

import chainrule as cr

OUT = Path(__file__).resolve().parents[1] / "docs" / "img"

rng = np.random.default_rng(0)
X = rng.standard_normal((200, 5))
Y = rng.standard_normal(200)
N = len(Y)


def risk(theta):
    """The lecture's empirical risk (1/N) |X theta - Y|^2, stage by stage."""
    residual = X @ theta - Y
    sum_of_squares = residual @ residual
    return sum_of_squares / N


def main(out: Path = OUT) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    graph = cr.graph(risk)(np.zeros(5))
    written = [
        graph.save(out / "least_squares_forward.svg"),
        graph.backward().save(out / "least_squares_backward.svg"),
    ]
    for path in written:
        print(f"wrote {path}")
    return written


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else OUT)
