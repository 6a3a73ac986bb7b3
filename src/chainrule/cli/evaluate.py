"""Evaluating a checked expression by walking its syntax tree.

The same walk runs on plain arrays (to get the value, the shapes and the
largest intermediate) and on chainrule's traced values (to differentiate),
so what is differentiated is exactly what was checked. Before each operation
the size of its result is predicted and refused if too large; errors from
NumPy or chainrule become one-line :class:`MathError`\\ s naming the
sub-expression that failed.
"""

from __future__ import annotations

import ast
import operator
import warnings
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

import chainrule.numpy as cnp

from . import limits
from .errors import CliError, MathError, Refused
from .expressions import Expression, function_name, numpy_attribute
from .functions import CONSTANTS, FUNCTIONS, NUMPY_ATTRIBUTES

_BINARY: dict[type, Callable[[Any, Any], Any]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.FloorDiv: operator.floordiv,
    ast.Mod: operator.mod,
    ast.Pow: operator.pow,
    ast.MatMult: operator.matmul,
    ast.BitAnd: operator.and_,
    ast.BitOr: operator.or_,
    ast.BitXor: operator.xor,
}
_COMPARE: dict[type, Callable[[Any, Any], Any]] = {
    ast.Eq: operator.eq,
    ast.NotEq: operator.ne,
    ast.Lt: operator.lt,
    ast.LtE: operator.le,
    ast.Gt: operator.gt,
    ast.GtE: operator.ge,
}
#: What NumPy and chainrule raise for bad mathematics (rather than bad code).
MATH_ERRORS = (
    ValueError,
    TypeError,
    IndexError,
    ArithmeticError,
    NotImplementedError,
    np.linalg.LinAlgError,
    RuntimeError,
)


