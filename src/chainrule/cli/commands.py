"""The expression subcommands: ``grad``, ``jacobian``, ``hessian``, ``jvp``, ``graph``.

Each one parses the expression and the ``--at`` values, evaluates the
expression once on plain arrays (its value, and the size of its largest
intermediate, which bounds the cost of what follows), differentiates it with
the transform the command is named after, and prints a labelled table or,
with ``--json``, one JSON object.
"""

from __future__ import annotations

import argparse
import inspect
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

import chainrule as cr

from . import files, limits, output
from .errors import MathError, Refused, UsageError
from .evaluate import MATH_ERRORS, Evaluator
from .expressions import Expression, check_names, parse
from .variables import normal_name, parse_assignments

#: The most outputs whose Hessian tables are printed (``--json`` has them all).
MAX_HESSIANS_SHOWN = 10


@dataclass
class Problem:
    """An expression, where it is evaluated, and what it is differentiated by."""

    expression: Expression
    evaluator: Evaluator
    variables: dict[str, np.ndarray]
    wrt: list[str]
    value: np.ndarray

    @property
    def primals(self) -> tuple[np.ndarray, ...]:
        return tuple(self.variables[n] for n in self.wrt)

    @property
    def function(self) -> Any:
        fixed = {k: v for k, v in self.variables.items() if k not in self.wrt}
        return self.evaluator.function(self.wrt, fixed)

    @property
    def n_inputs(self) -> int:
        return sum(v.size for v in self.primals)

    def input_labels(self) -> output.Labels:
        return output.Labels([(n, self.variables[n].shape) for n in self.wrt])

    def output_labels(self) -> Sequence[str]:
        labels = self.expression.output_labels(self.value.size)
        if labels is not None and self.value.ndim == 1:
            return labels
        return output.Labels([("f", self.value.shape)])

    def header(self) -> list[str]:
        at = ", ".join(f"{n} = {output.array_text(v)}" for n, v in self.variables.items())
        return [f"f = {self.expression.source}", f"at  {at}"]

    def json_base(self, command: str) -> dict[str, Any]:
        return {
            "command": command,
            "expression": self.expression.source,
            "variables": list(self.wrt),
            "at": {n: output.to_json_value(v) for n, v in self.variables.items()},
            "value": output.to_json_value(self.value),
        }


def prepare(args: argparse.Namespace) -> Problem:
    """Parse, check and evaluate: everything the commands share."""
    expression = parse(args.expression)
    variables = parse_assignments(args.at, "--at")
    check_names(expression, variables)
    wrt = [normal_name(n) for n in getattr(args, "wrt", None) or variables]
    for k, name in enumerate(wrt):
        if name not in variables:
            raise UsageError(f"--wrt {name}: '{name}' has no value; give it with --at {name}=...")
        if name in wrt[:k]:
            raise UsageError(f"--wrt gives '{name}' twice; name each variable once")
    if not wrt:
        raise UsageError("nothing to differentiate: give variables with --at NAME=VALUE")
    evaluator = Evaluator(expression)
    value = evaluator.run(variables)
    value = np.asarray(value)
    if value.dtype.kind not in "biuf":
        raise MathError(f"the expression's value has type {value.dtype}, not real numbers")
    if value.size == 0:
        raise MathError(f"the expression's value is empty (shape {value.shape})")
    return Problem(expression, evaluator, variables, wrt, value.astype(float))


def _differentiate(transform: Any, problem: Problem) -> Any:
    """Run a transform on the problem's function, turning library errors into
    one-line :class:`MathError`\\ s."""
    argnums = tuple(range(len(problem.wrt)))
    try:
        return transform(problem.function, argnums=argnums)(*problem.primals)
    except MATH_ERRORS as e:
        raise MathError(" ".join(str(e).split())) from None


def _check_work(problem: Problem, result_size: int, batch: int, what: str) -> None:
    """Refuse derivatives whose result or whole-Jacobian pass would be too big:
    ``batch`` directions, each through every value (memory) and every operation
    (time) of the expression."""
    limits.check_size(result_size, f"the {what}")
    work = batch * problem.evaluator.largest
    if work > limits.MAX_DERIVATIVE_WORK:
        raise Refused(
            f"the {what} would push {batch:,} directions through values of up to "
            f"{problem.evaluator.largest:,} elements ({work:,} in all; the limit is "
            f"{limits.MAX_DERIVATIVE_WORK:,})"
        )
    cost = batch * problem.evaluator.work
    if cost > limits.MAX_DERIVATIVE_COST:
        raise Refused(
            f"the {what} would push {batch:,} directions through an expression of "
            f"{limits.count(problem.evaluator.work)} steps of arithmetic ({limits.count(cost)} "
            f"in all; the limit is {limits.MAX_DERIVATIVE_COST:,})"
        )


