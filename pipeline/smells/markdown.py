"""``reports/smells.md``: the stage's numbers in one page, every number computed."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pandas as pd

from ..config import CATEGORIES
from ..core.smells import Rule
from .frames import FAMILIES


def _cell(v: Any) -> str:
    if v is None or v is pd.NA or (isinstance(v, float) and v != v):
        return ""
    if isinstance(v, float):
        return f"{v:.3g}" if abs(v) < 1e-3 and v else f"{v:.3f}"
    return str(v).replace("|", "\\|")


def table(df: pd.DataFrame) -> str:
    """A GitHub-flavoured markdown table (no index)."""
    head = "| " + " | ".join(map(str, df.columns)) + " |"
    sep = "|" + "|".join("---" for _ in df.columns) + "|"
    body = ["| " + " | ".join(_cell(v) for v in row) + " |" for row in df.itertuples(index=False)]
    return "\n".join([head, sep, *body])


def category_summary(sf: pd.DataFrame, dens: pd.DataFrame) -> pd.DataFrame:
    """Per category: repositories, Dockerfiles, unparseable ones, median densities per family."""
    cat = dens.drop_duplicates("repo").set_index("repo")["category"]
    files = sf.assign(category=sf["repo"].map(cat))
    rows = []
    for c in [*CATEGORIES, "Unlabelled"]:
        f = files[files["category"] == c]
        if not len(f):
            continue
        row: dict[str, Any] = {"category": c, "repos": int(f["repo"].nunique()),
                               "dockerfiles": len(f),
                               "unparseable": int((f["hadolint_status"] != "ok").sum())}
        for fam in FAMILIES:
            d = dens[(dens["category"] == c) & (dens["family"] == fam)]
            for m in ("per_file", "per_instruction"):
                v = d[m].dropna().astype(float)
                row[f"{fam} {m.replace('_', ' ')} (median)"] = float(v.median()) if len(v) else None
        rows.append(row)
    return pd.DataFrame(rows)


def render(smells: pd.DataFrame, sf: pd.DataFrame, dens: pd.DataFrame, tests: pd.DataFrame,
           top: pd.DataFrame, rules: Sequence[Rule], version: str,
           releases: pd.DataFrame | None = None) -> str:
    """The page: totals, per-category summary, top rules, the tests, our rules, the corpus."""
    n_unp = int((sf["hadolint_status"] == "unparseable").sum())
    n_fail = int((sf["hadolint_status"] == "failed").sum())
    fam = smells.groupby("family").size()
    lines = [
        "# Dockerfile smells (`mldock smells`)", "",
        f"{len(sf)} Dockerfiles (corrected mode) of {sf['repo'].nunique()} repositories, "
        f"{sf['sha256'].nunique()} distinct contents, checked by hadolint {version} "
        f"(taxonomy/hadolint.yaml) and by {len(rules)} mldock rules (taxonomy/smells.yaml). "
        f"hadolint could not parse {n_unp} of them (DL1000: reported as unparseable, not as "
        f"0 smells)" + (f" and failed on {n_fail}" if n_fail else "") + ". Smells found: "
        + ", ".join(f"{f} {int(fam.get(f, 0))}" for f in FAMILIES) + ".", "",
        "## Per category", "",
        "Densities are per repository (its smells over its Dockerfiles or instructions; "
        "DL and SC over the files hadolint parsed).", "",
        table(category_summary(sf, dens)), "",
        "## Most frequent smells per category (top 5)", "",
        "share: % of the category's Dockerfiles with the smell at least once (DL and SC rules: of those hadolint parsed).", "",
        table(top.drop(columns="rank").assign(share=top["share"].round(1))), "",
        "## Do categories differ? Kruskal-Wallis tests", "",
        "Repositories are the observations, the six categories the groups (Unlabelled "
        "left out); epsilon^2 = H / (n - 1).", "",
        table(tests), "",
        "## mldock's rules", "",
        table(pd.DataFrame([{"rule": r.id, "level": r.level, "closest hadolint rules":
                             ", ".join(r.hadolint), "description": r.description,
                             "found": int((smells["rule"] == r.id).sum())} for r in rules])),
        "",
    ]
    return "\n".join(lines + (_releases(releases) if releases is not None else []))


def _releases(rel: pd.DataFrame) -> list[str]:
    """The per-release corpus: how many copies hadolint could not parse, per category."""
    if rel.empty:
        return ["## The per-release corpus", "", "Not linted: run `mldock evolution` first.", ""]
    n, bad = int(rel["n_dockerfiles"].sum()), int(rel["n_unparseable"].sum())
    by_cat = (rel.assign(category=rel["category"].replace("", "Unlabelled"))
              .groupby("category")[["n_dockerfiles", "n_unparseable", "n_failed"]].sum()
              .reset_index())
    return ["## The per-release corpus", "",
            f"{n} Dockerfile copies of {rel['repo'].nunique()} projects over {len(rel)} releases "
            f"(evolution's dockerfile_versions, the copies our parser reads as Dockerfiles); "
            f"hadolint could not parse {bad} of them ({100 * bad / n:.1f}%). Per release: "
            "`data/processed/release_smells.csv`.", "", table(by_cat), ""]
