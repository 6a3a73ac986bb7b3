"""What a user installs: metadata, extras, the version, the licence, the
demo's data, install hints, and (with ``CHAINRULE_DIST`` set, as .ci/run does)
the built sdist and wheel themselves."""

from __future__ import annotations

import importlib.metadata
import io
import os
import re
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import numpy as np
import pytest

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    tomllib = pytest.importorskip("tomli")

import chainrule
from chainrule import errors
from chainrule.cli import dataset

ROOT = Path(__file__).resolve().parents[1]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
PROJECT = PYPROJECT["project"]
FLOORS = {"numpy": "2.0", "scipy": "1.13"}  # the oldest releases built for NumPy 2


def _requirement(spec: str) -> tuple[str, str]:
    name, _, floor = re.match(r"([A-Za-z0-9_.-]+)(\[.*\])?>=([0-9.]+)", spec).groups()
    return name, floor


# --- metadata -------------------------------------------------------------------------
def test_one_version_the_installed_metadata_agrees_with():
    assert "version" not in PROJECT and "version" in PROJECT["dynamic"]
    attr = PYPROJECT["tool"]["setuptools"]["dynamic"]["version"]["attr"]
    assert attr == "chainrule.__version__"
    assert re.fullmatch(r"\d+\.\d+\.\d+", chainrule.__version__)
    try:
        installed = importlib.metadata.version("chainrule")
    except importlib.metadata.PackageNotFoundError:
        pytest.skip("chainrule is not installed (its source is on sys.path by hand)")
    assert installed == chainrule.__version__, "reinstall: pip install -e ."
    # Nowhere else in the package is a version written down.
    sources = (Path(chainrule.__file__).parent).rglob("*.py")
    writers = [p.name for p in sources if re.search(r"^__version__ =", p.read_text(), re.M)]
    assert writers == ["__init__.py"]


def test_the_licence_is_mit_and_declared_as_spdx():
    text = (ROOT / "LICENSE").read_text()
    assert text.startswith("MIT License\n")
    assert "Copyright (c) 2026 the chainrule developers" in text
    assert PROJECT["license"] == "MIT" and PROJECT["license-files"] == ["LICENSE"]
    # PEP 639's fields need setuptools 77.
    (setuptools,) = [r for r in PYPROJECT["build-system"]["requires"] if "setuptools" in r]
    assert _requirement(setuptools) == ("setuptools", "77")
    assert PROJECT["authors"] and PROJECT["keywords"]
    assert "Typing :: Typed" in PROJECT["classifiers"]


def test_the_floors_are_numpy_2_0_and_scipy_1_13():
    deps = dict(_requirement(d) for d in PROJECT["dependencies"])
    assert deps == {"numpy": FLOORS["numpy"]}
    extras = PROJECT["optional-dependencies"]
    assert dict(_requirement(d) for d in extras["scipy"]) == {"scipy": FLOORS["scipy"]}
    assert PROJECT["requires-python"] == ">=3.10"
    # Every other mention of NumPy or SciPy in the metadata has the same floor.
    groups = [d for g in PYPROJECT["dependency-groups"].values() for d in g if isinstance(d, str)]
    for spec in [d for e in extras.values() for d in e] + groups:
        name, floor = _requirement(spec) if ">=" in spec else (None, None)
        if name in FLOORS:
            assert floor == FLOORS[name], spec


def test_ci_tests_exactly_the_floors():
    ci = ROOT / ".ci" / "run"
    if not ci.exists():
        pytest.skip("not a checkout: the sdist carries no CI script")
    pins = dict(re.findall(r'"(numpy|scipy)==(\d+\.\d+)\.\d+"', ci.read_text()))
    assert pins == FLOORS


def test_development_tools_are_dependency_groups_not_extras():
    assert set(PROJECT["optional-dependencies"]) == {"scipy", "cli", "examples", "dask"}
    assert {"test", "docs", "bench"} <= set(PYPROJECT["dependency-groups"])
    # The demo needs no more than a progress bar: no scikit-learn, matplotlib, SciPy.
    assert [_requirement(d)[0] for d in PROJECT["optional-dependencies"]["cli"]] == ["tqdm"]


def test_readme_commands_are_what_ci_and_the_docs_run():
    block = re.search(r"```bash\n(.*?)```", (ROOT / "README.md").read_text(), re.S).group(1)
    install, test = [line.split("#")[0].strip() for line in block.strip().splitlines()]
    assert install == 'pip install -e ".[cli]" && chainrule demo'
    assert test.endswith("pip install -e . --group test && python -m pytest")
    ci = ROOT / ".ci" / "run"
    if ci.exists():
        lines = ci.read_text().splitlines()
        assert any(line.startswith(test + " ||") or line == test for line in lines)
    index = ROOT / "docs" / "index.md"
    if index.exists() and "chainrule demo" in index.read_text():
        assert test in index.read_text() and install in index.read_text()


def test_every_module_imports():
    # Run against the oldest NumPy by .ci/run: a name newer than the floor
    # read at import time (np.unstack is NumPy 2.1) fails here.
    import importlib.util
    import pkgutil

    for info in pkgutil.walk_packages(chainrule.__path__, prefix="chainrule."):
        if info.name == "chainrule.__main__":
            continue
        if info.name.startswith("chainrule.scipy") and importlib.util.find_spec("scipy") is None:
            continue
        importlib.import_module(info.name)


