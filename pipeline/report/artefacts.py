"""One function per paper artefact: ``table1(inputs, mode)``, ``figure_3a(inputs, mode)``, ...

Each returns an :class:`Artefact`: the frame behind it (what the findings and the targets
read), the table written under ``reports/tables`` and the :class:`FigureSpec` drawn under
``reports/figures`` (title included, so the notebooks show the same figure). Each is
computed once per run: the result is memoised on :attr:`Inputs.memo`. A missing input
raises :class:`~pipeline.errors.InputTableMissing` (or :class:`NotRecomputable`).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

import pandas as pd

from ..config import CATEGORIES
from ..core import modes
from ..errors import StageInputMissing
from ..taxonomy import read_yaml
from . import fig4 as F4
from .frames import (
    INSTRUCTIONS_3A,
    TABLE1_COLUMNS,
    base_image_shares,
    display,
    median_shares,
    with_category,
)
from .frames import table1_frame as _table1
from .inputs import (
    Inputs,
    NotRecomputable,
    base_type_labels,
    load_purposes,
    mode_repos,
    run_category_ids,
)
from .targets import load_spec


@dataclass(frozen=True)
class FigureSpec:
    """What :func:`pipeline.report.figures.draw` needs: the drawing (``kind``), its
    positional data, the title and the keyword options."""

    kind: str
    data: tuple[Any, ...]
    title: str
    options: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Artefact:
    """A table or figure of the paper, computed from our tables in one mode."""

    frame: pd.DataFrame  # the numbers behind it
    table: pd.DataFrame | None = None  # written to reports/tables (None: no table)
    figure: FigureSpec | None = None  # drawn to reports/figures (None: a table only)
    extra: dict[str, Any] = field(default_factory=dict)
    name: str = ""  # the output stem without the mode, e.g. ``figure3a_instructions``
    mode: str | None = None  # None: the same in both modes (Figures 1 and 2)

    @property
    def stem(self) -> str:
        return self.name if self.mode is None else f"{self.name}_{self.mode}"


class ArtefactFn:
    """An artefact function, memoised on :attr:`Inputs.memo`; ``name`` is its output stem."""

    def __init__(self, name: str, per_mode: bool, fn: Callable[[Inputs, str], Artefact]) -> None:
        self.name, self.per_mode, self.fn = name, per_mode, fn
        functools.update_wrapper(self, fn)

    def __call__(self, inp: Inputs, mode: str | None = None) -> Artefact:
        mode = mode if self.per_mode else None
        key = ("artefact", self.name, mode)
        if key not in inp.memo:
            art = self.fn(inp, mode or "")
            inp.memo[key] = replace(art, name=self.name, mode=mode)
        out: Artefact = inp.memo[key]
        return out


def artefact(name: str, per_mode: bool = True
             ) -> Callable[[Callable[[Inputs, str], Artefact]], ArtefactFn]:
    def wrap(fn: Callable[[Inputs, str], Artefact]) -> ArtefactFn:
        return ArtefactFn(name, per_mode, fn)

    return wrap


# --------------------------------------------------------------------------------------
# the frames the artefacts are built from
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
    return _table1(repos, cats, dockerfiles)


def table1_display(t1: pd.DataFrame) -> pd.DataFrame:
    out = t1.copy()
    out["category"] = out["category"].map(display)
    out["share_pct"] = out["share_pct"].round(0).astype("Int64").astype(str) + "%"
    return out.rename(columns={"category": "Category", "repos": "Repos", "share_pct": "%",
                               "n_manual": "Manual labels", "n_predicted": "Predicted labels",
                               **TABLE1_COLUMNS})


def table2_display(t2: pd.DataFrame) -> pd.DataFrame:
    """Table 2 as printed: the paper's column names and category labels."""
    cols = ["category", "conf_size", "arch", "os", "env", "layers", "rootfs", "files",
            "max_level", "n_repos", "n_manual", "n_predicted"]
    out = t2.loc[:, [c for c in cols if c in t2.columns]].copy()
    out["category"] = out["category"].map(display)
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
    return with_category(sh, inp.categories())


