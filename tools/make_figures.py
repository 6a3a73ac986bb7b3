"""Draw the figures of the documentation from the code (never by hand).

    python tools/make_figures.py            # writes docs/img/*.svg

The graphs need the Graphviz ``dot`` program, the charts matplotlib.
tests/test_graph.py runs this script and compares
what it draws with the committed files.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import numpy as np

import chainrule as cr

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "docs" / "img"

rng = np.random.default_rng(0)
X = rng.standard_normal((200, 5))
Y = rng.standard_normal(200)
N = len(Y)


def risk(theta):
    """The lecture's empirical risk (1/N) |X theta - Y|^2, stage by stage."""
    residual = X @ theta - Y
    sum_of_squares = residual @ residual
    return sum_of_squares / N


def f(x):
    """The tutorial's fan-out example: x is used four times."""
    return x * x + np.sin(x) * x


GRAPHS = [
    "least_squares_forward.svg",
    "least_squares_backward.svg",
    "least_squares_jvp.svg",
    "fan_out_backward.svg",
]
CHARTS = ["least_squares_loss.svg", "performance_ratios.svg"]


def graphs(out: Path = OUT) -> list[Path]:
    """The Graphviz pictures of cr.graph (needs ``dot``)."""
    out.mkdir(parents=True, exist_ok=True)
    g = cr.graph(risk)(np.zeros(5))
    return [
        g.save(out / GRAPHS[0]),
        g.backward().save(out / GRAPHS[1]),
        g.jvp().save(out / GRAPHS[2]),
        cr.graph(f)(1.5).backward().save(out / GRAPHS[3]),
    ]


# -- charts (matplotlib) ---------------------------------------------------------------


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    plt.rcParams.update(
        {
            # Text as outlines: the same picture whatever fonts the reader has
            # (matplotlib keeps each text in a comment beside it).
            "svg.fonttype": "path",
            "svg.hashsalt": "chainrule",  # the same ids on every run
            "font.family": "sans-serif",
            "font.size": 11,
            "axes.spines.top": False,
            "axes.spines.right": False,
        }
    )
    return plt


def _save_chart(fig, path: Path) -> Path:
    fig.savefig(path, format="svg", metadata={"Date": None, "Creator": "tools/make_figures.py"})
    return path


def descent(steps: int = 500, lr: float = 0.1) -> tuple[np.ndarray, float]:
    """The tutorial's gradient descent on least squares: the risk after each
    step, and the least risk (from numpy.linalg.lstsq)."""
    data = np.random.default_rng(1)
    A = data.normal(size=(50, 3))
    b = A @ np.array([1.0, -2.0, 0.5]) + 0.1 * data.normal(size=50)

    def loss(theta):
        z = A @ theta - b
        return z @ z / len(b)

    theta, risks = np.zeros(3), [loss(np.zeros(3))]
    for _ in range(steps):
        theta = theta - lr * cr.grad(loss)(theta)
        risks.append(loss(theta))
    best, *_ = np.linalg.lstsq(A, b, rcond=None)
    return np.array(risks), float(loss(best))


def loss_curve(out: Path = OUT) -> Path:
    risks, least = descent()
    excess = risks - least
    # Past this step the excess risk is rounding error of the risk itself.
    shown = int(np.argmax(excess < 1e-13 * least)) or len(risks)
    plt = _pyplot()
    fig, (left, right) = plt.subplots(1, 2, figsize=(7.2, 3.0), layout="constrained")
    left.plot(risks[:60], color="#c0504d", lw=2, label="gradient descent")
    left.axhline(least, color="black", ls="--", lw=1, label=f"lstsq minimum {least:.4f}")
    left.set_xlabel("gradient step")
    left.set_ylabel(r"risk $\hat R(\theta_k)$")
    left.legend(frameon=False, fontsize=9)
    right.semilogy(excess[:shown], color="#c0504d", lw=2)
    right.set_xlabel("gradient step")
    right.set_ylabel(r"$\hat R(\theta_k) - \min \hat R$")
    right.set_title("the gap shrinks geometrically", fontsize=10)
    for ax in (left, right):
        ax.grid(True, alpha=0.3)
    path = _save_chart(fig, out / CHARTS[0])
    plt.close(fig)
    return path


