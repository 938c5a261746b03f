"""The models: feature blocks -> scikit-learn pipelines for categories and purposes.

:func:`make_pipeline` is the model as one sklearn ``Pipeline``.  Cross-validation fits
many models on the same training set that differ only in their blocks or their C;
:class:`Blocks` fits each block once per training set and stacks exactly the matrix the
pipeline's ``ColumnTransformer`` would build, so they share the fitting without changing
a number.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

#: ColumnTransformer's default: stack sparse when the blocks' density is below this
SPARSE_THRESHOLD = 0.3


def block_specs(X: pd.DataFrame) -> dict[str, tuple[Any, Any]]:
    """Block name -> (unfitted transformer, the column or columns of ``X`` it reads).

    Blocks: ``meta_word`` (word 1-2-gram TF-IDF of name, description, homepage, topics,
    language, README), ``meta_char`` (character 2-5-gram TF-IDF of the same text),
    ``docker`` (TF-IDF of paths, instructions, base images, commands, compose services),
    ``rules_category`` (the category rules' vote counts), ``rules_purpose`` (which purpose
    rules fire), ``numeric`` (log metadata: commits, stars, ...), ``notes_word`` /
    ``notes_tok`` (word 1-2-gram TF-IDF and whole comma-separated tokens of the study's
    free-text notes, :data:`~.evidence.NOTE_COLUMNS`) and ``pnotes_word`` / ``pnotes_tok``
    (the same over :data:`~.features.PURPOSE_NOTE_COLUMNS` only, for the purpose model),
    ``embed`` (the ``emb_`` columns of :func:`~.embedding.embedding_frame`, as they are).
    """
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.preprocessing import FunctionTransformer, StandardScaler

    def cols(prefix: str) -> list[str]:
        return [c for c in X.columns if c.startswith(prefix)]

    return {
        "meta_word": (TfidfVectorizer(ngram_range=(1, 2), min_df=2, sublinear_tf=True), "meta_text"),
        "meta_char": (TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), min_df=2,
                                      sublinear_tf=True), "meta_text"),
        "docker": (TfidfVectorizer(min_df=2, max_features=20_000, sublinear_tf=True), "docker_text"),
        "notes_word": (TfidfVectorizer(ngram_range=(1, 2), min_df=2, sublinear_tf=True), "notes_text"),
        "notes_tok": (TfidfVectorizer(token_pattern=r"\S+", min_df=2), "notes_tok"),
        "pnotes_word": (TfidfVectorizer(ngram_range=(1, 2), min_df=2, sublinear_tf=True), "pnotes_text"),
        "pnotes_tok": (TfidfVectorizer(token_pattern=r"\S+", min_df=2), "pnotes_tok"),
        "rules_category": (StandardScaler(), cols("rule_cat_")),
        "rules_purpose": (StandardScaler(), cols("rule_purpose_")),
        "numeric": (StandardScaler(), cols("num_")),
        "embed": (FunctionTransformer(), cols("emb_")),
    }


def _logreg(C: float, solver: str) -> Any:
    from sklearn.linear_model import LogisticRegression

    return LogisticRegression(C=C, solver=solver, max_iter=5000, class_weight="balanced", random_state=0)


def make_pipeline(
    X: pd.DataFrame,
    blocks: Sequence[str] = ("meta_word", "meta_char", "rules_category"),
    C: float = 1.0,
    solver: str = "newton-cg",
) -> Any:
    """Feature blocks (:func:`block_specs`) -> balanced logistic regression, as one
    sklearn ``Pipeline``."""
    from sklearn.compose import ColumnTransformer
    from sklearn.pipeline import Pipeline

    available = block_specs(X)
    features = ColumnTransformer([(b, *available[b]) for b in blocks], sparse_threshold=SPARSE_THRESHOLD)
    return Pipeline([("features", features), ("clf", _logreg(C, solver))])


class Blocks:
    """Feature blocks fitted once on ``train`` (each on first use) and applied to ``test``.

    :meth:`matrices` gives, for any tuple of blocks, the training and test matrices the
    ``ColumnTransformer`` of :func:`make_pipeline` would give: the same blocks in the same
    order, stacked sparse or dense by the same density rule.  Models that share a training
    set share the fitted blocks.
    """

    def __init__(self, train: pd.DataFrame, test: pd.DataFrame | None = None) -> None:
        self.train, self.test = train, test
        self._specs = block_specs(train)
        self._fitted: dict[str, tuple[Any, Any, Any]] = {}  # block -> (transformer, train, test)
        self._sparse: dict[tuple[str, ...], bool] = {}

    def _block(self, b: str) -> tuple[Any, Any, Any]:
        if b not in self._fitted:
            transformer, column = self._specs[b]
            Ftr = transformer.fit_transform(self.train[column])
            Fte = None if self.test is None else transformer.transform(self.test[column])
            self._fitted[b] = (transformer, Ftr, Fte)
        return self._fitted[b]

    def _used(self, blocks: Sequence[str]) -> tuple[str, ...]:
        """``blocks`` without those that select no column (ColumnTransformer drops them)."""
        return tuple(b for b in blocks if not (isinstance(self._specs[b][1], list) and not self._specs[b][1]))

    def train_matrix(self, blocks: Sequence[str]) -> Any:
        used = self._used(blocks)
        parts = [self._block(b)[1] for b in used]
        self._sparse[used] = _sparse_output(parts)
        return _stack(parts, self._sparse[used])

    def matrices(self, blocks: Sequence[str]) -> tuple[Any, Any]:
        """(training matrix, test matrix) of ``blocks``."""
        Ftr = self.train_matrix(blocks)
        used = self._used(blocks)
        return Ftr, _stack([self._block(b)[2] for b in used], self._sparse[used])

    def transform(self, blocks: Sequence[str], X: pd.DataFrame) -> Any:
        """The matrix of ``blocks`` for new rows ``X`` (after :meth:`train_matrix`)."""
        used = self._used(blocks)
        parts = [self._block(b)[0].transform(X[self._specs[b][1]]) for b in used]
        return _stack(parts, self._sparse[used])


def _sparse_output(parts: Sequence[Any]) -> bool:
    """ColumnTransformer's rule: sparse when a block is sparse and the density is low."""
    from scipy import sparse

    if not any(sparse.issparse(X) for X in parts):
        return False
    nnz = sum(X.nnz if sparse.issparse(X) else X.shape[0] * X.shape[1] for X in parts)
    total = sum(X.shape[0] * X.shape[1] for X in parts)
    return bool(nnz / total < SPARSE_THRESHOLD)


