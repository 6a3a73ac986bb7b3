"""Logistic regression on scikit-learn's breast-cancer data, fitted by L-BFGS.

The negative log-likelihood is written in NumPy over a pytree of parameters
``{"w": ..., "b": ...}``; ``chainrule.optim.minimize`` hands SciPy's L-BFGS-B
its value and gradient from a single reverse pass and gives the answer back as
the same dict.

Run:  python examples/logistic_regression.py
Needs scikit-learn and SciPy (``pip install "chainrule[examples,scipy]"``).
"""

from __future__ import annotations

import numpy as np

from chainrule.errors import install_hint
from chainrule.optim import minimize


def load_breast_cancer_split(seed: int = 42) -> tuple[np.ndarray, ...]:
    """Train and test sets (75 / 25, stratified), features standardised with the
    training statistics, labels in {-1, +1}.

    >>> X_train, X_test, y_train, y_test = load_breast_cancer_split()
    >>> X_train.shape, X_test.shape, sorted(set(y_train.tolist()))
    ((426, 30), (143, 30), [-1.0, 1.0])
    """
    try:
        from sklearn.datasets import load_breast_cancer
        from sklearn.model_selection import train_test_split
    except ImportError as err:
        raise ImportError(
            "this example needs scikit-learn; install it with: "
            + install_hint("examples", "scikit-learn")
        ) from err
    X, y = load_breast_cancer(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=0.25, random_state=seed, stratify=y
    )
    mean, std = X_train.mean(axis=0), X_train.std(axis=0)
    signs = lambda labels: 2.0 * labels - 1.0
    return (X_train - mean) / std, (X_test - mean) / std, signs(y_train), signs(y_test)


def negative_log_likelihood(params: dict, X: np.ndarray, y: np.ndarray, l2: float) -> float:
    """Mean logistic loss ``log(1 + exp(-y (X w + b)))`` plus ``l2 / 2 * |w|^2``.

    >>> p = {"w": np.zeros(2), "b": 0.0}
    >>> round(float(negative_log_likelihood(p, np.ones((3, 2)), np.ones(3), 0.1)), 6)
    0.693147
    """
    margins = y * (X @ params["w"] + params["b"])
    return np.mean(np.logaddexp(0.0, -margins)) + 0.5 * l2 * np.sum(params["w"] ** 2)


def accuracy(params: dict, X: np.ndarray, y: np.ndarray) -> float:
    """Fraction of points on the right side of the decision boundary.

    >>> accuracy({"w": np.array([1.0]), "b": 0.0}, np.array([[2.0], [-1.0]]), np.array([1, 1]))
    0.5
    """
    return float(np.mean(np.sign(X @ params["w"] + params["b"]) == y))


def main(quick: bool = False) -> dict:
    """Fit with L-BFGS-B and report the test accuracy; returns the numbers.

    ``quick`` caps L-BFGS at 100 iterations and prints nothing.
    """
    X_train, X_test, y_train, y_test = load_breast_cancer_split()
    l2 = 1e-3
    params0 = {"w": np.zeros(X_train.shape[1]), "b": 0.0}
    result = minimize(
        negative_log_likelihood,
        params0,
        method="L-BFGS-B",
        args=(X_train, y_train, l2),
        options={"maxiter": 100 if quick else 1000},
    )
    params = result.x
    train_acc = accuracy(params, X_train, y_train)
    test_acc = accuracy(params, X_test, y_test)
    if not quick:
        print(
            f"L-BFGS-B: {result.message} after {result.nit} iterations, {result.nfev} "
            f"evaluations of value and gradient"
        )
        print(f"final loss {result.fun:.6f}, |gradient| {np.linalg.norm(result.jac['w']):.2e}")
        print(f"train accuracy {train_acc:.3f}, test accuracy {test_acc:.3f}")
        top = np.argsort(-np.abs(params["w"]))[:5]
        print(
            "largest weights (feature index: weight):",
            ", ".join(f"{i}: {params['w'][i]:+.2f}" for i in top),
        )
    return {
        "params": params,
        "train_accuracy": train_acc,
        "test_accuracy": test_acc,
        "result": result,
    }


if __name__ == "__main__":
    main()
