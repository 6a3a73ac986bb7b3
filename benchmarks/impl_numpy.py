"""Hand-written NumPy derivatives: the reference every framework is checked
against, and the practical speed limit every ratio is taken to."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

import numpy as np
from frameworks import Framework


def scalar_loop_grad(x: np.ndarray, iterations: int) -> np.ndarray:
    """d/dx of the scalar loop: keep each cos(x) going forward, multiply back."""
    slopes = []
    for _ in range(iterations):
        slopes.append(np.cos(x) * 1.0001)
        x = np.sin(x) * 1.0001 + 0.1
    g = np.array(1.0)
    for s in reversed(slopes):
        g = g * s
    return g


def least_squares_grad(theta: np.ndarray, X: np.ndarray, Y: np.ndarray) -> np.ndarray:
    """(2/N) X^T (X theta - Y)."""
    return (2.0 / len(Y)) * (X.T @ (X @ theta - Y))


def mlp_grad(params: dict, X: np.ndarray, Y: np.ndarray) -> dict:
    """Backpropagation through tanh layer, linear layer and softmax cross-entropy."""
    h = np.tanh(X @ params["W1"] + params["b1"])
    z = h @ params["W2"] + params["b2"]
    e = np.exp(z - np.max(z, axis=1, keepdims=True))
    dz = (e / np.sum(e, axis=1, keepdims=True) - Y) / len(Y)
    dpre = (dz @ params["W2"].T) * (1.0 - h * h)
    return {
        "W1": X.T @ dpre,
        "b1": np.sum(dpre, axis=0),
        "W2": h.T @ dz,
        "b2": np.sum(dz, axis=0),
    }


def elementwise_grad(x: np.ndarray) -> np.ndarray:
    """(cos x - 2 x sin x) exp(-x^2)."""
    return (np.cos(x) - 2.0 * x * np.sin(x)) * np.exp(-(x * x))


def tanh_square_hvp(x: np.ndarray, A: np.ndarray, v: np.ndarray) -> np.ndarray:
    """H v for sum(tanh(A x)^2): A^T [(2 - 6 t^2)(1 - t^2) * (A v)]."""
    t2 = np.tanh(A @ x) ** 2
    return A.T @ ((2.0 - 6.0 * t2) * (1.0 - t2) * (A @ v))


def tanh_map_jacobian(x: np.ndarray, B: np.ndarray) -> np.ndarray:
    """diag(1 - tanh(B x)^2) B."""
    t = np.tanh(B @ x)
    return (1.0 - t * t)[:, None] * B


def deep_chain_grad(x: np.ndarray, Ws: list) -> np.ndarray:
    """Keep each layer's output going forward; g = W^T (g (1 - t^2)) going back."""
    outs = []
    for W in Ws:
        x = np.tanh(W @ x)
        outs.append(x)
    g = np.ones_like(x)
    for W, t in zip(reversed(Ws), reversed(outs)):
        g = W.T @ (g * (1.0 - t * t))
    return g


def sin_chain_grad(x: np.ndarray, layers: int) -> np.ndarray:
    """Keep each layer's input (one array a layer), then multiply cosines back."""
    inputs = []
    for _ in range(layers):
        inputs.append(x)
        x = np.sin(x)
    del x
    g = np.ones_like(inputs[-1])
    while inputs:
        g *= np.cos(inputs.pop())
    return g


def _factories() -> dict[str, Callable[[dict], Callable]]:
    """Workload name -> (data -> zero-argument call)."""
    return {
        "scalar-loop": lambda d: partial(scalar_loop_grad, d["x"], d["iterations"]),
        "least-squares": lambda d: partial(least_squares_grad, d["theta"], d["X"], d["Y"]),
        "mlp": lambda d: partial(mlp_grad, d["params"], d["X"], d["Y"]),
        "elementwise": lambda d: partial(elementwise_grad, d["x"]),
        "hvp": lambda d: partial(tanh_square_hvp, d["x"], d["A"], d["v"]),
        "jacobian-fwd": lambda d: partial(tanh_map_jacobian, d["x"], d["B"]),
        "jacobian-rev": lambda d: partial(tanh_map_jacobian, d["x"], d["B"]),
        "deep-chain": lambda d: partial(deep_chain_grad, d["x"], d["Ws"]),
        "memory": lambda d: partial(sin_chain_grad, d["x"], d["layers"]),
    }


def frameworks() -> list[Framework]:
    """The hand-written column."""
    return [Framework("numpy", "NumPy (hand)", "NumPy", np.__version__, _factories())]
