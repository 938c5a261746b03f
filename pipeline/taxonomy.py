"""Loading and validating taxonomy YAML files (keyword rules kept as data).

A rules file is a mapping with an ``entries`` list; each entry is a mapping with at least
an ``id``, a ``description`` and ``rules`` (a mapping ``field -> [keyword, ...]``).
:func:`load_yaml_rules` rejects, with a :class:`~pipeline.errors.TaxonomyError` naming the
file and the entry: a missing file, invalid YAML, missing keys, duplicate or empty ids,
unknown rule fields, empty rules, non-string keywords and a keyword that appears twice in
the same field of the file.  Checks that depend on the meaning of the ids (e.g. that a
category name is one of the six) belong to the caller.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import yaml

from .core.categories import Categories, CategoriesInvalid
from .core.orchestration import CASE_SENSITIVE, FIELDS, OrchestrationInvalid, OrchestrationRules
from .core.smells import Rule as SmellRule
from .core.smells import rules_from_entries as smell_rules
from .core.taxonomy import BaseImageTypes, RunTaxonomy, TaxonomyInvalid
from .errors import TaxonomyError

#: the checkout's taxonomy folder, used when no project root is at hand (figures, config)
CHECKOUT_TAXONOMY = Path(__file__).resolve().parents[1] / "taxonomy"


def read_yaml(path: Path | str) -> Any:
    """Parse a YAML file; any problem becomes a :class:`TaxonomyError` naming the file."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise TaxonomyError(str(p), "file not found") from exc
    except OSError as exc:
        raise TaxonomyError(str(p), f"cannot read: {exc}") from exc
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise TaxonomyError(str(p), f"invalid YAML: {exc}".replace("\n", " ")) from exc


def normalise_keyword(k: str) -> str:
    """Keywords compare case-insensitively with whitespace collapsed."""
    return " ".join(str(k).split()).lower()


def load_yaml_rules(
    path: Path | str,
    required_keys: Iterable[str] = ("id", "description", "rules"),
    fields: Iterable[str] | None = None,
    case_sensitive_fields: Iterable[str] = (),
) -> list[dict[str, Any]]:
    """Load and validate a rules file; return its entries (plain dicts, file order).

    ``fields`` lists the allowed rule fields (None: any).  Keywords are normalised with
    :func:`normalise_keyword` except in ``case_sensitive_fields``, where only surrounding
    whitespace is stripped.  Each entry's ``rules`` is returned as ``{field: [kw, ...]}``.
    """
    where = str(path)
    data = read_yaml(path)
    if not isinstance(data, dict) or not isinstance(data.get("entries"), list):
        raise TaxonomyError(where, "expected a mapping with an 'entries' list")
    allowed = set(fields) if fields is not None else None
    exact = set(case_sensitive_fields)
    required = list(required_keys)
    seen_ids: set[str] = set()
    seen_kw: dict[tuple[str, str], str] = {}
    out: list[dict[str, Any]] = []
    for i, entry in enumerate(data["entries"]):
        if not isinstance(entry, dict):
            raise TaxonomyError(where, f"entry #{i + 1} is not a mapping")
        missing = [k for k in required if k not in entry]
        label = entry.get("id", f"#{i + 1}")
        if missing:
            raise TaxonomyError(where, f"entry {label!r} lacks {', '.join(missing)}")
        eid = entry.get("id")
        if not isinstance(eid, str) or not eid.strip():
            raise TaxonomyError(where, f"entry #{i + 1} has an empty id")
        if eid in seen_ids:
            raise TaxonomyError(where, f"duplicate id {eid!r}")
        seen_ids.add(eid)
        if "description" in required and not str(entry.get("description") or "").strip():
            raise TaxonomyError(where, f"entry {eid!r} has an empty description")
        rules = entry.get("rules")
        if "rules" in required:
            if not isinstance(rules, dict) or not rules:
                raise TaxonomyError(where, f"entry {eid!r} has empty rules")
            clean: dict[str, list[str]] = {}
            for field, kws in rules.items():
                if allowed is not None and field not in allowed:
                    raise TaxonomyError(
                        where,
                        f"entry {eid!r}: unknown rule field {field!r} "
                        f"(allowed: {', '.join(sorted(allowed))})",
                    )
                if not isinstance(kws, list) or not kws:
                    raise TaxonomyError(where, f"entry {eid!r}: empty rules for field {field!r}")
                norm: list[str] = []
                for kw in kws:
                    if not isinstance(kw, str | int | float) or not str(kw).strip():
                        raise TaxonomyError(where, f"entry {eid!r}: empty or non-text keyword in {field!r}")
                    k = str(kw).strip() if field in exact else normalise_keyword(str(kw))
                    other = seen_kw.get((field, k))
                    if other is not None:
                        raise TaxonomyError(
                            where,
                            f"duplicate keyword {k!r} in field {field!r} "
                            f"(entries {other!r} and {eid!r})",
                        )
                    seen_kw[(field, k)] = eid
                    norm.append(k)
                clean[str(field)] = norm
            entry = {**entry, "rules": clean}
        out.append(entry)
    if not out:
        raise TaxonomyError(where, "no entries")
    return out


