"""Reviewed labels: ``data/labels/<rater>.csv`` (written by ``mldock label``) as manual
category labels.

Each file has the columns ``repo, category, note, rater, timestamp, suggestion``.  A
rater's last label of a repository (latest ``timestamp``, then last row) counts; the
repository's reviewed category is the majority of its raters, and a tie is listed in the
errors table (``LabelTie``) and leaves the repository as it was.  Bad rows and files are
reported, one line each, and never stop the stage.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from ..config import CATEGORIES, Paths
from ..tables import ErrorLog

REQUIRED = ("repo", "category", "rater")


def labels_dir(p: Paths) -> Path:
    return p.data / "labels"


@dataclass
class Reviewed:
    """Reviewed category per repository and the raters who gave it (sorted, '; '-joined)."""

    category: dict[str, str] = field(default_factory=dict)
    raters: dict[str, str] = field(default_factory=dict)
    ties: dict[str, list[str]] = field(default_factory=dict)


def _read(path: Path, errors: ErrorLog) -> pd.DataFrame | None:
    try:
        df = pd.read_csv(path, dtype=str, keep_default_na=False)
    except (OSError, ValueError, UnicodeDecodeError) as exc:
        errors.add(str(path.name), "UnreadableLabels", f"data/labels/{path.name}: {exc}; file skipped")
        return None
    missing = [c for c in REQUIRED if c not in df.columns]
    if missing:
        errors.add(str(path.name), "UnreadableLabels",
                   f"data/labels/{path.name}: missing column(s) {', '.join(missing)}; file skipped")
        return None
    if "timestamp" not in df.columns:
        df["timestamp"] = ""
    df["source_file"] = path.name
    return df


def read_reviewed(p: Paths, known: set[str], errors: ErrorLog) -> Reviewed:
    """The reviewed labels under ``data/labels/`` for the repositories in ``known``."""
    d = labels_dir(p)
    frames = [f for f in (_read(x, errors) for x in sorted(d.glob("*.csv"))) if f is not None] if d.is_dir() else []
    out = Reviewed()
    if not frames:
        return out
    df = pd.concat(frames, ignore_index=True)
    df["row_no"] = range(len(df))
    good = []
    for r in df.itertuples(index=False):
        where = f"data/labels/{r.source_file}"
        if r.repo not in known:
            errors.add(str(r.repo), "UnknownRepository", f"{where}: not a studied repository; label ignored")
        elif r.category not in CATEGORIES:
            errors.add(str(r.repo), "UnknownCategory", f"{where}: category {r.category!r} is not one of the six; label ignored")
        elif not str(r.rater).strip():
            errors.add(str(r.repo), "MissingRater", f"{where}: empty rater; label ignored")
        else:
            good.append(r)
    if not good:
        return out
    ok = pd.DataFrame(good).sort_values(["timestamp", "row_no"], kind="stable")
    last = ok.groupby(["repo", "rater"], sort=True).tail(1)
    for repo, g in last.groupby("repo", sort=True):
        votes = Counter(g["category"])
        top = max(votes.values())
        winners = sorted(c for c, v in votes.items() if v == top)
        if len(winners) > 1:
            out.ties[str(repo)] = winners
            errors.add(str(repo), "LabelTie", f"data/labels: raters disagree ({', '.join(winners)}, "
                       f"{top} each); not used as a label until one more rater decides")
            continue
        out.category[str(repo)] = winners[0]
        out.raters[str(repo)] = "; ".join(sorted(g.loc[g["category"] == winners[0], "rater"].astype(str)))
    return out
