"""Step 6: match Docker Hub images to a GitHub repository, with evidence and a score.

For each repository: search Docker Hub for images named like it; for the best-named
candidates read the image's description and (when Docker Hub has one) its Dockerfile.  An
image is *confirmed* when its description links to the GitHub repository or its
Dockerfile equals one of the repository's Dockerfiles (study.md §1.6, original-rules.md
§2.8).  The score adds the name evidence to the confirming evidence.
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Callable
from typing import Any

from ..errors import NetworkError
from .jsonhttp import HttpClient

log = logging.getLogger(__name__)

WEIGHTS = {"name": 0.2, "namespace": 0.2, "link": 0.6, "dockerfile": 0.6,
           "compose": 0.2, "script": 0.2, "workflow": 0.2, "readme": 0.2}
"""Evidence weights: the name, then what confirms (link, Dockerfile), then the repository
file that names the image (:mod:`pipeline.core.hubrefs`); only link/Dockerfile confirm."""


def norm_name(s: str) -> str:
    return re.sub(r"[^a-z0-9]+", "", s.lower())


def normalise_dockerfile(text: str) -> str:
    """Dockerfile text without comments, blank lines and trailing spaces (for comparison)."""
    lines = [ln.rstrip() for ln in text.replace("\r\n", "\n").split("\n")]
    return "\n".join(ln for ln in lines if ln.strip() and not ln.lstrip().startswith("#"))


def dockerfile_digest(text: str) -> str:
    return hashlib.sha256(normalise_dockerfile(text).encode("utf-8")).hexdigest()


def links_to(repo: str, text: str) -> bool:
    """True if ``text`` contains a link to ``github.com/<owner>/<repo>`` (case-insensitive)."""
    pat = r"github\.com/" + re.escape(repo.lower()) + r"(?![a-z0-9_-]|\.[a-z0-9_-])"
    return re.search(pat, (text or "").lower()) is not None


def split_image(repo_name: str) -> tuple[str, str]:
    """Docker Hub ``repo_name`` -> (namespace, name); official images are ``library``."""
    if "/" in repo_name:
        ns, name = repo_name.split("/", 1)
        return ns, name
    return "library", repo_name


def score_match(
    repo: str, image: str, description: str, dockerfile: str | None, repo_dockerfiles: set[str],
    named_in: str | None = None,
) -> tuple[float, list[str], bool]:
    """(score, evidence, confirmed) for one image against one repository.  Pure.

    ``named_in``: the kind of repository file that names the image, if any.
    """
    owner, name = repo.split("/", 1)
    ns, iname = split_image(image)
    evidence: list[str] = []
    if norm_name(iname) == norm_name(name):
        evidence.append("name")
    if norm_name(ns) == norm_name(owner):
        evidence.append("namespace")
    if links_to(repo, description):
        evidence.append("link")
    if dockerfile and dockerfile_digest(dockerfile) in repo_dockerfiles:
        evidence.append("dockerfile")
    if named_in:
        evidence.append(named_in)
    score = round(min(1.0, sum(WEIGHTS[e] for e in evidence)), 2)
    confirmed = "link" in evidence or "dockerfile" in evidence
    return score, evidence, confirmed


def image_ref(image: str) -> str:
    ns, name = split_image(image)
    return f"{name}:latest" if ns == "library" else f"{ns}/{name}:latest"


class Once:
    """A Docker Hub client that asks each question once per run (repositories sharing a
    name share their search; an image two repositories name is read once)."""

    def __init__(self, hub: HttpClient) -> None:
        self.hub = hub
        self.seen: dict[str, Any] = {}

    def get(self, path: str, params: dict[str, Any] | None = None) -> Any:
        key = f"{path}?{sorted((params or {}).items())}"
        if key not in self.seen:
            self.seen[key] = self.hub.get(path, params)
        return self.seen[key]


MAX_NAMED = 10
"""File-named images examined per repository at most (in the order the files name them)."""


def match_repo(
    hub: HttpClient | Once, repo: str, repo_dockerfiles: set[str], max_candidates: int = 5,
    named: dict[str, str] | None = None, max_named: int = MAX_NAMED,
) -> list[dict[str, Any]]:
    """All examined candidates for ``repo`` with their score and evidence.

    Candidates: Hub search hits named like the repository, then the images the repository's
    own files name (``named``: image -> file kind; the first ``max_named`` not among the
    search hits), each confirmed by the same rules; when
    none is confirmed, the first images of the owner's Docker Hub namespace.  A hit whose
    short description already links to the repository is confirmed without reading the
    image's page.
    """
    owner, name = repo.split("/", 1)
    r = hub.get("v2/search/repositories/", {"query": name, "page_size": 25})
    results = (r.data or {}).get("results") or [] if isinstance(r.data, dict) else []
    by_name = []
    short: dict[str, str] = {}
    for res in results:
        image = res.get("repo_name") or ""
        ns, iname = split_image(image)
        if norm_name(iname) == norm_name(name) or norm_name(ns) == norm_name(owner):
            by_name.append(image)
            short[image] = str(res.get("short_description") or "")
    files = named or {}
    out = []
    searched, in_search = by_name[:max_candidates], set(by_name)
    only_named = [i for i in files if i not in set(searched)][:max_named]
    for image in searched + only_named:
        row = examine(hub, repo, image, short.get(image, ""), repo_dockerfiles, files.get(image),
                      listed=image in in_search)
        if row is not None:
            out.append(row)
    if not any(r["confirmed"] for r in out):  # last resort: the owner's own namespace
        seen = {r["image"] for r in out}
        r = hub.get(f"v2/repositories/{owner.lower()}/", {"page_size": 100})
        listed = (r.data or {}).get("results") or [] if isinstance(r.data, dict) and r.status == 200 else []
        for res in listed[:max_candidates]:
            image = f"{res.get('namespace') or owner.lower()}/{res.get('name') or ''}"
            if image_ref(image) not in seen:
                row = examine(hub, repo, image, str(res.get("description") or ""), repo_dockerfiles,
                              files.get(image), listed=True)
                out.extend([row] if row is not None else [])
    return out


def examine(hub: HttpClient | Once, repo: str, image: str, short: str, repo_dockerfiles: set[str],
            named_in: str | None, listed: bool) -> dict[str, Any] | None:
    """One candidate image scored against ``repo``; None when an image only a file names
    (not ``listed`` by Docker Hub) does not exist there."""
    ns, iname = split_image(image)
    if links_to(repo, short):
        text = short
    else:
        d = hub.get(f"v2/repositories/{ns}/{iname}/")
        if d.status != 200 and not listed:
            return None  # named in a file but not on Docker Hub: nothing to record
        info = d.data if isinstance(d.data, dict) and d.status == 200 else {}
        text = f"{info.get('description') or ''}\n{info.get('full_description') or ''}"
    dockerfile = None
    if not links_to(repo, text) and repo_dockerfiles:
        df = hub.get(f"v2/repositories/{ns}/{iname}/dockerfile/")
        if df.status == 200 and isinstance(df.data, dict):
            dockerfile = df.data.get("contents")
    score, evidence, confirmed = score_match(repo, image, text, dockerfile, repo_dockerfiles, named_in)
    return {"repo": repo, "image": image_ref(image), "score": score, "evidence": ",".join(evidence),
            "confirmed": confirmed}


def match_all(
    hub: HttpClient,
    repos: dict[str, set[str]],
    on_error: Callable[[str, BaseException | str, str], None],
    progress: Callable[[int], object] | None = None,
    named: dict[str, dict[str, str]] | None = None,
) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    once = Once(hub)
    for repo in sorted(repos):
        try:
            rows.extend(match_repo(once, repo, repos[repo], named=(named or {}).get(repo)))
        except NetworkError as exc:
            on_error(repo, exc, f"{repo}: Docker Hub matching failed: {exc}")
        if progress:
            progress(1)
    return rows
