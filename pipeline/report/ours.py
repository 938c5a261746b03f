"""Our value for every target we can recompute: a registry of small per-section functions.

Each function fills :class:`~pipeline.report.targets.Ours` for one section of the targets
file (shared: once for both modes; per mode: once per mode) from the artefacts
(:mod:`pipeline.report.artefacts`) and the tables. Names of steps, columns and keys come
from ``targets/sections.yaml``. A missing input (:data:`~pipeline.report.inputs.SKIPPED`)
marks the section's targets ``not recomputable`` with the reason; any other exception is
a defect and propagates.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pandas as pd

from ..core import modes
from ..tables import HUMAN_SOURCES
from . import artefacts as A
from . import fig4 as F4
from .frames import canon, label_mix
from .inputs import (
    MODES,
    SKIPPED,
    Inputs,
    NotRecomputable,
    base_type_labels,
    final_repos,
    mode_repos,
)
from .inputs import sections as report_sections
from .sections import Sections
from .targets import Ours, _norm_key_plain, reproduction, tid


@dataclass
class Ctx:
    """What a section function reads and writes."""

    inp: Inputs
    spec: dict[str, Any]
    ours: Ours
    sec: Sections

    def conf(self, section: str) -> dict[str, Any]:
        return self.sec.section(section)


Fn = Callable[[Ctx, str], None]


@dataclass(frozen=True)
class Entry:
    section: str  # the target-id prefix a failure marks
    fn: Fn
    per_mode: bool
    also: tuple[str, ...] = ()  # further prefixes a failure marks


REGISTRY: list[Entry] = []
"""The section functions in the order they run (shared ones first, then per mode)."""


def registers(section: str, per_mode: bool = True, also: tuple[str, ...] = ()
              ) -> Callable[[Fn], Fn]:
    def add(fn: Fn) -> Fn:
        REGISTRY.append(Entry(section, fn, per_mode, also))
        return fn

    return add


def compute_ours(inp: Inputs, spec: dict[str, Any], sections: Sections | None = None) -> Ours:
    """Our value for every target we can recompute, per mode."""
    inp.spec = spec
    ctx = Ctx(inp, spec, Ours(), sections or report_sections(inp))
    for e in (e for e in REGISTRY if not e.per_mode):
        _run(ctx, e, MODES[0], MODES)
    for mode in MODES:
        for e in (e for e in REGISTRY if e.per_mode):
            _run(ctx, e, mode, (mode,))
    return ctx.ours


def _run(ctx: Ctx, e: Entry, mode: str, marks: tuple[str, ...]) -> None:
    try:
        e.fn(ctx, mode)
    except SKIPPED as exc:
        for m in marks:
            for prefix in (e.section, *e.also):
                ctx.ours.missing(m, prefix, str(exc))


# --------------------------------------------------------------------------------------
# shared by both modes
# --------------------------------------------------------------------------------------


@registers("data_collection_counts", per_mode=False)
def funnel_counts(ctx: Ctx, mode: str) -> None:
    (fn,) = ctx.inp.need("funnel")
    conf = ctx.conf("data_collection_counts")
    counts = dict(zip(fn["step"].astype(str), fn["count"].astype(int), strict=True))
    base = "data_collection_counts"
    for key, step in conf["steps"].items():
        if step not in counts:
            continue
        where = (key, "value") if key in conf["printed"] else ("intermediate_in_data", key)
        ctx.ours.both(tid(base, *where), counts[step])
    before, after = conf["removed"]["before"], conf["removed"]["after"]
    if before in counts and after in counts:
        ctx.ours.both(tid(base, "removed_by_inclusion_exclusion", "value"),
                      counts[before] - counts[after])
    (repos,) = ctx.inp.need("repos")
    ctx.ours.both(tid(base, "final_studied_projects", "value"), len(repos))


@registers("rq1_category_counts", per_mode=False, also=("rq1_category_share",))
def category_counts(ctx: Ctx, mode: str) -> None:
    cats = ctx.inp.categories()
    mix = label_mix(cats)
    counts = cats["category"].value_counts()
    total = len(cats)
    for c in ctx.spec.get("rq1_category_counts", {}):
        if c == "total":
            ctx.ours.both(tid("rq1_category_counts", c, "value"), total)
            continue
        n = int(counts.get(canon(c), 0))
        ctx.ours.both(tid("rq1_category_counts", c, "value"), n)
        ctx.ours.both(tid("rq1_category_share", c, "value"), round(100.0 * n / total, 2))
        for sec, m in itertools.product(("rq1_category_counts", "rq1_category_share"), MODES):
            ctx.ours.mix[m][tid(sec, c)] = mix.get(canon(c), "0 manual / 0 predicted")


@registers("rq1_raw_label_counts", per_mode=False)
def raw_label_counts(ctx: Ctx, mode: str) -> None:
    (repos,) = ctx.inp.need("repos")
    conf = ctx.conf("rq1_raw_label_counts")
    raw = repos[conf["columns"]["label"]].fillna("").astype(str)
    fin = repos["in_final_dataset"].astype(bool)
    for fname, labels in ctx.spec["rq1_raw_label_counts"]["value"].items():
        sel = raw if conf["files"][fname] == "all" else raw[fin]
        for lab in labels:
            ctx.ours.both(tid("rq1_raw_label_counts", "value", fname, lab),
                          int((sel == lab).sum()))
    ctx.ours.notes["rq1_raw_label_counts"] = (
        f"{int((raw == '').sum())} labels are blank in this copy of the package")


@registers("rq2_label_coverage", per_mode=False)
def label_coverage(ctx: Ctx, mode: str) -> None:
    (pt,) = ctx.inp.need("purpose_text")
    columns = ctx.conf("rq2_label_coverage")["columns"]
    nonempty = pt[list(columns.values())].fillna("").astype(str).apply(
        lambda s: s.str.strip() != "")
    for k, col in columns.items():
        ctx.ours.both(tid("rq2_label_coverage", "value", k), int(nonempty[col].sum()))
    ctx.ours.both(tid("rq2_label_coverage", "value", "any"), int(nonempty.any(axis=1).sum()))


# --------------------------------------------------------------------------------------
# per mode
# --------------------------------------------------------------------------------------


@registers("rq1_table1_medians")
def table1_medians(ctx: Ctx, mode: str) -> None:
    t1 = A.table1(ctx.inp, mode).frame.set_index("category")
    final_mix = label_mix(ctx.inp.categories(), final_repos(ctx.inp))
    our_column = ctx.conf("rq1_table1_medians")["columns"]
    for c, cols in ctx.spec.get("rq1_table1_medians", {}).items():
        cc = canon(c)
        ctx.ours.mix[mode][tid("rq1_table1_medians", c)] = final_mix.get(cc, "")
        for col in cols:
            if cc in t1.index:
                ctx.ours.set(mode, tid("rq1_table1_medians", c, col, "value"),
                             float(t1.loc[cc, our_column[col]]))


@registers("rq3_instruction_frequency")
def instruction_medians(ctx: Ctx, mode: str) -> None:
    base = "rq3_instruction_frequency"
    art = A.figure_3a(ctx.inp, mode)
    assert art.table is not None
    med = art.table
    mix = label_mix(ctx.inp.categories(), mode_repos(ctx.inp, mode))
    for c, instrs in ctx.spec[base]["per_category_median_pct"]["value"].items():
        cc = canon(c)
        ctx.ours.mix[mode][tid(base, "per_category_median_pct", "value", c)] = mix.get(cc, "")
        m = med[med["category"] == cc].set_index("instruction")["median"]
        for i in instrs:
            if i in m.index:
                ctx.ours.set(mode, tid(base, "per_category_median_pct", "value", c, i),
                             round(float(m[i]), 2))
    ctx.ours.set(mode, tid(base, "instructions_shown", "value"),
                 sorted(set(art.frame["instruction"])))
    _instruction_counts(ctx, mode, set(art.frame["instruction"]))


def _instruction_counts(ctx: Ctx, mode: str, shown: set[str]) -> None:
    """The RUN share of all valid instructions and the instructions Figure 3a leaves out."""
    base = "rq3_instruction_frequency"
    ins = ctx.inp.mode("instructions", mode) if ctx.inp.get("instructions") is not None else None
    if ins is None or "instruction" not in ins.columns:
        for key in ("RUN_share_text", "instructions_excluded_examples"):
            ctx.ours.missing(mode, tid(base, key), str(ctx.inp.missing("instructions")))
        return
    from ..core.dockerfile import VALID_INSTRUCTIONS  # bashlex: load only when needed

    ins = ins[ins["repo"].isin(mode_repos(ctx.inp, mode))]
    counts = ins["instruction"].astype(str).str.upper().value_counts()
    valid = counts[counts.index.isin(VALID_INSTRUCTIONS)]
    if valid.sum():
        ctx.ours.set(mode, tid(base, "RUN_share_text", "value"),
                     round(100.0 * float(valid.get("RUN", 0)) / float(valid.sum()), 2))
    ctx.ours.set(mode, tid(base, "instructions_excluded_examples", "value"),
                 sorted(set(valid.index) - shown))


@registers("rq3_run_command_categories")
def run_command_medians(ctx: Ctx, mode: str) -> None:
    base = "rq3_run_command_categories"
    df = A.figure_3b(ctx.inp, mode).frame
    med = df.groupby(["category", "run_category"])["percentage"].median()
    mix = label_mix(ctx.inp.categories(), set(df["repo"]))
    for c, vals in ctx.spec[base]["value"].items():
        cc = canon(c)
        ctx.ours.mix[mode][tid(base, "value", c)] = mix.get(cc, "")
        for k in vals:
            if (cc, k) in med.index:
                ctx.ours.set(mode, tid(base, "value", c, k), round(float(med[(cc, k)]), 2))
    overall = df.groupby("run_category")["percentage"].median()
    for k in ctx.spec[base].get("overall_median", {}):
        if k in overall.index:
            ctx.ours.set(mode, tid(base, "overall_median", k), round(float(overall[k]), 2))


def _base_shares(ctx: Ctx, mode: str, sh: pd.DataFrame, section: str, total_key: str,
                 norm: dict[str, str]) -> None:
    """Figure 4a/4b cells and totals, keys compared after normalisation (``norm``)."""

    def nkey(k: Any) -> str:
        n = _norm_key_plain(k)
        return norm.get(n, n)

    sh = sh.assign(key_norm=sh["key"].map(nkey))
    mix = label_mix(ctx.inp.categories(), mode_repos(ctx.inp, mode))
    for c, vals in ctx.spec[section]["value"].items():
        cc = canon(c)
        ctx.ours.mix[mode][tid(section, "value", c)] = mix.get(cc, "")
        g = sh[sh["category"] == cc].groupby("key_norm")["pct"].max()
        for k in vals:
            ctx.ours.set(mode, tid(section, "value", c, k), round(float(g.get(nkey(k), 0.0)), 2))
    if modes.policy(mode).figure4a_substring_rule:
        _bracket_causes(ctx, mode, section, "keyword" if total_key == "stacked_totals"
                        else "type", nkey)
    tot = sh.groupby(["category", "key_norm"])["pct"].max().groupby("key_norm").sum()
    for k in ctx.spec[section].get(total_key, {}):
        ctx.ours.set(mode, tid(section, total_key, k), round(float(tot.get(nkey(k), 0.0)), 2))
    if "n_types" in ctx.spec[section]:
        ctx.ours.set(mode, tid(section, "n_types"), int(sh["key"].nunique()))


def _bracket_causes(ctx: Ctx, mode: str, section: str, kind: str,
                    nkey: Callable[[Any], str]) -> None:
    """Paper-mode Figure 4 cells: is the paper's cell reachable by labelling the copy's
    blanks, checked per key jointly (:func:`fig4.bracket_reasons`)? The answer is the
    cell's cause if it differs."""
    (sheet,) = ctx.inp.need("package_base_images")
    n = F4.n_repos(sheet)
    hits = A.paper_base_hits(ctx.inp, kind)
    br = F4.label_brackets(hits.assign(key=hits["key"].map(nkey)), ctx.inp.categories(),
                           HUMAN_SOURCES)
    cells = {tid(section, "value", c, k): (canon(c), nkey(k), round(float(v) * n / 100))
             for c, vals in ctx.spec[section]["value"].items() for k, v in vals.items()}
    why = F4.bracket_reasons(br, {(c, k): v for c, k, v in cells.values()})
    for target, (c, k, _) in cells.items():
        ctx.ours.why[mode][target] = why[(c, k)]


