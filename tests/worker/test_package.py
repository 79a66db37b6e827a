"""The worker package on its own: `python -m worker` imports nothing of the site, from this tree
and as worker/pyproject.toml installs it alone; every import in it is its own, the standard
library's or a dependency it declares, pinned as requirements.txt pins."""

from __future__ import annotations

import ast
import email.parser
import importlib.metadata
import json
import re
import shutil
import sys
import tarfile
import tomllib
from pathlib import Path

from tests.worker.test_cli import REPO, _python

PACKAGE = REPO / "worker"
# Top-level packages of the site: none may be imported by the worker agent.
SITE_PACKAGES = ("django", "marketplace", "pools", "dappstore", "datamarket", "frontend", "web3")
# In a fresh interpreter: import every module of the worker package, run `python -m worker
# --help`, then print (last line) its exit status, where worker was found, and which of the
# site's packages got imported.
ISOLATED_RUN = f"""
import importlib, json, pkgutil, runpy, sys
import worker
for module in pkgutil.iter_modules(worker.__path__):
    if module.name != "__main__":
        importlib.import_module("worker." + module.name)
sys.argv = ["worker", "--help"]
try:
    runpy.run_module("worker", run_name="__main__", alter_sys=True)
except SystemExit as exit:
    status = exit.code
imported = sorted(name for name in sys.modules if name.split(".")[0] in {SITE_PACKAGES!r})
print(json.dumps({{"status": status, "worker": worker.__file__, "site": imported}}))
"""


def _isolated_run(cwd: Path, **environment: str) -> tuple[dict, str]:
    done = _python("-c", ISOLATED_RUN, cwd=cwd, **environment)
    assert done.returncode == 0, done.stderr
    *printed, last = done.stdout.strip().splitlines()
    return json.loads(last), "\n".join(printed)


def test_python_m_worker_imports_nothing_of_the_site() -> None:
    result, printed = _isolated_run(REPO)

    assert result == {"status": 0, "worker": str(PACKAGE / "__init__.py"), "site": []}
    assert printed.startswith("usage: python -m worker [-h] [--pool POOL] [--site SITE]")
    assert "--dev-account DEV_ACCOUNT" in printed and "--bond ECT" in printed


def _requirement_pins() -> dict[str, str]:
    pins = {}
    for line in (REPO / "requirements.txt").read_text().splitlines():
        if match := re.fullmatch(r"([A-Za-z0-9_.\-]+)(?:\[[^\]]*\])?==(\S+)", line.strip()):
            pins[match[1].lower().replace("_", "-")] = match[2]
    return pins


def test_the_worker_package_installs_and_runs_alone(tmp_path: Path) -> None:
    source = tmp_path / "source"
    shutil.copytree(
        PACKAGE, source, ignore=shutil.ignore_patterns("__pycache__", "build", "*.egg-info")
    )
    built = _python(
        "-c",
        "import sys, setuptools.build_meta as b; print(b.build_sdist(sys.argv[1]))",
        str(tmp_path / "dist"),
        cwd=source,
    )
    assert built.returncode == 0, built.stderr
    sdist = tmp_path / "dist" / built.stdout.strip().splitlines()[-1]
    with tarfile.open(sdist) as archive:
        root = archive.getnames()[0].split("/")[0]
        archive.extractall(tmp_path / "unpacked", filter="data")
    unpacked = tmp_path / "unpacked" / root
    metadata = email.parser.Parser().parsestr((unpacked / "PKG-INFO").read_text())
    # What pip installs with it (the egg-info of the sdist: its own dependencies, no extras).
    requires = (unpacked / "superedge_worker.egg-info" / "requires.txt").read_text().split()

    # Every module of the package, and the Hub's ABI part, is in what pip installs.
    shipped = {path.name for path in unpacked.iterdir() if path.is_file()}
    assert {path.name for path in PACKAGE.glob("*.py")} | {"hub_abi.json"} <= shipped
    assert metadata["Name"] == "superedge-worker"
    # Pinned as requirements.txt pins (and as installed here, for what it does not list).
    pins, required = _requirement_pins(), {}
    for requirement in requires:
        name, version = requirement.split("==")
        required[name.lower()] = version
        assert version == pins.get(name.lower(), importlib.metadata.version(name)), requirement
    assert {"requests", "eth-account", "wasmtime", "cryptography"} <= set(required)
    assert not {"django", "web3"} & set(required)

    # Laid out as pip lays it out, alone on the path: it runs, and imports nothing of the site.
    installed = tmp_path / "site-packages" / "worker"
    shutil.copytree(
        unpacked,
        installed,
        ignore=shutil.ignore_patterns("*.egg-info", "PKG-INFO", "setup.cfg", "pyproject.toml"),
    )
    result, _ = _isolated_run(tmp_path, PYTHONPATH=str(installed.parent))
    assert result == {"status": 0, "worker": str(installed / "__init__.py"), "site": []}


def _imported_names(path: Path) -> set[str]:
    """The top-level names of every import in `path`, those inside functions too."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names


def _normalized(distribution: str) -> str:
    return re.sub(r"[-_.]+", "-", distribution).lower()


def test_every_import_is_the_packages_own_the_standard_librarys_or_a_declared_dependency():
    project = tomllib.loads((PACKAGE / "pyproject.toml").read_text())["project"]
    declared = {_normalized(re.split(r"[=<>!~\[ ]", item)[0]) for item in project["dependencies"]}
    distributions = importlib.metadata.packages_distributions()
    undeclared = {}
    for path in sorted(PACKAGE.glob("*.py")):
        for name in _imported_names(path) - {"worker", "__future__"}:
            if name in sys.stdlib_module_names:
                continue
            owners = {_normalized(owner) for owner in distributions.get(name, [name])}
            if not owners & declared:
                undeclared.setdefault(path.name, set()).add(name)

    assert undeclared == {}
