"""``chainrule demo``: the lecture's least squares, by backpropagation.

The walk-through: the computational graph theta -> residual ->
sum_of_squares -> risk with shapes, the forward values, the backward chain
of VJPs, a check of the autodiff gradient against the formula
(2/N) X^T (X theta - Y), gradient descent with a progress bar, and the gap
to the closed-form optimum from ``numpy.linalg.lstsq``.
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np

import chainrule as cr

from . import dataset, output
from .errors import MathError, UsageError
from .lecture import make_risk, make_stages
from .progress import progress_bar


def run(args: argparse.Namespace) -> int:
    """Run the walk-through with the options of ``chainrule demo``."""
    _check_options(args)
    data = dataset.load(args.data, args.seed)
    X, Y = data.X, data.Y
    N, d = X.shape
    risk = make_risk(X, Y)
    theta = np.zeros(d)
    print(f"Least squares by backpropagation\n\ndata: {data.description}")
    print(f"  X is {N}x{d} (standardised features and an intercept column), Y has {N} entries")
    print("  risk R(theta) = (1/N) |X theta - Y|^2\n")

    g = cr.graph(risk)(theta)
    values = _forward(X, Y, theta)
    _show_graph(g, values)
    by_chain = _backward(g, X, Y, values)
    _check_gradient(risk, X, Y, theta, by_chain)
    theta, history = _descend(risk, X, theta, args.steps, args.tol)
    _compare(risk, X, Y, theta, data.names)
    if args.graph:
        _save_graph(g, Path(args.graph))
    if args.plot:
        _plot(history, risk(np.linalg.lstsq(X, Y, rcond=None)[0]), Path(args.plot))
    return 0


def _check_options(args: argparse.Namespace) -> None:
    # Fail before the work, not after it.
    if args.steps < 0:
        raise UsageError("--steps must be at least 0")
    if args.graph and Path(args.graph).suffix.lower() not in output.PICTURE_SUFFIXES:
        raise UsageError(
            f"--graph {args.graph}: the picture must be one of {', '.join(output.PICTURE_SUFFIXES)}"
        )
    if args.plot and importlib.util.find_spec("matplotlib") is None:
        raise UsageError("--plot needs matplotlib, which is not installed (pip install matplotlib)")


def _forward(X: np.ndarray, Y: np.ndarray, theta: np.ndarray) -> list[tuple[str, np.ndarray]]:
    """The value after each stage, starting from theta."""
    values = [("theta", theta)]
    for name, stage in make_stages(X, Y):
        values.append((name, np.asarray(stage(values[-1][1]))))
    return values


def _shape(value: np.ndarray) -> str:
    return f"[{','.join(map(str, np.shape(value)))}]"


def _show_graph(g: cr.Graph, values: list[tuple[str, np.ndarray]]) -> None:
    print("1. The computational graph (cr.graph), values with their shapes")
    print("   " + " -> ".join(f"{name}{_shape(v)}" for name, v in values))
    print("\n".join("   " + line for line in str(g).splitlines()))
    print("\n2. Forward pass at theta = 0 (where gradient descent starts)")
    formulas = {
        "theta": "",
        "residual": "X theta - Y",
        "sum_of_squares": "residual . residual",
        "risk": "sum_of_squares / N",
    }
    width = max(len(name) for name, _ in values)
    for name, v in values:
        shown = f"{formulas[name]} = " if formulas[name] else ""
        print(f"   {name:<{width}}  float64{_shape(v):<6}  {shown}{_preview(v)}")


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
    print(
        "\n3. Backward pass: one vector-Jacobian product (cr.vjp) per stage, from the risk "
        "back to theta;\n   g_v is d(risk)/d(v)"
    )
    rules = {
        "risk": "g_risk / N",
        "sum_of_squares": "2 residual g_sum_of_squares",
        "residual": "X^T g_residual",
    }
    chain = []
    cotangent = np.ones(())
    for (name, stage), (input_name, x) in zip(reversed(make_stages(X, Y)), reversed(values[:-1])):
        _, vjp_fn = cr.vjp(stage, x)
        (cotangent,) = vjp_fn(cotangent)
        chain.append((f"g_{input_name}", np.asarray(cotangent), rules[name]))
    width = max(len(label) for label, *_ in chain)
    print(f"   {'g_risk':<{width}}  float64{'[]':<6}  = 1")
    for label, value, rule in chain:
        print(f"   {label:<{width}}  float64{_shape(value):<6}  = {rule} = {_preview(value)}")
    print("\n   The same program, as cr.graph(risk)(theta).backward() lists it:")
    print("\n".join("   " + line for line in str(g.backward()).splitlines()))
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
    print("\n4. Gradient check at theta = 0")
    print(f"   autodiff cr.grad(risk)    {_preview(autodiff)}")
    print(f"   (2/N) X^T (X theta - Y)   {_preview(by_hand)}")
    verdict = "agree" if gap <= 1e-12 * scale and chain_gap <= 1e-12 * scale else "DISAGREE"
    print(
        f"   gradient check: max |autodiff - (2/N) X^T (X theta - Y)| = {gap:.2e}; "
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
    print(
        f"\n5. Gradient descent: theta <- theta - (1/L) grad R(theta), "
        f"L = 2 lambda_max(X^T X / N) = {output.number(L)}"
    )
    sys.stdout.flush()  # the bar writes to stderr: keep the two in order on a terminal
    value_and_grad = cr.value_and_grad(risk)
    history: list[float] = []
    bar = progress_bar(steps, "gradient descent")
    stopped = f"stopped after {steps:,} steps (--steps)"
    try:
        for step in range(steps):
            value, g = value_and_grad(theta)
            history.append(float(value))
            if np.max(np.abs(g)) < tol:
                stopped = f"converged after {step:,} steps (every gradient entry below {tol:g})"
                break
            theta = theta - step_size * g
            bar.update(1)
            if step % 100 == 0:
                bar.set_postfix_str(f"risk {float(value):.6g}")
        else:
            history.append(float(risk(theta)))  # the value the last step reached
    finally:
        bar.close()
    checkpoints = sorted({0, *[10**k for k in range(7) if 10**k < len(history)], len(history) - 1})
    print("   step      risk")
    for k in checkpoints:
        print(f"   {k:>6,}    {history[k]:.10g}")
    print(f"   {stopped}")
    return theta, history


def _compare(
    risk: Callable, X: np.ndarray, Y: np.ndarray, theta: np.ndarray, names: list[str]
) -> None:
    best = np.linalg.lstsq(X, Y, rcond=None)[0]
    print("\n6. The closed-form optimum (numpy.linalg.lstsq)")
    width = max(len(n) for n in names)
    print(f"   {'':<{width}}  {'descent':>14}  {'lstsq':>14}")
    for name, a, b in zip(names, theta, best):
        print(f"   {name:<{width}}  {a:>14.8f}  {b:>14.8f}")
    gap = np.max(np.abs(theta - best))
    risk_gap = float(risk(theta) - risk(best))
    print(
        f"   gap to the closed form: max |theta - theta_lstsq| = {gap:.2e}, "
        f"risk - optimal risk = {risk_gap:.2e}"
    )


def _save_graph(g: cr.Graph, path: Path) -> None:
    backward = path.with_name(f"{path.stem}-backward{path.suffix}")
    try:
        g.save(path)
        g.backward().save(backward)
    except (RuntimeError, OSError, ValueError) as e:
        raise MathError(f"could not write {path}: {' '.join(str(e).split())}") from None
    print(f"wrote {path} (forward graph) and {backward} (backward graph)")


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
    print(f"wrote {path} (risk during gradient descent)")