@registers("rq3_base_images")
def base_images(ctx: Ctx, mode: str) -> None:
    _base_shares(ctx, mode, A.figure_4a(ctx.inp, mode).frame, "rq3_base_images",
                 "stacked_totals", {})


@registers("rq3_base_image_types")
def base_image_types(ctx: Ctx, mode: str) -> None:
    norm: dict[str, str] = {}
    for type_id, (label, paper_label) in base_type_labels(ctx.inp).items():
        norm[_norm_key_plain(label)] = norm[_norm_key_plain(paper_label)] = type_id
    _base_shares(ctx, mode, A.figure_4b(ctx.inp, mode).frame, "rq3_base_image_types",
                 "totals", norm)


@registers("rq3_dockerfiles")
def dockerfile_counts(ctx: Ctx, mode: str) -> None:
    keys = ctx.conf("rq3_dockerfiles")["keys"]

    def target(name: str) -> str:
        return tid("rq3_dockerfiles", "data_value", keys[name])

    (repos,) = ctx.inp.need("repos")
    if modes.policy(mode).counts_files_as_the_package:
        ctx.ours.set(mode, target("counted"), int(repos["total_dockerfiles"].fillna(0).sum()))
    else:
        (files,) = ctx.inp.need("files")
        sel = files[(files["kind"] == "dockerfile") & files["in_study"].astype(bool)]
        ctx.ours.set(mode, target("counted"), len(sel))
    dfs = ctx.inp.mode("dockerfiles", mode)
    ctx.ours.set(mode, target("parsed"), len(dfs))
    ctx.ours.set(mode, target("with_from"), int((dfs["n_stages"].fillna(0) > 0).sum()))


