"""The smells stage's frames: our rules over parse's tables, hadolint's rows, densities and
the Kruskal-Wallis tests across categories."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from ..config import CATEGORIES
from ..core import smells as core
from ..schemas import TABLES

FAMILIES = ("DL", "SC", "MLD")
MEASURES = ("per_file", "per_instruction")


def family(rule: str) -> str:
    """``DL``, ``SC`` or ``MLD`` from a rule id."""
    for f in FAMILIES:
        if rule.startswith(f):
            return f
    return "DL"


def facts_by_file(instructions: pd.DataFrame, base_images: pd.DataFrame
                  ) -> dict[tuple[str, str], core.FileFacts]:
    """Corrected-mode instructions and FROM rows grouped per (repo, path)."""
    ins = instructions[instructions["mode"] == "corrected"]
    bis = base_images[base_images["mode"] == "corrected"]
    by_ins: dict[tuple[str, str], list[core.Instruction]] = {}
    text = ins["expanded"].fillna(ins["value"]).fillna("")
    for r, t in zip(ins.itertuples(index=False), text, strict=True):
        by_ins.setdefault((r.repo, r.path), []).append(core.Instruction(
            int(r.seq), int(r.stage), int(r.line), str(r.instruction),
            core.instruction_text(str(t), bool(r.exec_form)), bool(r.exec_form)))
    by_bi: dict[tuple[str, str], list[core.BaseImage]] = {}
    for r in bis.itertuples(index=False):
        by_bi.setdefault((r.repo, r.path), []).append(core.BaseImage(
            int(r.stage), int(r.line), _s(r.image), _s(r.tag), _s(r.digest),
            bool(r.is_stage_reference), bool(r.is_variable)))
    keys = set(by_ins) | set(by_bi)
    return {k: core.FileFacts(tuple(by_ins.get(k, ())), tuple(by_bi.get(k, ()))) for k in keys}


def _s(v: Any) -> str:
    return "" if v is None or v is pd.NA or (isinstance(v, float) and np.isnan(v)) else str(v)


def mldock_rows(files: pd.DataFrame, facts: dict[tuple[str, str], core.FileFacts],
                rules: Sequence[core.Rule]) -> list[dict[str, Any]]:
    """The ``smells`` rows of our rules for every file of ``files`` (repo, path)."""
    level = {r.id: r.level for r in rules}
    empty = core.FileFacts((), ())
    out: list[dict[str, Any]] = []
    for repo, path in zip(files["repo"], files["path"], strict=True):
        for f in core.evaluate(rules, facts.get((repo, path), empty)):
            out.append({"repo": repo, "path": path, "source": "mldock", "family": "MLD",
                        "rule": f.rule, "level": level[f.rule], "line": f.line})
    return out


def hadolint_rows(repo: str, path: str, findings: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{"repo": repo, "path": path, "source": "hadolint", "family": family(str(r["code"])),
             "rule": str(r["code"]), "level": str(r["level"]), "line": int(r["line"] or 0)}
            for r in findings]


def smells_frame(rows: list[dict[str, Any]]) -> pd.DataFrame:
    df = pd.DataFrame(rows, columns=TABLES["smells"].column_names)
    return df.sort_values(["repo", "path", "source", "line", "rule"], kind="stable"
                          ).reset_index(drop=True)


def file_frame(files: pd.DataFrame, smells: pd.DataFrame) -> pd.DataFrame:
    """``smell_files``: ``files`` (repo, path, sha256, hadolint_status, hadolint_error,
    n_instructions) with the smell counts per family."""
    counts = (smells.groupby(["repo", "path", "family"]).size().unstack("family")
              .reindex(columns=list(FAMILIES)).fillna(0).astype(int))
    out = files.join(counts, on=["repo", "path"])
    for f in FAMILIES:
        out[f.lower()] = out[f].fillna(0).astype("Int64") if f in out else 0
    ok = out["hadolint_status"] == "ok"
    out.loc[~ok, ["dl", "sc"]] = pd.NA
    return out[TABLES["smell_files"].column_names].sort_values(["repo", "path"]).reset_index(drop=True)


def densities(sf: pd.DataFrame, categories: pd.DataFrame) -> pd.DataFrame:
    """``smell_densities``: per repository and family, smells per file and per instruction."""
    cat = categories.set_index("repo")["category"]
    rows = []
    for repo, g in sf.groupby("repo", sort=True):
        ok = g[g["hadolint_status"] == "ok"]
        bad = int(len(g) - len(ok))
        for fam in FAMILIES:
            part = g if fam == "MLD" else ok
            files, ins = int(len(part)), int(part["n_instructions"].sum())
            n = int(part[fam.lower()].fillna(0).sum())
            rows.append({"repo": repo, "category": str(cat.get(repo, "Unlabelled")), "family": fam,
                         "files": files, "unparseable": bad, "instructions": ins, "smells": n,
                         "per_file": n / files if files else None,
                         "per_instruction": n / ins if ins else None})
    return pd.DataFrame(rows, columns=TABLES["smell_densities"].column_names)


def kruskal(groups: Sequence[np.ndarray]) -> tuple[float, float, float]:
    """(H corrected for ties, p-value, epsilon^2) of the Kruskal-Wallis test (scipy)."""
    from scipy import stats

    n = sum(len(g) for g in groups)
    h, p = stats.kruskal(*groups)
    return float(h), float(p), float(h) / (n - 1)


def tests(dens: pd.DataFrame) -> pd.DataFrame:
    """``smell_tests``: one Kruskal-Wallis test per family and measure across categories."""
    rows = []
    for fam in FAMILIES:
        for m in MEASURES:
            d = dens[(dens["family"] == fam) & dens["category"].isin(CATEGORIES)]
            d = d[d[m].notna()]
            groups = [d.loc[d["category"] == c, m].astype(float).to_numpy() for c in CATEGORIES]
            groups = [g for g in groups if len(g)]
            n = int(sum(len(g) for g in groups))
            h = p = e = None
            if len(groups) >= 2 and len(set(np.concatenate(groups))) > 1:
                h, p, e = kruskal(groups)
            rows.append({"family": fam, "measure": m, "n_repos": n, "n_categories": len(groups),
                         "h": h, "df": max(len(groups) - 1, 0), "p_value": p,
                         "epsilon_squared": e})
    out = pd.DataFrame(rows)
    out["p_holm"] = holm(out["p_value"].tolist())
    return out[TABLES["smell_tests"].column_names]


def holm(pvalues: Sequence[float | None]) -> list[float | None]:
    """Holm's step-down adjustment of ``pvalues`` (None or NaN: a test not run, left out)."""
    ranked = sorted((p, i) for i, p in enumerate(pvalues) if p is not None and p == p)
    out: list[float | None] = [None] * len(pvalues)
    running = 0.0
    for k, (p, i) in enumerate(ranked):
        running = max(running, min(1.0, (len(ranked) - k) * p))
        out[i] = running
    return out