def _flat_blocks(blocks: tuple, lead: int) -> np.ndarray:
    """Join per-variable derivative blocks into one matrix with ``lead`` leading
    entries per row: (lead, n_inputs)."""
    return np.concatenate([np.asarray(b, dtype=float).reshape(lead, -1) for b in blocks], axis=1)


def _finish(problem: Problem, lines: list[str], *arrays: Any) -> int:
    note = output.non_finite_note(problem.value, *arrays)
    print("\n".join(lines + ([note] if note else [])))
    return 0


# -- grad -----------------------------------------------------------------------------


def grad(args: argparse.Namespace) -> int:
    """``chainrule grad``: the gradient of a scalar expression."""
    problem = prepare(args)
    if problem.value.size != 1 or problem.value.ndim:
        raise MathError(
            f"grad needs a scalar expression, but this one has shape {problem.value.shape}; "
            "use 'chainrule jacobian' for all derivatives, or wrap it in sum(...)"
        )
    n = problem.n_inputs
    if args.mode == "fwd":
        _check_work(problem, n, n, "gradient")
        blocks = _differentiate(cr.jacfwd, problem)
    else:
        blocks = _differentiate(cr.grad, problem)
    gradient = {name: np.asarray(b, dtype=float) for name, b in zip(problem.wrt, blocks)}
    if args.json:
        payload = problem.json_base("grad")
        payload["mode"] = args.mode
        payload["gradient"] = {k: output.to_json_value(v) for k, v in gradient.items()}
        output.print_json(payload)
        return 0
    at = np.concatenate([problem.variables[k].ravel() for k in problem.wrt])
    flat = np.concatenate([g.ravel() for g in gradient.values()])
    lines = problem.header() + [
        f"value  {output.number(problem.value, args.precision)}",
        "",
        f"gradient ({_mode_name(args.mode)})",
    ]
    lines += output.table(
        problem.input_labels(), ["at", "gradient"], np.stack([at, flat], axis=1), args.precision
    )
    return _finish(problem, lines, flat)


# -- jacobian -------------------------------------------------------------------------


def jacobian(args: argparse.Namespace) -> int:
    """``chainrule jacobian``: all first derivatives, outputs by variables."""
    problem = prepare(args)
    m, n = problem.value.size, problem.n_inputs
    batch = n if args.mode == "fwd" else m
    _check_work(problem, m * n, batch, "Jacobian")
    transform = cr.jacfwd if args.mode == "fwd" else cr.jacrev
    matrix = _flat_blocks(_differentiate(transform, problem), m)
    rows, columns = problem.output_labels(), problem.input_labels()
    if args.json:
        payload = problem.json_base("jacobian")
        payload.update(
            mode=args.mode,
            jacobian=output.to_json_value(matrix),
            rows=list(rows),
            columns=list(columns),
        )
        output.print_json(payload)
        return 0
    lines = problem.header() + [""]
    lines += output.table(rows, ["value"], problem.value.reshape(-1, 1), args.precision)
    lines += ["", f"Jacobian ({_mode_name(args.mode)}): rows are outputs, columns are variables"]
    lines += output.table(rows, columns, matrix, args.precision)
    return _finish(problem, lines, matrix)


# -- hessian --------------------------------------------------------------------------


def hessian(args: argparse.Namespace) -> int:
    """``chainrule hessian``: all second derivatives."""
    problem = prepare(args)
    m, n = problem.value.size, problem.n_inputs
    _check_work(problem, m * n * n, m * n, "Hessian")
    if args.mode == "rev":
        transform = lambda f, argnums: cr.jacrev(cr.jacrev(f, argnums), argnums)
    else:
        transform = cr.hessian
    blocks = _differentiate(transform, problem)
    # blocks[i][j] has shape out + shape_i + shape_j; lay them out as (m, n, n).
    sizes = [v.size for v in problem.primals]
    full = np.concatenate(
        [
            np.concatenate(
                [np.asarray(b, dtype=float).reshape(m, si, sj) for b, sj in zip(row, sizes)], axis=2
            )
            for row, si in zip(blocks, sizes)
        ],
        axis=1,
    )
    labels, outputs = problem.input_labels(), problem.output_labels()
    if args.json:
        payload = problem.json_base("hessian")
        matrix = full[0] if problem.value.ndim == 0 else full
        payload.update(
            mode=args.mode,
            hessian=output.to_json_value(matrix),
            rows=list(labels),
            columns=list(labels),
            outputs=list(outputs),
        )
        output.print_json(payload)
        return 0
    lines = problem.header() + [f"value  {output.array_text(problem.value, args.precision)}"]
    how = "forward over reverse" if args.mode != "rev" else "reverse over reverse"
    for k, name in enumerate(outputs[:MAX_HESSIANS_SHOWN]):
        title = "Hessian" if m == 1 else f"Hessian of {name}"
        lines += ["", f"{title} ({how}): rows and columns are variables"]
        lines += output.table(labels, labels, full[k], args.precision)
    if m > MAX_HESSIANS_SHOWN:
        lines += [f"  (showing {MAX_HESSIANS_SHOWN} of {m:,} outputs' Hessians; --json prints all)"]
    return _finish(problem, lines, full)


