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
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from ..taxonomy import read_yaml

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
    keywords: str  # "none", "official", "last", "official+4a" (see KEYWORD_SOURCES)
    variable: str  # marker making a FROM value Variable ("" = only temp's labels)

    def describe(self) -> str:
        var = f"'{self.variable}' in FROM = Variable" if self.variable else "no Variable marker"
        return (f"temp label columns 1-{self.columns}; {KEYWORD_SOURCES[self.keywords]}; "
                f"{var}; a repository counts under every type of any of its FROM values")


KEYWORD_SOURCES = {
    "none": "no substring keywords",
    "official": "substring keywords = temp names without a namespace",
    "last": "substring keywords = last path segment of every temp name",
    "official+4a": "substring keywords = temp names without a namespace and Figure 4a's "
                   "bar keywords, each typed by the temp names of its bar",
    "official+4a-closest": "substring keywords = temp names without a namespace and Figure "
                           "4a's bar keywords with the closest python rule (python_closest), "
                           "each typed by the temp names of its bar",
}
CLOSEST = "official+4a-closest"


def rule_bars(how: str, bars: dict[str, list[str]] | None,
              closest: list[str] | None) -> dict[str, list[str]] | None:
    """Figure 4a's bar keywords for keyword source ``how``: the python bar's replaced by
    ``closest`` for :data:`CLOSEST`."""
    if how == CLOSEST and bars is not None and closest:
        return {**bars, "python": list(closest)}
    return bars



def name_types(temp: pd.DataFrame, merge: dict[str, list[str]], columns: int) -> dict[str, set[str]]:
    """base name (lower case) -> merged type ids of its first ``columns`` labels."""
    out: dict[str, set[str]] = {}
    labels = [temp[c] for c in LABEL_COLUMNS[:columns]]
    for base, *values in zip(temp["base"], *labels, strict=True):
        s = out.setdefault(str(base).strip().lower(), set())
        for v in values:
            if isinstance(v, str) and v.strip():
                s.update(merge.get(v.strip(), []))
    return out


def bar_types(types: dict[str, set[str]], bar: str) -> set[str]:
    """Types of a Figure 4a bar: of the temp name ``bar``, or of ``*/name`` for ``{}/name``."""
    out: set[str] = set()
    name = bar.removeprefix("{}/")
    for n, ts in types.items():
        if (n.endswith("/" + name) if bar.startswith("{}/") else n == name):
            out |= ts
    return out


def type_keywords(types: dict[str, set[str]], how: str,
                  bars: dict[str, list[str]] | None = None) -> dict[str, set[str]]:
    """type id -> substring keywords taken from the temp names (alphabetic, >= 4 letters)
    and, for ``official+4a``, the Figure 4a bars' keywords."""
    out: dict[str, set[str]] = {}
    if how == "none":
        return out
    if how.startswith("official+4a"):
        for bar, words in (bars or {}).items():
            for t in bar_types(types, bar):
                out.setdefault(t, set()).update(str(w).lower() for w in words)
    for name, ts in types.items():
        if how != "last" and "/" in name:
            continue
        word = name.rsplit("/", 1)[-1]
        if len(word) >= 4 and word.isalpha():
            for t in ts:
                out.setdefault(t, set()).add(word)
    return out


@dataclass(frozen=True)
class FromValues:
    """The sheet's FROM values: each distinct (base name, whole FROM value) pair once
    (``values``, lower case) and the (repository, value index) pairs that use them."""

    uses: tuple[tuple[str, int], ...]
    values: tuple[tuple[str, str], ...]

    @classmethod
    def of(cls, sheet: pd.DataFrame) -> FromValues:
        bases = sheet["base"].fillna("").astype(str).str.strip().str.lower()
        fulls = sheet["baseimage"].fillna("").astype(str).str.lower()
        index: dict[tuple[str, str], int] = {}
        uses = {(str(repo), index.setdefault(v, len(index)))
                for repo, v in zip(sheet["repo"], zip(bases, fulls, strict=True), strict=True)}
        return cls(tuple(sorted(uses)), tuple(index))


