"""The RUN-command and base-image taxonomies (pure: built from YAML entries, no file reading).

:class:`RunTaxonomy` maps commands to categories (both modes), :class:`BaseImageTypes` maps
base-image names to types.  Their ids, in YAML order, are the ``ids`` attribute: the YAML files
(``taxonomy/run_commands.yaml``, ``taxonomy/base_image_types.yaml``) are the one place they
are defined.  ``entries`` are what :func:`pipeline.taxonomy.load_yaml_rules` returns.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

UNKNOWN = "unknown"
_VERSION_SUFFIX_RE = re.compile(r"^(python|pip|pypy|ruby|perl|node|gcc|g\+\+|clang|java)(\d+)?[.\d-]*$")


class TaxonomyInvalid(ValueError):
    """Raised by the validators; the stage turns it into errors.TaxonomyError with the path."""


def _ids(entries: list[dict[str, Any]], what: str) -> tuple[str, ...]:
    """The entries' ids in file order (the YAML is the one place they are defined)."""
    ids = tuple(str(e.get("id") or "") for e in entries)
    if not ids or not all(ids):
        raise TaxonomyInvalid(f"every {what} needs a non-empty id")
    if len(set(ids)) != len(ids):
        raise TaxonomyInvalid(f"duplicate {what} id(s) in {list(ids)}")
    if UNKNOWN in ids:
        raise TaxonomyInvalid(f"{what} id {UNKNOWN!r} is reserved")
    return ids


@dataclass(frozen=True)
class RunTaxonomy:
    """Command -> category maps for both modes."""

    paper: dict[str, str]
    corrected: dict[str, str]
    patterns: tuple[tuple[re.Pattern[str], str], ...] = ()
    ids: tuple[str, ...] = ()  # category ids in YAML order

    @classmethod
    def from_entries(cls, entries: list[dict[str, Any]]) -> RunTaxonomy:
        """``entries`` as returned by :func:`pipeline.taxonomy.load_yaml_rules`."""
        ids = _ids(entries, "category")
        paper: dict[str, str] = {}
        corrected: dict[str, str] = {}
        for e in entries:
            rules = e.get("rules") or {}
            for key, target in (("paper_keywords", paper), ("commands", corrected)):
                kws = rules.get(key)
                if not kws:
                    raise TaxonomyInvalid(f"{e['id']}: empty rules {key!r}")
                for kw in kws:
                    target[str(kw)] = e["id"]
        patterns = []
        for e in entries:
            for rx in (e.get("rules") or {}).get("patterns") or []:
                try:
                    patterns.append((re.compile(str(rx)), e["id"]))
                except re.error as exc:
                    raise TaxonomyInvalid(f"{e['id']}: bad pattern {rx!r}: {exc}") from exc
        return cls(paper, corrected, tuple(patterns), ids)

    def category(self, command: str) -> str:
        """Corrected-mode category of an executable (basename, version suffix dropped)."""
        if command in self.corrected:
            return self.corrected[command]
        base = command.rsplit("/", 1)[-1] if "/" in command and not command.startswith("./") else command
        if base in self.corrected:
            return self.corrected[base]
        m = _VERSION_SUFFIX_RE.match(base)
        if m:
            for cand in (m.group(1) + (m.group(2) or ""), m.group(1)):
                if cand in self.corrected:
                    return self.corrected[cand]
        for rx, cid in self.patterns:
            if rx.search(command):
                return cid
        return UNKNOWN


@dataclass(frozen=True)
class BaseImageTypes:
    """Base-image name -> type (13 types of the study, or 'unknown')."""

    labels: dict[str, str]  # id -> label
    paper_labels: dict[str, str]
    names: dict[str, str]  # exact lower-case name -> id
    keywords: tuple[tuple[str, str], ...]  # (substring, id) in priority order
    variable_id: str | None
    ids: tuple[str, ...] = ()  # type ids in YAML order

    @classmethod
    def from_entries(cls, entries: list[dict[str, Any]]) -> BaseImageTypes:
        """``entries`` as returned by :func:`pipeline.taxonomy.load_yaml_rules`."""
        ids = _ids(entries, "type")
        labels: dict[str, str] = {}
        paper_labels: dict[str, str] = {}
        names: dict[str, str] = {}
        keywords: list[tuple[str, str]] = []
        variable_id = None
        for e in entries:
            tid = e["id"]
            for key in ("label", "paper_label"):
                if not str(e.get(key) or "").strip():
                    raise TaxonomyInvalid(f"{tid}: empty {key}")
            labels[tid] = str(e["label"])
            paper_labels[tid] = str(e["paper_label"])
            rules = e.get("rules") or {}
            if rules.get("variable_markers"):
                variable_id = tid
            for n in rules.get("names") or []:
                names[str(n).lower()] = tid
            for kw in rules.get("keywords") or []:
                keywords.append((str(kw).lower(), tid))
        return cls(labels, paper_labels, names, tuple(keywords), variable_id, ids)

    def label(self, tid: str, paper: bool = False) -> str:
        if tid == UNKNOWN:
            return UNKNOWN
        return (self.paper_labels if paper else self.labels)[tid]

    def classify(self, name: str, is_variable: bool = False, tag: str = "") -> tuple[str, str]:
        """Return (type id or 'unknown', how) for a repository name such as ``nvidia/cuda``."""
        key = name.strip().lower()
        if key in self.names:
            return self.names[key], "name"
        nodigit = re.sub(r"\d", "", key)
        if nodigit in self.names:
            return self.names[nodigit], "name"
        if self.variable_id and (is_variable or "$" in key or "{{" in key):
            return self.variable_id, "variable"
        for hay, how in ((key, "keyword"), (tag.lower(), "tag keyword")):
            if not hay:
                continue
            for kw, tid in self.keywords:
                if kw in hay:
                    return tid, how
        return UNKNOWN, "none"
