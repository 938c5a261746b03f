"""The house rules of design.md, read from the source with ast.

- a stage imports only the ground, ``pipeline.core`` and its own modules;
- only ``pipeline.cli`` imports click, and nothing imports ``pipeline.cli``;
- ``pipeline.core`` imports no stage, no ground module, and none of pandas, requests,
  click or the other I/O-bound libraries.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PKG = ROOT / "pipeline"

SCHEMAS = ("base", "ingest", "inputs", "package", "parse", "classify", "evolution", "images", "collect",
           "orchestration", "report", "smells", "label")
GROUND = {"pipeline", "pipeline.config", "pipeline.errors", "pipeline.schemas",
          "pipeline.tables", "pipeline.taxonomy", "pipeline.progress", "pipeline.outputs",
          "pipeline.near_duplicates",
          "pipeline.executor",
          *(f"pipeline.schemas.{m}" for m in SCHEMAS)}
#: stage -> module prefixes that belong to it
STAGES = {
    "ingest": ("pipeline.ingest", "pipeline.ingest_checks", "pipeline.ingest_images",
               "pipeline.ingest_sheets"),
    "collect": ("pipeline.collect",),
    "parse": ("pipeline.parse", "pipeline.parse_corpus", "pipeline.parse_shards"),
    "classify": ("pipeline.classify",),
    "evolution": ("pipeline.evolution",),
    "orchestration": ("pipeline.orchestration",),
    "smells": ("pipeline.smells",),
    "images": ("pipeline.images",),
    "report": ("pipeline.report",),
    "publish": ("pipeline.publish",),
    "label": ("pipeline.label",),
}
CORE_FORBIDDEN = {"pandas", "requests", "click", "matplotlib", "sklearn", "tqdm", "github",
                  "urllib", "http", "socket", "subprocess", "shutil", "tempfile", "pathlib",
                  "os", "io", "glob", "importlib", "sys"}


def module_name(path: Path) -> str:
    rel = path.relative_to(ROOT).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def imports(path: Path) -> set[str]:
    """Absolute names of every module ``path`` imports (at any depth of the file)."""
    mod = module_name(path)
    package = mod if path.name == "__init__.py" else mod.rsplit(".", 1)[0]
    out: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            out.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                prefix = ".".join(base + ([node.module] if node.module else []))
            else:
                prefix = node.module or ""
            out.add(prefix)
            out.update(f"{prefix}.{a.name}" for a in node.names)
    return out


def stage_of(mod: str) -> str | None:
    for stage, prefixes in STAGES.items():
        if any(mod == p or mod.startswith(p + ".") for p in prefixes):
            return stage
    return None


MODULES = {module_name(p): p for p in sorted(PKG.rglob("*.py"))}


def _project_imports(mod: str) -> set[str]:
    """Imported names that are modules of the project."""
    return {i for i in imports(MODULES[mod]) if i in MODULES}


def test_every_module_has_a_place() -> None:
    """A new module must be ground, core, CLI or part of a stage: none slips past the rules."""
    homeless = sorted(m for m in MODULES if m not in GROUND and not stage_of(m)
                      and not m.startswith(("pipeline.core", "pipeline.cli")))
    assert not homeless, f"add {homeless} to GROUND or STAGES in this test"


def test_the_walk_sees_every_stage() -> None:
    seen = {stage_of(m) for m in MODULES} - {None}
    assert seen == set(STAGES)
    assert "pipeline.parse" in _project_imports("pipeline.cli.parse")


@pytest.mark.parametrize("mod", [m for m in MODULES if stage_of(m)])
def test_a_stage_imports_no_other_stage(mod: str) -> None:
    own = stage_of(mod)
    bad = sorted(i for i in _project_imports(mod)
                 if stage_of(i) not in (None, own) or i.startswith("pipeline.cli"))
    assert not bad, f"{mod} (stage {own}) imports {bad}"


@pytest.mark.parametrize("mod", sorted(MODULES))
def test_only_the_cli_imports_click(mod: str) -> None:
    uses_click = any(i == "click" or i.startswith("click.") for i in imports(MODULES[mod]))
    in_cli = mod == "pipeline.cli" or mod.startswith("pipeline.cli.")
    assert in_cli or not uses_click, f"{mod} imports click; only pipeline/cli/ may"


@pytest.mark.parametrize("mod", [m for m in MODULES if m.startswith("pipeline.core")])
def test_core_is_pure(mod: str) -> None:
    found = imports(MODULES[mod])
    third = sorted(i for i in found if i.split(".")[0] in CORE_FORBIDDEN)
    project = sorted(i for i in found if i.startswith("pipeline") and i in MODULES
                     and not i.startswith("pipeline.core"))
    assert not third, f"{mod} imports {third}"
    assert not project, f"{mod} imports {project}"
    source = MODULES[mod].read_text(encoding="utf-8")
    for call in ("open(", "__import__(", "import_module("):
        assert call not in source, f"{mod} calls {call[:-1]}"


def test_ground_imports_no_stage_and_no_cli() -> None:
    for mod in sorted(GROUND & set(MODULES)):
        bad = sorted(i for i in _project_imports(mod) if stage_of(i) or i.startswith("pipeline.cli"))
        assert not bad, f"{mod} imports {bad}"
