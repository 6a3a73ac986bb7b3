"""The exceptions chainrule raises, each subclassing the builtin a user would
expect, so ``except TypeError`` keeps working."""

from __future__ import annotations


class LeakedTracerError(RuntimeError):
    """A traced value escaped the transform that created it.

    Cause: a value computed inside ``grad``/``jvp``/... was kept (in a global,
    a closure or an object attribute) and used after the transform returned.
    Fix: return it from the function (``has_aux=True``) or wrap it in
    ``cr.stop_gradient``.
    """


class ConversionError(TypeError):
    """A traced value was turned into a plain number or array.

    Cause: ``np.asarray(x)``, ``float(x)``, ``x.item()``, ``a[i] = x`` or
    ``out=`` on a traced ``x`` would drop its derivative without a word.
    Fix: build arrays with ``chainrule.numpy.stack``/``array``, update with
    ``cr.at(a)[i].set(x)``, or use ``cr.stop_gradient(x)`` when the value alone
    is really what you want.
    """


class NoRuleError(NotImplementedError):
    """A NumPy function without a derivative rule met a traced value.

    Fix: write the derivative with ``cr.custom_vjp`` (or ``cr.custom_jvp``), or
    call the function on ``cr.stop_gradient(x)`` if it should not be
    differentiated.
    """


def conversion_error(what: str) -> ConversionError:
    return ConversionError(
        f"{what} on a traced value would silently drop its derivative, so chainrule refuses. "
        "To build an array from traced values use chainrule.numpy.stack or chainrule.numpy.array; "
        "to change elements use the functional update cr.at(x)[idx].set(v) (or x.at[idx].set(v)); "
        "if you really want the plain value without its derivative, call cr.stop_gradient(x) "
        "first."
    )


def no_rule_error(name: str, detail: str = "") -> NoRuleError:
    extra = f" ({detail})" if detail else ""
    return NoRuleError(
        f"chainrule has no derivative rule for {name}{extra}, and it was called on a traced "
        "value. Define the derivative yourself with cr.custom_vjp (or cr.custom_jvp), or pass "
        "cr.stop_gradient(x) if this part should not be differentiated."
    )
