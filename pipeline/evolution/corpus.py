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
from ..tables import ErrorLog, atomic_write_text

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


def read_tags(pkg: Path, errors: ErrorLog) -> dict[str, dict[str, tuple[str, str]]]:
    """``{owner/repo lower: {tag: (date, source)}}``: gh_tags.txt first, the samples' lists
    fill the tags it lacks (tags deleted after the sample was taken)."""
    out: dict[str, dict[str, tuple[str, str]]] = {}
    for f in sorted((pkg / LOGS).glob("*/*/gh_tags.txt")):
        repo = f"{f.parent.parent.name}/{f.parent.name}".lower()
        out[repo] = {t: (d, "gh_tags") for t, d in _tags_of(f, errors).items()}
    by_name: dict[str, list[str]] = {}
    for repo in out:
        by_name.setdefault(repo.split("/")[1], []).append(repo)
    for f in sorted((pkg / SAMPLE_TAGS).glob("tags_*.txt")):
        name = f.stem[len("tags_"):].rsplit("_", 1)[0].lower()
        owners = by_name.get(name, [])
        if len(owners) != 1:  # unknown or ambiguous project name: not used
            continue
        for t, d in _tags_of(f, errors).items():
            out[owners[0]].setdefault(t, (d, "samples_tags"))
    return out


def _tags_of(f: Path, errors: ErrorLog) -> dict[str, str]:
    tags, problems = evo.parse_tags(f.read_text(encoding="utf-8", errors="replace"))
    for msg in problems:
        errors.add(str(f), "TagLineError", f"{f}: {msg}")
    return tags


def archive_path(pkg: Path) -> Path:
    path = pkg / ARCHIVE
    if not path.is_file():
        raise SourceInvalid(str(path), "the replication package has no per-release corpus "
                                       f"({ARCHIVE}); ingest a complete package")
    return path


def read_members(path: Path) -> tuple[list[tuple[str, str]], dict[str, bytes]]:
    """``([(member, sha256)], {sha256: bytes})`` of the archive's files, streamed in archive
    order (never unpacked to disk)."""
    members: list[tuple[str, str]] = []
    contents: dict[str, bytes] = {}
    try:
        with tarfile.open(path, "r|gz") as tar:
            for m in tar:
                if not m.isfile():
                    continue
                fh = tar.extractfile(m)
                data = fh.read() if fh else b""
                sha = hashlib.sha256(data).hexdigest()
                members.append((m.name, sha))
                contents.setdefault(sha, data)
    except (OSError, tarfile.TarError, EOFError) as exc:
        raise SourceInvalid(str(path), f"unreadable archive ({exc}); ingest the package again") from exc
    return members, contents


def member_index(archive_sha: str, cache_dir: Path) -> list[tuple[str, str]] | None:
    """The cached ``[(member, sha256)]`` of the archive with this SHA-256, or None."""
    f = cache_dir / f"members-{archive_sha[:16]}.json"
    try:
        return [(str(m), str(h)) for m, h in json.loads(f.read_text(encoding="utf-8"))]
    except (OSError, ValueError, TypeError):
        return None


def save_member_index(members: list[tuple[str, str]], archive_sha: str, cache_dir: Path) -> None:
    atomic_write_text(cache_dir / f"members-{archive_sha[:16]}.json", json.dumps(members) + "\n")


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
