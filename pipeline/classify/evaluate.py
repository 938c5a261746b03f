"""``mldock classify evaluate``: repeated k-fold cross-validation of both classifiers
against the study's labels, with baselines, feature-set variants and a nested estimate;
writes ``reports/classification.{md,csv}``."""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

import numpy as np
import pandas as pd

from ..config import CATEGORIES, Paths
from ..errors import TooFewLabels
from ..near_duplicates import load_settings, near_duplicate_pairs
from ..outputs import writes_set
from ..progress import Progress, no_progress, track
from ..tables import atomic_write_text
from .calibrate import CATEGORY_GRID, EMBEDDING_GRID, Candidate, CategoryModel, coverage_accuracy
from .embedding import embedding_frame
from .models import (
    CATEGORY_BLOCKS,
    CATEGORY_VARIANTS,
    CURVE_SHARES,
    PURPOSE_BLOCKS,
    PURPOSE_VARIANTS,
    Blocks,
    category_classifier,
    curve_method,
    fitting,
    purpose_predictions,
)
from .render import render_report
from .run import MIN_LABELLED, Inputs, label_matrix, load_inputs

log = logging.getLogger(__name__)
T = TypeVar("T")
#: the fixed model before calibration and tuning, measured as a variant
PREVIOUS = "previous model: the same blocks, C=1, equal weights, uncalibrated"
#: the calibrated model whose grid also weighs the embedding block (``--embedding``)
EMBEDDED = "model + embedding"
#: the calibrated models: method -> the grid its inner CV chooses from
MODEL_GRIDS: dict[str, tuple[Candidate, ...]] = {"model": CATEGORY_GRID, EMBEDDED: EMBEDDING_GRID}


@dataclass
class CategoryCV:
    method: str
    accuracy: list[float]
    macro_f1: list[float]
    y_true: list[str]  # pooled over all folds and repeats
    y_pred: list[str]
    chosen: list[str] = field(default_factory=list)  # method "nested": the variant per fold
    index: list[str] = field(default_factory=list)  # the repository of each pooled answer
    selective: dict[str, list[float]] = field(default_factory=dict)  # method "model": per fold
    candidates: list[str] = field(default_factory=list)  # method "model": (C, weights) per fold

    def mean(self, name: str) -> float:
        return float(np.mean(getattr(self, name)))

    def sd(self, name: str) -> float:
        return float(np.std(getattr(self, name)))


#: worker processes of the cross-validations; the answers do not depend on it
JOBS = 2


def _in_order(fn: Callable[..., T], tasks: Sequence[tuple[Any, ...]], jobs: int, progress: Progress,
              desc: str) -> list[T]:
    """``fn(*task)`` for every task, in order; in ``jobs`` worker processes when > 1."""
    if jobs <= 1 or len(tasks) <= 1:
        return [fn(*t) for t in track(tasks, progress, desc, len(tasks), "fold")]
    from sklearn.utils.parallel import Parallel, delayed

    results = Parallel(n_jobs=jobs, return_as="generator")(delayed(fn)(*t) for t in tasks)
    return list(track(results, progress, desc, len(tasks), "fold"))


