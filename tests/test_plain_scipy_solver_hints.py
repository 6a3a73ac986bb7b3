"""Plain SciPy solvers on traced values: the error names the chainrule function.

SciPy's solvers convert what the user's function returns (``np.asarray``,
``float``), which a traced value refuses. Some catch that refusal in C or
Python and raise their own error (MINPACK's "Result from function call is not
a proper array of floats", ``minimize``'s "must return a scalar value"); the
transforms then raise the refusal, which names the replacement, with SciPy's
error as its cause.
"""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
from chainrule.errors import ConversionError

so = pytest.importorskip("scipy.optimize")
si = pytest.importorskip("scipy.integrate")

P = np.array([1.0, 2.0])


def _objective(x, p):
    return np.sum((x - p) ** 2)


CASES = {
    "scipy.optimize.minimize": (
        "cr.optim.minimize",
        lambda p: so.minimize(_objective, np.zeros(2), args=(p,)).x.sum(),
    ),
    "scipy.optimize.root": (
        "cr.optim.root",
        lambda p: so.root(lambda x: x - p, np.zeros(2)).x.sum(),
    ),
    "scipy.optimize.least_squares": (
        "cr.optim.least_squares",
        lambda p: so.least_squares(lambda x: x - p, np.zeros(2)).x.sum(),
    ),
    "scipy.optimize.curve_fit": (
        "cr.optim.curve_fit",
        lambda p: so.curve_fit(lambda t, a: a * t, np.arange(1.0, 4.0), p[0] * np.arange(1.0, 4.0))[
            0
        ].sum(),
    ),
    "scipy.integrate.solve_ivp": (
        "chainrule.scipy.integrate.solve_ivp",
        lambda p: si.solve_ivp(lambda t, y: -p * y, (0.0, 1.0), np.ones(2)).y[:, -1].sum(),
    ),
    "scipy.integrate.odeint": (
        "chainrule.scipy.integrate.odeint",
        lambda p: si.odeint(lambda y, t: -p * y, np.ones(2), [0.0, 1.0])[-1].sum(),
    ),
    "scipy.integrate.quad": (
        "chainrule.scipy.integrate.quad",
        lambda p: si.quad(lambda t, k: k * t, 0.0, 1.0, args=(p[0],))[0],
    ),
}


@pytest.mark.filterwarnings("ignore")
@pytest.mark.parametrize("theirs", sorted(CASES))
@pytest.mark.parametrize("transform", [cr.grad, cr.jacfwd], ids=["grad", "jacfwd"])
def test_a_plain_solver_names_its_chainrule_replacement(theirs, transform):
    ours, f = CASES[theirs]
    with pytest.raises(ConversionError) as info:
        transform(f)(P)
    message = str(info.value)
    assert theirs in message and ours in message


@pytest.mark.filterwarnings("ignore")
def test_the_replacement_is_raised_from_scipys_own_error():
    # MINPACK catches the refusal in C and raises its own error: that one is the cause
    with pytest.raises(ConversionError, match=r"cr\.optim\.root") as info:
        cr.grad(CASES["scipy.optimize.root"][1])(P)
    cause = info.value.__cause__
    assert cause is not None and "proper array of floats" in str(cause)


def test_an_unrelated_error_after_a_caught_refusal_is_not_replaced():
    # A refusal without a named replacement (a plain float()) is not kept, so the
    # user's own error later in the function comes through unchanged.
    def f(x):
        try:
            float(x[0])
        except TypeError:
            pass
        raise KeyError("the user's own")

    with pytest.raises(KeyError, match="the user's own"):
        cr.grad(f)(P)
