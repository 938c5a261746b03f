"""The optional wordllama embedding block: loaded from the wheel, never from a hub."""

from __future__ import annotations

import numpy as np
import pytest

from pipeline.classify.calibrate import CATEGORY_GRID, EMBEDDING_GRID, weights_of
from pipeline.classify.embedding import EmbeddingUnavailable, embedding_frame
from pipeline.classify.evidence import Evidence


def test_embedding_loads_from_the_wheel_without_network(monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("wordllama", reason="the optional extra 'embedding' is not installed")
    import socket

    import requests

    def no_network(*args: object, **kwargs: object) -> None:
        raise AssertionError("wordllama tried to download")

    monkeypatch.setattr(requests, "get", no_network)
    monkeypatch.setattr(socket.socket, "connect", no_network)  # any other client too
    E = embedding_frame([Evidence("a/deep-speech", description="speech recognition", topics=["asr"]),
                         Evidence("b/kubeflow", description="Machine Learning Toolkit for Kubernetes")])
    assert E.shape == (2, 256) and list(E.index) == ["a/deep-speech", "b/kubeflow"]
    assert E.iloc[0, :3].to_numpy() == pytest.approx([-0.0887, 0.0322, -0.1349], abs=5e-5)
    assert ((E ** 2).sum(axis=1).round(4) == 1.0).all()
    assert round(float(np.dot(E.iloc[0], E.iloc[1])), 4) == 0.1466


def test_unknown_embedding_is_refused() -> None:
    with pytest.raises(EmbeddingUnavailable, match="unknown embedding 'glove'"):
        embedding_frame([], "glove")


def test_the_grids() -> None:
    """The shipped grid has no embedding; the embedding grid tries each candidate without
    it and with weight 2."""
    assert len(CATEGORY_GRID) == 8 and all(g[4] == 0.0 for g in CATEGORY_GRID)
    assert len(EMBEDDING_GRID) == 16 and set(EMBEDDING_GRID) >= set(CATEGORY_GRID)
    assert weights_of((1.0, 1.0, 0.5, 1.0, 0.0)) == {
        "meta_word": 1.0, "meta_char": 1.0, "rules_category": 0.5, "notes_word": 1.0, "notes_tok": 1.0}
    assert weights_of((3.0, 1.0, 1.0, 0.5, 2.0))["embed"] == 2.0
