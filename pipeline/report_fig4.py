"""Paper-mode Figures 4a and 4b from the study's own FROM extraction (study.md 4.4, 4.5).

Inputs are the interim tables ``package_base_images`` (xlsx sheet ``baseimages``) and
``package_base_types`` (sheet ``temp``) and ``taxonomy/figure4_paper.yaml``:

* Figure 4a: a repository counts for a bar when one of its ``Baseimage`` values contains
  one of the bar's keywords (case-insensitive); denominator = repositories of the sheet.
* Figure 4b: each FROM value gets the types of its base name (``temp`` labels merged by
  the YAML) and, by rule, the types whose keywords occur in the whole FROM string; the
  rule is chosen by :func:`search_type_rules`, which scores every candidate against the
  published type totals (category-free, so the blank labels of a copy do not matter).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from .taxonomy import read_yaml

FIG4_YAML = "figure4_paper.yaml"
LABEL_COLUMNS = ("label_1", "label_2", "label_3")


def load_fig4(taxonomy: Path) -> dict[str, Any]:
    doc: dict[str, Any] = read_yaml(taxonomy / FIG4_YAML) or {}
    return doc


def n_repos(sheet: pd.DataFrame) -> int:
    """The denominator: repositories in the sheet (399 in the study)."""
    return int(sheet["repo"].nunique())


def keyword_hits(sheet: pd.DataFrame, keywords: dict[str, list[str]]) -> pd.DataFrame:
    """(repo, key) pairs: a FROM value of the repository contains one of the key's words."""
    raw = sheet["baseimage"].fillna("").astype(str).str.lower()
    rows = []
    for key, words in keywords.items():
        hit = pd.Series(False, index=sheet.index)
        for w in words:
            hit |= raw.str.contains(str(w).lower(), regex=False)
        rows += [{"repo": r, "key": key} for r in sheet.loc[hit, "repo"].unique()]
    return pd.DataFrame(rows, columns=["repo", "key"])


@dataclass(frozen=True)
class TypeRule:
    """How a FROM value gets its Figure 4b types."""

    columns: int  # how many of temp's label columns count (1-3)
    keywords: str  # "none", "official" (names without '/'), "last" (last path segment)
    variable: bool  # a '$' in the FROM value makes it Variable

    def describe(self) -> str:
        kw = {"none": "no substring keywords",
              "official": "substring keywords = temp names without a namespace",
              "last": "substring keywords = last path segment of every temp name"}[self.keywords]
        return (f"temp label columns 1-{self.columns}; {kw}; "
                f"'$' in FROM {'=' if self.variable else 'not'} Variable; "
                "a repository counts under every type of any of its FROM values")


def name_types(temp: pd.DataFrame, merge: dict[str, list[str]], columns: int) -> dict[str, set[str]]:
    """base name (lower case) -> merged type ids of its first ``columns`` labels."""
    out: dict[str, set[str]] = {}
    for _, r in temp.iterrows():
        s = out.setdefault(str(r["base"]).strip().lower(), set())
        for c in LABEL_COLUMNS[:columns]:
            v = r[c]
            if isinstance(v, str) and v.strip():
                s.update(merge.get(v.strip(), []))
    return out


def type_keywords(types: dict[str, set[str]], how: str) -> dict[str, set[str]]:
    """type id -> substring keywords taken from the temp names (alphabetic, >= 4 letters)."""
    out: dict[str, set[str]] = {}
    if how == "none":
        return out
    for name, ts in types.items():
        if how == "official" and "/" in name:
            continue
        word = name.rsplit("/", 1)[-1]
        if len(word) >= 4 and word.isalpha():
            for t in ts:
                out.setdefault(t, set()).add(word)
    return out


def type_hits(sheet: pd.DataFrame, temp: pd.DataFrame, merge: dict[str, list[str]],
              rule: TypeRule) -> pd.DataFrame:
    """(repo, type id) pairs under ``rule``."""
    types = name_types(temp, merge, rule.columns)
    kws = type_keywords(types, rule.keywords)
    pairs: set[tuple[str, str]] = set()
    bases = sheet["base"].fillna("").astype(str).str.strip().str.lower()
    fulls = sheet["baseimage"].fillna("").astype(str).str.lower()
    for repo, base, full in zip(sheet["repo"], bases, fulls, strict=True):
        ts = set(types.get(base, set()))
        ts.update(t for t, ws in kws.items() if any(w in full for w in ws))
        if rule.variable and "$" in full:
            ts.add("variable")
        pairs.update((str(repo), t) for t in ts)
    return pd.DataFrame(sorted(pairs), columns=["repo", "key"])


def candidate_rules() -> list[TypeRule]:
    return [TypeRule(c, k, v) for c, k, v in
            itertools.product((1, 2, 3), ("none", "official", "last"), (False, True))]


def score_rule(hits: pd.DataFrame, target_repos: dict[str, int]) -> tuple[int, int]:
    """(types whose repository count equals the target, sum of absolute residuals)."""
    got = hits.groupby("key")["repo"].nunique()
    res = [abs(int(got.get(t, 0)) - v) for t, v in target_repos.items()]
    return sum(r == 0 for r in res), sum(res)


def search_type_rules(sheet: pd.DataFrame, temp: pd.DataFrame, merge: dict[str, list[str]],
                      target_repos: dict[str, int]) -> list[tuple[TypeRule, int, int]]:
    """Every candidate rule with its score, best first (most exact types, then residual)."""
    scored = [(r, *score_rule(type_hits(sheet, temp, merge, r), target_repos))
              for r in candidate_rules()]
    return sorted(scored, key=lambda x: (-x[1], x[2], x[0].columns, x[0].keywords))


def paper_type_targets(spec: dict[str, Any], label_to_id: dict[str, str]) -> dict[str, int]:
    """Published Figure 4b totals as repository counts (% x 3.99 of 399), by type id."""
    tot = spec.get("rq3_base_image_types", {}).get("totals", {})
    return {label_to_id.get(" ".join(str(k).split()), str(k)): round(float(v) * 3.99)
            for k, v in tot.items()}


def best_type_rule(sheet: pd.DataFrame, temp: pd.DataFrame, merge: dict[str, list[str]],
                   target_repos: dict[str, int]) -> TypeRule:
    return search_type_rules(sheet, temp, merge, target_repos)[0][0]