def load_categories(path: Path | str | None = None) -> Categories:
    """The six categories from ``categories.yaml`` (default: the checkout's), read once.

    A malformed file becomes a :class:`TaxonomyError` naming it.
    """
    target = Path(path) if path is not None else CHECKOUT_TAXONOMY / "categories.yaml"
    return _load_categories(str(target.resolve()))


@functools.lru_cache(maxsize=8)
def _load_categories(path: str) -> Categories:
    data = read_yaml(path)
    if not isinstance(data, dict) or not isinstance(data.get("entries"), list):
        raise TaxonomyError(path, "expected a mapping with an 'entries' list")
    try:
        return Categories.from_entries(data["entries"])
    except CategoriesInvalid as exc:
        raise TaxonomyError(path, str(exc)) from exc


def load_run_taxonomy(taxonomy_dir: Path) -> RunTaxonomy:
    """``run_commands.yaml``, validated: the RUN-command categories of both modes."""
    path = taxonomy_dir / "run_commands.yaml"
    entries = load_yaml_rules(path, fields=("paper_keywords", "commands", "patterns"),
                              case_sensitive_fields=("paper_keywords", "commands", "patterns"))
    try:
        return RunTaxonomy.from_entries(entries)
    except TaxonomyInvalid as exc:
        raise TaxonomyError(str(path), str(exc)) from exc


def load_base_image_types(taxonomy_dir: Path) -> BaseImageTypes:
    """``base_image_types.yaml``, validated: the 13 base-image types."""
    path = taxonomy_dir / "base_image_types.yaml"
    entries = load_yaml_rules(path, fields=("names", "keywords", "variable_markers"))
    try:
        return BaseImageTypes.from_entries(entries)
    except TaxonomyInvalid as exc:
        raise TaxonomyError(str(path), str(exc)) from exc


def load_orchestration(taxonomy_dir: Path) -> OrchestrationRules:
    """``orchestration.yaml``, validated: the orchestration and GPU signals, base-image versions."""
    path = taxonomy_dir / "orchestration.yaml"
    entries = load_yaml_rules(path, fields=FIELDS, case_sensitive_fields=(*CASE_SENSITIVE,
                              "path_patterns", "image_patterns", "tag_patterns"))
    try:
        return OrchestrationRules.from_entries(entries)
    except OrchestrationInvalid as exc:
        raise TaxonomyError(str(path), str(exc)) from exc


def load_smell_rules(taxonomy_dir: Path) -> tuple[SmellRule, ...]:
    """``smells.yaml``, validated: mldock's own Dockerfile smell rules."""
    path = taxonomy_dir / "smells.yaml"
    data = read_yaml(path)
    if not isinstance(data, dict):
        raise TaxonomyError(str(path), "expected a mapping with an 'entries' list")
    try:
        return smell_rules(data.get("entries"))
    except TaxonomyInvalid as exc:
        raise TaxonomyError(str(path), str(exc)) from exc