def _stack(parts: Sequence[Any], sparse_output: bool) -> Any:
    """ColumnTransformer's horizontal stacking."""
    from scipy import sparse
    from sklearn.utils import check_array

    if sparse_output:
        return sparse.hstack([check_array(X, accept_sparse=True, ensure_all_finite=False) for X in parts]).tocsr()
    return np.hstack([X.toarray() if sparse.issparse(X) else X for X in parts])


CATEGORY_BLOCKS = ("meta_word", "meta_char", "rules_category", "notes_word", "notes_tok")
PURPOSE_BLOCKS = ("docker", "rules_purpose", "numeric", "pnotes_word", "pnotes_tok")
PURPOSE_THRESHOLDS = (0.2, 0.25, 0.3, 0.35, 0.4, 0.5)
PURPOSE_C = (0.1, 0.3, 1.0)
#: feature-set variants measured by ``evaluate`` with the same CV (name -> blocks); the
#: first of each is the shipped model
CATEGORY_VARIANTS: dict[str, tuple[str, ...]] = {
    "model": CATEGORY_BLOCKS,
    "v1: name/description/homepage/topics + rule votes (first version)":
        ("meta_word", "meta_char", "rules_category"),
    "model + Docker file text (paths, instructions, base images, commands, services)":
        CATEGORY_BLOCKS + ("docker",),
}
#: shares of each training fold the fixed model is also trained on (the learning curve)
CURVE_SHARES = (0.25, 0.5, 0.75, 1.0)


def curve_method(share: float) -> str:
    """The method name of the learning curve's point at ``share``."""
    return f"learning curve: fixed model on {share:.0%} of the training fold"


#: purpose variants: name -> (logistic-regression blocks, with the extra-trees half)
PURPOSE_VARIANTS: dict[str, tuple[tuple[str, ...], bool]] = {
    "model": (PURPOSE_BLOCKS, True),
    "v1 features (Dockerfile text, purpose-rule hits, log metadata), logistic regression only":
        (("docker", "rules_purpose", "numeric"), False),
    "logistic regression only (no extra-trees half)": (PURPOSE_BLOCKS, False),
}
PURPOSE_TREES = 100  # extra trees in the purpose ensemble


