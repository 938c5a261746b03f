"""Steps 1-2: propose keywords from seed topics, and search past the 1,000-result cap.

GitHub's repository search returns at most 1,000 results per query.  A query whose
``total_count`` exceeds that is split into creation-date ranges, halving a range while it
has more than 1,000 hits (as seart-ghs does); a single day that still has too many is
split by star ranges the same way.  Every page is a cached request, so a completed slice
is a checkpoint: a rerun replays it from the cache without a request.
"""

from __future__ import annotations

import logging
import re
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from .client import GitHub, errors, raw

log = logging.getLogger(__name__)

CAP = 1000
PER_PAGE = 100
GITHUB_START = date(2008, 1, 1)


def keyword_term(kw: str) -> str:
    """A keyword as a search term: quoted when it contains a space."""
    return f'"{kw}"' if " " in kw else kw


def build_query(
    kw: str,
    qualifiers: Iterable[str],
    created: tuple[date, date],
    stars: tuple[int, int | None] | None = None,
) -> str:
    """The search query of one slice: keyword in name/description/topics/README, no forks."""
    quals = [q for q in qualifiers if not (stars is not None and q.startswith("stars:"))]
    parts = [keyword_term(kw), "in:name,description,topics,readme", "fork:false", *quals]
    parts.append(f"created:{created[0].isoformat()}..{created[1].isoformat()}")
    if stars is not None:
        lo, hi = stars
        parts.append(f"stars:>={lo}" if hi is None else f"stars:{lo}..{hi}")
    return " ".join(parts)


def min_stars(qualifiers: Iterable[str]) -> int:
    for q in qualifiers:
        m = re.fullmatch(r"stars:>=(\d+)", q)
        if m:
            return int(m.group(1))
    return 0


@dataclass
class Slice:
    keyword: str
    created_from: date
    created_to: date
    stars_from: int | None = None
    stars_to: int | None = None
    total_count: int = 0
    items: int = 0
    pages: int = 0
    incomplete_results: bool = False
    complete: bool = True

    def record(self, query: str) -> dict[str, Any]:
        return {
            "keyword": self.keyword,
            "query": query,
            "created_from": self.created_from.isoformat(),
            "created_to": self.created_to.isoformat(),
            "stars_from": self.stars_from,
            "stars_to": self.stars_to,
            "total_count": self.total_count,
            "items": self.items,
            "pages": self.pages,
            "incomplete_results": self.incomplete_results,
            "complete": self.complete,
        }


@dataclass
class SearchResult:
    items: dict[str, dict[str, Any]] = field(default_factory=dict)  # full_name -> item
    found_by: dict[str, list[str]] = field(default_factory=dict)  # full_name -> keywords
    slices: list[dict[str, Any]] = field(default_factory=list)


def _search_page(client: GitHub, query: str, page: int) -> dict[str, Any]:
    """Page ``page`` (0-based) of a search through PyGithub: ``total_count`` is the page's own
    (``PaginatedList.totalCount`` read through the ``last`` link is capped at 1,000)."""
    with errors():
        pl = client.g.search_repositories(query, sort="stars", order="desc")
        items = pl.get_page(page)
        return {"total_count": pl.totalCount, "incomplete_results": bool(pl.incomplete_results),
                "items": [raw(it) for it in items]}


def _more(data: dict[str, Any], pages: int) -> bool:
    """Whether a next page can hold results: this one was full and the cap is not reached."""
    shown = min(int(data.get("total_count") or 0), CAP)
    return len(data.get("items") or []) == PER_PAGE and pages * PER_PAGE < shown


def search_keyword(
    client: GitHub,
    kw: str,
    qualifiers: Iterable[str],
    until: date,
    result: SearchResult,
    on_slice: Callable[[dict[str, Any]], None] | None = None,
    since: date = GITHUB_START,
) -> None:
    """Search one keyword over [since, until], slicing past the cap; add items to ``result``."""
    quals = list(qualifiers)
    floor = min_stars(quals)
    # work list of slices: (created range, stars range or None)
    todo: list[tuple[date, date, tuple[int, int | None] | None]] = [(since, until, None)]
    while todo:
        lo, hi, stars = todo.pop(0)
        query = build_query(kw, quals, (lo, hi), stars)
        data = _search_page(client, query, 0)
        total = int(data.get("total_count", 0))
        items = list(data.get("items") or [])
        sl = Slice(kw, lo, hi, stars[0] if stars else None, stars[1] if stars else None, total)
        if total > CAP and lo < hi:
            mid = lo + timedelta(days=(hi - lo).days // 2)
            todo[:0] = [(lo, mid, None), (mid + timedelta(days=1), hi, None)]
            continue
        if total > CAP:
            s_lo, s_hi = stars if stars else (floor, None)
            if s_hi is None:  # results come sorted by stars: the first item has the most
                s_hi = max([int(i.get("stargazers_count", 0)) for i in items] + [s_lo])
            if s_lo < s_hi:
                mid_s = (s_lo + s_hi) // 2
                todo[:0] = [(lo, hi, (s_lo, mid_s)), (lo, hi, (mid_s + 1, s_hi))]
                continue
            sl.complete = False
            log.warning("%s: slice %s has %d results; only the first %d are reachable", kw, query, total, CAP)
        pages = 1
        sl.incomplete_results = bool(data.get("incomplete_results"))
        while True:
            for it in items:
                name = it.get("full_name")
                if not name:
                    continue
                result.items.setdefault(name, it)
                kws = result.found_by.setdefault(name, [])
                if kw not in kws:
                    kws.append(kw)
                sl.items += 1
            if not _more(data, pages):
                break
            data = _search_page(client, query, pages)
            items = list(data.get("items") or [])
            sl.incomplete_results = sl.incomplete_results or bool(data.get("incomplete_results"))
            pages += 1
        sl.pages = pages
        rec = sl.record(query)
        result.slices.append(rec)
        if on_slice:
            on_slice(rec)


def propose_keywords(
    client: GitHub, seeds: Iterable[str], pages: int = 3, top: int = 30
) -> list[dict[str, Any]]:
    """Count topics co-occurring with each seed topic among the most-starred repositories.

    Returns one row per topic: ``keyword``, ``count`` (repositories carrying it),
    ``seeds`` (which seed searches returned it), ``proposed`` (among the ``top`` most
    frequent, seeds included).
    """
    seeds = list(seeds)
    counts: Counter[str] = Counter()
    by_seed: dict[str, set[str]] = {}
    seen: set[str] = set()
    for seed in seeds:
        for page in range(pages):
            data = _search_page(client, f"topic:{seed} fork:false", page)
            for it in data.get("items") or []:
                name = it.get("full_name")
                if not name or name in seen:
                    continue
                seen.add(name)
                for t in it.get("topics") or []:
                    counts[t] += 1
                    by_seed.setdefault(t, set()).add(seed)
            if not _more(data, page + 1):
                break
    ranked = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    return [
        {"keyword": t, "count": c, "seeds": ",".join(sorted(by_seed[t])), "proposed": i < top}
        for i, (t, c) in enumerate(ranked)
    ]
