"""``mldock report``: the paper's tables and figures, the notebooks, the reproduction report.

Reads only ``data/interim`` and ``data/processed`` (and the taxonomy); never the network.

* :func:`load_inputs` reads every table the report can use; a missing one is ``None``.
* :func:`draw_all` draws Tables 1-2 and Figures 1-5 under ``reports/figures`` and
  ``reports/tables``; a figure whose input is missing is skipped with a log line.
* :func:`reproduction` compares every leaf of ``paper_targets.json`` with our values in
  paper mode and corrected mode.
* :func:`run_notebooks` executes ``notebooks/*.ipynb`` headless into ``reports/notebooks``.

Target ids are dotted JSON paths into ``paper_targets.json`` ending at the compared leaf,
e.g. ``rq1_table1_medians.Model.Size.value``; a key that itself contains a dot is written
in brackets (``rq4_fig5b_file_size.value.Model.[.a].size_MB``).
"""

from __future__ import annotations

import json
import logging
import math
import os
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from . import figures as F
from . import report_fig4 as F4
from .config import CATEGORIES, Paths
from .core import modes
from .errors import MldockError, StageInputMissing
from .report_status import DATA_DEFECTS, STATUSES, UNREPRODUCIBLE, artefact_counts
from .schemas import TABLES
from .tables import UNLABELLED, atomic_write_text, read_table, repo_categories, write_table
from .taxonomy import load_run_taxonomy, normalise_keyword, read_yaml

log = logging.getLogger(__name__)

MODES = tuple(m.name for m in modes.SHOWN)
TARGETS_ENV = "MLDOCK_PAPER_TARGETS"

INPUT_TABLES = (
    "repos", "funnel", "files", "purpose_text",
    "dockerfiles", "instructions", "base_images", "run_commands",
    "instruction_shares", "run_category_shares",
    "projects", "purposes",
    "images_table2", "images_repo_stats", "file_types_by_num", "file_types_by_size",
    "package_base_images", "package_base_types",
)

NOTEBOOKS = (
    "0-funnel.ipynb",
    "1-rq1-project-categories.ipynb",
    "2-rq2-purposes.ipynb",
    "3-rq3-dockerfiles.ipynb",
    "4-rq4-images.ipynb",
)


# --------------------------------------------------------------------------------------
# inputs
# --------------------------------------------------------------------------------------


@dataclass
class Inputs:
    """The tables available to the report; ``None`` where a table is missing."""

    paths: Paths
    tables: dict[str, pd.DataFrame | None] = field(default_factory=dict)
    spec: dict[str, Any] = field(default_factory=dict)  # paper_targets.json, once loaded
    memo: dict[str, Any] = field(default_factory=dict)  # results computed once per report

    def get(self, name: str) -> pd.DataFrame | None:
        return self.tables.get(name)

    def need(self, *names: str) -> list[pd.DataFrame]:
        """The named tables, or :class:`NotRecomputable` naming the first missing one."""
        out = []
        for n in names:
            df = self.tables.get(n)
            if df is None:
                raise NotRecomputable(f"input table {n} missing")
            out.append(df)
        return out

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


class NotRecomputable(Exception):
    """Our value for a target cannot be computed; the message is the one-line reason."""


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
        except (MldockError, ValueError, KeyError) as exc:
            inp.tables[name] = None
            log.warning("input table %s unreadable (%s); skipped", name, exc)
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


# --------------------------------------------------------------------------------------
# figures and tables
# --------------------------------------------------------------------------------------


def table1_frame(inp: Inputs, mode: str = "paper") -> pd.DataFrame:
    """Table 1; Dockerfiles = the study's name-based count (paper) or content-checked
    Dockerfiles from files.csv (corrected)."""
    (repos,) = inp.need("repos")
    cats = inp.categories()
    dockerfiles = None
    if mode == "corrected":
        (files,) = inp.need("files")
        df = files[files["kind"] == "dockerfile"]
        dockerfiles = df.groupby("repo").size()
    return F.table1(repos, cats, dockerfiles)


def table1_display(t1: pd.DataFrame) -> pd.DataFrame:
    out = t1.copy()
    out["category"] = out["category"].map(F.display)
    out["share_pct"] = out["share_pct"].round(0).astype("Int64").astype(str) + "%"
    return out.rename(columns={"category": "Category", "repos": "Repos", "share_pct": "%",
                               "n_manual": "Manual labels", "n_predicted": "Predicted labels",
                               **F.TABLE1_COLUMNS})


def table2_frame(inp: Inputs, mode: str) -> pd.DataFrame:
    t2 = inp.mode("images_table2", mode).copy()
    order = {c: i for i, c in enumerate(CATEGORIES)}
    t2 = t2.sort_values("category", key=lambda s: s.map(order).fillna(99))
    cols = ["category", "conf_size", "arch", "os", "env", "layers", "rootfs", "files",
            "max_level", "n_repos", "n_manual", "n_predicted"]
    out = t2.loc[:, [c for c in cols if c in t2.columns]].copy()
    out["category"] = out["category"].map(F.display)
    return out.rename(columns={"category": "Category", "conf_size": "Conf. size (KiB)",
                               "arch": "Arch", "os": "OS", "env": "Env", "layers": "Layers",
                               "rootfs": "RootFS", "files": "Files", "max_level": "Max.Level"})


def purpose_counts(inp: Inputs) -> dict[str, int]:
    """Repositories per purpose: the study's coding where it exists, else the model's
    prediction (rows that only a keyword rule gave are evidence, not labels)."""
    pur = inp.get("purposes")
    if pur is None:
        return {}
    pur = pur[pur["source"].isin(["coded", "predicted"])]
    return {str(k): int(v) for k, v in pur.groupby("purpose")["repo"].nunique().items()}


def purpose_count_note(inp: Inputs) -> str:
    """``(n) = repositories: coded 247, predicted 159`` for the Figure 2 title."""
    pur = inp.get("purposes")
    if pur is None:
        return "(n) = repositories"
    coded = set(pur.loc[pur["source"] == "coded", "repo"])
    predicted = set(pur.loc[pur["source"] == "predicted", "repo"]) - coded
    return f"(n) = repositories: {len(coded)} coded by the study, {len(predicted)} predicted"


def instruction_frame(inp: Inputs, mode: str) -> pd.DataFrame:
    sh = inp.mode("instruction_shares", mode)
    sh = sh[sh["repo"].isin(mode_repos(inp, mode))]
    return F.with_category(sh, inp.categories())


def run_category_frame(inp: Inputs, mode: str) -> pd.DataFrame:
    sh = inp.mode("run_category_shares", mode).rename(columns={"category": "run_category"})
    sh = sh[sh["repo"].isin(mode_repos(inp, mode))]
    return F.with_category(sh, inp.categories())


def image_key(name: Any, official: Any) -> str:
    """Figure 4a label of a base image: its name, ``{}/name`` when not an official image."""
    n = str(name).strip().lower()
    return n if str(official).lower() in ("true", "1") else "{}/" + n


def base_type_labels(p: Paths) -> dict[str, tuple[str, str]]:
    """``type id -> (our label, the paper's label)`` from taxonomy/base_image_types.yaml."""
    f = p.taxonomy / "base_image_types.yaml"
    if not f.exists():
        return {}
    doc = read_yaml(f) or {}
    out = {}
    for e in doc.get("entries") or []:
        label = str(e.get("label") or e["id"])
        out[str(e["id"])] = (label, str(e.get("paper_label") or label))
    return out


def run_category_ids(p: Paths) -> list[str]:
    """Figure 3b's categories: the ids of taxonomy/run_commands.yaml, in alphabetical order."""
    return sorted(load_run_taxonomy(p.taxonomy).ids)


