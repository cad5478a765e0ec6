"""The layout stays true: each package imports only from the layers below it.

records (schemas) → folds (folds) → infrastructure (infra) → engine (streams),
alert subscribers (alerts), replay (replay) → query (query) → the shell (dipwatch) →
the benchmark (bench). Read from the source with ``ast``, so a lazy import inside a
function counts as much as one at the top.
"""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Final

ROOT: Final = Path(__file__).resolve().parents[2]

#: package -> the project packages it may import (besides itself).
MAY_IMPORT: Final = {
    "schemas": set(),
    "folds": {"schemas"},
    "infra": {"schemas", "folds"},
    "streams": {"schemas", "folds", "infra"},
    "alerts": {"schemas", "infra"},
    "replay": {"schemas", "folds", "infra"},
    "query": {"schemas", "folds", "infra"},
    "dipwatch": {"schemas", "folds", "infra", "streams", "alerts", "replay", "query"},
    "bench": {"schemas", "folds", "infra", "streams", "replay"},
}


def _package_of(module: str) -> str | None:
    """The layer a dotted module name belongs to (the longest matching package)."""
    found = [p for p in MAY_IMPORT if module == p or module.startswith(p + ".")]
    return max(found, key=len) if found else None


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def _sources() -> list[tuple[str, Path]]:
    out = []
    for top in {p.split(".")[0] for p in MAY_IMPORT}:
        for path in sorted((ROOT / top).rglob("*.py")):
            module = ".".join(path.relative_to(ROOT).with_suffix("").parts)
            owner = _package_of(module)
            assert owner is not None
            out.append((owner, path))
    return out


def upward_imports() -> list[str]:
    """Every import that runs against the layering, as ``file: module``."""
    wrong = []
    for owner, path in _sources():
        for name in _imports(path):
            target = _package_of(name)
            if target is None or target == owner:
                continue
            if target not in MAY_IMPORT[owner]:
                wrong.append(f"{path.relative_to(ROOT)}: {name} ({owner} -> {target})")
    return sorted(wrong)


def test_no_import_runs_up_or_sideways() -> None:
    assert upward_imports() == []


def test_every_package_of_the_project_has_a_layer() -> None:
    packages = {p.parent.name for p in ROOT.glob("*/__init__.py") if p.parent.name != "tests"}
    assert packages == {p.split(".")[0] for p in MAY_IMPORT}


def test_the_check_catches_an_upward_import(tmp_path: Path) -> None:
    bad = tmp_path / "folds_bad.py"
    bad.write_text("from infra.settings import Settings\nimport streams.agents\n")
    assert _imports(bad) >= {"infra.settings", "streams.agents"}
    assert _package_of("infra.settings") not in MAY_IMPORT["folds"]
    assert _package_of("streams.agents") == "streams"
    assert _package_of("folds.guard") == "folds"
