"""The collected static files, as production serves them: hashed, and every module import resolvable."""

import re
import urllib.request
from pathlib import Path

from tests.servers import Server

SPECIFIER = re.compile(r"""(?:\bfrom\s*|\bimport\s*\(?\s*)["'](\.{1,2}/[^"']+)["']""")


def collected_modules(static_root: Path) -> list[Path]:
    hashed = re.compile(r"\.[0-9a-f]{12}\.js$")
    return [path for path in static_root.rglob("*.js") if hashed.search(path.name)]


def test_every_hashed_module_imports_hashed_files_that_exist(static_root: Path) -> None:
    modules = collected_modules(static_root)
    assert len(modules) > 10
    for module in modules:
        for specifier in SPECIFIER.findall(module.read_text()):
            target = (module.parent / specifier).resolve()
            assert target.exists(), f"{module.name} imports {specifier}, which was not collected"
            assert re.search(r"\.[0-9a-f]{12}\.js$", target.name), f"{module.name} imports unhashed {specifier}"


def test_pages_load_hashed_scripts_and_styles(live_daphne: Server) -> None:
    with urllib.request.urlopen(f"{live_daphne.url}/accounts/login/", timeout=10) as response:
        page = response.read().decode()
    assets = re.findall(r'(?:src|href)="(/static/[^"]+)"', page)
    assert assets
    assert all(re.search(r"\.[0-9a-f]{12}\.(js|css|svg)$", asset) for asset in assets), assets
