"""Parsing command-line expressions safely.

An expression is parsed with :mod:`ast` and then checked against an
allow-list of node types: numbers, names, lists and tuples, arithmetic,
comparisons, indexing and slicing, and calls to the functions of
``chainrule.numpy``. Anything else (attribute access, lambdas,
comprehensions, dunder names, ...) is refused before a single value is
computed. The code is never handed to ``eval``; :mod:`.evaluate` walks the
checked tree itself.
"""

from __future__ import annotations

import ast
import difflib
from collections.abc import Iterable
from dataclasses import dataclass, field

from . import limits
from .errors import Refused, UsageError
from .functions import CONSTANTS, FUNCTIONS, NUMPY_ATTRIBUTES, NUMPY_PREFIXES

_OPERATORS = (
    ast.Add,
    ast.Sub,
    ast.Mult,
    ast.Div,
    ast.FloorDiv,
    ast.Mod,
    ast.Pow,
    ast.MatMult,
    ast.BitAnd,
    ast.BitOr,
    ast.BitXor,
)
_COMPARISONS = (ast.Eq, ast.NotEq, ast.Lt, ast.LtE, ast.Gt, ast.GtE)

# Why a construct is refused, by node type: one line each, with the way out
# where there is one.
_REFUSALS = {
    ast.Attribute: "attribute access is not allowed",
    ast.Lambda: "lambda functions are not allowed",
    ast.ListComp: "comprehensions are not allowed",
    ast.SetComp: "comprehensions are not allowed",
    ast.DictComp: "comprehensions are not allowed",
    ast.GeneratorExp: "generator expressions are not allowed",
    ast.Dict: "dicts are not allowed",
    ast.Set: "sets are not allowed",
    ast.NamedExpr: "assignment expressions (:=) are not allowed",
    ast.IfExp: "conditional expressions are not allowed; use where(condition, a, b)",
    ast.BoolOp: "'and' / 'or' are not allowed; use logical_and(a, b) / logical_or(a, b)",
    ast.JoinedStr: "f-strings are not allowed",
    ast.Starred: "star-arguments (*args) are not allowed",
    ast.Await: "await is not allowed",
}


@dataclass
class Expression:
    """A parsed and checked expression."""

    source: str
    tree: ast.Expression
    #: Names read as values (variables or constants), in order of first use.
    names: list[str] = field(default_factory=list)
    #: Functions called, as written (``sin``, ``linalg.norm``).
    functions: list[str] = field(default_factory=list)

    def segment(self, node: ast.AST) -> str:
        """The source text of ``node``."""
        return ast.get_source_segment(self.source, node) or self.source

    def quote(self, node: ast.AST, limit: int = 60) -> str:
        """The source text of ``node`` for a message: quoted, on one line, and
        shortened in the middle beyond ``limit`` characters.

        >>> e = parse("sum(" + " + ".join(["x"] * 40) + ")")
        >>> e.quote(e.tree.body)
        "'sum(x + x + x + x + x + x + ... x + x + x + x + x + x + x)'"
        """
        text = " ".join(self.segment(node).split())
        if len(text) > limit:
            half = (limit - 5) // 2
            text = f"{text[:half].rstrip()} ... {text[-half:].lstrip()}"
        return f"'{text}'"

    def output_labels(self, count: int) -> list[str] | None:
        """Labels for the outputs when the expression is a list literal
        ``[a, b, ...]`` of ``count`` entries (its entries' source text)."""
        body = self.tree.body
        if isinstance(body, (ast.List, ast.Tuple)) and len(body.elts) == count:
            return [" ".join(self.segment(e).split()) for e in body.elts]
        return None


def parse(source: str, what: str = "expression") -> Expression:
    """Parse and check ``source``; raise :class:`UsageError` or :class:`Refused`.

    >>> parse("sum(sin(x) * y)").names
    ['x', 'y']
    >>> parse("x.__class__")
    Traceback (most recent call last):
    ...
    chainrule.cli.errors.Refused: attribute access is not allowed: 'x.__class__' (column 1)
    """
    source = source.strip()
    if not source:
        raise UsageError(f"the {what} is empty")
    bad = next((c for c in source if ord(c) < 32 and c not in "\t\n\r"), None)
    if bad is not None:
        raise UsageError(f"the {what} contains the control character {bad!r}")
    if len(source) > limits.MAX_CHARS:
        raise Refused(
            f"the {what} is {len(source):,} characters long; the limit is {limits.MAX_CHARS:,}"
        )
    try:
        tree = ast.parse(source, mode="eval")
    except SyntaxError as e:
        raise UsageError(syntax_message(source, e, what)) from None
    except (RecursionError, MemoryError):
        raise Refused(f"the {what} is nested too deeply") from None
    except ValueError as e:  # what the parser rejects before parsing (null bytes)
        raise UsageError(f"the {what} cannot be read: {e}") from None
    expression = Expression(source, tree)
    _Checker(expression).check()
    return expression


