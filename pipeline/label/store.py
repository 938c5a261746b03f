"""A rater's labels: ``data/labels/<rater>.csv``, rewritten atomically on every choice."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd

from ..config import Paths
from ..errors import MldockError
from ..schemas import LABELS
from ..tables import read_table, write_table

RATER_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")
RESERVED = ("study",)
"""Rater ids that name something else (agreement's column for the study's labels)."""


class BadRater(MldockError):
    def __init__(self, rater: str) -> None:
        super().__init__(f"rater id {rater!r} is not usable: use letters, digits, '.', '_' or "
                         "'-' (at most 64, starting with a letter or digit), not 'study' (the "
                         "study's labels)")


def labels_dir(p: Paths) -> Path:
    return p.data / "labels"


def labels_path(p: Paths, rater: str) -> Path:
    if not RATER_ID.fullmatch(rater) or rater.lower() in RESERVED:
        raise BadRater(rater)
    return labels_dir(p) / f"{rater}.csv"


def read_labels(p: Paths, rater: str) -> pd.DataFrame:
    """The rater's saved labels (none yet: an empty frame)."""
    path = labels_path(p, rater)
    if not path.exists():
        return pd.DataFrame(columns=LABELS.column_names)
    return read_table(LABELS, p, path=path)


class LabelStore:
    """The labels of one rater, held in memory and written whole on every change."""

    def __init__(self, p: Paths, rater: str) -> None:
        self.p = p
        self.rater = rater
        self.path = labels_path(p, rater)
        df = read_labels(p, rater)
        self.rows: dict[str, dict[str, str]] = {
            r["repo"]: {c: "" if pd.isna(r[c]) else str(r[c]) for c in LABELS.column_names}
            for r in df.to_dict("records")}

    def save(self, repo: str, category: str, note: str, suggestion: str) -> None:
        stamp = datetime.now(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")
        self.rows[repo] = {"repo": repo, "category": category, "note": note, "rater": self.rater,
                           "timestamp": stamp, "suggestion": suggestion}
        df = pd.DataFrame(sorted(self.rows.values(), key=lambda r: r["repo"]),
                          columns=LABELS.column_names)
        write_table(df, LABELS, self.p, path=self.path, extra_meta={"rater": self.rater})