def cv_categories(
    X: pd.DataFrame,
    y: pd.Series,
    rules: pd.Series,
    repeats: int = 3,
    folds: int = 5,
    seed: int = 0,
    methods: Sequence[str] = ("model", "rules", "majority"),
    variants: dict[str, tuple[str, ...]] | None = None,
    nested: dict[str, tuple[str, ...]] | None = None,
    progress: Progress = no_progress,
    jobs: int = JOBS,
) -> dict[str, CategoryCV]:
    """Repeated stratified k-fold CV of the model, the rules alone and the majority class.

    ``rules`` holds the rules-only answer per repository (None when it abstains; the
    training fold's majority class is used then).  Everything fitted is fitted on the
    training fold only.  ``variants`` (name -> feature blocks) are measured on the same
    folds; with ``nested`` (name -> blocks), method ``nested`` picks one of them per outer
    fold by an inner 3-fold CV accuracy on the training fold: an honest estimate of
    "choose the feature set, then fit".
    """
    from sklearn.metrics import accuracy_score, f1_score
    from sklearn.model_selection import RepeatedStratifiedKFold

    variants = variants or {}
    curve = [curve_method(q) for q in CURVE_SHARES] if "model" in methods else []
    out = {m: CategoryCV(m, [], [], [], []) for m in [*methods, *variants, *curve, *(["nested"] if nested else [])]}
    cv = RepeatedStratifiedKFold(n_splits=folds, n_repeats=repeats, random_state=seed)
    splits = list(cv.split(X, y))
    tasks = [(X, y, rules, tr, te, tuple(methods), variants, nested, seed) for tr, te in splits]
    for (_, te), (preds, pick, sels) in zip(splits, _in_order(_category_fold, tasks, jobs, progress,
                                                              "classify: category CV"), strict=True):
        if pick is not None:
            out["nested"].chosen.append(pick)
        for m, sel in sels.items():
            out[m].candidates.append(str(sel.pop("candidate")))
            for k, v in sel.items():
                out[m].selective.setdefault(k, []).append(float(v))
        yte = y.iloc[te]
        for m, pr in preds.items():
            out[m].accuracy.append(float(accuracy_score(yte, pr)))
            out[m].macro_f1.append(float(f1_score(yte, pr, average="macro", zero_division=0)))
            out[m].y_true.extend(yte.tolist())
            out[m].y_pred.extend([str(v) for v in pr])
            out[m].index.extend(yte.index.tolist())
    return out


def selective_scores(model: CategoryModel, Xte: pd.DataFrame, yte: pd.Series) -> tuple[np.ndarray, dict[str, Any]]:
    """The calibrated model's answers on a test fold, and its selective scores there:
    accuracy of the most confident 25/50/75/100 %, the threshold its inner CV chose, the
    share of answers at or above it and their accuracy, mean confidence and log loss."""
    P = model.predict_proba(Xte)
    pred = model.classes_[P.argmax(axis=1)]
    conf = P.max(axis=1)
    ok = pred == yte.to_numpy()
    accepted = conf >= model.threshold_
    idx = np.searchsorted(model.classes_, yte.to_numpy())
    sel: dict[str, Any] = {f"coverage_{int(q * 100)}": a for q, a in coverage_accuracy(conf, ok).items()}
    sel.update({"threshold": model.threshold_, "accepted_share": float(accepted.mean()),
                "accepted_accuracy": float(ok[accepted].mean()) if accepted.any() else float("nan"),
                "mean_confidence": float(conf.mean()),
                "log_loss": float(-np.log(np.clip(P[np.arange(len(idx)), idx], 1e-12, None)).mean()),
                "candidate": model.candidate_})
    return pred, sel


class _CategoryFits:
    """Category-model predictions on one test set, one fit per distinct blocks tuple."""

    def __init__(self, Xtr: pd.DataFrame, ytr: pd.Series, Xte: pd.DataFrame) -> None:
        self.blocks, self.ytr = Blocks(Xtr, Xte), ytr
        self._pred: dict[tuple[str, ...], np.ndarray] = {}

    def predict(self, blocks: Sequence[str]) -> np.ndarray:
        key = tuple(blocks)
        if key not in self._pred:
            Ftr, Fte = self.blocks.matrices(key)
            self._pred[key] = category_classifier().fit(Ftr, self.ytr).predict(Fte)
        return self._pred[key]


