"""``elementwise_grad``: the derivative of an elementwise function, element by element."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Literal, overload

import numpy as np

from ..core.trace import GcPause, strip
from ._inputs import ArgNums, check_callable, check_real_outputs, normalize_argnums
from .reverse_mode import record

if TYPE_CHECKING:
    from typing import Concatenate

    from ._typing import AnyFunction, ArrayLeaf0T, ArrayLeafT, P, Transformed


@overload
def elementwise_grad(fun: np.ufunc, argnums: ArgNums = 0) -> AnyFunction: ...
@overload
def elementwise_grad(
    fun: Callable[Concatenate[ArrayLeafT, P], Any], argnums: Literal[0] = 0
) -> Transformed[Concatenate[ArrayLeafT, P], ArrayLeafT]: ...
@overload
def elementwise_grad(
    fun: Callable[Concatenate[ArrayLeaf0T, ArrayLeafT, P], Any], argnums: Literal[1]
) -> Transformed[Concatenate[ArrayLeaf0T, ArrayLeafT, P], ArrayLeafT]: ...
@overload
def elementwise_grad(
    fun: Callable[Concatenate[ArrayLeaf0T, ArrayLeafT, P], Any],
    argnums: tuple[Literal[0], Literal[1]],
) -> Transformed[Concatenate[ArrayLeaf0T, ArrayLeafT, P], tuple[ArrayLeaf0T, ArrayLeafT]]: ...
@overload
def elementwise_grad(fun: Callable[..., Any], argnums: ArgNums = 0) -> AnyFunction: ...
def elementwise_grad(fun: Callable[..., Any], argnums: ArgNums = 0) -> Callable[..., Any]:
    """Make a function that returns each output element's derivative with respect
    to the same input element, for an elementwise ``fun`` (autograd's name).

    It is one reverse pass: the vector-Jacobian product with a cotangent of ones.
    For an elementwise function the Jacobian is diagonal, so that product is its
    diagonal, ``f'(x)`` element by element, at the cost of one gradient. For a
    function that is not elementwise the result is still that product, the sum
    of the Jacobian's rows (each input element's derivative of ``np.sum(fun(x))``);
    use ``cr.jacrev`` for the whole Jacobian.

    Args:
        fun: function of arrays returning a real floating-point array (or a
            pytree of them: each output leaf gets a cotangent of ones).
        argnums: which positional argument(s) to differentiate; a tuple gives a
            tuple of results.

    Returns:
        A function with ``fun``'s signature returning arrays shaped like the
        differentiated arguments (typed as ``grad``'s: the argument's type for
        an array leaf, ``Any`` otherwise).

    >>> import chainrule as cr, numpy as np
    >>> x = np.array([0.0, 1.0, 2.0])
    >>> cr.elementwise_grad(lambda x: x ** 3)(x)                    # 3 x**2
    array([ 0.,  3., 12.])
    >>> cr.elementwise_grad(cr.elementwise_grad(np.sin))(np.array([0.0, np.pi / 2]))
    array([-0., -1.])
    """
    check_callable(fun, "elementwise_grad")

    @functools.wraps(fun)
    def elementwise_grad_fun(*args: Any, **kwargs: Any) -> Any:
        nums, is_tuple = normalize_argnums(argnums, len(args), "elementwise_grad")
        with GcPause():  # from the recording to the pull-back: the tape's whole life
            rec, _ = record(fun, args, kwargs, nums, False, "elementwise_grad")
            check_real_outputs(rec.out_values, False, "elementwise_grad")
            ones = [_ones_like(v) for v in rec.out_values]
            grads = rec.in_tree.unflatten(rec.pull_back(ones))
        return grads if is_tuple else grads[0]

    return elementwise_grad_fun


def _ones_like(value: Any) -> Any:
    v = strip(value)
    dtype = np.result_type(v)
    shape = np.shape(v)
    return np.ones(shape, dtype=dtype) if shape else dtype.type(1.0)


__all__ = ["elementwise_grad"]
