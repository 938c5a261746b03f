"""Reading the per-release corpus: archive members, tag dates, parsed summaries (cached)."""

from __future__ import annotations

import hashlib
import json
import logging
import tarfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..core import dockerfile as df_core
from ..core import evolution as evo
from ..core import smells as smells_core
from ..core.modes import policy
from ..core.orchestration import OrchestrationRules, repository
from ..core.taxonomy import RunTaxonomy
from ..errors import SourceInvalid
from ..progress import Progress, track
from ..tables import MAX_TABLE_BYTES, ErrorLog, atomic_write_text, read_regular

log = logging.getLogger(__name__)

ARCHIVE = "raw-data/Dockerfiles/samples/dockerfiles.tar.gz"
LOGS = "raw-data/Dockerfiles/logs"
SAMPLE_TAGS = "raw-data/Dockerfiles/samples/logs"
MODE = "corrected"


@dataclass(frozen=True)
class Version:
    member: str
    repo: str
    path: str
    tag: str
    sha256: str


def tag_lists(pkg: Path, errors: ErrorLog) -> dict[Path, bytes]:
    """The bytes of the package's tag lists (each project's ``gh_tags.txt``, then the
    samples' ``tags_*.txt``), read as regular files inside the package and bounded
    (:func:`pipeline.tables.read_regular`): a FIFO, a device or a link out of the package is
    an error row (and one warning line) and is not used."""
    out: dict[Path, bytes] = {}
    for f in sorted((pkg / LOGS).glob("*/*/gh_tags.txt")) + sorted((pkg / SAMPLE_TAGS).glob("tags_*.txt")):
        try:
            out[f] = read_regular(f, MAX_TABLE_BYTES, pkg)
        except OSError as exc:
            errors.add(str(f), exc, f"{f}: {exc}; its tags are not dated")
    return out


def read_tags(pkg: Path, errors: ErrorLog, texts: dict[Path, bytes] | None = None
              ) -> dict[str, dict[str, tuple[str, str]]]:
    """``{owner/repo lower: {tag: (date, source)}}``: gh_tags.txt first, the samples' lists
    fill the tags it lacks (tags deleted after the sample was taken).  ``texts``: the
    :func:`tag_lists` already read (else they are read here)."""
    texts = tag_lists(pkg, errors) if texts is None else texts
    out: dict[str, dict[str, tuple[str, str]]] = {}
    for f, data in texts.items():
        if f.name == "gh_tags.txt":
            repo = f"{f.parent.parent.name}/{f.parent.name}".lower()
            out[repo] = {t: (d, "gh_tags") for t, d in _tags_of(f, data, errors).items()}
    by_name: dict[str, list[str]] = {}
    for repo in out:
        by_name.setdefault(repo.split("/")[1], []).append(repo)
    for f, data in texts.items():
        if f.name == "gh_tags.txt":
            continue
        name = f.stem[len("tags_"):].rsplit("_", 1)[0].lower()
        owners = by_name.get(name, [])
        if len(owners) != 1:  # unknown or ambiguous project name: not used
            continue
        for t, d in _tags_of(f, data, errors).items():
            out[owners[0]].setdefault(t, (d, "samples_tags"))
    return out


def _tags_of(f: Path, data: bytes, errors: ErrorLog) -> dict[str, str]:
    tags, problems = evo.parse_tags(data.decode("utf-8", errors="replace"))
    for msg in problems:
        errors.add(str(f), "TagLineError", f"{f}: {msg}")
    return tags


def archive_path(pkg: Path) -> Path:
    path = pkg / ARCHIVE
    if not path.is_file():
        raise SourceInvalid(str(path), f"the replication package has no per-release corpus ({ARCHIVE})",
                            hint="run mldock ingest on a complete package")
    return path


def archive_sha256(path: Path) -> str:
    """The SHA-256 of the archive, read in chunks (it is a few hundred MB unpacked)."""
    with path.open("rb") as fh:
        return hashlib.file_digest(fh, "sha256").hexdigest()


@dataclass(frozen=True)
class Members:
    """The archive's files: ``[(member, sha256)]`` in archive order, and the members over
    parse's size limit (``[(member, size)]``), which are skipped."""

    files: list[tuple[str, str]]
    too_large: list[tuple[str, int]]


def read_members(path: Path) -> tuple[Members, dict[str, bytes]]:
    """The archive's :class:`Members` and ``{sha256: bytes}``, streamed (never unpacked to
    disk); a member larger than parse's limit (``MAX_BYTES``) is not read."""
    files: list[tuple[str, str]] = []
    too_large: list[tuple[str, int]] = []
    contents: dict[str, bytes] = {}
    try:
        with tarfile.open(path, "r|gz") as tar:
            for m in tar:
                if not m.isfile():
                    continue
                if m.size > df_core.MAX_BYTES:
                    too_large.append((m.name, m.size))
                    continue
                fh = tar.extractfile(m)
                data = fh.read(df_core.MAX_BYTES) if fh else b""
                sha = hashlib.sha256(data).hexdigest()
                files.append((m.name, sha))
                contents.setdefault(sha, data)
    except (OSError, tarfile.TarError, EOFError) as exc:
        raise SourceInvalid(str(path), f"unreadable archive ({exc})",
                            hint="run mldock ingest again on a complete package") from exc
    return Members(files, too_large), contents


