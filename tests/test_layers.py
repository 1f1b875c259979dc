"""The layers stay as the README draws them ("Layout"): every import in the repository, read with ``ast``, points down.

toolkit (imports no app) < accounts < chat < securechat (the project wiring). No module imports another app's
``views``. Test modules may import the wiring, to drive the whole app.
"""

from __future__ import annotations

import ast
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
LAYERS = {"toolkit": 0, "accounts": 1, "chat": 2, "securechat": 3}
WIRING = "securechat"


def imported_modules(source: str, module: str) -> list[str]:
    """Every module ``source`` (the text of ``module``) imports, anywhere in it, as absolute dotted names."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = _absolute(node, module)
            # ``from chat import views`` imports the module chat.views: name each imported name under its base.
            found.extend(f"{base}.{alias.name}" for alias in node.names)
    return found


def _absolute(node: ast.ImportFrom, module: str) -> str:
    if not node.level:
        return node.module or ""
    package = module.split(".")[: -node.level]
    return ".".join([*package, *([node.module] if node.module else [])])


def is_test_module(path: Path) -> bool:
    return "tests" in path.parts or path.name.startswith("test_") or path.name == "conftest.py"


def violations(path: Path, source: str) -> list[str]:
    """The imports of the file at ``path`` (relative to the repository) that point up, or into another app's views."""
    module = ".".join(path.with_suffix("").parts)
    own = path.parts[0]
    found = []
    for name in imported_modules(source, module):
        target = name.split(".")[0]
        if target not in LAYERS:
            continue  # the standard library or a dependency
        parts = name.split(".")
        if "views" in parts[1:2] and target != own:
            found.append(f"{path}: imports {name}, another app's views")
        elif own in LAYERS and LAYERS[target] > LAYERS[own] and not (target == WIRING and is_test_module(path)):
            found.append(f"{path}: imports {name}, a layer above {own}")
    return found


def python_files() -> list[Path]:
    listed = subprocess.run(
        ["git", "ls-files", "-co", "--exclude-standard", "*.py"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.split()
    return [Path(name) for name in listed if (ROOT / name).exists()]


def test_every_import_points_down_and_no_module_imports_another_apps_views() -> None:
    files = python_files()
    assert any(path.parts[0] == "toolkit" for path in files), "the toolkit's files were not found"
    found = [problem for path in files for problem in violations(path, (ROOT / path).read_text())]
    assert found == []


@pytest.mark.parametrize(
    ("path", "source", "problem"),
    [
        ("toolkit/api.py", "from accounts.models import User", "a layer above toolkit"),
        ("toolkit/api.py", "def f():\n    import chat.services", "a layer above toolkit"),
        ("accounts/services.py", "from chat import services", "a layer above accounts"),
        ("accounts/views.py", "from securechat.health import run_checks", "a layer above accounts"),
        ("chat/consumers.py", "from securechat import routing", "a layer above chat"),
        ("chat/sending/store.py", "from ...securechat import asgi", "a layer above chat"),
        ("chat/views.py", "from accounts.views import storable", "another app's views"),
        ("chat/views.py", "from accounts import views", "another app's views"),
        ("chat/tests/test_views.py", "from accounts import views", "another app's views"),
        ("securechat/admin.py", "from accounts.views import client_info", "another app's views"),
    ],
)
def test_the_guard_names_an_import_that_points_up(path: str, source: str, problem: str) -> None:
    [found] = violations(Path(path), source)
    assert problem in found


@pytest.mark.parametrize(
    ("path", "source"),
    [
        ("chat/tests/test_consumer.py", "from securechat.asgi import application"),
        ("securechat/routing.py", "from chat.consumers import ChatConsumer"),
        ("chat/services.py", "from accounts.audit import record_event\nfrom toolkit import throttle"),
        ("chat/urls.py", "from chat import views"),
        ("bench/paths.py", "from chat.sending import store"),
    ],
)
def test_the_guard_lets_imports_that_point_down_pass(path: str, source: str) -> None:
    assert violations(Path(path), source) == []
