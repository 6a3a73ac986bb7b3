"""JAX, float64 on the CPU: the same derivative functions run eagerly and
under ``jax.jit`` (data passed as arguments, so nothing is baked in)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import workloads as wl
from frameworks import Framework

jax.config.update("jax_enable_x64", True)


def _lse(z: Any) -> Any:
    return jax.nn.logsumexp(z, axis=1, keepdims=True)


def _scalar_loop(d: dict) -> tuple[Callable, tuple]:
    n = d["iterations"]
    return jax.grad(lambda x: wl.scalar_loop(x, n, jnp)), (d["x"],)


def _least_squares(d: dict) -> tuple[Callable, tuple]:
    g = jax.grad(lambda theta, X, Y: wl.least_squares(theta, X, Y, jnp))
    return g, (d["theta"], d["X"], d["Y"])


def _mlp(d: dict) -> tuple[Callable, tuple]:
    g = jax.grad(lambda params, X, Y: wl.mlp_loss(params, X, Y, jnp, _lse))
    return g, (d["params"], d["X"], d["Y"])


def _elementwise(d: dict) -> tuple[Callable, tuple]:
    return jax.grad(lambda x: wl.elementwise(x, jnp)), (d["x"],)


def _hvp_fn(x: Any, v: Any, A: Any) -> Any:
    """Forward over reverse: the JVP of the gradient."""
    return jax.jvp(jax.grad(lambda y: wl.tanh_square(y, A, jnp)), (x,), (v,))[1]


def _hvp(d: dict) -> tuple[Callable, tuple]:
    return _hvp_fn, (d["x"], d["v"], d["A"])


def _jacobian(transform: Callable) -> Callable[[dict], tuple[Callable, tuple]]:
    def build(d: dict) -> tuple[Callable, tuple]:
        fn = lambda x, B: transform(lambda y: wl.tanh_map(y, B, jnp))(x)
        return fn, (d["x"], d["B"])

    return build


def _deep_chain(d: dict) -> tuple[Callable, tuple]:
    return jax.grad(lambda x, Ws: wl.deep_chain(x, Ws, jnp)), (d["x"], d["Ws"])


_BUILDERS = {
    "scalar-loop": _scalar_loop,
    "least-squares": _least_squares,
    "mlp": _mlp,
    "elementwise": _elementwise,
    "hvp": _hvp,
    "jacobian-fwd": _jacobian(jax.jacfwd),
    "jacobian-rev": _jacobian(jax.jacrev),
    "deep-chain": _deep_chain,
}


def _factory(build: Callable, jit: bool) -> Callable[[dict], Callable]:
    """Data -> a call that runs the derivative and waits for its result."""

    def factory(d: dict) -> Callable:
        fn, args = build(d)
        fn = jax.jit(fn) if jit else fn
        args = jax.device_put(args)
        return lambda: jax.block_until_ready(fn(*args))

    return factory


def frameworks() -> list[Framework]:
    """Two columns: JAX eager and JAX jit (no peak memory and no memory row:
    XLA's buffers are invisible to tracemalloc)."""
    version = jax.__version__
    eager = {name: _factory(b, jit=False) for name, b in _BUILDERS.items()}
    jitted = {name: _factory(b, jit=True) for name, b in _BUILDERS.items()}
    return [
        Framework("jax", "JAX eager", "JAX", version, eager, traced=False),
        Framework("jax-jit", "JAX jit", "JAX", version, jitted, traced=False),
    ]
