"""Orchestration stage: per repository and per category, who shows GPU and orchestration signals.

``mldock orchestration`` reads parse's ``orchestration_signals`` (rules in
``taxonomy/orchestration.yaml``), the studied repositories and their categories, and writes
``orchestration_repos`` (one row per repository: its flags), ``orchestration_shares`` (per
category and signal: the share of repositories) and ``reports/figures/orchestration_by_category``.

The replication package holds only files named like Docker files, so on it the Kubernetes,
Helm and kustomize signals are seen only where such a file happens to be named so; the figure
says which source its data came from.  On collected data (``mldock collect``, which lists the
taxonomy's names too) every signal is measured.
"""

from __future__ import annotations

import json
import logging

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from .config import Paths
from .outputs import writes_set
from .progress import Progress, no_progress
from .schemas import TABLES
from .tables import UNLABELLED, read_table, repo_categories, save_figure, source_info, write_table
from .taxonomy import load_categories, load_orchestration

log = logging.getLogger(__name__)

STAGE = "orchestration"
FIGURE = "orchestration_by_category"
ALL = "All"
ANY = {"gpu": "any_gpu", "orchestration": "any_orchestration"}


def repos_frame(repos: pd.DataFrame, signals: pd.DataFrame) -> pd.DataFrame:
    """``orchestration_repos``: every studied repository with its signals (none: empty list)."""
    by_repo = signals.groupby("repo")
    sig = by_repo["signal"].agg(lambda s: json.dumps(sorted(set(s)))).to_dict()
    groups = by_repo["group"].agg(set).to_dict()
    cuda = signals[signals["cuda_version"].fillna("") != ""].groupby("repo")["cuda_version"] \
        .agg(lambda s: json.dumps(sorted(set(s), key=_version_key))).to_dict()
    out = repos[["repo", "category"]].copy()
    out["gpu"] = [("gpu" in groups.get(r, set())) for r in out["repo"]]
    out["orchestration"] = [("orchestration" in groups.get(r, set())) for r in out["repo"]]
    out["signals"] = [sig.get(r, "[]") for r in out["repo"]]
    out["cuda_versions"] = [cuda.get(r, "[]") for r in out["repo"]]
    return out[TABLES["orchestration_repos"].column_names].sort_values("repo").reset_index(drop=True)


def _version_key(v: str) -> tuple[int, ...]:
    return tuple(int(x) for x in v.split(".") if x.isdigit())


def shares_frame(flags: pd.DataFrame, signal_ids: tuple[str, ...], groups: dict[str, str]) -> pd.DataFrame:
    """``orchestration_shares``: per category (and ``All``) and signal (and ``any_gpu``,
    ``any_orchestration``): repositories, those with the signal, the share."""
    present = {r: set(json.loads(s)) for r, s in zip(flags["repo"], flags["signals"], strict=True)}
    cats = load_categories().ordered(set(flags["category"]) - {UNLABELLED})
    cats += [UNLABELLED] if UNLABELLED in set(flags["category"]) else []
    rows = []
    for cat in [*cats, ALL]:
        sub = flags if cat == ALL else flags[flags["category"] == cat]
        n = len(sub)
        for sid in (*signal_ids, *ANY.values()):
            if sid in ANY.values():
                group = next(g for g, a in ANY.items() if a == sid)
                k = int(sub[group].sum())
            else:
                group = groups[sid]
                k = sum(sid in present[r] for r in sub["repo"])
            rows.append({"category": cat, "signal": sid, "group": group, "n_repos": n,
                         "n_with": k, "share": k / n if n else 0.0})
    return pd.DataFrame(rows, columns=TABLES["orchestration_shares"].column_names)


def fig_shares(shares: pd.DataFrame, source: str) -> Figure:
    """Per category, the share of repositories with each GPU signal (and any of them)."""
    gpu = shares[(shares["group"] == "gpu") & (shares["category"] != ALL)]
    cats = list(dict.fromkeys(gpu["category"]))
    sigs = list(dict.fromkeys(gpu["signal"]))
    fig = Figure(figsize=(8.5, 0.5 * len(cats) * len(sigs) / 3 + 2.5))
    ax = fig.add_subplot()
    height = 0.8 / max(1, len(sigs))
    y = np.arange(len(cats))[::-1]
    colours = ["#4C72B0", "#DD8452", "#55A868", "#C44E52", "#8172B3", "#937860", "#333333"]
    for k, sid in enumerate(sigs):
        vals = [float(gpu[(gpu["category"] == c) & (gpu["signal"] == sid)]["share"].iloc[0]) * 100
                for c in cats]
        ax.barh(y + (len(sigs) / 2 - k - 0.5) * height, vals, height=height,
                color=colours[k % len(colours)], label=sid)
    n = {c: int(gpu[gpu["category"] == c]["n_repos"].iloc[0]) for c in cats}
    ax.set_yticks(y, [f"{c} ({n[c]})" for c in cats], fontsize=8)
    ax.set_xlabel("Repositories with the signal (%)")
    ax.set_xlim(0, 100)
    ax.legend(fontsize=7, loc="lower right")
    ax.set_title("GPU signals per project category", fontsize=10)
    note = ("Data: the replication package, which holds only files named like Docker files: "
            "Kubernetes, Helm and kustomize files are not in it, and a compose or script GPU "
            "signal is seen only in those files." if source == "package" else
            "Data: files collected from GitHub (Docker files and the orchestration taxonomy's names).")
    fig.text(0.01, -0.02, note, fontsize=7, wrap=True, ha="left", va="top")
    fig.tight_layout()
    return fig



@writes_set("orchestration")
def run(p: Paths, progress: Progress = no_progress) -> dict[str, int]:
    """Run the stage; returns row counts."""
    rules = load_orchestration(p.taxonomy)
    signals = read_table("orchestration_signals", p)
    repos = read_table("repos", p)
    projects = read_table("projects", p) if p.table("processed", "projects").exists() else None
    flags = repos_frame(repo_categories(repos, projects), signals)
    groups = {sid: rules.group(sid) for sid in rules.signal_ids}
    shares = shares_frame(flags, rules.signal_ids, groups)
    source = "collect" if source_info(p).get("kind") == "github" else "package"
    save_figure(fig_shares(shares, source), FIGURE, p.reports / "figures")
    write_table(flags, "orchestration_repos", p, extra_meta={"signals_from": source})
    write_table(shares, "orchestration_shares", p, extra_meta={"signals_from": source})
    counts = {"repos": len(flags), "gpu": int(flags["gpu"].sum()),
              "orchestration": int(flags["orchestration"].sum()), "shares": len(shares)}
    log.info("orchestration: %s", ", ".join(f"{k}={v}" for k, v in counts.items()))
    return counts