def value_types(fv: FromValues, types: dict[str, set[str]],
                kws: dict[str, set[str]]) -> list[set[str]]:
    """Per distinct FROM value: the types of its base name and of every keyword it contains."""
    word_types: dict[str, set[str]] = {}
    for t, ws in kws.items():
        for w in ws:
            word_types.setdefault(w, set()).add(t)
    out = []
    for base, full in fv.values:
        ts = set(types.get(base, set()))
        for w, wt in word_types.items():
            if w in full:
                ts |= wt
        out.append(ts)
    return out


def rule_pairs(fv: FromValues, typed: list[set[str]], variable: str) -> set[tuple[str, str]]:
    """(repo, type id) pairs from the typed values; ``variable`` in a FROM value adds
    ``variable`` (no marker when empty)."""
    var = [bool(variable) and variable in full for _, full in fv.values]
    pairs: set[tuple[str, str]] = set()
    for repo, i in fv.uses:
        pairs.update((repo, t) for t in typed[i])
        if var[i]:
            pairs.add((repo, "variable"))
    return pairs


def type_hits(sheet: pd.DataFrame, temp: pd.DataFrame, merge: dict[str, list[str]],
              rule: TypeRule, bars: dict[str, list[str]] | None = None,
              closest: list[str] | None = None) -> pd.DataFrame:
    """(repo, type id) pairs under ``rule`` (``bars``: Figure 4a's keywords; ``closest``:
    the closest python rule, see :func:`rule_bars`)."""
    fv = FromValues.of(sheet)
    types = name_types(temp, merge, rule.columns)
    kws = type_keywords(types, rule.keywords, rule_bars(rule.keywords, bars, closest))
    typed = value_types(fv, types, kws)
    return pd.DataFrame(sorted(rule_pairs(fv, typed, rule.variable)), columns=["repo", "key"])


def candidate_rules() -> list[TypeRule]:
    return [TypeRule(c, k, v) for c, k, v in
            itertools.product((1, 2, 3), tuple(KEYWORD_SOURCES), ("", "$", "${"))]


def score_rule(hits: pd.DataFrame, target_repos: dict[str, int]) -> tuple[int, int]:
    """(types whose repository count equals the target, sum of absolute residuals)."""
    got = hits.groupby("key")["repo"].nunique()
    return _score({str(k): int(v) for k, v in got.items()}, target_repos)


def _score(got: dict[str, int], target_repos: dict[str, int]) -> tuple[int, int]:
    res = [abs(got.get(t, 0) - v) for t, v in target_repos.items()]
    return sum(r == 0 for r in res), sum(res)


def search_type_rules(sheet: pd.DataFrame, temp: pd.DataFrame, merge: dict[str, list[str]],
                      target_repos: dict[str, int], bars: dict[str, list[str]] | None = None,
                      closest: list[str] | None = None) -> list[tuple[TypeRule, int, int]]:
    """Every candidate rule with its score, best first (most exact types, then residual).

    The same as scoring :func:`type_hits` of each of :func:`candidate_rules`, with the
    FROM values typed once per (label columns, keyword source)."""
    fv = FromValues.of(sheet)
    typed: dict[tuple[int, str], list[set[str]]] = {}
    scored = []
    for rule in candidate_rules():
        key = (rule.columns, rule.keywords)
        if key not in typed:
            types = name_types(temp, merge, rule.columns)
            kws = type_keywords(types, rule.keywords, rule_bars(rule.keywords, bars, closest))
            typed[key] = value_types(fv, types, kws)
        got = Counter(t for _, t in rule_pairs(fv, typed[key], rule.variable))
        scored.append((rule, *_score(got, target_repos)))
    return sorted(scored, key=lambda x: (-x[1], x[2], x[0].columns, x[0].keywords))


