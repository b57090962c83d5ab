"""The tests' own layout: no test module imports another test module.

What test modules share lives in ``tests/support`` (plain modules) and in fixtures: a tier's
``conftest.py``, or ``tests/support/fixtures.py`` for fixtures more than one tier uses. A test
module imported by another is loaded twice under two names (pytest imports it by its file name, the
other module by its package path), and an autouse fixture imported with it applies to every test of
the importing module, which nothing there says. Imports inside functions count too.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parents[1]
ROOT = TESTS.parent


def _dotted(path: Path) -> str:
    return ".".join(path.relative_to(ROOT).with_suffix("").parts)


TEST_MODULES = sorted(TESTS.rglob("test_*.py"))
# pytest puts a test's folder on sys.path, so ``import test_alerts`` would reach a test module too
TEST_NAMES = {_dotted(p) for p in TEST_MODULES} | {p.stem for p in TEST_MODULES}


def _is_test_module(name: str) -> bool:
    return name.rsplit(".", 1)[-1].startswith("test_") and name in TEST_NAMES


def imported_test_modules(source: str, module: str) -> list[tuple[int, str]]:
    """(line, module) for every import in ``source`` (the module ``module``) that names a test module."""
    package = module.split(".")[:-1]
    found: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [(node.lineno, a.name) for a in node.names if _is_test_module(a.name)]
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: ``.`` is the module's own package
                parts = package[: len(package) - node.level + 1] + ([node.module] if node.module else [])
                base = ".".join(parts)
            else:
                base = node.module or ""
            names = [base] + [f"{base}.{a.name}" for a in node.names]  # ``from tests.x import test_y``
            found += [(node.lineno, n) for n in names if _is_test_module(n)]
    return found


def test_the_walk_sees_every_tier() -> None:
    tiers = {p.relative_to(TESTS).parts[0] for p in TEST_MODULES}
    assert {"unit", "integration", "infra", "e2e", "console"} <= tiers


def test_no_test_module_imports_another_test_module() -> None:
    # Given every Python file under tests/: test modules, conftests and the support package
    offenders = [
        f"{path.relative_to(ROOT)}:{line} imports {name}"
        for path in sorted(TESTS.rglob("*.py"))
        for line, name in imported_test_modules(path.read_text(), _dotted(path))
    ]
    # Then none of them imports a test module
    assert not offenders, (
        "move what test modules share into tests/support (helpers) or a conftest.py (fixtures): "
        + "; ".join(offenders)
    )


@pytest.mark.parametrize(
    "source",
    [
        "from tests.integration.test_interactions import design",
        "from tests.integration import test_alerts",
        "import tests.integration.test_schedules",
        "from .test_interaction_activities import context",
        "from . import test_interaction_activities",
        "import test_interaction_activities",
        "from test_interaction_activities import people as _people",
        "def test_x() -> None:\n    from tests.integration.test_interaction_pgp_export import folder\n",
    ],
)
def test_an_import_of_a_test_module_is_found_whatever_its_form(source: str) -> None:
    # Given a unit test module importing another test module, When its imports are read
    found = imported_test_modules(source, "tests.unit.test_example")
    # Then the import is reported
    assert len(found) == 1 and found[0][1].rsplit(".", 1)[-1].startswith("test_"), found


@pytest.mark.parametrize(
    "source",
    [
        "from tests.support.interactions import design",
        "from tests.support import fixtures",
        "from tests.integration.conftest import Api",
        "from tests.fakes import MemoryBlobStore",
        "import pytest\nfrom switchyard.tasks import test_mode",
        "from .conftest import people",
    ],
)
def test_support_modules_conftests_and_the_package_may_be_imported(source: str) -> None:
    assert imported_test_modules(source, "tests.unit.test_example") == []