def _category_fold(X: pd.DataFrame, y: pd.Series, rules: pd.Series, tr: np.ndarray, te: np.ndarray,
                   methods: tuple[str, ...], variants: dict[str, tuple[str, ...]],
                   nested: dict[str, tuple[str, ...]] | None, seed: int,
                   ) -> tuple[dict[str, np.ndarray], str | None, dict[str, dict[str, Any]]]:
    """Predictions of every method for one outer fold, the nested pick (or None) and the
    calibrated models' selective scores (method -> scores).

    The shipped model, the variants and the nested refit are the same fit when their
    blocks are the same, so each distinct blocks tuple is fitted once."""
    with fitting():
        Xtr, ytr, yte = X.iloc[tr], y.iloc[tr], y.iloc[te]
        fits = _CategoryFits(Xtr, ytr, X.iloc[te])
        preds: dict[str, np.ndarray] = {}
        sels: dict[str, dict[str, Any]] = {}
        for m in (m for m in methods if m in MODEL_GRIDS):
            model = CategoryModel(seed=seed, grid=MODEL_GRIDS[m]).fit(Xtr, ytr)
            preds[m], sels[m] = selective_scores(model, X.iloc[te], yte)
        for name, blocks in variants.items():
            preds[name] = fits.predict(blocks)
        if "model" in methods:
            preds.update(learning_curve(Xtr, ytr, X.iloc[te], seed, fits))
        pick = None
        if nested:
            pick = nested_pick(Xtr, ytr, nested, seed)
            preds["nested"] = fits.predict(nested[pick])
    majority = ytr.value_counts().sort_index().idxmax()
    if "rules" in methods:
        r = rules.loc[yte.index]
        preds["rules"] = np.array([v if isinstance(v, str) and v else majority for v in r])
    if "majority" in methods:
        preds["majority"] = np.array([majority] * len(te))
    return preds, pick, sels


def learning_curve(Xtr: pd.DataFrame, ytr: pd.Series, Xte: pd.DataFrame, seed: int,
                   full: _CategoryFits) -> dict[str, np.ndarray]:
    """The fixed model (C=1, equal weights) trained on a stratified share of the training
    fold, per :data:`CURVE_SHARES`, answering the same test fold: does more data help?
    ``full`` is the fold's fit on the whole training fold (the 100 % point, not refitted)."""
    from sklearn.model_selection import train_test_split

    out: dict[str, np.ndarray] = {}
    for share in CURVE_SHARES:
        if share >= 1.0:
            out[curve_method(share)] = full.predict(CATEGORY_BLOCKS)
            continue
        idx, _ = train_test_split(np.arange(len(ytr)), train_size=share, stratify=ytr,
                                  random_state=seed)
        out[curve_method(share)] = _CategoryFits(Xtr.iloc[idx], ytr.iloc[idx], Xte).predict(CATEGORY_BLOCKS)
    return out


def nested_pick(Xtr: pd.DataFrame, ytr: pd.Series, candidates: dict[str, tuple[str, ...]], seed: int,
                folds: int = 3) -> str:
    """The candidate (name -> blocks) with the best mean accuracy of a stratified inner
    k-fold CV on the training fold (the first of equals): ``cross_val_score`` per
    candidate, with the blocks fitted once per inner fold."""
    from sklearn.metrics import accuracy_score
    from sklearn.model_selection import StratifiedKFold

    scores: dict[str, list[float]] = {k: [] for k in candidates}
    for itr, ite in StratifiedKFold(folds, shuffle=True, random_state=seed).split(Xtr, ytr):
        fits = _CategoryFits(Xtr.iloc[itr], ytr.iloc[itr], Xtr.iloc[ite])
        for k, blocks in candidates.items():
            scores[k].append(float(accuracy_score(ytr.iloc[ite], fits.predict(blocks))))
    mean = {k: float(np.asarray(v).mean()) for k, v in scores.items()}
    return max(mean, key=lambda k: mean[k])


@dataclass
class PurposeCV:
    method: str
    micro_f1: list[float]
    macro_f1: list[float]
    Y_true: list[np.ndarray]
    Y_pred: list[np.ndarray]