def _absent(v: Any) -> bool:
    return v is None or v is pd.NA or (isinstance(v, float) and math.isnan(v))


@registers("rq4_table2", also=("rq4_table2_contributing_repos", "rq4_text_claims"))
def table2_cells(ctx: Ctx, mode: str) -> None:
    t2 = A.table2(ctx.inp, mode).frame.set_index("category")
    conf = ctx.conf("rq4_table2")
    for c, cols in ctx.spec["rq4_table2"].items():
        if canon(c) not in t2.index:
            continue
        row = t2.loc[canon(c)]
        ctx.ours.mix[mode][tid("rq4_table2", c)] = (
            f"{int(row['n_manual'])} manual / {int(row['n_predicted'])} predicted")
        for col in cols:
            leaf = "data_value" if col in conf["data_value"] else "value"
            v = row.get(conf["columns"].get(col, col))
            if _absent(v):
                ctx.ours.missing(mode, tid("rq4_table2", c, col),
                                 ctx.sec.reason("no_layer_listings"))
                continue
            ctx.ours.set(mode, tid("rq4_table2", c, col, leaf),
                         v if isinstance(v, str) else float(v))
    _table2_claims(ctx, mode, t2)


def _table2_claims(ctx: Ctx, mode: str, t2: pd.DataFrame) -> None:
    """Repositories behind Table 2 and the text's claims about it."""
    contrib = "rq4_table2_contributing_repos"
    columns = ctx.conf(contrib)["columns"]
    for c in ctx.spec[contrib]["value"].get("config", {}):
        if canon(c) in t2.index:
            for key, col in columns.items():
                ctx.ours.set(mode, tid(contrib, "value", key, c), int(t2.loc[canon(c), col]))
                ctx.ours.mix[mode][tid(contrib, "value", key, c)] = (
                    f"{int(t2.loc[canon(c), 'n_manual'])} manual / "
                    f"{int(t2.loc[canon(c), 'n_predicted'])} predicted")
    claims = "rq4_text_claims"
    all_mix = f"{int(t2['n_manual'].sum())} manual / {int(t2['n_predicted'].sum())} predicted"
    for claim in ("median_config_size_about", "env_vars_more_than"):
        ctx.ours.mix[mode][tid(claims, claim)] = all_mix
    ctx.ours.set(mode, tid(claims, "median_config_size_about", "value"),
                 round(float(t2["conf_size"].median()), 2))
    ctx.ours.set(mode, tid(claims, "max_subdirectories_gt", "value"),
                 float(t2["max_level"].median()) if t2["max_level"].notna().any() else None)
    # a bound claim (targets/sections.yaml `bounds`): the smallest category median
    ctx.ours.set(mode, tid(claims, "env_vars_more_than", "value"), float(t2["env"].min()))
    if t2["files"].notna().all():
        ctx.ours.set(mode, tid(claims, "doc_minus_model_files", "value"),
                     float(t2.loc["Documentation", "files"] - t2.loc["Model", "files"]))