class Evaluator:
    """Evaluates one :class:`Expression` for given variable values.

    >>> from chainrule.cli.expressions import parse
    >>> Evaluator(parse("[x1**2 + x2, x1*x2]")).run({"x1": 3.0, "x2": 2.0})
    array([11.,  6.])
    """

    def __init__(self, expression: Expression) -> None:
        self.expression = expression
        #: The most elements any value had in the last :meth:`run`.
        self.largest = 1
        #: Elements computed in all by the last :meth:`run` (what a tape would keep).
        self.total = 0
        #: Predicted work of the last :meth:`run`, in the units of ``limits.MAX_WORK``.
        self.work = 0
        self._variables: dict[str, Any] = {}
        self._held = 0  # elements of operands waiting for their operation

    def run(self, variables: dict[str, Any]) -> Any:
        """The value of the expression; lists and tuples become arrays."""
        self._variables = variables
        self.largest = max([limits.size_of(v) for v in variables.values()] + [1])
        self.total, self.work, self._held = 0, 0, 0
        with np.errstate(all="ignore"), warnings.catch_warnings():
            # nan and inf speak for themselves in the output; NumPy's warnings
            # about them would only repeat it on stderr.
            warnings.simplefilter("ignore")
            result = self.eval(self.expression.tree.body)
            if isinstance(result, (list, tuple)):
                result = self._stack(self.expression.tree.body, list(result))
        return result

    def function(self, names: list[str], constants: dict[str, Any] | None = None) -> Callable:
        """The expression as a function of the variables ``names`` (in order),
        the others fixed at ``constants``: what the transforms differentiate."""
        fixed = dict(constants or {})

        def f(*values: Any) -> Any:
            out = self.run({**fixed, **dict(zip(names, values))})
            dtype = getattr(out, "dtype", None)
            if dtype is None or dtype.kind in "biu":
                # An integer or boolean result has derivative zero; make it a
                # float so the transforms can say so instead of refusing.
                out = cnp.astype(cnp.asarray(out), float)
            return out

        return f

    # -- the walk ------------------------------------------------------------------
    def eval(self, node: ast.AST) -> Any:
        """The value of one node (also reached recursively)."""
        method = getattr(self, "_" + type(node).__name__.lower())
        try:
            value = method(node)
        except CliError:
            raise
        except MemoryError:
            raise Refused(f"not enough memory for {self.expression.quote(node)}") from None
        except RecursionError:
            raise Refused("the expression is nested too deeply") from None
        except MATH_ERRORS as e:
            raise MathError(f"in {self.expression.quote(node)}: {_one_line(e)}") from None
        size = limits.size_of(value)
        where = f"{self.expression.quote(node)}"
        limits.check_size(size, where)
        limits.check_value(value, where)
        if isinstance(value, int) and not isinstance(value, bool):
            limits.check_int(value, where)
        self.largest = max(self.largest, size)
        self.total += size
        limits.check_total(self.total)
        return value

    def _charge(self, work: int, node: ast.AST) -> None:
        """Count ``work`` (predicted, before it is done) against the limit."""
        self.work += work + (0 if isinstance(node, ast.Call) else limits.NODE_WORK)
        limits.check_work(self.work, f"{self.expression.quote(node)}")

    def _operands(self, nodes: Sequence[ast.AST | None]) -> list[Any]:
        """Evaluate sibling nodes in order, counting the values already held
        while later ones are computed (``[ones(10**6), ones(10**6), ...]``
        must be refused before it fills memory, not after)."""
        values, held = [], 0
        try:
            for node in nodes:
                value = None if node is None else self.eval(node)
                size = limits.size_of(value) if node is not None else 0
                held += size
                self._held += size
                limits.check_held(self._held)
                values.append(value)
        finally:
            self._held -= held
        return values

    def _constant(self, node: ast.Constant) -> Any:
        return node.value

    def _name(self, node: ast.Name) -> Any:
        if node.id in self._variables:
            return self._variables[node.id]
        return CONSTANTS[node.id]

    def _attribute(self, node: ast.Attribute) -> Any:
        # Only np.pi and its kind pass the checker; no attribute is ever looked up.
        name = numpy_attribute(node)
        assert name is not None
        return NUMPY_ATTRIBUTES[name]

    def _list(self, node: ast.List) -> Any:
        return self._stack(node, self._operands(node.elts))

    def _tuple(self, node: ast.Tuple) -> Any:
        return tuple(self._operands(node.elts))

    def _slice(self, node: ast.Slice) -> slice:
        parts = self._operands([node.lower, node.upper, node.step])
        return slice(*parts)

    def _unaryop(self, node: ast.UnaryOp) -> Any:
        value = self.eval(node.operand)
        _refuse_containers(node, self.expression, value)
        self._charge(limits.ELEMENT_WORK * limits.size_of(value), node)
        return -value if isinstance(node.op, ast.USub) else +value

    def _binop(self, node: ast.BinOp) -> Any:
        left, right = self._operands([node.left, node.right])
        _refuse_containers(node, self.expression, left, right)
        where = f"{self.expression.quote(node)}"
        if isinstance(node.op, ast.Pow) and all(_is_int(v) for v in (left, right)):
            limits.check_int_power(left, right, where)
        if isinstance(node.op, ast.MatMult):
            a = limits.shape_of(left)
            size = _check_matmul(a, limits.shape_of(right), where)
            self._charge(size * max(a[-1], 1) + limits.ELEMENT_WORK * size, node)
        else:
            size = _check_broadcast(left, right, where)
            self._charge(limits.ELEMENT_WORK * size, node)
        return _BINARY[type(node.op)](left, right)

    def _compare(self, node: ast.Compare) -> Any:
        left, right = self._operands([node.left, node.comparators[0]])
        _refuse_containers(node, self.expression, left, right)
        size = _check_broadcast(left, right, f"{self.expression.quote(node)}")
        self._charge(limits.ELEMENT_WORK * size, node)
        return _COMPARE[type(node.ops[0])](left, right)

    def _subscript(self, node: ast.Subscript) -> Any:
        value, index = self._operands([node.value, node.slice])
        if limits.is_array(value):
            predicted = limits.predict_index_size(limits.shape_of(value), index)
            limits.check_size(predicted, f"{self.expression.quote(node)}")
            self._charge(limits.ELEMENT_WORK * predicted, node)
        return value[index]

    def _call(self, node: ast.Call) -> Any:
        name = function_name(node.func)
        assert name is not None  # the checker allowed only named functions
        values = self._operands(node.args + [k.value for k in node.keywords])
        args = tuple(values[: len(node.args)])
        kwargs = {k.arg: v for k, v in zip(node.keywords, values[len(node.args) :]) if k.arg}
        where = f"{self.expression.quote(node)}"
        itemsize = limits.check_call_arguments(name, args, kwargs)
        predicted, work = limits.predict_call(name, args, kwargs)
        limits.check_size(predicted, where)
        limits.check_bytes(predicted, itemsize, where)
        self._charge(work, node)
        return FUNCTIONS[name](*args, **kwargs)

    def _stack(self, node: ast.AST, elements: list) -> Any:
        """An array from a list literal (or a tuple result), checking that the
        entries fit together before NumPy tries."""
        if any(isinstance(e, str) for e in elements):
            raise MathError(f"in {self.expression.quote(node)}: strings are not numbers")
        shapes = [limits.shape_of(e) for e in elements]
        size = sum(limits.size_of(e) for e in elements)
        limits.check_size(size, f"{self.expression.quote(node)}")
        self._charge(limits.ELEMENT_WORK * size, node)
        for shape in shapes[1:]:
            if shape != shapes[0]:
                raise MathError(
                    f"shape mismatch in {self.expression.quote(node)}: its entries have "
                    f"shapes {_shape_text(shapes[0])} and {_shape_text(shape)}"
                )
        try:
            return cnp.array(elements)
        except MATH_ERRORS as e:
            raise MathError(f"in {self.expression.quote(node)}: {_one_line(e)}") from None


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _refuse_containers(node: ast.AST, expression: Expression, *values: Any) -> None:
    # Python's own meaning of * and + on tuples (repetition, concatenation) is
    # not NumPy's, and (0,) * 10**9 would exhaust memory.
    if any(isinstance(v, (list, tuple, str)) for v in values):
        raise MathError(
            f"in {expression.quote(node)}: arithmetic needs arrays or numbers, "
            "not tuples; write [a, b] for an array"
        )