def syntax_message(source: str, error: SyntaxError, what: str) -> str:
    """The expression with a caret under the fault, as three lines."""
    lines = source.splitlines() or [source]
    row = min(max((error.lineno or 1) - 1, 0), len(lines) - 1)
    line = lines[row]
    column = min(max((error.offset or 1) - 1, 0), len(line))
    reason = " ".join(str(error.msg).split())
    if reason == "invalid syntax" and column >= len(line):
        reason = "the expression ends too early"
    # A long line is shown as a window of 70 characters around the fault.
    start = min(max(column - 35, 0), max(len(line) - 70, 0))
    shown, column = line[start : start + 70], column - start
    if start > 0:
        shown, column = "..." + shown, column + 3
    if start + 70 < len(line):
        shown += "..."
    return f"syntax error in the {what}: {reason}\n  {shown}\n  {' ' * column}^"


def suggest(name: str, candidates: Iterable[str]) -> str:
    """``"; did you mean 'a' or 'b'?"`` for the candidates nearest ``name``."""
    pool = sorted(set(candidates))
    # A function written without its namespace (svd -> linalg.svd) comes first.
    close = [c for c in pool if c.endswith("." + name)]
    close += [c for c in difflib.get_close_matches(name, pool, n=3, cutoff=0.6) if c not in close]
    close = close[:3]
    if not close:
        return ""
    quoted = [f"'{c}'" for c in close]
    text = quoted[0] if len(quoted) == 1 else ", ".join(quoted[:-1]) + " or " + quoted[-1]
    return f"; did you mean {text}?"


def check_names(expression: Expression, variables: Iterable[str]) -> None:
    """Every name the expression reads must be a variable or a constant."""
    known = set(variables)
    for name in expression.names:
        if name in known or name in CONSTANTS:
            continue
        if name in FUNCTIONS:
            raise UsageError(f"'{name}' is a function; call it, as in {name}(x)")
        names = sorted(known)
        given = ", ".join(names[:10]) + (f" and {len(names) - 10} more" if len(names) > 10 else "")
        given = given or "none"
        raise UsageError(
            f"unknown variable '{name}'{suggest(name, list(known) + list(CONSTANTS))} "
            f"(give its value with --at {name}=VALUE; variables given: {given})"
        )


