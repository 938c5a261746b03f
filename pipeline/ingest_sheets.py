"""Ingest, RQ3 part: the xlsx sheets ``baseimages`` and ``temp`` into declared interim tables.

* ``package_base_images``: the study's own FROM extraction (study.md 4.4), one row per
  sheet row, values as published (text);
* ``package_base_types``: base name -> up to three raw type labels (study.md 4.5).

The report stage computes paper-mode Figures 4a and 4b from these tables.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from .errors import SourceInvalid

SHEETS = ("baseimages", "temp")
BASEIMAGE_COLUMNS = {"Repos": "repo", "Category": "raw_category", "Dockerfile": "dockerfile",
                     "Baseimage": "baseimage", "Base": "base", "version": "version",
                     "version_clean": "version_clean"}


def _text(s: pd.Series) -> pd.Series:
    return s.astype("string").str.strip().replace("", pd.NA).astype(object).where(s.notna(), None)


def base_images_table(sheet: pd.DataFrame, xlsx: Path) -> pd.DataFrame:
    """The ``baseimages`` sheet, renamed; rows without a repository are dropped."""
    missing = [c for c in BASEIMAGE_COLUMNS if c not in sheet.columns]
    if missing:
        raise SourceInvalid(str(xlsx), f"sheet baseimages lacks columns {missing}")
    df = sheet.loc[:, list(BASEIMAGE_COLUMNS)].rename(columns=BASEIMAGE_COLUMNS)
    df = df[df["repo"].notna()].reset_index(drop=True)
    for c in BASEIMAGE_COLUMNS.values():
        df[c] = _text(df[c])
    df.insert(0, "row", range(len(df)))
    return df


def base_types_table(sheet: pd.DataFrame, xlsx: Path) -> pd.DataFrame:
    """The ``temp`` sheet: its first column is the base name, the next three the labels."""
    if sheet.shape[1] < 2 or sheet.columns[0] != "Base":
        raise SourceInvalid(str(xlsx), "sheet temp: expected a Base column then label columns")
    labels = sheet.iloc[:, 1:4]
    df = pd.DataFrame({"base": _text(sheet.iloc[:, 0])})
    for i in range(3):
        col = labels.iloc[:, i] if i < labels.shape[1] else pd.Series([None] * len(sheet))
        df[f"label_{i + 1}"] = _text(col.reset_index(drop=True))
    df = df[df["base"].notna()].reset_index(drop=True)
    df.insert(0, "row", range(len(df)))
    return df


def sheet_tables(sheets: dict[str, pd.DataFrame], xlsx: Path) -> dict[str, pd.DataFrame]:
    return {"package_base_images": base_images_table(sheets["baseimages"], xlsx),
            "package_base_types": base_types_table(sheets["temp"], xlsx)}


