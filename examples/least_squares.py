"""Least squares by gradient descent: the lecture's example on real data.

The model predicts disease progression from ten measurements (scikit-learn's
diabetes data): ``f(theta) = mean((X @ theta - y) ** 2)``. chainrule gives the
gradient of ``f`` from the NumPy code alone; plain gradient descent with the
step ``1 / L`` (``L`` the largest eigenvalue of the Hessian, which chainrule
also computes) walks to the closed-form solution of the normal equations.

Run:  python examples/least_squares.py
Needs scikit-learn (``pip install "chainrule[examples]"``).
"""

from __future__ import annotations

import numpy as np

import chainrule as cr
from chainrule.errors import install_hint
from chainrule.optim import sgd


def load_diabetes_data() -> tuple[np.ndarray, np.ndarray]:
    """Standardised features with a column of ones for the intercept, and the
    standardised target.

    >>> X, y = load_diabetes_data()
    >>> X.shape, y.shape
    ((442, 11), (442,))
    """
    try:
        from sklearn.datasets import load_diabetes
    except ImportError as err:
        raise ImportError(
            "this example needs scikit-learn; install it with: "
            + install_hint("examples", "scikit-learn")
        ) from err
    X, y = load_diabetes(return_X_y=True)
    X = (X - X.mean(axis=0)) / X.std(axis=0)
    X = np.hstack([np.ones((len(X), 1)), X])
    return X, (y - y.mean()) / y.std()


def loss(theta: np.ndarray, X: np.ndarray, y: np.ndarray) -> float:
    """The lecture's objective: mean squared error of the linear model ``X @ theta``.

    >>> float(loss(np.array([1.0, 0.0]), np.eye(2), np.zeros(2)))
    0.5
    """
    return np.mean((X @ theta - y) ** 2)


def main(quick: bool = False) -> dict:
    """Fit by gradient descent, compare with the closed form; returns the numbers.

    ``quick`` stops at a gradient norm of 1e-9 and prints nothing (about 9,000
    steps, a second); the full run goes on to 1e-12 and reports as it goes.
    """
    X, y = load_diabetes_data()
    exact = np.linalg.lstsq(X, y, rcond=None)[0]

    theta = np.zeros(X.shape[1])
    # f is quadratic, so its Hessian is the same everywhere; its largest eigenvalue L
    # bounds the curvature and 1 / L is a step that always decreases f.
    curvature = np.linalg.eigvalsh(cr.hessian(loss)(theta, X, y))
    step = 1.0 / curvature.max()
    if not quick:
        print(f"{X.shape[0]} patients, {X.shape[1] - 1} features + intercept")
        condition = curvature.max() / curvature.min()
        print(
            f"Hessian eigenvalues {curvature.min():.4f} .. {curvature.max():.4f}: "
            f"condition number {condition:.0f}, step 1/L = {step:.4f}"
        )

    value_and_grad = cr.value_and_grad(loss)
    opt = sgd(step)
    state = opt.init(theta)
    tol, max_steps = (1e-9, 50_000) if quick else (1e-12, 100_000)
    for k in range(max_steps):
        value, grad = value_and_grad(theta, X, y)
        grad_norm = np.linalg.norm(grad)
        if not quick and k % 2000 == 0:
            err = np.max(np.abs(theta - exact))
            print(f"step {k:6d}  loss {value:.10f}  |grad| {grad_norm:.2e}  max error {err:.2e}")
        if grad_norm < tol:
            break
        theta, state = opt.step(theta, grad, state)

    max_error = float(np.max(np.abs(theta - exact)))
    if not quick:
        print(f"stopped after {k} steps: max |theta - theta_closed_form| = {max_error:.2e}")
        print("theta =", np.round(theta, 6))
    return {"theta": theta, "exact": exact, "max_error": max_error, "steps": k}


if __name__ == "__main__":
    main()
