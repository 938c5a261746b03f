"""An optional pretrained text embedding of each repository's name, description and topics.

``wordllama`` (the optional extra ``embedding``: ``uv sync --extra embedding``) ships its
256-dimensional ``l2_supercat`` token embeddings and its tokenizer configuration inside the
wheel; they are loaded from the installed package with ``disable_download=True``, so
nothing is ever fetched from a model hub.  The embedding is a fixed function of the text
(nothing is fitted to the labels), so it is computed once for all repositories; the
category model weighs its block like the others (:data:`~.calibrate.EMBEDDING_GRID`).
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from ..errors import MldockError
from .evidence import Evidence

#: the embeddings ``--embedding`` accepts
EMBEDDINGS = ("wordllama",)
WORDLLAMA_CONFIG = "l2_supercat"
WORDLLAMA_DIM = 256


class EmbeddingUnavailable(MldockError):
    """The optional embedding package is not installed."""


def embedding_text(ev: Evidence) -> str:
    """The text embedded: repository name (separators as spaces), description, topics.

    >>> embedding_text(Evidence("a/deep-speech_2", description="ASR", topics=["speech"]))
    'deep speech 2 ASR speech'
    """
    name = ev.repo.partition("/")[2].replace("-", " ").replace("_", " ")
    return " ".join(t for t in (name, ev.description, " ".join(ev.topics)) if t)


def embedding_frame(evidence: Sequence[Evidence], name: str = "wordllama") -> pd.DataFrame:
    """One row per repository (index repo): columns ``emb_0`` ... of the L2-normalised
    embedding of :func:`embedding_text`."""
    if name not in EMBEDDINGS:
        raise EmbeddingUnavailable(f"unknown embedding {name!r}; choose one of {', '.join(EMBEDDINGS)}")
    try:
        import wordllama
        from wordllama import WordLlama
    except ImportError as exc:
        raise EmbeddingUnavailable("the wordllama embedding needs the optional extra: "
                                   "`uv sync --extra dev --extra embedding` (or pip install "
                                   "'mldock[embedding]')") from exc
    from pathlib import Path

    # the wheel holds weights/<config>_<dim>.safetensors and tokenizers/<config>_tokenizer_config.json:
    # the package directory is a complete cache, so disable_download never reaches a hub
    model = WordLlama.load(config=WORDLLAMA_CONFIG, dim=WORDLLAMA_DIM, disable_download=True,
                           cache_dir=Path(wordllama.__file__).parent)
    E = model.embed([embedding_text(ev) for ev in evidence], norm=True)
    return pd.DataFrame(E, index=pd.Index([ev.repo for ev in evidence], name="repo"),
                        columns=[f"emb_{i}" for i in range(E.shape[1])]).round(6)