def _shape_text(shape: tuple[int, ...]) -> str:
    return "(" + ", ".join(map(str, shape)) + ("," if len(shape) == 1 else "") + ")"


def _check_broadcast(left: Any, right: Any, where: str) -> int:
    a, b = limits.shape_of(left), limits.shape_of(right)
    size = limits.broadcast_size([a, b])
    if size is None:
        raise MathError(
            f"shape mismatch in {where}: shapes {_shape_text(a)} and "
            f"{_shape_text(b)} do not broadcast together"
        )
    limits.check_size(size, where)
    return size


def _check_matmul(a: tuple[int, ...], b: tuple[int, ...], where: str) -> int:
    if not a or not b:
        raise MathError(
            f"in {where}: @ needs arrays with at least one dimension, got shapes "
            f"{_shape_text(a)} and {_shape_text(b)}; use * for scalars"
        )
    inner_b = b[-2] if len(b) >= 2 else b[0]
    if a[-1] != inner_b:
        raise MathError(
            f"shape mismatch in {where}: {_shape_text(a)} @ {_shape_text(b)}, "
            f"the inner dimensions {a[-1]} and {inner_b} differ"
        )
    size = limits.matmul_size(a, b)
    if size is None:
        raise MathError(
            f"shape mismatch in {where}: the leading dimensions of "
            f"{_shape_text(a)} and {_shape_text(b)} do not broadcast"
        )
    limits.check_size(size, where)
    return size


def _one_line(error: BaseException) -> str:
    if isinstance(error, OverflowError):
        return "overflow: the result is too large to represent"
    text = " ".join(str(error).split()) or type(error).__name__
    return text if len(text) <= 300 else text[:297] + "..."
