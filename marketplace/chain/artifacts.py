"""Compiled contract artifacts (ABI, bytecode) from marketplace/contracts/build.json.

build.json is produced by `make contracts` (marketplace/contracts/compile.mjs) and committed.
Clients of the Hub use `abi("Hub")`: it holds every function, event and error reachable at the
Hub address (the Hub and its modules). This module reads files only; it never imports web3.
"""

from __future__ import annotations

import functools
import hashlib
import json
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[2]
CONTRACTS_DIR = REPO_ROOT / "marketplace" / "contracts"
SOURCES_DIR = CONTRACTS_DIR / "src"
COMPILE_SCRIPT = CONTRACTS_DIR / "compile.mjs"
BUILD_PATH = CONTRACTS_DIR / "build.json"
PACKAGE_JSON = REPO_ROOT / "package.json"


class ArtifactNotFound(KeyError):
    """build.json has no contract of that name."""


@functools.cache
def build() -> dict[str, Any]:
    """The parsed build.json, read once per process."""
    return json.loads(BUILD_PATH.read_text(encoding="utf-8"))


def _contract(name: str) -> dict[str, Any]:
    contracts = build()["contracts"]
    try:
        return contracts[name]
    except KeyError:
        known = ", ".join(sorted(contracts))
        raise ArtifactNotFound(f"no contract {name!r} in build.json (known: {known})") from None


def abi(name: str) -> list[dict[str, Any]]:
    """ABI of contract `name` (e.g. "Hub", "ECT", "AppRegistry", "Workerpool")."""
    return _contract(name)["abi"]


def bytecode(name: str) -> str:
    """Creation bytecode of contract `name`, 0x-prefixed hex."""
    return _contract(name)["bytecode"]


def sources_digest() -> str:
    """Digest of the Solidity sources, the compile script and the pinned compiler versions.

    Same recipe as compile.mjs: sha256 over "<relpath>\\n<sha256 of the file>\\n" for every
    marketplace/contracts/src/**/*.sol and compile.mjs, sorted by repo-relative POSIX path,
    followed by "solc <v>\\nopenzeppelin <v>\\n" from package.json's devDependencies.
    """
    files = [*(path for path in SOURCES_DIR.rglob("*.sol") if path.is_file()), COMPILE_SCRIPT]
    relpaths = sorted(path.relative_to(REPO_ROOT).as_posix() for path in files)
    lines = [
        f"{rel}\n{hashlib.sha256((REPO_ROOT / rel).read_bytes()).hexdigest()}\n" for rel in relpaths
    ]
    deps = json.loads(PACKAGE_JSON.read_text(encoding="utf-8"))["devDependencies"]
    lines.append(f"solc {deps['solc']}\nopenzeppelin {deps['@openzeppelin/contracts']}\n")
    return hashlib.sha256("".join(lines).encode("utf-8")).hexdigest()


def is_fresh() -> bool:
    """Whether build.json on disk was compiled from the current sources (else: make contracts)."""
    on_disk = json.loads(BUILD_PATH.read_text(encoding="utf-8"))
    return on_disk.get("sourcesDigest") == sources_digest()
