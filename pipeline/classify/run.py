"""The stage: read the inputs, run both classifiers, write ``projects`` and ``purposes``."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from ..config import CATEGORIES, Paths
from ..errors import StageInputMissing
from ..outputs import writes_set
from ..progress import Progress, no_progress
from ..tables import ErrorLog, read_table, write_table
from .calibrate import CategoryModel
from .coding import code_purposes, split_tokens, uncoded_tokens
from .evidence import Evidence, build_evidence, read_parse_tables
from .features import feature_frame
from .labels import Reviewed, read_reviewed
from .models import PurposeModel, fitting
from .rules import RuleDecision, category_by_rules, purposes_by_rules
from .taxonomy import Taxonomy, load_taxonomy

log = logging.getLogger(__name__)

MIN_LABELLED = 10  # fewer labelled (or coded) repositories than this: rules only
PURPOSE_COLUMNS = ("repo", "purpose", "name", "level", "parent", "source", "confidence", "evidence")


@dataclass
class Inputs:
    tax: Taxonomy
    repos: pd.DataFrame
    evidence: dict[str, Evidence]
    X: pd.DataFrame  # features, index repo, in repos order
    labels: pd.Series  # training category (index repo): reviewed where reviewed, else the study's
    coded: dict[str, dict[str, list[str]]]  # repo -> purpose id -> tokens (coded repos only)
    errors: ErrorLog
    cat_rules: dict[str, RuleDecision]  # repo -> rules-only category decision
    purpose_hits: dict[str, dict[str, list[str]]]  # repo -> purpose id -> rule hits
    reviewed: Reviewed  # data/labels/*.csv, resolved by majority

    def label_source(self) -> pd.Series:
        """'reviewed' or 'study' per repository of :attr:`labels`."""
        return pd.Series(["reviewed" if r in self.reviewed.category else "study" for r in self.labels.index],
                         index=self.labels.index, dtype=object)


def load_inputs(p: Paths, progress: Progress = no_progress) -> Inputs:
    """Taxonomy, evidence, rule decisions, features, labels and coded purposes."""
    tax = load_taxonomy(p.taxonomy)
    repos = read_table("repos", p)
    errors = ErrorLog("classify")
    try:
        pt = read_table("purpose_text", p)
    except StageInputMissing as exc:  # optional input, reported
        log.warning("no purpose_text table (%s): purposes are predicted by rules only", exc)
        pt = pd.DataFrame(columns=["repo"])
    evidence = build_evidence(repos, read_table("files", p), read_parse_tables(p), errors, progress, pt)
    order = [str(r) for r in repos["repo"]]
    cat_rules = {r: category_by_rules(evidence[r], tax.categories) for r in order}
    purpose_hits = {r: purposes_by_rules(evidence[r], tax.purposes) for r in order}
    X = feature_frame([evidence[r] for r in order], tax, cat_rules, purpose_hits)
    reviewed = read_reviewed(p, set(order), errors)
    study = _labels(repos, errors)
    labels = pd.concat([study[~study.index.isin(list(reviewed.category))],
                        pd.Series(reviewed.category, dtype=object)]).reindex(
        [r for r in order if r in study.index or r in reviewed.category]).rename("category")
    return Inputs(tax, repos, evidence, X, labels, _coded(pt, tax, errors), errors,
                  cat_rules, purpose_hits, reviewed)


def _labels(repos: pd.DataFrame, errors: ErrorLog) -> pd.Series:
    """The study's category of each manually labelled repository (unknown ones reported)."""
    lab = repos[(repos["label_source"] == "manual") & repos["category"].notna()]
    bad = lab[~lab["category"].isin(CATEGORIES)]
    for r in bad.itertuples(index=False):
        errors.add(str(r.repo), "UnknownCategory", f"repos.csv: category {r.category!r} is not one of the six; not used for training")
    lab = lab[lab["category"].isin(CATEGORIES)]
    return pd.Series(lab["category"].astype(str).to_numpy(), index=lab["repo"].astype(str), name="category")


