"""How long ``import chainrule`` takes, against ``import numpy`` alone.

Each sample is a fresh interpreter that times one import with
``time.perf_counter`` (interpreter start-up excluded); NumPy and chainrule
samples alternate so that drift on a busy machine affects both alike. Prints
the medians and their ratio (the target, README's promise of a light import:
below 1.5).

    python benchmarks/import_time.py [--runs 10]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile

_PROBE = "import time; t = time.perf_counter(); import {0}; print(time.perf_counter() - t)"


def sample(module: str, env: dict[str, str]) -> float:
    """Seconds one fresh interpreter spends in ``import module``."""
    out = subprocess.run(
        [sys.executable, "-c", _PROBE.format(module)],
        check=True,
        capture_output=True,
        text=True,
        env=env,
    )
    return float(out.stdout)


def measure(runs: int = 10) -> tuple[float, float]:
    """(median seconds for ``import numpy``, median for ``import chainrule``)."""
    with tempfile.TemporaryDirectory() as cache:
        # Both imports read compiled bytecode, as from an installed wheel: a
        # source checkout run with PYTHONDONTWRITEBYTECODE would otherwise
        # compile chainrule on every start and NumPy never.
        env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
        env["PYTHONPYCACHEPREFIX"] = cache
        sample("numpy", env)  # warm: compile into the cache, fill the file system cache
        sample("chainrule", env)
        numpy_times, chainrule_times = [], []
        for _ in range(runs):
            numpy_times.append(sample("numpy", env))
            chainrule_times.append(sample("chainrule", env))
    return statistics.median(numpy_times), statistics.median(chainrule_times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10)
    runs = parser.parse_args().runs
    numpy_s, chainrule_s = measure(runs)
    print(f"import numpy:     {numpy_s * 1e3:7.1f} ms (median of {runs})")
    print(f"import chainrule: {chainrule_s * 1e3:7.1f} ms (median of {runs})")
    print(f"ratio:            {chainrule_s / numpy_s:7.2f}")


if __name__ == "__main__":
    main()