def paper_type_targets(spec: dict[str, Any], label_to_id: dict[str, str]) -> dict[str, int]:
    """Published Figure 4b totals as repository counts (% x 3.99 of 399), by type id."""
    tot = spec.get("rq3_base_image_types", {}).get("totals", {})
    return {label_to_id.get(" ".join(str(k).split()), str(k)): round(float(v) * 3.99)
            for k, v in tot.items()}


def bar_residual(shares: pd.DataFrame, key: str, paper: dict[str, float],
                 n: int) -> pd.DataFrame:
    """One bar per category: the paper's repositories (% x n / 100), ours, ours - paper."""
    got = shares[shares["key"] == key].set_index("category")["repos"]
    rows = [{"category": c, "paper": round(v * n / 100), "ours": int(got.get(c, 0))}
            for c, v in paper.items()]
    df = pd.DataFrame(rows, columns=["category", "paper", "ours"])
    return df.assign(residual=df["ours"] - df["paper"])


def total_residual(shares: pd.DataFrame, paper: dict[str, float], n: int) -> pd.DataFrame:
    """Per Figure 4b type: the paper's repositories (all categories), ours, ours - paper."""
    got = shares.groupby("key")["repos"].sum()
    got.index = [" ".join(str(k).split()) for k in got.index]
    rows = [{"type": " ".join(str(k).split()), "paper": round(v * n / 100)} for k, v in paper.items()]
    df = pd.DataFrame(rows, columns=["type", "paper"])
    df["ours"] = [int(got.get(t, 0)) for t in df["type"]]
    return df.assign(residual=df["ours"] - df["paper"])


def section_lines(ranked: list[tuple[TypeRule, int, int]], totals: pd.DataFrame,
                  python: pd.DataFrame, to_md: Any, closest: list[str] | None = None
                  ) -> list[str]:
    """The report's Figure 4 section: the 4b rule search and the python bar's residual
    (``python``: :func:`python_residuals`)."""
    best, exact, res = ranked[0]
    table = pd.DataFrame([{"rule": r.describe(), "types exact": e, "abs. residual": s}
                          for r, e, s in ranked[:6]])
    rule = (f"the substring rule `python` and, beside it, the closest rule found, FROM "
            f"containing any of {closest} (`python_closest`)" if closest
            else "the substring rule `python`")
    return [
        "## Figure 4 in paper mode", "",
        "From the study's own FROM extraction (xlsx sheet `baseimages`, study.md 4.4): a",
        "repository counts for a bar when a FROM value contains the bar's keyword",
        "(`taxonomy/figure4_paper.yaml`), over the repositories of the sheet.", "",
        f"Figure 4b rule (best of {len(ranked)} candidates scored on the published type "
        f"totals, in repositories): **{best.describe()}**; {exact} of {len(totals)} type "
        f"totals exact, absolute residual {res} repositories. Top candidates:", "",
        to_md(table).rstrip(), "",
        "The rule is chosen on the published type totals alone (category-free, so the blank "
        "labels of a copy do not matter)" + (
            f"; its keywords include the python rule fitted to Figure 4a ({closest}, "
            "`python_closest`), not `python` alone" if best.keywords == CLOSEST else "")
        + ".", "",
        "Type totals under that rule (repositories):", "",
        to_md(totals).rstrip(), "",
        f"The python bar (study.md 4.4: no simple rule reproduces it): {rule}; residual per "
        "category (repositories, our categories):", "",
        to_md(python).rstrip(), "",
    ]


def python_residuals(kw: pd.DataFrame, closest: pd.DataFrame | None, paper: dict[str, float],
                     n: int, words: list[str] | None) -> pd.DataFrame:
    """The python bar per category under `python` (``kw``, Figure 4a's shares) and, when
    given, under the closest rule (``closest``: its shares): paper, ours, residual, and a
    total row."""
    out = bar_residual(kw, "python", paper, n).rename(
        columns={"ours": "python", "residual": "residual (python)"})
    if closest is not None:
        name = " or ".join(words or ["closest"])
        other = bar_residual(closest, "python", paper, n)
        out[name] = other["ours"].to_numpy()
        out[f"residual ({name})"] = other["residual"].to_numpy()
    total = out.drop(columns="category").sum()
    return pd.concat([out, pd.DataFrame([{"category": "total", **total.to_dict()}])],
                     ignore_index=True)