class _Checker:
    """Walks the tree once, refusing anything outside the allow-list and
    collecting the names and functions used."""

    def __init__(self, expression: Expression) -> None:
        self.expression = expression

    def check(self) -> None:
        nodes = list(ast.walk(self.expression.tree))
        if len(nodes) > limits.MAX_NODES:
            raise Refused(
                f"the expression has {len(nodes):,} parts; the limit is {limits.MAX_NODES:,}"
            )
        if _depth(self.expression.tree) > limits.MAX_DEPTH:
            raise Refused(f"the expression is nested more than {limits.MAX_DEPTH} levels deep")
        self.visit(self.expression.tree.body, context="value")

    def refuse(self, node: ast.AST, reason: str) -> Refused:
        column = getattr(node, "col_offset", 0) + 1
        return Refused(f"{reason}: {self.expression.quote(node)} (column {column})")

    def visit(self, node: ast.AST, context: str) -> None:
        """Check ``node``; ``context`` is "value", "index" (inside ``[...]``) or
        "argument" (a direct call argument, where strings are allowed)."""
        if numpy_attribute(node) is not None:
            return  # np.pi, numpy.newaxis: a constant, spelled as in NumPy code
        if type(node) in _REFUSALS:
            raise self.refuse(node, _REFUSALS[type(node)])
        if isinstance(node, ast.Constant):
            self.constant(node, context)
        elif isinstance(node, ast.Name):
            self.name(node)
        elif isinstance(node, (ast.List, ast.Tuple)):
            for element in node.elts:
                self.visit(element, "index" if context == "index" else "value")
        elif isinstance(node, ast.BinOp):
            if not isinstance(node.op, _OPERATORS):
                raise self.refuse(node, "shift operators are not allowed; use left_shift(a, b)")
            self.visit(node.left, "value")
            self.visit(node.right, "value")
        elif isinstance(node, ast.UnaryOp):
            if not isinstance(node.op, (ast.USub, ast.UAdd)):
                raise self.refuse(
                    node, "only unary - and + are allowed; use logical_not(x) or invert(x)"
                )
            self.visit(node.operand, "value")
        elif isinstance(node, ast.Compare):
            if len(node.ops) != 1 or not isinstance(node.ops[0], _COMPARISONS):
                raise self.refuse(
                    node,
                    "only single comparisons (<, <=, ==, !=, >=, >) are "
                    "allowed; combine them with logical_and",
                )
            self.visit(node.left, "value")
            self.visit(node.comparators[0], "value")
        elif isinstance(node, ast.Subscript):
            self.visit(node.value, "value")
            self.visit(node.slice, "index")
        elif isinstance(node, ast.Slice) and context == "index":
            for part in (node.lower, node.upper, node.step):
                if part is not None:
                    self.visit(part, "value")
        elif isinstance(node, ast.Call):
            self.call(node)
        else:
            raise self.refuse(node, f"{type(node).__name__} is not allowed in expressions")

    def constant(self, node: ast.Constant, context: str) -> None:
        value = node.value
        if value is Ellipsis and context == "index":
            return
        if isinstance(value, str) and context == "argument":
            if len(value) > limits.MAX_STRING:
                raise self.refuse(
                    node, f"strings longer than {limits.MAX_STRING} characters are not allowed"
                )
            return
        if isinstance(value, complex):
            raise self.refuse(node, "complex numbers are not supported on the command line")
        if isinstance(value, int) and not isinstance(value, bool):
            limits.check_int(value, f"the literal at column {node.col_offset + 1}")
        if value is None or isinstance(value, (bool, int, float)):
            return
        kind = "strings" if isinstance(value, str) else type(value).__name__
        where = " except as function arguments" if isinstance(value, str) else ""
        raise self.refuse(node, f"{kind} are not allowed{where}")

    def name(self, node: ast.Name) -> None:
        if node.id.startswith("_"):
            raise self.refuse(node, "names starting with '_' are not allowed")
        if node.id not in self.expression.names:
            self.expression.names.append(node.id)

    def call(self, node: ast.Call) -> None:
        name = function_name(node.func)
        if name is None and isinstance(node.func, ast.Attribute):
            method = node.func.attr
            hint = f"; write {method}(...) instead" if method in FUNCTIONS else ""
            raise self.refuse(node.func, f"attribute access is not allowed{hint}")
        if name is None and type(node.func) in _REFUSALS:
            raise self.refuse(node.func, _REFUSALS[type(node.func)])
        if name is None:
            raise self.refuse(
                node,
                "only functions of chainrule.numpy can be called, by name "
                "(like sin(x) or linalg.norm(x))",
            )
        if name.startswith("_") or "._" in name:
            raise self.refuse(node.func, "names starting with '_' are not allowed")
        if name not in FUNCTIONS:
            raise UsageError(
                f"unknown function '{dotted_name(node.func)}'{suggest(name, FUNCTIONS)} "
                f"(column {node.col_offset + 1})"
            )
        if name not in self.expression.functions:
            self.expression.functions.append(name)
        for argument in node.args:
            self.visit(argument, "argument")
        for keyword in node.keywords:
            if keyword.arg is None:
                raise self.refuse(node, "**keyword arguments are not allowed")
            if keyword.arg == "out" or keyword.arg.startswith("_"):
                raise self.refuse(node, f"the keyword argument '{keyword.arg}' is not allowed")
            self.visit(keyword.value, "argument")


def dotted_name(node: ast.AST) -> str | None:
    """``np.linalg.norm`` for that chain of names and attributes; None otherwise."""
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if not isinstance(node, ast.Name):
        return None
    return ".".join([node.id, *reversed(parts)])


def _strip_numpy(name: str) -> str:
    for prefix in NUMPY_PREFIXES:
        if name.startswith(prefix):
            return name[len(prefix) :]
    return name


def function_name(node: ast.AST) -> str | None:
    """The allow-list's name for a called function: ``sin`` for ``sin``,
    ``np.sin`` and ``numpy.sin``; ``linalg.norm`` for ``linalg.norm`` and
    ``np.linalg.norm``. None when ``node`` is not a dotted name of a function
    (a method call such as ``x.sum``).

    >>> import ast
    >>> [function_name(ast.parse(t, mode="eval").body) for t in ("np.linalg.norm", "x.sum")]
    ['linalg.norm', None]
    """
    name = dotted_name(node)
    if name is None:
        return None
    plain = _strip_numpy(name)
    if "." not in plain or plain.startswith("linalg.") or plain != name:
        return plain
    return None


def numpy_attribute(node: ast.AST) -> str | None:
    """``pi`` for ``np.pi`` or ``numpy.pi`` (and likewise ``e``, ``inf``, ``nan``,
    ``newaxis``); None for anything else."""
    if not isinstance(node, ast.Attribute):
        return None
    name = dotted_name(node)
    if name is None:
        return None
    plain = _strip_numpy(name)
    return plain if plain != name and plain in NUMPY_ATTRIBUTES else None


def _depth(tree: ast.AST) -> int:
    """Nesting depth, without recursion (a deep tree must not crash the check)."""
    deepest, stack = 0, [(tree, 1)]
    while stack:
        node, depth = stack.pop()
        deepest = max(deepest, depth)
        stack += [(child, depth + 1) for child in ast.iter_child_nodes(node)]
    return deepest
