"""The category model: block weights and C chosen by an inner CV, temperature-calibrated
probabilities, and the confidence threshold above which its answers are accepted.

:class:`CategoryModel` does, on the training data it is given and nothing else:

1. a stratified k-fold CV (:data:`INNER_FOLDS`) of every candidate of :data:`CATEGORY_GRID`
   (C and a weight per feature block; each block is fitted once per inner fold and only
   scaled per candidate), keeping every candidate's out-of-fold logits;
2. picks the candidate with the best out-of-fold accuracy (first of equals);
3. fits one temperature ``T`` to that candidate's out-of-fold logits (minimum log loss),
   so ``softmax(logits / T)`` is a calibrated probability (temperature scaling; the
   classifier is then refitted on all the data, as ``CalibratedClassifierCV`` does with
   ``ensemble=False``);
4. the review threshold: the lowest calibrated out-of-fold confidence at which the answers
   at or above it reach :data:`TARGET_ACCURACY` (:func:`review_threshold`).

``classify evaluate`` runs all of it inside every outer training fold (nested), so the
scores it reports include the choice, the calibration and the threshold.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from .models import Blocks, _logreg

#: the blocks the category model reads (name, description, homepage, topics, README; the
#: category rules' votes; the study's notes; optionally a pretrained embedding of the
#: name, description and topics, :mod:`.embedding`)
WEIGHTED_BLOCKS = ("meta_word", "meta_char", "rules_category", "notes_word", "notes_tok", "embed")
#: a candidate: (C, weight of the two repository-text blocks, of the rule votes, of the two
#: notes blocks, of the embedding block); weight 0 leaves a block out
Candidate = tuple[float, float, float, float, float]
#: candidates without the embedding (a text weight of 2 was tried in the grid too: nested CV
#: scored it lower, docs/classify.md)
CATEGORY_GRID: tuple[Candidate, ...] = tuple(
    (c, 1.0, r, n, 0.0) for c in (1.0, 3.0) for r in (0.5, 1.0) for n in (0.5, 1.0))
#: the embedding's weights tried (0: without it) when the embedding block exists
EMBEDDING_WEIGHTS = (0.0, 2.0)
EMBEDDING_GRID: tuple[Candidate, ...] = tuple(
    (c, m, r, n, e) for c, m, r, n, _ in CATEGORY_GRID for e in EMBEDDING_WEIGHTS)
INNER_FOLDS = 5
TARGET_ACCURACY = 0.90
MIN_ACCEPTED = 10  # a threshold must accept at least this many out-of-fold answers
COVERAGES = (0.25, 0.5, 0.75, 1.0)


def weights_of(candidate: Candidate) -> dict[str, float]:
    """Block -> weight of a candidate (blocks of weight 0 left out)."""
    _, m, r, n, e = candidate
    w = {"meta_word": m, "meta_char": m, "rules_category": r, "notes_word": n, "notes_tok": n, "embed": e}
    return {b: v for b, v in w.items() if v}


def weighted(blocks: Blocks, weights: dict[str, float], X: pd.DataFrame | None = None) -> tuple[object, object]:
    """(training, test) matrices of the weighted blocks, sparse; with ``X``, the test
    matrix is of those new rows (after the blocks were fitted)."""
    from scipy import sparse

    names = [b for b in weights if b in blocks._used(list(weights))]
    tr, te = [], []
    for b in names:
        _, Ftr, Fte = blocks._block(b)
        if X is not None:
            Fte = blocks._block(b)[0].transform(X[blocks._specs[b][1]])
        tr.append(sparse.csr_matrix(Ftr) * weights[b])
        te.append(None if Fte is None else sparse.csr_matrix(Fte) * weights[b])
    test = None if any(t is None for t in te) else sparse.hstack(te).tocsr()
    return sparse.hstack(tr).tocsr(), test


def softmax(Z: np.ndarray, T: float = 1.0) -> np.ndarray:
    Z = np.asarray(Z, dtype=float) / T
    Z = Z - Z.max(axis=1, keepdims=True)
    E = np.exp(Z)
    return np.asarray(E / E.sum(axis=1, keepdims=True))


def fit_temperature(Z: np.ndarray, y_idx: np.ndarray) -> float:
    """The temperature minimising the log loss of ``softmax(Z / T)`` (T in [0.05, 20])."""
    from scipy.optimize import minimize_scalar

    rows = np.arange(len(y_idx))

    def nll(logt: float) -> float:
        P = softmax(Z, float(np.exp(logt)))
        return float(-np.log(np.clip(P[rows, y_idx], 1e-12, None)).mean())

    res = minimize_scalar(nll, bounds=(np.log(0.05), np.log(20.0)), method="bounded",
                          options={"xatol": 1e-6})
    return round(float(np.exp(res.x)), 6)


def review_threshold(confidence: Sequence[float], correct: Sequence[bool], target: float = TARGET_ACCURACY,
                     min_accepted: int = MIN_ACCEPTED) -> float:
    """The lowest confidence ``t`` such that the answers with confidence >= ``t`` are
    correct at least ``target`` of the time (and at least ``min_accepted`` of them); 1.0
    (everything reviewed) when no such ``t`` exists.

    >>> review_threshold([0.9, 0.8, 0.7, 0.6], [True, True, False, True], 0.75, 1)
    0.6
    >>> review_threshold([0.9, 0.8], [False, True], 0.9, 1)
    1.0
    """
    c = np.asarray(confidence, dtype=float)
    ok = np.asarray(correct, dtype=bool)
    order = np.argsort(-c, kind="stable")
    acc = np.cumsum(ok[order]) / np.arange(1, len(c) + 1)
    best = 1.0
    for k in range(len(c)):
        last_of_ties = k + 1 == len(c) or c[order[k + 1]] < c[order[k]]
        if last_of_ties and k + 1 >= min_accepted and acc[k] >= target:
            best = float(c[order[k]])
    return best


def coverage_accuracy(confidence: Sequence[float], correct: Sequence[bool],
                      coverages: Sequence[float] = COVERAGES) -> dict[float, float]:
    """Accuracy of the most confident ``q`` share of the answers, per ``q``.

    >>> coverage_accuracy([0.9, 0.8, 0.7, 0.6], [True, False, True, False], (0.5, 1.0))
    {0.5: 0.5, 1.0: 0.5}
    """
    c = np.asarray(confidence, dtype=float)
    ok = np.asarray(correct, dtype=bool)[np.argsort(-c, kind="stable")]
    return {q: float(ok[:max(1, int(round(q * len(c))))].mean()) for q in coverages}


@dataclass
class CategoryModel:
    """See the module docstring; ``fit`` then ``predict_proba``."""

    seed: int = 0
    folds: int = INNER_FOLDS
    grid: tuple[Candidate, ...] = CATEGORY_GRID

    def fit(self, X: pd.DataFrame, y: pd.Series) -> CategoryModel:
        from sklearn.model_selection import StratifiedKFold

        self.classes_ = np.array(sorted(set(y)))
        y_idx = np.searchsorted(self.classes_, y.to_numpy())
        folds = max(2, min(self.folds, int(y.value_counts().min())))
        Z = {g: np.zeros((len(y), len(self.classes_))) for g in self.grid}
        for tr, te in StratifiedKFold(folds, shuffle=True, random_state=self.seed).split(X, y):
            blocks = Blocks(X.iloc[tr], X.iloc[te])
            for g in self.grid:
                Ftr, Fte = weighted(blocks, weights_of(g))
                clf = _logreg(g[0], "newton-cg").fit(Ftr, y.iloc[tr])
                Z[g][np.ix_(te, np.searchsorted(self.classes_, clf.classes_))] = clf.decision_function(Fte)
        acc = {g: float((Z[g].argmax(axis=1) == y_idx).mean()) for g in self.grid}
        self.candidate_ = max(self.grid, key=lambda g: acc[g])
        self.inner_accuracy_ = acc[self.candidate_]
        self.temperature_ = fit_temperature(Z[self.candidate_], y_idx)
        self.oof_proba_ = softmax(Z[self.candidate_], self.temperature_)
        conf = self.oof_proba_.max(axis=1)
        self.threshold_ = review_threshold(conf, self.oof_proba_.argmax(axis=1) == y_idx)
        self.blocks_ = Blocks(X)
        Ftr, _ = weighted(self.blocks_, weights_of(self.candidate_))
        self.clf_ = _logreg(self.candidate_[0], "newton-cg").fit(Ftr, y)
        return self

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        _, F = weighted(self.blocks_, weights_of(self.candidate_), X)
        Z = np.zeros((len(X), len(self.classes_)))
        Z[:, np.searchsorted(self.classes_, self.clf_.classes_)] = self.clf_.decision_function(F)
        return softmax(Z, self.temperature_)
