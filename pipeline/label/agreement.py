"""Inter-rater agreement over ``data/labels/*.csv``: kappa per pair, alpha over three or more.

Cohen's kappa (``sklearn.metrics.cohen_kappa_score``) for every pair of raters on the
repositories both labelled, and for every rater against the study's manual labels
(``interim/repos.csv``, ``label_source`` manual); Krippendorff's alpha (nominal, the
``krippendorff`` package) over all raters when there are three or more; per rater, the
confusion of the study's label against theirs.
"""

from __future__ import annotations

import itertools
import math
from pathlib import Path

import krippendorff
import numpy as np
import pandas as pd
from sklearn.metrics import cohen_kappa_score

from ..config import Paths
from ..errors import SchemaError
from ..progress import Progress, no_progress, track
from ..schemas import LABEL_AGREEMENT, LABEL_CONFUSION, LABELS
from ..tables import ErrorLog, one_line, read_table

STUDY = "study"
ALL_RATERS = "all raters"


def read_all(p: Paths, labels_dir: Path, categories: tuple[str, ...], errors: ErrorLog,
             progress: Progress = no_progress) -> dict[str, pd.Series]:
    """rater -> (repo -> category), from every readable labels file; bad rows are logged."""
    out: dict[str, pd.Series] = {}
    files = sorted(labels_dir.glob("*.csv"))
    for path in track(files, progress, "label files", total=len(files), unit="file"):
        if path.stem.lower() == STUDY:
            errors.add(str(path), "ReservedRater", f"{STUDY!r} names the study's labels here, "
                       "not a rater; rename the file; left out")
            continue
        try:
            df = read_table(LABELS, p, path=path)
            missing = [c for c in LABELS.column_names if c not in df.columns]
            if missing:
                raise SchemaError(str(path), f"missing columns {missing}")
        except Exception as exc:  # noqa: BLE001 (one bad file never stops the others)
            errors.add(str(path), exc, f"not a labels table ({one_line(exc)}); left out")
            continue
        bad = ~df["category"].isin(categories)
        for r in df[bad].itertuples():
            errors.add(f"{path}:{r.repo}", "UnknownCategory",
                       f"category {r.category!r} is not one of taxonomy/categories.yaml; row left out")
        out[path.stem] = df[~bad].drop_duplicates("repo", keep="last").set_index("repo")["category"]
    return out


def _kappa(a: pd.Series, b: pd.Series) -> tuple[int, float | None, float | None]:
    common = a.index.intersection(b.index)
    if len(common) == 0:
        return 0, None, None
    x, y = a[common].astype(str), b[common].astype(str)
    observed = float((x.to_numpy() == y.to_numpy()).mean())
    if len(common) < 2 or len(set(x) | set(y)) < 2:
        return len(common), None, observed
    k = float(cohen_kappa_score(x, y))
    return len(common), (None if math.isnan(k) else round(k, 4)), round(observed, 4)


def alpha(raters: dict[str, pd.Series], categories: tuple[str, ...]) -> tuple[int, float | None, float | None]:
    """Krippendorff's alpha (nominal) over every rater; units labelled by one rater drop out."""
    repos = sorted(set().union(*(s.index for s in raters.values())))
    code = {c: i for i, c in enumerate(categories)}
    data = np.full((len(raters), len(repos)), np.nan)
    for i, s in enumerate(raters.values()):
        for j, repo in enumerate(repos):
            if repo in s.index:
                data[i, j] = code[s[repo]]
    paired = (~np.isnan(data)).sum(axis=0) >= 2
    data = data[:, paired]
    if data.shape[1] == 0:
        return 0, None, None
    agree = total = 0
    for col in data.T:
        vals = col[~np.isnan(col)]
        for u, v in itertools.combinations(vals, 2):
            total += 1
            agree += int(u == v)
    observed = round(agree / total, 4)
    if len(np.unique(data[~np.isnan(data)])) < 2:
        return int(data.shape[1]), None, observed
    a = float(krippendorff.alpha(reliability_data=data, level_of_measurement="nominal"))
    return int(data.shape[1]), round(a, 4), observed


def agreement_frame(raters: dict[str, pd.Series], study: pd.Series,
                    categories: tuple[str, ...]) -> pd.DataFrame:
    rows = []
    for a, b in itertools.combinations(sorted(raters), 2):
        rows.append((a, b, "cohen_kappa", *_kappa(raters[a], raters[b])))
    for a in sorted(raters):
        rows.append((a, STUDY, "cohen_kappa", *_kappa(raters[a], study)))
    if len(raters) >= 3:
        rows.append((ALL_RATERS, "", "krippendorff_alpha", *alpha(raters, categories)))
    return pd.DataFrame(rows, columns=LABEL_AGREEMENT.column_names)


def confusion_frame(raters: dict[str, pd.Series], study: pd.Series,
                    categories: tuple[str, ...]) -> pd.DataFrame:
    rows = []
    order = {c: i for i, c in enumerate(categories)}
    for rater in sorted(raters):
        s = raters[rater]
        common = s.index.intersection(study.index)
        pairs = pd.DataFrame({"study_category": study[common].to_numpy(),
                              "rater_category": s[common].to_numpy()})
        for (sc, rc), n in pairs.value_counts().items():
            rows.append((rater, sc, rc, int(n)))
    out = pd.DataFrame(rows, columns=LABEL_CONFUSION.column_names)
    key = out["study_category"].map(order).fillna(99) * 100 + out["rater_category"].map(order).fillna(99)
    return out.assign(_k=key).sort_values(["rater", "_k"]).drop(columns="_k").reset_index(drop=True)


def _fmt(v: object) -> str:
    return "" if v is None or (isinstance(v, float) and math.isnan(v)) else f"{float(v):.3f}"  # type: ignore[arg-type]


def markdown(agree: pd.DataFrame, confusion: pd.DataFrame, categories: tuple[str, ...],
             n_labels: dict[str, int]) -> str:
    """``reports/labelling.md``."""
    lines = ["# Labelling: agreement between raters", "",
             "Computed by `mldock label agreement` from `data/labels/*.csv` (one file per rater, "
             "written by `mldock label`); the study's labels are `interim/repos.csv` "
             "(label_source manual). Kappa is Cohen's, on the repositories both labelled; alpha is "
             "Krippendorff's (nominal) over every rater, reported with three raters or more.", "",
             "| rater | labels |", "|---|---:|"]
    if not n_labels:
        lines[-2:] = ["No labels yet: label with `mldock label --rater ID`, then rerun."]
    lines += [f"| {r} | {n} |" for r, n in sorted(n_labels.items())]
    lines += ["", "| rater | against | measure | repositories | value | observed agreement |",
              "|---|---|---|---:|---:|---:|"]
    for r in agree.itertuples():
        lines.append(f"| {r.rater_a} | {r.rater_b} | {r.measure} | {r.n_repos} | "
                     f"{_fmt(r.value)} | {_fmt(r.observed_agreement)} |")
    for rater, part in confusion.groupby("rater", sort=True):
        lines += ["", f"## {rater} against the study's labels", "",
                  "Rows: the study's category; columns: the rater's.", "",
                  "| study \\ rater | " + " | ".join(categories) + " |",
                  "|---|" + "---:|" * len(categories)]
        cells = {(s, c): n for s, c, n in zip(part["study_category"], part["rater_category"], part["n"], strict=True)}
        for s in categories:
            lines.append(f"| {s} | " + " | ".join(str(cells.get((s, c), 0)) for c in categories) + " |")
    return "\n".join(lines) + "\n"
