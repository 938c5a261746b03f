"""The sentences of the smells section of notebook 5, computed from the smells tables."""

from __future__ import annotations

import pandas as pd

from ..config import CATEGORIES
from .frames import display
from .inputs import Inputs


def _unparseable(files: pd.DataFrame, cats: pd.DataFrame) -> str:
    f = files.merge(cats[["repo", "category"]], on="repo", how="left")
    bad = f[f["hadolint_status"] != "ok"]
    per = bad.groupby("category").size()
    parts = ", ".join(f"{display(c)} {int(per.get(c, 0))}" for c in CATEGORIES)
    return (f"hadolint could not parse {len(bad)} of the {len(f)} Dockerfiles "
            f"({bad['repo'].nunique()} repositories); they count as unparseable, not as "
            f"0 smells, and only our rules (MLD) cover them: {parts}.")


def _top(top: pd.DataFrame) -> list[str]:
    out = []
    for c in CATEGORIES:
        t = top[(top["category"] == c) & (top["rank"] <= 5)]
        if len(t):
            out.append(f"{display(c)}: the most frequent smells are " + ", ".join(
                f"{r.rule} ({r.share:.0f}% of its Dockerfiles)" for r in t.itertuples()) + ".")
    return out


def _densities(dens: pd.DataFrame) -> str:
    med = (dens[dens["category"].isin(CATEGORIES)].groupby(["family", "category"])["per_file"]
           .median())
    parts = []
    for fam in ("DL", "SC", "MLD"):
        m = med.get(fam)
        if m is None or not len(m):
            continue
        hi, lo = m.idxmax(), m.idxmin()
        parts.append(f"{fam} from {m[lo]:.2f} ({display(lo)}) to {m[hi]:.2f} ({display(hi)})")
    return "Median smells per Dockerfile of a repository range: " + "; ".join(parts) + "."


def _tests(tests: pd.DataFrame, alpha: float = 0.05) -> str:
    t = tests.dropna(subset=["h"])
    parts = [f"{r.family} {r.measure.replace('_', ' ')}: H({int(r.df)}) = {r.h:.2f}, "
             f"p = {r.p_value:.3f} (Holm {r.p_holm:.3f}), epsilon^2 = {r.epsilon_squared:.3f}"
             for r in t.itertuples()]
    sig = t[t["p_holm"] < alpha]
    verdict = ("no density differs between categories at the 5% level after Holm's correction "
               f"for the {len(t)} tests" if sig.empty else
               "at the 5% level (Holm-corrected) only " + ", ".join(
                   f"{r.family} {r.measure.replace('_', ' ')}" for r in sig.itertuples())
               + " differ" + (", with a small effect (epsilon^2 < 0.08)"
                              if (sig["epsilon_squared"] < 0.08).all() else ""))
    return f"Kruskal-Wallis across the six categories ({'; '.join(parts)}): {verdict}."


def smells_sentences(inp: Inputs) -> list[str]:
    """One sentence per result of the smells stage (raises InputTableMissing when absent)."""
    files, dens, tests, top = inp.need("smell_files", "smell_densities", "smell_tests",
                                       "smell_top")
    return [_unparseable(files, inp.categories()), *_top(top), _densities(dens), _tests(tests)]