def section(ranked: list[tuple[TypeRule, int, int]],
            frames: tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame | None],
            spec: dict[str, Any], n: int, to_md: Any, canon: Any,
            closest: list[str] | None = None) -> list[str]:
    """:func:`section_lines` from the paper-mode 4a/4b shares (``frames``: 4a, 4b, the
    python bar under ``closest``) and the targets."""
    kw, ty, closest_shares = frames
    paper = {canon(c): v["python"] for c, v in spec["rq3_base_images"]["value"].items()
             if "python" in v}
    totals = total_residual(ty, spec["rq3_base_image_types"].get("totals", {}), n)
    python = python_residuals(kw, closest_shares, paper, n, closest)
    return section_lines(ranked, totals, python, to_md, closest)


def label_brackets(hits: pd.DataFrame, categories: pd.DataFrame,
                   human: tuple[str, ...] | frozenset[str]) -> pd.DataFrame:
    """Per (category, key): repositories of the category that hit the key with a category
    a person gave (``labelled``), and the key's hits whose category is predicted, whatever
    it is (``unlabelled``): with blank labels the study's cell can only lie in
    ``[labelled, labelled + unlabelled]``."""
    df = hits.merge(categories[["repo", "category", "category_source"]], on="repo")
    human_hit = df["category_source"].isin(set(human))
    unl = df[~human_hit].groupby("key")["repo"].nunique()
    cats = sorted(set(categories["category"]))
    grid = pd.MultiIndex.from_product([cats, sorted(set(df["key"]))], names=["category", "key"])
    lab = df[human_hit].groupby(["category", "key"])["repo"].nunique().reindex(grid, fill_value=0)
    out = lab.rename("labelled").reset_index()
    out["unlabelled"] = out["key"].map(unl).fillna(0).astype(int)
    return out


def bracket_reasons(br: pd.DataFrame, paper: dict[tuple[str, str], int]
                    ) -> dict[tuple[str, str], str]:
    """Per paper cell ``(category, key)`` (repositories): one line, is it reachable by
    labelling the copy's blanks? ``br`` is :func:`label_brackets`. One unlabelled
    repository fills one category's cell only, so each key is checked jointly: every cell
    needs labelled <= paper, and the cells' shortfalls (paper - labelled) must each and
    together fit in the key's unlabelled hits; the cells of a key that fails get ``rule:``."""
    got = br.set_index(["category", "key"])
    unl = br.groupby("key")["unlabelled"].max()
    by_key: dict[str, list[tuple[str, str]]] = {}
    for cell in paper:
        by_key.setdefault(cell[1], []).append(cell)
    out: dict[tuple[str, str], str] = {}
    for key, cells in by_key.items():
        u = int(unl.get(key, 0))
        lab = {c: int(got.loc[c, "labelled"]) if c in got.index else 0 for c in cells}
        need = sum(max(paper[c] - lab[c], 0) for c in cells)
        for c in cells:
            out[c] = _cell_reason(paper[c], lab[c], u, need)
    return out


def _cell_reason(paper: int, labelled: int, unlabelled: int, need: int) -> str:
    if paper < labelled:
        return (f"rule: the copy's labelled repositories alone give {labelled}, above the "
                f"paper's {paper}")
    if paper > labelled + unlabelled:
        return (f"rule: with all {unlabelled} unlabelled hits of the key the cell reaches "
                f"{labelled + unlabelled}, below the paper's {paper}")
    if need > unlabelled:
        return (f"rule: the paper's cells of this key together need {need} repositories "
                f"beyond their labelled ones, but the key has only {unlabelled} unlabelled "
                f"hits (each fills one category's cell)")
    return (f"the copy leaves {unlabelled} of the key's hits unlabelled; this cell's "
            f"{labelled} labelled ones are consistent with the paper's {paper}, and the "
            f"key's cells together need {need} of those hits")
