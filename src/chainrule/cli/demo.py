"""``chainrule demo``: the lecture's least squares, by backpropagation.

The walk-through: the computational graph theta -> residual ->
sum_of_squares -> risk with shapes, the forward values, the backward chain
of VJPs, a check of the autodiff gradient against the formula
(2/N) Xᵀ (X theta - Y), gradient descent with a progress bar, and the gap
to the closed-form optimum from ``numpy.linalg.lstsq``. Cotangents are written
ḡv and transposes Xᵀ throughout, as ``cr.graph``'s listings write them; prose
is wrapped to the terminal's width.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path

import numpy as np

import chainrule as cr

from . import dataset, files, output
from .errors import MathError, UsageError
from .lecture import make_risk, make_stages
from .progress import progress_bar

#: ``chainrule demo --help``'s description (plain text: argparse shows it as is).
HELP = """\
The lecture's least squares, by backpropagation: the computational graph
theta -> residual -> sum_of_squares -> risk with its shapes, the forward
values, the backward chain of vector-Jacobian products, a check of the
automatic gradient against (2/N) Xᵀ (X theta - Y), gradient descent with a
progress bar (on a terminal), and the gap to the closed-form optimum from
numpy.linalg.lstsq. It uses the diabetes data of Efron et al. (2004), which
ships with chainrule (--data generated for made-up data); --steps keeps it short."""

#: The most gradient-descent steps ``--steps`` accepts (about half a minute).
MAX_STEPS = 1_000_000


def say(text: str = "") -> None:
    """Print ``text``, each line wrapped to the terminal's width (80 columns
    when the output is not a terminal); continuation lines are indented under
    the line they continue."""
    width = max(shutil.get_terminal_size((80, 24)).columns, 40)
    for line in text.split("\n"):
        if len(line) <= width:
            print(line)
            continue
        indent = " " * (len(line) - len(line.lstrip()) + 4)
        print(
            "\n".join(textwrap.wrap(line, width, subsequent_indent=indent, break_on_hyphens=False))
        )


def run(args: argparse.Namespace) -> int:
    """Run the walk-through with the options of ``chainrule demo``."""
    _check_options(args)
    data = dataset.load(args.data, args.seed)
    X, Y = data.X, data.Y
    N, d = X.shape
    risk = make_risk(X, Y)
    theta = np.zeros(d)
    say(f"Least squares by backpropagation\n\ndata: {data.description}")
    say(f"  X is {N}x{d} (standardised features and an intercept column), Y has {N} entries")
    say("  risk R(theta) = (1/N) |X theta - Y|²\n")

    g = cr.graph(risk)(theta)
    values = _forward(X, Y, theta)
    _show_graph(g, values)
    by_chain = _backward(g, X, Y, values)
    _check_gradient(risk, X, Y, theta, by_chain)
    theta, history = _descend(risk, X, theta, args.steps, args.tol)
    _compare(risk, X, Y, theta, data.names)
    # The plot first: it needs nothing outside Python, so a graph that cannot
    # be drawn (no Graphviz) does not cost the user the plot.
    if args.plot is not None:
        _plot(history, risk(np.linalg.lstsq(X, Y, rcond=None)[0]), Path(args.plot))
    if args.graph is not None:
        written = files.save_pictures([g, g.backward()], Path(args.graph), "--graph")
        say(f"wrote {written[0]} (forward graph) and {written[1]} (backward graph)")
    return 0


def _check_options(args: argparse.Namespace) -> None:
    # Fail before the work, not after it.
    if not 0 <= args.steps <= MAX_STEPS:
        raise UsageError(f"--steps must be from 0 to {MAX_STEPS:,}")
    if args.graph is not None:
        files.check_picture_target(Path(args.graph), "--graph", backward=True)
    if args.plot is not None:
        try:
            from matplotlib.backends.backend_agg import FigureCanvasAgg
        except ImportError:
            raise UsageError(
                "--plot needs matplotlib, which is not installed (pip install matplotlib)"
            ) from None
        kinds = FigureCanvasAgg.get_supported_filetypes()
        suffix = Path(args.plot).suffix.lower().lstrip(".")
        if suffix not in kinds:
            raise UsageError(
                f"--plot {args.plot}: the file name must end in one of "
                f"{', '.join('.' + k for k in sorted(kinds))}"
            )
        files.check_target(Path(args.plot), "--plot")


def _forward(X: np.ndarray, Y: np.ndarray, theta: np.ndarray) -> list[tuple[str, np.ndarray]]:
    """The value after each stage, starting from theta."""
    values = [("theta", theta)]
    for name, stage in make_stages(X, Y):
        values.append((name, np.asarray(stage(values[-1][1]))))
    return values


def _shape(value: np.ndarray) -> str:
    return f"[{','.join(map(str, np.shape(value)))}]"


def _show_graph(g: cr.Graph, values: list[tuple[str, np.ndarray]]) -> None:
    say("1. The computational graph (cr.graph), values with their shapes")
    say("   " + " -> ".join(f"{name}{_shape(v)}" for name, v in values))
    say("\n".join("   " + line for line in str(g).splitlines()))
    say("\n2. Forward pass at theta = 0 (where gradient descent starts)")
    formulas = {
        "theta": "",
        "residual": "X theta - Y",
        "sum_of_squares": "residual . residual",
        "risk": "sum_of_squares / N",
    }
    width = max(len(name) for name, _ in values)
    for name, v in values:
        shown = f"{formulas[name]} = " if formulas[name] else ""
        say(f"   {name:<{width}}  float64{_shape(v):<6}  {shown}{_preview(v)}")


def _preview(v: np.ndarray, count: int = 4) -> str:
    v = np.asarray(v)
    if v.ndim == 0:
        return output.number(v)
    shown = ", ".join(output.number(x) for x in v[:count])
    return f"[{shown}{', ...' if v.size > count else ''}]"


def _backward(
    g: cr.Graph, X: np.ndarray, Y: np.ndarray, values: list[tuple[str, np.ndarray]]
) -> np.ndarray:
    """Show the chain of VJPs, one per stage, from the risk back to theta;
    return the gradient it ends with."""
    say(
        "\n3. Backward pass: one vector-Jacobian product (cr.vjp) per stage, from the risk "
        "back to theta;\n   ḡv is d(risk)/d(v)"
    )
    rules = {
        "risk": "ḡrisk / N",
        "sum_of_squares": "2 residual ḡsum_of_squares",
        "residual": "Xᵀ ḡresidual",
    }
    chain = []
    cotangent = np.ones(())
    for (name, stage), (input_name, x) in zip(reversed(make_stages(X, Y)), reversed(values[:-1])):
        _, vjp_fn = cr.vjp(stage, x)
        (cotangent,) = vjp_fn(cotangent)
        chain.append((f"ḡ{input_name}", np.asarray(cotangent), rules[name]))
    width = max(len(label) for label, *_ in chain)
    say(f"   {'ḡrisk':<{width}}  float64{'[]':<6}  = 1")
    for label, value, rule in chain:
        say(f"   {label:<{width}}  float64{_shape(value):<6}  = {rule} = {_preview(value)}")
    say("\n   The same program, as cr.graph(risk)(theta).backward() lists it:")
    say("\n".join("   " + line for line in str(g.backward()).splitlines()))
    return cotangent


def _check_gradient(
    risk: Callable, X: np.ndarray, Y: np.ndarray, theta: np.ndarray, by_chain: np.ndarray
) -> None:
    N = len(Y)
    autodiff = cr.grad(risk)(theta)
    by_hand = 2.0 / N * X.T @ (X @ theta - Y)
    scale = max(np.max(np.abs(by_hand)), 1.0)
    gap = np.max(np.abs(autodiff - by_hand))
    chain_gap = np.max(np.abs(by_chain - autodiff))
    say("\n4. Gradient check at theta = 0")
    say(f"   autodiff cr.grad(risk)    {_preview(autodiff)}")
    say(f"   (2/N) Xᵀ (X theta - Y)    {_preview(by_hand)}")
    verdict = "agree" if gap <= 1e-12 * scale and chain_gap <= 1e-12 * scale else "DISAGREE"
    say(
        f"   gradient check: max |autodiff - (2/N) Xᵀ (X theta - Y)| = {gap:.2e}; "
        f"chain of VJPs vs cr.grad: {chain_gap:.2e} ({verdict})"
    )
    if verdict != "agree":
        raise MathError("the autodiff gradient disagrees with the formula")


def _descend(
    risk: Callable, X: np.ndarray, theta: np.ndarray, steps: int, tol: float
) -> tuple[np.ndarray, list[float]]:
    """Gradient descent with step 1/L, L = 2 * largest eigenvalue of X^T X / N
    (the Lipschitz constant of the gradient: the largest safe step)."""
    N = len(X)
    L = 2 * np.linalg.eigvalsh(X.T @ X / N)[-1]
    step_size = 1 / L
    say(
        f"\n5. Gradient descent: theta <- theta - (1/L) grad R(theta), "
        f"L = 2 λ_max(Xᵀ X / N) = {output.number(L)}"
    )
    sys.stdout.flush()  # the bar writes to stderr: keep the two in order on a terminal
    value_and_grad = cr.value_and_grad(risk)
    history: list[float] = []
    bar = progress_bar(steps, "gradient descent")
    stopped = f"stopped after {steps:,} steps (--steps)"
    done, note = steps, ""
    try:
        for step in range(steps):
            value, g = value_and_grad(theta)
            history.append(float(value))
            if np.max(np.abs(g)) < tol:
                stopped = f"converged after {step:,} steps (every gradient entry below {tol:g})"
                done, note = step, f"converged at step {step:,}"
                break
            theta = theta - step_size * g
            bar.update(1)
            if step % 100 == 0:
                bar.set_postfix_str(f"risk {float(value):.6g}")
        else:
            history.append(float(risk(theta)))  # the value the last step reached
    except BaseException:
        bar.close()
        raise
    bar.finish(done, note or f"risk {history[-1]:.6g}")
    checkpoints = sorted({0, *[10**k for k in range(7) if 10**k < len(history)], len(history) - 1})
    say("   step      risk")
    for k in checkpoints:
        say(f"   {k:>6,}    {history[k]:.10g}")
    say(f"   {stopped}")
    return theta, history


def _compare(
    risk: Callable, X: np.ndarray, Y: np.ndarray, theta: np.ndarray, names: list[str]
) -> None:
    best = np.linalg.lstsq(X, Y, rcond=None)[0]
    say("\n6. The closed-form optimum (numpy.linalg.lstsq)")
    width = max(len(n) for n in names)
    say(f"   {'':<{width}}  {'descent':>14}  {'lstsq':>14}")
    for name, a, b in zip(names, theta, best):
        say(f"   {name:<{width}}  {a:>14.8f}  {b:>14.8f}")
    gap = np.max(np.abs(theta - best))
    risk_gap = float(risk(theta) - risk(best))
    say(
        f"   gap to the closed form: max |theta - theta_lstsq| = {gap:.2e}, "
        f"risk - optimal risk = {risk_gap:.2e}"
    )


def _plot(history: list[float], optimum: float, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")  # files only: never open a window
    import matplotlib.pyplot as plt

    gaps = np.maximum(np.asarray(history) - optimum, np.finfo(float).tiny)
    fig, ax = plt.subplots(figsize=(6.4, 4))
    ax.semilogy(np.arange(len(gaps)), gaps)
    ax.set_xlabel("gradient-descent step")
    ax.set_ylabel("risk - optimal risk")
    ax.set_title("Least squares by gradient descent")
    ax.grid(True, which="both", alpha=0.3)
    try:
        fig.savefig(path, dpi=120, bbox_inches="tight")
    except (OSError, ValueError) as e:
        raise MathError(f"could not write {path}: {' '.join(str(e).split())}") from None
    finally:
        plt.close(fig)
    say(f"wrote {path} (risk during gradient descent)")
