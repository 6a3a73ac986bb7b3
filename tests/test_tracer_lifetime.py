"""What outlives a transform: a leaked tracer is reported when used later, and a
``vjp`` function can be called again, and from another thread.
"""

from __future__ import annotations

import threading

import numpy as np
import pytest

import chainrule as cr


def test_leaked_tracer_is_reported():
    leak = []
    cr.grad(lambda x: (leak.append(x), x * 2)[1])(1.0)
    with pytest.raises(Exception, match="after its transform returned"):
        cr.grad(lambda y: leak[0] * y)(2.0)


def test_vjp_fn_twice_and_from_another_thread():
    x = np.array([0.1, 0.2, 0.3])
    _, f = cr.vjp(lambda x: np.sin(x) * x, x)
    res = {}
    th = threading.Thread(target=lambda: res.setdefault("r", f(np.ones(3))))
    th.start()
    th.join()
    d = np.cos(x) * x + np.sin(x)
    np.testing.assert_allclose(res["r"][0], d)
    np.testing.assert_allclose(f(2 * np.ones(3))[0], 2 * d)
    np.testing.assert_allclose(f(np.ones(3))[0], d)
