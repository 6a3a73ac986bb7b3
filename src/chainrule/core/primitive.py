"""Primitives and the tables that hold their derivative rules.

A primitive is a function whose local derivative we know. Its rules are two
lists indexed by argument position:

* ``vjp[i](ans, *args, **kwargs)`` runs in the forward pass and returns the
  function ``g -> cotangent of args[i]``. Doing the work in two stages lets a
  rule keep only what the backward step needs (a shape, not an array).
* ``jvp[i](t, ans, *args, **kwargs)`` returns the tangent of the output
  contributed by the tangent ``t`` of ``args[i]``.

``None`` in either list means "no derivative through this argument" (a
condition, an index). Rules are written with ordinary NumPy calls, so when the
values are themselves traced the rule is differentiated too: higher order
costs nothing extra.

Several results: a primitive made with ``multiple_results=True`` (``eigh``,
``svd``, ``qr``) returns a tuple. Its VJP closures then take a tuple of
cotangents, one per result, in which ``None`` is the symbolic zero of a
result nobody used; its JVP rules return a tuple of tangents (``None`` for
zero).

Batches: ``jacrev``/``jacfwd``/``hessian`` push many cotangents or tangents at
once, stacked on extra *leading* axes. Rules are written to act on the
trailing axes (negative axis numbers, ``...`` in indexing) so that they work
unchanged on such stacks.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .registry import STEPS_INTO
from .trace import bind

VjpMaker = Callable[..., Callable[[Any], Any]]
JvpRule = Callable[..., Any]


class Primitive:
    """A differentiable operation: a name, an implementation on plain values,
    and its derivative rules (see the module docstring)."""

    __slots__ = (
        "name",
        "impl",
        "vjp",
        "jvp",
        "complex_ok",
        "real_cotangents",
        "fused_jvp",
        "constant_rules",
        "multiple_results",
        "short_vjp",
        "direct",
        "partner",
        "direct_pair",
        "joint_vjp",
        "square_vjp",
    )

    def __init__(
        self,
        name: str,
        impl: Callable[..., Any],
        complex_ok: bool = False,
        multiple_results: bool = False,
    ) -> None:
        self.name = name
        self.impl = impl
        self.multiple_results = multiple_results
        # Whether the rules follow the complex convention (docs/design.md);
        # until they do, complex values meeting this primitive are refused.
        self.complex_ok = complex_ok
        # Whether the engine gives a real argument of a complex result the
        # real part of its cotangent (set by rules._util.allow_complex).
        self.real_cotangents = False
        self.vjp: Any = []
        self.jvp: Any = []
        # The VJP makers when the traces' short paths may use them (a list of
        # at least two, one result), else None: one test on the hot path.
        self.short_vjp: Any = None
        # ConstantRules by the position of the traced operand when the other
        # is a Python number: [x (op) c, c (op) x] (see ConstantRule).
        self.constant_rules: list[Any] = [None, None]
        # Optional shortcut of a one-argument primitive's ``vjp`` for the reverse
        # trace's short path: ``(bwd, keep, slope)`` (see ``set_direct``), else None.
        self.direct: tuple[Any, int, Any] | None = None
        # Optional, with ``direct``: ``(other, bwd)`` when this primitive's
        # derivative is another primitive's value at the same argument (sin and
        # cos), so one computed forward need not be computed again (see set_partner).
        self.partner: tuple[Primitive, Any] | None = None
        # Optional, for two-argument primitives: the reverse trace's short path
        # when one operand is a constant ndarray (see set_direct_pair), else None.
        self.direct_pair: Any = None
        # Optional, for two-argument primitives: the cotangents of both traced
        # operands from one function, sharing work (see set_joint_vjp), else None.
        self.joint_vjp: Any = None
        # The same, asked only when both operands are one traced value (x * x).
        self.square_vjp: Any = None
        # Optional, for two-argument primitives: ``fused_jvp(i, x, other, t)``
        # computes the value and the tangent together when only argument
        # ``i`` (value ``x``, tangent ``t``) is traced, or returns None to
        # decline. matmul uses it to read a constant matrix once for both.
        self.fused_jvp: Any = None

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return bind(self, args, kwargs)

    def __repr__(self) -> str:
        return f"<primitive {self.name}>"

    def defvjp(self, *makers: Any) -> Primitive:
        # shortcuts of the makers replaced: set them again after
        self.direct = self.partner = self.direct_pair = self.joint_vjp = self.square_vjp = None
        self.vjp = makers[0] if isinstance(makers[0], EachArgument) else list(makers)
        if type(self.vjp) is list and not self.multiple_results:
            if len(self.vjp) < 2:
                self.vjp.append(None)  # the short paths read makers[1] unchecked
            self.short_vjp = self.vjp  # the same list: later edits of vjp[i] count
        return self

    def defjvp(self, *rules: Any) -> Primitive:
        self.jvp = rules[0] if isinstance(rules[0], EachArgument) else list(rules)
        return self


# What a direct backward step keeps from the forward pass (``set_direct``).
KEEP_ANS, KEEP_X, KEEP_C, KEEP_NOTHING, KEEP_X_AND_C = range(5)


def pass_through(g: Any, saved: Any) -> Any:
    """The direct step of ``x + c``: the cotangent passes unchanged. The
    reverse trace recognises it and records ``(parent,)``, with no call at all
    in the backward pass."""
    return g


def set_direct(
    prim: Primitive,
    bwd: Callable[[Any, Any], Any],
    keep: int,
    slope: Any = None,
    into: Callable[[Any, Any], Any] | None = None,
) -> None:
    """Give the one-argument primitive ``prim`` a direct backward step.

    A VJP maker builds a closure per call (``lambda g: g * cos(x)``), which
    for scalar code costs as much as the arithmetic. A direct step is the
    same computation as a plain function ``bwd(g, saved)``: the reverse trace
    records ``(parent, bwd, saved)`` and calls it in the backward pass, so no
    closure is made. ``saved`` is the result (``KEEP_ANS``) or the argument's
    value (``KEEP_X``) — only what ``bwd`` needs, as for the makers. It must
    give exactly what ``prim.vjp[0](ans, x)(g)`` gives (tests/test_direct_steps.py
    compares the two, and tests/test_fast_paths.py both paths on random programs).

    ``slope``, optional, is a NumPy ufunc with ``bwd(g, saved) == g * slope(saved)``
    (sin's ``np.cos``): for a real scalar the trace then takes the slope in the
    forward pass, one C call, and the backward step is the bare product.

    ``into``, optional, is the same step writing its result into ``g``
    (see ``set_step_into``).
    """
    prim.direct = (bwd, keep, slope)
    if into is not None:
        set_step_into(bwd, into)


def set_step_into(bwd: Callable[[Any, Any], Any], into: Callable[[Any, Any], Any]) -> None:
    """Give the direct step ``bwd`` an in-place form: ``into(g, saved)`` writes
    ``bwd(g, saved)`` into the array ``g`` and returns it, or returns
    ``NotImplemented`` where it cannot (the result would need another shape
    or dtype). The backward pass calls it only with a cotangent array that
    nothing else refers to, so a chain of elementwise steps on large arrays
    allocates no new array per step (as NumPy's own elision of temporaries
    does for hand-written ``g * c * d``)."""
    STEPS_INTO[bwd] = into


def set_partner(prim: Primitive, other: Primitive, bwd: Callable[[Any, Any], Any]) -> None:
    """Say that ``prim``'s derivative is ``other``'s value at the same argument:
    ``bwd(g, other(x))`` gives exactly what ``prim``'s direct step gives
    (``sin' = cos``: ``g * cos(x)``; ``cos' = -sin``: ``g * -sin(x)``).

    Code that takes both ``sin(x)`` and ``cos(x)`` (rotations, polar
    coordinates, Fourier terms) would otherwise compute each again in the
    backward pass, and for arrays these are the most expensive operations
    of the whole derivative. When the reverse trace records the second of the
    pair on the same traced value, it points both tape entries at the other's
    result instead (core/reverse.py, ``ReverseTrace._share``). Both primitives
    need direct steps (``set_direct``) keeping ``x``.
    """
    if prim.direct is None or other.direct is None:
        raise ValueError(f"set_partner({prim.name}, {other.name}): both need a direct step first")
    prim.partner = (other, bwd)


def set_direct_pair(prim: Primitive, step: Callable[[Any, Any, int], Any]) -> None:
    """Give the two-argument primitive ``prim`` a short path for the reverse
    trace when one operand is traced and the other a constant ndarray
    (``W @ x``, the layer of every network).

    ``step(v, c, i)`` gets the traced operand's plain value ``v``, the
    constant ``c`` and the traced operand's position ``i``, and returns
    ``(ans, bwd, saved)`` — the result and a direct backward step, as for
    ``set_direct`` — or None to decline (the general rules then apply). It is
    called only when ``v`` and ``c`` are both ndarrays. ``bwd(g, saved)``
    must give what ``prim.vjp[i](ans, *operands)(g)`` gives, for cotangents
    ``g`` with any leading batch axes (``jacrev`` pulls back many at once);
    tests/test_direct_steps.py compares them.
    """
    prim.direct_pair = step


def set_joint_vjp(
    prim: Primitive, maker: Callable[[Any, Any, Any], Any], *, same_value: bool = False
) -> None:
    """Give the two-argument primitive ``prim`` a VJP for when both operands
    are traced that shares work between them: ``maker(ans, x, y)`` returns
    ``g -> (cotangent of x, cotangent of y)`` (either may be None), or None to
    decline (broadcasting, complex values: the makers in ``prim.vjp`` apply).

    ``x / y`` pulls back ``g / y`` and ``-(g / y) * (x / y)``: three array
    operations where the two makers take five. ``x * x`` (one value twice)
    pulls back ``2 g x`` in two where they take three. The results agree with
    the makers' to rounding (tests/test_fast_paths.py, tests/test_engine_shortcuts.py).

    ``same_value``: ``maker`` applies only when both operands are one traced
    value, and is not asked otherwise (``x * y`` pays nothing for ``x * x``'s).
    """
    if same_value:
        prim.square_vjp = maker
    else:
        prim.joint_vjp = maker


class ConstantRule:
    """The rules of a binary primitive whose other operand is a constant
    Python number (``x * 2.0``, ``1.0 - x``, ``x ** 2``): the commonest
    operations of scalar code, and the ones whose general rules cost the
    most for what they do. A Python number never broadcasts, never makes a
    real value complex and is never traced, so these rules skip the shape,
    dtype and zero-safety bookkeeping of the general ones.

    ``op(x, c)`` computes the result (with the operands in the order the
    user wrote them), ``vjp(ans, x, c)`` returns ``g -> cotangent of x`` and
    ``jvp(t, ans, x, c)`` the tangent of the result. ``applies(c)``, when
    given, says whether these rules hold for this constant (``x / 0.0`` and
    ``x ** 0.5`` take the general path, which handles their infinities).

    ``bwd`` and ``keep``, when given, are a direct backward step equivalent to
    ``vjp`` (see ``set_direct``), with ``keep`` one of ``KEEP_ANS``,
    ``KEEP_X``, ``KEEP_C`` (the constant), ``KEEP_NOTHING`` (``saved`` is
    None) or ``KEEP_X_AND_C`` (the pair).
    """

    __slots__ = ("prim", "reflected", "op", "vjp", "jvp", "applies", "bwd", "keep", "plan")

    def __init__(
        self,
        prim: Primitive,
        reflected: bool,
        op: Callable[[Any, Any], Any],
        vjp: VjpMaker,
        jvp: JvpRule,
        applies: Callable[[Any], bool] | None = None,
        bwd: Callable[[Any, Any], Any] | None = None,
        keep: int = KEEP_NOTHING,
    ) -> None:
        self.prim = prim
        self.reflected = reflected  # the constant is the left operand
        self.op = op
        self.vjp = vjp
        self.jvp = jvp
        self.applies = applies
        self.bwd = bwd
        self.keep = keep
        # What the reverse trace's short path reads, in one attribute
        self.plan = (applies, op, bwd, keep)
        prim.constant_rules[1 if reflected else 0] = self

    def arguments(self, x: Any, c: Any) -> tuple[Any, ...]:
        """The operands in the order the primitive takes them."""
        return (c, x) if self.reflected else (x, c)


class EachArgument:
    """Rules for a primitive taking any number of arguments (``stack``): the
    rule for argument ``i`` is ``rule`` with ``i`` bound first."""

    __slots__ = ("rule",)

    def __init__(self, rule: Callable[..., Any]) -> None:
        self.rule = rule

    def __getitem__(self, i: int) -> Callable[..., Any]:
        rule = self.rule
        return lambda *args, **kwargs: rule(i, *args, **kwargs)


def rule_at(rules: Any, i: int) -> Any:
    """The rule of argument ``i`` in a rule list (``None`` past its end) or an
    ``EachArgument``."""
    if type(rules) is list:
        return rules[i] if i < len(rules) else None
    return rules[i]
