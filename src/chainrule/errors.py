"""The exceptions chainrule raises, each subclassing the builtin a user would
expect, so ``except TypeError`` keeps working."""

from __future__ import annotations

import os


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


class BatchedControlFlowError(TypeError):
    """``bool``/``int``/``float``/``.item()`` of a value that carries ``cr.vmap``'s
    batch axis: the answer (and the branch taken) would differ per example.

    Fix: compute both branches and select elementwise with ``np.where``.
    """


class BatchingFallbackWarning(UserWarning):
    """A primitive without a batching rule met ``cr.vmap``'s batch: it was run
    once per example in a Python loop (right, but slow). Issued once per
    primitive per process."""


def conversion_error(what: str) -> ConversionError:
    return ConversionError(
        f"{what} on a traced value would silently drop its derivative, so chainrule refuses. "
        "To build an array from traced values use chainrule.numpy.stack or chainrule.numpy.array; "
        "to change elements use the functional update cr.at(x)[idx].set(v) (or x.at[idx].set(v)); "
        "if you really want the plain value without its derivative, call cr.stop_gradient(x) "
        "first."
    )


# Qualified name ("numpy.frexp", "ndarray.tofile", "scipy.special.hyp2f1") -> why
# there is no derivative and what to write instead. Filled by the rule modules
# (rules/_refusals.py) when they load, so that an error raised for a ufunc or an
# ndarray method (which reach core, not a registered wrapper) states its reason
# too, without core importing the rules.
REFUSAL_REASONS: dict[str, str] = {}


def no_rule_error(name: str, detail: str = "") -> NoRuleError:
    """The error for ``name`` met by a traced value: its refusal reason when
    one is registered (and no more specific ``detail`` is given).

    >>> REFUSAL_REASONS["numpy.example"] = "an example"
    >>> "numpy.example (an example)" in str(no_rule_error("numpy.example"))
    True
    >>> del REFUSAL_REASONS["numpy.example"]
    """
    if not detail:
        detail = REFUSAL_REASONS.get(name, "")
    extra = f" ({detail})" if detail else ""
    return NoRuleError(
        f"chainrule has no derivative rule for {name}{extra}, and it was called on a traced "
        "value. Define the derivative yourself with cr.custom_vjp (or cr.custom_jvp), or pass "
        "cr.stop_gradient(x) if this part should not be differentiated."
    )


def install_hint(extra: str, *packages: str) -> str:
    """The command that installs chainrule's optional ``extra``, for the way
    chainrule itself was installed, then the bare ``packages`` as the
    alternative; quoted so that it pastes into any shell (brackets are
    patterns in zsh, and backticks would run a command).

    From a package index: ``pip install "chainrule[scipy]"``; from a checkout
    (``pip install -e .``): ``pip install -e "/path/to/checkout[scipy]"``, since
    the index's chainrule would replace it.

    >>> install_hint("scipy", "scipy").endswith("(or: pip install scipy)")
    True
    """
    alternative = f"pip install {' '.join(packages)}"
    target = _install_target(_direct_url())
    if target is None:
        return alternative
    return f"pip install {target.format(extra=extra)} (or: {alternative})"


def _direct_url() -> dict | None:
    """How pip recorded chainrule's installation (PEP 610's direct_url.json):
    None from an index; ``{}`` when chainrule is not installed at all (its
    source put on ``sys.path`` by hand)."""
    import importlib.metadata
    import json

    try:
        text = importlib.metadata.distribution("chainrule").read_text("direct_url.json")
    except importlib.metadata.PackageNotFoundError:
        return {}
    try:
        return json.loads(text) if text else None
    except ValueError:
        return None


def _install_target(direct_url: dict | None) -> str | None:
    """The quoted requirement, with ``{extra}`` to fill in; None when only the
    bare packages can be suggested."""
    if direct_url is None:
        return '"chainrule[{extra}]"'
    url = direct_url.get("url", "")
    if "dir_info" not in direct_url or not url.startswith("file:"):
        return None  # not installed, or from an archive or VCS URL: no safe command
    from urllib.parse import urlparse
    from urllib.request import url2pathname

    path = url2pathname(urlparse(url).path)
    awkward = '"$`!%' + ("" if os.sep == "\\" else "\\")
    if any(c in path for c in awkward):
        return None  # no one quoting of such a path works in every shell
    editable = "-e " if direct_url["dir_info"].get("editable") else ""
    return f'{editable}"{path}[{{extra}}]"'
