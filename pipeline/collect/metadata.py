"""Step 3: metadata per candidate repository, pinned to the default branch's head commit.

With a token, one GraphQL query covers ``batch`` repositories (commit, release, issue and
pull-request ``totalCount``, head SHA, stars, forks, archived, ...).  Anonymously (GitHub
serves no GraphQL without a token), each count is one REST request with ``per_page=1``:
the ``last`` page of the ``Link`` header is the count; a candidate without a search item
(``--from-package``) costs one more request, for the repository.  Contributors are one REST
request each (``per_page=1&anon=1``; GraphQL has no contributor count), asked only where
needed: here when a criterion reads them, else in extract for the studied repositories.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Any

from ..errors import NetworkError
from .client import GRAPHQL_UNAVAILABLE, GitHub, paged_count
from .jsonhttp import last_page

log = logging.getLogger(__name__)

_FIELDS = """
    nameWithOwner
    defaultBranchRef { name target { ... on Commit { oid history { totalCount } } } }
    releases { totalCount }
    issues { totalCount }
    pullRequests { totalCount }
    openIssues: issues(states: OPEN) { totalCount }
    openPulls: pullRequests(states: OPEN) { totalCount }
    stargazerCount
    forkCount
    isArchived
    isFork
    diskUsage
    primaryLanguage { name }
    repositoryTopics(first: 50) { nodes { topic { name } } }
    description
    homepageUrl
    createdAt
    pushedAt