def make_category_model(X: pd.DataFrame, blocks: Sequence[str] = CATEGORY_BLOCKS) -> Any:
    """The category model: fixed settings (C=1, balanced classes), nothing tuned."""
    return make_pipeline(X, blocks, C=1.0)


def category_classifier() -> Any:
    """The classifier of :func:`make_category_model`, for features :class:`Blocks` built."""
    return _logreg(1.0, "newton-cg")


def purpose_classifier(C: float) -> Any:
    """One-vs-rest logistic regressions (liblinear, no class weights), one per purpose."""
    from sklearn.multiclass import OneVsRestClassifier

    clf = _logreg(C, "liblinear")
    clf.set_params(class_weight=None)
    return OneVsRestClassifier(clf)


def _trees_pipeline(X: pd.DataFrame, seed: int = 0) -> Any:
    """Multi-output extra trees over the dense columns (rule hits, log metadata and
    instruction counts): they catch thresholds and interactions a linear model misses."""
    from sklearn.compose import ColumnTransformer
    from sklearn.ensemble import ExtraTreesClassifier
    from sklearn.pipeline import Pipeline

    dense = [c for c in X.columns if c.startswith(("rule_", "num_"))]
    trees = ExtraTreesClassifier(n_estimators=PURPOSE_TREES, min_samples_leaf=2, random_state=seed, n_jobs=1)
    return Pipeline([("features", ColumnTransformer([("dense", "passthrough", dense)])), ("clf", trees)])


def _proba(model: Any, X: pd.DataFrame) -> np.ndarray:
    """(n, labels) positive-class probabilities of a multi-label model; a label seen with one
    class only in training gets that class's probability (1 or 0)."""
    P = model.predict_proba(X)
    if not isinstance(P, list):
        return np.asarray(P)
    classes = model.steps[-1][1].classes_
    cols = [p[:, list(c).index(1)] if 1 in list(c) else np.zeros(len(p)) for p, c in zip(P, classes, strict=True)]
    return np.column_stack(cols)


def trees_proba(Xtr: pd.DataFrame, Ytr: np.ndarray, Xte: pd.DataFrame, seed: int) -> np.ndarray:
    """Probabilities on ``Xte`` of the extra trees fitted on (``Xtr``, ``Ytr``)."""
    return _proba(_trees_pipeline(Xtr, seed).fit(Xtr, Ytr), Xte)


@dataclass
class InnerCV:
    """Out-of-fold probabilities of an inner k-fold CV on one training set: per blocks
    tuple and C the logistic regressions', and the extra trees' (None when not asked)."""

    Y: np.ndarray
    lr: dict[tuple[str, ...], dict[float, np.ndarray]]
    trees: np.ndarray | None

    @classmethod
    def run(cls, X: pd.DataFrame, Y: np.ndarray, blocks: Sequence[tuple[str, ...]], trees: bool,
            folds: int, seed: int) -> InnerCV:
        """Each block is fitted once per inner fold and shared by every blocks tuple and C."""
        from sklearn.model_selection import KFold

        splits = list(KFold(folds, shuffle=True, random_state=seed).split(X))
        T = np.zeros(Y.shape, dtype=float) if trees else None
        lr = {b: {c: np.zeros(Y.shape, dtype=float) for c in PURPOSE_C} for b in dict.fromkeys(blocks)}
        for tr, te in splits:
            if T is not None:
                T[te] = trees_proba(X.iloc[tr], Y[tr], X.iloc[te], seed)
            fold = Blocks(X.iloc[tr], X.iloc[te])
            for b, Ps in lr.items():
                Ftr, Fte = fold.matrices(b)
                for c in PURPOSE_C:
                    Ps[c][te] = purpose_classifier(c).fit(Ftr, Y[tr]).predict_proba(Fte)
        return cls(Y, lr, T)

    def best(self, blocks: tuple[str, ...], trees: bool) -> tuple[float, float]:
        """(C, threshold) with the best inner micro-F1 (first of equals, C then threshold)."""
        from sklearn.metrics import f1_score

        best = (-1.0, 0.3, 0.5)
        for c, P in self.lr[blocks].items():
            if trees and self.trees is not None:
                P = (P + self.trees) / 2
            for t in PURPOSE_THRESHOLDS:
                score = float(f1_score(self.Y, (P >= t).astype(int), average="micro", zero_division=0))
                if score > best[0]:
                    best = (score, c, t)
        return best[1], best[2]