def _recomputed(ctx: Ctx, mode: str) -> None:
    if modes.policy(mode).uses_published_aggregates:
        raise NotRecomputable(ctx.sec.reason("published_aggregates"))


@registers("rq4_fig5a_file_composition",
           also=("rq4_text_claims.top_file_types_shown",
                 "rq4_table2_contributing_repos.value.file_analysis"))
def file_composition(ctx: Ctx, mode: str) -> None:
    sec = "rq4_fig5a_file_composition"
    df = A.figure_5a(ctx.inp, mode).frame
    _recomputed(ctx, mode)
    g = df.groupby(["category", "file_type"])
    mean_num, mean_sto = g["perc_number"].mean(), g["perc_storage"].mean()
    mix = label_mix(ctx.inp.categories(), set(df["repo"].dropna()))
    for c, types in ctx.spec[sec]["value"].items():
        for s5 in (sec, "rq4_fig5b_file_size"):
            ctx.ours.mix[mode][tid(s5, "value", c)] = mix.get(canon(c), "")
        for t, vals in types.items():
            key, at = (canon(c), t), ("value", c, t)
            if key not in mean_num.index:
                ctx.ours.missing(mode, tid(sec, *at),
                                 f"file type not among our {mode}-mode top types of the category")
                continue
            ctx.ours.set(mode, tid(sec, *at, "mean_perc_number"), round(float(mean_num[key]), 4))
            if "mean_perc_storage" in vals and not pd.isna(mean_sto[key]):
                ctx.ours.set(mode, tid(sec, *at, "mean_perc_storage"),
                             round(float(mean_sto[key]), 4))
            else:
                ctx.ours.missing(mode, tid(sec, *at, "mean_perc_storage"),
                                 f"empty in our {mode}-mode file_types_by_num")
    _file_repos(ctx, mode, df)


