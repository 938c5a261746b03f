"""Near-duplicate pairs of studied repositories: the label-consistency evidence.

Two studied repositories are near-duplicates when the TF-IDF cosine of their texts (full
name, then description) reaches the threshold of ``taxonomy/labelling.yaml``.  ``mldock
label`` queues the pairs whose study labels differ; ``classify evaluate`` reports how often
such pairs carry the same label, beside the scores (a ceiling on any model of that text).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from .config import Paths
from .errors import TaxonomyError
from .taxonomy import read_yaml


@dataclass(frozen=True)
class NearDuplicate:
    analyzer: str
    ngram: tuple[int, int]
    threshold: float


def load_settings(p: Paths) -> NearDuplicate:
    """``taxonomy/labelling.yaml``: how near-duplicates are found."""
    path = p.taxonomy / "labelling.yaml"
    data = read_yaml(path)
    try:
        nd = data["near_duplicate"]
        out = NearDuplicate(str(nd["analyzer"]), (int(nd["ngram_min"]), int(nd["ngram_max"])),
                            float(nd["threshold"]))
    except (KeyError, TypeError, ValueError) as exc:
        raise TaxonomyError(str(path), f"near_duplicate needs analyzer, ngram_min, ngram_max "
                                       f"and threshold ({exc})") from exc
    if not 0 < out.threshold <= 1:
        raise TaxonomyError(str(path), f"near_duplicate.threshold {out.threshold} is not in (0, 1]")
    return out


def _text(repos: pd.DataFrame) -> pd.Series:
    name = repos["repo"].str.replace(r"[-_./]", " ", regex=True)
    text = name + " " + repos["description"].fillna("")
    return text.str.lower().str.replace(r"[^a-z0-9 ]", " ", regex=True)


def near_duplicate_pairs(repos: pd.DataFrame, settings: NearDuplicate) -> pd.DataFrame:
    """Pairs of study-labelled repositories with similar text: ``repo_a, repo_b, cosine, same``."""
    lab = repos[repos["label_source"].fillna("") == "manual"].reset_index(drop=True)
    cols = ["repo_a", "repo_b", "cosine", "same"]
    if len(lab) < 2:
        return pd.DataFrame(columns=cols)
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.metrics.pairwise import cosine_similarity

    vec = TfidfVectorizer(analyzer=settings.analyzer, ngram_range=settings.ngram, sublinear_tf=True)
    sim = cosine_similarity(vec.fit_transform(_text(lab)))
    i, j = np.where(np.triu(sim, k=1) >= settings.threshold)
    cats = lab["category"].to_numpy()
    out = pd.DataFrame({"repo_a": lab["repo"].to_numpy()[i], "repo_b": lab["repo"].to_numpy()[j],
                        "cosine": sim[i, j].round(4), "same": cats[i] == cats[j]}, columns=cols)
    return out.sort_values(["cosine", "repo_a", "repo_b"], ascending=[False, True, True],
                           ignore_index=True)