class PurposeModel:
    """One-vs-rest logistic regressions, one per major purpose (multi-label), averaged with
    multi-output extra trees (``trees=True``).

    The regularisation ``C`` (among :data:`PURPOSE_C`) and the probability threshold (among
    :data:`PURPOSE_THRESHOLDS`) are chosen together by an inner k-fold CV on the training
    data only (best micro-F1 of the inner out-of-fold probabilities), then the model is
    refitted on all of it.
    """

    def __init__(self, inner_folds: int = 3, seed: int = 0,
                 blocks: Sequence[str] = PURPOSE_BLOCKS, trees: bool = True) -> None:
        self.inner_folds = inner_folds
        self.seed = seed
        self.blocks = tuple(blocks)
        self.trees = trees
        self.threshold_ = 0.5
        self.C_ = 0.3
        self.features_: Blocks | None = None
        self.model_: Any = None
        self.trees_: Any = None

    def fit(self, X: pd.DataFrame, Y: np.ndarray) -> PurposeModel:
        inner = InnerCV.run(X, Y, [self.blocks], self.trees, self.inner_folds, self.seed)
        self.C_, self.threshold_ = inner.best(self.blocks, self.trees)
        self.features_ = Blocks(X)
        self.model_ = purpose_classifier(self.C_).fit(self.features_.train_matrix(self.blocks), Y)
        if self.trees:
            self.trees_ = _trees_pipeline(X, self.seed).fit(X, Y)
        return self

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        assert self.features_ is not None, "fit first"
        P = np.asarray(self.model_.predict_proba(self.features_.transform(self.blocks, X)))
        if self.trees_ is not None:
            P = (P + _proba(self.trees_, X)) / 2
        return P

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        return (self.predict_proba(X) >= self.threshold_).astype(int)


def purpose_predictions(Xtr: pd.DataFrame, Ytr: np.ndarray, Xte: pd.DataFrame,
                        candidates: dict[str, tuple[tuple[str, ...], bool]], seed: int = 0,
                        inner_folds: int = 3) -> dict[str, np.ndarray]:
    """Name -> the 0/1 predictions on ``Xte`` of ``PurposeModel(seed, blocks, trees)``
    fitted on (``Xtr``, ``Ytr``), for every candidate (blocks, trees): the same answers
    as fitting each :class:`PurposeModel`, with the inner CV, the blocks, the trees and
    the refits they have in common computed once."""
    trees = any(t for _, t in candidates.values())
    inner = InnerCV.run(Xtr, Ytr, [b for b, _ in candidates.values()], trees, inner_folds, seed)
    outer = Blocks(Xtr, Xte)
    T = trees_proba(Xtr, Ytr, Xte, seed) if trees else None
    lr: dict[tuple[tuple[str, ...], float], np.ndarray] = {}
    out: dict[str, np.ndarray] = {}
    for name, (blocks, with_trees) in candidates.items():
        C, threshold = inner.best(blocks, with_trees)
        if (blocks, C) not in lr:
            Ftr, Fte = outer.matrices(blocks)
            lr[(blocks, C)] = np.asarray(purpose_classifier(C).fit(Ftr, Ytr).predict_proba(Fte))
        P = lr[(blocks, C)]
        if with_trees and T is not None:
            P = (P + T) / 2
        out[name] = (P >= threshold).astype(int)
    return out


@contextmanager
def fitting() -> Iterator[None]:
    """The context every model is fitted in: sklearn's expected warnings (absent labels,
    small classes) silenced; one BLAS thread, so a result does not depend on the
    machine's core count (a threaded dot product sums in another order) and parallel
    folds do not compete for the cores; sklearn's parameter validation skipped (the
    parameters are ours and fixed; it costs a third of a one-vs-rest fit)."""
    from sklearn import config_context
    from threadpoolctl import threadpool_limits

    with (warnings.catch_warnings(), threadpool_limits(limits=1, user_api="blas"),
          config_context(skip_parameter_validation=True)):
        warnings.simplefilter("ignore", category=UserWarning)
        warnings.filterwarnings("ignore", message=".*[Ll]abel.*not present.*")
        warnings.filterwarnings("ignore", message=".*least populated class.*")
        yield
