"""A gradient on a real dask.distributed cluster (issue #20): the test starts a
LocalCluster of 2 in-process workers, differentiates with Dask inputs and
constants in small chunks, and computes there."""

from __future__ import annotations

import numpy as np
import pytest

da = pytest.importorskip("dask.array")
distributed = pytest.importorskip("dask.distributed")

import chainrule as cr  # noqa: E402


def test_gradient_computed_on_a_local_cluster():
    rng = np.random.default_rng(11)
    A, y, w = rng.standard_normal((200, 4)), rng.standard_normal(200), rng.uniform(0.5, 2, 200)
    theta = np.array([0.5, -1.0, 0.25, 2.0])

    def loss(theta, w, A, y):
        r = A @ theta - y
        return np.sum(w * r**2) / r.shape[0] + np.sum(np.tanh(theta) ** 2)

    Ad, yd, wd = da.from_array(A, chunks=(25, 4)), da.from_array(y, 25), da.from_array(w, 25)
    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        value, (g_theta, g_w) = cr.value_and_grad(loss, argnums=(0, 1))(theta, wd, Ad, yd)
        assert isinstance(g_w, da.Array) and g_w.chunks == wd.chunks
        futures = client.compute([value, g_theta, g_w])
        v, gt, gw = client.gather(futures)
        # the work ran on the cluster's workers, both of them
        executed = client.run(lambda dask_worker: dask_worker.state.executed_count)
        assert len(executed) == 2 and min(executed.values()) > 0, executed
    r = A @ theta - y
    np.testing.assert_allclose(v, loss(theta, w, A, y), rtol=1e-12)
    np.testing.assert_allclose(gw, r**2 / 200, rtol=1e-12)
    want_t = 2 * A.T @ (w * r) / 200 + 2 * np.tanh(theta) * (1 - np.tanh(theta) ** 2)
    np.testing.assert_allclose(gt, want_t, rtol=1e-12)