FRAMEWORKS = ["chainrule", "autograd", "PyTorch", "JAX eager", "JAX jit"]
COLORS = ["#c0504d", "#4f81bd", "#9bbb59", "#8064a2", "#4bacc6"]


def timing_ratios(page: Path = ROOT / "docs" / "performance.md") -> dict[str, dict[str, float]]:
    """{workload: {framework: ratio to hand-written NumPy}} from the time table
    of the performance page (n/a left out)."""
    text = page.read_text()
    table = text[text.index("## Time") :].split("\n\n## ")[0]
    rows = [line for line in table.splitlines() if line.startswith("| ") and "---" not in line]
    header = [c.strip() for c in rows[0].strip("|").split("|")]
    ratios: dict[str, dict[str, float]] = {}
    for row in rows[1:]:
        cells = [c.strip() for c in row.strip("|").split("|")]
        if cells[0].startswith("…"):  # "per primitive": the row above, divided
            continue
        workload = re.sub(r"\s*\((µs|ms|s)\)$", "", cells[0])
        ratios[workload] = {}
        for name, cell in zip(header[1:], cells[1:]):
            found = re.search(r"\(([\d.]+)×\)", cell)
            if name in FRAMEWORKS and found:
                ratios[workload][name] = float(found.group(1))
    return ratios


def performance_chart(out: Path = OUT) -> Path:
    ratios = timing_ratios()
    plt = _pyplot()
    workloads = list(ratios)
    fig, ax = plt.subplots(figsize=(7.2, 0.62 * len(workloads) + 1.4), layout="constrained")
    height = 0.8 / len(FRAMEWORKS)
    for k, (name, color) in enumerate(zip(FRAMEWORKS, COLORS)):
        ys = [i + (k - (len(FRAMEWORKS) - 1) / 2) * height for i in range(len(workloads))]
        xs = [ratios[w].get(name, np.nan) for w in workloads]
        ax.barh(ys, xs, height=height, color=color, label=name)
        if name == "chainrule":
            for x, y in zip(xs, ys):
                ax.annotate(
                    _times(x), (x, y), xytext=(3, 0), textcoords="offset points",
                    va="center", fontsize=8, color=color,
                )  # fmt: skip
    ax.axvline(1.0, color="black", lw=1)
    ax.set_xscale("log")
    ax.xaxis.set_major_formatter(lambda x, _: _times(x))
    ax.set_yticks(range(len(workloads)), [_short(w) for w in workloads], fontsize=9)
    ax.invert_yaxis()
    ax.set_xlabel("time ÷ time of the hand-written NumPy derivative (log scale)")
    fig.legend(loc="outside upper center", ncols=len(FRAMEWORKS), frameon=False, fontsize=9)
    ax.grid(True, axis="x", which="major", alpha=0.3)
    path = _save_chart(fig, out / CHARTS[1])
    plt.close(fig)
    return path


def _times(ratio: float) -> str:
    return f"{ratio:.2g}×" if ratio < 10 else f"{ratio:.0f}×"


def _short(workload: str) -> str:
    """A workload's label on two lines: the problem, then the transform."""
    head, _, tail = workload.rpartition(", ")
    return f"{head}\n{tail}" if head else workload


def charts(out: Path = OUT) -> list[Path]:
    """The matplotlib charts."""
    out.mkdir(parents=True, exist_ok=True)
    return [loss_curve(out), performance_chart(out)]


def main(out: Path = OUT) -> list[Path]:
    written = graphs(out) + charts(out)
    for path in written:
        print(f"wrote {path}")
    return written


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else OUT)