# -- jvp ------------------------------------------------------------------------------


def jvp(args: argparse.Namespace) -> int:
    """``chainrule jvp``: the directional derivative along ``--tangent``."""
    problem = prepare(args)
    given = parse_assignments(args.tangent, "--tangent")
    if not given:
        raise UsageError("jvp needs a direction: --tangent NAME=VALUE for at least one variable")
    for name, t in given.items():
        if name not in problem.wrt:
            raise UsageError(
                f"--tangent {name}: '{name}' is not one of the variables ({', '.join(problem.wrt)})"
            )
        shape = problem.variables[name].shape
        if t.shape != shape:
            raise UsageError(
                f"shape mismatch: the tangent of {name} has shape {t.shape} but "
                f"{name} has shape {shape}"
            )
    tangents = tuple(given.get(n, np.zeros_like(problem.variables[n])) for n in problem.wrt)
    try:
        _, out = cr.jvp(problem.function, problem.primals, tangents)
    except MATH_ERRORS as e:
        raise MathError(" ".join(str(e).split())) from None
    out = np.asarray(out, dtype=float)
    if args.json:
        payload = problem.json_base("jvp")
        payload["tangent"] = {n: output.to_json_value(t) for n, t in zip(problem.wrt, tangents)}
        payload["jvp"] = output.to_json_value(out)
        output.print_json(payload)
        return 0
    direction = ", ".join(
        f"{n} = {output.array_text(t)}" + ("" if n in given else " (not given)")
        for n, t in zip(problem.wrt, tangents)
    )
    lines = problem.header() + [f"along  {direction}", ""]
    table = np.stack([problem.value.ravel(), out.ravel()], axis=1)
    lines += output.table(problem.output_labels(), ["value", "J @ tangent"], table, args.precision)
    return _finish(problem, lines, out)


# -- graph ----------------------------------------------------------------------------


def graph(args: argparse.Namespace) -> int:
    """``chainrule graph``: the listing of ``cr.graph`` and, with ``-o``, its picture.

    Without Graphviz, ``-o g.svg`` still prints the listing, writes ``g.dot``
    and warns how to draw it; the exit status stays 0.
    """
    target = Path(args.output) if args.output is not None else None
    if target is not None:
        files.check_picture_target(target, "-o", args.backward)
    problem = prepare(args)
    function = _named(problem)
    try:
        g = cr.graph(function)(*problem.primals)
    except MATH_ERRORS as e:
        raise MathError(" ".join(str(e).split())) from None
    backward = g.backward() if args.backward else None
    pictures = [g] + ([] if backward is None else [backward])
    if args.json:
        written = [] if target is None else files.save_pictures(pictures, target, "-o")
        payload = problem.json_base("graph")
        payload.update(
            listing=str(g),
            backward=None if backward is None else str(backward),
            dot=g.to_dot(),
            written=[str(p) for p in written],
        )
        output.print_json(payload)
        return 0
    # The listing first: it is worth having even if the picture cannot be written.
    print("\n".join([str(g)] + ([] if backward is None else ["", str(backward)])))
    sys.stdout.flush()
    if target is not None:
        print("\n".join(f"wrote {p}" for p in files.save_pictures(pictures, target, "-o")))
    return 0


def _named(problem: Problem) -> Any:
    """The problem's function with a signature naming its variables, so the
    graph's inputs carry the user's names."""
    function = problem.function
    parameters = [
        inspect.Parameter(n, inspect.Parameter.POSITIONAL_OR_KEYWORD) for n in problem.wrt
    ]

    def f(*values: Any) -> Any:
        return function(*values)

    f.__signature__ = inspect.Signature(parameters)  # type: ignore[attr-defined]
    return f


def _mode_name(mode: str) -> str:
    return {"fwd": "forward mode", "rev": "reverse mode"}.get(mode, mode)
