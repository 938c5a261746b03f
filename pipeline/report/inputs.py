"""The report's inputs: every table it can use, read once per run (:class:`Inputs`).

A missing table is ``None``; asking for it (:meth:`Inputs.need`) raises
:class:`~pipeline.errors.InputTableMissing`, naming the file and the command that writes
it: the one reason a figure or target is skipped. Results computed once per run (the
artefacts, the Figure 4b rule search) are kept in :attr:`Inputs.memo`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from ..config import Paths
from ..core import modes
from ..errors import InputTableMissing, MldockError, StageInputMissing
from ..schemas import TABLES
from ..tables import read_table, repo_categories
from ..taxonomy import load_base_image_types, load_run_taxonomy, read_yaml
from .sections import Sections, load_sections

log = logging.getLogger(__name__)

MODES = tuple(m.name for m in modes.SHOWN)


INPUT_TABLES = (
    "repos", "funnel", "files", "purpose_text",
    "dockerfiles", "instructions", "base_images", "run_commands",
    "instruction_shares", "run_category_shares",
    "projects", "purposes",
    "images_table2", "images_repo_stats", "file_types_by_num", "file_types_by_size",
    "package_base_images", "package_base_types",
    "smell_files", "smell_densities", "smell_tests", "smell_top",
)


@dataclass
class Inputs:
    """The tables available to the report; ``None`` where a table is missing."""

    paths: Paths
    tables: dict[str, pd.DataFrame | None] = field(default_factory=dict)
    spec: dict[str, Any] = field(default_factory=dict)  # paper_targets.json, once loaded
    memo: dict[Any, Any] = field(default_factory=dict)  # results computed once per report

    def get(self, name: str) -> pd.DataFrame | None:
        return self.tables.get(name)

    def need(self, *names: str) -> list[pd.DataFrame]:
        """The named tables, or :class:`InputTableMissing` naming the first missing one."""
        out = []
        for n in names:
            df = self.tables.get(n)
            if df is None:
                raise self.missing(n)
            out.append(df)
        return out

    def missing(self, name: str) -> InputTableMissing:
        """The error for a missing table: its file (relative to the root) and its stage."""
        table = TABLES.get(name)
        if table is None:
            return InputTableMissing(name)
        f = self.paths.table(table.location, table.name)
        rel = f.relative_to(self.paths.root) if f.is_relative_to(self.paths.root) else f
        return InputTableMissing(name, str(rel), f"mldock {table.stage}")

    def categories(self) -> pd.DataFrame:
        (repos,) = self.need("repos")
        return repo_categories(repos, self.get("projects"))

    def mode(self, name: str, mode: str) -> pd.DataFrame:
        (df,) = self.need(name)
        if "mode" in df.columns:
            df = df[df["mode"] == mode]
            if not len(df):
                raise NotRecomputable(f"input table {name} has no {mode}-mode rows")
        return df


class NotRecomputable(MldockError):
    """Our value cannot be computed from the data we have (an input has no rows of a mode,
    a taxonomy file is absent, the paper-mode inputs are published aggregates); the
    message is the one-line reason. Like :class:`InputTableMissing`, it skips; every other
    exception is a defect and propagates."""


SKIPPED = (InputTableMissing, NotRecomputable)
"""The exceptions that turn a figure, a finding or a target into a skipped row."""


def load_inputs(p: Paths) -> Inputs:
    """Read every declared input table that exists (interim and processed)."""
    inp = Inputs(p)
    for name in INPUT_TABLES:
        if name not in TABLES:
            inp.tables[name] = None
            log.info("table %s is not declared yet; skipped", name)
            continue
        try:
            inp.tables[name] = read_table(name, p)
        except StageInputMissing:
            inp.tables[name] = None
            log.info("input table %s missing; figures and targets that need it are skipped", name)
    return inp


def load_purposes(p: Paths) -> list[dict[str, Any]]:
    """The purpose taxonomy nodes (``id``, ``name``, ``parent``) from taxonomy/purposes.yaml."""
    f = p.taxonomy / "purposes.yaml"
    if not f.exists():
        raise NotRecomputable("taxonomy/purposes.yaml missing")
    doc = read_yaml(f) or {}
    entries = doc.get("entries") or []
    return [
        {"id": str(e["id"]), "name": str(e.get("name", e["id"])), "parent": e.get("parent")}
        for e in entries
    ]


def final_repos(inp: Inputs) -> set[str]:
    (repos,) = inp.need("repos")
    return set(repos.loc[repos["in_final_dataset"].astype(bool), "repo"])


def mode_repos(inp: Inputs, mode: str) -> set[str]:
    """Repositories a per-category statistic covers: the 405 final set in paper mode
    (the study's RQ3/RQ4 scripts read final-dataset.csv), all studied ones in corrected."""
    (repos,) = inp.need("repos")
    return final_repos(inp) if modes.policy(mode).final_dataset_only else set(repos["repo"])


def base_type_labels(inp: Inputs) -> dict[str, tuple[str, str]]:
    """``type id -> (our label, the paper's label)`` of taxonomy/base_image_types.yaml
    (validated by :func:`pipeline.taxonomy.load_base_image_types`; read once per report)."""
    if "base_type_labels" not in inp.memo:
        types = load_base_image_types(inp.paths.taxonomy)
        inp.memo["base_type_labels"] = {t: (types.labels[t], types.paper_labels[t])
                                        for t in types.ids}
    labels: dict[str, tuple[str, str]] = inp.memo["base_type_labels"]
    return labels


def sections(inp: Inputs) -> Sections:
    """``targets/sections.yaml`` of the report's root, read once per report."""
    if "sections" not in inp.memo:
        inp.memo["sections"] = load_sections(inp.paths.targets)
    sec: Sections = inp.memo["sections"]
    return sec


def run_category_ids(p: Paths) -> list[str]:
    """Figure 3b's categories: the ids of taxonomy/run_commands.yaml, in alphabetical order."""
    return sorted(load_run_taxonomy(p.taxonomy).ids)