FIG3B_YAML = "figure3b_paper.yaml"


def run_category_repos(inp: Inputs, mode: str) -> set[str]:
    """Figure 3b's repositories: in paper mode the study's set of
    ``taxonomy/figure3b_paper.yaml`` (study.md 4.3), else :func:`mode_repos`."""
    repos = mode_repos(inp, mode)
    path = inp.paths.taxonomy / FIG3B_YAML
    if not modes.policy(mode).final_dataset_only or not path.exists():
        return repos
    doc: dict[str, Any] = read_yaml(path) or {}
    if doc.get("studied_set") == "all":
        (studied,) = inp.need("repos")
        repos = set(studied["repo"])
    return repos - set(doc.get("missing_unexplained", []))


def run_category_frame(inp: Inputs, mode: str) -> pd.DataFrame:
    sh = inp.mode("run_category_shares", mode).rename(columns={"category": "run_category"})
    sh = sh[sh["repo"].isin(run_category_repos(inp, mode))]
    return with_category(sh, inp.categories())


def image_key(name: Any, official: Any) -> str:
    """Figure 4a label of a base image: its name, ``{}/name`` when not an official image."""
    n = str(name).strip().lower()
    return n if str(official).lower() in ("true", "1") else "{}/" + n


def fig4_doc(inp: Inputs) -> dict[str, Any]:
    """``taxonomy/figure4_paper.yaml``, read once per report."""
    if "fig4" not in inp.memo:
        inp.memo["fig4"] = F4.load_fig4(inp.paths.taxonomy)
    doc: dict[str, Any] = inp.memo["fig4"]
    return doc


def paper_base_hits(inp: Inputs, kind: str) -> pd.DataFrame:
    """Paper-mode Figure 4a/4b (repo, key) hits on the study's own sheet (study.md 4.4/4.5);
    4b keys are the paper's type labels."""
    sheet, temp = inp.need("package_base_images", "package_base_types")
    doc = fig4_doc(inp)
    if kind == "keyword":
        return F4.keyword_hits(sheet, doc["figure4a"])
    labels = base_type_labels(inp)
    hits = F4.type_hits(sheet, temp, doc["figure4b_merge"], type_rules(inp)[0][0],
                        doc["figure4a"], doc.get("python_closest"))
    hits["key"] = hits["key"].map(lambda t: labels.get(str(t), (t, t))[1])
    return hits


def paper_base_frame(inp: Inputs, kind: str, top: int | None = 10) -> pd.DataFrame:
    """Paper-mode Figure 4a/4b shares from :func:`paper_base_hits` (fig4)."""
    (sheet,) = inp.need("package_base_images")
    return base_image_shares(paper_base_hits(inp, kind), inp.categories(), "key", top=top,
                             n_repos=F4.n_repos(sheet))


def closest_python_shares(inp: Inputs) -> pd.DataFrame | None:
    """Figure 4a's python bar under the closest rule found (``python_closest`` of
    taxonomy/figure4_paper.yaml), every category (no top 10); None without that rule."""
    closest = fig4_doc(inp).get("python_closest")
    if not closest:
        return None
    (sheet,) = inp.need("package_base_images")
    return base_image_shares(F4.keyword_hits(sheet, {"python": closest}), inp.categories(),
                             "key", top=None, n_repos=F4.n_repos(sheet))


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
    to_id = {" ".join(p.split()): t for t, (_, p) in base_type_labels(inp).items()}
    doc = fig4_doc(inp)
    return F4.search_type_rules(sheet, temp, doc["figure4b_merge"],
                                F4.paper_type_targets(inp.spec, to_id), doc["figure4a"],
                                doc.get("python_closest"))


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
        labels = base_type_labels(inp)
        bi = bi[bi["base_type"].fillna("unknown") != "unknown"]
        pick = 1 if modes.policy(mode).base_type_labels_of_paper else 0
        bi["key"] = bi["base_type"].map(
            lambda t: labels.get(str(t), (str(t), str(t)))[pick])
        return base_image_shares(bi, inp.categories(), "key", top=top, n_repos=n_repos)
    refs = bi[~bi["is_stage_reference"].astype(bool) & ~bi["is_variable"].astype(bool)]
    refs = refs.assign(key=[image_key(n, o) for n, o in zip(refs["name"], refs["official"],
                                                           strict=True)])
    return base_image_shares(refs, inp.categories(), "key", top=top, n_repos=n_repos)