def record_too_large(members: Members, where: Path, errors: ErrorLog) -> None:
    for name, size in members.too_large:
        errors.add(name, "FileTooLarge", f"{where}:{name}: {size} bytes, over parse's limit of "
                                         f"{df_core.MAX_BYTES}; skipped")


def member_index(archive_sha: str, cache_dir: Path) -> Members | None:
    """The cached :class:`Members` of the archive with this SHA-256, or None."""
    f = cache_dir / f"members-{archive_sha[:16]}.json"
    try:
        obj = json.loads(f.read_text(encoding="utf-8"))
        return Members([(str(m), str(h)) for m, h in obj["files"]],
                       [(str(m), int(n)) for m, n in obj["too_large"]])
    except (OSError, ValueError, TypeError, KeyError):  # absent, unreadable or an older layout
        return None


def save_member_index(members: Members, archive_sha: str, cache_dir: Path) -> None:
    atomic_write_text(cache_dir / f"members-{archive_sha[:16]}.json",
                      json.dumps({"files": members.files, "too_large": members.too_large}) + "\n")


def versions_of(members: list[tuple[str, str]], tags: dict[str, dict[str, tuple[str, str]]],
                where: Path, errors: ErrorLog) -> list[Version]:
    """Members as :class:`Version` rows (sorted by member name); members of unknown projects
    or tags go to ``errors``."""
    out = []
    for name, sha in members:
        parts = name.split("/")
        known = tags.get("/".join(parts[1:3]).lower(), {}) if len(parts) == 4 else {}
        v = evo.split_member(name, known)
        if v is None:
            errors.add(name, "UnknownTag", f"{where}:{name}: no project or release tag matches "
                                           "the member name; skipped")
            continue
        out.append(Version(name, v.repo, v.path, v.tag, sha))
    return sorted(out, key=lambda v: v.member)


def summarise(data: bytes, run_tax: RunTaxonomy, rules: OrchestrationRules,
              smell_rules: tuple[smells_core.Rule, ...]) -> dict[str, Any]:
    """What evolution keeps of one parsed content (JSON-able, so it can be cached)."""
    try:
        text, problems = df_core.decode(data)
        parsed = df_core.parse_dockerfile(text, MODE, policy(MODE).token_keywords(run_tax))
    except Exception as exc:  # one bad file never stops the stage
        return {"status": "error", "error": f"{type(exc).__name__}: {exc}", "n_instructions": 0,
                "n_stages": 0, "n_run_commands": 0, "mld_smells": 0, "bases": [], "final": ""}
    resolved: dict[int, dict[str, Any]] = {}
    alias: dict[str, int] = {}
    bases = []
    for b in parsed.base_images:
        if b.is_stage_reference and b.image.lower() in alias:
            info = resolved[alias[b.image.lower()]]
        else:
            repo = repository(b.registry, b.namespace, b.name)
            info = {"image": b.image if b.is_variable else evo.image_label(repo, b.tag, b.digest), "variable": b.is_variable,
                    "pinned": evo.pinned(b.tag, b.digest), "digest": bool(b.digest),
                    "gpu": bool(rules.image_signals(repo, b.tag)),
                    **rules.versions(repo, b.tag)}
            bases.append(info)
        resolved[b.stage] = info
        if b.alias:
            alias[b.alias.lower()] = b.stage
    status = "partial" if (problems or parsed.errors) and parsed.status == "ok" else parsed.status
    final = resolved[parsed.base_images[-1].stage] if parsed.base_images else {}
    return {"status": status, "error": "; ".join([*problems, *parsed.errors]),
            "n_instructions": len(parsed.instructions), "n_stages": parsed.n_stages,
            "n_run_commands": len(parsed.commands), "bases": bases, "final": final,
            "mld_smells": len(smells_core.evaluate(smell_rules, smells_core.facts_of(parsed)))}


def cached_summaries(cache_file: Path) -> dict[str, dict[str, Any]]:
    if cache_file.exists():
        try:
            return dict(json.loads(cache_file.read_text(encoding="utf-8")))
        except (OSError, ValueError):
            log.warning("%s: unreadable cache; parsing again", cache_file)
    return {}


def summaries(shas: set[str], cached: dict[str, dict[str, Any]], contents: dict[str, bytes],
              cache_file: Path, run_tax: RunTaxonomy, rules: OrchestrationRules,
              smell_rules: tuple[smells_core.Rule, ...], progress: Progress) -> tuple[dict[str, dict[str, Any]], int]:
    """Summaries of ``shas``: ``cached`` ones, the others parsed from ``contents`` (and the
    cache rewritten); returns (summaries, parsed now)."""
    todo = sorted(shas - set(cached))
    for sha in track(todo, progress, "evolution: parse", len(todo), "file"):
        cached[sha] = summarise(contents[sha], run_tax, rules, smell_rules)
    if todo:
        atomic_write_text(cache_file, json.dumps(cached, sort_keys=True) + "\n")
    return {s: cached[s] for s in shas}, len(todo)
