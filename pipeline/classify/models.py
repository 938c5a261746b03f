"""The models: feature blocks -> scikit-learn pipelines for categories and purposes."""

from __future__ import annotations

import warnings
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import numpy as np
import pandas as pd


def make_pipeline(
    X: pd.DataFrame,
    blocks: Sequence[str] = ("meta_word", "meta_char", "rules_category"),
    C: float = 1.0,
    solver: str = "newton-cg",
) -> Any:
    """Feature blocks -> balanced logistic regression, as one sklearn ``Pipeline``.

    Blocks: ``meta_word`` (word 1-2-gram TF-IDF of name, description, homepage, topics,
    language, README), ``meta_char`` (character 2-5-gram TF-IDF of the same text),
    ``docker`` (TF-IDF of paths, instructions, base images, commands, compose services),
    ``rules_category`` (the category rules' vote counts), ``rules_purpose`` (which purpose
    rules fire), ``numeric`` (log metadata: commits, stars, ...), ``notes_word`` /
    ``notes_tok`` (word 1-2-gram TF-IDF and whole comma-separated tokens of the study's
    free-text notes, :data:`~.evidence.NOTE_COLUMNS`) and ``pnotes_word`` / ``pnotes_tok`` (the same
    over :data:`~.features.PURPOSE_NOTE_COLUMNS` only, for the purpose model).
    """
    from sklearn.compose import ColumnTransformer
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import StandardScaler

    def cols(prefix: str) -> list[str]:
        return [c for c in X.columns if c.startswith(prefix)]

    available: dict[str, tuple[Any, Any]] = {
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
    }
    features = ColumnTransformer([(b, *available[b]) for b in blocks])
    clf = LogisticRegression(C=C, solver=solver, max_iter=5000, class_weight="balanced", random_state=0)
    return Pipeline([("features", features), ("clf", clf)])


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


def _purpose_pipeline(X: pd.DataFrame, C: float = 0.3, blocks: Sequence[str] = PURPOSE_BLOCKS) -> Any:
    from sklearn.multiclass import OneVsRestClassifier

    pipe = make_pipeline(X, blocks, C=C, solver="liblinear")
    pipe.set_params(clf__class_weight=None)
    pipe.steps[-1] = ("clf", OneVsRestClassifier(pipe.steps[-1][1]))
    return pipe


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
        self.model_: Any = None
        self.trees_: Any = None

    def fit(self, X: pd.DataFrame, Y: np.ndarray) -> PurposeModel:
        from sklearn.base import clone
        from sklearn.metrics import f1_score
        from sklearn.model_selection import KFold

        splits = list(KFold(self.inner_folds, shuffle=True, random_state=self.seed).split(X))
        T = np.zeros(Y.shape, dtype=float)
        if self.trees:
            for tr, te in splits:
                T[te] = _proba(_trees_pipeline(X.iloc[tr], self.seed).fit(X.iloc[tr], Y[tr]), X.iloc[te])
        Ps = {c: np.zeros(Y.shape, dtype=float) for c in PURPOSE_C}
        for tr, te in splits:  # the features are fitted once per inner fold, shared by every C
            pipe = _purpose_pipeline(X.iloc[tr], PURPOSE_C[0], self.blocks)
            features, clf = pipe.steps[0][1], pipe.steps[-1][1]
            Ftr, Fte = features.fit_transform(X.iloc[tr]), features.transform(X.iloc[te])
            for c in PURPOSE_C:
                Ps[c][te] = clone(clf).set_params(estimator__C=c).fit(Ftr, Y[tr]).predict_proba(Fte)
        best = (-1.0, self.C_, self.threshold_)
        for c, P in Ps.items():
            if self.trees:
                P = (P + T) / 2
            for t in PURPOSE_THRESHOLDS:
                score = float(f1_score(Y, (P >= t).astype(int), average="micro", zero_division=0))
                if score > best[0]:
                    best = (score, c, t)
        _, self.C_, self.threshold_ = best
        self.model_ = _purpose_pipeline(X, self.C_, self.blocks).fit(X, Y)
        if self.trees:
            self.trees_ = _trees_pipeline(X, self.seed).fit(X, Y)
        return self

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        P = np.asarray(self.model_.predict_proba(X))
        if self.trees_ is not None:
            P = (P + _proba(self.trees_, X)) / 2
        return P

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        return (self.predict_proba(X) >= self.threshold_).astype(int)


@contextmanager
def quiet() -> Iterator[None]:
    """Silence sklearn's expected warnings (absent labels, small classes) inside the block."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", category=UserWarning)
        warnings.filterwarnings("ignore", message=".*[Ll]abel.*not present.*")
        warnings.filterwarnings("ignore", message=".*least populated class.*")
        yield