def file_types_num_frame(inp: Inputs, mode: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    df = inp.mode("file_types_by_num", mode).copy()
    df = df.sort_values(["category", "rank"])
    line = (df.groupby(["category", "file_type"], sort=False)["perc_storage"].mean()
            .rename("value").reset_index())
    return df, line

FIG5_SOURCE = {"paper": "paper mode: the package's published aggregates, redrawn",
               "corrected": "corrected mode: rebuilt per repository"}


# --------------------------------------------------------------------------------------
# the artefacts
# --------------------------------------------------------------------------------------


@artefact("figure1_funnel", per_mode=False)
def figure_1(inp: Inputs, mode: str) -> Artefact:
    """Figure 1, the collection funnel (our counts; the same in both modes)."""
    (fn,) = inp.need("funnel")
    spec = FigureSpec("funnel", (fn,), "Figure 1: collection funnel, our counts")
    return Artefact(fn, table=fn, figure=spec)


@artefact("figure2_purposes", per_mode=False)
def figure_2(inp: Inputs, mode: str) -> Artefact:
    """Figure 2, the purpose taxonomy with repositories per purpose."""
    nodes = load_purposes(inp.paths)
    counts = purpose_counts(inp)
    n_major = sum(1 for n in nodes if not n.get("parent"))
    title = (f"Figure 2: purposes of using Docker ({n_major} purposes, "
             f"{len(nodes) - n_major} subcategories)")
    if counts:
        title += f"\n{purpose_count_note(inp)}"
    frame = pd.DataFrame(nodes, columns=["id", "name", "parent"])
    frame["repos"] = frame["id"].map(counts)
    spec = FigureSpec("purpose_tree", (nodes, counts), title)
    return Artefact(frame, figure=spec,
                    extra={"nodes": nodes, "counts": counts})


@artefact("table1")
def table1(inp: Inputs, mode: str) -> Artefact:
    """Table 1: repositories per category, label mix and medians."""
    t = table1_frame(inp, mode)
    return Artefact(t, table=table1_display(t))


@artefact("figure3a_instructions")
def figure_3a(inp: Inputs, mode: str) -> Artefact:
    """Figure 3a: per-repository share of the plotted instructions, per category."""
    df = instruction_frame(inp, mode)
    spec = FigureSpec(
        "category_boxplots", (df,),
        f"Figure 3a: composition of Docker instructions per repository ({mode} mode)",
        {"item_col": "instruction", "value_col": "percentage", "items": INSTRUCTIONS_3A,
         "ylabel": "Composition (%)"})
    medians = median_shares(df, inp.categories(), "instruction")
    return Artefact(df, table=medians, figure=spec)


@artefact("figure3b_run_commands")
def figure_3b(inp: Inputs, mode: str) -> Artefact:
    """Figure 3b: per-repository share of the RUN-command categories, per category."""
    df = run_category_frame(inp, mode)
    spec = FigureSpec(
        "category_boxplots", (df,),
        f"Figure 3b: categories of commands in RUN instructions ({mode} mode)",
        {"item_col": "run_category", "value_col": "percentage",
         "items": run_category_ids(inp.paths), "ylabel": "Percentage (%)"})
    return Artefact(df, figure=spec)


def _n_from(shares: pd.DataFrame) -> int:
    return int(shares["n_repos_with_from"].max()) if len(shares) else 0


@artefact("figure4a_base_images")
def figure_4a(inp: Inputs, mode: str) -> Artefact:
    """Figure 4a: base images (frame: every key; table and figure: top 10 per category)."""
    shares = base_image_frame(inp, mode, "keyword", top=None)
    top = shares.groupby("category", group_keys=False).head(10).reset_index(drop=True)
    spec = FigureSpec(
        "stacked_bars", (top,),
        f"Figure 4a: most used base images, top 10 per category ({mode} mode)",
        {"ylabel": f"% of the {_n_from(top)} repositories with a FROM"})
    return Artefact(shares, table=top, figure=spec)


@artefact("figure4b_base_image_types")
def figure_4b(inp: Inputs, mode: str) -> Artefact:
    """Figure 4b: base-image types."""
    shares = base_image_frame(inp, mode, "type", top=None)
    spec = FigureSpec("grouped_bars", (shares,), f"Figure 4b: base image types ({mode} mode)",
                      {"ylabel": f"% of the {_n_from(shares)} repositories with a FROM"})
    return Artefact(shares, table=shares, figure=spec)


@artefact("table2")
def table2(inp: Inputs, mode: str) -> Artefact:
    """Table 2: image configuration and layer medians per category (frame: Table 1 order)."""
    t2 = inp.mode("images_table2", mode)
    order = {c: i for i, c in enumerate(CATEGORIES)}
    t2 = t2.sort_values("category", key=lambda s: s.map(order).fillna(99))
    return Artefact(t2, table=table2_display(t2))


@artefact("figure5a_file_types")
def figure_5a(inp: Inputs, mode: str) -> Artefact:
    """Figure 5a: % of files per file type (boxes) and mean % of storage (line)."""
    df, line = file_types_num_frame(inp, mode)
    spec = FigureSpec(
        "category_boxplots", (df,),
        f"Figure 5a: most common file types in the images ({FIG5_SOURCE[mode]}); boxes: % of "
        "files per repository, grey line: mean % of storage",
        {"item_col": "file_type", "value_col": "perc_number", "items": None,
         "ylabel": "% of files", "line": line, "line_label": "mean % of storage"})
    return Artefact(df, figure=spec, extra={"line": line})


@artefact("figure5b_file_sizes")
def figure_5b(inp: Inputs, mode: str) -> Artefact:
    """Figure 5b: the largest file types per category."""
    df = inp.mode("file_types_by_size", mode).sort_values(["category", "rank"])
    spec = FigureSpec("category_bars", (df,),
                      f"Figure 5b: file types with the largest size ({FIG5_SOURCE[mode]})",
                      {"item_col": "file_type", "value_col": "size_mb",
                       "ylabel": "File size (MB)"})
    return Artefact(df, table=df, figure=spec)


@artefact("smells_top_rules", per_mode=False)
def smells_top(inp: Inputs, mode: str) -> Artefact:
    """Beyond the paper: the smells found in the most Dockerfiles, per category (corrected
    mode; hadolint's DL/SC rules and ours, MLD)."""
    (top,) = inp.need("smell_top")
    spec = FigureSpec("category_bars", (top,),
                      "Dockerfile smells: the 10 rules found in the most Dockerfiles per "
                      "category (hadolint DL/SC, mldock MLD; corrected mode)",
                      {"item_col": "rule", "value_col": "share",
                       "ylabel": "% of the category's Dockerfiles"})
    return Artefact(top, figure=spec)


@artefact("smells_densities", per_mode=False)
def smells_densities(inp: Inputs, mode: str) -> Artefact:
    """Beyond the paper: smells per Dockerfile, per repository, by rule family."""
    (dens,) = inp.need("smell_densities")
    spec = FigureSpec("category_boxplots", (dens,),
                      "Dockerfile smells per Dockerfile, per repository (DL, SC: files "
                      "hadolint parsed; MLD: mldock's rules)",
                      {"item_col": "family", "value_col": "per_file",
                       "items": ["DL", "SC", "MLD"], "ylabel": "Smells per Dockerfile"})
    return Artefact(dens, figure=spec)


SHARED: tuple[ArtefactFn, ...] = (figure_1, figure_2, smells_top, smells_densities)
"""The artefacts that are the same in both modes."""
PER_MODE: tuple[ArtefactFn, ...] = (
    table1, figure_3a, figure_3b, figure_4a, figure_4b, table2, figure_5a, figure_5b)
"""The artefacts drawn once per mode, in the report's order."""