def cv_purposes(
    X: pd.DataFrame,
    Y: np.ndarray,
    R: np.ndarray,
    repeats: int = 3,
    folds: int = 5,
    seed: int = 0,
    variants: dict[str, tuple[tuple[str, ...], bool]] | None = None,
    progress: Progress = no_progress,
    jobs: int = JOBS,
) -> dict[str, PurposeCV]:
    """Repeated k-fold CV of the purpose model against the coded labels, with baselines:
    the rules alone (``R``: 1 where a purpose's rules fire) and the labels present in more
    than half of the training fold (at least the most frequent one)."""
    from sklearn.metrics import f1_score
    from sklearn.model_selection import RepeatedKFold

    variants = variants or {}
    out = {m: PurposeCV(m, [], [], [], []) for m in ("model", "rules", "frequent", *variants)}
    candidates = {"model": (PURPOSE_BLOCKS, True), **variants}
    splits = list(RepeatedKFold(n_splits=folds, n_repeats=repeats, random_state=seed).split(X))
    tasks = [(X.iloc[tr], Y[tr], X.iloc[te], candidates, seed) for tr, te in splits]
    for (tr, te), preds in zip(splits, _in_order(_purpose_fold, tasks, jobs, progress, "classify: purpose CV"),
                               strict=True):
        prev = Y[tr].mean(axis=0)
        freq = (prev > 0.5).astype(int)
        if not freq.any():
            freq[int(np.argmax(prev))] = 1
        preds.update({"rules": R[te], "frequent": np.tile(freq, (len(te), 1))})
        for m in out:
            pr = preds[m]
            out[m].micro_f1.append(float(f1_score(Y[te], pr, average="micro", zero_division=0)))
            out[m].macro_f1.append(float(f1_score(Y[te], pr, average="macro", zero_division=0)))
            out[m].Y_true.append(Y[te])
            out[m].Y_pred.append(pr)
    return out


def _purpose_fold(Xtr: pd.DataFrame, Ytr: np.ndarray, Xte: pd.DataFrame,
                  candidates: dict[str, tuple[tuple[str, ...], bool]], seed: int) -> dict[str, np.ndarray]:
    with fitting():
        return purpose_predictions(Xtr, Ytr, Xte, candidates, seed)


