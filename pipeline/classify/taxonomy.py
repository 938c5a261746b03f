"""The classify stage's taxonomy: the six project categories, the Docker purposes and the
coding of the study's free-text purpose tokens, loaded and validated from
``taxonomy/project_categories.yaml``, ``purposes.yaml`` and ``purpose_coding.yaml``.

The generic rules-file checks are :func:`pipeline.taxonomy.load_yaml_rules`; this module
adds the checks that depend on what the ids mean.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..config import CATEGORIES
from ..errors import TaxonomyError
from ..taxonomy import load_yaml_rules, normalise_keyword, read_yaml

CATEGORY_FIELDS = ("name", "description", "topics", "homepage", "readme", "paths")
PURPOSE_FIELDS = ("path", "instruction", "command", "base_image", "compose", "description")
NONE = "none"
#: purpose_text columns coded by taxonomy/purpose_coding.yaml, keyed by the study's names
CODED_COLUMNS = {
    "What": "what",
    "purpose from documentation": "purpose_from_documentation",
    "MLcomponent": "mlcomponent",
    "When": "when",
    "Why": "why",
    "Maincomponent": "maincomponent",
}


@dataclass(frozen=True)
class Entry:
    """A category or purpose with its keyword rules (``field -> keywords``)."""

    id: str
    name: str
    description: str
    rules: dict[str, tuple[str, ...]]
    parent: str | None = None


@dataclass(frozen=True)
class Taxonomy:
    categories: tuple[Entry, ...]
    purposes: tuple[Entry, ...]
    coding: dict[str, tuple[str, ...]]  # normalised token -> purpose ids ('none' = no purpose)
    coded_columns: tuple[str, ...]  # purpose_text columns the coding covers
    instructions: tuple[str, ...]  # Docker's instructions (purposes.yaml ``instructions``)

    @property
    def majors(self) -> list[str]:
        return [p.id for p in self.purposes if p.parent is None]

    def purpose(self, pid: str) -> Entry:
        for p in self.purposes:
            if p.id == pid:
                return p
        raise KeyError(pid)


def _entries(raw: list[dict[str, Any]]) -> list[Entry]:
    return [
        Entry(
            id=e["id"],
            name=str(e.get("name") or e["id"]),
            description=" ".join(str(e["description"]).split()),
            rules={f: tuple(k) for f, k in e["rules"].items()},
            parent=e.get("parent"),
        )
        for e in raw
    ]


def load_categories(path: Path | str) -> tuple[Entry, ...]:
    """The six categories; names must be exactly :data:`pipeline.config.CATEGORIES`."""
    raw = load_yaml_rules(path, ("id", "name", "description", "rules"), CATEGORY_FIELDS)
    entries = _entries(raw)
    for e in entries:
        if e.name not in CATEGORIES:
            raise TaxonomyError(str(path), f"unknown category {e.name!r} (entry {e.id!r}); "
                                f"use one of {', '.join(CATEGORIES)}")
    names = [e.name for e in entries]
    dup = [n for n, c in Counter(names).items() if c > 1]
    missing = [c for c in CATEGORIES if c not in names]
    if dup or missing:
        raise TaxonomyError(str(path), f"categories duplicated {dup} or missing {missing}")
    return tuple(entries)


def load_instructions(path: Path | str) -> tuple[str, ...]:
    """Docker's instructions, the ``instructions`` list of ``purposes.yaml`` (upper case)."""
    data = read_yaml(path)
    names = data.get("instructions") if isinstance(data, dict) else None
    if not isinstance(names, list) or not names:
        raise TaxonomyError(str(path), "'instructions' must list Docker's instructions")
    bad = [n for n in names if not isinstance(n, str) or not re.fullmatch(r"[A-Z]+", n)]
    dup = [n for n, c in Counter(names).items() if c > 1]
    if bad or dup:
        raise TaxonomyError(str(path), f"'instructions': not upper-case words {bad} or duplicated {dup}")
    return tuple(names)


def load_purposes(path: Path | str, instructions: Sequence[str] | None = None) -> tuple[Entry, ...]:
    """Major purposes and subcategories; a ``parent`` must name a major purpose and an
    ``instruction`` rule one of ``instructions`` (default: :func:`load_instructions`)."""
    known = set(load_instructions(path) if instructions is None else instructions)
    raw = load_yaml_rules(path, ("id", "name", "description", "rules"), PURPOSE_FIELDS,
                          case_sensitive_fields=("instruction",))
    entries = _entries(raw)
    majors = {e.id for e in entries if e.parent is None}
    for e in entries:
        if e.parent is not None and e.parent not in majors:
            raise TaxonomyError(str(path), f"entry {e.id!r}: unknown parent id {e.parent!r}")
        bad = [k for k in e.rules.get("instruction", ()) if k not in known]
        if bad:
            raise TaxonomyError(str(path), f"entry {e.id!r}: unknown Dockerfile instruction {bad}")
    return tuple(entries)


def load_coding(path: Path | str, purpose_ids: Iterable[str]) -> tuple[dict[str, tuple[str, ...]], tuple[str, ...]]:
    """Token -> purpose ids from ``purpose_coding.yaml``; rejects unknown ids, duplicates,
    empty lists and a token coded both to ``none`` and to a purpose."""
    where = str(path)
    data = read_yaml(path)
    if not isinstance(data, dict) or not isinstance(data.get("codes"), dict):
        raise TaxonomyError(where, "expected a mapping with a 'codes' mapping")
    columns = data.get("columns") or []
    if not isinstance(columns, list) or not columns:
        raise TaxonomyError(where, "'columns' must list the coded purpose_text columns")
    unknown_cols = [c for c in columns if c not in CODED_COLUMNS]
    if unknown_cols:
        raise TaxonomyError(where, f"unknown columns {unknown_cols} (known: {', '.join(CODED_COLUMNS)})")
    known = set(purpose_ids) | {NONE}
    coding: dict[str, list[str]] = {}
    for pid, tokens in data["codes"].items():
        if pid not in known:
            raise TaxonomyError(where, f"unknown purpose id {pid!r}")
        if not isinstance(tokens, list) or not tokens:
            raise TaxonomyError(where, f"empty token list for {pid!r}")
        seen: set[str] = set()
        for tok in tokens:
            t = normalise_keyword(str(tok))
            if not t:
                raise TaxonomyError(where, f"empty token under {pid!r}")
            if t in seen:
                raise TaxonomyError(where, f"duplicate token {t!r} under {pid!r}")
            seen.add(t)
            coding.setdefault(t, []).append(pid)
    for t, ids in coding.items():
        if NONE in ids and len(ids) > 1:
            raise TaxonomyError(where, f"token {t!r} is coded both 'none' and {[i for i in ids if i != NONE]}")
    return {t: tuple(ids) for t, ids in coding.items()}, tuple(CODED_COLUMNS[c] for c in columns)


def load_taxonomy(taxonomy_dir: Path) -> Taxonomy:
    cats = load_categories(taxonomy_dir / "project_categories.yaml")
    instructions = load_instructions(taxonomy_dir / "purposes.yaml")
    purposes = load_purposes(taxonomy_dir / "purposes.yaml", instructions)
    coding, cols = load_coding(taxonomy_dir / "purpose_coding.yaml", [p.id for p in purposes])
    return Taxonomy(cats, purposes, coding, cols, instructions)