def _coded(pt: pd.DataFrame, tax: Taxonomy, errors: ErrorLog) -> dict[str, dict[str, list[str]]]:
    """Repo -> purpose id -> the study's tokens, for repositories with coded text."""
    for col, tok in uncoded_tokens(pt, tax):
        errors.add(f"purpose_text.{col}", "UncodedToken",
                   f'taxonomy/purpose_coding.yaml does not code the token "{tok}"; treated as no purpose')
    coded: dict[str, dict[str, list[str]]] = {}
    for row in pt.to_dict("records"):
        if any(split_tokens(row.get(col)) for col in tax.coded_columns):
            coded[str(row["repo"])] = code_purposes(row, tax)
    return coded


def label_matrix(repos: Sequence[str], coded: dict[str, dict[str, list[str]]], majors: Sequence[str]) -> np.ndarray:
    return np.array([[1 if m in coded.get(r, {}) else 0 for m in majors] for r in repos], dtype=int)


@writes_set("classify")
def run(p: Paths, progress: Progress = no_progress, seed: int = 0) -> dict[str, Any]:
    """Run both classifiers and write ``projects`` and ``purposes``; returns counts."""
    t0 = time.monotonic()
    inp = load_inputs(p, progress)
    y = inp.labels
    coded_repos = [r for r in inp.X.index if r in inp.coded]
    train_categories = len(y) >= MIN_LABELLED and y.nunique() >= 2
    train_purposes = len(coded_repos) >= MIN_LABELLED
    if not train_categories:
        log.warning("only %d labelled repositories: categories come from the keyword rules", len(y))
    if not train_purposes:
        log.warning("only %d repositories with coded purposes: purposes come from the keyword rules",
                    len(coded_repos))
    with fitting():
        proba, review_at = category_proba(inp.X, y, seed) if train_categories else (None, None)
        pproba, threshold = purpose_proba(inp, coded_repos, seed) if train_purposes else (None, None)
    projects = project_rows(inp, proba, review_at)
    purposes = purpose_rows(inp, pproba, threshold)
    extra = {"labelled": int(len(y)), "coded": len(coded_repos), "seed": seed,
             "purpose_threshold": threshold, "review_threshold": review_at,
             "reviewed": len(inp.reviewed.category), "label_ties": len(inp.reviewed.ties)}
    write_table(projects, "projects", p, extra_meta=extra)
    write_table(purposes, "purposes", p, extra_meta=extra)
    inp.errors.write(p)
    n_pred = int((projects["category_source"] == "predicted").sum())
    counts = {
        "repos": len(projects), "manual": int(len(y)), "predicted": n_pred,
        "reviewed": len(inp.reviewed.category), "needs_review": int(projects["needs_review"].sum()),
        "review_threshold": review_at,
        "coded": len(coded_repos), "purpose_rows": len(purposes),
        "errors": len(inp.errors), "seconds": round(time.monotonic() - t0, 1),
    }
    log.info("classify: %s", counts)
    return counts


def category_proba(X: pd.DataFrame, y: pd.Series, seed: int) -> tuple[pd.DataFrame, float]:
    """Calibrated category probabilities (:class:`~.calibrate.CategoryModel`): out-of-fold
    for labelled repositories (the model's own inner CV), from the model refitted on all
    of them for the rest; and the review threshold chosen on those out-of-fold answers."""
    model = CategoryModel(seed=seed).fit(X.loc[y.index], y)
    proba = pd.DataFrame(model.predict_proba(X), index=X.index, columns=list(model.classes_))
    proba.loc[y.index] = model.oof_proba_
    return proba, round(model.threshold_, 4)


def purpose_proba(inp: Inputs, coded_repos: Sequence[str], seed: int) -> tuple[pd.DataFrame, float]:
    """Purpose probabilities of every repository and the threshold the model chose."""
    majors = inp.tax.majors
    Y = label_matrix(coded_repos, inp.coded, majors)
    pmodel = PurposeModel(seed=seed).fit(inp.X.loc[list(coded_repos)], Y)
    return pd.DataFrame(pmodel.predict_proba(inp.X), index=inp.X.index, columns=majors), pmodel.threshold_