def fig4_doc(inp: Inputs) -> dict[str, Any]:
    """``taxonomy/figure4_paper.yaml``, read once per report."""
    if "fig4" not in inp.memo:
        inp.memo["fig4"] = F4.load_fig4(inp.paths.taxonomy)
    doc: dict[str, Any] = inp.memo["fig4"]
    return doc


def paper_base_frame(inp: Inputs, kind: str, top: int | None = 10) -> pd.DataFrame:
    """Paper-mode Figure 4a/4b from the study's own sheet (study.md 4.4/4.5, report_fig4)."""
    sheet, temp = inp.need("package_base_images", "package_base_types")
    doc = fig4_doc(inp)
    if kind == "keyword":
        hits = F4.keyword_hits(sheet, doc["figure4a"])
    else:
        labels = base_type_labels(inp.paths)
        hits = F4.type_hits(sheet, temp, doc["figure4b_merge"], type_rules(inp)[0][0],
                            doc["figure4a"])
        hits["key"] = hits["key"].map(lambda t: labels.get(str(t), (t, t))[1])
    return F.base_image_shares(hits, inp.categories(), "key", top=top, n_repos=F4.n_repos(sheet))


def type_rules(inp: Inputs) -> list[tuple[F4.TypeRule, int, int]]:
    """Figure 4b candidate rules scored against the published type totals, best first
    (searched once per report: figures, targets and the Figure 4 section all ask)."""
    if "type_rules" not in inp.memo:
        inp.memo["type_rules"] = _search_type_rules(inp)
    ranked: list[tuple[F4.TypeRule, int, int]] = inp.memo["type_rules"]
    return ranked


def _search_type_rules(inp: Inputs) -> list[tuple[F4.TypeRule, int, int]]:
    sheet, temp = inp.need("package_base_images", "package_base_types")
    if not inp.spec:
        try:
            inp.spec = load_spec(inp.paths)
        except StageInputMissing as exc:
            raise NotRecomputable("Figure 4b rule search needs paper_targets.json") from exc
    to_id = {" ".join(p.split()): t for t, (_, p) in base_type_labels(inp.paths).items()}
    doc = fig4_doc(inp)
    return F4.search_type_rules(sheet, temp, doc["figure4b_merge"],
                                F4.paper_type_targets(inp.spec, to_id), doc["figure4a"])


def fig4_section(inp: Inputs) -> list[str]:
    """The report's paper-mode Figure 4 section (empty when its inputs are missing)."""
    try:
        ranked = type_rules(inp)
        kw, ty = paper_base_frame(inp, "keyword", None), paper_base_frame(inp, "type", None)
        (sheet,) = inp.need("package_base_images")
    except NotRecomputable:
        return []
    return F4.section(ranked, kw, ty, inp.spec, F4.n_repos(sheet), F.to_markdown, _canon)


def base_image_frame(inp: Inputs, mode: str, kind: str, top: int | None = 10) -> pd.DataFrame:
    """Figure 4a (kind='keyword') or 4b (kind='type') shares, % of repos with a FROM.

    Paper mode (policy ``figure4a_substring_rule``): :func:`paper_base_frame`, from the
    study's sheet ``baseimages``.  Corrected mode: our parsed FROM rows; Figure 4a keys
    are image names (``{}/name`` for non-official images) equal to the parsed name, 4b
    keys the base-image types (``unknown`` left out).
    """
    if modes.policy(mode).figure4a_substring_rule:
        return paper_base_frame(inp, kind, top)
    bi = inp.mode("base_images", mode)
    bi = bi[bi["repo"].isin(mode_repos(inp, mode))].copy()
    n_repos = int(bi["repo"].nunique())
    if kind == "type":
        labels = base_type_labels(inp.paths)
        bi = bi[bi["base_type"].fillna("unknown") != "unknown"]
        pick = 1 if modes.policy(mode).base_type_labels_of_paper else 0
        bi["key"] = bi["base_type"].map(
            lambda t: labels.get(str(t), (str(t), str(t)))[pick])
        return F.base_image_shares(bi, inp.categories(), "key", top=top, n_repos=n_repos)
    refs = bi[~bi["is_stage_reference"].astype(bool) & ~bi["is_variable"].astype(bool)]
    refs = refs.assign(key=[image_key(n, o) for n, o in zip(refs["name"], refs["official"],
                                                           strict=True)])
    return F.base_image_shares(refs, inp.categories(), "key", top=top, n_repos=n_repos)


