"""Step 5: list the tree at the pinned commit, pick Docker files by name, download blobs.

One request lists the whole tree (``git/trees/<sha>?recursive=1``); each candidate file is
one blob request, cached by its content SHA.  A blob whose git SHA does not match its
bytes is rejected (a truncated or corrupted download never reaches the tables).
"""

from __future__ import annotations

import base64
import hashlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Any

from ..core import hubrefs
from ..core.modes import ORCHESTRATION
from ..core.sniff import classify_file
from ..core.sniff import name_match as basename_match
from ..errors import NetworkError
from .client import GitHub, Refused, errors, raw

log = logging.getLogger(__name__)


__all__ = ["ORCHESTRATION", "FileRecord", "collect_files", "kind_of", "name_match"]


def name_match(path: str, wanted: Callable[[str], str | None] | None = None) -> str | None:
    """Why a path is a candidate by its name, or None.

    The rule of :func:`pipeline.core.sniff.name_match` (the study's), applied to the basename:
    ``dockerfile`` or ``compose``; else ``orchestration`` when ``wanted`` (the names of
    ``taxonomy/orchestration.yaml``, :meth:`pipeline.core.orchestration.OrchestrationRules.wanted`)
    lists the path: Kubernetes manifests, Helm charts, kustomize, scripts that run containers.
    Everything else is ignored.
    """
    nm = basename_match(PurePosixPath(path).name)
    if nm != "other":
        return nm
    return ORCHESTRATION if wanted is not None and wanted(path) else None


def safe_path(path: str) -> bool:
    """A repository-relative path that cannot escape the copy directory."""
    p = PurePosixPath(path)
    return bool(path) and not p.is_absolute() and ".." not in p.parts and "\\" not in path


def git_blob_sha(data: bytes) -> str:
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


@dataclass
class FileRecord:
    repo: str
    path: str
    blob_sha: str
    size: int
    name_match: str
    data: bytes


class BadBlob(Exception):
    pass


def tree_blobs(client: GitHub, repo: str, sha: str) -> tuple[list[dict[str, Any]], bool]:
    """Every blob entry of the recursive tree at ``sha`` (one request); and whether truncated."""
    try:
        with errors():
            data = raw(client.repo(repo).get_git_tree(sha, recursive=True))
    except Refused as exc:
        raise BadBlob(f"tree {sha} not found (HTTP {exc.status})") from exc
    blobs = [e for e in data.get("tree") or [] if e.get("type") == "blob" and e.get("path")]
    return blobs, bool(data.get("truncated"))


def picked(entries: list[dict[str, Any]], pick: Callable[[str], str | None]) -> list[dict[str, Any]]:
    """The entries ``pick`` names a reason for, with it as ``name_match``."""
    return [{**e, "name_match": nm} for e in entries if (nm := pick(e["path"]))]


def fetch_blob(client: GitHub, repo: str, sha: str) -> bytes:
    try:
        with errors():
            d = raw(client.repo(repo).get_git_blob(sha))
    except Refused as exc:
        raise BadBlob(f"blob {sha}: HTTP {exc.status}") from exc
    if "content" not in d:
        raise BadBlob(f"blob {sha}: no content")
    if d.get("encoding") == "base64":
        data = base64.b64decode(d["content"])
    else:
        data = str(d["content"]).encode("utf-8")
    if git_blob_sha(data) != sha:
        client.forget(f"repos/{repo}/git/blobs/{sha}")
        raise BadBlob(f"blob {sha}: content does not match its SHA (corrupted download)")
    return data


def collect_files(
    client: GitHub,
    repos: list[tuple[str, str]],
    on_error: Callable[[str, BaseException | str, str], None],
    progress: Callable[[int], object] | None = None,
    wanted: Callable[[str], str | None] | None = None,
    evidence: dict[str, list[dict[str, Any]]] | None = None,
) -> list[FileRecord]:
    """Files of each (repo, head_sha); problems go to ``on_error`` and never stop the step.

    ``evidence`` (filled when given): each repository's whole blob list, for :func:`image_evidence`.
    """
    out: list[FileRecord] = []
    step = client.step
    for repo, sha in repos:
        client.step = f"{step}:tree" if step else "tree"
        try:
            blobs, truncated = tree_blobs(client, repo, sha)
            if evidence is not None:
                evidence[repo] = blobs
            entries = picked(blobs, lambda p: name_match(p, wanted))
            if truncated:
                on_error(repo, "TreeTruncated", f"{repo}: tree at {sha} was truncated by GitHub; some files may be missing")
        except (NetworkError, BadBlob, ValueError) as exc:  # one repository never stops the step
            on_error(repo, exc, f"{repo}: cannot list files at {sha}: {exc}")
            entries = []
        got: dict[str, bytes] = {}  # one request per distinct blob of the repository
        for e in entries:
            item = f"{repo}/{e['path']}"
            if not safe_path(e["path"]):
                on_error(item, "UnsafePath", f"{item}: path escapes the repository; skipped")
                continue
            client.step = f"{step}:blobs" if step else "blobs"
            try:
                data = got[e["sha"]] if e["sha"] in got else fetch_blob(client, repo, e["sha"])
            except (NetworkError, BadBlob, ValueError) as exc:
                on_error(item, exc, f"{item}: {exc}")
                continue
            got[e["sha"]] = data
            out.append(FileRecord(repo, e["path"], e["sha"], len(data), e["name_match"], data))
        if progress:
            progress(1)
    client.step = step
    return out


EVIDENCE_MAX_FILES = 8
EVIDENCE_MAX_BYTES = 200_000


def image_evidence(client: GitHub, repo: str, entries: list[dict[str, Any]],
                   known: dict[str, bytes] | None = None) -> dict[str, str]:
    """``{image: evidence}`` from the repository's own files at the pinned commit.

    ``entries``: the tree :func:`collect_files` listed (``evidence``); README, compose files,
    Makefiles/scripts and workflows (:func:`pipeline.core.hubrefs.evidence_kind`) are read,
    at most ``EVIDENCE_MAX_FILES`` of them (root files first) and none over the size cap;
    ``known``: blobs already downloaded (by SHA), read without a request.
    """
    known = known or {}
    entries = [e for e in picked(entries, hubrefs.evidence_kind) if int(e.get("size") or 0) <= EVIDENCE_MAX_BYTES]
    entries.sort(key=lambda e: (e["path"].count("/"), e["path"]))
    found: dict[str, str] = {}
    for e in entries[:EVIDENCE_MAX_FILES]:
        data = known[e["sha"]] if e["sha"] in known else fetch_blob(client, repo, e["sha"])
        text = data.decode("utf-8", errors="replace")
        for image, kind in hubrefs.images_in(e["path"], text).items():
            found.setdefault(image, kind)
    return found


def kind_of(rec: FileRecord) -> tuple[str, str]:
    """``(kind, reason)`` of a collected file for ``files.csv``.

    A file listed for the orchestration signals only (a Helm ``values.yaml``, a Kubernetes
    manifest under ``deploy/``) is ``not_dockerfile`` whatever its content: a values file
    with ``image:`` keys under top-level names looks like compose v1, and parse must never
    read it as one (its orchestration pass reads every file).
    """
    if rec.name_match == ORCHESTRATION:
        return "not_dockerfile", "collected for the orchestration signals (taxonomy/orchestration.yaml)"
    _, kind, reason = classify_file(PurePosixPath(rec.path).name, rec.data)
    return kind, reason