def top_rules(smells: pd.DataFrame, sf: pd.DataFrame, categories: pd.DataFrame,
              n: int = 10) -> pd.DataFrame:
    """``smell_top``: per category, the ``n`` rules found in the most Dockerfiles (share: % of
    the category's Dockerfiles; for hadolint's DL and SC rules, of those hadolint parsed)."""
    cat = categories.set_index("repo")["category"]
    per_file = smells.drop_duplicates(["repo", "path", "rule"]).assign(
        category=lambda d: d["repo"].map(cat).fillna("Unlabelled"))
    sf = sf.assign(category=sf["repo"].map(cat).fillna("Unlabelled"))
    totals = sf.groupby("category").size()  # MLD: every Dockerfile
    read = sf[sf["hadolint_status"] == "ok"].groupby("category").size()  # DL, SC
    counts = per_file.groupby(["category", "rule", "family"]).size().rename("files").reset_index()
    base = np.where(counts["family"] == "MLD", counts["category"].map(totals).astype(float),
                    counts["category"].map(read).astype(float))
    counts["share"] = 100.0 * counts["files"] / base
    order = {c: i for i, c in enumerate(CATEGORIES)}
    counts = counts[counts["category"].isin(CATEGORIES)]
    counts = counts.sort_values(["category", "files", "rule"], ascending=[True, False, True],
                                key=lambda s: s.map(order) if s.name == "category" else s)
    out = counts.groupby("category", sort=False).head(n).reset_index(drop=True)
    out["rank"] = out.groupby("category", sort=False).cumcount() + 1
    return out[TABLES["smell_top"].column_names]
