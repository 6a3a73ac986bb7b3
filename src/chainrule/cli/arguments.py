"""The command line's grammar: one argparse parser with a subparser per command.

Every subcommand has ``--help`` with examples; each subparser stores the
function that runs it in ``args.run``.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import NoReturn

from . import commands, demo

_EXPRESSIONS = """\
expressions: numbers, variables, lists ([1, 2]), + - * / // % ** @, comparisons,
indexing and slicing (x[0], A[:, 1]), and calls to chainrule.numpy functions
(sin, exp, sum, dot, linalg.norm, ...); constants pi, e, inf, nan. Nothing else
is evaluated. Quote the expression; one that starts with '-' needs a space in it
("- x**2") or '--' before it, after the options.
"""


#: What bare ``chainrule`` prints (to stderr, with exit status 2, as argparse
#: does when a required argument is missing).
SHORT_USAGE = """\
usage: chainrule COMMAND [options]

Start with the walk-through of the lecture's least squares:
  chainrule demo

or differentiate an expression:
  chainrule grad "sum(sin(x) * y)" --at "x=[1,2,3]" "y=[4,5,6]"
  chainrule jacobian "[x1**2 + x2, x1*x2]" --at x1=3 x2=2

commands: grad, jacobian, hessian, jvp, graph, demo
'chainrule --help' describes them; 'chainrule COMMAND --help' gives examples.
"""


class _Parser(argparse.ArgumentParser):
    """argparse, with one-line errors and a hint for the one trap it sets for
    expressions."""

    def error(self, message: str) -> NoReturn:
        message = " ".join(message.split())
        if "EXPR" in message:
            # argparse reads "-x**2" as an option, so the expression seems missing.
            message += (
                " (an expression that starts with '-' needs a space in it, as in \"- x**2\", "
                "or '--' before it, after the options: chainrule grad --at x=1 -- \"-x**2\")"
            )
        else:
            message += f" (see '{self.prog} --help')"
        self.exit(2, f"{self.prog}: error: {message}\n")


def _bounded_int(low: int, high: int) -> Callable[[str], int]:
    """An argparse type: an integer from ``low`` to ``high``."""

    def read(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"must be from {low} to {high:,}, got {value}")
        return value

    read.__name__ = "integer"
    return read


def _tolerance(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not value >= 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"must be a finite number >= 0, got {text!r}")
    return value


def _formatter(prog: str) -> argparse.HelpFormatter:
    return argparse.RawDescriptionHelpFormatter(prog, max_help_position=30)


def _add_expression_arguments(p: argparse.ArgumentParser, derivative: bool = True) -> None:
    p.add_argument("expression", metavar="EXPR", help="the expression, in quotes")
    p.add_argument(
        "--at",
        nargs="+",
        action="extend",
        default=[],
        metavar="NAME=VALUE",
        help='values of the variables, e.g. x1=3 "x=[1, 2, 3]"',
    )
    p.add_argument(
        "--wrt",
        nargs="+",
        action="extend",
        metavar="NAME",
        help="differentiate with respect to these variables only "
        "(default: every variable given with --at)",
    )
    p.add_argument("--json", action="store_true", help="print one JSON object instead of tables")
    if derivative:
        p.add_argument(
            "--precision",
            type=_bounded_int(1, 17),
            default=6,
            metavar="DIGITS",
            help="significant digits shown, 1 to 17 (default 6)",
        )


def _add_mode(p: argparse.ArgumentParser, default: str, help_text: str) -> None:
    p.add_argument("--mode", choices=("fwd", "rev"), default=default, help=help_text)


def _subcommand(
    sub: argparse._SubParsersAction, name: str, summary: str, examples: str
) -> argparse.ArgumentParser:
    return sub.add_parser(
        name,
        help=summary,
        description=f"{summary}\n\n{_EXPRESSIONS}",
        epilog=f"examples:\n{examples}",
        formatter_class=_formatter,
    )


def build_parser() -> argparse.ArgumentParser:
    """The ``chainrule`` argument parser."""
    from chainrule import __version__

    parser = _Parser(
        prog="chainrule",
        description="Exact derivatives of expressions from the command line, and the "
        "lecture's least-squares walk-through ('chainrule demo': start there). Without a "
        "command, prints a short usage and exits with status 2.",
        epilog="run 'chainrule COMMAND --help' for each command's options and examples",
        formatter_class=_formatter,
    )
    parser.add_argument("--version", action="version", version=f"chainrule {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    p = _subcommand(
        sub,
        "grad",
        "the gradient of a scalar expression",
        '  chainrule grad "sum(sin(x) * y)" --at "x=[1,2,3]" "y=[4,5,6]"\n'
        '  chainrule grad "x**2 * y" --at x=3 y=2 --mode fwd --json\n',
    )
    _add_expression_arguments(p)
    _add_mode(p, "rev", "reverse mode (cr.grad, the default) or forward mode (cr.jacfwd)")
    p.set_defaults(run=commands.grad)

    p = _subcommand(
        sub,
        "jacobian",
        "the Jacobian: rows are outputs, columns are variables",
        '  chainrule jacobian "[x1**2 + x2, x1*x2]" --at x1=3 x2=2\n'
        '  chainrule jacobian "A @ x" --at "A=[[1,2],[3,4]]" "x=[1,1]" --wrt x\n',
    )
    _add_expression_arguments(p)
    _add_mode(p, "rev", "reverse mode (cr.jacrev, the default) or forward mode (cr.jacfwd)")
    p.set_defaults(run=commands.jacobian)

    p = _subcommand(
        sub,
        "hessian",
        "the Hessian: all second derivatives",
        '  chainrule hessian "x1**2 * x2 + exp(x2)" --at x1=1 x2=0\n'
        '  chainrule hessian "sum(x**3)" --at "x=[1,2]" --json\n',
    )
    _add_expression_arguments(p)
    _add_mode(
        p, "fwd", "fwd: forward over reverse (cr.hessian, the default); rev: reverse over reverse"
    )
    p.set_defaults(run=commands.hessian)

    p = _subcommand(
        sub,
        "jvp",
        "the directional derivative J @ tangent (forward mode)",
        '  chainrule jvp "[x*y, sin(x)]" --at x=1 y=2 --tangent x=1 y=0\n'
        '  chainrule jvp "x**2" --at "x=[1,2,3]" --tangent "x=[1,0,0]"\n',
    )
    _add_expression_arguments(p)
    p.add_argument(
        "--tangent",
        nargs="+",
        action="extend",
        default=[],
        metavar="NAME=VALUE",
        help="the direction, per variable (variables left out get 0)",
    )
    p.set_defaults(run=commands.jvp)

    p = _subcommand(
        sub,
        "graph",
        "the computational graph (cr.graph): listing and picture",
        '  chainrule graph "sum(sin(x) * y)" --at "x=[1,2,3]" "y=[4,5,6]" '
        "--backward\n"
        '  chainrule graph "x1**2 + x1*x2" --at x1=3 x2=2 -o graph.svg\n',
    )
    _add_expression_arguments(p, derivative=False)
    p.add_argument("--backward", action="store_true", help="also list the backward (VJP) program")
    p.add_argument(
        "-o",
        "--output",
        metavar="PATH",
        help="write the picture: .svg, .png or .pdf (needs Graphviz; without it, PATH.dot "
        "is written instead, with a warning) or .dot; with --backward the backward graph "
        "goes to PATH-backward too",
    )
    p.set_defaults(run=commands.graph)

    p = sub.add_parser(
        "demo",
        help="the lecture's least squares, by backpropagation (start here)",
        description=demo.HELP,
        formatter_class=_formatter,
        epilog="examples:\n  chainrule demo\n  chainrule demo --steps 500 --plot loss.png "
        "--graph graph.svg\n",
    )
    p.add_argument(
        "--steps",
        type=_bounded_int(0, demo.MAX_STEPS),
        default=20_000,
        help="most gradient-descent steps (default 20000, at most 1,000,000; it stops "
        "when converged)",
    )
    p.add_argument(
        "--tol",
        type=_tolerance,
        default=1e-10,
        help="stop when every gradient entry is below this (default 1e-10)",
    )
    p.add_argument(
        "--data",
        choices=("auto", "diabetes", "generated"),
        default="auto",
        help="the diabetes data of Efron et al. (2004), shipped with chainrule (diabetes or "
        "auto, the default), or generated data",
    )
    p.add_argument(
        "--seed", type=_bounded_int(0, 2**63 - 1), default=0, help="seed for generated data"
    )
    p.add_argument("--plot", metavar="PATH", help="save the risk curve (needs matplotlib)")
    p.add_argument(
        "--graph",
        metavar="PATH",
        help="save the forward and backward graphs (.svg/.png/.pdf need Graphviz)",
    )
    p.set_defaults(run=demo.run)
    return parser
