"""Inclusion criteria and search keywords, loaded from YAML and validated; the pure funnel."""

from __future__ import annotations

import operator
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from ..errors import TaxonomyError
from ..taxonomy import read_yaml

OPS: dict[str, Callable[[Any, Any], Any]] = {
    ">=": operator.ge,
    ">": operator.gt,
    "<=": operator.le,
    "<": operator.lt,
    "==": operator.eq,
    "!=": operator.ne,
}
CRITERIA_COLUMNS = ("commits", "releases", "forks", "stars", "archived", "contributors", "size_kb")


@dataclass(frozen=True)
class Criterion:
    id: str
    description: str
    column: str
    op: str
    value: Any

    def mask(self, df: pd.DataFrame) -> pd.Series:
        col = df[self.column]
        if isinstance(self.value, bool):
            col = col.astype("boolean")
        else:
            col = pd.to_numeric(col, errors="coerce")
        return OPS[self.op](col, self.value).fillna(False).astype(bool)


    def holds(self, value: Any) -> bool:
        """The criterion on one value (as :meth:`mask`: a missing or unreadable value fails)."""
        if value is None or (isinstance(value, float) and value != value):
            return False
        try:
            v = bool(value) if isinstance(self.value, bool) else float(value)
        except (TypeError, ValueError):
            return False
        return bool(OPS[self.op](v, self.value))


def passes_without(row: dict[str, Any], criteria: tuple[Criterion, ...], column: str) -> bool:
    """Whether ``row`` meets every criterion that does not read ``column`` (not yet known)."""
    return all(c.holds(row.get(c.column)) for c in criteria if c.column != column)


@dataclass(frozen=True)
class CollectConfig:
    criteria: tuple[Criterion, ...]
    search_qualifiers: tuple[str, ...]
    require_image: bool


def _load_mapping(path: Path, keys: set[str]) -> dict[str, Any]:
    """The top-level mapping of a YAML file; reject any key not in ``keys``."""
    data = read_yaml(path)
    if not isinstance(data, dict):
        raise TaxonomyError(str(path), "expected a mapping at the top level")
    unknown = set(data) - keys
    if unknown:
        raise TaxonomyError(str(path), f"unknown keys {sorted(unknown)}")
    return data


def load_config(path: Path) -> CollectConfig:
    """Load ``inclusion_criteria.yaml``; reject unknown keys, columns, ops and duplicates."""
    data = _load_mapping(path, {"criteria", "search_qualifiers", "require_image"})
    raw = data.get("criteria")
    if not isinstance(raw, list) or not raw:
        raise TaxonomyError(str(path), "'criteria' must be a non-empty list")
    out: list[Criterion] = []
    seen: set[str] = set()
    for i, c in enumerate(raw):
        if not isinstance(c, dict) or set(c) != {"id", "description", "column", "op", "value"}:
            raise TaxonomyError(
                str(path), f"criterion {i + 1} needs exactly id, description, column, op, value"
            )
        if c["id"] in seen:
            raise TaxonomyError(str(path), f"duplicate criterion id {c['id']!r}")
        seen.add(c["id"])
        if c["column"] not in CRITERIA_COLUMNS:
            raise TaxonomyError(
                str(path), f"criterion {c['id']!r}: unknown column {c['column']!r} (use one of {CRITERIA_COLUMNS})"
            )
        if c["op"] not in OPS:
            raise TaxonomyError(str(path), f"criterion {c['id']!r}: unknown op {c['op']!r}")
        if not str(c["description"]).strip():
            raise TaxonomyError(str(path), f"criterion {c['id']!r}: empty description")
        out.append(Criterion(str(c["id"]), str(c["description"]), c["column"], c["op"], c["value"]))
    quals = data.get("search_qualifiers") or []
    if not isinstance(quals, list) or not all(isinstance(q, str) and ":" in q for q in quals):
        raise TaxonomyError(str(path), "'search_qualifiers' must be a list of 'key:value' strings")
    return CollectConfig(tuple(out), tuple(quals), bool(data.get("require_image", True)))


def first_failed(df: pd.DataFrame, criteria: tuple[Criterion, ...] | list[Criterion]) -> pd.Series:
    """Per row, the id of the first criterion (in order) it fails; None when it passes all."""
    out = pd.Series([None] * len(df), index=df.index, dtype=object)
    for c in reversed(list(criteria)):
        out[~c.mask(df)] = c.id
    return out


def apply_criteria(
    df: pd.DataFrame, criteria: tuple[Criterion, ...] | list[Criterion]
) -> tuple[pd.DataFrame, list[dict[str, Any]]]:
    """Apply the criteria in order; return the kept rows and one funnel row per criterion.

    Each funnel row: ``step`` (criterion id), ``description``, ``count`` (left after it),
    ``removed`` (by it, given the earlier ones).
    """
    failed = first_failed(df, criteria)
    rows: list[dict[str, Any]] = []
    left = len(df)
    for c in criteria:
        removed = int((failed == c.id).sum())
        left -= removed
        rows.append({"step": c.id, "description": c.description, "count": left, "removed": removed})
    return df[failed.isna()], rows


@dataclass(frozen=True)
class Keywords:
    seeds: tuple[str, ...]
    sets: dict[str, tuple[str, ...]]
    default: tuple[str, ...]

    def resolve(self, spec: str | None) -> list[str]:
        """``spec``: comma-separated set ids and/or literal keywords; None = the default sets."""
        names = [s.strip() for s in spec.split(",")] if spec else list(self.default)
        out: list[str] = []
        for n in names:
            if not n:
                continue
            for kw in self.sets.get(n, (n,)):
                if kw not in out:
                    out.append(kw)
        return out


def load_keywords(path: Path) -> Keywords:
    """Load ``search_keywords.yaml``; reject empty or duplicated keyword lists and unknown ids."""
    data = _load_mapping(path, {"seeds", "sets", "default"})

    def kwlist(where: str, entry: Any) -> tuple[str, ...]:
        if not isinstance(entry, dict) or not str(entry.get("description", "")).strip():
            raise TaxonomyError(str(path), f"{where}: needs a description and keywords")
        kws = entry.get("keywords")
        if not isinstance(kws, list) or not kws or not all(isinstance(k, str) and k.strip() for k in kws):
            raise TaxonomyError(str(path), f"{where}: keywords must be a non-empty list of strings")
        dup = sorted({k for k in kws if kws.count(k) > 1})
        if dup:
            raise TaxonomyError(str(path), f"{where}: duplicate keywords {dup}")
        return tuple(kws)

    seeds = kwlist("seeds", data.get("seeds"))
    sets_raw = data.get("sets")
    if not isinstance(sets_raw, dict) or not sets_raw:
        raise TaxonomyError(str(path), "'sets' must map set ids to keyword lists")
    sets = {str(k): kwlist(f"set {k}", v) for k, v in sets_raw.items()}
    default = data.get("default") or []
    bad = [d for d in default if d not in sets]
    if not default or bad:
        raise TaxonomyError(str(path), f"'default' must list known set ids; unknown: {bad}")
    return Keywords(seeds, sets, tuple(default))