def _file_repos(ctx: Ctx, mode: str, df: pd.DataFrame) -> None:
    """Repositories with file listings per category; the number of file types shown."""
    ft = "file_analysis (files-v2 layers_files)"
    contrib = "rq4_table2_contributing_repos"
    if df["repo"].notna().any():
        n = df.groupby("category")["repo"].nunique()
        for c in ctx.spec[contrib]["value"].get(ft, {}):
            ctx.ours.set(mode, tid(contrib, "value", ft, c), int(n.get(canon(c), 0)))
    else:
        ctx.ours.missing(mode, tid(contrib, "value", ft),
                         f"{mode}-mode file_types_by_num has no repository column")
    ctx.ours.set(mode, tid("rq4_text_claims", "top_file_types_shown", "value"),
                 int(df.groupby("category")["file_type"].nunique().max()))


@registers("rq4_fig5b_file_size")
def file_sizes(ctx: Ctx, mode: str) -> None:
    sec = "rq4_fig5b_file_size"
    df = A.figure_5b(ctx.inp, mode).frame
    _recomputed(ctx, mode)
    first = df.drop_duplicates(["category", "file_type"]).set_index(["category", "file_type"])
    for c, types in ctx.spec[sec]["value"].items():
        for t in types:
            key, at = (canon(c), t), ("value", c, t)
            if key not in first.index:
                ctx.ours.missing(mode, tid(sec, *at), f"file type not among our {mode}-mode "
                                 "largest types of the category")
                continue
            ctx.ours.set(mode, tid(sec, *at, "size_MB"), round(float(first.loc[key, "size_mb"]), 2))
            v = first.loc[key, "perc_size"]
            if not pd.isna(v):
                ctx.ours.set(mode, tid(sec, *at, "perc_size"), round(float(v), 4))
            else:
                ctx.ours.missing(mode, tid(sec, *at, "perc_size"),
                                 f"empty in our {mode}-mode file_types_by_size")


def reproduction_frame(inp: Inputs, spec: dict[str, Any]) -> pd.DataFrame:
    """One row per target of ``spec``: the paper's value beside ours (not written)."""
    sec = report_sections(inp)
    return reproduction(spec, compute_ours(inp, spec, sec), sec)