# --- the demo's data and install hints ------------------------------------------------
def test_the_diabetes_data_ships_with_the_package():
    data = dataset.load("auto")
    assert data.X.shape == (442, 11) and data.Y.shape == (442,)
    assert data.names[:4] == ["intercept", "age", "sex", "bmi"]
    assert "Efron" in data.description
    # Facts of the published data: mean progression 152.13, range 25 to 346,
    # and the first patient (59 years, BMI 32.1, progression 151).
    assert data.Y.mean() == pytest.approx(152.133, abs=1e-3)
    assert (data.Y.min(), data.Y.max()) == (25.0, 346.0)
    lines = [line for line in dataset._DIABETES.read_text().splitlines() if line[:1] != "#"]
    assert lines[0] == "AGE,SEX,BMI,BP,S1,S2,S3,S4,S5,S6,Y" and len(lines) == 443
    first = lines[1].split(",")
    assert (first[0], first[2], first[10]) == ("59", "32.1", "151")
    np.testing.assert_allclose(data.X[:, 1:].mean(axis=0), 0, atol=1e-12)  # standardised


def test_the_demo_runs_without_any_extra():
    code = (
        "import sys\n"
        "class Refuse:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name.split('.')[0] in {'sklearn', 'matplotlib', 'tqdm', 'scipy'}:\n"
        "            raise ImportError('not installed: ' + name)\n"
        "sys.meta_path.insert(0, Refuse())\n"
        "from chainrule.cli import main\n"
        "sys.exit(main(['demo', '--steps', '5']))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert "Efron et al. (2004): 442 patients" in done.stdout


@pytest.mark.parametrize(
    ("direct_url", "command"),
    [
        (None, 'pip install "chainrule[scipy]" (or: pip install scipy)'),
        (
            {"url": "file:///home/me/chainrule", "dir_info": {"editable": True}},
            'pip install -e "/home/me/chainrule[scipy]" (or: pip install scipy)',
        ),
        (
            {"url": "file:///home/me/my%20code", "dir_info": {}},
            'pip install "/home/me/my code[scipy]" (or: pip install scipy)',
        ),
        ({"url": "file:///home/me/$HOME", "dir_info": {}}, "pip install scipy"),
        ({"url": "https://host/chainrule-0.1.0.whl", "archive_info": {}}, "pip install scipy"),
        ({}, "pip install scipy"),  # not installed at all: the source is on sys.path
    ],
)
def test_install_hints_fit_the_installation_and_every_shell(monkeypatch, direct_url, command):
    monkeypatch.setattr(errors, "_direct_url", lambda: direct_url)
    assert errors.install_hint("scipy", "scipy") == command


def test_no_message_in_the_package_gives_an_unquoted_extra():
    # zsh takes chainrule[scipy] for a pattern: every hint quotes the brackets.
    package = Path(chainrule.__file__).parent
    for path in package.rglob("*.py"):
        for line in path.read_text().splitlines():
            assert not re.search(r"pip install (-e )?[^\"' ]*\[", line), f"{path.name}: {line}"


# --- the built artifacts (.ci/run sets CHAINRULE_DIST) --------------------------------
DIST = os.environ.get("CHAINRULE_DIST")
needs_dist = pytest.mark.skipif(not DIST, reason="set CHAINRULE_DIST to a folder of builds")


def _artifact(pattern: str) -> Path:
    (path,) = Path(DIST).glob(pattern)
    return path


@needs_dist
def test_the_wheel_holds_the_package_its_data_and_the_licence():
    with zipfile.ZipFile(_artifact("chainrule-*.whl")) as wheel:
        names = set(wheel.namelist())
        info = f"chainrule-{chainrule.__version__}.dist-info"
        metadata = wheel.read(f"{info}/METADATA").decode()
    assert f"{info}/licenses/LICENSE" in names
    assert {"chainrule/cli/diabetes.csv", "chainrule/py.typed", "chainrule/__init__.py"} <= names
    assert not [n for n in names if n.startswith(("tests/", "docs/", "benchmarks/"))]
    assert "License-Expression: MIT" in metadata
    assert "Requires-Dist: numpy>=2.0" in metadata
    extras = set(re.findall(r"^Provides-Extra: (\S+)$", metadata, re.M))
    assert extras == {"scipy", "cli", "examples", "dask"}


@needs_dist
def test_the_sdist_carries_its_tests_and_what_they_read():
    with tarfile.open(_artifact("chainrule-*.tar.gz")) as sdist:
        names = {n.split("/", 1)[1] for n in sdist.getnames() if "/" in n}
        pkg_info = sdist.extractfile(f"chainrule-{chainrule.__version__}/PKG-INFO")
        metadata = io.TextIOWrapper(pkg_info).read()
    for needed in (
        "LICENSE",
        "pyproject.toml",
        "tests/conftest.py",
        "tests/test_namespace.py",
        "docs/coverage.md",
        "mkdocs.yml",
        "src/chainrule/cli/diabetes.csv",
    ):
        assert needed in names, needed
    assert not [n for n in names if "__pycache__" in n or n.endswith(".pyc")]
    assert "License-Expression: MIT" in metadata