@writes_set("evaluate")
def evaluate(p: Paths, repeats: int = 3, folds: int = 5, seed: int = 0, progress: Progress = no_progress,
             variants: bool = True, nested: bool = False, jobs: int = JOBS,
             embedding: str | None = None) -> dict[str, Any]:
    """Cross-validate both tasks and write ``reports/classification.{md,csv}``.

    With ``variants``, the feature-set variants of :data:`~.models.CATEGORY_VARIANTS` and
    :data:`~.models.PURPOSE_VARIANTS` are measured in the same folds and listed in the
    report; with ``nested``, also the nested-CV estimate of choosing among the category
    variants.  ``jobs`` worker processes run the folds (the scores do not depend on it).
    With ``embedding`` (``"wordllama"``), the model whose grid also weighs that embedding
    (:data:`EMBEDDED`) is measured on the same folds, nested like the model.
    """
    t0 = time.monotonic()
    inp = load_inputs(p, progress)
    X, y = inp.X, inp.labels
    if len(y) < MIN_LABELLED or y.nunique() < 2:
        raise TooFewLabels("a manual category", len(y), f"{MIN_LABELLED} in at least 2 categories")
    if len(inp.coded) < MIN_LABELLED:
        raise TooFewLabels("coded purposes", len(inp.coded), str(MIN_LABELLED))
    rules = pd.Series({r: inp.cat_rules[r].category for r in X.index})
    methods: tuple[str, ...] = ("model", "rules", "majority")
    if embedding:
        X = X.join(embedding_frame([inp.evidence[r] for r in X.index], embedding))
        methods += (EMBEDDED,)
    cvar = ({PREVIOUS: CATEGORY_BLOCKS} | {k: v for k, v in CATEGORY_VARIANTS.items() if k != "model"}
            if variants else {})
    pvar = {k: v for k, v in PURPOSE_VARIANTS.items() if k != "model"} if variants else {}
    cat = cv_categories(X.loc[y.index], y, rules, repeats, folds, seed, methods, variants=cvar,
                        nested=dict(CATEGORY_VARIANTS) if nested else None, progress=progress,
                        jobs=jobs)
    coded_repos = [r for r in X.index if r in inp.coded]
    Y, R = _purpose_matrices(inp, coded_repos)
    pur = cv_purposes(X.loc[coded_repos], Y, R, repeats, folds, seed, variants=pvar, progress=progress,
                      jobs=jobs)
    pairs = near_duplicate_pairs(inp.repos, load_settings(p))
    table = pd.DataFrame(category_scores(cat, inp.label_source()) + purpose_scores(pur, inp.tax.majors)
                         + consistency_scores(pairs))
    info = {
        "labelled": len(y), "unlabelled": int(len(X) - len(y)), "coded": len(coded_repos),
        "repeats": repeats, "folds": folds, "seed": seed,
        "class_counts": y.value_counts().reindex(list(CATEGORIES)).fillna(0).astype(int).to_dict(),
        "purpose_counts": dict(zip(inp.tax.majors, Y.sum(axis=0).tolist(), strict=True)),
        "seconds": round(time.monotonic() - t0, 1),
        "category_variants": list(cvar), "purpose_variants": list(pvar),
        "nested_chosen": dict(Counter(cat["nested"].chosen)) if nested else {},
        "model_candidates": dict(Counter(cat["model"].candidates)),
        "embedding": embedding or "",
        "embedded_candidates": dict(Counter(cat[EMBEDDED].candidates)) if embedding else {},
        "reviewed": int((inp.label_source() == "reviewed").sum()),
    }
    p.reports.mkdir(parents=True, exist_ok=True)
    atomic_write_text(p.reports / "classification.csv", table.to_csv(index=False))
    atomic_write_text(p.reports / "classification.md", render_report(table, info, inp.tax))
    summary = _summary(cat, pur, info["seconds"])
    log.info("evaluate: %s", summary)
    return summary