def top2(row: pd.Series) -> str:
    """The two most likely categories with their probabilities, as JSON.

    >>> top2(pd.Series({"Model": 0.1, "Toolkit": 0.6, "DL Framework": 0.3}))
    '[["Toolkit", 0.6], ["DL Framework", 0.3]]'
    """
    best = row.astype(float).sort_values(ascending=False, kind="stable").head(2)
    return json.dumps([[str(k), round(float(v), 4)] for k, v in best.items()])


def project_rows(inp: Inputs, proba: pd.DataFrame | None, review_at: float | None = None) -> pd.DataFrame:
    """``projects``: the reviewed label where raters gave one, else the study's manual
    label, else the prediction; predictions below ``review_at`` need review."""
    y, rev = inp.labels, inp.reviewed
    repos = inp.repos.set_index("repo")
    rows = []
    for repo in inp.X.index:
        dec = inp.cat_rules[repo]
        manual = repo in y.index
        if proba is not None:
            pred: str | None = str(proba.loc[repo].idxmax())
            conf: float | None = round(float(proba.loc[repo].max()), 4)
            kind = "out-of-fold" if manual else "trained on all labelled"
            two: str | None = top2(proba.loc[repo])
        else:
            pred, conf, kind, two = dec.category, None, "keyword rules (too few labels to train)", None
        review = not manual and (conf is None or review_at is None or conf < review_at)
        rows.append({
            "repo": repo,
            "category": y[repo] if manual else pred,
            "category_source": ("reviewed" if repo in rev.category else "manual") if manual else "predicted",
            "raw_label": repos.at[repo, "raw_label"],
            "predicted_category": pred,
            "confidence": conf,
            "prediction_kind": kind,
            "rules_category": dec.category,
            "rules_fired": dec.fired,
            "in_final_dataset": repos.at[repo, "in_final_dataset"],
            "needs_review": review,
            "top2": two,
            "reviewed_by": rev.raters.get(repo),
        })
    return pd.DataFrame(rows)


def purpose_rows(inp: Inputs, pproba: pd.DataFrame | None, threshold: float | None) -> pd.DataFrame:
    """``purposes``: coded where the study coded them, else predicted (or by the rules),
    plus the subcategories whose rules fire under a chosen major purpose."""
    tax, majors = inp.tax, inp.tax.majors
    rows = []
    for repo in inp.X.index:
        hits = inp.purpose_hits[repo]
        if repo in inp.coded:
            for pid, toks in inp.coded[repo].items():
                rows.append(_purpose_row(tax, repo, pid, "coded", 1.0, "; ".join(toks)))
            continue
        if pproba is not None and threshold is not None:
            chosen = [m for m in majors if pproba.at[repo, m] >= threshold]
            for m in chosen:
                ev_txt = "; ".join(hits.get(m, [])) or "model (no rule fired)"
                rows.append(_purpose_row(tax, repo, m, "predicted", float(pproba.at[repo, m]), ev_txt))
        else:
            chosen = [m for m in majors if m in hits]
            for m in chosen:
                rows.append(_purpose_row(tax, repo, m, "rules", None, "; ".join(hits[m])))
        for sub in tax.purposes:
            if sub.parent in chosen and sub.id in hits:
                rows.append(_purpose_row(tax, repo, sub.id, "rules", None, "; ".join(hits[sub.id])))
    return pd.DataFrame(rows, columns=list(PURPOSE_COLUMNS))


def _purpose_row(tax: Taxonomy, repo: str, pid: str, source: str, conf: float | None, evidence: str) -> dict[str, Any]:
    e = tax.purpose(pid)
    return {
        "repo": repo, "purpose": pid, "name": e.name, "level": "sub" if e.parent else "major",
        "parent": e.parent, "source": source,
        "confidence": None if conf is None else round(conf, 4), "evidence": evidence,
    }
