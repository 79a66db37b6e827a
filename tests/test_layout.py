"""tests/ mirrors the code: `pools/x.py` is tested in `tests/pools/test_x.py`, `marketplace/x/y.py`
in `tests/marketplace/x/test_y.py`. A test module whose folder has no code folder of the same path
has lost its code (moved or renamed) and is found here, with the few places that are not mirrors
named below."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TESTS = ROOT / "tests"

# Folders of tests/ that mirror no code: browser tests of the whole site, factory_boy factories.
OWN_FOLDERS = {"e2e", "factories"}
# Tests at the top of tests/ that check the whole tree rather than one package.
CROSS_CUTTING = {"test_layering.py", "test_layout.py", "test_makefile.py"}


def misplaced_test_modules(tests: Path, code: Path) -> list[str]:
    """The test modules under `tests` (paths relative to it) that sit where `code` has no folder
    of the same path, or at the top of `tests` without being a cross-cutting test."""
    misplaced = []
    for module in sorted(tests.rglob("test_*.py")):
        relative = module.relative_to(tests)
        folder = relative.parent
        if folder == Path("."):
            if relative.name not in CROSS_CUTTING:
                misplaced.append(relative.as_posix())
        elif folder.parts[0] not in OWN_FOLDERS and not (code / folder).is_dir():
            misplaced.append(relative.as_posix())
    return misplaced


def test_every_test_module_sits_where_its_code_is():
    assert misplaced_test_modules(TESTS, ROOT) == [], (
        "these test modules sit in a folder that mirrors no code folder: move each to "
        "tests/<the code's folder>/test_<module>.py, or list it in tests/test_layout.py if it "
        "checks the whole tree"
    )


def test_a_test_module_left_behind_by_a_move_is_found(tmp_path):
    code, tests = tmp_path / "code", tmp_path / "code" / "tests"
    for folder in ("marketplace/catalogue", "pools"):
        (code / folder).mkdir(parents=True)
    for module in (
        "marketplace/catalogue/test_services.py",
        "pools/test_scheduler.py",
        "e2e/test_trade.py",
        "factories/test_catalogue.py",
        "test_layering.py",
        "catalogue/test_views.py",  # its code is marketplace/catalogue/
        "pools/worker/test_agent.py",  # pools/worker/ does not exist
        "test_anything.py",  # at the top, and not a cross-cutting test
    ):
        (tests / module).parent.mkdir(parents=True, exist_ok=True)
        (tests / module).write_text("")

    assert misplaced_test_modules(tests, code) == [
        "catalogue/test_views.py",
        "pools/worker/test_agent.py",
        "test_anything.py",
    ]
