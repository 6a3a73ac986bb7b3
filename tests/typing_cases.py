"""Static type checks of the transforms' signatures, read by mypy (tests/test_typing.py).

Nothing here runs under pytest (the file's name does not start with ``test_``);
each ``assert_type`` is checked by mypy, and mypy must report no error. The
cases run too (``python tests/typing_cases.py``), so every one is a real call.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray
from typing_extensions import assert_type

import chainrule as cr

Vec = NDArray[np.float64]


def loss(x: Vec) -> float:
    return np.sum(x**2)  # an np.float64, which is a float


def loss2(w: Vec, b: float, scale: float = 1.0) -> np.float64:
    return np.sum(w * b) * scale


def loss_aux(x: Vec) -> tuple[np.float64, str]:
    return np.sum(x**2), "note"


def vector(x: Vec) -> Vec:
    return np.sin(x) * 2.0


def vector2(x: Vec, y: float) -> Vec:
    return x * y


def vector_aux(x: Vec) -> tuple[Vec, int]:
    return np.sin(x), 3


def scalar(x: float) -> float:
    return x**3


def on_dict(p: dict[str, Vec]) -> float:
    return np.sum(p["w"] ** 2)


x = np.array([0.5, 1.0, 2.0])

# grad: the gradient has the differentiated argument's type.
assert_type(cr.grad(loss)(x), Vec)
assert_type(cr.grad(loss2)(x, 2.0), Vec)
assert_type(cr.grad(loss2)(x, 2.0, scale=3.0), Vec)
assert_type(cr.grad(loss2, argnums=1)(x, 2.0), float)
assert_type(cr.grad(loss2, 1)(x, 2.0), float)
assert_type(cr.grad(loss2, argnums=(0, 1))(x, 2.0), tuple[Vec, float])
assert_type(cr.grad(loss_aux, has_aux=True)(x), tuple[Vec, str])
assert_type(cr.grad(scalar)(2.0), float)
g_scalar = cr.grad(scalar)
assert_type(cr.grad(g_scalar)(2.0), float)
# Honest Any: a pytree argument, an argnums with no precise overload, a lambda.
assert_type(cr.grad(on_dict)({"w": x}), Any)
assert_type(cr.grad(loss2, argnums=(1, 0))(x, 2.0), Any)
assert_type(cr.grad(lambda v: np.sum(v**2))(x), Any)
assert_type(cr.grad(np.sin)(1.0), Any)
assert_type(cr.grad(cr.grad(lambda v: v**3))(2.0), Any)

# value_and_grad: (the function's value, the gradient).
assert_type(cr.value_and_grad(loss)(x), tuple[float, Vec])
assert_type(cr.value_and_grad(loss2, argnums=1)(x, 2.0), tuple[np.float64, float])
assert_type(cr.value_and_grad(loss2, argnums=(0, 1))(x, 2.0), tuple[np.float64, tuple[Vec, float]])
assert_type(cr.value_and_grad(loss_aux, has_aux=True)(x), tuple[tuple[np.float64, str], Vec])
assert_type(cr.value_and_grad(lambda v: np.sum(v))(x), Any)

# jacfwd / jacrev / hessian: arrays for array-leaf inputs and outputs.
assert_type(cr.jacfwd(vector)(x), NDArray[Any])
assert_type(cr.jacfwd(vector2, argnums=1)(x, 2.0), NDArray[Any])
assert_type(cr.jacfwd(vector2, argnums=(0, 1))(x, 2.0), tuple[NDArray[Any], NDArray[Any]])
assert_type(cr.jacfwd(vector_aux, has_aux=True)(x), tuple[NDArray[Any], int])
assert_type(cr.jacrev(vector)(x), NDArray[Any])
assert_type(cr.jacrev(vector2, argnums=(0, 1))(x, 2.0), tuple[NDArray[Any], NDArray[Any]])
assert_type(cr.jacobian(loss)(x), NDArray[Any])
assert_type(cr.hessian(loss)(x), NDArray[Any])
assert_type(cr.hessian(scalar)(2.0), NDArray[Any])
assert_type(
    cr.hessian(loss2, argnums=(0, 1))(x, 2.0),
    tuple[tuple[NDArray[Any], NDArray[Any]], tuple[NDArray[Any], NDArray[Any]]],
)
assert_type(cr.jacfwd(on_dict)({"w": x}), Any)

# elementwise_grad: as grad.
assert_type(cr.elementwise_grad(vector)(x), Vec)

# vjp / jvp / linearize: the output keeps the function's type.
out, f_vjp = cr.vjp(vector, x)
assert_type(out, Vec)
assert_type(f_vjp(np.ones(3)), tuple[Any, ...])
out_a, f_vjp_a, aux = cr.vjp(vector_aux, x, has_aux=True)
assert_type(out_a, Vec)
assert_type(aux, int)
assert_type(cr.jvp(vector, (x,), (np.ones(3),)), tuple[Vec, Any])
assert_type(cr.jvp(vector_aux, (x,), (np.ones(3),), has_aux=True), tuple[Vec, Any, int])
out_l, f_jvp = cr.linearize(vector, x)
assert_type(out_l, Vec)

if __name__ == "__main__":
    print("all typing cases ran")