def _purpose_matrices(inp: Inputs, coded_repos: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """(coded labels, rule hits) of ``coded_repos`` over the major purposes."""
    majors = inp.tax.majors
    Y = label_matrix(coded_repos, inp.coded, majors)
    R = np.array([[1 if m in inp.purpose_hits[r] else 0 for m in majors] for r in coded_repos], dtype=int)
    return Y, R


def _row(task: str, method: str, metric: str, value: float, label: str = "", predicted: str = "") -> dict[str, Any]:
    return {"task": task, "method": method, "metric": metric, "label": label,
            "predicted": predicted, "value": round(float(value), 4)}


def category_scores(cat: dict[str, CategoryCV], source: pd.Series | None = None) -> list[dict[str, Any]]:
    """Rows of the scores table for the category task: means, SDs, the model's selective
    scores, pooled accuracy per label source (study / reviewed), per class, confusion."""
    from sklearn.metrics import confusion_matrix, f1_score, precision_recall_fscore_support

    classes = list(CATEGORIES)
    rows: list[dict[str, Any]] = []
    for m, r in cat.items():
        for metric, v in (("accuracy", r.accuracy), ("macro_f1", r.macro_f1), *r.selective.items()):
            rows += _spread(m, metric, v)
        if source is not None and r.index:
            ok = pd.Series(np.array(r.y_true) == np.array(r.y_pred), index=r.index)
            src = source.reindex(r.index).to_numpy()
            for s_ in ("study", "reviewed"):
                if (src == s_).any():
                    rows.append(_row("category", m, "accuracy_pooled", float(ok[src == s_].mean()), s_))
                    rows.append(_row("category", m, "macro_f1_pooled", float(f1_score(
                        np.array(r.y_true)[src == s_], np.array(r.y_pred)[src == s_], average="macro",
                        zero_division=0)), s_))
                    rows.append(_row("category", m, "labels_pooled", int((src == s_).sum()), s_))
        prec, rec, f1, sup = precision_recall_fscore_support(r.y_true, r.y_pred, labels=classes, zero_division=0)
        for c, pr_, rc_, f_, s_ in zip(classes, prec, rec, f1, sup, strict=True):
            rows += [_row("category", m, "precision", pr_, c), _row("category", m, "recall", rc_, c),
                     _row("category", m, "f1", f_, c), _row("category", m, "support_pooled", s_, c)]
        cm = confusion_matrix(r.y_true, r.y_pred, labels=classes)
        for i, c in enumerate(classes):
            for j, d in enumerate(classes):
                rows.append(_row("category", m, "confusion_pooled", cm[i, j], c, d))
    return rows


def _spread(method: str, metric: str, values: Sequence[float]) -> list[dict[str, Any]]:
    """Mean, SD and the 2.5-97.5 % percentile range of a metric over the outer folds."""
    v = np.asarray(values, dtype=float)
    return [_row("category", method, f"{metric}_{k}", f(v)) for k, f in (
        ("mean", np.nanmean), ("sd", np.nanstd), ("lo", lambda a: np.nanpercentile(a, 2.5)),
        ("hi", lambda a: np.nanpercentile(a, 97.5)))]


def consistency_scores(pairs: pd.DataFrame) -> list[dict[str, Any]]:
    """The label-consistency evidence: near-duplicate pairs of studied repositories
    (:func:`~pipeline.near_duplicates.near_duplicate_pairs`), how many carry the same label."""
    n, same = len(pairs), int(pairs["same"].sum()) if len(pairs) else 0
    rows = [_row("consistency", "near_duplicates", "pairs", n), _row("consistency", "near_duplicates", "same", same),
            _row("consistency", "near_duplicates", "same_share", same / n if n else float("nan"))]
    for a, b, s_ in zip(pairs["repo_a"], pairs["repo_b"], pairs["same"], strict=True):
        if not s_:
            rows.append(_row("consistency", "near_duplicates", "disagreeing_pair", 1, str(a), str(b)))
    return rows


def purpose_scores(pur: dict[str, PurposeCV], majors: Sequence[str]) -> list[dict[str, Any]]:
    """Rows of the scores table for the purpose task: means, SDs and per purpose."""
    from sklearn.metrics import precision_recall_fscore_support

    rows: list[dict[str, Any]] = []
    for m, pr in pur.items():
        for metric in ("micro_f1", "macro_f1"):
            values = getattr(pr, metric)
            rows.append(_row("purpose", m, f"{metric}_mean", float(np.mean(values))))
            rows.append(_row("purpose", m, f"{metric}_sd", float(np.std(values))))
        yt, yp = np.vstack(pr.Y_true), np.vstack(pr.Y_pred)
        prec, rec, f1, sup = precision_recall_fscore_support(yt, yp, zero_division=0)
        for k, pid in enumerate(majors):
            rows += [_row("purpose", m, "precision", prec[k], pid), _row("purpose", m, "recall", rec[k], pid),
                     _row("purpose", m, "f1", f1[k], pid), _row("purpose", m, "support_pooled", sup[k], pid)]
    return rows


def _summary(cat: dict[str, CategoryCV], pur: dict[str, PurposeCV], seconds: float) -> dict[str, Any]:
    return {
        "category_accuracy": round(cat["model"].mean("accuracy"), 4),
        "category_macro_f1": round(cat["model"].mean("macro_f1"), 4),
        "rules_accuracy": round(cat["rules"].mean("accuracy"), 4),
        "majority_accuracy": round(cat["majority"].mean("accuracy"), 4),
        "purpose_micro_f1": round(float(np.mean(pur["model"].micro_f1)), 4),
        "purpose_macro_f1": round(float(np.mean(pur["model"].macro_f1)), 4),
        "seconds": seconds,
    }
