"""No stage imports another stage: shared code lives in pipeline/core/ or the ground."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PIPELINE = Path(__file__).resolve().parents[1] / "pipeline"

# stage module -> the modules of other stages it must not import
FORBIDDEN = {
    "images.py": {"ingest", "ingest_images", "figures", "report", "parse", "classify"},
    "parse.py": {"ingest", "ingest_images", "classify", "images", "figures"},
    "collect/run.py": {"ingest", "ingest_images"},
    "collect/files.py": {"ingest", "ingest_images"},
}


def _imports(path: Path) -> set[str]:
    """Imported module names, relative ones without their leading dots (``.ingest`` -> ingest)."""
    out: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom):
            mod = node.module or ""
            if node.level:
                out.add(mod.split(".")[0] if mod else "")
                out.update(a.name for a in node.names if not mod)
            else:
                out.add(mod)
        elif isinstance(node, ast.Import):
            out.update(a.name for a in node.names)
    return out


@pytest.mark.parametrize("module", sorted(FORBIDDEN))
def test_stage_does_not_import_other_stages(module: str) -> None:
    assert not (_imports(PIPELINE / module) & FORBIDDEN[module])


@pytest.mark.parametrize("module", ["compose.py", "sniff.py", "categories.py", "cells.py"])
def test_core_is_pure(module: str) -> None:
    """core/ imports the standard library, PyYAML and itself only."""
    names = _imports(PIPELINE / "core" / module)
    assert {n.split(".")[0] for n in names if n} <= {
        "__future__", "ast", "json", "re", "dataclasses", "typing", "collections", "yaml",
        "compose", "categories", "cells"}