def file_types_num_frame(inp: Inputs, mode: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    df = inp.mode("file_types_by_num", mode).copy()
    df = df.sort_values(["category", "rank"])
    line = (df.groupby(["category", "file_type"], sort=False)["perc_storage"].mean()
            .rename("value").reset_index())
    return df, line


FIG5_SOURCE = {"paper": "paper mode: the package's published aggregates, redrawn",
               "corrected": "corrected mode: rebuilt per repository"}


def draw_all(inp: Inputs, out: Path | None = None, modes: tuple[str, ...] = MODES) -> dict[str, str]:
    """Draw every table and figure; returns ``name -> "ok" | "skipped: <reason>"``."""
    out = out or inp.paths.reports
    figdir, tabdir = out / "figures", out / "tables"
    done: dict[str, str] = {}

    def attempt(name: str, fn: Callable[[], None]) -> None:
        try:
            fn()
            done[name] = "ok"
        except NotRecomputable as exc:
            done[name] = f"skipped: {exc}"
            log.info("%s skipped: %s", name, exc)
        except (KeyError, ValueError, TypeError) as exc:
            done[name] = f"skipped: {type(exc).__name__}: {exc}"
            log.warning("%s failed: %s: %s", name, type(exc).__name__, exc)

    def funnel() -> None:
        (fn,) = inp.need("funnel")
        F.save_figure(F.fig_funnel(fn), "figure1_funnel", figdir)
        F.save_table(fn, "figure1_funnel", tabdir)

    def purposes() -> None:
        nodes = load_purposes(inp.paths)
        F.save_figure(F.fig_purpose_tree(nodes, purpose_counts(inp), purpose_count_note(inp)), "figure2_purposes", figdir)

    attempt("figure1_funnel", funnel)
    attempt("figure2_purposes", purposes)
    for mode in modes:
        sfx = f"_{mode}"

        def t1(mode: str = mode, sfx: str = sfx) -> None:
            t = table1_frame(inp, mode)
            F.save_table(table1_display(t), "table1" + sfx, tabdir)

        def f3a(mode: str = mode, sfx: str = sfx) -> None:
            df = instruction_frame(inp, mode)
            fig = F.fig_category_boxplots(
                df, "instruction", "percentage", F.INSTRUCTIONS_3A,
                f"Figure 3a: composition of Docker instructions per repository ({mode} mode)",
                "Composition (%)")
            F.save_figure(fig, "figure3a_instructions" + sfx, figdir)
            F.save_table(F.median_shares(df, inp.categories(), "instruction"),
                         "figure3a_instructions" + sfx, tabdir)

        def f3b(mode: str = mode, sfx: str = sfx) -> None:
            df = run_category_frame(inp, mode)
            fig = F.fig_category_boxplots(
                df, "run_category", "percentage",
                run_category_ids(inp.paths),
                f"Figure 3b: categories of commands in RUN instructions ({mode} mode)",
                "Percentage (%)")
            F.save_figure(fig, "figure3b_run_commands" + sfx, figdir)

        def f4a(mode: str = mode, sfx: str = sfx) -> None:
            sh = base_image_frame(inp, mode, "keyword")
            n = int(sh["n_repos_with_from"].max()) if len(sh) else 0
            fig = F.fig_stacked_bars(
                sh, f"Figure 4a: most used base images, top 10 per category ({mode} mode)",
                f"% of the {n} repositories with a FROM")
            F.save_figure(fig, "figure4a_base_images" + sfx, figdir)
            F.save_table(sh, "figure4a_base_images" + sfx, tabdir)

        def f4b(mode: str = mode, sfx: str = sfx) -> None:
            sh = base_image_frame(inp, mode, "type", top=None)
            n = int(sh["n_repos_with_from"].max()) if len(sh) else 0
            fig = F.fig_grouped_bars(sh, f"Figure 4b: base image types ({mode} mode)",
                                     f"% of the {n} repositories with a FROM")
            F.save_figure(fig, "figure4b_base_image_types" + sfx, figdir)
            F.save_table(sh, "figure4b_base_image_types" + sfx, tabdir)

        def t2(mode: str = mode, sfx: str = sfx) -> None:
            F.save_table(table2_frame(inp, mode), "table2" + sfx, tabdir)

        def f5a(mode: str = mode, sfx: str = sfx) -> None:
            df, line = file_types_num_frame(inp, mode)
            fig = F.fig_category_boxplots(
                df, "file_type", "perc_number", None,
                f"Figure 5a: most common file types in the images ({FIG5_SOURCE[mode]}); boxes: % of "
                "files per repository, grey line: mean % of storage", "% of files",
                line=line, line_label="mean % of storage")
            F.save_figure(fig, "figure5a_file_types" + sfx, figdir)

        def f5b(mode: str = mode, sfx: str = sfx) -> None:
            df = inp.mode("file_types_by_size", mode).sort_values(["category", "rank"])
            fig = F.fig_category_bars(
                df, "file_type", "size_mb",
                f"Figure 5b: file types with the largest size ({FIG5_SOURCE[mode]})",
                "File size (MB)")
            F.save_figure(fig, "figure5b_file_sizes" + sfx, figdir)
            F.save_table(df, "figure5b_file_sizes" + sfx, tabdir)

        for name, fn in (("table1", t1), ("figure3a_instructions", f3a),
                         ("figure3b_run_commands", f3b), ("figure4a_base_images", f4a),
                         ("figure4b_base_image_types", f4b), ("table2", t2),
                         ("figure5a_file_types", f5a), ("figure5b_file_sizes", f5b)):
            attempt(name + sfx, fn)
    return done


# --------------------------------------------------------------------------------------
# reproduction targets
# --------------------------------------------------------------------------------------

META_KEYS = {"unit", "location", "data_file", "note", "exact_from_counts", "text_claim",
             "text_claims", "categories", "seed_keywords", "conventions", "paper"}


def key_part(k: str) -> str:
    return f"[{k}]" if "." in k else k


def tid(*parts: str) -> str:
    return ".".join(key_part(p) for p in parts)


@dataclass
class Leaf:
    id: str
    section: str
    path: tuple[str, ...]
    value: Any
    reference: str  # "paper" or "package"
    unit: str


def walk_targets(spec: dict[str, Any]) -> Iterator[Leaf]:
    """Every compared leaf of ``paper_targets.json`` (``_meta`` excluded).

    A dict with a ``value`` key is a target: its value (or, when the paper prints none,
    its ``data_value``) is expanded into leaves (dict keys recurse; scalars and lists are
    leaves).  Dicts without ``value`` recurse; bare numbers inside them are leaves taken
    from the package (``intermediate_in_data``).
    """

    def expand(v: Any, path: tuple[str, ...], ref: str, unit: str, section: str) -> Iterator[Leaf]:
        if isinstance(v, dict):
            for k, sub in v.items():
                yield from expand(sub, (*path, str(k)), ref, unit, section)
        else:
            yield Leaf(tid(*path), section, path, v, ref, unit)

    def rec(node: Any, path: tuple[str, ...], unit: str) -> Iterator[Leaf]:
        section = path[0]
        if isinstance(node, dict) and "value" in node:
            u = str(node.get("unit", unit))
            if node["value"] is None and "data_value" in node:
                yield from expand(node["data_value"], (*path, "data_value"), "package", u, section)
            else:
                yield from expand(node["value"], (*path, "value"), "paper", u, section)
        elif isinstance(node, dict):
            u = str(node.get("unit", unit))
            for k, sub in node.items():
                if k in META_KEYS:
                    continue
                yield from rec(sub, (*path, str(k)), u)
        elif isinstance(node, (int, float)) and not isinstance(node, bool):
            yield Leaf(tid(*path), section, path, node, "package", unit)

    for k, v in spec.items():
        if k.startswith("_"):
            continue
        yield from rec(v, (k,), "")


def tolerance(leaf: Leaf) -> float:
    """The stated tolerance for a numeric leaf (documented in reports/README.md)."""
    s = leaf.section
    if s in ("rq1_table1_medians",):
        return 0.5
    if s == "rq1_category_share":
        return 0.5  # printed as whole percentages
    if s == "rq4_table2":
        return 0.01 if leaf.path[2] == "conf_size" else 0.5
    if s == "rq3_instruction_frequency" and leaf.path[1] == "RUN_share_text":
        return 1.0  # "about 40%"
    if s in ("rq3_instruction_frequency", "rq3_run_command_categories", "rq3_base_images",
             "rq3_base_image_types", "rq4_fig5a_file_composition", "rq4_fig5b_file_size"):
        return 0.01
    return 0.0


class Ours:
    """Our values per mode, keyed by target id; reasons for what we cannot compute."""

    def __init__(self) -> None:
        self.values: dict[str, dict[str, Any]] = {m: {} for m in MODES}
        self.reasons: dict[str, dict[str, str]] = {m: {} for m in MODES}
        self.mix: dict[str, str] = {}
        self.notes: dict[str, str] = {}

    def set(self, mode: str, target: str, value: Any) -> None:
        self.values[mode][target] = value

    def both(self, target: str, value: Any) -> None:
        for m in MODES:
            self.values[m][target] = value

    def missing(self, mode: str, prefix: str, reason: str) -> None:
        self.reasons[mode][prefix] = reason

    def reason_for(self, mode: str, target: str) -> str:
        best = ""
        for prefix in self.reasons[mode]:
            if target.startswith(prefix) and len(prefix) > len(best):
                best = prefix
        return self.reasons[mode].get(best, "") if best else ""


def _canon(cat: str) -> str:
    try:
        return F.canonical_category(cat)
    except KeyError:
        return cat


FUNNEL_STEPS = {
    "unique_repos_search_results": "all-search",
    "repos_with_dockerfile": "initial",
    "after_inclusion_exclusion": "not_archived",
    "commits>=100": "commits>=100",
    "and releases>=1": "releases>=1",
    "and forks>=1, stars>=1 (no effect)": "forks>=1,stars>=1",
    "and not archived": "not_archived",
    "images sheet (manually labelled, image search done)": "images",
    "filtered (has Docker Hub image)": "filtered",
    "after removing 16 remove/* labels": "labeling2",
    "filtered2 (final-dataset.csv)": "filtered2",
}

TEXT_COLUMNS = {
    "What": "what", "When": "when", "MLcomponent": "mlcomponent", "Why": "why",
    "Maincomponent": "maincomponent", "purpose from documentation": "purpose_from_documentation",
    "Note": "note",
}


def _section(ours: Ours, prefix: str, fn: Callable[[], None]) -> None:
    """Run one section's computations; a missing input marks the whole prefix."""
    try:
        fn()
    except NotRecomputable as exc:
        for m in MODES:
            ours.missing(m, prefix, str(exc))
    except (KeyError, ValueError, TypeError) as exc:
        log.warning("targets %s: %s: %s", prefix, type(exc).__name__, exc)
        for m in MODES:
            ours.missing(m, prefix, f"error computing: {type(exc).__name__}: {exc}")


def compute_ours(inp: Inputs, spec: dict[str, Any]) -> Ours:  # noqa: C901 - one place per section
    """Our value for every target we can recompute, per mode."""
    ours = Ours()
    inp.spec = spec

    def funnel() -> None:
        (fn,) = inp.need("funnel")
        counts = dict(zip(fn["step"].astype(str), fn["count"].astype(int), strict=True))
        base = "data_collection_counts"
        for key, step in FUNNEL_STEPS.items():
            if step not in counts:
                continue
            if key in ("unique_repos_search_results", "repos_with_dockerfile",
                       "after_inclusion_exclusion"):
                ours.both(tid(base, key, "value"), counts[step])
            else:
                ours.both(tid(base, "intermediate_in_data", key), counts[step])
        if "initial" in counts and "not_archived" in counts:
            ours.both(tid(base, "removed_by_inclusion_exclusion", "value"),
                      counts["initial"] - counts["not_archived"])
        (repos,) = inp.need("repos")
        ours.both(tid(base, "final_studied_projects", "value"), len(repos))

    def rq1() -> None:
        (repos,) = inp.need("repos")
        cats = inp.categories()
        mix = F.label_mix(cats)
        counts = cats["category"].value_counts()
        total = len(cats)
        for c in spec.get("rq1_category_counts", {}):
            if c == "total":
                ours.both(tid("rq1_category_counts", c, "value"), total)
                continue
            cc = _canon(c)
            ours.both(tid("rq1_category_counts", c, "value"), int(counts.get(cc, 0)))
            ours.both(tid("rq1_category_share", c, "value"),
                      round(100.0 * int(counts.get(cc, 0)) / total, 2))
            for sec in ("rq1_category_counts", "rq1_category_share"):
                ours.mix[tid(sec, c)] = mix.get(cc, "0 manual / 0 predicted")
        final_mix = F.label_mix(cats, final_repos(inp))
        our_column = {v: k for k, v in F.TABLE1_COLUMNS.items()}  # paper header -> ours
        for mode in MODES:
            try:
                t1 = table1_frame(inp, mode).set_index("category")
            except NotRecomputable as exc:
                ours.missing(mode, "rq1_table1_medians", str(exc))
                continue
            for c, cols in spec.get("rq1_table1_medians", {}).items():
                cc = _canon(c)
                ours.mix[tid("rq1_table1_medians", c)] = final_mix.get(cc, "")
                for col in cols:
                    ours_col = our_column[col]
                    if cc in t1.index:
                        ours.set(mode, tid("rq1_table1_medians", c, col, "value"),
                                 float(t1.loc[cc, ours_col]))
        raw = repos["raw_label"].fillna("").astype(str)
        fin = repos["in_final_dataset"].astype(bool)
        for fname, labels in spec["rq1_raw_label_counts"]["value"].items():
            sel = raw if "406" in fname else raw[fin]
            for lab in labels:
                ours.both(tid("rq1_raw_label_counts", "value", fname, lab), int((sel == lab).sum()))
        ours.notes["rq1_raw_label_counts"] = (
            f"{int((raw == '').sum())} labels are blank in this copy of the package")

    def rq2_cov() -> None:
        (pt,) = inp.need("purpose_text")
        nonempty = pt[list(TEXT_COLUMNS.values())].fillna("").astype(str).apply(
            lambda s: s.str.strip() != "")
        for k, col in TEXT_COLUMNS.items():
            ours.both(tid("rq2_label_coverage", "value", k), int(nonempty[col].sum()))
        ours.both(tid("rq2_label_coverage", "value", "any"), int(nonempty.any(axis=1).sum()))

    def rq3_instr(mode: str) -> None:
        base = "rq3_instruction_frequency"
        df = instruction_frame(inp, mode)
        med = F.median_shares(df, inp.categories(), "instruction")
        mix = F.label_mix(inp.categories(), mode_repos(inp, mode))
        for c, instrs in spec[base]["per_category_median_pct"]["value"].items():
            cc = _canon(c)
            ours.mix[tid(base, "per_category_median_pct", "value", c)] = mix.get(cc, "")
            m = med[med["category"] == cc].set_index("instruction")["median"]
            for i in instrs:
                if i in m.index:
                    ours.set(mode, tid(base, "per_category_median_pct", "value", c, i),
                             round(float(m[i]), 2))
        ours.set(mode, tid(base, "instructions_shown", "value"),
                 sorted(set(df["instruction"])))
        ins = inp.mode("instructions", mode) if inp.get("instructions") is not None else None
        if ins is not None and "instruction" in ins.columns:
            from .core.dockerfile import VALID_INSTRUCTIONS  # bashlex: load only when needed

            ins = ins[ins["repo"].isin(mode_repos(inp, mode))]
            counts = ins["instruction"].astype(str).str.upper().value_counts()
            valid = counts[counts.index.isin(VALID_INSTRUCTIONS)]
            if valid.sum():
                ours.set(mode, tid(base, "RUN_share_text", "value"),
                         round(100.0 * float(valid.get("RUN", 0)) / float(valid.sum()), 2))
            shown = set(df["instruction"])
            ours.set(mode, tid(base, "instructions_excluded_examples", "value"),
                     sorted(set(valid.index) - shown))
        else:
            ours.missing(mode, tid(base, "RUN_share_text"), "input table instructions missing")
            ours.missing(mode, tid(base, "instructions_excluded_examples"),
                         "input table instructions missing")

    def rq3_run(mode: str) -> None:
        base = "rq3_run_command_categories"
        df = run_category_frame(inp, mode)
        med = df.groupby(["category", "run_category"])["percentage"].median()
        mix = F.label_mix(inp.categories(), mode_repos(inp, mode))
        for c, vals in spec[base]["value"].items():
            cc = _canon(c)
            ours.mix[tid(base, "value", c)] = mix.get(cc, "")
            for k in vals:
                if (cc, k) in med.index:
                    ours.set(mode, tid(base, "value", c, k), round(float(med[(cc, k)]), 2))
        overall = df.groupby("run_category")["percentage"].median()
        for k in spec[base].get("overall_median", {}):
            if k in overall.index:
                ours.set(mode, tid(base, "overall_median", k), round(float(overall[k]), 2))

    def rq3_base(mode: str, kind: str, section: str, total_key: str) -> None:
        sh = base_image_frame(inp, mode, kind, top=None)
        norm: dict[str, str] = {}
        if kind == "type":
            for tid_, (label, paper_label) in base_type_labels(inp.paths).items():
                norm[_norm_key_plain(label)] = norm[_norm_key_plain(paper_label)] = tid_

        def nkey(k: Any) -> str:
            n = _norm_key_plain(k)
            return norm.get(n, n)

        sh = sh.assign(key_norm=sh["key"].map(nkey))
        mix = F.label_mix(inp.categories(), mode_repos(inp, mode))
        for c, vals in spec[section]["value"].items():
            cc = _canon(c)
            ours.mix[tid(section, "value", c)] = mix.get(cc, "")
            g = sh[sh["category"] == cc].groupby("key_norm")["pct"].max()
            for k in vals:
                ours.set(mode, tid(section, "value", c, k), round(float(g.get(nkey(k), 0.0)), 2))
        tot = sh.groupby(["category", "key_norm"])["pct"].max().groupby("key_norm").sum()
        for k in spec[section].get(total_key, {}):
            ours.set(mode, tid(section, total_key, k), round(float(tot.get(nkey(k), 0.0)), 2))
        if "n_types" in spec[section]:
            ours.set(mode, tid(section, "n_types"), int(sh["key"].nunique()))

    def rq3_files(mode: str) -> None:
        base = ("rq3_dockerfiles", "data_value")
        keys = list(spec["rq3_dockerfiles"]["data_value"])
        (repos,) = inp.need("repos")
        if modes.policy(mode).counts_files_as_the_package:
            ours.set(mode, tid(*base, keys[1]), int(repos["total_dockerfiles"].fillna(0).sum()))
        else:
            (files,) = inp.need("files")
            sel = files[(files["kind"] == "dockerfile") & files["in_study"].astype(bool)]
            ours.set(mode, tid(*base, keys[1]), len(sel))
        dfs = inp.mode("dockerfiles", mode)
        ours.set(mode, tid(*base, keys[0]), len(dfs))
        from_col = next((c for c in ("n_stages", "n_from", "from_count") if c in dfs.columns), None)
        if from_col:
            ours.set(mode, tid(*base, keys[2]), int((dfs[from_col].fillna(0) > 0).sum()))
        else:
            ours.missing(mode, tid(*base, keys[2]), "dockerfiles has no FROM count column")

    def rq4_t2(mode: str) -> None:
        t2 = inp.mode("images_table2", mode).set_index("category")
        for c, cols in spec["rq4_table2"].items():
            cc = _canon(c)
            if cc not in t2.index:
                continue
            row = t2.loc[cc]
            ours.mix[tid("rq4_table2", c)] = (
                f"{int(row['n_manual'])} manual / {int(row['n_predicted'])} predicted")
            for col in cols:
                src = "layers_size" if col == "layers_size_not_printed" else col
                leaf = "data_value" if col == "layers_size_not_printed" else "value"
                v = row.get(src)
                if v is None or (isinstance(v, float) and math.isnan(v)) or v is pd.NA:
                    ours.missing(mode, tid("rq4_table2", c, col), NO_LAYER_LISTINGS)
                    continue
                ours.set(mode, tid("rq4_table2", c, col, leaf),
                         v if isinstance(v, str) else float(v))
        contrib = "rq4_table2_contributing_repos"
        for c in spec[contrib]["value"].get("config", {}):
            cc = _canon(c)
            if cc in t2.index:
                ours.set(mode, tid(contrib, "value", "config", c), int(t2.loc[cc, "n_repos"]))
                ours.set(mode, tid(contrib, "value", "manifest_layers", c),
                         int(t2.loc[cc, "n_layer_repos"]))
        claims = "rq4_text_claims"
        ours.set(mode, tid(claims, "median_config_size_about", "value"),
                 round(float(t2["conf_size"].median()), 2))
        ours.set(mode, tid(claims, "max_subdirectories_gt", "value"),
                 float(t2["max_level"].median()) if t2["max_level"].notna().any() else None)
        ours.set(mode, tid(claims, "env_vars_more_than", "value"), float(t2["env"].min()))
        if t2["files"].notna().all():
            ours.set(mode, tid(claims, "doc_minus_model_files", "value"),
                     float(t2.loc["Documentation", "files"] - t2.loc["Model", "files"]))

    def rq4_5a(mode: str) -> None:
        sec = "rq4_fig5a_file_composition"
        df = inp.mode("file_types_by_num", mode)
        if modes.policy(mode).uses_published_aggregates:
            raise NotRecomputable(PUBLISHED_AGGREGATES)
        g = df.groupby(["category", "file_type"])
        mean_num, mean_sto = g["perc_number"].mean(), g["perc_storage"].mean()
        mix = F.label_mix(inp.categories(), set(df["repo"].dropna()))
        for c in spec[sec]["value"]:
            for s5 in (sec, "rq4_fig5b_file_size"):
                ours.mix[tid(s5, "value", c)] = mix.get(_canon(c), "")
        for c, types in spec[sec]["value"].items():
            cc = _canon(c)
            for t, vals in types.items():
                if (cc, t) not in mean_num.index:
                    ours.missing(mode, tid(sec, "value", c, t),
                                 f"file type not among our {mode}-mode top types of the category")
                    continue
                ours.set(mode, tid(sec, "value", c, t, "mean_perc_number"),
                         round(float(mean_num[(cc, t)]), 4))
                if "mean_perc_storage" in vals and not pd.isna(mean_sto[(cc, t)]):
                    ours.set(mode, tid(sec, "value", c, t, "mean_perc_storage"),
                             round(float(mean_sto[(cc, t)]), 4))
                else:
                    ours.missing(mode, tid(sec, "value", c, t, "mean_perc_storage"),
                                 f"empty in our {mode}-mode file_types_by_num")
        ft = "file_analysis (files-v2 layers_files)"
        if df["repo"].notna().any():
            n = df.groupby("category")["repo"].nunique()
            for c in spec["rq4_table2_contributing_repos"]["value"].get(ft, {}):
                ours.set(mode, tid("rq4_table2_contributing_repos", "value", ft, c),
                         int(n.get(_canon(c), 0)))
        else:
            ours.missing(mode, tid("rq4_table2_contributing_repos", "value", ft),
                         f"{mode}-mode file_types_by_num has no repository column")
        ours.set(mode, tid("rq4_text_claims", "top_file_types_shown", "value"),
                 int(df.groupby("category")["file_type"].nunique().max()))

    def rq4_5b(mode: str) -> None:
        sec = "rq4_fig5b_file_size"
        df = inp.mode("file_types_by_size", mode)
        if modes.policy(mode).uses_published_aggregates:
            raise NotRecomputable(PUBLISHED_AGGREGATES)
        first = df.drop_duplicates(["category", "file_type"]).set_index(["category", "file_type"])
        for c, types in spec[sec]["value"].items():
            cc = _canon(c)
            for t in types:
                if (cc, t) not in first.index:
                    ours.missing(mode, tid(sec, "value", c, t),
                                 f"file type not among our {mode}-mode largest types of the category")
                else:
                    ours.set(mode, tid(sec, "value", c, t, "size_MB"),
                             round(float(first.loc[(cc, t), "size_mb"]), 2))
                    v = first.loc[(cc, t), "perc_size"]
                    if not pd.isna(v):
                        ours.set(mode, tid(sec, "value", c, t, "perc_size"), round(float(v), 4))
                    else:
                        ours.missing(mode, tid(sec, "value", c, t, "perc_size"),
                                     f"empty in our {mode}-mode file_types_by_size")

    _section(ours, "data_collection_counts", funnel)
    _section(ours, "rq1", rq1)
    _section(ours, "rq2_label_coverage", rq2_cov)
    for mode in MODES:
        for prefix, fn in (
            ("rq3_instruction_frequency", lambda m=mode: rq3_instr(m)),
            ("rq3_run_command_categories", lambda m=mode: rq3_run(m)),
            ("rq3_base_images", lambda m=mode: rq3_base(m, "keyword", "rq3_base_images",
                                                        "stacked_totals")),
            ("rq3_base_image_types", lambda m=mode: rq3_base(m, "type", "rq3_base_image_types",
                                                             "totals")),
            ("rq3_dockerfiles", lambda m=mode: rq3_files(m)),
            ("rq4_table2", lambda m=mode: rq4_t2(m)),
            ("rq4_fig5a_file_composition", lambda m=mode: rq4_5a(m)),
            ("rq4_fig5b_file_size", lambda m=mode: rq4_5b(m)),
        ):
            try:
                fn()
            except NotRecomputable as exc:
                ours.missing(mode, prefix, str(exc))
                if prefix == "rq4_fig5a_file_composition":
                    ours.missing(mode, "rq4_text_claims.top_file_types_shown", str(exc))
                    ours.missing(mode, "rq4_table2_contributing_repos.value.file_analysis",
                                 str(exc))
                if prefix == "rq4_table2":
                    ours.missing(mode, "rq4_table2_contributing_repos", str(exc))
                    ours.missing(mode, "rq4_text_claims", str(exc))
            except (KeyError, ValueError, TypeError) as exc:
                log.warning("targets %s (%s mode): %s: %s", prefix, mode, type(exc).__name__, exc)
                ours.missing(mode, prefix, f"error computing: {type(exc).__name__}: {exc}")
    return ours


PUBLISHED_AGGREGATES = (
    "paper-mode Figure 5 inputs are the package's published Top10 aggregates (per-file "
    "layer listings absent), not values we recompute")

ADOPTED = {
    "data_collection_keywords": "search configuration, not a result: the offline package holds "
                                "only the search output (see taxonomy/search_keywords.yaml)",
    "inclusion_criteria": "method parameter, not a result (see taxonomy/inclusion_criteria.yaml)",
    "rq3_run_command_keyword_lists": "method parameter, not a result: the study's lists are "
                                     "taxonomy/run_commands.yaml paper_keywords (corrected: "
                                     "commands)",
    "rq2_purpose_taxonomy": "adopted from Figure 2 as taxonomy/purposes.yaml, not derived: the "
                            "package lacks the coding of its free text",
}
"""Targets that are inputs of our method (copied from the paper), never compared."""

NO_LAYER_LISTINGS = "per-file layer listings are not in the package"

STATIC_REASONS = dict.fromkeys(
    ("rq4_text_claims.files_gt_50000_share", "rq4_text_claims.mlops_file_types_share",
     "rq4_text_claims.doc_minus_model_files", "rq4_text_claims.max_subdirectories_gt"),
    NO_LAYER_LISTINGS)

def _norm_key_plain(k: Any) -> str:
    s = normalise_keyword(k)
    return s[3:] if s.startswith("{}/") else s


def _norm_set(v: Any) -> set[str]:
    if isinstance(v, str):
        v = v.strip("{}").replace("'", "").split(",")
    return {normalise_keyword(x) for x in v if str(x).strip()}


def compare(paper: Any, ours: Any, tol: float, leaf: Leaf) -> tuple[str, Any]:
    """``(status, difference)`` for one leaf; status ``reproduced`` or ``differs``."""
    if isinstance(paper, bool) or isinstance(ours, bool):
        return ("reproduced" if paper == ours else "differs"), None
    if isinstance(paper, (int, float)) and isinstance(ours, (int, float, np.number)):
        diff = float(ours) - float(paper)
        return ("reproduced" if abs(diff) <= tol + 1e-9 else "differs"), round(diff, 4)
    if leaf.path[-2:] == ("instructions_excluded_examples", "value"):
        ok = _norm_set(paper) <= _norm_set(ours)
        return ("reproduced" if ok else "differs"), None
    ps, os_ = _norm_set(paper), _norm_set(ours)
    if ps == os_:
        return "reproduced", None
    parts: list[str] = []
    if os_ - ps:
        parts.append("+" + ", ".join(sorted(os_ - ps)))
    if ps - os_:
        parts.append("-" + ", ".join(sorted(ps - os_)))
    return "differs", "; ".join(parts)


def leaf_kind(leaf: Leaf) -> str:
    """``list`` (compared as a set), ``table cell`` (per category, or a row of a figure's
    table) or ``scalar``."""
    if isinstance(leaf.value, list):
        return "list"
    rows = {"intermediate_in_data", "stacked_totals", "totals", "overall_median",
            "manual-labeling.csv (406)", "final-dataset.csv (405)"}
    per_cat = any(_canon(part) in CATEGORIES for part in leaf.path[:-1])
    return "table cell" if per_cat or rows & set(leaf.path[1:-1]) else "scalar"


def reproduction(spec: dict[str, Any], ours: Ours) -> pd.DataFrame:
    """One row per target leaf: paper value, ours per mode, difference, status, reason."""
    rows: list[dict[str, Any]] = []
    for leaf in walk_targets(spec):
        tol = tolerance(leaf)
        row: dict[str, Any] = {
            "target": leaf.id,
            "section": leaf.section,
            "kind": leaf_kind(leaf),
            "reference": leaf.reference,
            "paper_value": _show(leaf.value),
            "unit": leaf.unit,
            "tolerance": tol if isinstance(leaf.value, (int, float)) else None,
        }
        reasons = []
        for mode in MODES:
            adopted = next((r for k, r in ADOPTED.items() if leaf.id.startswith(k + ".")), "")
            has = (not adopted and leaf.id in ours.values[mode]
                   and ours.values[mode][leaf.id] is not None)
            if has:
                v = ours.values[mode][leaf.id]
                status, diff = compare(leaf.value, v, tol, leaf)
                if status == "differs" and leaf.id in DATA_DEFECTS:
                    status = UNREPRODUCIBLE
                row[f"ours_{mode}"] = _show(v)
                row[f"diff_{mode}"] = diff
                row[f"status_{mode}"] = status
            else:
                r = adopted or _static_reason(leaf.id) or ours.reason_for(mode, leaf.id) or (
                    "no matching value in our tables")
                row[f"ours_{mode}"] = None
                row[f"diff_{mode}"] = None
                row[f"status_{mode}"] = "not recomputable"
                reasons.append(f"{mode}: {r}")
        row["labels"] = _mix_for(ours, leaf.id)
        row["reason"] = _reason(row, leaf, tol, reasons, ours)
        if UNREPRODUCIBLE in (row["status_paper"], row["status_corrected"]):
            row["reason"] = f"{DATA_DEFECTS[leaf.id]}; {row['reason']}"
        rows.append(row)
    cols = ["target", "section", "kind", "reference", "paper_value", "unit", "tolerance",
            "ours_paper", "ours_corrected", "diff_paper", "diff_corrected", "status_paper",
            "status_corrected", "labels", "reason"]
    return pd.DataFrame(rows, columns=cols)


def _static_reason(target: str) -> str:
    for prefix, r in STATIC_REASONS.items():
        if target.startswith(prefix):
            return r
    return ""


def _mix_for(ours: Ours, target: str) -> str:
    best = ""
    for prefix in ours.mix:
        if (target == prefix or target.startswith(prefix + ".")) and len(prefix) > len(best):
            best = prefix
    return ours.mix.get(best, "")


def _show(v: Any) -> Any:
    if isinstance(v, (list, tuple, set)):
        return ", ".join(str(x) for x in v)
    if isinstance(v, np.generic):
        return v.item()
    return v


def _reason(row: dict[str, Any], leaf: Leaf, tol: float, reasons: list[str], ours: Ours) -> str:
    """One line: per mode, how far off (or why not computed), plus a section note."""
    sp, sc = row["status_paper"], row["status_corrected"]
    if sp == sc == "not recomputable":
        texts = [r.split(": ", 1)[1] for r in reasons]
        return texts[0] if len(set(texts)) == 1 else "; ".join(reasons)
    numeric = isinstance(leaf.value, (int, float)) and not isinstance(leaf.value, bool)
    parts = []
    if sp == sc == "reproduced":
        if not numeric:
            parts.append("both modes equal (as sets)")
        else:
            parts.append("both modes within tolerance" + (f" ±{tol:g}" if tol else " (exact)"))
    else:
        for mode, s in (("paper", sp), ("corrected", sc)):
            if s in ("differs", UNREPRODUCIBLE):
                d = row[f"diff_{mode}"]
                parts.append(f"{mode} mode off by {d}" if d is not None else f"{mode} mode differs")
            elif s == "not recomputable":
                parts.extend(r for r in reasons if r.startswith(mode))
            else:
                parts.append(f"{mode} mode reproduced")
    note = ours.notes.get(leaf.section, "")
    if note and "differs" in (sp, sc):
        parts.append(note)
    return "; ".join(parts)


def load_spec(p: Paths, path: Path | None = None) -> dict[str, Any]:
    """``paper_targets.json``: ``path``, ``$MLDOCK_PAPER_TARGETS``, or ../shared/docs."""
    candidates = [path] if path else []
    if os.environ.get(TARGETS_ENV):
        candidates.append(Path(os.environ[TARGETS_ENV]))
    candidates += [p.root.parent / "shared" / "docs" / "paper_targets.json",
                   Path(__file__).resolve().parents[2] / "shared" / "docs" / "paper_targets.json"]
    for c in candidates:
        if c and c.exists():
            data: dict[str, Any] = json.loads(c.read_text(encoding="utf-8"))
            return data
    raise StageInputMissing(
        f"paper_targets.json (looked in {', '.join(str(c) for c in candidates if c)})",
        f"set {TARGETS_ENV}=<path to paper_targets.json> and rerun mldock report")


def status_counts(rep: pd.DataFrame) -> pd.DataFrame:
    """Counts of reproduced / differs / not recomputable per mode."""
    out = {}
    for mode in MODES:
        out[mode] = rep[f"status_{mode}"].value_counts()
    df = pd.DataFrame(out).reindex(list(STATUSES)).fillna(0)
    return df.astype(int)


# --------------------------------------------------------------------------------------
# findings and the Markdown report
# --------------------------------------------------------------------------------------


def findings(inp: Inputs, done: dict[str, str]) -> list[tuple[str, str]]:
    """One computed sentence per figure/table that was drawn (corrected mode)."""
    out: list[tuple[str, str]] = []

    def add(name: str, fn: Callable[[], str], mode: str) -> None:
        if not any(k.startswith(name) and v == "ok" for k, v in done.items()):
            reason = next((v for k, v in done.items() if k.startswith(name)), "not drawn")
            out.append((name, f"not drawn ({reason})"))
            return
        try:
            out.append((name, f"{fn()} [{mode}]"))
        except (NotRecomputable, KeyError, ValueError, TypeError, IndexError) as exc:
            out.append((name, f"finding not computed ({exc})"))

    def f1() -> str:
        (fn,) = inp.need("funnel")
        fn = fn.sort_values("order")
        return (f"{int(fn['count'].iloc[0]):,} searched repositories narrow to "
                f"{int(fn['count'].iloc[-2]):,} studied ({int(fn['count'].iloc[-1]):,} in the "
                "final dataset); the largest cut is the Dockerfile criterion.")

    def t1() -> str:
        t = table1_frame(inp, "paper").set_index("category")
        t = t.drop(index=[c for c in ("Total", UNLABELLED) if c in t.index])
        top = t["repos"].idxmax()
        low = t["dockerfiles"].idxmin()
        return (f"{F.display(top)} is the largest category ({int(t.loc[top, 'repos'])} repositories,"
                f" {t.loc[top, 'share_pct']:.0f}%); {F.display(low)} has the fewest Dockerfiles "
                f"per repository (median {t.loc[low, 'dockerfiles']:g}).")

    def f2() -> str:
        c = purpose_counts(inp)
        nodes = {n["id"]: n["name"] for n in load_purposes(inp.paths)}
        if not c:
            return f"{len(nodes)} purposes and subcategories drawn from taxonomy/purposes.yaml."
        top = sorted(c.items(), key=lambda kv: -kv[1])[:3]
        return "Most frequent purposes: " + ", ".join(
            f"{nodes.get(k, k)} ({v} repositories)" for k, v in top) + "."

    def f3a() -> str:
        df = instruction_frame(inp, "corrected")
        med = df.groupby("instruction")["percentage"].median().sort_values(ascending=False)
        return (f"{med.index[0]} is the most used instruction (median {med.iloc[0]:.1f}% of a "
                f"repository's instructions), followed by {med.index[1]} and {med.index[2]}.")

    def f3b() -> str:
        df = run_category_frame(inp, "corrected")
        med = df.groupby("run_category")["percentage"].median().sort_values(ascending=False)
        return ("RUN commands are mostly " + ", ".join(
            f"{k} ({v:.1f}%)" for k, v in med.head(3).items()) + " (median share per repository).")

    def f4a() -> str:
        sh = base_image_frame(inp, "corrected", "keyword", top=None)
        tot = sh.groupby("key")["pct"].sum().sort_values(ascending=False)
        return "Most used base images: " + ", ".join(
            f"{k} ({v:.1f}% of repositories)" for k, v in tot.head(3).items()) + "."

    def f4b() -> str:
        sh = base_image_frame(inp, "corrected", "type", top=None)
        tot = sh.groupby("key")["pct"].sum().sort_values(ascending=False)
        return "Most common base image types: " + ", ".join(
            f"{' '.join(str(k).split())} ({v:.1f}%)" for k, v in tot.head(3).items()) + "."

    def t2() -> str:
        t = inp.mode("images_table2", "corrected").set_index("category")
        arch = sorted({a.strip() for v in t["arch"].dropna() for a in str(v).split(",")} - {""})
        return (f"Median config size {t['conf_size'].min():.2f}-{t['conf_size'].max():.2f} KiB; "
                f"median layers {t['layers'].min():g}-{t['layers'].max():g} per repository; "
                f"architectures seen: {', '.join(arch)}.")

    def f5a() -> str:
        df, line = file_types_num_frame(inp, "paper")
        spread = df.groupby("file_type")["category"].nunique()
        common = spread[spread >= 3].index
        num = df[df["file_type"].isin(common)].groupby("file_type")["perc_number"].mean()
        sto = line[line["file_type"].isin(common)].groupby("file_type")["value"].mean()
        num, sto = num.sort_values(ascending=False), sto.sort_values(ascending=False)
        return (f"Among file types shown for 3+ categories, {', '.join(num.index[:3])} have the "
                f"most files (mean {num.iloc[0]:.0f}% for {num.index[0]}), while {sto.index[0]} "
                f"holds the most bytes (mean {sto.iloc[0]:.0f}% of storage).")

    def f5b() -> str:
        df = inp.mode("file_types_by_size", "paper")
        r = df.sort_values("size_mb", ascending=False).iloc[0]
        return (f"The largest file type is {r['file_type']} in {F.display(str(r['category']))} "
                f"({r['size_mb']:.0f} MB).")

    for name, fn, mode in (
            ("figure1_funnel", f1, "both modes"), ("table1", t1, "paper mode"),
            ("figure2_purposes", f2, "corrected mode"),
            ("figure3a_instructions", f3a, "corrected mode"),
            ("figure3b_run_commands", f3b, "corrected mode"),
            ("figure4a_base_images", f4a, "corrected mode"),
            ("figure4b_base_image_types", f4b, "corrected mode"),
            ("table2", t2, "corrected mode"),
            ("figure5a_file_types", f5a, "paper mode"), ("figure5b_file_sizes", f5b, "paper mode")):
        add(name, fn, mode)
    return out


def finding(inp: Inputs, name: str) -> str:
    """The computed one-line finding of one figure or table (for the notebooks)."""
    return dict(findings(inp, {name: "ok"}))[name]


def render_markdown(rep: pd.DataFrame, counts: pd.DataFrame,
                    found: list[tuple[str, str]], inp: Inputs) -> str:
    cats = inp.get("projects")
    lines = [
        "# Reproduction report",
        "",
        "Generated by `mldock report` from `data/interim` and `data/processed`; the paper's",
        "values are read from `paper_targets.json` only to compare. One row per compared leaf",
        "of that file (ids are dotted JSON paths; keys containing a dot are bracketed).",
        "*paper* mode follows the study's rules, quirks included; *corrected* mode is our",
        "default method. Tolerances: ±0.5 for Table 1/Table 2 medians and whole-percent",
        "shares, 0.01 for percentages printed with two decimals, ±1 pp for 'about 40%',",
        "exact for counts and sets. *unreproducible (data)*: the paper's value contradicts the",
        "study's own data (the reason cites study.md).",
        "",
        "## By paper artefact",
        "",
        F.to_markdown(artefact_counts(rep, MODES)).rstrip(),
        "",
        "## Summary",
        "",
        F.to_markdown(counts.rename_axis("status").reset_index()).rstrip(),
        "",
        f"Total targets: {len(rep)}.",
        "",
        *fig4_section(inp),
    ]
    if cats is None:
        lines += ["Categories: `projects.csv` missing, so unlabelled repositories are counted",
                  "as *Unlabelled* (the classify stage predicts them).", ""]
    lines += ["## Figures and tables", ""]
    for name, text in found:
        lines.append(f"- **{name}**: {text}")
    lines += ["", "## By section", ""]
    sec = rep.groupby("section").agg(
        targets=("target", "size"),
        paper_reproduced=("status_paper", lambda s: int((s == "reproduced").sum())),
        paper_differs=("status_paper", lambda s: int((s == "differs").sum())),
        paper_not_recomputable=("status_paper", lambda s: int((s == "not recomputable").sum())),
        corrected_reproduced=("status_corrected", lambda s: int((s == "reproduced").sum())),
        corrected_differs=("status_corrected", lambda s: int((s == "differs").sum())),
        corrected_not_recomputable=("status_corrected",
                                    lambda s: int((s == "not recomputable").sum())),
    ).reset_index()
    lines += [F.to_markdown(sec).rstrip(), "", "## All targets", ""]
    show = rep[["target", "paper_value", "ours_paper", "ours_corrected", "status_paper",
                "status_corrected", "labels", "reason"]]
    lines += [F.to_markdown(show).rstrip(), ""]
    return "\n".join(lines)


TEXT_COLUMNS_REP = ("paper_value", "ours_paper", "ours_corrected", "diff_paper", "diff_corrected")


def as_text(rep: pd.DataFrame) -> pd.DataFrame:
    """The reproduction frame with its mixed-type value columns as strings (schema dtypes)."""
    out = rep.copy()
    for c in TEXT_COLUMNS_REP:
        out[c] = [None if v is None or (isinstance(v, float) and math.isnan(v)) else
                  (f"{v:g}" if isinstance(v, float) else str(v)) for v in out[c]]
    out["reason"] = out["reason"].replace("", "see status")
    return out


def write_reproduction(inp: Inputs, spec: dict[str, Any], done: dict[str, str],
                       out: Path | None = None) -> pd.DataFrame:
    out = out or inp.paths.reports
    rep = reproduction(spec, compute_ours(inp, spec))
    counts = status_counts(rep)
    out.mkdir(parents=True, exist_ok=True)
    write_table(as_text(rep), "reproduction", inp.paths, path=out / "reproduction.csv")
    atomic_write_text(out / "reproduction.md",
                      render_markdown(rep, counts, findings(inp, done), inp))
    log.info("reproduction: %s", counts.to_dict())
    return rep


# --------------------------------------------------------------------------------------
# notebooks
# --------------------------------------------------------------------------------------


class NotebookSession:
    """What every notebook's first cell sets up: the inputs, read once, and the helpers
    ``show`` (draw or say what is missing), ``findings`` and ``targets``.

    The project root is ``$MLDOCK_HOME`` when set (:func:`run_notebooks` sets it), else
    the checkout (:func:`pipeline.config.paths`).
    """

    TARGET_COLUMNS = ["target", "paper_value", "ours_paper", "ours_corrected", "status_paper",
                      "status_corrected", "labels"]

    def __init__(self, p: Paths | None = None) -> None:
        from .config import paths

        self.paths = p or paths()
        self.inputs = load_inputs(self.paths)
        self._rep: pd.DataFrame | None = None

    def describe(self) -> None:
        """Print the project root and which input tables are available."""
        available = {k: v is not None for k, v in self.inputs.tables.items()}
        print("project root:", self.paths.root)
        print("tables available:", ", ".join(k for k, ok in available.items() if ok))
        print("tables missing:", ", ".join(k for k, ok in available.items() if not ok) or "none")

    def show(self, build: Callable[..., Any], *args: Any, **kw: Any) -> Any:
        """Draw a figure or table, or say which input is missing."""
        from IPython.display import Markdown, display

        try:
            out = build(*args, **kw)
        except NotRecomputable as exc:
            display(Markdown(f"*Not drawn: {exc}.*"))
            return None
        display(F.to_image(out) if hasattr(out, "savefig") else out)
        return out

    def findings(self, *names: str) -> None:
        """The finding computed from our tables for each named figure or table."""
        from IPython.display import Markdown, display

        for name in names:
            display(Markdown(f"**Finding ({name}):** {finding(self.inputs, name)}"))

    def targets(self, section: str) -> pd.DataFrame | None:
        """Our values beside the paper's for one section of paper_targets.json."""
        from IPython.display import Markdown, display

        if self._rep is None:
            try:
                spec = load_spec(self.paths)
            except Exception as exc:  # the targets file is optional for a notebook
                display(Markdown(f"*paper_targets.json not found ({exc}).*"))
                return None
            self._rep = reproduction(spec, compute_ours(self.inputs, spec))
        rep = self._rep[self._rep["section"] == section]
        display(rep[self.TARGET_COLUMNS].reset_index(drop=True))
        return rep


def run_notebooks(p: Paths, names: tuple[str, ...] = NOTEBOOKS, timeout: int = 600,
                  out: Path | None = None) -> dict[str, str]:
    """Execute the notebooks headless (kernel python3) with MLDOCK_HOME = the project root."""
    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError

    out = out or p.reports / "notebooks"
    out.mkdir(parents=True, exist_ok=True)
    result: dict[str, str] = {}
    old = os.environ.get("MLDOCK_HOME")
    os.environ["MLDOCK_HOME"] = str(p.root)
    os.environ.setdefault("MPLBACKEND", "Agg")
    try:
        for name in names:
            src = p.notebooks / name
            if not src.exists():
                result[name] = "missing"
                log.warning("notebook %s missing", src)
                continue
            nb = nbformat.read(src, as_version=4)
            # run beside the notebook (not in the root: a root's pipeline/ may shadow ours)
            client = NotebookClient(nb, kernel_name="python3", timeout=timeout,
                                    resources={"metadata": {"path": str(src.parent)}})
            try:
                client.execute()
                result[name] = "ok"
            except CellExecutionError as exc:
                last = re.sub(r"\x1b\[[0-9;]*m", "", str(exc).strip().splitlines()[-1])
                result[name] = f"failed: {last[:200]}"
                log.error("notebook %s failed: %s", name, result[name])
            atomic_write_text(out / name, nbformat.writes(nb))
    finally:
        if old is None:
            os.environ.pop("MLDOCK_HOME", None)
        else:
            os.environ["MLDOCK_HOME"] = old
    return result


def run(p: Paths, notebooks: bool = True, targets: Path | None = None) -> dict[str, Any]:
    """Everything ``mldock report`` does; returns a summary."""
    inp = load_inputs(p)
    done = draw_all(inp)
    counts = None
    try:
        spec = load_spec(p, targets)
    except StageInputMissing as exc:
        log.warning("no reproduction report: %s", exc)
        atomic_write_text(p.reports / "reproduction.md", "# Reproduction report\n\n"
                          f"Not written: {exc}.\n\n## Figures and tables\n\n" + "\n".join(
                              f"- **{k}**: {v}" for k, v in findings(inp, done)) + "\n")
    else:
        counts = status_counts(write_reproduction(inp, spec, done))
    nbs = run_notebooks(p) if notebooks else {}
    return {"drawn": done, "counts": counts, "notebooks": nbs}