"""


def graphql_query(repos: list[str]) -> str:
    """One query with an alias ``r<i>`` per repository (deterministic text: cacheable)."""
    parts = []
    for i, full in enumerate(repos):
        owner, name = full.split("/", 1)
        parts.append(f"  r{i}: repository(owner: {json.dumps(owner)}, name: {json.dumps(name)}) {{{_FIELDS}  }}")
    return "query {\n" + "\n".join(parts) + "\n}"


def from_graphql(node: dict[str, Any]) -> dict[str, Any]:
    ref = node.get("defaultBranchRef") or {}
    target = ref.get("target") or {}
    topics = [n["topic"]["name"] for n in (node.get("repositoryTopics") or {}).get("nodes", [])]
    return {
        "commits": ((target.get("history") or {}).get("totalCount")) if ref else 0,
        "releases": (node.get("releases") or {}).get("totalCount"),
        "issues": (node.get("issues") or {}).get("totalCount"),
        "pulls": (node.get("pullRequests") or {}).get("totalCount"),
        "stars": node.get("stargazerCount"),
        "forks": node.get("forkCount"),
        "archived": node.get("isArchived"),
        "size_kb": node.get("diskUsage"),
        "language": (node.get("primaryLanguage") or {}).get("name"),
        "topics": json.dumps(topics),
        "description": node.get("description"),
        "homepage": node.get("homepageUrl"),
        "created_at": node.get("createdAt"),
        "pushed_at": node.get("pushedAt"),
        "default_branch": ref.get("name"),
        "head_sha": target.get("oid"),
        # REST's open_issues_count: open issues and open pull requests
        "open_issues": _total(node, "openIssues") + _total(node, "openPulls")
        if node.get("openIssues") is not None and node.get("openPulls") is not None else None,
    }


def _total(node: dict[str, Any], key: str) -> int:
    return int((node.get(key) or {}).get("totalCount") or 0)


def from_search_item(item: dict[str, Any]) -> dict[str, Any]:
    """The fields the search item already carries (REST mode)."""
    return {
        "stars": item.get("stargazers_count"),
        "forks": item.get("forks_count", item.get("forks")),
        "archived": item.get("archived"),
        "size_kb": item.get("size"),
        "language": item.get("language"),
        "topics": json.dumps(item.get("topics") or []),
        "description": item.get("description"),
        "homepage": item.get("homepage"),
        "created_at": item.get("created_at"),
        "pushed_at": item.get("pushed_at"),
        "default_branch": item.get("default_branch"),
        "open_issues": item.get("open_issues_count"),
    }


def count(client: GitHub, path: str, params: dict[str, Any]) -> tuple[int, Any]:
    """Count a listing in one request: ``per_page=1``, then the ``last`` page number."""
    r = client.get(path, {**params, "per_page": 1})
    if r.status in (404, 409):  # 409: empty repository
        return 0, None
    n = last_page(r.link)
    if n is None:
        n = len(r.data) if isinstance(r.data, list) else 0
    return n, r.data


def contributors(client: GitHub, repo: str) -> int:
    return paged_count(client.repo(repo).get_contributors(anon="1"))


def rest_metadata(client: GitHub, repo: str, item: dict[str, Any]) -> dict[str, Any] | None:
    """Metadata from the search item (without one, e.g. ``--from-package``: the repository,
    one request) plus two counting requests (commits, releases); None when it is missing."""
    if not item:
        r = client.get(f"repos/{repo}")
        if r.status in (404, 451) or not isinstance(r.data, dict):
            return None
        item = r.data
    row = from_search_item(item)
    branch = row["default_branch"]
    params = {"sha": branch} if branch else {}
    row["commits"], data = count(client, f"repos/{repo}/commits", params)
    row["head_sha"] = data[0]["sha"] if isinstance(data, list) and data else None
    row["releases"] = paged_count(client.repo(repo).get_releases())
    row["issues"] = None
    row["pulls"] = None
    return row


def graphql_rows(client: GitHub, names: list[str], items: dict[str, dict[str, Any]], batch: int,
                 on_error: Callable[[str, BaseException | str, str], None]) -> dict[str, dict[str, Any]] | None:
    """Metadata of ``names`` by batched GraphQL queries (missing ones to ``on_error``), or None
    when the server has no GraphQL (401/404/501: the caller falls back to REST)."""
    base: dict[str, dict[str, Any]] = {}
    for start in range(0, len(names), batch):
        chunk = names[start : start + batch]
        try:
            r = client.graphql(graphql_query(chunk))
        except NetworkError as exc:
            for n in chunk:
                on_error(n, exc, str(exc))
            continue
        if r.status in GRAPHQL_UNAVAILABLE:
            log.warning("GitHub answers GraphQL with HTTP %d: counting with REST instead", r.status)
            return None
        data = (r.data or {}).get("data") or {}
        for i, n in enumerate(chunk):
            node = data.get(f"r{i}")
            if not node:  # NOT_FOUND for this alias only
                on_error(n, "NotFound", f"{n}: repository not found or not readable (GraphQL)")
                continue
            row = from_graphql(node)
            if "open_issues_count" in items[n]:  # the search item's figure, as in REST mode
                row["open_issues"] = items[n]["open_issues_count"]
            base[n] = row
    return base


def collect_metadata(
    client: GitHub,
    candidates: list[tuple[str, dict[str, Any]]],
    *,
    use_graphql: bool,
    batch: int = 25,
    on_error: Callable[[str, BaseException | str, str], None],
    progress: Callable[[int], object] | None = None,
    wants_contributors: Callable[[dict[str, Any]], bool] = lambda row: True,
) -> list[dict[str, Any]]:
    """One row per candidate that could be read; failures go to ``on_error``.

    Contributors (one REST request each) are counted only where ``wants_contributors(row)``
    (the repositories the other criteria keep); elsewhere they stay unknown (None).
    """
    rows: list[dict[str, Any]] = []
    names = [c[0] for c in candidates]
    items = dict(candidates)
    got = graphql_rows(client, names, items, batch, on_error) if use_graphql else None
    if got is None:
        got = {}
        for n in names:
            try:
                one = rest_metadata(client, n, items[n])
            except NetworkError as exc:
                on_error(n, exc, str(exc))
                continue
            if one is None:
                on_error(n, "NotFound", f"{n}: repository not found or not readable (REST)")
            else:
                got[n] = one
    for n in names:
        if n in got:
            row = got[n]
            row["contributors"] = None
            try:
                if wants_contributors(row):
                    row["contributors"] = contributors(client, n)
            except NetworkError as exc:
                on_error(n, exc, str(exc))
            rows.append({"repo": n, **row})
        if progress:
            progress(1)
    return rows
