"""Keyword rules: transparent decisions from ``taxonomy/*.yaml``, every hit listed."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

from .evidence import Evidence
from .taxonomy import Entry


@lru_cache(maxsize=4096)
def _pattern(kw: str) -> re.Pattern[str]:
    return re.compile(r"(?<![a-z0-9])" + re.escape(kw))


def keyword_hits(fieldname: str, keywords: Sequence[str], ev: Evidence) -> list[str]:
    """Human-readable hits of ``keywords`` in one evidence field.

    Text fields match at the start of a word; ``base_image`` is a substring match;
    ``instruction`` is exact.  Each hit reads ``field~"keyword"``, with the matching
    item in parentheses for list fields.
    """
    values = ev.field_values(fieldname)
    if not values:
        return []
    listed = fieldname in ("paths", "path", "base_image", "compose")
    blob = "\n".join(values)
    hits: list[str] = []
    for kw in keywords:
        if fieldname == "instruction":
            ok = kw in values
        elif fieldname == "base_image":
            ok = kw in blob
        else:  # cheap substring test first, the word-start regex only when it passes
            ok = kw in blob and _pattern(kw).search(blob) is not None
        if not ok:
            continue
        shown = ""
        if listed:
            item = next(v for v in values if (kw in v if fieldname == "base_image" else _pattern(kw).search(v)))
            shown = f" ({item[:60]})"
        hits.append(f'{fieldname}~"{kw}"{shown}')
    return hits


def rule_hits(entry: Entry, ev: Evidence) -> list[str]:
    out: list[str] = []
    for fieldname, kws in entry.rules.items():
        out.extend(keyword_hits(fieldname, kws, ev))
    return out


@dataclass(frozen=True)
class RuleDecision:
    category: str | None  # None when no rule fired
    votes: dict[str, int]
    fired: str  # 'description~"serving" -> MLOps/AIOps; ...'


def category_by_rules(ev: Evidence, categories: Sequence[Entry]) -> RuleDecision:
    """Most votes wins (ties: taxonomy file order); abstains when nothing fires."""
    votes: dict[str, int] = {}
    fired: list[str] = []
    for c in categories:
        hits = rule_hits(c, ev)
        votes[c.name] = len(hits)
        fired.extend(f"{h} -> {c.name}" for h in hits)
    best = max(votes.values()) if votes else 0
    cat = next((c.name for c in categories if votes[c.name] == best), None) if best > 0 else None
    return RuleDecision(cat, votes, "; ".join(fired))


def purposes_by_rules(ev: Evidence, purposes: Sequence[Entry]) -> dict[str, list[str]]:
    """Purpose id -> hits, for every purpose whose rules fire."""
    out: dict[str, list[str]] = {}
    for p in purposes:
        hits = rule_hits(p, ev)
        if hits:
            out[p.id] = hits
    return out
